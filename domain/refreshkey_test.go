package domain_test

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

func newSessionV2(mk domain.RefreshMasterKey) domain.Session {
	return domain.NewSessionV2("uid-1", 7, "C.DM.10271.5", "wx-app-1", t0, time.Hour, 2*time.Hour, mk)
}

// stored is s as a store reads it back: what RefreshKey says to store.
func stored(s domain.Session, counter int64) domain.Session {
	return domain.UnmarshalSessionFromDatabase(s.ID(), s.UserID(), s.UserDomainID(), s.UserDomain(), s.AppID(), s.RefreshKey(),
		counter, s.CreatedAt(), s.ExpiresAt(), s.RefreshExpiresAt(), s.RotatedAt(), s.RevokedAt())
}

func TestNewSessionV2(t *testing.T) {
	mk := domain.NewRefreshMasterKey(3, t0)
	s := newSessionV2(mk)
	if s.TokenVersion() != domain.RefreshTokenV2 || s.MasterKeyID() != 3 || s.RefreshKey() != nil {
		t.Errorf("NewSessionV2: version %d, master key %d, key to store %x; want 2, 3, nothing", s.TokenVersion(), s.MasterKeyID(), s.RefreshKey())
	}
	if s.Counter() != 1 || !s.RefreshExpiresAt().Equal(t0.Add(time.Hour)) || !s.ExpiresAt().Equal(t0.Add(2*time.Hour)) {
		t.Errorf("NewSessionV2: counter %d, refresh expires %v, expires %v", s.Counter(), s.RefreshExpiresAt(), s.ExpiresAt())
	}
	p, err := domain.ParseRefreshToken(s.RefreshToken().Value)
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != domain.RefreshTokenV2 || p.MasterKeyID != 3 || p.SessionID != s.ID() || p.Counter != 1 {
		t.Errorf("ParseRefreshToken(v2) = %+v", p)
	}
	if err := s.Verify(p); err != nil {
		t.Errorf("Session.Verify(own v2 token) = %v", err)
	}
	if err := mk.Verify(p); err != nil {
		t.Errorf("RefreshMasterKey.Verify(v2 token) = %v", err)
	}
	if v1 := newSession(time.Hour, 2*time.Hour); v1.TokenVersion() != domain.RefreshTokenV1 || v1.MasterKeyID() != 0 {
		t.Errorf("NewSession: version %d, master key %d; want 1, 0", v1.TokenVersion(), v1.MasterKeyID())
	}
}

// A version-2 session read back from storage has no key until it is given
// its master key; then it mints exactly the tokens it minted before, as
// another instance holding the same master key does.
func TestSessionV2StoredAndRederived(t *testing.T) {
	mk := domain.NewRefreshMasterKey(1, t0)
	s := newSessionV2(mk)
	back := stored(s, 1)
	if back.TokenVersion() != domain.RefreshTokenV2 || back.RefreshToken() != (domain.Token{}) {
		t.Fatalf("stored v2 session without key: version %d, token %+v; want 2 and no token", back.TokenVersion(), back.RefreshToken())
	}
	p, _ := domain.ParseRefreshToken(s.RefreshToken().Value)
	if err := back.Verify(p); domain.KindOf(err) != domain.KindTokenInvalid {
		t.Errorf("Verify without the key = %v, want kind %s", err, domain.KindTokenInvalid)
	}
	again, err := back.WithMasterKey(mk)
	if err != nil {
		t.Fatal(err)
	}
	if again.RefreshToken() != s.RefreshToken() {
		t.Errorf("re-derived token %q, want %q", again.RefreshToken().Value, s.RefreshToken().Value)
	}
	// Another instance, holding the same master key (as loaded from the store).
	same, err := domain.UnmarshalRefreshMasterKeyFromDatabase(mk.ID(), bytes.Clone(mk.Secret()), mk.CreatedAt())
	if err != nil {
		t.Fatal(err)
	}
	other, _ := stored(s, 2).WithMasterKey(same)
	child, _ := withCounter(s, 2).WithMasterKey(mk)
	if other.RefreshToken().Value != child.RefreshToken().Value || child.RefreshToken().Value == "" || child.RefreshToken() == s.RefreshToken() {
		t.Errorf("the other instance's child %q, want %q (not the parent %q)", other.RefreshToken().Value, child.RefreshToken().Value, s.RefreshToken().Value)
	}
	if err := other.Verify(p); err != nil {
		t.Errorf("the other instance rejects the parent: %v", err)
	}
	if _, err := newSession(time.Hour, time.Hour).WithMasterKey(mk); domain.KindOf(err) != domain.KindTokenInvalid {
		t.Errorf("WithMasterKey on a v1 session = %v, want kind %s", err, domain.KindTokenInvalid)
	}
}

func TestRefreshTokenV2Rejections(t *testing.T) {
	mk := domain.NewRefreshMasterKey(1, t0)
	s := newSessionV2(mk)
	tok := s.RefreshToken().Value
	p, err := domain.ParseRefreshToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	otherSecret := domain.NewRefreshMasterKey(1, t0) // same id, another secret
	otherID, _ := domain.UnmarshalRefreshMasterKeyFromDatabase(2, mk.Secret(), t0)
	for name, err := range map[string]error{
		"another secret under the same id": otherSecret.Verify(p),
		"the same secret under another id": otherID.Verify(p),
		"the zero master key":              domain.RefreshMasterKey{}.Verify(p),
	} {
		if domain.KindOf(err) != domain.KindTokenInvalid {
			t.Errorf("%s: Verify = %v, want kind %s", name, err, domain.KindTokenInvalid)
		}
	}
	// A session of another master key, and a v1 session of the same id, reject it.
	if rekeyed, _ := stored(s, 1).WithMasterKey(otherSecret); rekeyed.Verify(p) == nil {
		t.Error("a session derived from another master key accepts the token")
	}
	v1 := newSession(time.Hour, 2*time.Hour)
	v1SameID := domain.UnmarshalSessionFromDatabase(s.ID(), "uid-1", 7, "C.DM.10271.5", "wx-app-1", v1.RefreshKey(), 1, t0,
		t0.Add(2*time.Hour), t0.Add(time.Hour), time.Time{}, time.Time{})
	if err := v1SameID.Verify(p); domain.KindOf(err) != domain.KindTokenInvalid {
		t.Errorf("v1 session verifies a v2 token: %v", err)
	}
	pv1, _ := domain.ParseRefreshToken(v1.RefreshToken().Value)
	if err := mk.Verify(pv1); domain.KindOf(err) != domain.KindTokenInvalid {
		t.Errorf("master key verifies a v1 token: %v", err)
	}
	if err := s.Verify(pv1); domain.KindOf(err) != domain.KindTokenInvalid {
		t.Errorf("v2 session verifies a v1 token: %v", err)
	}
	// Every flipped bit is refused by the parser or by both verifiers.
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range raw {
		for _, mask := range []byte{0x01, 0x80} {
			b := bytes.Clone(raw)
			b[i] ^= mask
			q, err := domain.ParseRefreshToken(base64.RawURLEncoding.EncodeToString(b))
			if err != nil {
				continue
			}
			if mk.Verify(q) == nil || s.Verify(q) == nil {
				t.Errorf("byte %d ^ %#x: a tampered v2 token verifies", i, mask)
			}
		}
	}
	for name, b := range map[string][]byte{
		"v2 body, version 1": append([]byte{1}, raw[1:]...),
		"v2, one byte short": raw[:len(raw)-1],
		"v2, one byte more":  append(bytes.Clone(raw), 0),
		"version 3":          append([]byte{3}, raw[1:]...),
	} {
		if _, err := domain.ParseRefreshToken(base64.RawURLEncoding.EncodeToString(b)); domain.KindOf(err) != domain.KindTokenInvalid {
			t.Errorf("%s: ParseRefreshToken error = %v, want kind %s", name, err, domain.KindTokenInvalid)
		}
	}
}

func TestRefreshMasterKeys(t *testing.T) {
	a, b := domain.NewRefreshMasterKey(1, t0), domain.NewRefreshMasterKey(1, t0)
	if len(a.Secret()) != domain.RefreshMasterKeySize || bytes.Equal(a.Secret(), b.Secret()) {
		t.Errorf("NewRefreshMasterKey: %d-byte secret, two equal: %t", len(a.Secret()), bytes.Equal(a.Secret(), b.Secret()))
	}
	// Two sessions under one master key get different keys: one's token does not verify as the other's.
	s1, s2 := newSessionV2(a), newSessionV2(a)
	p1, _ := domain.ParseRefreshToken(s1.RefreshToken().Value)
	forged := p1
	forged.SessionID = s2.ID()
	if s2.Verify(forged) == nil || a.Verify(forged) == nil {
		t.Error("a token of one session verifies for another session of the same master key")
	}
	for _, bad := range []struct {
		id     uint32
		secret []byte
	}{{0, a.Secret()}, {1, a.Secret()[:31]}, {1, nil}} {
		if _, err := domain.UnmarshalRefreshMasterKeyFromDatabase(bad.id, bad.secret, t0); err == nil {
			t.Errorf("UnmarshalRefreshMasterKeyFromDatabase(%d, %d bytes) succeeded", bad.id, len(bad.secret))
		}
	}
}

// The session key is HKDF-SHA-256(secret, no salt, info || session id), as
// documented: computed here with the one-shot hkdf.Key, a token minted with
// it verifies, and one minted with a key of another info does not.
func TestSessionKeyIsHKDFOfTheMasterKey(t *testing.T) {
	mk := domain.NewRefreshMasterKey(5, t0)
	s := newSessionV2(mk)
	sid := s.ID()
	for name, info := range map[string]string{
		"documented":   "enduser-auth refresh token v2 session key\x00" + string(sid[:]),
		"without info": string(sid[:]),
	} {
		key, err := hkdf.Key(sha256.New, mk.Secret(), nil, info, domain.RefreshKeySize)
		if err != nil {
			t.Fatal(err)
		}
		m := hmac.New(sha256.New, key)
		raw, _ := base64.RawURLEncoding.DecodeString(s.RefreshToken().Value)
		m.Write(raw[:len(raw)-sha256.Size])
		got := hmac.Equal(m.Sum(nil), raw[len(raw)-sha256.Size:])
		if want := name == "documented"; got != want {
			t.Errorf("%s info: the token's HMAC matches: %t, want %t", name, got, want)
		}
	}
}
