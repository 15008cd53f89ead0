// Package fakeclock is the tests' one settable clock: an application.Clock
// (Now) that moves only when a test moves it. Safe for concurrent use. It
// imports the standard library only, so any package's tests may use it.
package fakeclock

import (
	"sync"
	"time"
)

// Start is the instant a clock made by Default shows.
var Start = time.Date(2025, 4, 16, 8, 0, 0, 0, time.UTC)

// Clock is a settable clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock showing t.
func New(t time.Time) *Clock { return &Clock{now: t} }

// Default returns a clock showing Start.
func Default() *Clock { return New(Start) }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d (backwards when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
