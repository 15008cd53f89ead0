package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// The native app's and the website's doors in `enduser dev` (issue 21): a
// demo mobile app (the banner prints a curl for its login) and a demo
// website app whose redirect URI is dev's own page, /dev/website-login,
// which plays the web console.
const (
	devMobileAppID     = "wx0123456789mobile"
	devMobileAppSecret = "demo-mobile-app-secret-012345678" //nolint:gosec // G101: the dev command's demo tenant, public by design (README)
	devWebAppID        = "wx0123456789web"
	devWebAppSecret    = "demo-website-app-secret-01234567" //nolint:gosec // G101: the dev command's demo tenant, public by design (README)
	devWebsitePage     = "/dev/website-login"
)

// devWebsiteRedirects are the demo website app's redirect URIs: dev's page
// on the bound port, by 127.0.0.1 and by localhost.
func devWebsiteRedirects(bound string) []string {
	host := loopbackAddr(bound)
	_, port, _ := strings.Cut(host, ":")
	return []string{"http://" + host + devWebsitePage, "http://localhost:" + port + devWebsitePage}
}

// provisionDevWebsite registers the demo website app with the redirect URIs
// of the bound address (known once dev listens).
func (a *app) provisionDevWebsite(ctx context.Context, bound string) error {
	if err := a.module.Operators.PutWebsiteApp(ctx, devUserDomain, devWebAppID, devWebAppSecret, devWebsiteRedirects(bound)); err != nil {
		return fmt.Errorf("provision demo website app: %w", err)
	}
	return nil
}

// devRoutes mounts dev's website console page.
func devRoutes(e *echo.Echo) {
	e.GET(devWebsitePage, func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.HTML(http.StatusOK, devWebsiteHTML)
	})
}

// devWebsiteHTML plays the web console: without a code it fetches a state
// (credentials included: the nonce cookie) and follows authorizeUrl (the
// fake WeChat's QR page, which comes straight back); back with code and
// state it posts the login, then shows the user's uid (userInfo).
var devWebsiteHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>enduser dev: WeChat website login</title></head>
<body>
<h1>WeChat website login (enduser dev)</h1>
<p>Status: <span id="status">starting</span></p>
<p>uid: <code id="uid"></code></p>
<script>
const userDomain = "` + devUserDomain + `", appId = "` + devWebAppID + `";
const api = "/v2/enduser/enduserapi/";
const here = location.origin + location.pathname;
const params = new URLSearchParams(location.search);
const show = (s) => { document.getElementById("status").textContent = s; };
async function main() {
  if (params.has("code")) {
    show("logging in");
    const r = await fetch(api + "wechatWebsiteAuthLogin", {
      method: "POST", credentials: "include", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({userDomain, appId, code: params.get("code"), state: params.get("state") || ""}),
    });
    const login = await r.json();
    if (login.code !== 200) { show("login failed: " + login.code + " " + login.msg); return; }
    const info = await (await fetch(api + "userInfo", {headers: {Authorization: login.data.accessToken.token}})).json();
    if (info.code !== 200) { show("userInfo failed: " + info.code + " " + info.msg); return; }
    document.getElementById("uid").textContent = info.data.uid;
    show("logged in");
    return;
  }
  const q = new URLSearchParams({userDomain, appId, redirectUri: here});
  const st = await (await fetch(api + "wechatWebsiteAuthState?" + q, {credentials: "include"})).json();
  if (st.code !== 200) { show("state failed: " + st.code + " " + st.msg); return; }
  show("to WeChat's QR page");
  location.assign(st.data.authorizeUrl);
}
main().catch((e) => show("error: " + e));
</script>
</body></html>
`
