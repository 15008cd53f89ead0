package application

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// The app-wide access_token's policy (spec §7.3).
const (
	// AppTokenRenewWindow: a cached token is renewed in its last 5 minutes,
	// when WeChat's stable_token hands out the next one while both are valid.
	AppTokenRenewWindow = 5 * time.Minute
	// ForcedRefreshEvery rations the forced refreshes: at most one per app
	// per 10 minutes across every instance (claimed in the database).
	ForcedRefreshEvery = 10 * time.Minute
)

// appTokens caches each app's access_token in this instance: one fetch at a
// time per app (concurrent callers wait for it and share its answer), a
// token renewed in its last AppTokenRenewWindow. The token is never logged,
// never put in an error nor a trace attribute.
type appTokens struct {
	api    WeChatPhoneAPI
	forced ForcedRefreshRepository
	clock  Clock
	log    *slog.Logger

	mu   sync.Mutex
	apps map[string]*appToken
}

// appToken is one app's cached token; lock (a one-slot channel, so that a
// wait can be cancelled) is held by the goroutine that fetches.
type appToken struct {
	lock    chan struct{}
	value   string
	renewAt time.Time
	expires time.Time
}

func newAppTokens(api WeChatPhoneAPI, forced ForcedRefreshRepository, clock Clock, log *slog.Logger) *appTokens {
	return &appTokens{api: api, forced: forced, clock: clock, log: log, apps: map[string]*appToken{}}
}

func (t *appTokens) entry(appID string) *appToken {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.apps[appID]
	if !ok {
		e = &appToken{lock: make(chan struct{}, 1)}
		t.apps[appID] = e
	}
	return e
}

// acquire takes e's lock, or gives up with ctx.
func (e *appToken) acquire(ctx context.Context) error {
	select {
	case e.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &domain.Error{Kind: domain.KindAppTokenFailed, Err: ctx.Err()}
	}
}

func (e *appToken) release() { <-e.lock }

// fresh is the cached token when it needs no renewal at now.
func (e *appToken) fresh(now time.Time) (string, bool) {
	return e.value, e.value != "" && now.Before(e.renewAt)
}

// get returns app's access token: the cached one, or one fetched (without
// force) when there is none or it is in its last AppTokenRenewWindow.
func (t *appTokens) get(ctx context.Context, app domain.WeChatApp) (string, error) {
	e := t.entry(app.AppID())
	if err := e.acquire(ctx); err != nil {
		return "", err
	}
	defer e.release()
	if v, ok := e.fresh(t.clock.Now()); ok {
		return v, nil
	}
	return t.fetch(ctx, e, app, false)
}

// rejected is told that WeChat refused bad (40001, 42001): it returns the
// token to retry with. A token another caller fetched meanwhile is taken as
// it is; otherwise it asks again without force, and only when WeChat hands
// back bad does it force a refresh, if this app's forced refresh is not
// claimed (by any instance) within ForcedRefreshEvery; else
// KindAppTokenFailed.
func (t *appTokens) rejected(ctx context.Context, app domain.WeChatApp, bad string) (string, error) {
	e := t.entry(app.AppID())
	if err := e.acquire(ctx); err != nil {
		return "", err
	}
	defer e.release()
	now := t.clock.Now()
	if v, ok := e.fresh(now); ok && v != bad {
		return v, nil
	}
	v, err := t.fetch(ctx, e, app, false)
	if err != nil || v != bad {
		return v, err
	}
	e.value = "" // WeChat keeps handing out the token it refuses
	claimed, err := t.forced.ClaimForcedRefresh(ctx, app.AppID(), now, ForcedRefreshEvery)
	if err != nil {
		return "", &domain.Error{Kind: domain.KindAppTokenFailed, Err: err}
	}
	if !claimed {
		t.log.WarnContext(ctx, "WeChat refuses the app's access token and its forced refresh was used within 10 minutes",
			slog.String("appId", safeLog(app.AppID())))
		return "", domain.Errorf(domain.KindAppTokenFailed, "the access token was refused and a forced refresh is rationed")
	}
	t.log.WarnContext(ctx, "forcing a refresh of the app's access token", slog.String("appId", safeLog(app.AppID())))
	return t.fetch(ctx, e, app, true)
}

// fetch asks WeChat for the token (e's lock held) and caches it.
func (t *appTokens) fetch(ctx context.Context, e *appToken, app domain.WeChatApp, force bool) (string, error) {
	tok, err := t.api.StableToken(ctx, app.AppID(), app.AppSecret(), force)
	if err != nil {
		return "", err
	}
	now := t.clock.Now()
	if tok.Value == "" || tok.ExpiresIn <= 0 {
		return "", domain.Errorf(domain.KindAppTokenMalformed, "WeChat's answer carries no access token")
	}
	e.value, e.expires = tok.Value, now.Add(tok.ExpiresIn)
	e.renewAt = e.expires.Add(-AppTokenRenewWindow)
	if tok.ExpiresIn <= 2*AppTokenRenewWindow {
		// A token handed out near its end (or short-lived): used for half
		// its life, never renewed at every call.
		e.renewAt = now.Add(tok.ExpiresIn / 2)
	}
	return tok.Value, nil
}
