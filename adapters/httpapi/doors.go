package httpapi

// The native app's and the website's doors (issue 21): the native app's
// login (the official account's contract), the website QR-code login's state
// (which sets the browser's nonce cookie) and its login (no signature: the
// state bound to the cookie is the proof). The two website endpoints answer
// CORS with credentials for the configured origins; no other endpoint does.

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// The routes of the native app's and the website's doors.
const (
	PathWeChatAppLogin     = "/v2/enduser/enduserapi/wechatAppAuthLogin"
	PathWeChatWebsiteState = "/v2/enduser/enduserapi/wechatWebsiteAuthState"
	PathWeChatWebsiteLogin = "/v2/enduser/enduserapi/wechatWebsiteAuthLogin"
)

// WebsiteNonceCookie is the cookie holding the browser's nonce, to which
// a website login's state is bound.
const WebsiteNonceCookie = "enduser_wx_nonce"

// websiteNonceLen is a nonce's length in characters (32 random bytes,
// base64url without padding).
const websiteNonceLen = 43

// registerDoors mounts the native app's and the website's routes.
func (h *Handler) registerDoors(g *echo.Group) {
	var mw []echo.MiddlewareFunc
	if h.cors != nil {
		mw = append(mw, h.cors)
		g.OPTIONS(PathWeChatAppLogin, h.guard("preflight", preflight), mw...)
	}
	g.POST(PathWeChatAppLogin, h.guard("login_app", h.wechatAppLogin), mw...)
	var web []echo.MiddlewareFunc
	if cors := newCredentialedCORS(h.opts.CORSOrigins); cors != nil {
		web = append(web, cors)
		g.OPTIONS(PathWeChatWebsiteState, h.guard("preflight", preflight), web...)
		g.OPTIONS(PathWeChatWebsiteLogin, h.guard("preflight", preflight), web...)
	}
	g.GET(PathWeChatWebsiteState, h.guard("website_state", h.limited(h.wechatWebsiteState)), web...)
	g.POST(PathWeChatWebsiteLogin, h.guard("login_website", h.wechatWebsiteLogin), web...)
}

func preflight(c echo.Context) error { return c.NoContent(http.StatusNoContent) }

// newCredentialedCORS is the website endpoints' CORS: the configured
// origins (never "*"), with credentials (the nonce cookie).
func newCredentialedCORS(origins []string) echo.MiddlewareFunc {
	var exact []string
	for _, o := range origins {
		if o != "*" { // credentials are never allowed for every origin
			exact = append(exact, o)
		}
	}
	if len(exact) == 0 {
		return nil
	}
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins:     exact,
		AllowMethods:     []string{http.MethodGet, http.MethodPost},
		AllowHeaders:     []string{echo.HeaderContentType, "Accept-Language", echo.HeaderXRequestID},
		ExposeHeaders:    []string{echo.HeaderXRequestID, echo.HeaderRetryAfter},
		AllowCredentials: true,
		MaxAge:           600,
	})
}

func (h *Handler) wechatAppLogin(c echo.Context) error {
	return h.login(c, func(p params) (application.LoginResult, error) {
		return h.users.LoginWithWeChatApp(c.Request().Context(), application.WeChatLogin{
			UserDomain: p.get("userDomain"),
			AppID:      p.get("appId"),
			Code:       p.get("code"),
			Signature:  p.get("signature"),
			MCC:        p.integer("mcc"),
		})
	})
}

// websiteStateDTO is the state endpoint's data.
type websiteStateDTO struct {
	State          string `json:"state"`
	AuthorizeURL   string `json:"authorizeUrl"`
	ExpirationTime int64  `json:"expirationTime"`
}

// wechatWebsiteState starts a website login: the browser's nonce (the one
// its cookie holds, or a new one), the state bound to it, and the cookie
// (set again, so that it lives as long as the newest state).
func (h *Handler) wechatWebsiteState(c echo.Context) error {
	q := c.Request().URL.Query()
	nonce := websiteNonce(c.Request())
	if nonce == "" {
		var b [32]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
		nonce = base64.RawURLEncoding.EncodeToString(b[:])
	}
	st, err := h.users.StartWebsiteLogin(c.Request().Context(), application.WebsiteStateRequest{
		UserDomain: q.Get("userDomain"), AppID: q.Get("appId"), RedirectURI: q.Get("redirectUri"), Nonce: nonce,
	})
	if err != nil {
		return h.fail(c, err)
	}
	// Secure but for dev's plain HTTP on loopback (insecureCookieAllowed).
	c.SetCookie(&http.Cookie{ //nolint:gosec // G124: HttpOnly and SameSite=Lax always; Secure except dev on loopback
		Name: WebsiteNonceCookie, Value: nonce, Path: "/", MaxAge: int(domain.WebsiteStateTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: !h.insecureCookieAllowed(c.Request()),
	})
	return ok(c, websiteStateDTO{State: st.State, AuthorizeURL: st.AuthorizeURL, ExpirationTime: st.ExpiresAt.Unix()})
}

func (h *Handler) wechatWebsiteLogin(c echo.Context) error {
	return h.login(c, func(p params) (application.LoginResult, error) {
		return h.users.LoginWithWeChatWebsite(c.Request().Context(), application.WebsiteLogin{
			UserDomain: p.get("userDomain"),
			AppID:      p.get("appId"),
			Code:       p.get("code"),
			State:      p.get("state"),
			Nonce:      websiteNonce(c.Request()),
			MCC:        p.integer("mcc"),
		})
	})
}

// websiteNonce is the nonce the request's cookie holds, "" when none or
// not one this module makes.
func websiteNonce(r *http.Request) string {
	ck, err := r.Cookie(WebsiteNonceCookie)
	if err != nil || len(ck.Value) != websiteNonceLen {
		return ""
	}
	if _, err := base64.RawURLEncoding.DecodeString(ck.Value); err != nil {
		return ""
	}
	return ck.Value
}

// insecureCookieAllowed reports whether the nonce cookie may go without
// Secure: only when the host allows it (enduser dev), over plain HTTP, from a
// loopback peer to a loopback host.
func (h *Handler) insecureCookieAllowed(r *http.Request) bool {
	if !h.opts.InsecureLoopbackCookie || r.TLS != nil {
		return false
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	return isLoopback(strings.Trim(host, "[]")) && isLoopback(peer)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
