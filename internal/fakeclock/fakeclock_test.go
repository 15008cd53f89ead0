package fakeclock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/internal/fakeclock"
)

var _ application.Clock = (*fakeclock.Clock)(nil)

func TestClockMovesOnlyWhenMoved(t *testing.T) {
	c := fakeclock.Default()
	if !c.Now().Equal(fakeclock.Start) || !c.Now().Equal(c.Now()) {
		t.Fatalf("a new clock shows %v", c.Now())
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { c.Advance(time.Second) })
	}
	wg.Wait()
	if got := c.Now().Sub(fakeclock.Start); got != 8*time.Second {
		t.Fatalf("8 concurrent advances of 1s moved it %v", got)
	}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Set(at)
	c.Advance(-time.Minute)
	if !c.Now().Equal(at.Add(-time.Minute)) {
		t.Fatalf("Set then Advance(-1m): %v", c.Now())
	}
}
