package domain_test

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

var t0 = time.Date(2025, time.April, 16, 8, 0, 0, 0, time.UTC)

func newSession(refreshTTL, absoluteTTL time.Duration) domain.Session {
	return domain.NewSession("uid-1", 7, "C.DM.10271.5", "wx-app-1", t0, refreshTTL, absoluteTTL)
}

// withCounter is s after rotations up to counter.
func withCounter(s domain.Session, counter int64) domain.Session {
	return domain.UnmarshalSessionFromDatabase(s.ID(), s.UserID(), s.UserDomainID(), s.UserDomain(), s.AppID(), s.RefreshKey(),
		counter, s.CreatedAt(), s.ExpiresAt(), s.RefreshExpiresAt(), s.RotatedAt(), s.RevokedAt())
}

func TestNewSession(t *testing.T) {
	s := newSession(30*24*time.Hour, 365*24*time.Hour)
	if s.UserID() != "uid-1" || s.UserDomainID() != 7 || s.UserDomain() != "C.DM.10271.5" || s.AppID() != "wx-app-1" {
		t.Errorf("NewSession = {%s, %d, %s, %s}", s.UserID(), s.UserDomainID(), s.UserDomain(), s.AppID())
	}
	if s.Counter() != 1 || len(s.RefreshKey()) != domain.RefreshKeySize || s.Revoked() || !s.RotatedAt().IsZero() {
		t.Errorf("NewSession: counter %d, key of %d bytes, revoked %t, rotated at %v", s.Counter(), len(s.RefreshKey()), s.Revoked(), s.RotatedAt())
	}
	if !s.CreatedAt().Equal(t0) || !s.ExpiresAt().Equal(t0.Add(365*24*time.Hour)) || !s.RefreshExpiresAt().Equal(t0.Add(30*24*time.Hour)) {
		t.Errorf("NewSession times: created %v, expires %v, refresh expires %v", s.CreatedAt(), s.ExpiresAt(), s.RefreshExpiresAt())
	}
	if other := newSession(time.Hour, time.Hour); other.ID() == s.ID() || string(other.RefreshKey()) == string(s.RefreshKey()) {
		t.Error("two sessions share an id or a refresh key")
	}
	if tok := s.RefreshToken(); !tok.ExpiresAt.Equal(s.RefreshExpiresAt()) || tok.Value == "" {
		t.Errorf("RefreshToken = %+v", tok)
	}
}

func TestAbsoluteLifetimeCapsRefreshExpiry(t *testing.T) {
	s := newSession(30*24*time.Hour, 10*24*time.Hour)
	if !s.RefreshExpiresAt().Equal(t0.Add(10 * 24 * time.Hour)) {
		t.Errorf("first refresh expiry = %v, want the absolute expiry %v", s.RefreshExpiresAt(), s.ExpiresAt())
	}
	if got := s.NextRefreshExpiry(t0.Add(24*time.Hour), 2*time.Hour); !got.Equal(t0.Add(26 * time.Hour)) {
		t.Errorf("NextRefreshExpiry well before the end = %v, want now+refreshTTL", got)
	}
	if got := s.NextRefreshExpiry(t0.Add(9*24*time.Hour), 30*24*time.Hour); !got.Equal(s.ExpiresAt()) {
		t.Errorf("NextRefreshExpiry near the end = %v, want the absolute expiry %v", got, s.ExpiresAt())
	}
}

func TestSessionActive(t *testing.T) {
	s := newSession(time.Hour, 2*time.Hour)
	for _, tt := range []struct {
		name string
		s    domain.Session
		now  time.Time
		want bool
	}{
		{"fresh", s, t0.Add(time.Minute), true},
		{"refresh token expired", s, t0.Add(time.Hour), false},
		{"absolute expiry passed", domain.UnmarshalSessionFromDatabase(s.ID(), s.UserID(), s.UserDomainID(), s.UserDomain(), s.AppID(),
			s.RefreshKey(), 2, t0, t0.Add(2*time.Hour), t0.Add(3*time.Hour), t0.Add(time.Hour), time.Time{}), t0.Add(2 * time.Hour), false},
		{"revoked", domain.UnmarshalSessionFromDatabase(s.ID(), s.UserID(), s.UserDomainID(), s.UserDomain(), s.AppID(),
			s.RefreshKey(), 1, t0, t0.Add(2*time.Hour), t0.Add(time.Hour), time.Time{}, t0.Add(time.Second)), t0.Add(time.Minute), false},
	} {
		if got := tt.s.Active(tt.now); got != tt.want {
			t.Errorf("%s: Active = %t, want %t", tt.name, got, tt.want)
		}
	}
}

func TestRefreshTokenRoundTrip(t *testing.T) {
	s := newSession(time.Hour, 2*time.Hour)
	for _, c := range []int64{1, 2, 1 << 40} {
		tok := withCounter(s, c).RefreshToken().Value
		for _, presented := range []string{tok, "Bearer " + tok, "bearer  " + tok + " "} {
			p, err := domain.ParseRefreshToken(presented)
			if err != nil {
				t.Fatalf("ParseRefreshToken(%q): %v", presented, err)
			}
			if p.SessionID != s.ID() || p.Counter != c {
				t.Errorf("ParseRefreshToken = {%s, %d}, want {%s, %d}", p.SessionID, p.Counter, s.ID(), c)
			}
			if err := s.Verify(p); err != nil {
				t.Errorf("Verify(own token of counter %d) = %v", c, err)
			}
		}
	}
	if withCounter(s, 2).RefreshToken().Value == s.RefreshToken().Value {
		t.Error("tokens of counters 1 and 2 are equal")
	}
}

func TestRefreshTokenTamperedByteIsRejected(t *testing.T) {
	s := newSession(time.Hour, 2*time.Hour)
	raw := decode(t, s.RefreshToken().Value)
	for i := range raw {
		for _, mask := range []byte{0x01, 0x80} {
			b := append([]byte{}, raw...)
			b[i] ^= mask
			p, err := domain.ParseRefreshToken(base64.RawURLEncoding.EncodeToString(b))
			if err == nil {
				err = s.Verify(p)
			}
			if domain.KindOf(err) != domain.KindTokenInvalid {
				t.Errorf("byte %d ^ %#x: error = %v, want kind %s", i, mask, err, domain.KindTokenInvalid)
			}
		}
	}
}

func TestRefreshTokenOfAnotherSessionIsRejected(t *testing.T) {
	s := newSession(time.Hour, 2*time.Hour)
	other := newSession(time.Hour, 2*time.Hour)
	p, err := domain.ParseRefreshToken(other.RefreshToken().Value)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(p); domain.KindOf(err) != domain.KindTokenInvalid {
		t.Errorf("Verify(another session's token) = %v, want kind %s", err, domain.KindTokenInvalid)
	}
	// Same id, another key: a token forged without the session's key.
	forger := domain.UnmarshalSessionFromDatabase(s.ID(), s.UserID(), s.UserDomainID(), s.UserDomain(), s.AppID(), other.RefreshKey(),
		5, s.CreatedAt(), s.ExpiresAt(), s.RefreshExpiresAt(), time.Time{}, time.Time{})
	p, err = domain.ParseRefreshToken(forger.RefreshToken().Value)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(p); domain.KindOf(err) != domain.KindTokenInvalid {
		t.Errorf("Verify(token minted with another key) = %v, want kind %s", err, domain.KindTokenInvalid)
	}
	if err := s.Verify(domain.PresentedRefreshToken{SessionID: s.ID(), Counter: 1}); domain.KindOf(err) != domain.KindTokenInvalid {
		t.Errorf("Verify(hand-built token without bytes) = %v, want kind %s", err, domain.KindTokenInvalid)
	}
}

func TestParseRefreshTokenRejectsGarbage(t *testing.T) {
	s := newSession(time.Hour, 2*time.Hour)
	raw := decode(t, s.RefreshToken().Value)
	enc := base64.RawURLEncoding.EncodeToString
	withCounterBytes := func(c uint64) string {
		b := append([]byte{}, raw...)
		binary.BigEndian.PutUint64(b[17:25], c)
		return enc(b)
	}
	version2 := append([]byte{}, raw...)
	version2[0] = 2
	for name, tok := range map[string]string{
		"empty":            "",
		"bearer only":      "Bearer ",
		"not base64":       "not a token!",
		"padded base64":    base64.URLEncoding.EncodeToString(raw[:56]),
		"standard base64":  base64.StdEncoding.EncodeToString(append(append([]byte{}, raw[:54]...), 0xff, 0xff, 0xff)), // ends in "////"
		"too short":        enc(raw[:len(raw)-1]),
		"too long":         enc(append(append([]byte{}, raw...), 0)),
		"other version":    enc(version2),
		"counter 0":        withCounterBytes(0),
		"counter too big":  withCounterBytes(1<<62 + 1),
		"negative counter": withCounterBytes(1 << 63),
		"a JWT":            "eyJhbGciOiJFZERTQSJ9.eyJ1aWQiOiJ4In0.c2ln",
		"uuid":             s.ID().String(),
		"long garbage":     strings.Repeat("A", 4096),
	} {
		if _, err := domain.ParseRefreshToken(tok); domain.KindOf(err) != domain.KindTokenInvalid {
			t.Errorf("%s: ParseRefreshToken error = %v, want kind %s", name, err, domain.KindTokenInvalid)
		}
	}
}

func TestSessionID(t *testing.T) {
	id := domain.NewSessionID()
	if s := id.String(); len(s) != 36 || s[14] != '7' || !strings.ContainsAny(s[19:20], "89ab") {
		t.Errorf("NewSessionID().String() = %s, want a version-7 UUID", s)
	}
	// Version 7: the first 48 bits are the Unix milliseconds, so that ids
	// sort by creation time.
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	early := domain.NewSession("uid", 1, "C.DM.1.1", "wx-app", t0, time.Hour, time.Hour).ID().String()
	late := domain.NewSession("uid", 1, "C.DM.1.1", "wx-app", t0.Add(time.Millisecond), time.Hour, time.Hour).ID().String()
	if early[:13] != "01941f29-7c00" || early >= late {
		t.Errorf("session ids of %v and 1 ms later: %s, %s; want the time first, in order", t0, early, late)
	}
	back, err := domain.ParseSessionID(id.String())
	if err != nil || back != id {
		t.Errorf("ParseSessionID(String()) = %s, %v; want %s", back, err, id)
	}
	if up, err := domain.ParseSessionID(strings.ToUpper(id.String())); err != nil || up != id {
		t.Errorf("ParseSessionID(upper case) = %s, %v; want %s", up, err, id)
	}
	if domain.NewSessionID() == id {
		t.Error("two NewSessionID calls returned the same id")
	}
	for _, s := range []string{"", "not-a-uuid", strings.Replace(id.String(), "-", "", 1) + "0",
		"zzzzzzzz-zzzz-4zzz-8zzz-zzzzzzzzzzzz", id.String() + "0", strings.ReplaceAll(id.String(), "-", "")} {
		if _, err := domain.ParseSessionID(s); err == nil {
			t.Errorf("ParseSessionID(%q) succeeded", s)
		}
	}
}

func decode(t *testing.T, tok string) []byte {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
