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
