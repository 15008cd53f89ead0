// Package token issues and verifies the access tokens: JWTs signed with
// Ed25519 keys that every instance shares through a SigningKeyRepository. It
// implements application.TokenIssuer.
//
// The JWT library is github.com/golang-jwt/jwt/v5: it is maintained, lets the
// verifier pin the accepted algorithms (WithValidMethods, so "none" and
// HS256-with-the-public-key confusion are rejected before any key is used)
// and validates the standard claims (exp, nbf, iat, iss) with a leeway and an
// injectable time. Ed25519 ("EdDSA") signs in about 18 µs on the target
// machine where RS256-2048 takes 715 µs, with small keys and tokens. The
// issuer's own tokens take a fast path (fastverify.go) with the same checks,
// so that a verification costs little more than its signature check; every
// other token goes through the library.
//
// A rotation publishes the new key before it signs: for Config.PublishDelay
// the new key is in the JWKS and verifies while the key it retired goes on
// signing, so that verifiers that cache the JWKS, and instances that have not
// reloaded the keys yet, know the new key before they meet its tokens.
package token

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// Defaults of Config.
const (
	DefaultAccessTokenTTL     = 2 * time.Hour
	DefaultLeeway             = 30 * time.Second
	DefaultKeyRefreshInterval = time.Minute
	DefaultIssuer             = "enduser-auth"
	// DefaultPublishDelay is the JWKS endpoint's max-age (60s) plus
	// DefaultKeyRefreshInterval: by then every instance and every verifier
	// that caches the JWKS knows a new key.
	DefaultPublishDelay = 2 * time.Minute
)

// NoPublishDelay is the Config.PublishDelay that makes a new key sign as soon
// as it is stored (zero means DefaultPublishDelay).
const NoPublishDelay time.Duration = -1

const (
	// unknownKIDReloadInterval bounds the reloads that tokens with an unknown
	// kid can cause, so that a flood of garbage kids cannot hammer the store.
	unknownKIDReloadInterval = time.Second
	// refreshRetryInterval is how long a failed periodic refresh waits before
	// the next try; meanwhile the held keys keep serving.
	refreshRetryInterval = time.Second
	// maxTokenLen rejects absurd tokens before any decoding.
	maxTokenLen = 8 << 10
)

// Config configures the issuer. Zero fields take their defaults.
type Config struct {
	// AccessTokenTTL is the longest lifetime of an access token (default 2h).
	// It decides how long a retired key keeps verifying.
	AccessTokenTTL time.Duration
	// Leeway is the clock skew tolerated on exp, nbf and iat (default 30s).
	Leeway time.Duration
	// KeyRefreshInterval is how often the keys are reloaded from the store, so
	// that a rotation made elsewhere is picked up (default 1m).
	KeyRefreshInterval time.Duration
	// Issuer is the iss claim (default "enduser-auth").
	Issuer string
	// PublishDelay is how long a new key is only published (listed in the
	// JWKS, and accepted) before it signs, so that the instances and the
	// external verifiers that cache the JWKS know it before they meet its
	// tokens; meanwhile the key it retired keeps signing. Zero is
	// DefaultPublishDelay; a negative value (NoPublishDelay) means none: a
	// new key signs at once.
	PublishDelay time.Duration
}

func (c Config) withDefaults() Config {
	if c.AccessTokenTTL <= 0 {
		c.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.Leeway < 0 {
		c.Leeway = 0
	}
	if c.KeyRefreshInterval <= 0 {
		c.KeyRefreshInterval = DefaultKeyRefreshInterval
	}
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.PublishDelay == 0 {
		c.PublishDelay = DefaultPublishDelay
	}
	if c.PublishDelay < 0 {
		c.PublishDelay = 0
	}
	return c
}

// slack is how long a retired key must keep verifying beyond the lifetime of
// the last token it may have signed: other instances may sign with it until
// they reload (KeyRefreshInterval), and verifiers accept tokens Leeway past
// their exp.
func (c Config) slack() time.Duration { return c.KeyRefreshInterval + c.Leeway }

// verifySlack is how long after its retirement, beyond the token lifetime, a
// retired key keeps verifying: it signs for PublishDelay after its
// retirement, then slack applies.
func (c Config) verifySlack() time.Duration { return c.PublishDelay + c.slack() }

// Issuer signs and verifies access tokens. Keys are loaded lazily from the
// repository and cached; it is safe for concurrent use.
type Issuer struct {
	cfg   Config
	repo  application.SigningKeyRepository
	clock application.Clock

	// loadMu serialises loads from the repository (no thundering herd) and
	// guards lastKIDReload.
	loadMu        sync.Mutex
	lastKIDReload time.Time

	// mu guards the cached key set and when it is due for a refresh.
	mu          sync.RWMutex
	set         *keySet
	nextRefresh time.Time
}

var (
	_ application.TokenIssuer        = (*Issuer)(nil)
	_ application.SigningKeyReloader = (*Issuer)(nil)
)

// NewIssuer returns an issuer. It does no I/O: keys are loaded on first use
// (or by Init). A nil clock is the wall clock.
func NewIssuer(cfg Config, keys application.SigningKeyRepository, clock application.Clock) *Issuer {
	if clock == nil {
		clock = application.SystemClock{}
	}
	return &Issuer{cfg: cfg.withDefaults(), repo: keys, clock: clock}
}

// Init loads the keys now, creating the first signing key if there is none,
// so that a store that is down or misconfigured shows at start-up.
func (i *Issuer) Init(ctx context.Context) error {
	_, err := i.keys(ctx)
	return err
}

// accessClaims is the access token's JSON payload.
type accessClaims struct {
	UID        string `json:"uid"`
	Type       string `json:"type"`
	UserDomain string `json:"userDomain"`
	AppID      string `json:"appId"`
	SID        string `json:"sid"`
	jwt.RegisteredClaims
}

// SignAccessToken signs c with the key that signs now (see keySet.signerAt).
// A zero IssuedAt is now, a zero ExpiresAt is IssuedAt + AccessTokenTTL, an
// empty TokenID gets a random one. nbf equals iat.
func (i *Issuer) SignAccessToken(ctx context.Context, c domain.AccessClaims) (string, error) {
	if c.UID == "" {
		return "", errors.New("token: access claims without uid")
	}
	set, err := i.keys(ctx)
	if err != nil {
		return "", err
	}
	now := i.clock.Now()
	signer := set.signerAt(now)
	if signer == nil {
		return "", fmt.Errorf("%w: no held key may sign", errStore)
	}
	iat := c.IssuedAt
	if iat.IsZero() {
		iat = now
	}
	exp := c.ExpiresAt
	if exp.IsZero() {
		exp = iat.Add(i.cfg.AccessTokenTTL)
	}
	jti := c.TokenID
	if jti == "" {
		jti = randomID()
	}
	claims := accessClaims{
		UID: c.UID, Type: domain.AccessTokenType, UserDomain: c.UserDomain, AppID: c.AppID, SID: c.SessionID.String(),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.cfg.Issuer,
			IssuedAt:  jwt.NewNumericDate(iat),
			NotBefore: jwt.NewNumericDate(iat),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        jti,
		},
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = signer.kid
	s, err := t.SignedString(signer.private)
	if err != nil {
		return "", fmt.Errorf("token: signing: %w", err)
	}
	return s, nil
}

// errStore marks a key-store failure met while verifying: it is not the
// token's fault and must not read as KindTokenInvalid.
var errStore = errors.New("token: loading signing keys")

// ParseAccessToken verifies raw at now: the EdDSA signature with the held key
// named by the kid header (never a key from elsewhere), exp, nbf and iat with
// the leeway, iss, type, uid and sid. Every failure is KindTokenInvalid,
// except a key-store failure, which is internal.
func (i *Issuer) ParseAccessToken(ctx context.Context, raw string, now time.Time) (domain.AccessClaims, error) {
	if raw == "" || len(raw) > maxTokenLen {
		return domain.AccessClaims{}, domain.Wrap(domain.KindTokenInvalid, errors.New("token: empty or oversized"))
	}
	if set, err := i.keys(ctx); err == nil {
		if c, handled, err := i.parseFast(set, raw, now); handled {
			return c, err
		}
	}
	return i.parseWithLibrary(ctx, raw, now)
}

// parseWithLibrary is ParseAccessToken through the JWT library, for every
// token the fast path does not take.
func (i *Issuer) parseWithLibrary(ctx context.Context, raw string, now time.Time) (domain.AccessClaims, error) {
	var storeErr error
	keyFunc := func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no kid header")
		}
		pub, err := i.verificationKey(ctx, kid, now)
		if errors.Is(err, errStore) {
			storeErr = err
		}
		return pub, err
	}
	var c accessClaims
	_, err := jwt.ParseWithClaims(raw, &c, keyFunc, i.parserOptions(now)...)
	if storeErr != nil {
		return domain.AccessClaims{}, domain.Wrap(domain.KindInternal, storeErr)
	}
	if err != nil {
		return domain.AccessClaims{}, domain.Wrap(domain.KindTokenInvalid, err)
	}
	return c.toDomain()
}

// parserOptions pins the algorithm and the claim checks; the time is the
// caller's now.
func (i *Issuer) parserOptions(now time.Time) []jwt.ParserOption {
	return []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithLeeway(i.cfg.Leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(),
		jwt.WithNotBeforeRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(i.cfg.Issuer),
		jwt.WithStrictDecoding(),
	}
}

// toDomain checks the module's own claims of a verified token.
func (c accessClaims) toDomain() (domain.AccessClaims, error) {
	switch {
	case c.Type != domain.AccessTokenType:
		return domain.AccessClaims{}, domain.Wrap(domain.KindTokenInvalid, fmt.Errorf("token: type %q is not %s", c.Type, domain.AccessTokenType))
	case c.UID == "":
		return domain.AccessClaims{}, domain.Wrap(domain.KindTokenInvalid, errors.New("token: no uid"))
	}
	sid, err := domain.ParseSessionID(c.SID)
	if err != nil {
		return domain.AccessClaims{}, domain.Wrap(domain.KindTokenInvalid, err)
	}
	out := domain.AccessClaims{UID: c.UID, UserDomain: c.UserDomain, AppID: c.AppID, SessionID: sid, TokenID: c.ID,
		ExpiresAt: c.ExpiresAt.Time}
	if c.IssuedAt != nil {
		out.IssuedAt = c.IssuedAt.Time
	}
	return out, nil
}

// verificationKey returns the public key of kid if it may verify at now. An
// unknown kid triggers a reload (a rotation by another instance), at most
// once per unknownKIDReloadInterval.
func (i *Issuer) verificationKey(ctx context.Context, kid string, now time.Time) (ed25519.PublicKey, error) {
	set, err := i.keys(ctx)
	if err != nil {
		return nil, err
	}
	k, ok := set.byKID[kid]
	if !ok {
		if set, err = i.reloadForUnknownKID(ctx, kid); err != nil {
			return nil, err
		}
		if k, ok = set.byKID[kid]; !ok {
			return nil, errors.New("unknown kid")
		}
	}
	if !k.verifiesAt(now) {
		return nil, errors.New("the key of this kid has stopped verifying")
	}
	return k.public, nil
}

// JWKS returns the JSON Web Key Set of every key that verifies: the key that
// signs first, then the others newest first, among them a new key that does
// not sign yet (published for PublishDelay first) and the retired keys that
// may still have valid tokens.
func (i *Issuer) JWKS(ctx context.Context) ([]byte, error) {
	set, err := i.keys(ctx)
	if err != nil {
		return nil, err
	}
	now := i.clock.Now()
	out := jwks{Keys: make([]jwk, 0, len(set.ordered))}
	signer := set.signerAt(now)
	if signer != nil {
		out.Keys = append(out.Keys, signer.jwk())
	}
	for _, k := range set.ordered {
		if k != signer && k.verifiesAt(now) {
			out.Keys = append(out.Keys, k.jwk())
		}
	}
	return json.Marshal(out)
}

// RotateSigningKey stores a new signing key, retiring the current one, and
// returns its kid. The new key is published (JWKS) and verifies at once, but
// it signs only PublishDelay later, on every instance alike; until then the
// key it retired goes on signing. Tokens signed by the retired key keep
// verifying until they expire.
func (i *Issuer) RotateSigningKey(ctx context.Context) (string, error) {
	now := i.clock.Now()
	k, err := newSigningKey(now)
	if err != nil {
		return "", err
	}
	if _, err := i.repo.AddSigningKey(ctx, k, true); err != nil {
		return "", fmt.Errorf("token: storing the new signing key: %w", err)
	}
	i.loadMu.Lock()
	defer i.loadMu.Unlock()
	if _, err := i.loadLocked(ctx, now); err != nil {
		// The rotation is stored; make the next use reload.
		i.mu.Lock()
		i.nextRefresh = time.Time{}
		i.mu.Unlock()
	}
	return k.KID, nil
}

// RevokeSigningKey revokes kid in the store and reloads the keys. When kid
// was the active key, a new key replaces it that signs at once: it is dated
// PublishDelay back, so that every instance's signerAt picks it at once (no
// publish delay: the revoked key is compromised and external verifiers that
// cached the JWKS must refresh on the unknown kid). It returns the kid that
// signs now.
func (i *Issuer) RevokeSigningKey(ctx context.Context, kid string) (string, error) {
	now := i.clock.Now()
	k, err := newSigningKey(now.Add(-i.cfg.PublishDelay))
	if err != nil {
		return "", err
	}
	if _, err := i.repo.RevokeSigningKey(ctx, kid, now, k); err != nil {
		return "", err
	}
	i.loadMu.Lock()
	defer i.loadMu.Unlock()
	set, err := i.loadLocked(ctx, now)
	if err != nil {
		i.mu.Lock()
		i.nextRefresh = time.Time{}
		i.mu.Unlock()
		return "", fmt.Errorf("token: the key is revoked, reloading the keys: %w", err)
	}
	signer := set.signerAt(now)
	if signer == nil {
		return "", fmt.Errorf("%w: no key may sign after the revocation", errStore)
	}
	return signer.kid, nil
}

// ReloadSigningKeys reloads the keys now (the revocation sync calls it) and
// reports whether a key held before is gone: revoked, or past its last
// token. It implements application.SigningKeyReloader.
func (i *Issuer) ReloadSigningKeys(ctx context.Context) (bool, error) {
	i.loadMu.Lock()
	defer i.loadMu.Unlock()
	before, _ := i.cached()
	after, err := i.loadLocked(ctx, i.clock.Now())
	if err != nil {
		return false, err
	}
	if before == nil {
		return false, nil
	}
	for kid := range before.byKID {
		if _, ok := after.byKID[kid]; !ok {
			return true, nil
		}
	}
	return false, nil
}

// keys returns the held key set, loading it on first use and refreshing it
// every KeyRefreshInterval. While one caller refreshes, the others go on with
// the held keys; a failed refresh keeps them too and is retried shortly.
func (i *Issuer) keys(ctx context.Context) (*keySet, error) {
	now := i.clock.Now()
	set, next := i.cached()
	if set != nil && now.Before(next) {
		return set, nil
	}
	if set != nil {
		if !i.loadMu.TryLock() {
			return set, nil
		}
		defer i.loadMu.Unlock()
		if fresh, next := i.cached(); now.Before(next) {
			return fresh, nil
		}
		fresh, err := i.loadLocked(ctx, now)
		if err != nil {
			i.mu.Lock()
			i.nextRefresh = now.Add(refreshRetryInterval)
			i.mu.Unlock()
			return set, nil
		}
		return fresh, nil
	}
	i.loadMu.Lock()
	defer i.loadMu.Unlock()
	if set, _ := i.cached(); set != nil {
		return set, nil
	}
	return i.loadLocked(ctx, now)
}

// reloadForUnknownKID reloads the keys unless another caller just found kid
// or a reload for an unknown kid happened less than a second ago.
func (i *Issuer) reloadForUnknownKID(ctx context.Context, kid string) (*keySet, error) {
	i.loadMu.Lock()
	defer i.loadMu.Unlock()
	set, _ := i.cached()
	if _, ok := set.byKID[kid]; ok {
		return set, nil
	}
	now := i.clock.Now()
	if !i.lastKIDReload.IsZero() && now.Sub(i.lastKIDReload) < unknownKIDReloadInterval {
		return set, nil
	}
	i.lastKIDReload = now
	return i.loadLocked(ctx, now)
}

func (i *Issuer) cached() (*keySet, time.Time) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.set, i.nextRefresh
}

// loadLocked reads the keys from the repository and caches them. When no key
// may sign (the store is empty) it creates one, which signs at once; if
// another instance created one first, the stored key wins. i.loadMu is held.
func (i *Issuer) loadLocked(ctx context.Context, now time.Time) (*keySet, error) {
	set, err := i.fetch(ctx, now)
	if err != nil {
		return nil, err
	}
	if set.signerAt(now) == nil {
		k, err := newSigningKey(now)
		if err != nil {
			return nil, err
		}
		if _, err := i.repo.AddSigningKey(ctx, k, false); err != nil {
			return nil, fmt.Errorf("%w: creating the first signing key: %w", errStore, err)
		}
		if set, err = i.fetch(ctx, now); err != nil {
			return nil, err
		}
		if set.signerAt(now) == nil {
			return nil, fmt.Errorf("%w: no key may sign after creating one", errStore)
		}
	}
	i.mu.Lock()
	i.set, i.nextRefresh = set, now.Add(i.cfg.KeyRefreshInterval)
	i.mu.Unlock()
	return set, nil
}

// fetch reads the keys that may still verify at now.
func (i *Issuer) fetch(ctx context.Context, now time.Time) (*keySet, error) {
	list, err := i.repo.SigningKeys(ctx, now.Add(-(i.cfg.AccessTokenTTL + i.cfg.verifySlack())))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errStore, err)
	}
	set, err := newKeySet(list, i.cfg, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errStore, err)
	}
	return set, nil
}

// heldKey is a key as the issuer holds it.
type heldKey struct {
	kid       string
	public    ed25519.PublicKey
	createdAt time.Time
	// private is held only while the key may sign: while it is active, and
	// for PublishDelay after its retirement.
	private ed25519.PrivateKey
	// signsUntil and verifiesUntil are zero while the key is active.
	signsUntil    time.Time
	verifiesUntil time.Time
}

func (k *heldKey) verifiesAt(now time.Time) bool {
	return k.verifiesUntil.IsZero() || now.Before(k.verifiesUntil)
}

// maySignAt reports whether the key may sign at now: it is active, or it was
// retired less than PublishDelay ago (its successor is not signing yet).
func (k *heldKey) maySignAt(now time.Time) bool {
	return k.private != nil && (k.signsUntil.IsZero() || now.Before(k.signsUntil))
}

// keySet is one immutable snapshot of the keys. Which key signs depends on
// the time (signerAt), so that every instance switches to a new key at the
// same instant, without a reload.
type keySet struct {
	byKID        map[string]*heldKey
	byHeader     map[string]*heldKey // the header segment the issuer writes for the key (see parseFast)
	ordered      []*heldKey          // newest first
	publishDelay time.Duration
}

// signerAt returns the key that signs at now: the newest key that has been
// published for publishDelay and may still sign. When there is none, which
// happens only while the first keys of a store are younger than the delay,
// the oldest key that may sign signs: the store's first key signs at once. It
// returns nil when no key may sign.
func (s *keySet) signerAt(now time.Time) *heldKey {
	publishedBy := now.Add(-s.publishDelay)
	var oldest *heldKey
	for _, k := range s.ordered {
		if !k.maySignAt(now) {
			continue
		}
		if !k.createdAt.After(publishedBy) {
			return k
		}
		oldest = k
	}
	return oldest
}

// newKeySet builds a snapshot from the repository's keys. Keys of another
// algorithm are skipped: this version cannot use them. A malformed Ed25519
// key is an error, as is a missing or mismatched private key of a key that
// may sign at now or later.
func newKeySet(list []domain.SigningKey, cfg Config, now time.Time) (*keySet, error) {
	set := &keySet{byKID: make(map[string]*heldKey, len(list)), byHeader: make(map[string]*heldKey, len(list)),
		publishDelay: cfg.PublishDelay}
	for _, k := range list {
		if k.Algorithm != domain.SigningKeyAlgorithm {
			continue
		}
		if _, dup := set.byKID[k.KID]; dup {
			continue
		}
		h, err := newHeldKey(k, cfg, now)
		if err != nil {
			return nil, err
		}
		header, err := headerFor(k.KID)
		if err != nil {
			return nil, err
		}
		set.byKID[k.KID] = h
		set.byHeader[header] = h
		set.ordered = append(set.ordered, h)
	}
	slices.SortStableFunc(set.ordered, func(a, b *heldKey) int { return b.age(a) })
	return set, nil
}

// age compares the creation of k and o: -1 when k is older. Of two keys
// created at the same instant (a rotation within the clock's resolution),
// the one retired first is the older; an active key is the newest.
func (k *heldKey) age(o *heldKey) int {
	if c := k.createdAt.Compare(o.createdAt); c != 0 {
		return c
	}
	switch {
	case k.signsUntil.Equal(o.signsUntil):
		return 0
	case k.signsUntil.IsZero():
		return 1
	case o.signsUntil.IsZero():
		return -1
	}
	return k.signsUntil.Compare(o.signsUntil)
}

// newHeldKey checks a stored Ed25519 key and keeps its private key if it may
// sign at now or later.
func newHeldKey(k domain.SigningKey, cfg Config, now time.Time) (*heldKey, error) {
	if k.KID == "" || len(k.PublicKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("signing key %q: malformed public key", k.KID)
	}
	h := &heldKey{
		kid:           k.KID,
		public:        ed25519.PublicKey(bytes.Clone(k.PublicKey)),
		createdAt:     k.CreatedAt,
		verifiesUntil: k.VerifiesUntil(cfg.AccessTokenTTL, cfg.verifySlack()),
	}
	if k.Retired() {
		h.signsUntil = k.RetiredAt.Add(cfg.PublishDelay)
		if !now.Before(h.signsUntil) {
			return h, nil
		}
	}
	priv := ed25519.PrivateKey(k.PrivateKey)
	if len(priv) != ed25519.PrivateKeySize || !bytes.Equal(priv.Public().(ed25519.PublicKey), h.public) {
		return nil, fmt.Errorf("signing key %q: private key missing or not matching its public key", k.KID)
	}
	h.private = ed25519.PrivateKey(bytes.Clone(priv))
	return h, nil
}

// newSigningKey generates an Ed25519 key whose kid is derived from its
// public key.
func newSigningKey(now time.Time) (domain.SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return domain.SigningKey{}, fmt.Errorf("token: generating a signing key: %w", err)
	}
	return domain.SigningKey{KID: kidOf(pub), Algorithm: domain.SigningKeyAlgorithm, PublicKey: pub, PrivateKey: priv, CreatedAt: now}, nil
}

// kidOf is base64url of the first 12 bytes of SHA-256 of the public key.
func kidOf(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// jwks is a JSON Web Key Set (RFC 7517); jwk an Ed25519 public key (RFC 8037).
type jwks struct {
	Keys []jwk `json:"keys"`
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

func (k *heldKey) jwk() jwk {
	return jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.public), Kid: k.kid,
		Alg: domain.SigningKeyAlgorithm, Use: "sig"}
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
