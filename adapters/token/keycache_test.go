package token

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// TestADueRefreshIsDoneOnce: when the keys are due, many concurrent callers
// make exactly one load; the others go on with the held keys, and all sign.
func TestADueRefreshIsDoneOnce(t *testing.T) {
	iss, repo, clk := setup(t)
	sign(t, iss, claimsAt(clk.Now()))
	_, before := repo.count()
	clk.Advance(testConfig.KeyRefreshInterval)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := iss.SignAccessToken(context.Background(), claimsAt(clk.Now())); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, after := repo.count(); after != before+1 {
		t.Errorf("loads went from %d to %d with 50 callers of due keys, want exactly one more", before, after)
	}
}

// TestAFailedRefreshIsRetriedAfterTheRetryInterval: the claim of a failed
// refresh is its retry time; meanwhile nobody reloads.
func TestAFailedRefreshIsRetriedAfterTheRetryInterval(t *testing.T) {
	iss, repo, clk := setup(t)
	sign(t, iss, claimsAt(clk.Now()))
	clk.Advance(testConfig.KeyRefreshInterval)
	repo.setFail(errors.New("store down"))
	sign(t, iss, claimsAt(clk.Now())) // the held keys sign
	_, failed := repo.count()
	sign(t, iss, claimsAt(clk.Now()))
	if _, n := repo.count(); n != failed {
		t.Errorf("loads went from %d to %d before the retry interval, want none", failed, n)
	}
	repo.setFail(nil)
	clk.Advance(refreshRetryInterval)
	sign(t, iss, claimsAt(clk.Now()))
	if _, n := repo.count(); n != failed+1 {
		t.Errorf("loads went from %d to %d after the retry interval, want one more", failed, n)
	}
}

// TestKeysUnderConcurrentRotationsAndReloads: signing and verifying go on
// while other goroutines rotate, reload (the revocation sync) and make the
// keys due; every token signed verifies on the same issuer (a rotated-in key
// is published at once, its predecessor verifies on), and there is no race
// (go test -race).
func TestKeysUnderConcurrentRotationsAndReloads(t *testing.T) {
	iss, _, clk := setup(t)
	now := clk.Now()
	sign(t, iss, claimsAt(now))
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				tok, err := iss.SignAccessToken(ctx, claimsAt(now))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := iss.ParseAccessToken(ctx, tok, now); err != nil {
					t.Errorf("a token signed while keys change does not verify: %v", err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 10 {
			if _, err := iss.RotateSigningKey(ctx); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Go(func() {
		for range 5 {
			clk.Advance(testConfig.KeyRefreshInterval) // the held keys are due
		}
	})
	wg.Go(func() {
		for range 20 {
			if _, err := iss.ReloadSigningKeys(ctx); err != nil {
				t.Error(err)
			}
			if _, err := iss.JWKS(ctx); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
}
