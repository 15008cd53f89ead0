package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/iotplatform/enduser-auth/domain"
)

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

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
