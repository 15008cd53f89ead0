package application_test

import (
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/memory"
	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
	"github.com/iotplatform/enduser-auth/internal/fakeclock"
)

// unblockInstance is one process of a deployment without Redis: its own
// in-memory limits, the shared store.
type unblockInstance struct {
	svc    application.Facades
	limits *ratelimit.Limits
	audit  *recordingAudit
}

func newUnblockInstance(t *testing.T, store *memory.Store, clock *fakeclock.Clock) unblockInstance {
	t.Helper()
	l, err := ratelimit.New(ratelimit.Settings{Enabled: true, Config: ratelimit.Config{LockoutFailures: 2, LockoutDuration: 20 * time.Minute, IPRate: 1e6, IPBurst: 1e6}},
		clock, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingAudit{}
	svc := application.New(application.DefaultConfig(), application.Deps{Clock: clock, Limiter: l.Limiter, Lockouts: l,
		IPUnblocks: store, Audit: rec})
	return unblockInstance{svc: svc, limits: l, audit: rec}
}

// lock locks the client ip out of userDomain, as the login does (by the
// limiter's key of ip).
func (u unblockInstance) lock(t *testing.T, ip, userDomain string) {
	t.Helper()
	for range 2 {
		u.limits.Limiter.SignatureFailed(t.Context(), application.LimitKey(ip), userDomain)
	}
	if !u.locked(t, ip, userDomain) {
		t.Fatalf("%s in %s must be locked out", ip, userDomain)
	}
}

func (u unblockInstance) locked(t *testing.T, ip, userDomain string) bool {
	t.Helper()
	return !u.limits.Limiter.AdmitLogin(t.Context(), application.LimitKey(ip), userDomain).Allowed // the IP bucket never empties here
}

// TestUnblockIPReachesEveryInstance: UnblockIP stores a request (the
// limiter's key: an IPv6 client's /64) and lifts the caller's lockouts at
// once; another instance lifts its own at its next sync, every user domain,
// once per request (a lockout that starts after it stays); other IPs stay
// locked; requests older than the lockout duration are purged.
func TestUnblockIPReachesEveryInstance(t *testing.T) {
	ctx := t.Context()
	clock := fakeclock.Default()
	store := memory.NewStore()
	cli, a := newUnblockInstance(t, store, clock), newUnblockInstance(t, store, clock)
	if err := a.svc.Machinery.SyncIPUnblocks(ctx); err != nil { // the first sync, before any request
		t.Fatal(err)
	}
	a.lock(t, "192.0.2.7", "C.DM.1.1")
	a.lock(t, "192.0.2.7", "C.DM.1.2")
	a.lock(t, "192.0.2.8", "C.DM.1.1")
	a.lock(t, "2001:db8:1:2::5", "C.DM.1.1")
	cli.lock(t, "192.0.2.7", "C.DM.1.1")

	if _, err := cli.svc.Operators.UnblockIP(ctx, "not-an-ip"); !domain.IsKind(err, domain.KindInvalid) {
		t.Fatalf("UnblockIP of garbage: want KindInvalid, got %v", err)
	}
	res, err := cli.svc.Operators.UnblockIP(ctx, " 192.0.2.7 ")
	key := res.Key
	if err != nil || key != "192.0.2.7" {
		t.Fatalf("UnblockIP = %q, %v", key, err)
	}
	if cli.locked(t, "192.0.2.7", "C.DM.1.1") {
		t.Fatal("the caller's own lockout must be lifted at once")
	}
	ev := cli.audit.take()
	if len(ev) != 1 || ev[0].Event != application.AuditIPUnblocked || ev[0].ClientIP != "192.0.2.7" || ev[0].UserDomain != "" {
		t.Fatalf("audit = %+v, want one ip_unblocked of 192.0.2.7", ev)
	}
	if !a.locked(t, "192.0.2.7", "C.DM.1.1") {
		t.Fatal("another instance lifts nothing before its sync")
	}
	clock.Advance(5 * time.Second)
	if err := a.svc.Machinery.SyncIPUnblocks(ctx); err != nil {
		t.Fatal(err)
	}
	if a.locked(t, "192.0.2.7", "C.DM.1.1") || a.locked(t, "192.0.2.7", "C.DM.1.2") {
		t.Fatal("the sync must lift the IP's lockouts in every user domain")
	}
	if !a.locked(t, "192.0.2.8", "C.DM.1.1") || !a.locked(t, "2001:db8:1:2::5", "C.DM.1.1") {
		t.Fatal("other IPs stay locked out")
	}

	// A lockout after the request is not lifted by the request again.
	a.lock(t, "192.0.2.7", "C.DM.1.1")
	clock.Advance(5 * time.Second)
	if err := a.svc.Machinery.SyncIPUnblocks(ctx); err != nil {
		t.Fatal(err)
	}
	if !a.locked(t, "192.0.2.7", "C.DM.1.1") {
		t.Fatal("a request is applied once: a later lockout stays")
	}

	// IPv6: the /64 the limiter counts by.
	if res, err := cli.svc.Operators.UnblockIP(ctx, "2001:db8:1:2::99"); err != nil || res.Key != "2001:db8:1:2::/64" {
		t.Fatalf("UnblockIP(IPv6) = %q, %v; want its /64", res.Key, err)
	}
	clock.Advance(5 * time.Second)
	if err := a.svc.Machinery.SyncIPUnblocks(ctx); err != nil {
		t.Fatal(err)
	}
	if a.locked(t, "2001:db8:1:2::5", "C.DM.1.1") {
		t.Fatal("an IPv6 unblock lifts the lockouts of its /64")
	}

	// Purge: past the lockout duration (and the minute between purges) the
	// requests are gone.
	if got, _ := store.IPUnblocksAfter(ctx, time.Time{}, 0, 10); len(got) != 2 {
		t.Fatalf("%d requests stored, want 2", len(got))
	}
	clock.Advance(21 * time.Minute)
	if err := a.svc.Machinery.SyncIPUnblocks(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.IPUnblocksAfter(ctx, time.Time{}, 0, 10); len(got) != 0 {
		t.Fatalf("requests older than the lockout duration must be purged, %d left", len(got))
	}
}
