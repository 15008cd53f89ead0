package token

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/iotplatform/enduser-auth/adapters/memory"
	"github.com/iotplatform/enduser-auth/domain"
	"github.com/iotplatform/enduser-auth/internal/fakeclock"
)

// memKeys is adapters/memory's signing key store (the one that passes the
// repository contract, adapters/repotest) with load and add counters and an
// injectable failure.
type memKeys struct {
	*memory.Store
	mu    sync.Mutex
	loads int
	adds  int
	fail  error
}

func newMemKeys() *memKeys { return &memKeys{Store: memory.NewStore()} }

func (m *memKeys) SigningKeys(ctx context.Context, retiredSince time.Time) ([]domain.SigningKey, error) {
	m.mu.Lock()
	m.loads++
	fail := m.fail
	m.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	return m.Store.SigningKeys(ctx, retiredSince)
}

func (m *memKeys) AddSigningKey(ctx context.Context, k domain.SigningKey, retireActive bool) (bool, error) {
	m.mu.Lock()
	m.adds++
	fail := m.fail
	m.mu.Unlock()
	if fail != nil {
		return false, fail
	}
	return m.Store.AddSigningKey(ctx, k, retireActive)
}

func (m *memKeys) setFail(err error) {
	m.mu.Lock()
	m.fail = err
	m.mu.Unlock()
}

// all is every stored key (retired ones included, revoked ones not),
// newest first; no load is counted.
func (m *memKeys) all(t testing.TB) []domain.SigningKey {
	t.Helper()
	keys, err := m.Store.SigningKeys(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func (m *memKeys) count() (keys, loads int) {
	all, err := m.Store.SigningKeys(context.Background(), time.Time{})
	if err != nil {
		panic(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(all), m.loads
}

// put stores keys in order through the repository's own operations; a key
// with a RetiredAt is retired by the next one, which must be created then.
func (m *memKeys) put(t testing.TB, keys ...domain.SigningKey) {
	t.Helper()
	for i, k := range keys {
		if k.Retired() && (i+1 == len(keys) || !keys[i+1].CreatedAt.Equal(k.RetiredAt)) {
			t.Fatalf("put: key %s retires at %v, the next key must be created then", k.KID, k.RetiredAt)
		}
		if ok, err := m.Store.AddSigningKey(context.Background(), k, i > 0 && keys[i-1].Retired()); err != nil || !ok {
			t.Fatalf("put %s: %v %v", k.KID, ok, err)
		}
	}
}

// key returns the stored key kid.
func (m *memKeys) key(t testing.TB, kid string) domain.SigningKey {
	t.Helper()
	for _, k := range m.all(t) {
		if k.KID == kid {
			return k
		}
	}
	t.Fatalf("no key %q", kid)
	return domain.SigningKey{}
}

const ttl = 2 * time.Hour

var testConfig = Config{AccessTokenTTL: ttl, Leeway: 30 * time.Second, KeyRefreshInterval: time.Minute, PublishDelay: 2 * time.Minute}

// noDelayConfig makes a new key sign at once.
var noDelayConfig = func() Config { c := testConfig; c.PublishOff = true; return c }()

func setup(t *testing.T) (*Issuer, *memKeys, *fakeclock.Clock) {
	t.Helper()
	return setupWith(t, testConfig)
}

func setupWith(t *testing.T, cfg Config) (*Issuer, *memKeys, *fakeclock.Clock) {
	t.Helper()
	repo := newMemKeys()
	clk := fakeclock.Default()
	return NewIssuer(cfg, repo, clk), repo, clk
}

func claimsAt(now time.Time) domain.AccessClaims {
	return domain.AccessClaims{
		UID: "u-1f2e3d", UserDomain: "C.DM.10271.5", AppID: "wx123", SessionID: domain.NewSessionID(),
		TokenID: "jti-1", IssuedAt: now, ExpiresAt: now.Add(ttl),
	}
}

func sign(t *testing.T, iss *Issuer, c domain.AccessClaims) string {
	t.Helper()
	tok, err := iss.SignAccessToken(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func wantInvalid(t *testing.T, iss *Issuer, tok string, now time.Time) {
	t.Helper()
	_, err := iss.ParseAccessToken(context.Background(), tok, now)
	if !domain.IsKind(err, domain.KindTokenInvalid) {
		t.Fatalf("ParseAccessToken: %v (kind %q), want %q", err, domain.KindOf(err), domain.KindTokenInvalid)
	}
}

func wantValid(t *testing.T, iss *Issuer, tok string, now time.Time) domain.AccessClaims {
	t.Helper()
	c, err := iss.ParseAccessToken(context.Background(), tok, now)
	if err != nil {
		t.Fatalf("ParseAccessToken: %v", err)
	}
	return c
}

// segments decodes a token's header and payload.
func segments(t *testing.T, tok string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	for idx, dst := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[idx])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}

func kidOfToken(t *testing.T, tok string) string {
	t.Helper()
	h, _ := segments(t, tok)
	kid, _ := h["kid"].(string)
	return kid
}

// signRaw signs arbitrary claims and header with a stored key, bypassing the
// issuer, to forge the tokens the issuer must refuse.
func signRaw(t *testing.T, k domain.SigningKey, claims jwt.MapClaims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	for name, v := range header {
		if v == nil {
			delete(tok.Header, name)
			continue
		}
		tok.Header[name] = v
	}
	s, err := tok.SignedString(ed25519.PrivateKey(k.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validMapClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"uid": "u1", "type": domain.AccessTokenType, "userDomain": "C.DM.1.1", "appId": "wx", "sid": domain.NewSessionID().String(),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(), "jti": "j", "iss": DefaultIssuer,
	}
}

func TestRoundTripKeepsEveryClaim(t *testing.T) {
	iss, _, clk := setup(t)
	now := clk.Now()
	in := claimsAt(now)
	tok := sign(t, iss, in)

	got := wantValid(t, iss, tok, now)
	if got.UID != in.UID || got.UserDomain != in.UserDomain || got.AppID != in.AppID || got.SessionID != in.SessionID ||
		got.TokenID != in.TokenID || !got.IssuedAt.Equal(in.IssuedAt) || !got.ExpiresAt.Equal(in.ExpiresAt) {
		t.Errorf("parsed %+v, signed %+v", got, in)
	}

	h, p := segments(t, tok)
	if h["alg"] != "EdDSA" || h["typ"] != "JWT" || h["kid"] == "" || h["kid"] == nil {
		t.Errorf("header = %v", h)
	}
	want := map[string]any{
		"uid": in.UID, "type": "AccessToken", "userDomain": in.UserDomain, "appId": in.AppID, "sid": in.SessionID.String(),
		"iat": float64(now.Unix()), "nbf": float64(now.Unix()), "exp": float64(in.ExpiresAt.Unix()), "jti": "jti-1", "iss": "enduser-auth",
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("claim %s = %v, want %v", k, p[k], v)
		}
	}
	if len(p) != len(want) {
		t.Errorf("payload has claims %v, want exactly %d", p, len(want))
	}
}

func TestSignFillsDefaults(t *testing.T) {
	iss, _, clk := setup(t)
	tok := sign(t, iss, domain.AccessClaims{UID: "u", SessionID: domain.NewSessionID()})
	_, p := segments(t, tok)
	if p["iat"] != float64(clk.Now().Unix()) || p["exp"] != float64(clk.Now().Add(ttl).Unix()) || p["jti"] == "" || p["jti"] == nil {
		t.Errorf("payload = %v", p)
	}
	if _, err := iss.SignAccessToken(context.Background(), domain.AccessClaims{}); err == nil {
		t.Error("signed claims without uid")
	}
}

func TestTamperedPayloadIsInvalid(t *testing.T) {
	iss, _, clk := setup(t)
	tok := sign(t, iss, claimsAt(clk.Now()))
	parts := strings.Split(tok, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(b), `"uid":"u-1f2e3d"`, `"uid":"admin"`, 1)
	if forged == string(b) {
		t.Fatal("test did not change the payload")
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
	wantInvalid(t, iss, strings.Join(parts, "."), clk.Now())

	sig := []byte(parts[2])
	sig[3] ^= 1
	wantInvalid(t, iss, strings.Split(tok, ".")[0]+"."+strings.Split(tok, ".")[1]+"."+string(sig), clk.Now())
}

func TestAlgNoneIsInvalid(t *testing.T) {
	iss, _, clk := setup(t)
	kid := kidOfToken(t, sign(t, iss, claimsAt(clk.Now())))
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	for _, alg := range []string{"none", "None", "NONE"} {
		tok := enc(map[string]any{"alg": alg, "typ": "JWT", "kid": kid}) + "." + enc(validMapClaims(clk.Now())) + "."
		wantInvalid(t, iss, tok, clk.Now())
	}
}

func TestHS256WithThePublicKeyIsInvalid(t *testing.T) {
	iss, repo, clk := setup(t)
	kid := kidOfToken(t, sign(t, iss, claimsAt(clk.Now())))
	pub := repo.key(t, kid).PublicKey
	for _, secret := range [][]byte{pub, []byte(base64.RawURLEncoding.EncodeToString(pub))} {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, validMapClaims(clk.Now()))
		tok.Header["kid"] = kid
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		wantInvalid(t, iss, s, clk.Now())
	}
}

func TestKIDMustBeHeld(t *testing.T) {
	iss, repo, clk := setup(t)
	kid := kidOfToken(t, sign(t, iss, claimsAt(clk.Now())))
	k := repo.key(t, kid)
	now := clk.Now()

	wantValid(t, iss, signRaw(t, k, validMapClaims(now), map[string]any{"kid": kid}), now) // the forging helper is sound

	wantInvalid(t, iss, signRaw(t, k, validMapClaims(now), nil), now)                              // no kid
	wantInvalid(t, iss, signRaw(t, k, validMapClaims(now), map[string]any{"kid": ""}), now)        // empty kid
	wantInvalid(t, iss, signRaw(t, k, validMapClaims(now), map[string]any{"kid": 42}), now)        // kid not a string
	wantInvalid(t, iss, signRaw(t, k, validMapClaims(now), map[string]any{"kid": "unknown"}), now) // unknown kid
	// A key URL in the header is never followed: the token names no held key.
	withJKU := signRaw(t, k, validMapClaims(now), map[string]any{"kid": kid, "jku": "http://127.0.0.1:1/jwks"})
	wantInvalid(t, iss, forged(withJKU).replaceKID(t, "nope"), now)
}

func TestUnknownKeyWithAKnownKIDIsInvalid(t *testing.T) {
	iss, _, clk := setup(t)
	kid := kidOfToken(t, sign(t, iss, claimsAt(clk.Now())))
	other, err := newSigningKey(clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, iss, signRaw(t, other, validMapClaims(clk.Now()), map[string]any{"kid": kid}), clk.Now())
}

// forged is a signed token whose header can still be changed.
type forged string

// replaceKID swaps the kid after signing (which breaks the signature as well
// as naming no held key).
func (f forged) replaceKID(t *testing.T, kid string) string {
	t.Helper()
	parts := strings.Split(string(f), ".")
	h, _ := segments(t, string(f))
	h["kid"] = kid
	b, _ := json.Marshal(h)
	parts[0] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestOwnClaimsAreChecked(t *testing.T) {
	iss, repo, clk := setup(t)
	now := clk.Now()
	kid := kidOfToken(t, sign(t, iss, claimsAt(now)))
	k := repo.key(t, kid)
	cases := map[string]func(jwt.MapClaims){
		"type refresh":    func(c jwt.MapClaims) { c["type"] = "RefreshToken" },
		"no type":         func(c jwt.MapClaims) { delete(c, "type") },
		"no uid":          func(c jwt.MapClaims) { delete(c, "uid") },
		"uid not string":  func(c jwt.MapClaims) { c["uid"] = 7 },
		"no sid":          func(c jwt.MapClaims) { delete(c, "sid") },
		"sid not uuid":    func(c jwt.MapClaims) { c["sid"] = "abc" },
		"no exp":          func(c jwt.MapClaims) { delete(c, "exp") },
		"no nbf":          func(c jwt.MapClaims) { delete(c, "nbf") },
		"exp not number":  func(c jwt.MapClaims) { c["exp"] = "tomorrow" },
		"other issuer":    func(c jwt.MapClaims) { c["iss"] = "someone-else" },
		"no issuer":       func(c jwt.MapClaims) { delete(c, "iss") },
		"iat in future":   func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() },
		"expired":         func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() },
		"nbf far ahead":   func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() },
		"everything gone": func(c jwt.MapClaims) { clear(c) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := validMapClaims(now)
			mutate(c)
			wantInvalid(t, iss, signRaw(t, k, c, map[string]any{"kid": kid}), now)
		})
	}
}

func TestExpiryWithLeeway(t *testing.T) {
	iss, _, clk := setup(t)
	in := claimsAt(clk.Now())
	tok := sign(t, iss, in)
	wantValid(t, iss, tok, in.ExpiresAt.Add(testConfig.Leeway-time.Second))
	wantInvalid(t, iss, tok, in.ExpiresAt.Add(testConfig.Leeway))
	wantInvalid(t, iss, tok, in.ExpiresAt.Add(time.Hour))
}

func TestNotBeforeWithLeeway(t *testing.T) {
	iss, _, clk := setup(t)
	now := clk.Now()
	ahead := claimsAt(now.Add(testConfig.Leeway - time.Second))
	wantValid(t, iss, sign(t, iss, ahead), now)
	tooFar := claimsAt(now.Add(testConfig.Leeway + 2*time.Second))
	wantInvalid(t, iss, sign(t, iss, tooFar), now)
}

func TestGarbageIsInvalid(t *testing.T) {
	iss, _, clk := setup(t)
	tok := sign(t, iss, claimsAt(clk.Now()))
	for _, g := range []string{"", "x", "a.b", "a.b.c", "Bearer " + tok, tok + "=", strings.Repeat("a", maxTokenLen+1)} {
		wantInvalid(t, iss, g, clk.Now())
	}
}

func TestNoIOUntilFirstUse(t *testing.T) {
	repo := newMemKeys()
	iss := NewIssuer(Config{}, repo, nil)
	if _, loads := repo.count(); loads != 0 {
		t.Fatalf("NewIssuer did %d loads", loads)
	}
	if err := iss.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	if keys, _ := repo.count(); keys != 1 {
		t.Errorf("Init left %d keys, want 1", keys)
	}
	if iss.cfg.Leeway != DefaultLeeway || iss.cfg.Issuer != DefaultIssuer || iss.cfg.KeyRefreshInterval != DefaultKeyRefreshInterval ||
		iss.cfg.AccessTokenTTL != DefaultAccessTokenTTL || iss.cfg.PublishDelay != DefaultPublishDelay {
		t.Errorf("defaults not applied: %+v", iss.cfg)
	}
	if got := NewIssuer(Config{PublishDelay: time.Hour, PublishOff: true}, repo, nil).cfg.PublishDelay; got != 0 {
		t.Errorf("PublishOff became a delay of %v, want 0", got)
	}
}

func TestKeysAreCachedAndRefreshed(t *testing.T) {
	iss, repo, clk := setup(t)
	for range 10 {
		tok := sign(t, iss, claimsAt(clk.Now()))
		wantValid(t, iss, tok, clk.Now())
	}
	_, before := repo.count()
	clk.Advance(testConfig.KeyRefreshInterval)
	sign(t, iss, claimsAt(clk.Now()))
	if _, after := repo.count(); after != before+1 {
		t.Errorf("loads went from %d to %d after the refresh interval, want one more", before, after)
	}
}

func TestUnknownKIDReloadsAtMostOncePerSecond(t *testing.T) {
	iss, repo, clk := setup(t)
	kid := kidOfToken(t, sign(t, iss, claimsAt(clk.Now())))
	k := repo.key(t, kid)
	garbage := func(n int) string {
		return signRaw(t, k, validMapClaims(clk.Now()), map[string]any{"kid": fmt.Sprintf("garbage-%d", n)})
	}
	_, before := repo.count()
	for n := range 50 {
		wantInvalid(t, iss, garbage(n), clk.Now())
	}
	if _, after := repo.count(); after != before+1 {
		t.Errorf("50 unknown kids within a second caused %d loads, want 1", after-before)
	}
	clk.Advance(unknownKIDReloadInterval)
	wantInvalid(t, iss, garbage(99), clk.Now())
	if _, after := repo.count(); after != before+2 {
		t.Errorf("an unknown kid a second later caused %d loads in all, want 2", after-before)
	}
}

// TestRotationWithoutPublishDelay: with no publish delay a new key signs at
// once, and the retired key verifies until RetiredAt + TTL + slack.
func TestRotationWithoutPublishDelay(t *testing.T) {
	iss, _, clk := setupWith(t, noDelayConfig)
	start := clk.Now()
	old := sign(t, iss, claimsAt(start))
	oldKID := kidOfToken(t, old)
	// A token the old key signed with an unusually long life: it must stop
	// verifying when the key does, not at its exp.
	long := claimsAt(start)
	long.ExpiresAt = start.Add(24 * time.Hour)
	longTok := sign(t, iss, long)

	clk.Advance(10 * time.Minute)
	newKID, err := iss.RotateSigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if newKID == oldKID || newKID == "" {
		t.Fatalf("rotation kept kid %q", newKID)
	}
	rotatedAt := clk.Now()
	fresh := sign(t, iss, claimsAt(rotatedAt))
	if kidOfToken(t, fresh) != newKID {
		t.Errorf("new tokens carry kid %q, want %q", kidOfToken(t, fresh), newKID)
	}
	wantValid(t, iss, old, rotatedAt)
	wantValid(t, iss, fresh, rotatedAt)
	if got := jwksKIDs(t, iss); strings.Join(got, ",") != newKID+","+oldKID {
		t.Errorf("JWKS kids = %v, want [%s %s]", got, newKID, oldKID)
	}

	until := rotatedAt.Add(ttl + testConfig.KeyRefreshInterval + testConfig.Leeway)
	clk.Set(until.Add(-time.Second))
	wantValid(t, iss, longTok, clk.Now())
	if got := jwksKIDs(t, iss); len(got) != 2 {
		t.Errorf("JWKS kids = %v just before the old key's end, want 2", got)
	}
	clk.Set(until)
	wantInvalid(t, iss, longTok, clk.Now())
	if got := jwksKIDs(t, iss); strings.Join(got, ",") != newKID {
		t.Errorf("JWKS kids = %v after the old key's end, want [%s]", got, newKID)
	}
}

func jwksKIDs(t *testing.T, iss *Issuer) []string {
	t.Helper()
	b, err := iss.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k["kid"])
	}
	return kids
}

func TestJWKSFormat(t *testing.T) {
	iss, repo, clk := setup(t)
	kid := kidOfToken(t, sign(t, iss, claimsAt(clk.Now())))
	b, err := iss.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	x := base64.RawURLEncoding.EncodeToString(repo.key(t, kid).PublicKey)
	want := `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + x + `","kid":"` + kid + `","alg":"EdDSA","use":"sig"}]}`
	if string(b) != want {
		t.Errorf("JWKS = %s\nwant   %s", b, want)
	}
	if strings.Contains(string(b), `"d"`) {
		t.Error("JWKS leaks the private key")
	}
}

func TestJWKSVerifiesTokens(t *testing.T) {
	iss, _, clk := setup(t)
	tok := sign(t, iss, claimsAt(clk.Now()))
	b, _ := iss.JWKS(context.Background())
	var set struct {
		Keys []struct{ Kid, X string } `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS %s: %v", b, err)
	}
	pub, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].X)
	_, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return ed25519.PublicKey(pub), nil },
		jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithTimeFunc(clk.Now))
	if err != nil {
		t.Errorf("a third party holding only the JWKS cannot verify: %v", err)
	}
}

func TestTwoInstancesShareKeys(t *testing.T) {
	repo := newMemKeys()
	clk := fakeclock.Default()
	a, b := NewIssuer(testConfig, repo, clk), NewIssuer(testConfig, repo, clk)
	ta, tb := sign(t, a, claimsAt(clk.Now())), sign(t, b, claimsAt(clk.Now()))
	if kidOfToken(t, ta) != kidOfToken(t, tb) {
		t.Errorf("instances sign with %q and %q", kidOfToken(t, ta), kidOfToken(t, tb))
	}
	wantValid(t, a, tb, clk.Now())
	wantValid(t, b, ta, clk.Now())
	if keys, _ := repo.count(); keys != 1 {
		t.Errorf("%d keys stored, want 1", keys)
	}
}

func TestSecondInstancePicksUpRotationWithoutPublishDelay(t *testing.T) {
	repo := newMemKeys()
	clk := fakeclock.Default()
	a, b := NewIssuer(noDelayConfig, repo, clk), NewIssuer(noDelayConfig, repo, clk)
	oldKID := kidOfToken(t, sign(t, b, claimsAt(clk.Now())))

	clk.Advance(time.Second)
	newKID, err := a.RotateSigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fromA := sign(t, a, claimsAt(clk.Now()))
	// b has not reloaded yet: it still signs with the old key, which a still
	// accepts, and it verifies a's new kid by reloading on the unknown kid.
	if got := kidOfToken(t, sign(t, b, claimsAt(clk.Now()))); got != oldKID {
		t.Errorf("before the refresh interval b signs with %q, want the old %q", got, oldKID)
	}
	wantValid(t, a, sign(t, b, claimsAt(clk.Now())), clk.Now())
	wantValid(t, b, fromA, clk.Now())

	clk.Advance(testConfig.KeyRefreshInterval)
	if got := kidOfToken(t, sign(t, b, claimsAt(clk.Now()))); got != newKID {
		t.Errorf("after the refresh interval b signs with %q, want %q", got, newKID)
	}
}

func TestConcurrentFirstUseCreatesOneKey(t *testing.T) {
	repo := newMemKeys()
	clk := fakeclock.Default()
	issuers := []*Issuer{NewIssuer(testConfig, repo, clk), NewIssuer(testConfig, repo, clk), NewIssuer(testConfig, repo, clk)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	kids := map[string]bool{}
	for n := range 30 {
		wg.Go(func() {
			tok, err := issuers[n%len(issuers)].SignAccessToken(context.Background(), claimsAt(clk.Now()))
			if err != nil {
				t.Error(err)
				return
			}
			h, _ := segments(t, tok)
			mu.Lock()
			kids[h["kid"].(string)] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if keys, _ := repo.count(); keys != 1 || len(kids) != 1 {
		t.Errorf("%d keys stored and %d kids used, want 1 and 1", keys, len(kids))
	}
	repo.mu.Lock()
	adds := repo.adds
	repo.mu.Unlock()
	if adds > len(issuers) {
		t.Errorf("%d key creations attempted by %d instances: the herd was not stopped", adds, len(issuers))
	}
}

func TestStoreFailureIsNotTokenInvalid(t *testing.T) {
	iss, repo, clk := setup(t)
	boom := errors.New("connection refused")
	repo.setFail(boom)
	if err := iss.Init(context.Background()); !errors.Is(err, boom) {
		t.Errorf("Init: %v, want the store's error", err)
	}
	if _, err := iss.SignAccessToken(context.Background(), claimsAt(clk.Now())); !errors.Is(err, boom) {
		t.Errorf("SignAccessToken: %v, want the store's error", err)
	}
	if _, err := iss.JWKS(context.Background()); !errors.Is(err, boom) {
		t.Errorf("JWKS: %v, want the store's error", err)
	}
	_, err := iss.ParseAccessToken(context.Background(), "eyJhbGciOiJFZERTQSIsImtpZCI6IngiLCJ0eXAiOiJKV1QifQ.e30.AAAA", clk.Now())
	if domain.IsKind(err, domain.KindTokenInvalid) || !errors.Is(err, boom) {
		t.Errorf("ParseAccessToken: %v (kind %q), want a wrapped store error", err, domain.KindOf(err))
	}
}

func TestHeldKeysSurviveAStoreOutage(t *testing.T) {
	iss, repo, clk := setup(t)
	tok := sign(t, iss, claimsAt(clk.Now()))
	repo.setFail(errors.New("down"))
	clk.Advance(testConfig.KeyRefreshInterval)
	wantValid(t, iss, tok, clk.Now())
	sign(t, iss, claimsAt(clk.Now()))
	_, loads := repo.count()
	sign(t, iss, claimsAt(clk.Now()))
	if _, again := repo.count(); again != loads {
		t.Errorf("a failed refresh is retried on every call (%d then %d loads)", loads, again)
	}
	repo.setFail(nil)
	clk.Advance(refreshRetryInterval)
	sign(t, iss, claimsAt(clk.Now()))
	if _, after := repo.count(); after != loads+1 {
		t.Errorf("no retry after the retry interval (%d then %d loads)", loads, after)
	}
}

func TestMalformedStoredKeyIsAnError(t *testing.T) {
	iss, repo, clk := setup(t)
	k, _ := newSigningKey(clk.Now())
	k.PrivateKey = k.PrivateKey[:10]
	repo.put(t, k)
	if err := iss.Init(context.Background()); err == nil {
		t.Error("Init accepted a truncated private key")
	}
}

func TestKeysOfAnotherAlgorithmAreSkipped(t *testing.T) {
	iss, repo, clk := setup(t)
	ed, _ := newSigningKey(clk.Now().Add(-time.Minute))
	repo.put(t, domain.SigningKey{KID: "rsa", Algorithm: "RS256", PublicKey: []byte("x"),
		CreatedAt: clk.Now().Add(-time.Hour), RetiredAt: clk.Now().Add(-time.Minute)}, ed)
	if err := iss.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := jwksKIDs(t, iss); len(got) != 1 || got[0] == "rsa" {
		t.Errorf("JWKS kids = %v", got)
	}
}

func TestAnActiveKeyOfAnotherAlgorithmCannotSign(t *testing.T) {
	iss, repo, clk := setup(t)
	repo.put(t, domain.SigningKey{KID: "rsa", Algorithm: "RS256", PublicKey: []byte("x"), CreatedAt: clk.Now()})
	if err := iss.Init(context.Background()); err == nil {
		t.Error("Init succeeded although the active key is not EdDSA")
	}
	if keys, _ := repo.count(); keys != 1 {
		t.Errorf("%d keys stored: an EdDSA key was forced in beside the active one", keys)
	}
}

func BenchmarkSignAccessToken(b *testing.B) {
	repo := newMemKeys()
	iss := NewIssuer(testConfig, repo, nil)
	c := claimsAt(time.Now())
	if err := iss.Init(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.SignAccessToken(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAccessToken(b *testing.B) {
	repo := newMemKeys()
	iss := NewIssuer(testConfig, repo, nil)
	now := time.Now()
	tok, err := iss.SignAccessToken(context.Background(), claimsAt(now))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iss.ParseAccessToken(context.Background(), tok, now); err != nil {
			b.Fatal(err)
		}
	}
}
