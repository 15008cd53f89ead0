package application

import (
	"context"

	"github.com/iotplatform/enduser-auth/domain"
)

// EndUsers is the facade of what end users' clients trigger: the logins, the
// refresh, the logouts, the profile, the account deletion and the public
// keys. Its caller is the HTTP adapter (adapters/httpapi), which serves the
// platform's end-user API; the request's client IP and metadata come in ctx
// (WithClientIP, WithRequestMeta). Each method's use case is in its own file
// (login.go, refresh.go, logout.go, userinfo.go, deletion.go, keys.go,
// limits.go), with its errors.
type EndUsers struct{ c *core }

// LoginWithWeChatOfficialAccount is the login through an official account
// (wechatOffiaccountAuthLogin): login.go.
func (e *EndUsers) LoginWithWeChatOfficialAccount(ctx context.Context, in WeChatLogin) (LoginResult, error) {
	return e.c.LoginWithWeChatOfficialAccount(ctx, in)
}

// LoginWithWeChatMiniProgram is the login through a mini program
// (wechatMiniprogramAuthLogin): login.go.
func (e *EndUsers) LoginWithWeChatMiniProgram(ctx context.Context, in WeChatMiniProgramLogin) (LoginResult, error) {
	return e.c.LoginWithWeChatMiniProgram(ctx, in)
}

// Refresh trades a refresh token for a new token pair (refreshToken):
// refresh.go.
func (e *EndUsers) Refresh(ctx context.Context, refreshToken string) (domain.TokenPair, error) {
	return e.c.Refresh(ctx, refreshToken)
}

// Logout ends the session of an access token: logout.go.
func (e *EndUsers) Logout(ctx context.Context, accessToken string) error {
	return e.c.Logout(ctx, accessToken)
}

// LogoutDevice is userLogout: it ends the session of an access token, naming
// the push device (deviceID, may be empty) to the logout listeners:
// logout.go.
func (e *EndUsers) LogoutDevice(ctx context.Context, accessToken, deviceID string) error {
	return e.c.LogoutDevice(ctx, accessToken, deviceID)
}

// LogoutSession is LogoutDevice for a principal the caller has verified
// already: logout.go.
func (e *EndUsers) LogoutSession(ctx context.Context, p domain.Principal, deviceID string) error {
	return e.c.LogoutSession(ctx, p, deviceID)
}

// UserInfo returns the user of a verified principal, with its WeChat
// bindings and profile (userInfo): userinfo.go.
func (e *EndUsers) UserInfo(ctx context.Context, p domain.Principal) (UserProfile, error) {
	return e.c.UserInfo(ctx, p)
}

// SetUserInfo is setUserInfo: the access token verified, then the sent
// profile parameters checked and stored: userinfo.go.
func (e *EndUsers) SetUserInfo(ctx context.Context, accessToken string, sent domain.ProfileText) error {
	return e.c.SetUserInfo(ctx, accessToken, sent)
}

// UpdateUserInfo is SetUserInfo for a principal the caller has verified
// already: userinfo.go.
func (e *EndUsers) UpdateUserInfo(ctx context.Context, p domain.Principal, sent domain.ProfileText) error {
	return e.c.UpdateUserInfo(ctx, p, sent)
}

// DeleteAccount is the end user's own deletion request (userDelete): type 1
// at once, type 2 after the cooling-off: deletion.go.
func (e *EndUsers) DeleteAccount(ctx context.Context, p domain.Principal, t domain.DeletionType) (DeletionScheduled, error) {
	return e.c.DeleteAccount(ctx, p, t)
}

// JWKS returns the public keys that verify access tokens, as a JSON Web Key
// Set: keys.go.
func (e *EndUsers) JWKS(ctx context.Context) ([]byte, error) {
	return e.c.JWKS(ctx)
}

// Admit takes one request of ctx's client IP from its bucket (the abuse
// limits, when on): the HTTP adapter calls it before every end-user endpoint
// but the logins, which admit inside (one limiter call with the lockout
// check) and the JWKS. Errors: KindRateLimited (with its retry-after):
// limits.go.
func (e *EndUsers) Admit(ctx context.Context) error {
	return e.c.AllowRequest(ctx)
}
