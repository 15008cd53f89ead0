// Package httpapi is the Echo adapter of the end-user authentication module:
// the platform's end-user API endpoints and a middleware that lets other
// modules protect their routes with this module's access tokens. It registers
// routes on an *echo.Group the host gives it and never touches the host's
// global error handler: every answer, failures included, is written here.
package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// The routes, as the platform's clients call them.
const (
	PathWeChatOffiaccountLogin = "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin"
	PathWeChatMiniprogramLogin = "/v2/enduser/enduserapi/wechatMiniprogramAuthLogin"
	PathRefreshToken           = "/v2/enduser/enduserapi/refreshToken" //nolint:gosec // G101: a route path, not a credential
	PathUserLogout             = "/v2/enduser/enduserapi/userLogout"
	PathUserInfo               = "/v2/enduser/enduserapi/userInfo"
	PathSetUserInfo            = "/v2/enduser/enduserapi/setUserInfo"
	PathUserDelete             = "/v2/enduser/enduserapi/userDelete"
	PathJWKS                   = "/.well-known/jwks.json"
)

// Handler serves the module's endpoints.
type Handler struct {
	users    *application.EndUsers
	auth     *application.Auth
	log      *slog.Logger
	metrics  *Metrics
	opts     Options
	cors     echo.MiddlewareFunc
	clientIP echo.IPExtractor
}

// NewHandler returns the HTTP adapter of the end users' facade (its
// endpoints) and of the other modules' (auth: the token checks of the
// endpoints and of RequireAccessToken). A nil logger discards; nil metrics
// record nothing.
func NewHandler(users *application.EndUsers, auth *application.Auth, log *slog.Logger, metrics *Metrics, opts Options) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{users: users, auth: auth, log: log, metrics: metrics, opts: opts, cors: newCORS(opts.CORSOrigins),
		clientIP: clientIPExtractor(opts.TrustedProxies)}
}

// IPExtractor is the module's client IP rule, built from
// Options.TrustedProxies: a host sets it as its Echo's IPExtractor so that its
// own routes, its logs and the module's limits agree on who the client is
// (the module never reads nor changes the host's).
func (h *Handler) IPExtractor() echo.IPExtractor { return h.clientIP }

// clientIPExtractor makes the client IP of a request whose peer is in one of
// cidrs the right-most X-Forwarded-For hop that is not (no cidrs: the peer,
// always). Loopback, link-local and private ranges are trusted only when
// listed. The host's Echo.IPExtractor is neither used nor changed.
func clientIPExtractor(cidrs []netip.Prefix) echo.IPExtractor {
	if len(cidrs) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range cidrs {
		p = p.Masked()
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// Register mounts the module's routes on g. Every route but the JWKS is
// subject to the per-client-IP request limit (when the service has limits):
// the logins take their request from the bucket inside the service, together
// with the lockout check (one limiter call), the others here.
// With CORS origins configured (Options.CORSOrigins), the routes answer their
// preflight requests too.
func (h *Handler) Register(g *echo.Group) {
	var mw []echo.MiddlewareFunc
	if h.cors != nil {
		mw = append(mw, h.cors)
		preflight := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
		for _, p := range []string{PathWeChatOffiaccountLogin, PathWeChatMiniprogramLogin, PathRefreshToken, PathUserLogout, PathUserInfo, PathSetUserInfo, PathUserDelete, PathJWKS} {
			g.OPTIONS(p, h.guard("preflight", preflight), mw...)
		}
	}
	g.POST(PathWeChatOffiaccountLogin, h.guard("login", h.wechatOffiaccountLogin), mw...)
	g.POST(PathWeChatMiniprogramLogin, h.guard("login_miniprogram", h.wechatMiniprogramLogin), mw...)
	g.PUT(PathRefreshToken, h.guard("refresh", h.limited(h.refreshToken)), mw...)
	g.DELETE(PathUserLogout, h.guard("logout", h.limited(h.userLogout)), mw...)
	g.GET(PathUserInfo, h.guard("userinfo", h.limited(h.userInfo)), mw...)
	g.PUT(PathSetUserInfo, h.guard("setuserinfo", h.limited(h.setUserInfo)), mw...)
	g.DELETE(PathUserDelete, h.guard("userdelete", h.limited(h.userDelete)), mw...)
	g.GET(PathJWKS, h.guard("jwks", h.jwks), mw...)
	g.GET(PathOpenAPI, serveOpenAPI)
}

// clientIPOf is the request's client IP, canonical ("" when unparsable).
func (h *Handler) clientIPOf(req *http.Request) string {
	ip, err := netip.ParseAddr(h.clientIP(req))
	if err != nil {
		return ""
	}
	return ip.Unmap().String()
}

// limited refuses a request over its client IP's rate (5148, Retry-After).
func (h *Handler) limited(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := h.users.Admit(c.Request().Context()); err != nil {
			return h.fail(c, err)
		}
		return next(c)
	}
}

// envelope is the platform's answer format, success or failure.
type envelope struct {
	Code   int     `json:"code"`
	Msg    string  `json:"msg"`
	Data   any     `json:"data"`
	ExtMsg *string `json:"extMsg"`
}

type tokenDTO struct {
	Token          string `json:"token"`
	ExpirationTime int64  `json:"expirationTime"`
}

type tokenPairDTO struct {
	AccessToken  tokenDTO `json:"accessToken"`
	RefreshToken tokenDTO `json:"refreshToken"`
}

// bearerPrefix is part of the platform's token strings; clients send them back verbatim.
const bearerPrefix = "Bearer "

func pairDTO(p domain.TokenPair) tokenPairDTO {
	return tokenPairDTO{
		AccessToken:  tokenDTO{Token: bearerPrefix + p.Access.Value, ExpirationTime: p.Access.ExpiresAt.Unix()},
		RefreshToken: tokenDTO{Token: bearerPrefix + p.Refresh.Value, ExpirationTime: p.Refresh.ExpiresAt.Unix()},
	}
}

// codeKey is the echo.Context key of the business code an answer carried.
const codeKey = "enduser.code"

func ok(c echo.Context, data any) error {
	c.Set(codeKey, codeSuccess)
	return c.JSON(http.StatusOK, envelope{Code: codeSuccess, Msg: "", Data: data})
}

// okExt is a success whose extMsg says more (a JSON text, as the platform
// puts it there).
func okExt(c echo.Context, data any, ext string) error {
	c.Set(codeKey, codeSuccess)
	return c.JSON(http.StatusOK, envelope{Code: codeSuccess, Msg: "", Data: data, ExtMsg: &ext})
}

// fail answers err with its business code. Unexpected errors are logged with
// their cause (unless the service logged them already: each failure is
// logged once) and answered with a generic 5000: a cause never reaches a
// client.
func (h *Handler) fail(c echo.Context, err error) error {
	return h.answerFailure(c, err, application.Logged(err))
}

// answerFailure is fail; logged says that err has been logged already.
func (h *Handler) answerFailure(c echo.Context, err error, logged bool) error {
	r := responseForRoute(c.Path(), err)
	c.Set(codeKey, r.code)
	c.Response().Header().Set(echo.HeaderXContentTypeOptions, "nosniff") // also on RequireAccessToken's refusals
	env := envelope{Code: r.code, Msg: r.en}
	if prefersChinese(c.Request().Header.Get("Accept-Language")) {
		env.Msg = r.zh
	}
	if r == internalResponse {
		if !logged {
			h.log.ErrorContext(c.Request().Context(), "request failed", slog.String("method", c.Request().Method),
				slog.String("path", c.Path()), slog.String("error", err.Error()))
		}
	} else if d := domain.DetailOf(err); d != "" {
		env.ExtMsg = &d
	}
	if ra := domain.RetryAfterOf(err); ra > 0 {
		// Whole seconds, rounded up: a client that waits that long passes.
		c.Response().Header().Set("Retry-After", strconv.FormatInt(int64((ra+time.Second-1)/time.Second), 10))
	}
	return c.JSON(r.status, env)
}

// guard answers a panic in a handler with the 5000 envelope instead of letting
// it reach the host's error handler, and records the answer in the metrics
// and the request's trace span.
func (h *Handler) guard(endpoint string, next echo.HandlerFunc) echo.HandlerFunc {
	noStore := endpoint != "jwks" && endpoint != "preflight" // every other answer carries a token or personal data, or may
	return func(c echo.Context) (err error) {
		start := time.Now()
		span := h.startSpan(c)
		h.prepare(c, noStore)
		defer func() {
			code, _ := c.Get(codeKey).(int)
			h.metrics.observe(endpoint, code, time.Since(start))
			endSpan(span, c, code)
		}()
		defer func() {
			if v := recover(); v != nil {
				if e, ok := v.(error); ok && errors.Is(e, http.ErrAbortHandler) {
					panic(v)
				}
				h.log.ErrorContext(c.Request().Context(), "panic in handler", slog.String("path", c.Path()),
					slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
				err = h.answerFailure(c, fmt.Errorf("panic: %v", v), true) // logged just above
			}
		}()
		return next(c)
	}
}

func (h *Handler) wechatOffiaccountLogin(c echo.Context) error {
	return h.login(c, func(p params) (application.LoginResult, error) {
		return h.users.LoginWithWeChatOfficialAccount(c.Request().Context(), application.WeChatLogin{
			UserDomain: p.get("userDomain"),
			AppID:      p.get("appId"),
			Code:       p.get("code"),
			Signature:  p.get("signature"),
			MCC:        p.get("mcc"),
		})
	})
}

func (h *Handler) wechatMiniprogramLogin(c echo.Context) error {
	return h.login(c, func(p params) (application.LoginResult, error) {
		return h.users.LoginWithWeChatMiniProgram(c.Request().Context(), application.WeChatMiniProgramLogin{
			UserDomain: p.get("userDomain"),
			AppID:      p.get("appId"),
			JSCode:     p.get("jsCode"),
			Signature:  p.get("signature"),
			MCC:        p.get("mcc"),
		})
	})
}

// login answers a login endpoint: its parameters read, the token pair or the
// failure.
func (h *Handler) login(c echo.Context, do func(params) (application.LoginResult, error)) error {
	res, err := do(readParams(c.Request()))
	if err != nil {
		return h.fail(c, err)
	}
	if res.DeletionCancelled {
		return okExt(c, pairDTO(res.Tokens), extDeletionCancelled)
	}
	return ok(c, pairDTO(res.Tokens))
}

// extDeletionCancelled is the extMsg of a login that cancelled the user's
// pending deletion.
const extDeletionCancelled = `{"deletionCancelled":true}`

// userDelete is the end user's account deletion: the token first (5106,
// 5032), then the type (5152), then the request (5129 when it could not be
// recorded).
func (h *Handler) userDelete(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := h.auth.VerifyAccessToken(ctx, c.Request().Header.Get(echo.HeaderAuthorization))
	if err != nil {
		h.logTokenRefused(c, err)
		return h.fail(c, err)
	}
	t, err := domain.ParseDeletionType(readParams(c.Request()).get("type"))
	if err != nil {
		return h.fail(c, err)
	}
	if _, err := h.users.DeleteAccount(ctx, p, t); err != nil {
		return h.fail(c, err)
	}
	return ok(c, nil)
}

func (h *Handler) refreshToken(c echo.Context) error {
	p := readParams(c.Request())
	pair, err := h.users.Refresh(c.Request().Context(), p.get("refreshToken"))
	if err != nil {
		return h.fail(c, err)
	}
	return ok(c, pairDTO(pair))
}

func (h *Handler) userLogout(c echo.Context) error {
	p := readParams(c.Request())
	if err := h.users.LogoutDevice(c.Request().Context(), c.Request().Header.Get(echo.HeaderAuthorization), p.get("deviceId")); err != nil {
		return h.fail(c, err)
	}
	return ok(c, nil)
}

// userInfoDTO is the platform's user information; fields this module does not
// know (phone, other logins) and profile fields never set are present and
// empty strings, as clients expect them; the profile's numbers (sex, lang,
// nationality, timezone) are their decimal text, as the platform's strings.
type userInfoDTO struct {
	UID                     string `json:"uid"`
	UserDomain              string `json:"userDomain"`
	NikeName                string `json:"nikeName"`
	Phone                   string `json:"phone"`
	Email                   string `json:"email"`
	Address                 string `json:"address"`
	Sex                     string `json:"sex"`
	Headimg                 string `json:"headimg"`
	Lang                    string `json:"lang"`
	Timezone                string `json:"timezone"`
	NationalityID           string `json:"nationalityId"`
	Nationality             string `json:"nationality"`
	Province                string `json:"province"`
	City                    string `json:"city"`
	Signature               string `json:"signature"`
	Remark                  string `json:"remark"`
	WechatMiniprogramUserID string `json:"wechatMiniprogramUserId"`
	WechatOffiaccountUserID string `json:"wechatOffiaccountUserId"`
	WechatUnionID           string `json:"wechatUnionId"`
	AppleUserID             string `json:"appleUserId"`
	TwitterUserID           string `json:"twitterUserId"`
	FacebookUserID          string `json:"facebookUserId"`
	LogonMode               string `json:"logonMode"`
	Status                  int    `json:"status"`
	RegisterTime            int64  `json:"registerTime"`
	LastLoginTime           int64  `json:"lastLoginTime"`
}

// logonModes name how a user registered (userInfo's logonMode), by the kind
// of WeChat app of its first login.
var logonModes = map[domain.AppKind]string{
	domain.AppKindOfficialAccount: "wechatOffiaccount",
	domain.AppKindMiniProgram:     "wechatMiniprogram",
}

func (h *Handler) userInfo(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := h.auth.VerifyAccessToken(ctx, c.Request().Header.Get(echo.HeaderAuthorization))
	if err != nil {
		h.logTokenRefused(c, err)
		return h.fail(c, err)
	}
	prof, err := h.users.UserInfo(ctx, p)
	if err != nil {
		return h.fail(c, err)
	}
	pr := prof.Profile
	return ok(c, userInfoDTO{
		UID:                     prof.User.ID(),
		UserDomain:              p.UserDomain,
		NikeName:                pr.NikeName,
		Headimg:                 pr.HeadImage,
		Sex:                     intText(pr.Sex),
		Address:                 pr.Address,
		Province:                pr.Province,
		City:                    pr.City,
		Signature:               pr.Signature,
		Remark:                  pr.Remark,
		Lang:                    intText(pr.Lang),
		Nationality:             intText(pr.Nationality),
		NationalityID:           intText(pr.Nationality),
		Timezone:                intText(pr.Timezone),
		WechatOffiaccountUserID: prof.OfficialAccount.OpenID(),
		WechatMiniprogramUserID: prof.MiniProgram.OpenID(),
		WechatUnionID:           prof.UnionID,
		LogonMode:               logonModes[prof.RegisteredVia],
		Status:                  int(prof.User.Status()),
		RegisterTime:            prof.User.RegisteredAt().UnixMilli(),
		LastLoginTime:           prof.User.LastLoginAt().UnixMilli(),
	})
}

// intText is an optional number as the platform's text ("" unset).
func intText(v *int) string {
	if v == nil {
		return ""
	}
	return strconv.Itoa(*v)
}

func (h *Handler) setUserInfo(c echo.Context) error {
	p := readParams(c.Request())
	sent := map[string]string{}
	for _, name := range domain.ProfileParams {
		if v, ok := p.lookup(name); ok {
			sent[name] = v
		}
	}
	err := h.users.SetUserInfo(c.Request().Context(), c.Request().Header.Get(echo.HeaderAuthorization), sent)
	if err != nil {
		if domain.IsKind(err, domain.KindTokenInvalid) || domain.IsKind(err, domain.KindAccessTokenRequired) {
			h.logTokenRefused(c, err)
		}
		return h.fail(c, err)
	}
	return ok(c, nil)
}

func (h *Handler) jwks(c echo.Context) error {
	b, err := h.users.JWKS(c.Request().Context())
	if err != nil {
		return h.fail(c, err)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=60")
	return c.JSONBlob(http.StatusOK, b)
}
