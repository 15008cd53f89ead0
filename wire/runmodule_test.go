package wire_test

import (
	"context"
	"testing"

	modwire "github.com/iotplatform/enduser-auth/wire"
)

// runModule starts mod as a host does (keys and revocations loaded, then
// every background loop) until the test ends, when it is stopped. It returns
// once mod has started.
func runModule(tb testing.TB, mod *modwire.Module) {
	tb.Helper()
	if err := mod.Start(context.Background()); err != nil {
		tb.Fatalf("module Start: %v", err)
	}
	tb.Cleanup(func() {
		if err := mod.Stop(context.Background()); err != nil {
			tb.Errorf("module Stop: %v", err)
		}
	})
}
