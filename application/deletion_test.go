package application_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func (f *faultyStore) RequestDeletion(ctx context.Context, uid string, due time.Time) (application.PendingDeletion, error) {
	if err := f.fault("RequestDeletion"); err != nil {
		return application.PendingDeletion{}, err
	}
	return f.Store.RequestDeletion(ctx, uid, due)
}

func (f *faultyStore) EraseUser(ctx context.Context, uid string, now time.Time) (application.ErasedUser, bool, error) {
	if err := f.fault("EraseUser"); err != nil {
		return application.ErasedUser{}, false, err
	}
	return f.Store.EraseUser(ctx, uid, now)
}

// listener records the erasures it is told of and fails while failing is set.
type listener struct {
	mu      sync.Mutex
	failing bool
	calls   int
	got     []application.ErasedUser
}

func (l *listener) on(_ context.Context, u application.ErasedUser) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.failing {
		return errors.New("the device module is down")
	}
	l.got = append(l.got, u)
	return nil
}

func (l *listener) erased() []application.ErasedUser {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]application.ErasedUser(nil), l.got...)
}

// deleteAccount asks for the deletion of the logged-in user of res.
func (h *harness) deleteAccount(res application.LoginResult, t domain.DeletionType) application.DeletionScheduled {
	h.t.Helper()
	d, err := h.svc.EndUsers.DeleteAccount(h.ctx, h.verify(res.Tokens.Access.Value), t)
	if err != nil {
		h.t.Fatalf("DeleteAccount(type %d): %v", t, err)
	}
	return d
}

func TestDeletionCoolingOffEndsSessionsAndALoginCancelsIt(t *testing.T) {
	h := newHarness(t)
	first := h.login(signed(appID, "code-alice"))
	second := h.login(signed(appID, "code-alice-again"))
	d := h.deleteAccount(first, domain.DeletionAfterCoolingOff)
	if d.Erased || d.UID != first.UID || !d.DueAt.Equal(start.Add(domain.DefaultDeletionCoolingOff)) {
		t.Fatalf("type 2: %+v; want due in 7 days, not erased", d)
	}
	for _, r := range []application.LoginResult{first, second} {
		_, err := h.svc.EndUsers.Refresh(h.ctx, r.Tokens.Refresh.Value)
		wantKind(t, "refresh after the deletion request", err, domain.KindTokenInvalid)
		_, err = h.svc.Auth.VerifyAccessToken(h.ctx, r.Tokens.Access.Value)
		wantKind(t, "access token after the deletion request", err, domain.KindTokenInvalid)
	}
	// Nothing is erased before the cooling-off ends.
	h.clock.Advance(domain.DefaultDeletionCoolingOff - time.Second)
	if n, err := h.svc.Machinery.EraseDueAccounts(h.ctx); err != nil || n != 0 {
		t.Fatalf("EraseDueAccounts before the end of the cooling-off: %d, %v", n, err)
	}
	// A login of the same person (another official account, same unionid) cancels it.
	back := h.login(signed(app2ID, "code-alice-app2"))
	if !back.DeletionCancelled || back.UID != first.UID || back.Registered {
		t.Fatalf("login during the cooling-off: cancelled=%t uid=%s registered=%t; want cancelled, uid %s",
			back.DeletionCancelled, back.UID, back.Registered, first.UID)
	}
	h.clock.Advance(time.Hour)
	if n, err := h.svc.Machinery.EraseDueAccounts(h.ctx); err != nil || n != 0 {
		t.Fatalf("EraseDueAccounts after the cancellation: %d, %v", n, err)
	}
	if again := h.login(signed(appID, "code-alice")); again.DeletionCancelled || again.UID != first.UID {
		t.Fatalf("the next login: cancelled=%t uid=%s", again.DeletionCancelled, again.UID)
	}
	h.verify(back.Tokens.Access.Value)
}

func TestDeletionErasesAtTheEndOfTheCoolingOffAndTheNextLoginIsANewUser(t *testing.T) {
	h := newHarness(t, func(c *application.Config) { c.DeletionCoolingOff = 48 * time.Hour })
	alice := h.login(signed(appID, "code-alice"))
	bob := h.login(signed(appID, "code-bob"))
	l := &listener{}
	h.svc.Auth.OnUserErased(l.on)
	d := h.deleteAccount(alice, domain.DeletionAfterCoolingOff)
	if !d.DueAt.Equal(start.Add(48 * time.Hour)) {
		t.Fatalf("due %v, want the configured 48h", d.DueAt)
	}
	// A second request never postpones it.
	h.clock.Advance(time.Hour)
	d2, err := h.svc.Operators.DeleteUser(h.ctx, alice.UID, false)
	must(t, err)
	if !d2.DueAt.Equal(d.DueAt) || d2.Erased {
		t.Fatalf("a second type 2 request: %+v; want the first due time", d2)
	}
	h.clock.Set(start.Add(48 * time.Hour))
	n, err := h.svc.Machinery.EraseDueAccounts(h.ctx)
	if err != nil || n != 1 {
		t.Fatalf("EraseDueAccounts at the end of the cooling-off: %d, %v; want 1", n, err)
	}
	if _, err := h.svc.EndUsers.UserInfo(h.ctx, domain.Principal{UID: alice.UID}); !domain.IsKind(err, domain.KindUserNotFound) {
		t.Fatalf("UserInfo of the erased user: %v; want user not found", err)
	}
	if got := l.erased(); len(got) != 0 {
		t.Fatalf("announced before the dispatcher ran: %+v", got)
	}
	if n, err := h.svc.Machinery.DeliverErasures(h.ctx); err != nil || n != 1 {
		t.Fatalf("DeliverErasures: %d, %v; want 1", n, err)
	}
	got := l.erased()
	if len(got) != 1 || got[0].UID != alice.UID || got[0].UserDomain != tenant || !got[0].ErasedAt.Equal(start.Add(48*time.Hour)) {
		t.Fatalf("announced %+v; want the erasure of %s in %s", got, alice.UID, tenant)
	}
	if n, _ := h.svc.Machinery.DeliverErasures(h.ctx); n != 0 {
		t.Fatalf("a delivered erasure is announced again: %d", n)
	}
	again := h.login(signed(app2ID, "code-alice-app2"))
	if !again.Registered || again.UID == alice.UID || again.DeletionCancelled {
		t.Fatalf("login after the erasure: registered=%t uid=%s; want a new user", again.Registered, again.UID)
	}
	if _, err := h.svc.EndUsers.UserInfo(h.ctx, domain.Principal{UID: bob.UID}); err != nil {
		t.Fatalf("another user after the erasure: %v", err) // untouched
	}
}

func TestDeletionTypeOneErasesAtOnce(t *testing.T) {
	h := newHarness(t)
	alice := h.login(signed(appID, "code-alice"))
	d := h.deleteAccount(alice, domain.DeletionNow)
	if !d.Erased || !d.DueAt.Equal(start) {
		t.Fatalf("type 1: %+v; want erased now", d)
	}
	_, err := h.svc.EndUsers.Refresh(h.ctx, alice.Tokens.Refresh.Value)
	wantKind(t, "refresh after type 1", err, domain.KindTokenInvalid)
	_, err = h.svc.Auth.VerifyAccessToken(h.ctx, alice.Tokens.Access.Value)
	wantKind(t, "access token after type 1", err, domain.KindTokenInvalid)
	if next := h.login(signed(appID, "code-alice")); !next.Registered || next.UID == alice.UID {
		t.Fatalf("login after type 1: registered=%t uid=%s", next.Registered, next.UID)
	}
}

func TestDeletionTypeOneShortensACoolingOff(t *testing.T) {
	h := newHarness(t)
	alice := h.login(signed(appID, "code-alice"))
	h.deleteAccount(alice, domain.DeletionAfterCoolingOff)
	d, err := h.svc.Operators.DeleteUser(h.ctx, alice.UID, true)
	must(t, err)
	if !d.Erased {
		t.Fatalf("--now during a cooling-off: %+v; want erased", d)
	}
}

func TestDeletionFailures(t *testing.T) {
	h := newHarness(t)
	alice := h.login(signed(appID, "code-alice"))
	_, err := h.svc.Operators.DeleteUser(h.ctx, " ", false)
	wantKind(t, "DeleteUser without uid", err, domain.KindInvalid)
	_, err = h.svc.Operators.DeleteUser(h.ctx, "no-such-uid", true)
	wantKind(t, "DeleteUser of an unknown uid", err, domain.KindUserNotFound)

	h.store.failOn("RequestDeletion")
	_, err = h.svc.EndUsers.DeleteAccount(h.ctx, h.verify(alice.Tokens.Access.Value), domain.DeletionNow)
	wantInternal(t, "DeleteAccount with the database down", err, domain.KindDeletionFailed)
	h.verify(alice.Tokens.Access.Value) // nothing recorded, nothing ended

	// The request is recorded but the erasure fails: accepted, the job erases it later.
	h2 := newHarness(t)
	bob := h2.login(signed(appID, "code-bob"))
	h2.store.failOn("EraseUser")
	d, err := h2.svc.EndUsers.DeleteAccount(h2.ctx, h2.verify(bob.Tokens.Access.Value), domain.DeletionNow)
	if err != nil || d.Erased {
		t.Fatalf("type 1 whose erasure fails: %+v, %v; want accepted, not erased yet", d, err)
	}
	_, err = h2.svc.Auth.VerifyAccessToken(h2.ctx, bob.Tokens.Access.Value)
	wantKind(t, "the sessions ended all the same", err, domain.KindTokenInvalid)
	h2.store.mu.Lock()
	delete(h2.store.faults, "EraseUser")
	h2.store.mu.Unlock()
	if n, err := h2.svc.Machinery.EraseDueAccounts(h2.ctx); err != nil || n != 1 {
		t.Fatalf("the job erases it: %d, %v", n, err)
	}
	// A token whose user is gone answers 5032, not 5033.
	_, err = h2.svc.EndUsers.DeleteAccount(h2.ctx, domain.Principal{UID: bob.UID}, domain.DeletionNow)
	wantKind(t, "DeleteAccount of an erased user", err, domain.KindTokenInvalid)
}

// TestErasureAnnouncedAfterAFailingListenerAndARestart: a listener that fails
// makes the notice wait; a new service over the same store (a restart) with a
// working listener delivers it once its retry is due.
func TestErasureAnnouncedAfterAFailingListenerAndARestart(t *testing.T) {
	h := newHarness(t)
	alice := h.login(signed(appID, "code-alice"))
	down := &listener{failing: true}
	h.svc.Auth.OnUserErased(down.on)
	h.deleteAccount(alice, domain.DeletionNow)
	if n, err := h.svc.Machinery.DeliverErasures(h.ctx); err != nil || n != 0 {
		t.Fatalf("DeliverErasures with a failing listener: %d, %v; want 0", n, err)
	}
	if down.calls != 1 {
		t.Fatalf("the failing listener was called %d times, want 1", down.calls)
	}
	// The same instance retries only after the backoff.
	if n, _ := h.svc.Machinery.DeliverErasures(h.ctx); n != 0 || down.calls != 1 {
		t.Fatalf("retried before the backoff: %d delivered, %d calls", n, down.calls)
	}

	restarted := h.newService() // the process restarts: nothing held in memory survives
	up := &listener{}
	restarted.Auth.OnUserErased(up.on)
	if n, _ := restarted.Machinery.DeliverErasures(h.ctx); n != 0 {
		t.Fatalf("the restarted service delivered before the retry was due: %d", n)
	}
	h.clock.Advance(time.Second)
	if n, err := restarted.Machinery.DeliverErasures(h.ctx); err != nil || n != 1 {
		t.Fatalf("the restarted service's delivery: %d, %v; want 1", n, err)
	}
	if got := up.erased(); len(got) != 1 || got[0].UID != alice.UID {
		t.Fatalf("announced %+v; want the erasure of %s", got, alice.UID)
	}
}

// TestErasureAnnouncedAfterACrashBeforeTheDispatch: the erasure commits, the
// process dies before any dispatch; the next process announces it.
func TestErasureAnnouncedAfterACrashBeforeTheDispatch(t *testing.T) {
	h := newHarness(t, func(c *application.Config) { c.DeletionCoolingOff = time.Hour })
	alice := h.login(signed(appID, "code-alice"))
	bob := h.login(signed(appID, "code-bob"))
	h.deleteAccount(alice, domain.DeletionAfterCoolingOff)
	h.deleteAccount(bob, domain.DeletionAfterCoolingOff)
	h.clock.Advance(time.Hour)
	if n, err := h.svc.Machinery.EraseDueAccounts(h.ctx); err != nil || n != 2 {
		t.Fatalf("EraseDueAccounts: %d, %v; want 2", n, err)
	}
	// "Crash": h.svc is dropped without DeliverErasures.
	next := h.newService()
	l := &listener{}
	next.Auth.OnUserErased(l.on)
	if n, err := next.Machinery.DeliverErasures(h.ctx); err != nil || n != 2 {
		t.Fatalf("the next process's delivery: %d, %v; want 2", n, err)
	}
	got := map[string]bool{}
	for _, e := range l.erased() {
		got[e.UID] = true
	}
	if !got[alice.UID] || !got[bob.UID] {
		t.Fatalf("announced %v; want %s and %s", got, alice.UID, bob.UID)
	}
}

// TestRunErasesAndAnnounces: Run's erasure loop erases a due account and
// delivers its announcement by itself, within one ErasureInterval (in a
// synctest bubble: the loop's ticker runs on the bubble's clock).
func TestRunErasesAndAnnounces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(c *application.Config) { c.ErasureInterval = 10 * time.Millisecond })
		alice := h.login(signed(appID, "code-alice"))
		l := &listener{}
		h.svc.Auth.OnUserErased(l.on)
		h.deleteAccount(alice, domain.DeletionAfterCoolingOff)
		ctx, cancel := context.WithCancel(h.ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = h.svc.Machinery.Run(ctx) }()
		defer func() { cancel(); <-done }()
		synctest.Wait()
		if got := l.erased(); len(got) != 0 {
			t.Fatalf("announced %+v before the cooling-off ended", got)
		}
		h.clock.Advance(domain.DefaultDeletionCoolingOff)
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		if got := l.erased(); len(got) != 1 || got[0].UID != alice.UID {
			t.Fatalf("one ErasureInterval after the deletion was due: announced %+v", got)
		}
	})
}

// TestErasedUsersTokenStaysRefusedOnAnInstanceStartedAfterTheErasure: the
// erasure deletes the session rows, but the user-scope revocation it wrote
// first is not a session's row, so an instance that starts (and syncs) after
// the erasure still refuses the erased user's last access token, whose
// signature and expiry are fine; another user's token verifies there.
func TestErasedUsersTokenStaysRefusedOnAnInstanceStartedAfterTheErasure(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	bob := h.login(signed(appID, "code-bob"))
	if d := h.deleteAccount(res, domain.DeletionNow); !d.Erased {
		t.Fatalf("type 1: %+v; want erased at once", d)
	}
	h.clock.Advance(time.Second)
	later := h.newService()
	must(t, later.Machinery.SyncRevocations(h.ctx))
	_, err := later.Auth.VerifyAccessToken(h.ctx, res.Tokens.Access.Value)
	wantKind(t, "an erased user's access token on an instance started after the erasure", err, domain.KindTokenInvalid)
	if _, err := later.Auth.VerifyAccessToken(h.ctx, bob.Tokens.Access.Value); err != nil {
		t.Fatalf("another user's token on the later instance: %v", err)
	}
}
