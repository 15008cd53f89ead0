package wire_test

import (
	"context"
	"testing"

	modwire "github.com/iotplatform/enduser-auth/wire"
)

// runModule runs mod as a host does: Run in the background (keys and
// revocations loaded, then every background loop) until the test ends, when
// it is stopped and waited for. It returns once mod has started.
func runModule(tb testing.TB, mod *modwire.Module) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mod.Run(ctx) }()
	select {
	case <-mod.Started():
	case err := <-done:
		cancel()
		tb.Fatalf("module Run: %v", err)
	}
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("module Run after stop: %v", err)
		}
	})
}
