package application_test

import (
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func tokenVersion(t *testing.T, tok string) domain.PresentedRefreshToken {
	t.Helper()
	p, err := domain.ParseRefreshToken(tok)
	if err != nil {
		t.Fatalf("ParseRefreshToken: %v", err)
	}
	return p
}

func TestLoginStartsVersion2Sessions(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	p := tokenVersion(t, res.Tokens.Refresh.Value)
	if p.Version != domain.RefreshTokenV2 || p.MasterKeyID != 1 {
		t.Fatalf("a login's refresh token: version %d, master key %d; want 2, 1", p.Version, p.MasterKeyID)
	}
	sess, err := h.store.SessionByID(h.ctx, p.SessionID)
	must(t, err)
	if sess.RefreshKey() != nil {
		t.Errorf("a version-2 session stores a refresh key of %d bytes", len(sess.RefreshKey()))
	}
	// Another instance, which loads the same master key, refreshes it; the children stay version 2.
	child, err := h.newService().EndUsers.Refresh(h.ctx, res.Tokens.Refresh.Value)
	must(t, err)
	if c := tokenVersion(t, child.Refresh.Value); c.Version != domain.RefreshTokenV2 || c.MasterKeyID != 1 || c.Counter != 2 {
		t.Errorf("child: version %d, master key %d, counter %d; want 2, 1, 2", c.Version, c.MasterKeyID, c.Counter)
	}
	h.refresh(child.Refresh.Value)
}

func TestFirstStartsStoreOneRefreshMasterKey(t *testing.T) {
	h := newHarness(t)
	var wg sync.WaitGroup
	tokens := make([]string, 8)
	for i := range tokens {
		svc := h.newService()
		wg.Go(func() {
			res, err := svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-alice"))
			if err != nil {
				t.Errorf("login: %v", err)
				return
			}
			tokens[i] = res.Tokens.Refresh.Value
		})
	}
	wg.Wait()
	keys, err := h.store.RefreshMasterKeys(h.ctx)
	must(t, err)
	if len(keys) != 1 {
		t.Fatalf("after 8 instances' first logins: %d refresh master keys, want 1", len(keys))
	}
	for _, tok := range tokens { // every instance signed with the stored key: one instance refreshes them all
		if tok != "" {
			h.refresh(tok)
		}
	}
}

// Sessions started before refresh master keys existed (version 1, their own
// stored key) keep refreshing until they expire; their children are version
// 1 too, so that a duplicate gets the identical child and a reuse is still
// recognised with the session's own key.
func TestVersion1SessionsKeepWorking(t *testing.T) {
	h := newHarness(t)
	uid := h.login(signed(appID, "code-alice")).UID
	old := h.v1Session(uid)
	h.clock.Advance(time.Minute)
	child := h.refresh(old.RefreshToken().Value)
	if c := tokenVersion(t, child.Refresh.Value); c.Version != domain.RefreshTokenV1 || c.Counter != 2 || c.SessionID != old.ID() {
		t.Fatalf("child of a v1 token: version %d, counter %d, session %s; want 1, 2, %s", c.Version, c.Counter, c.SessionID, old.ID())
	}
	if p := h.verify(child.Access.Value); p.UID != uid || p.SessionID != old.ID() {
		t.Errorf("principal of the v1 child's access token = %+v", p)
	}
	h.clock.Advance(time.Second)
	if again := h.refresh(old.RefreshToken().Value); again.Refresh != child.Refresh {
		t.Errorf("v1 duplicate within the grace window got %q, want the identical child %q", again.Refresh.Value, child.Refresh.Value)
	}
	grandchild := h.refresh(child.Refresh.Value)
	h.clock.Advance(h.cfg.RefreshReuseGrace + time.Second)
	_, err := h.svc.EndUsers.Refresh(h.ctx, child.Refresh.Value)
	wantKind(t, "v1 reuse after the grace window", err, domain.KindTokenInvalid)
	_, err = h.svc.EndUsers.Refresh(h.ctx, grandchild.Refresh.Value)
	wantKind(t, "the newest v1 token after a detected reuse", err, domain.KindTokenInvalid)
}

func TestVersion2TokenOfAnUnknownOrWrongMasterKeyIsInvalid(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	d, err := h.store.UserDomainByName(h.ctx, tenant)
	must(t, err)
	for name, mk := range map[string]domain.RefreshMasterKey{
		"unknown master key id":        domain.NewRefreshMasterKey(9, start),
		"known id, another secret":     domain.NewRefreshMasterKey(1, start),
		"known id, another secret (2)": domain.NewRefreshMasterKey(1, start.Add(time.Hour)),
	} {
		forged := domain.NewSessionV2(res.UID, d.ID(), d.Name(), appID, h.clock.Now(), time.Hour, 2*time.Hour, mk)
		must(t, h.store.InsertSession(h.ctx, forged)) // even a stored session: the token's key is not ours
		_, err := h.svc.EndUsers.Refresh(h.ctx, forged.RefreshToken().Value)
		wantKind(t, name, err, domain.KindTokenInvalid)
		if got, err := h.store.SessionByID(h.ctx, forged.ID()); err != nil || got.Counter() != 1 {
			t.Errorf("%s: the session moved to counter %d (%v)", name, got.Counter(), err)
		}
	}
	// A v2 token for the id of a v1 session (which only the holder of a master
	// key could mint) is refused: v1 sessions never have v2 tokens.
	v1 := h.v1Session(res.UID)
	mk, err := h.store.RefreshMasterKeys(h.ctx)
	must(t, err)
	imposter := domain.UnmarshalSessionFromDatabase(v1.ID(), v1.UserID(), v1.UserDomainID(), v1.UserDomain(), v1.AppID(), nil,
		1, v1.CreatedAt(), v1.ExpiresAt(), v1.RefreshExpiresAt(), time.Time{}, time.Time{})
	imposter, err = imposter.WithMasterKey(mk[0])
	must(t, err)
	_, err = h.svc.EndUsers.Refresh(h.ctx, imposter.RefreshToken().Value)
	wantKind(t, "a v2 token for a v1 session", err, domain.KindTokenInvalid)
	h.refresh(res.Tokens.Refresh.Value) // none of this touched the real session
}

func TestVerifiedTokensAreCachedButRevocationStillBites(t *testing.T) {
	h := newHarness(t)
	must(t, h.svc.Machinery.SyncRevocations(h.ctx))
	res := h.login(signed(appID, "code-alice"))
	other := h.login(signed(appID, "code-bob"))
	tok := res.Tokens.Access.Value
	p := h.verify(tok)
	before := h.tokens.parses.Load()
	for _, presented := range []string{tok, "Bearer " + tok, tok} {
		if again := h.verify(presented); again != p {
			t.Errorf("cached verification = %+v, want %+v", again, p)
		}
	}
	if n := h.tokens.parses.Load() - before; n != 0 {
		t.Errorf("verifying a verified token again parsed it %d times, want 0 (cached)", n)
	}
	// Another instance revokes the session: the cached token fails after the sync.
	elsewhere := h.newService()
	must(t, elsewhere.Machinery.SyncRevocations(h.ctx))
	h.verify(other.Tokens.Access.Value)
	must(t, elsewhere.EndUsers.Logout(h.ctx, other.Tokens.Access.Value))
	h.verify(other.Tokens.Access.Value) // not synced yet: within the documented bound
	h.clock.Advance(time.Second)
	must(t, h.svc.Machinery.SyncRevocations(h.ctx))
	_, err := h.svc.Auth.VerifyAccessToken(h.ctx, other.Tokens.Access.Value)
	wantKind(t, "a cached token revoked elsewhere, after the sync", err, domain.KindTokenInvalid)
	// A logout on this instance fails the cached token at once.
	must(t, h.svc.EndUsers.Logout(h.ctx, tok))
	_, err = h.svc.Auth.VerifyAccessToken(h.ctx, tok)
	wantKind(t, "a cached token after its logout here", err, domain.KindTokenInvalid)
}

func TestCachedTokenExpires(t *testing.T) {
	h := newHarness(t)
	must(t, h.svc.Machinery.SyncRevocations(h.ctx))
	res := h.login(signed(appID, "code-alice"))
	h.verify(res.Tokens.Access.Value)
	h.clock.Set(res.Tokens.Access.ExpiresAt)
	must(t, h.svc.Machinery.SyncRevocations(h.ctx))
	before := h.tokens.parses.Load()
	_, err := h.svc.Auth.VerifyAccessToken(h.ctx, res.Tokens.Access.Value)
	wantKind(t, "a cached token at its exp", err, domain.KindTokenInvalid)
	if h.tokens.parses.Load() == before {
		t.Error("an expired cached token was not verified afresh")
	}
}

func TestVerifiedTokenCacheCanBeDisabled(t *testing.T) {
	h := newHarness(t, func(c *application.Config) { c.VerifiedCacheOff = true })
	res := h.login(signed(appID, "code-alice"))
	h.verify(res.Tokens.Access.Value)
	before := h.tokens.parses.Load()
	h.verify(res.Tokens.Access.Value)
	if h.tokens.parses.Load() != before+1 {
		t.Error("with the cache disabled, a second verification did not parse the token")
	}
}

// Tokens naming a master key nobody holds (garbage, or a key added elsewhere)
// reload the keys at most once a second, so a flood of them cannot hammer
// the store; a key added meanwhile is found after the interval.
func TestUnknownMasterKeyReloadsAtMostOncePerSecond(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	d, err := h.store.UserDomainByName(h.ctx, tenant)
	must(t, err)
	later := domain.NewRefreshMasterKey(2, start) // added by "another instance", not yet stored
	sess := domain.NewSessionV2(res.UID, d.ID(), d.Name(), appID, h.clock.Now(), time.Hour, 2*time.Hour, later)
	must(t, h.store.InsertSession(h.ctx, sess))
	h.clock.Advance(time.Second) // the login's load is a second old
	loads := h.store.calls("RefreshMasterKeys")
	for range 20 {
		_, err := h.svc.EndUsers.Refresh(h.ctx, sess.RefreshToken().Value)
		wantKind(t, "a token of an unknown master key", err, domain.KindTokenInvalid)
	}
	if n := h.store.calls("RefreshMasterKeys") - loads; n != 1 {
		t.Errorf("20 tokens of an unknown key within a second: %d reloads, want 1", n)
	}
	_, err = h.store.AddRefreshMasterKey(h.ctx, later)
	must(t, err)
	_, err = h.svc.EndUsers.Refresh(h.ctx, sess.RefreshToken().Value)
	wantKind(t, "within the second, the new key is not loaded yet", err, domain.KindTokenInvalid)
	h.clock.Advance(time.Second)
	if child := h.refresh(sess.RefreshToken().Value); tokenVersion(t, child.Refresh.Value).MasterKeyID != 2 {
		t.Errorf("the child of a key-2 token names key %d", tokenVersion(t, child.Refresh.Value).MasterKeyID)
	}
	// New sessions start under the newest key once it is loaded.
	if p := tokenVersion(t, h.login(signed(appID, "code-bob")).Tokens.Refresh.Value); p.MasterKeyID != 2 {
		t.Errorf("a login after key 2 was loaded names key %d, want 2", p.MasterKeyID)
	}
}
