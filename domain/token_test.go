package domain_test

import (
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

func TestStripBearer(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"abc":              "abc",
		"  abc  ":          "abc",
		"Bearer abc":       "abc",
		"bearer abc":       "abc",
		"BEARER   abc  ":   "abc",
		" Bearer abc":      "abc",
		"Bearerabc":        "Bearerabc",
		"Bearer Bearer x":  "Bearer x",
		"Token abc":        "Token abc",
		"Bearer eyJ.a.b_c": "eyJ.a.b_c",
		"Bearer ":          "",
		" bearer  ":        "",
	} {
		if got := domain.StripBearer(in); got != want {
			t.Errorf("StripBearer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSigningKeyVerifiesUntil(t *testing.T) {
	active := domain.SigningKey{KID: "k1", CreatedAt: t0}
	if active.Retired() || !active.VerifiesUntil(2*time.Hour, time.Minute).IsZero() {
		t.Error("an active key must not be retired nor have an end of verification")
	}
	retired := active
	retired.RetiredAt = t0.Add(time.Hour)
	if !retired.Retired() {
		t.Error("a key with RetiredAt is not retired")
	}
	if got, want := retired.VerifiesUntil(2*time.Hour, time.Minute), t0.Add(3*time.Hour+time.Minute); !got.Equal(want) {
		t.Errorf("VerifiesUntil = %v, want %v", got, want)
	}
}
