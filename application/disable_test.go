package application_test

import (
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// TestDisableUserOnTwoInstances: a disabled user's token answers 5041 on
// the instance that disabled it at once and on another after its sync, even
// from the verified-token cache; refresh and login answer 5041 everywhere at
// once; after enable the old token answers 5032 and a new login works.
func TestDisableUserOnTwoInstances(t *testing.T) {
	h := newHarness(t)
	other := h.newService()
	must(t, h.svc.Machinery.SyncRevocations(h.ctx))
	must(t, other.Machinery.SyncRevocations(h.ctx))
	res := h.login(signed(appID, "code-alice"))
	bob := h.login(signed(appID, "code-bob"))
	tok := res.Tokens.Access.Value
	if _, err := other.Auth.VerifyAccessToken(h.ctx, tok); err != nil { // now in the other's verified-token cache
		t.Fatal(err)
	}
	h.verify(tok)

	must(t, h.svc.Operators.DisableUser(h.ctx, res.UID))
	_, err := h.svc.Auth.VerifyAccessToken(h.ctx, tok)
	wantKind(t, "verify on the disabling instance", err, domain.KindUserDisabled)
	if _, err := other.Auth.VerifyAccessToken(h.ctx, tok); err != nil {
		t.Fatalf("the other instance refused before any sync: %v", err)
	}
	h.clock.Advance(time.Second)
	must(t, other.Machinery.SyncRevocations(h.ctx))
	_, err = other.Auth.VerifyAccessToken(h.ctx, tok)
	wantKind(t, "verify on the other instance after its sync (a cached token)", err, domain.KindUserDisabled)
	_, err = other.EndUsers.Refresh(h.ctx, res.Tokens.Refresh.Value)
	wantKind(t, "refresh of a disabled user", err, domain.KindUserDisabled)
	_, err = other.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-alice"))
	wantKind(t, "login of a disabled user", err, domain.KindUserDisabled)
	prof, err := h.svc.EndUsers.UserInfo(h.ctx, domain.Principal{UID: res.UID, AppID: appID})
	must(t, err)
	if prof.User.Status() != domain.UserDisabled {
		t.Errorf("status while disabled = %d, want 0", prof.User.Status())
	}
	h.verify(bob.Tokens.Access.Value) // another user goes on
	h.refresh(bob.Tokens.Refresh.Value)

	must(t, other.Operators.EnableUser(h.ctx, res.UID))
	_, err = other.Auth.VerifyAccessToken(h.ctx, tok)
	wantKind(t, "the old token after enable", err, domain.KindTokenInvalid)
	h.clock.Advance(time.Second)
	must(t, h.svc.Machinery.SyncRevocations(h.ctx))
	_, err = h.svc.Auth.VerifyAccessToken(h.ctx, tok)
	wantKind(t, "the old token after enable, other instance synced", err, domain.KindTokenInvalid)
	_, err = h.svc.EndUsers.Refresh(h.ctx, res.Tokens.Refresh.Value)
	wantKind(t, "the old refresh token after enable", err, domain.KindTokenInvalid)
	again := h.login(signed(appID, "code-alice-again"))
	if again.UID != res.UID {
		t.Fatalf("login after enable: uid %s, want %s", again.UID, res.UID)
	}
	h.verify(again.Tokens.Access.Value)
	if _, err := other.Auth.VerifyAccessToken(h.ctx, again.Tokens.Access.Value); err != nil {
		t.Fatalf("a new session after enable on the other instance: %v", err)
	}
	h.refresh(again.Tokens.Refresh.Value)

	wantKind(t, "disable an unknown user", h.svc.Operators.DisableUser(h.ctx, "uid-nobody"), domain.KindUserNotFound)
	wantKind(t, "disable without uid", h.svc.Operators.DisableUser(h.ctx, " "), domain.KindInvalid)
}

// TestDisableUserDomainEndsItsSessions: the domain's tokens stop verifying on
// another instance after its sync, its refreshes answer 5032, re-enabling
// brings nothing back.
func TestDisableUserDomainEndsItsSessions(t *testing.T) {
	h := newHarness(t)
	other := h.newService()
	must(t, other.Machinery.SyncRevocations(h.ctx))
	res := h.login(signed(appID, "code-alice"))
	tok := res.Tokens.Access.Value
	if _, err := other.Auth.VerifyAccessToken(h.ctx, tok); err != nil {
		t.Fatal(err)
	}
	must(t, h.svc.Operators.SetUserDomainEnabled(h.ctx, tenant, false))
	_, err := h.svc.Auth.VerifyAccessToken(h.ctx, tok)
	wantKind(t, "verify on the disabling instance", err, domain.KindTokenInvalid)
	_, err = other.EndUsers.Refresh(h.ctx, res.Tokens.Refresh.Value)
	wantKind(t, "refresh on the other instance at once", err, domain.KindTokenInvalid)
	h.clock.Advance(time.Second)
	must(t, other.Machinery.SyncRevocations(h.ctx))
	_, err = other.Auth.VerifyAccessToken(h.ctx, tok)
	wantKind(t, "verify on the other instance after its sync", err, domain.KindTokenInvalid)
	_, err = h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-alice-again"))
	wantKind(t, "login in a disabled domain", err, domain.KindUserDomainDisabled)

	must(t, h.svc.Operators.SetUserDomainEnabled(h.ctx, tenant, true))
	_, err = h.svc.Auth.VerifyAccessToken(h.ctx, tok)
	wantKind(t, "the old token after re-enabling", err, domain.KindTokenInvalid)
	h.clock.Advance(time.Second)
	again := h.login(signed(appID, "code-alice-again"))
	h.verify(again.Tokens.Access.Value)
	h.refresh(again.Tokens.Refresh.Value)
	// After the access-token lifetime the cache forgets the scope; the store
	// still refuses the old refresh token.
	h.clock.Advance(h.cfg.AccessTokenTTL + 2*time.Minute)
	must(t, h.svc.Machinery.SyncRevocations(h.ctx))
	_, err = h.svc.EndUsers.Refresh(h.ctx, res.Tokens.Refresh.Value)
	wantKind(t, "the old refresh token much later", err, domain.KindTokenInvalid)
}

// TestPurgeKeepsScopeRevocationsWhileTheyMatter: the purge deletes a user's
// scope revocation only once no session it covers can be alive (the
// absolute session lifetime later), never earlier.
func TestPurgeKeepsScopeRevocationsWhileTheyMatter(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	if _, err := h.svc.Operators.EndUserSessions(h.ctx, res.UID); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(h.cfg.SessionMaxLifetime / 2)
	if _, err := h.svc.Machinery.PurgeSessions(h.ctx); err != nil {
		t.Fatal(err)
	}
	list, err := h.store.ScopeRevocationsSince(h.ctx, time.Time{})
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("scope revocations after a purge within the session lifetime: %+v, want the user's", list)
	}
	h.clock.Advance(h.cfg.SessionMaxLifetime/2 + h.svc.Machinery.PurgeHorizon() + time.Minute)
	if _, err := h.svc.Machinery.PurgeSessions(h.ctx); err != nil {
		t.Fatal(err)
	}
	list, err = h.store.ScopeRevocationsSince(h.ctx, time.Time{})
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("scope revocations after the session lifetime: %+v, want none", list)
	}
}
