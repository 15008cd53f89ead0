package application

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
	"github.com/iotplatform/enduser-auth/internal/fakeclock"
)

// stubPhoneAPI hands out tokens like stable_token: the current one until its
// last 5 minutes (unless stuck), a new one when forced. Calls block on gate
// (when set) so that concurrent callers pile up.
type stubPhoneAPI struct {
	clock *fakeclock.Clock
	gate  chan struct{}

	mu              sync.Mutex
	cur             string
	exp             time.Time
	n, plain, force int
}

func (a *stubPhoneAPI) StableToken(_ context.Context, _, _ string, force bool) (AppAccessToken, error) {
	if a.gate != nil {
		<-a.gate
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	if force {
		a.force++
	} else {
		a.plain++
	}
	if force || a.cur == "" || !now.Before(a.exp.Add(-5*time.Minute)) {
		a.n++
		a.cur, a.exp = "SECRET-TOKEN-"+strconv.Itoa(a.n), now.Add(2*time.Hour)
	}
	return AppAccessToken{Value: a.cur, ExpiresIn: a.exp.Sub(now)}, nil
}

func (a *stubPhoneAPI) PhoneNumber(context.Context, string, string) (WeChatPhone, error) {
	return WeChatPhone{}, nil
}

func (a *stubPhoneAPI) counts() (int, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.plain, a.force
}

type stubForced struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (f *stubForced) ClaimForcedRefresh(_ context.Context, appID string, now time.Time, every time.Duration) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.last[appID]; ok && l.After(now.Add(-every)) {
		return false, nil
	}
	f.last[appID] = now
	return true, nil
}

func newTestTokens(t *testing.T) (*appTokens, *stubPhoneAPI, *fakeclock.Clock, *bytes.Buffer, domain.WeChatApp) {
	t.Helper()
	clock := fakeclock.Default()
	api := &stubPhoneAPI{clock: clock}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	app, err := domain.NewMiniProgram(1, "wxmini", "secret")
	if err != nil {
		t.Fatal(err)
	}
	return newAppTokens(api, &stubForced{last: map[string]time.Time{}}, clock, log), api, clock, &logs, app
}

// TestAppTokensCachedAndRenewedInTheLastFiveMinutes: one fetch while the
// token has more than 5 minutes left; a new one in its last 5.
func TestAppTokensCachedAndRenewedInTheLastFiveMinutes(t *testing.T) {
	tokens, api, clock, _, app := newTestTokens(t)
	ctx := context.Background()
	first, err := tokens.get(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2*time.Hour - 5*time.Minute - time.Second)
	if v, _ := tokens.get(ctx, app); v != first {
		t.Fatalf("token renewed with more than 5 minutes left")
	}
	if plain, _ := api.counts(); plain != 1 {
		t.Fatalf("%d fetches, want 1 (cached)", plain)
	}
	clock.Advance(time.Second)
	if v, _ := tokens.get(ctx, app); v == first {
		t.Fatalf("token not renewed in its last 5 minutes")
	}
	if plain, force := api.counts(); plain != 2 || force != 0 {
		t.Fatalf("%d plain and %d forced fetches, want 2 and 0", plain, force)
	}
}

// TestAppTokensSingleFlight: concurrent callers of an app share one fetch.
func TestAppTokensSingleFlight(t *testing.T) {
	tokens, api, _, _, app := newTestTokens(t)
	api.gate = make(chan struct{})
	const n = 16
	var wg sync.WaitGroup
	got := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = tokens.get(context.Background(), app)
		}()
	}
	// Let the one fetch through; the others find its token cached (a second
	// fetch would wait on the gate forever, closed only after).
	api.gate <- struct{}{}
	close(api.gate)
	wg.Wait()
	if plain, _ := api.counts(); plain != 1 {
		t.Fatalf("%d concurrent callers made %d fetches, want 1", n, plain)
	}
	for _, v := range got {
		if v != got[0] || v == "" {
			t.Fatalf("callers got different tokens: %v", got)
		}
	}
}

// TestAppTokensRejected: a token WeChat refused is replaced by asking
// without force; forced only when WeChat hands the refused one back, at most
// once per ForcedRefreshEvery; the token never in a log.
func TestAppTokensRejected(t *testing.T) {
	tokens, api, clock, logs, app := newTestTokens(t)
	ctx := context.Background()
	first, _ := tokens.get(ctx, app)
	// WeChat hands back the refused token: forced.
	second, err := tokens.rejected(ctx, app, first)
	if err != nil || second == first {
		t.Fatalf("rejected = %q, %v; want a new token", second, err)
	}
	if plain, force := api.counts(); plain != 2 || force != 1 {
		t.Fatalf("%d plain and %d forced, want 2 and 1", plain, force)
	}
	// Another caller reports the old token refused: the cached new one is taken.
	if v, err := tokens.rejected(ctx, app, first); err != nil || v != second {
		t.Fatalf("rejected(old) = %q, %v; want the cached new token", v, err)
	}
	// The new one refused too, within 10 minutes: no second force.
	clock.Advance(9 * time.Minute)
	if _, err := tokens.rejected(ctx, app, second); !domain.IsKind(err, domain.KindAppTokenFailed) {
		t.Fatalf("a second forced refresh within 10 minutes: %v, want KindAppTokenFailed", err)
	}
	if _, force := api.counts(); force != 1 {
		t.Fatalf("%d forced, want 1", force)
	}
	clock.Advance(time.Minute)
	if v, err := tokens.rejected(ctx, app, second); err != nil || v == second {
		t.Fatalf("a forced refresh 10 minutes later: %q, %v", v, err)
	}
	if _, force := api.counts(); force != 2 {
		t.Fatalf("%d forced, want 2", force)
	}
	if !strings.Contains(logs.String(), "forcing a refresh") {
		t.Fatalf("no log line: the check below would prove nothing: %s", logs.String())
	}
	if strings.Contains(logs.String(), "SECRET-TOKEN") {
		t.Fatalf("a token is logged: %s", logs.String())
	}
}
