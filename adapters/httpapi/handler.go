// Package httpapi is the Echo adapter of the end-user authentication module:
// the platform's end-user API endpoints and a middleware that lets other
// modules protect their routes with this module's access tokens. It registers
// routes on an *echo.Group the host gives it and never touches the host's
// global error handler: every answer, failures included, is written here.
package httpapi

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"

	"github.com/labstack/echo/v4"

	"github.com/iotplatform/enduser-auth/application"
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
	// PathWeChatMiniprogramPhoneNumber binds the mini program's phone number
	// (phone.go).
	PathWeChatMiniprogramPhoneNumber = "/v2/enduser/enduserapi/wechatMiniprogramPhoneNumber"
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
		for _, p := range []string{PathWeChatOffiaccountLogin, PathWeChatMiniprogramLogin, PathRefreshToken, PathUserLogout, PathUserInfo, PathSetUserInfo, PathUserDelete, PathJWKS, PathWeChatMiniprogramPhoneNumber} {
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
	g.POST(PathWeChatMiniprogramPhoneNumber, h.guard("phone_miniprogram", h.limited(h.wechatMiniprogramPhoneNumber)), mw...)
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
