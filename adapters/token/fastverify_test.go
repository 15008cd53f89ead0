package token

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/iotplatform/enduser-auth/domain"
)

// TestFastPathAgreesWithTheLibrary holds parseFast to the library's answers:
// for every token it takes, the same verdict and the same claims; and it
// takes the issuer's own tokens (else it would be dead code).
func TestFastPathAgreesWithTheLibrary(t *testing.T) {
	ctx := context.Background()
	iss, repo, clk := setup(t)
	now := clk.Now()
	own := sign(t, iss, claimsAt(now))
	k := repo.key(t, kidOfToken(t, own))
	other := NewIssuer(Config{AccessTokenTTL: ttl, Leeway: 30 * time.Second, Issuer: "someone-else"}, repo, clk)
	withClaims := func(edit func(jwt.MapClaims)) string {
		c := validMapClaims(now)
		edit(c)
		return signRaw(t, k, c, map[string]any{"kid": k.KID})
	}
	tamper := func(tok string, at int) string {
		b := []byte(tok)
		if b[at] == 'A' {
			b[at] = 'B'
		} else {
			b[at] = 'A'
		}
		return string(b)
	}
	dot1 := strings.IndexByte(own, '.')
	dot2 := strings.LastIndexByte(own, '.')
	tokens := map[string]string{
		"own":                      own,
		"own, via MapClaims":       withClaims(func(jwt.MapClaims) {}),
		"another issuer":           sign(t, other, claimsAt(now)),
		"refresh type":             withClaims(func(c jwt.MapClaims) { c["type"] = "RefreshToken" }),
		"no uid":                   withClaims(func(c jwt.MapClaims) { delete(c, "uid") }),
		"bad sid":                  withClaims(func(c jwt.MapClaims) { c["sid"] = "not-a-uuid" }),
		"no exp":                   withClaims(func(c jwt.MapClaims) { delete(c, "exp") }),
		"no nbf":                   withClaims(func(c jwt.MapClaims) { delete(c, "nbf") }),
		"no iat":                   withClaims(func(c jwt.MapClaims) { delete(c, "iat") }),
		"no iss":                   withClaims(func(c jwt.MapClaims) { delete(c, "iss") }),
		"iat in the future":        withClaims(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() }),
		"fractional exp":           withClaims(func(c jwt.MapClaims) { c["exp"] = float64(now.Add(time.Hour).Unix()) + 0.5 }),
		"exp as a string":          withClaims(func(c jwt.MapClaims) { c["exp"] = "soon" }),
		"extra claim":              withClaims(func(c jwt.MapClaims) { c["admin"] = true }),
		"escaped uid":              withClaims(func(c jwt.MapClaims) { c["uid"] = "<u\"1>" }),
		"non-ASCII uid":            withClaims(func(c jwt.MapClaims) { c["uid"] = "用户-1" }),
		"negative nbf":             withClaims(func(c jwt.MapClaims) { c["nbf"] = -1 }),
		"exp as an object":         withClaims(func(c jwt.MapClaims) { c["exp"] = map[string]int{"s": 1} }),
		"tampered payload":         tamper(own, dot1+5),
		"tampered signature":       tamper(own, dot2+5),
		"signature's last char":    tamper(own, len(own)-1),
		"four segments":            own + ".x",
		"signature cut":            own[:len(own)-2],
		"no signature":             own[:dot2+1],
		"header only":              own[:dot1],
		"other header, same key":   signRaw(t, k, validMapClaims(now), map[string]any{"kid": k.KID, "typ": "at+jwt"}),
		"garbage after the header": own[:dot1] + ".!!!." + own[dot2+1:],
	}
	times := map[string]time.Time{
		"now":                    now,
		"just before nbf-leeway": now.Add(-30*time.Second - time.Second),
		"at nbf-leeway":          now.Add(-30 * time.Second),
		"just before exp+leeway": now.Add(ttl + 29*time.Second),
		"at exp+leeway":          now.Add(ttl + 30*time.Second),
		"a day later":            now.Add(24 * time.Hour),
	}
	took := map[string]bool{}
	for tname, tok := range tokens {
		for when, at := range times {
			set, err := iss.keys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			fast, handled, fastErr := iss.parseFast(set, tok, at)
			lib, libErr := iss.parseWithLibrary(ctx, tok, at)
			if !handled {
				continue
			}
			took[tname] = true
			if (fastErr == nil) != (libErr == nil) || (fastErr != nil && !domain.IsKind(fastErr, domain.KindTokenInvalid)) {
				t.Errorf("%s, %s: fast path says %v, the library %v", tname, when, fastErr, libErr)
				continue
			}
			if fastErr == nil && (fast.UID != lib.UID || fast.UserDomain != lib.UserDomain || fast.AppID != lib.AppID ||
				fast.SessionID != lib.SessionID || fast.TokenID != lib.TokenID || !fast.ExpiresAt.Equal(lib.ExpiresAt) ||
				!fast.IssuedAt.Equal(lib.IssuedAt)) {
				t.Errorf("%s, %s: fast path claims %+v, the library's %+v", tname, when, fast, lib)
			}
		}
	}
	for _, name := range []string{"own", "own, via MapClaims", "another issuer", "refresh type", "no exp", "iat in the future", "tampered payload", "tampered signature", "non-ASCII uid", "negative nbf"} {
		if !took[name] {
			t.Errorf("the fast path did not take the %q token", name)
		}
	}
	for _, name := range []string{"fractional exp", "other header, same key", "four segments", "escaped uid", "extra claim"} {
		if took[name] {
			t.Errorf("the fast path took the %q token, which is not of the issuer's form", name)
		}
	}
}
