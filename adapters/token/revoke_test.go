package token

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// Revoking the signer: its tokens stop verifying at once here and at the
// other instance's reload, it leaves the JWKS, and the replacement signs at
// once although the publish delay is 2 minutes.
func TestRevokeTheSigner(t *testing.T) {
	ctx := context.Background()
	a, repo, clk := setup(t)
	b := NewIssuer(testConfig, repo, clk)
	old := sign(t, a, claimsAt(clk.Now()))
	oldKID := kidOfToken(t, old)
	wantValid(t, b, old, clk.Now()) // b holds the key (and its fast path)

	clk.Advance(time.Second)
	signer, err := a.RevokeSigningKey(ctx, oldKID)
	if err != nil {
		t.Fatal(err)
	}
	if signer == oldKID || signer == "" {
		t.Fatalf("the signer after the revocation is %q", signer)
	}
	wantInvalid(t, a, old, clk.Now())
	fresh := sign(t, a, claimsAt(clk.Now()))
	if got := kidOfToken(t, fresh); got != signer {
		t.Fatalf("a signs with %q right after the revocation, want the replacement %q (no publish delay)", got, signer)
	}
	if kids := jwksKIDs(t, a); slices.Contains(kids, oldKID) || !slices.Contains(kids, signer) {
		t.Fatalf("JWKS after the revocation = %v", kids)
	}
	// b still holds the old key until it reloads: the revocation sync's reload.
	wantValid(t, b, old, clk.Now())
	removed, err := b.ReloadSigningKeys(ctx)
	if err != nil || !removed {
		t.Fatalf("ReloadSigningKeys = %v, %v; want removed", removed, err)
	}
	wantInvalid(t, b, old, clk.Now())
	wantValid(t, b, fresh, clk.Now())
	if got := kidOfToken(t, sign(t, b, claimsAt(clk.Now()))); got != signer {
		t.Fatalf("b signs with %q, want %q", got, signer)
	}
	if removed, err := b.ReloadSigningKeys(ctx); err != nil || removed {
		t.Fatalf("a second reload = %v, %v; want nothing removed", removed, err)
	}
	// An unknown kid, or the revoked one again, is KindNotFound.
	for _, kid := range []string{"no-such-kid", oldKID} {
		if _, err := a.RevokeSigningKey(ctx, kid); !domain.IsKind(err, domain.KindNotFound) {
			t.Fatalf("revoking %q: %v", kid, err)
		}
	}
}

// Revoking a retired key that still has live tokens leaves the signer as it is.
func TestRevokeARetiredKey(t *testing.T) {
	ctx := context.Background()
	iss, _, clk := setupWith(t, noDelayConfig)
	old := sign(t, iss, claimsAt(clk.Now()))
	clk.Advance(time.Second)
	next, err := iss.RotateSigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantValid(t, iss, old, clk.Now())
	signer, err := iss.RevokeSigningKey(ctx, kidOfToken(t, old))
	if err != nil || signer != next {
		t.Fatalf("RevokeSigningKey = %q, %v; want the signer %q unchanged", signer, err, next)
	}
	wantInvalid(t, iss, old, clk.Now())
	if kids := jwksKIDs(t, iss); !slices.Equal(kids, []string{next}) {
		t.Fatalf("JWKS = %v, want [%s]", kids, next)
	}
}

// Revoking the retired key that still signs (its successor is in its
// publish delay) makes the successor sign at once.
func TestRevokeTheRetiredSignerDuringThePublishDelay(t *testing.T) {
	ctx := context.Background()
	iss, _, clk := setup(t)
	old := sign(t, iss, claimsAt(clk.Now()))
	clk.Advance(time.Hour)
	next, err := iss.RotateSigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := kidOfToken(t, sign(t, iss, claimsAt(clk.Now()))); got != kidOfToken(t, old) {
		t.Fatalf("during the publish delay the old key signs, got %q", got)
	}
	signer, err := iss.RevokeSigningKey(ctx, kidOfToken(t, old))
	if err != nil || signer != next {
		t.Fatalf("RevokeSigningKey = %q, %v; want %q", signer, err, next)
	}
	if got := kidOfToken(t, sign(t, iss, claimsAt(clk.Now()))); got != next {
		t.Fatalf("after revoking the old signer %q signs, want %q", got, next)
	}
}
