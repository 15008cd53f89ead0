package application_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func TestRefreshRotates(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	h.clock.Advance(time.Hour)
	p2 := h.refresh(res.Tokens.Refresh.Value)
	if p2.Refresh.Value == res.Tokens.Refresh.Value {
		t.Fatal("rotation returned the presented refresh token")
	}
	if got, want := p2.Refresh.ExpiresAt, start.Add(time.Hour+30*24*time.Hour); !got.Equal(want) {
		t.Errorf("child refresh token expires at %v, want %v", got, want)
	}
	if got, want := p2.Access.ExpiresAt, start.Add(3*time.Hour); !got.Equal(want) {
		t.Errorf("new access token expires at %v, want %v", got, want)
	}
	if p := h.verify(p2.Access.Value); p.UID != res.UID || p.AppID != appID {
		t.Errorf("refreshed principal = %+v, want uid %s through %s", p, res.UID, appID)
	}
	h.clock.Advance(time.Hour)
	p3 := h.refresh("Bearer " + p2.Refresh.Value)
	if p3.Refresh.Value == p2.Refresh.Value || p3.Refresh.Value == res.Tokens.Refresh.Value {
		t.Error("the second rotation returned an earlier token")
	}
}

func TestRefreshReuseWithinGraceReturnsTheSameChild(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	h.clock.Advance(time.Minute)
	child := h.refresh(res.Tokens.Refresh.Value)
	h.clock.Advance(h.cfg.RefreshReuseGrace)
	again := h.refresh(res.Tokens.Refresh.Value)
	if again.Refresh != child.Refresh {
		t.Errorf("reuse within the grace window returned %+v, want the identical child %+v", again.Refresh, child.Refresh)
	}
	h.verify(again.Access.Value)
	h.verify(child.Access.Value)
	h.refresh(child.Refresh.Value) // the child still works
}

func TestConcurrentRefreshesGetOneChild(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	var (
		mu       sync.Mutex
		children = map[string]bool{}
		wg       sync.WaitGroup
	)
	for range 10 {
		wg.Go(func() {
			pair, err := h.svc.EndUsers.Refresh(h.ctx, res.Tokens.Refresh.Value)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("concurrent Refresh: %v", err)
				return
			}
			children[pair.Refresh.Value] = true
		})
	}
	wg.Wait()
	if len(children) != 1 {
		t.Errorf("10 concurrent refreshes with one token returned %d different children, want 1", len(children))
	}
}

func TestRefreshReuseAfterGraceRevokesTheSession(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	other := h.login(signed(appID, "code-alice-again")) // another device of the same user
	h.clock.Advance(time.Minute)
	child := h.refresh(res.Tokens.Refresh.Value)
	h.clock.Advance(h.cfg.RefreshReuseGrace + time.Second)

	_, err := h.svc.EndUsers.Refresh(h.ctx, res.Tokens.Refresh.Value)
	wantKind(t, "reuse after the grace window", err, domain.KindTokenInvalid)
	_, err = h.svc.EndUsers.Refresh(h.ctx, child.Refresh.Value)
	wantKind(t, "the child after a detected reuse", err, domain.KindTokenInvalid)
	_, err = h.svc.Auth.VerifyAccessToken(h.ctx, child.Access.Value)
	wantKind(t, "the child's access token after a detected reuse", err, domain.KindTokenInvalid)
	_, err = h.svc.Auth.VerifyAccessToken(h.ctx, res.Tokens.Access.Value)
	wantKind(t, "the first access token after a detected reuse", err, domain.KindTokenInvalid)

	h.verify(other.Tokens.Access.Value)
	h.refresh(other.Tokens.Refresh.Value)
}

func TestRefreshReuseOfAGrandparentRevokesEvenWithinGrace(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	child := h.refresh(res.Tokens.Refresh.Value)
	grandchild := h.refresh(child.Refresh.Value)
	_, err := h.svc.EndUsers.Refresh(h.ctx, res.Tokens.Refresh.Value)
	wantKind(t, "reuse of a token two rotations old", err, domain.KindTokenInvalid)
	_, err = h.svc.EndUsers.Refresh(h.ctx, grandchild.Refresh.Value)
	wantKind(t, "the newest token after a detected reuse", err, domain.KindTokenInvalid)
}

func TestSessionAbsoluteLifetimeCapsRefreshExpiry(t *testing.T) {
	h := newHarness(t, func(c *application.Config) {
		c.RefreshTokenTTL = 30 * 24 * time.Hour
		c.SessionMaxLifetime = 45 * 24 * time.Hour
	})
	end := start.Add(45 * 24 * time.Hour)
	res := h.login(signed(appID, "code-alice"))
	h.clock.Advance(20 * 24 * time.Hour)
	p2 := h.refresh(res.Tokens.Refresh.Value)
	if !p2.Refresh.ExpiresAt.Equal(end) {
		t.Errorf("refresh token rotated on day 20 expires at %v, want the session's end %v", p2.Refresh.ExpiresAt, end)
	}
	h.clock.Set(end.Add(-time.Second))
	p3 := h.refresh(p2.Refresh.Value)
	if !p3.Refresh.ExpiresAt.Equal(end) {
		t.Errorf("refresh token rotated at the end expires at %v, want %v", p3.Refresh.ExpiresAt, end)
	}
	h.clock.Set(end)
	_, err := h.svc.EndUsers.Refresh(h.ctx, p3.Refresh.Value)
	wantKind(t, "refresh at the session's end", err, domain.KindTokenInvalid)
}

func TestSessionShorterThanRefreshTTL(t *testing.T) {
	h := newHarness(t, func(c *application.Config) {
		c.RefreshTokenTTL = 30 * 24 * time.Hour
		c.SessionMaxLifetime = 7 * 24 * time.Hour
	})
	res := h.login(signed(appID, "code-alice"))
	if got, want := res.Tokens.Refresh.ExpiresAt, start.Add(7*24*time.Hour); !got.Equal(want) {
		t.Errorf("first refresh token expires at %v, want the session's end %v", got, want)
	}
}

func TestExpiredRefreshTokenIsInvalid(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	h.clock.Set(res.Tokens.Refresh.ExpiresAt)
	_, err := h.svc.EndUsers.Refresh(h.ctx, res.Tokens.Refresh.Value)
	wantKind(t, "refresh at expiry", err, domain.KindTokenInvalid)
	h.clock.Advance(time.Hour)
	_, err = h.svc.EndUsers.Refresh(h.ctx, res.Tokens.Refresh.Value)
	wantKind(t, "refresh after expiry", err, domain.KindTokenInvalid)
}

func TestRefreshRejectsMissingAndInvalidTokens(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	for _, tok := range []string{"", "   "} {
		_, err := h.svc.EndUsers.Refresh(h.ctx, tok)
		wantKind(t, "Refresh("+tok+")", err, domain.KindRefreshTokenRequired)
	}
	stranger := domain.NewSession(res.UID, 1, tenant, appID, start, time.Hour, 2*time.Hour) // never stored
	tampered := []byte(res.Tokens.Refresh.Value)
	tampered[len(tampered)/2] ^= 0x01
	for name, tok := range map[string]string{
		"garbage":                     "garbage",
		"access token":                res.Tokens.Access.Value,
		"token of an unknown session": stranger.RefreshToken().Value,
		"tampered token":              string(tampered),
	} {
		_, err := h.svc.EndUsers.Refresh(h.ctx, tok)
		wantKind(t, name, err, domain.KindTokenInvalid)
	}
	h.refresh(res.Tokens.Refresh.Value) // none of the above spent or revoked the session
}

func TestRefreshRepositoryFailuresAreInternal(t *testing.T) {
	for _, tt := range []struct {
		method string
		v1     bool // the token of a version-1 session
		fresh  bool // on an instance that has not loaded the refresh master keys yet
	}{
		{"SessionByID", true, false},
		{"AdvanceRefreshCounter", true, false},
		{"SpendRefreshToken", false, false},
		{"RefreshMasterKeys", false, true},
	} {
		t.Run(tt.method, func(t *testing.T) {
			h := newHarness(t)
			res := h.login(signed(appID, "code-alice"))
			tok := res.Tokens.Refresh.Value
			if tt.v1 {
				tok = h.v1Session(res.UID).RefreshToken().Value
			}
			svc := h.svc
			if tt.fresh {
				svc = h.newService()
			}
			h.store.failOn(tt.method)
			_, err := svc.EndUsers.Refresh(h.ctx, tok)
			wantInternal(t, "Refresh", err, domain.KindInternal)
		})
	}
}

func TestVerifyAccessToken(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	tok := res.Tokens.Access.Value
	for _, presented := range []string{tok, "Bearer " + tok, "bearer " + tok, " Bearer  " + tok + " "} {
		if p := h.verify(presented); p.UID != res.UID {
			t.Errorf("VerifyAccessToken(%q...) uid = %s, want %s", presented[:10], p.UID, res.UID)
		}
	}
	for _, empty := range []string{"", "  "} {
		_, err := h.svc.Auth.VerifyAccessToken(h.ctx, empty)
		wantKind(t, "VerifyAccessToken(empty)", err, domain.KindAccessTokenRequired)
	}
	tampered := []byte(tok)
	tampered[5] ^= 0x01
	for name, bad := range map[string]string{
		"tampered":      string(tampered),
		"garbage":       "garbage",
		"refresh token": res.Tokens.Refresh.Value,
	} {
		_, err := h.svc.Auth.VerifyAccessToken(h.ctx, bad)
		wantKind(t, name, err, domain.KindTokenInvalid)
	}
	h.clock.Set(res.Tokens.Access.ExpiresAt.Add(-time.Second))
	h.verify(tok)
	h.clock.Set(res.Tokens.Access.ExpiresAt)
	_, err := h.svc.Auth.VerifyAccessToken(h.ctx, tok)
	wantKind(t, "expired access token", err, domain.KindTokenInvalid)
}

func TestLogout(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	other := h.login(signed(appID, "code-alice-again"))
	must(t, h.svc.EndUsers.Logout(h.ctx, "Bearer "+res.Tokens.Access.Value))

	_, err := h.svc.Auth.VerifyAccessToken(h.ctx, res.Tokens.Access.Value)
	wantKind(t, "access token after logout", err, domain.KindTokenInvalid)
	_, err = h.svc.EndUsers.Refresh(h.ctx, res.Tokens.Refresh.Value)
	wantKind(t, "refresh token after logout", err, domain.KindTokenInvalid)
	wantKind(t, "second logout", h.svc.EndUsers.Logout(h.ctx, res.Tokens.Access.Value), domain.KindTokenInvalid)
	wantKind(t, "logout without token", h.svc.EndUsers.Logout(h.ctx, ""), domain.KindAccessTokenRequired)

	h.verify(other.Tokens.Access.Value) // the user's other session lives on
	h.refresh(other.Tokens.Refresh.Value)
}

func TestLogoutFailure(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	h.store.failOn("RevokeSession")
	err := h.svc.EndUsers.Logout(h.ctx, res.Tokens.Access.Value)
	wantInternal(t, "Logout", err, domain.KindLogoutFailed)
	h.verify(res.Tokens.Access.Value) // nothing was revoked, so the token still works
}

func TestRevocationByAnotherInstanceIsSeenAfterSync(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	sid := h.verify(res.Tokens.Access.Value).SessionID
	h.clock.Advance(time.Minute)
	must(t, h.svc.Machinery.SyncRevocations(h.ctx)) // this instance's cache is fresh
	revoked, err := h.store.RevokeSession(h.ctx, sid, h.clock.Now(), "logout")
	must(t, err)
	if !revoked {
		t.Fatal("RevokeSession did not revoke")
	}

	h.verify(res.Tokens.Access.Value) // not yet known to this instance
	_, err = h.svc.EndUsers.Refresh(h.ctx, res.Tokens.Refresh.Value)
	wantKind(t, "refresh of a revoked session", err, domain.KindTokenInvalid) // refresh reads the store

	h.clock.Advance(time.Second)
	must(t, h.svc.Machinery.SyncRevocations(h.ctx))
	_, err = h.svc.Auth.VerifyAccessToken(h.ctx, res.Tokens.Access.Value)
	wantKind(t, "access token after sync", err, domain.KindTokenInvalid)

	h.clock.Advance(5 * time.Second)
	must(t, h.svc.Machinery.SyncRevocations(h.ctx))
	_, err = h.svc.Auth.VerifyAccessToken(h.ctx, res.Tokens.Access.Value)
	wantKind(t, "access token after a second sync", err, domain.KindTokenInvalid)
}

func TestLogoutOnOneInstanceReachesAnotherAfterSync(t *testing.T) {
	h := newHarness(t)
	other := h.newService()
	res := h.login(signed(appID, "code-alice"))
	must(t, other.Machinery.SyncRevocations(h.ctx))
	must(t, h.svc.EndUsers.Logout(h.ctx, res.Tokens.Access.Value))
	if _, err := other.Auth.VerifyAccessToken(h.ctx, res.Tokens.Access.Value); err != nil {
		t.Fatalf("the other instance refused the token before any sync: %v", err)
	}
	h.clock.Advance(time.Second)
	must(t, other.Machinery.SyncRevocations(h.ctx))
	_, err := other.Auth.VerifyAccessToken(h.ctx, res.Tokens.Access.Value)
	wantKind(t, "the other instance after sync", err, domain.KindTokenInvalid)
}

func TestSyncRevocationsFailure(t *testing.T) {
	h := newHarness(t)
	h.store.failOn("RevokedSessionsSince")
	wantInternal(t, "SyncRevocations", h.svc.Machinery.SyncRevocations(h.ctx), domain.KindInternal)
}

// TestRunSyncsRevocationsUntilCancelled: Run's sync loop picks up another
// instance's revocation within one interval and returns when cancelled (in a
// synctest bubble: the loop's ticker runs on the bubble's clock).
func TestRunSyncsRevocationsUntilCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(c *application.Config) { c.RevocationSyncInterval = time.Millisecond })
		res := h.login(signed(appID, "code-alice"))
		sid := h.verify(res.Tokens.Access.Value).SessionID
		_, err := h.store.RevokeSession(h.ctx, sid, h.clock.Now(), "logout")
		must(t, err)

		ctx, cancel := context.WithCancel(h.ctx)
		done := make(chan error, 1)
		go func() { done <- h.svc.Machinery.Run(ctx) }()
		time.Sleep(time.Millisecond) // one RevocationSyncInterval of the bubble's clock
		synctest.Wait()
		if _, err := h.svc.Auth.VerifyAccessToken(h.ctx, res.Tokens.Access.Value); err == nil {
			t.Fatal("Run did not pick up the revocation within one RevocationSyncInterval")
		}
		// A revocation made while Run waits: the next tick picks it up.
		bob := h.login(signed(appID, "code-bob"))
		_, err = h.store.RevokeSession(h.ctx, h.verify(bob.Tokens.Access.Value).SessionID, h.clock.Now(), "logout")
		must(t, err)
		synctest.Wait()
		if _, err := h.svc.Auth.VerifyAccessToken(h.ctx, bob.Tokens.Access.Value); err != nil {
			t.Fatalf("refused before the next sync: %v", err)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if _, err := h.svc.Auth.VerifyAccessToken(h.ctx, bob.Tokens.Access.Value); err == nil {
			t.Fatal("Run's next tick did not pick up the revocation")
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	})
}

func TestUserInfo(t *testing.T) {
	h := newHarness(t)
	viaApp1 := h.login(signed(appID, "code-alice"))
	viaApp2 := h.login(signed(app2ID, "code-alice-app2"))
	for _, tt := range []struct {
		token, appID, openID string
	}{
		{viaApp1.Tokens.Access.Value, appID, "o1-alice"},
		{viaApp2.Tokens.Access.Value, app2ID, "o2-alice"},
	} {
		p := h.verify(tt.token)
		prof, err := h.svc.EndUsers.UserInfo(h.ctx, p)
		must(t, err)
		if prof.User.ID() != viaApp1.UID || !prof.User.RegisteredAt().Equal(start) {
			t.Errorf("UserInfo user = %s registered %v, want %s registered %v", prof.User.ID(), prof.User.RegisteredAt(), viaApp1.UID, start)
		}
		w := prof.WeChat
		if w.AppID() != tt.appID || w.OpenID() != tt.openID || w.UnionID() != "u-alice" {
			t.Errorf("UserInfo WeChat = {%s, %s, %s}, want {%s, %s, u-alice}", w.AppID(), w.OpenID(), w.UnionID(), tt.appID, tt.openID)
		}
	}
	_, err := h.svc.EndUsers.UserInfo(h.ctx, domain.Principal{UID: "uid-nobody", AppID: appID})
	wantKind(t, "UserInfo(unknown uid)", err, domain.KindUserNotFound)

	h.store.failOn("UserWithWeChatApps")
	_, err = h.svc.EndUsers.UserInfo(h.ctx, h.verify(viaApp1.Tokens.Access.Value))
	wantInternal(t, "UserInfo", err, domain.KindInternal)
}

func TestPrincipalInContext(t *testing.T) {
	if _, ok := application.PrincipalFromContext(t.Context()); ok {
		t.Error("an empty context carries a principal")
	}
	p := domain.Principal{UID: "uid-1", UserDomain: tenant, AppID: appID, SessionID: domain.NewSessionID()}
	got, ok := application.PrincipalFromContext(application.WithPrincipal(t.Context(), p))
	if !ok || got != p {
		t.Errorf("PrincipalFromContext = %+v, %t; want %+v", got, ok, p)
	}
}

func TestSigningKeyOperationsPassThrough(t *testing.T) {
	h := newHarness(t)
	jwks, err := h.svc.EndUsers.JWKS(h.ctx)
	if err != nil || string(jwks) != `{"keys":[]}` {
		t.Errorf("JWKS = %s, %v", jwks, err)
	}
	kid, err := h.svc.Operators.RotateSigningKey(h.ctx)
	if err != nil || kid != "kid-2" {
		t.Errorf("RotateSigningKey = %q, %v", kid, err)
	}
}

// TestVerifyFailsClosedWhenTheCacheIsStale: without a recent sync (Run not
// started, or failing), a verification asks the store, so a revocation made
// elsewhere is never ignored for longer than the sync bound.
func TestVerifyFailsClosedWhenTheCacheIsStale(t *testing.T) {
	h := newHarness(t, func(c *application.Config) { c.RevocationSyncInterval = 5 * time.Second })
	res := h.login(signed(appID, "code-alice"))
	sid := h.verify(res.Tokens.Access.Value).SessionID // never synced: the store answers

	must(t, h.svc.Machinery.SyncRevocations(h.ctx))
	h.clock.Advance(16 * time.Second) // more than 3 intervals without a sync
	_, err := h.store.RevokeSession(h.ctx, sid, h.clock.Now(), "logout")
	must(t, err)
	_, err = h.svc.Auth.VerifyAccessToken(h.ctx, res.Tokens.Access.Value)
	wantKind(t, "stale cache, revoked elsewhere", err, domain.KindTokenInvalid)

	// And when the store cannot answer, the verification fails (internal), it
	// does not let the token through.
	other := h.login(signed(appID, "code-bob"))
	h.store.failOn("SessionByID")
	_, err = h.svc.Auth.VerifyAccessToken(h.ctx, other.Tokens.Access.Value)
	wantInternal(t, "stale cache, store down", err, domain.KindInternal)
}

// racingSessions makes every refresh lose its race: just before its
// conditional update, a concurrent refresh of the same token (on an instance
// whose clock is a second behind) spends the token first.
type racingSessions struct {
	application.SessionRepository
	skew time.Duration
}

// SpendRefreshToken returns, as a store does for a spend that waited for a
// concurrent one and lost, the session as it was before the concurrent spend.
func (r racingSessions) SpendRefreshToken(ctx context.Context, id domain.SessionID, from int64, now, exp time.Time) (domain.Session, bool, error) {
	before, err := r.SessionByID(ctx, id)
	if err != nil {
		return domain.Session{}, false, err
	}
	if _, _, err := r.SessionRepository.SpendRefreshToken(ctx, id, from, now.Add(-r.skew), exp); err != nil {
		return domain.Session{}, false, err
	}
	if _, spent, err := r.SessionRepository.SpendRefreshToken(ctx, id, from, now, exp); err != nil || spent {
		return domain.Session{}, false, fmt.Errorf("the racing spend spent too: %t, %w", spent, err)
	}
	return before, false, nil
}

func (r racingSessions) AdvanceRefreshCounter(ctx context.Context, id domain.SessionID, from int64, now, exp time.Time) (bool, error) {
	if _, err := r.SessionRepository.AdvanceRefreshCounter(ctx, id, from, now.Add(-r.skew), exp); err != nil {
		return false, err
	}
	return r.SessionRepository.AdvanceRefreshCounter(ctx, id, from, now, exp)
}

// TestARefreshThatLosesTheRaceGetsTheChild: concurrency is not reuse. A
// refresh whose conditional update lost to a concurrent refresh of the same
// token gets the winner's child, whatever the grace window and the clocks.
func TestARefreshThatLosesTheRaceGetsTheChild(t *testing.T) {
	h := newHarness(t, func(c *application.Config) { c.RefreshReuseGraceOff = true })
	res := h.login(signed(appID, "code-alice"))
	s := h.store
	racing := application.New(h.cfg, application.Deps{Clock: h.clock, WeChat: h.wechat, Domains: s, Apps: s, DataCenters: s, Users: s, Sessions: racingSessions{SessionRepository: s, skew: time.Second}, Tokens: h.tokens})
	pair, err := racing.EndUsers.Refresh(h.ctx, res.Tokens.Refresh.Value)
	if err != nil {
		t.Fatalf("the loser of a race must get the child, got %v", err)
	}
	// The child is the winner's: it works once, and the session is alive.
	if _, err := h.svc.EndUsers.Refresh(h.ctx, pair.Refresh.Value); err != nil {
		t.Fatalf("the child must work: %v", err)
	}
}
