package token

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
	"github.com/iotplatform/enduser-auth/internal/fakeclock"
)

// rotate rotates the signing key through iss and returns the new kid.
func rotate(t *testing.T, iss *Issuer) string {
	t.Helper()
	kid, err := iss.RotateSigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return kid
}

// wantSigner checks the kid of a token iss signs at the clock's now.
func wantSigner(t *testing.T, what string, iss *Issuer, clk *fakeclock.Clock, kid string) {
	t.Helper()
	if got := kidOfToken(t, sign(t, iss, claimsAt(clk.Now()))); got != kid {
		t.Errorf("%s: new tokens carry kid %q, want %q", what, got, kid)
	}
}

// longLived are claims that outlive every key, so that a token stops
// verifying when its key does.
func longLived(now time.Time) domain.AccessClaims {
	c := claimsAt(now)
	c.ExpiresAt = now.Add(24 * time.Hour)
	return c
}

// slack is the verification slack of testConfig.
var slack = testConfig.KeyRefreshInterval + testConfig.Leeway

func TestRotationPublishesTheNewKeyBeforeItSigns(t *testing.T) {
	iss, repo, clk := setup(t)
	delay := testConfig.PublishDelay
	oldKID := kidOfToken(t, sign(t, iss, claimsAt(clk.Now())))

	clk.Advance(10 * time.Minute)
	newKID := rotate(t, iss)
	rotatedAt := clk.Now()
	if got := repo.key(t, oldKID).RetiredAt; !got.Equal(rotatedAt) {
		t.Fatalf("old key retired at %v, want %v", got, rotatedAt)
	}

	// Published at once: listed in the JWKS and accepted.
	if got := jwksKIDs(t, iss); !slices.Equal(got, []string{oldKID, newKID}) {
		t.Errorf("JWKS kids right after the rotation = %v, want the signer %s then the new %s", got, oldKID, newKID)
	}
	forged := signRaw(t, repo.key(t, newKID), validMapClaims(rotatedAt), map[string]any{"kid": newKID})
	wantValid(t, iss, forged, rotatedAt)

	// Not signing yet: the retired key signs until the delay has passed.
	wantSigner(t, "right after the rotation", iss, clk, oldKID)
	clk.Set(rotatedAt.Add(delay - time.Second))
	wantSigner(t, "just before the delay", iss, clk, oldKID)
	lastOld := sign(t, iss, longLived(clk.Now()))
	if kidOfToken(t, lastOld) != oldKID {
		t.Fatal("the last token of the old key has another kid")
	}

	clk.Set(rotatedAt.Add(delay))
	wantSigner(t, "once the delay has passed", iss, clk, newKID)
	if got := jwksKIDs(t, iss); !slices.Equal(got, []string{newKID, oldKID}) {
		t.Errorf("JWKS kids after the delay = %v, want [%s %s]", got, newKID, oldKID)
	}

	// The old key signed until RetiredAt + delay: it verifies for a token
	// lifetime and the slack after that, and not longer.
	until := rotatedAt.Add(delay + ttl + slack)
	clk.Set(until.Add(-time.Second))
	wantValid(t, iss, lastOld, clk.Now())
	if got := jwksKIDs(t, iss); len(got) != 2 {
		t.Errorf("JWKS kids = %v just before the old key's end, want 2", got)
	}
	clk.Set(until)
	wantInvalid(t, iss, lastOld, clk.Now())
	if got := jwksKIDs(t, iss); !slices.Equal(got, []string{newKID}) {
		t.Errorf("JWKS kids = %v after the old key's end, want [%s]", got, newKID)
	}
}

func TestRetiredSignerKeepsItsPrivateKeyOnlyWhileItMaySign(t *testing.T) {
	iss, _, clk := setup(t)
	oldKID := kidOfToken(t, sign(t, iss, claimsAt(clk.Now())))
	rotate(t, iss)
	rotatedAt := clk.Now()
	held := func() *heldKey {
		set, err := iss.keys(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return set.byKID[oldKID]
	}
	if held().private == nil {
		t.Fatal("the retired key that still signs is held without its private key")
	}
	clk.Set(rotatedAt.Add(testConfig.PublishDelay + testConfig.KeyRefreshInterval))
	if k := held(); k == nil || k.private != nil {
		t.Errorf("once it has stopped signing the retired key is held as %+v, want its public key only", k)
	}
}

func TestInstancesSwitchSignerWhenTheDelayHasPassed(t *testing.T) {
	repo := newMemKeys()
	clk := fakeclock.Default()
	a, b := NewIssuer(testConfig, repo, clk), NewIssuer(testConfig, repo, clk)
	oldKID := kidOfToken(t, sign(t, b, claimsAt(clk.Now())))

	clk.Advance(time.Hour)
	newKID := rotate(t, a)
	rotatedAt := clk.Now()
	// An instance that starts now publishes the new key and signs with the
	// old one, like the instance that rotated and the one that has not
	// reloaded yet.
	fresh := NewIssuer(testConfig, repo, clk)
	if got := jwksKIDs(t, fresh); !slices.Contains(got, newKID) || !slices.Contains(got, oldKID) {
		t.Errorf("JWKS of a fresh instance = %v, want both %s and %s", got, oldKID, newKID)
	}
	for name, iss := range map[string]*Issuer{"a": a, "b": b, "fresh": fresh} {
		wantSigner(t, name+" right after the rotation", iss, clk, oldKID)
	}

	// b reloads within the delay, and every instance switches at the same
	// instant without another reload.
	clk.Advance(testConfig.KeyRefreshInterval)
	wantSigner(t, "b after its reload", b, clk, oldKID)
	clk.Set(rotatedAt.Add(testConfig.PublishDelay))
	for name, iss := range map[string]*Issuer{"a": a, "b": b, "fresh": fresh} {
		wantSigner(t, name+" once the delay has passed", iss, clk, newKID)
	}
}

func TestTwoRotationsWithinTheDelay(t *testing.T) {
	iss, repo, clk := setup(t)
	delay := testConfig.PublishDelay
	first := kidOfToken(t, sign(t, iss, claimsAt(clk.Now())))
	clk.Advance(time.Hour)
	second := rotate(t, iss)
	t1 := clk.Now()
	clk.Advance(delay / 4)
	third := rotate(t, iss)
	t2 := clk.Now()

	wantSigner(t, "after the second rotation", iss, clk, first)
	if got := jwksKIDs(t, iss); !slices.Equal(got, []string{first, third, second}) {
		t.Errorf("JWKS kids = %v, want [%s %s %s]", got, first, third, second)
	}
	// Each key signs once it has been published for the delay, until its
	// successor has been.
	clk.Set(t1.Add(delay - time.Second))
	wantSigner(t, "before the second key's delay", iss, clk, first)
	clk.Set(t1.Add(delay))
	wantSigner(t, "after the second key's delay", iss, clk, second)
	clk.Set(t2.Add(delay - time.Second))
	wantSigner(t, "before the third key's delay", iss, clk, second)
	lastOfSecond := sign(t, iss, longLived(clk.Now()))
	clk.Set(t2.Add(delay))
	wantSigner(t, "after the third key's delay", iss, clk, third)

	// The second key, retired at t2, signed until t2 + delay.
	if got := repo.key(t, second).RetiredAt; !got.Equal(t2) {
		t.Fatalf("second key retired at %v, want %v", got, t2)
	}
	until := t2.Add(delay + ttl + slack)
	wantValid(t, iss, lastOfSecond, until.Add(-time.Second))
	wantInvalid(t, iss, lastOfSecond, until)
}

func TestFirstKeySignsAtOnce(t *testing.T) {
	iss, repo, clk := setup(t)
	tok := sign(t, iss, claimsAt(clk.Now()))
	if keys, _ := repo.count(); keys != 1 {
		t.Fatalf("%d keys stored, want 1", keys)
	}
	wantValid(t, iss, tok, clk.Now())
	// A rotation right after it keeps the first key signing: it is the only
	// key that has been published for the delay, or the oldest.
	first := kidOfToken(t, tok)
	rotate(t, iss)
	wantSigner(t, "after a rotation within the delay", iss, clk, first)
}

func TestMalformedPrivateKeyOfARetiredKeyThatMaySignIsAnError(t *testing.T) {
	iss, repo, clk := setup(t)
	retired, _ := newSigningKey(clk.Now().Add(-time.Hour))
	retired.RetiredAt = clk.Now().Add(-time.Second)
	retired.PrivateKey = retired.PrivateKey[:10]
	active, _ := newSigningKey(retired.RetiredAt)
	repo.put(t, retired, active)
	if err := iss.Init(context.Background()); err == nil {
		t.Error("Init accepted the truncated private key of the key that signs")
	}

	// Once the retired key may no longer sign, its private key is not used.
	clk.Advance(testConfig.PublishDelay)
	if err := iss.Init(context.Background()); err != nil {
		t.Errorf("Init after the retired key's signing window: %v", err)
	}
}
