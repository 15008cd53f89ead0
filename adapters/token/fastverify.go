package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/iotplatform/enduser-auth/domain"
)

// The fast path verifies the tokens this module signs without the JWT
// library's generic machinery (a header decoded into a map, claims through
// reflection-heavy decoding and validation): a first verification costs
// little more than its Ed25519 signature check. It takes a token only if its
// header segment is byte for byte the header the issuer writes for a held key
// (so the algorithm is EdDSA and the kid that key's), and only if the
// payload has the exact shape the issuer writes (integer times); anything
// else goes to the library's path, which decides as before. Its checks are
// the library's, with the same options: strict base64url, the signature, exp
// and nbf required and iat checked with the leeway, iss, then the module's
// own claims (toDomain). fastverify_test.go holds the two paths to the same
// answers.

var strictB64 = base64.RawURLEncoding.Strict()

// headerFor is the header segment SignAccessToken writes for kid: the
// library marshals its header map, whose keys JSON sorts.
func headerFor(kid string) (string, error) {
	b, err := json.Marshal(map[string]any{"alg": jwt.SigningMethodEdDSA.Alg(), "kid": kid, "typ": "JWT"})
	if err != nil {
		return "", err
	}
	return strictB64.EncodeToString(b), nil
}

// fastClaims is accessClaims with integer times, as the issuer writes them.
type fastClaims struct {
	UID        string `json:"uid"`
	Type       string `json:"type"`
	UserDomain string `json:"userDomain"`
	AppID      string `json:"appId"`
	SID        string `json:"sid"`
	Issuer     string `json:"iss"`
	ID         string `json:"jti"`
	ExpiresAt  *int64 `json:"exp"`
	NotBefore  *int64 `json:"nbf"`
	IssuedAt   *int64 `json:"iat"`
}

// scan reads the flat JSON object the issuer writes (string values without
// escapes, integer times) into fc; anything else makes it report false. It
// parses only payloads a held key signed, i.e. the issuer's own output, so
// it need not be a general JSON parser: reporting false is always safe.
// Values are substrings of payload (one allocation for all of them).
func (fc *fastClaims) scan(payload string) bool {
	p := strings.TrimSpace(payload)
	if len(p) < 2 || p[0] != '{' || p[len(p)-1] != '}' {
		return false
	}
	p = p[1 : len(p)-1]
	for len(p) > 0 {
		key, rest, ok := scanString(p)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return false
		}
		rest = rest[1:]
		if len(rest) > 0 && rest[0] == '"' {
			var v string
			if v, rest, ok = scanString(rest); !ok || !fc.setString(key, v) {
				return false
			}
		} else {
			var n int64
			if n, rest, ok = scanInt(rest); !ok || !fc.setInt(key, n) {
				return false
			}
		}
		if len(rest) > 0 {
			if rest[0] != ',' || len(rest) == 1 {
				return false
			}
			rest = rest[1:]
		}
		p = rest
	}
	return true
}

// setString sets the string claim key to v; false for any other key.
func (fc *fastClaims) setString(key, v string) bool {
	switch key {
	case "uid":
		fc.UID = v
	case "type":
		fc.Type = v
	case "userDomain":
		fc.UserDomain = v
	case "appId":
		fc.AppID = v
	case "sid":
		fc.SID = v
	case "iss":
		fc.Issuer = v
	case "jti":
		fc.ID = v
	default:
		return false
	}
	return true
}

// setInt sets the time claim key to n; false for any other key.
func (fc *fastClaims) setInt(key string, n int64) bool {
	switch key {
	case "exp":
		fc.ExpiresAt = &n
	case "nbf":
		fc.NotBefore = &n
	case "iat":
		fc.IssuedAt = &n
	default:
		return false
	}
	return true
}

// scanInt reads a JSON integer at the start of s.
func scanInt(s string) (n int64, rest string, ok bool) {
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || end == 0 && s[end] == '-') {
		end++
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil {
		return 0, "", false
	}
	return n, s[end:], true
}

// scanString reads a JSON string without escapes at the start of s.
func scanString(s string) (v, rest string, ok bool) {
	if len(s) < 2 || s[0] != '"' {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", "", false
	}
	v = s[1 : 1+end]
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' || v[i] < 0x20 {
			return "", "", false
		}
	}
	return v, s[2+end:], true
}

// Buffers on the stack for a token's pieces (tokens are about 450 bytes;
// longer ones take the library's path).
const (
	fastMaxSigned  = 2048
	fastMaxPayload = 1536
)

// parseFast verifies raw at now if it is a token of the issuer's own form. It
// reports handled false when it is not: the caller then uses the library.
func (i *Issuer) parseFast(set *keySet, raw string, now time.Time) (c domain.AccessClaims, handled bool, err error) {
	header, rest, ok := strings.Cut(raw, ".")
	if !ok {
		return c, false, nil
	}
	k := set.byHeader[header]
	if k == nil {
		return c, false, nil
	}
	payload, sigPart, ok := strings.Cut(rest, ".")
	signedLen := len(header) + 1 + len(payload)
	if !ok || strings.IndexByte(sigPart, '.') >= 0 || len(sigPart) != strictB64.EncodedLen(ed25519.SignatureSize) ||
		signedLen > fastMaxSigned || strictB64.DecodedLen(len(payload)) > fastMaxPayload {
		return c, false, nil
	}
	if !k.verifiesAt(now) {
		return c, true, invalid(errors.New("the key of this kid has stopped verifying"))
	}
	var sigBuf [88]byte
	var sig [ed25519.SignatureSize]byte
	if n, err := strictB64.Decode(sig[:], append(sigBuf[:0], sigPart...)); err != nil || n != len(sig) {
		return c, true, invalid(errors.New("malformed signature"))
	}
	var signed [fastMaxSigned]byte
	if !ed25519.Verify(k.public, append(signed[:0], raw[:signedLen]...), sig[:]) {
		return c, true, invalid(jwt.ErrSignatureInvalid)
	}
	var enc, dec [fastMaxPayload]byte
	n, err := strictB64.Decode(dec[:], append(enc[:0], payload...))
	if err != nil {
		return c, true, invalid(errors.New("malformed payload"))
	}
	var fc fastClaims
	if !fc.scan(string(dec[:n])) {
		// Signed by a held key but not in the shape the issuer writes (say,
		// fractional times or escaped strings): the library decides.
		return c, false, nil
	}
	leeway := i.cfg.Leeway
	switch {
	case fc.ExpiresAt == nil || fc.NotBefore == nil:
		return c, true, invalid(errors.New("exp or nbf missing"))
	case !now.Before(time.Unix(*fc.ExpiresAt, 0).Add(leeway)):
		return c, true, invalid(jwt.ErrTokenExpired)
	case now.Before(time.Unix(*fc.NotBefore, 0).Add(-leeway)):
		return c, true, invalid(jwt.ErrTokenNotValidYet)
	case fc.IssuedAt != nil && now.Before(time.Unix(*fc.IssuedAt, 0).Add(-leeway)):
		return c, true, invalid(jwt.ErrTokenUsedBeforeIssued)
	case fc.Issuer != i.cfg.Issuer:
		return c, true, invalid(jwt.ErrTokenInvalidIssuer)
	}
	ac := accessClaims{UID: fc.UID, Type: fc.Type, UserDomain: fc.UserDomain, AppID: fc.AppID, SID: fc.SID,
		RegisteredClaims: jwt.RegisteredClaims{ID: fc.ID, ExpiresAt: jwt.NewNumericDate(time.Unix(*fc.ExpiresAt, 0))}}
	if fc.IssuedAt != nil {
		ac.IssuedAt = jwt.NewNumericDate(time.Unix(*fc.IssuedAt, 0))
	}
	c, err = ac.toDomain()
	return c, true, err
}

func invalid(err error) error { return domain.Wrap(domain.KindTokenInvalid, err) }
