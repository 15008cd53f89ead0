package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// The website QR-code login's state (issue 21): stateless, an HMAC that
// binds the login to the browser that started it. The state endpoint hands
// the browser a state and sets a cookie holding a random nonce; the state is
//
//	hex(version(1) | expiry, Unix seconds (8) | redirect URI digest (8) | mac (16))
//
// where mac is HMAC-SHA-256 (truncated to 16 bytes) under the module's state
// key over the version, the user domain, the appId, the redirect URI's
// digest, SHA-256 of the cookie's nonce and the expiry. 66 hexadecimal
// characters: WeChat hands a state back unchanged when it has at most 128
// characters of [A-Za-z0-9]. Issuing one stores nothing; a login checks it
// against the request's user domain, appId and the cookie's nonce, and then
// claims its digest (single use).

// WebsiteStateTTL is how long a website login's state lives.
const WebsiteStateTTL = 10 * time.Minute

const (
	websiteStateVersion = 1
	websiteStateURILen  = 8
	websiteStateMACLen  = 16
	websiteStateLen     = 1 + 8 + websiteStateURILen + websiteStateMACLen
)

// WebsiteStateLen is the length of a state, in characters.
const WebsiteStateLen = 2 * websiteStateLen

// IssueWebsiteState is the state of a website login started for userDomain's
// website app appID, coming back to redirectURI, by the browser holding
// nonce, valid until expiry (whole seconds).
func IssueWebsiteState(key []byte, userDomain, appID, redirectURI, nonce string, expiry time.Time) string {
	b := make([]byte, 0, websiteStateLen)
	b = append(b, websiteStateVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(expiry.Unix()))
	u := sha256.Sum256([]byte(redirectURI))
	b = append(b, u[:websiteStateURILen]...)
	b = append(b, websiteStateMAC(key, userDomain, appID, b[9:9+websiteStateURILen], nonce, b[1:9])...)
	return hex.EncodeToString(b)
}

// VerifyWebsiteState checks a state presented with userDomain, appID and the
// browser's nonce at now, and returns its expiry. Errors: KindStateInvalid
// (missing, malformed, expired, a wrong HMAC: forged, for another user
// domain or app, or from another browser).
func VerifyWebsiteState(key []byte, state, userDomain, appID, nonce string, now time.Time) (time.Time, error) {
	if state == "" {
		return time.Time{}, Errorf(KindStateInvalid, "state is missing")
	}
	if len(state) != WebsiteStateLen {
		return time.Time{}, Errorf(KindStateInvalid, "state is malformed")
	}
	b, err := hex.DecodeString(state)
	if err != nil || b[0] != websiteStateVersion {
		return time.Time{}, Errorf(KindStateInvalid, "state is malformed")
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(b[1:9])), 0)
	if nonce == "" {
		return time.Time{}, Errorf(KindStateInvalid, "no state cookie: the login was not started by this browser")
	}
	want := websiteStateMAC(key, userDomain, appID, b[9:9+websiteStateURILen], nonce, b[1:9])
	if !hmac.Equal(want, b[9+websiteStateURILen:]) {
		return time.Time{}, Errorf(KindStateInvalid, "state does not verify: forged, for another app, or started by another browser")
	}
	if !now.Before(exp) {
		return time.Time{}, Errorf(KindStateInvalid, "state expired")
	}
	return exp, nil
}

// WebsiteStateDigest is what a login claims to spend a state (single use).
func WebsiteStateDigest(state string) []byte {
	d := sha256.Sum256([]byte("enduser website state\x00" + state))
	return d[:]
}

func websiteStateMAC(key []byte, userDomain, appID string, uriDigest []byte, nonce string, expiry []byte) []byte {
	m := hmac.New(sha256.New, key)
	n := sha256.Sum256([]byte(nonce))
	for _, part := range [][]byte{{websiteStateVersion}, []byte(userDomain), []byte(appID), uriDigest, n[:], expiry} {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(part)))
		m.Write(l[:])
		m.Write(part)
	}
	return m.Sum(nil)[:websiteStateMACLen]
}

// DeriveWebsiteStateKey derives the website states' HMAC key from the
// module's master key (every instance of a deployment derives the same).
func DeriveWebsiteStateKey(masterKey []byte) []byte {
	m := hmac.New(sha256.New, masterKey)
	m.Write([]byte("enduser-auth website login state key v1"))
	return m.Sum(nil)
}
