package wechatfake

import (
	"html"
	"net/http"
	"net/url"
)

// The Open Platform's doors (issue 21): a mobile application's and a website
// application's codes are exchanged at the official account's
// /sns/oauth2/access_token, as at WeChat; the website's QR-code page,
// /connect/qrconnect, is played by a redirect: the fake "scans" at once, as
// the person SetQRUser names, and sends the browser back to redirect_uri
// with a code and the state.

const pathQRConnect = "/connect/qrconnect"

// AddMobileApp registers (or updates) an Open Platform mobile application:
// its SendAuth codes are exchanged at /sns/oauth2/access_token.
func (s *Server) AddMobileApp(appID, appSecret string) { s.AddAccount(appID, appSecret) }

// AddWebsiteApp registers (or updates) an Open Platform website application:
// /connect/qrconnect issues its codes, /sns/oauth2/access_token exchanges
// them.
func (s *Server) AddWebsiteApp(appID, appSecret string) { s.AddAccount(appID, appSecret) }

// SetQRUser sets the person the QR-code page logs in (default: the person
// "demo" of the permissive mode, OpenIDForLabel(appID, "demo"), without
// unionid).
func (s *Server) SetQRUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.qrUser = &u
}

// qrConnect answers GET /connect/qrconnect: for a registered app, a
// website-login request (response_type=code, scope snsapi_login, an
// absolute http(s) redirect_uri) is redirected (302) to
// redirect_uri?code=CODE&state=STATE, the code issued for the QR person; any
// other request gets WeChat's kind of error page (HTTP 200, HTML, no
// redirect).
func (s *Server) qrConnect(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appID, redirect := q.Get("appid"), q.Get("redirect_uri")
	s.mu.Lock()
	_, known := s.accounts[appID]
	u := User{OpenID: OpenIDForLabel(appID, "demo")}
	if s.qrUser != nil {
		u = *s.qrUser
	}
	s.mu.Unlock()
	target, err := url.Parse(redirect)
	switch {
	case !known:
		qrError(w, "appid 参数错误 (unknown appid)")
		return
	case err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "":
		qrError(w, "redirect_uri 参数错误")
		return
	case q.Get("response_type") != "code" || q.Get("scope") != "snsapi_login":
		qrError(w, "scope 参数错误或没有 scope 权限")
		return
	}
	code := s.issue(pathOAuth, appID, u)
	back := target.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	target.RawQuery = back.Encode()
	// The fake's whole point: WeChat sends the browser back to the app's
	// redirect_uri (a test double; real WeChat checks it against the app's
	// registered domain).
	http.Redirect(w, r, target.String(), http.StatusFound) //nolint:gosec // G710: the fake plays WeChat's redirect to redirect_uri

}

func qrError(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("<!doctype html><html><body><p>" + html.EscapeString(msg) + "</p></body></html>\n"))
}
