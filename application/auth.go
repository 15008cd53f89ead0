package application

import (
	"context"

	"github.com/iotplatform/enduser-auth/domain"
)

// Auth is the facade the host's other modules call in-process: they verify
// the access tokens their routes receive (or mount the HTTP adapter's
// RequireAccessToken middleware, which calls VerifyAccessToken), read the
// user, and listen to logouts (a push module) and erasures (every module that
// holds personal data). Nothing in it changes a tenant or a user.
type Auth struct{ c *core }

// VerifyAccessToken checks an access token ("Bearer " optional) and returns
// its principal; a revoked session, a disabled user or user domain and a
// revoked signing key are refused. Errors: KindAccessTokenRequired,
// KindTokenInvalid: verify.go.
func (a *Auth) VerifyAccessToken(ctx context.Context, token string) (domain.Principal, error) {
	return a.c.VerifyAccessToken(ctx, token)
}

// UserInfo returns the user of a verified principal, with its WeChat
// bindings and profile. Errors: KindUserNotFound: userinfo.go.
func (a *Auth) UserInfo(ctx context.Context, p domain.Principal) (UserProfile, error) {
	return a.c.UserInfo(ctx, p)
}

// OnLogout registers a listener of logouts (a push module stops pushing to
// the device the logout named). Listeners run asynchronously, after the
// logout's revocation is stored, at most once: logout.go says how.
func (a *Auth) OnLogout(listener func(context.Context, LogoutEvent)) {
	a.c.OnLogout(listener)
}

// OnUserErased registers a listener of erasures: the module deletes what it
// holds for the user. Register before the module starts; delivery is at least
// once, from an outbox, retried until the listeners succeed: deletion.go.
func (a *Auth) OnUserErased(l ErasureListener) {
	a.c.OnUserErased(l)
}
