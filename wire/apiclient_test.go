package wire_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/iotplatform/enduser-auth/adapters/httpapi/apiclient"
	"github.com/iotplatform/enduser-auth/adapters/httpapi/openapitest"
	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// apiModule is the module the generated client talks to: its routes served
// over HTTP by a host's Echo, on real PostgreSQL, with WeChat faked, and one
// user domain holding one official account.
type apiModule struct {
	url        string // where the module's routes answer
	wechat     *wechatfake.Server
	userDomain string
	secret     string // the user domain's signing secret
	appID      string // the official account's
}

// newAPIModule assembles, runs and provisions the module. It is the one place
// that knows wire's API (NewModule, Start/Stop, mod.Operators provisioning),
// so that a change of that API is adapted here alone.
// apiMiniAppID is the mini program of the generated client's user domain.
const apiMiniAppID = "wxapiclientmini"

func newAPIModule(t *testing.T) apiModule {
	t.Helper()
	ctx := context.Background()
	const appID, appSecret = "wxapiclient", "apiclient-secret"
	fake := wechatfake.New()
	fake.AddAccount(appID, appSecret)
	wx := httptest.NewServer(fake)
	t.Cleanup(wx.Close)
	mod, err := modwire.NewModule(testConfig(4, wx.URL), modwire.Host{DB: pgtest.Open(t), HTTPClient: wechat.NewHTTPClient(0)})
	if err != nil {
		t.Fatal(err)
	}
	runModule(t, mod)
	ud, err := mod.Operators.CreateUserDomain(ctx, "A.DM.1.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := mod.Operators.PutOfficialAccount(ctx, ud.Name(), appID, appSecret); err != nil {
		t.Fatal(err)
	}
	fake.AddMiniProgram(apiMiniAppID, appSecret) // for the phone number
	if err := mod.Operators.PutMiniProgram(ctx, ud.Name(), apiMiniAppID, appSecret); err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	mod.HTTP.Register(e.Group(""))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return apiModule{url: srv.URL, wechat: fake, userDomain: ud.Name(), secret: ud.Secret(), appID: appID}
}

// newAPIClient is the client generated from the API document
// (adapters/httpapi/apiclient), over a transport that validates every answer
// against the document with kin-openapi (openapitest.Transport).
func newAPIClient(t *testing.T, url string) *apiclient.ClientWithResponses {
	t.Helper()
	c, err := apiclient.NewClientWithResponses(url,
		apiclient.WithHTTPClient(&http.Client{Timeout: 30 * time.Second, Transport: openapitest.Transport(nil)}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// bearer does what a generated client's bearer-token option does, where the
// document asks for it: it sends tok (as answered, with its "Bearer " prefix)
// in Authorization on the operations whose security is bearerAuth, and
// nothing on the others. A token-taking endpoint the document leaves without
// security therefore answers 5106 here, as it would to any generated client.
func bearer(tok string) apiclient.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		need, err := openapitest.RequiresBearer(req)
		if err != nil {
			return err
		}
		if need {
			req.Header.Set("Authorization", tok)
		}
		return nil
	}
}

func ptr[T any](v T) *T { return &v }

// TestGeneratedClientDrivesTheModule: the Go client generated from the API
// document logs in with an official account (JSON body and query), refreshes,
// reads and changes the user's profile, and logs out, against the module's
// real handler; every answer is also validated against the document. A
// document whose paths, methods, parameters, security or answers differ from
// what the server does fails to compile here or fails this test.
func TestGeneratedClientDrivesTheModule(t *testing.T) {
	ctx := context.Background()
	m := newAPIModule(t)
	c := newAPIClient(t, m.url)

	// A refused login: HTTP 200, the failure envelope with its business code.
	code := m.wechat.IssueCode(m.appID, wechatfake.User{OpenID: "o-apiclient"})
	bad, err := c.WechatOffiaccountAuthLoginWithResponse(ctx, &apiclient.WechatOffiaccountAuthLoginParams{},
		apiclient.LoginParams{UserDomain: &m.userDomain, AppId: &m.appID, Code: &code, Signature: ptr(strings.Repeat("0", 64))})
	if err != nil {
		t.Fatal(err)
	}
	if bad.StatusCode() != http.StatusOK || bad.JSON200 == nil {
		t.Fatalf("refused login: HTTP %d %s", bad.StatusCode(), bad.Body)
	}
	if f, err := bad.JSON200.AsLoginFailure(); err != nil || f.Code != apiclient.LoginFailureCodeN5420 || f.Msg == "" {
		t.Fatalf("refused login: %+v %v (%s)", f, err, bad.Body)
	}

	// Login (official account), the parameters in a JSON body.
	login, err := c.WechatOffiaccountAuthLoginWithResponse(ctx, &apiclient.WechatOffiaccountAuthLoginParams{},
		apiclient.LoginParams{UserDomain: &m.userDomain, AppId: &m.appID, Code: &code, Signature: ptr(domain.LoginSignature(m.appID, code, m.secret))})
	if err != nil {
		t.Fatal(err)
	}
	if login.StatusCode() != http.StatusOK || login.JSON200 == nil {
		t.Fatalf("login: HTTP %d %s", login.StatusCode(), login.Body)
	}
	won, err := login.JSON200.AsLoginSuccess()
	if err != nil || won.Code != apiclient.N200 || won.Msg != "" || won.ExtMsg != nil {
		t.Fatalf("login: %+v %v (%s)", won, err, login.Body)
	}
	pair := won.Data
	if !strings.HasPrefix(pair.AccessToken.Token, "Bearer ") || !strings.HasPrefix(pair.RefreshToken.Token, "Bearer ") ||
		pair.AccessToken.ExpirationTime <= time.Now().Unix() || pair.RefreshToken.ExpirationTime < pair.AccessToken.ExpirationTime {
		t.Fatalf("login's token pair: %+v", pair)
	}

	// The same login, the parameters in the query (a second session of the same user).
	code2 := m.wechat.IssueCode(m.appID, wechatfake.User{OpenID: "o-apiclient"})
	login2, err := c.WechatOffiaccountAuthLoginWithBodyWithResponse(ctx, &apiclient.WechatOffiaccountAuthLoginParams{
		UserDomain: &m.userDomain, AppId: &m.appID, Code: &code2, Signature: ptr(domain.LoginSignature(m.appID, code2, m.secret)),
	}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := login2.JSON200.AsLoginSuccess(); err != nil || s.Code != apiclient.N200 {
		t.Fatalf("login with query parameters: %+v %v (%s)", s, err, login2.Body)
	}

	// Refresh: the refresh token in a JSON body; refresh takes no access token.
	ref, err := c.RefreshTokenWithResponse(ctx, &apiclient.RefreshTokenParams{},
		apiclient.RefreshParams{RefreshToken: &pair.RefreshToken.Token}, bearer(pair.AccessToken.Token))
	if err != nil {
		t.Fatal(err)
	}
	if got := ref.HTTPResponse.Request.Header.Get("Authorization"); got != "" {
		t.Fatalf("refresh sent the access token (the document gives it security): %q", got)
	}
	next, err := ref.JSON200.AsTokenPairSuccess()
	if err != nil || next.Code != apiclient.N200 || next.Data.RefreshToken.Token == pair.RefreshToken.Token ||
		!strings.HasPrefix(next.Data.AccessToken.Token, "Bearer ") {
		t.Fatalf("refresh: %+v %v (%s)", next, err, ref.Body)
	}
	pair = next.Data
	// The next one, the refresh token in the query.
	ref, err = c.RefreshTokenWithBodyWithResponse(ctx, &apiclient.RefreshTokenParams{RefreshToken: &pair.RefreshToken.Token}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if next, err = ref.JSON200.AsTokenPairSuccess(); err != nil || next.Code != apiclient.N200 {
		t.Fatalf("refresh with a query parameter: %+v %v (%s)", next, err, ref.Body)
	}
	pair = next.Data
	ref, err = c.RefreshTokenWithResponse(ctx, &apiclient.RefreshTokenParams{}, apiclient.RefreshParams{RefreshToken: ptr("Bearer forged")})
	if err != nil {
		t.Fatal(err)
	}
	if f, err := ref.JSON200.AsRefreshFailure(); err != nil || f.Code != apiclient.RefreshFailureCodeN5032 {
		t.Fatalf("forged refresh token: %+v %v (%s)", f, err, ref.Body)
	}

	// userInfo: without the token 5106; with it, the user.
	info, err := c.UserInfoWithResponse(ctx, &apiclient.UserInfoParams{})
	if err != nil {
		t.Fatal(err)
	}
	if f, err := info.JSON200.AsUserInfoFailure(); err != nil || f.Code != apiclient.UserInfoFailureCodeN5106 {
		t.Fatalf("userInfo without a token: %+v %v (%s)", f, err, info.Body)
	}
	user := func(wantMsgLang string) apiclient.UserInfo {
		t.Helper()
		info, err := c.UserInfoWithResponse(ctx, &apiclient.UserInfoParams{AcceptLanguage: &wantMsgLang}, bearer(pair.AccessToken.Token))
		if err != nil {
			t.Fatal(err)
		}
		s, err := info.JSON200.AsUserInfoSuccess()
		if err != nil || s.Code != apiclient.N200 {
			t.Fatalf("userInfo: %+v %v (%s)", s, err, info.Body)
		}
		return s.Data
	}
	u := user("en")
	if u.Uid == "" || u.UserDomain != m.userDomain || u.WechatOffiaccountUserId != "o-apiclient" ||
		u.LogonMode != apiclient.WechatOffiaccount || u.RegisterTime <= 0 || u.LastLoginTime < u.RegisterTime {
		t.Fatalf("userInfo: %+v", u)
	}

	// setUserInfo: a JSON body (a number where the document allows one), then
	// a query parameter; a refused change names the parameter in extMsg.
	set, err := c.SetUserInfoWithResponse(ctx, &apiclient.SetUserInfoParams{},
		apiclient.SetUserInfoJSONRequestBody{NikeName: "Ivan", Sex: 1, City: "Hangzhou"}, bearer(pair.AccessToken.Token))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := set.JSON200.AsEmptySuccess(); err != nil || s.Code != apiclient.N200 || s.Data != nil {
		t.Fatalf("setUserInfo (JSON): %+v %v (%s)", s, err, set.Body)
	}
	set, err = c.SetUserInfoWithBodyWithResponse(ctx, &apiclient.SetUserInfoParams{Province: ptr("Zhejiang")}, "", nil, bearer(pair.AccessToken.Token))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := set.JSON200.AsEmptySuccess(); err != nil || s.Code != apiclient.N200 {
		t.Fatalf("setUserInfo (query): %+v %v (%s)", s, err, set.Body)
	}
	set, err = c.SetUserInfoWithResponse(ctx, &apiclient.SetUserInfoParams{AcceptLanguage: ptr("zh-CN")},
		apiclient.SetUserInfoJSONRequestBody{NikeName: strings.Repeat("名", 51)}, bearer(pair.AccessToken.Token))
	if err != nil {
		t.Fatal(err)
	}
	if f, err := set.JSON200.AsSetUserInfoFailure(); err != nil || f.Code != apiclient.SetUserInfoFailureCodeN5060 ||
		f.Msg != "昵称过长" || f.ExtMsg == nil || !strings.Contains(*f.ExtMsg, "nikeName") {
		t.Fatalf("setUserInfo with a long nikeName: %+v %v (%s)", f, err, set.Body)
	}
	if u := user("en"); u.NikeName != "Ivan" || u.Sex != "1" || u.City != "Hangzhou" || u.Province != "Zhejiang" {
		t.Fatalf("userInfo after setUserInfo: %+v", u)
	}

	// The phone number from the mini program of the user domain: masked in
	// the answer and in userInfo; a replayed phoneCode answers 5398.
	phone, err := c.WechatMiniprogramPhoneNumberWithResponse(ctx, &apiclient.WechatMiniprogramPhoneNumberParams{},
		apiclient.WechatMiniprogramPhoneNumberJSONRequestBody{AppId: ptr(apiMiniAppID), PhoneCode: ptr("13800138000.apiclient")}, bearer(pair.AccessToken.Token))
	if err != nil {
		t.Fatal(err)
	}
	if ps, err := phone.JSON200.AsPhoneNumberSuccess(); err != nil || ps.Code != 200 || ps.Data.Phone != "138****8000" || ps.Data.CountryCode != "86" {
		t.Fatalf("wechatMiniprogramPhoneNumber: %+v %v (%s)", ps, err, phone.Body)
	}
	if u := user("en"); u.Phone != "138****8000" || u.PhoneCountryCode != "86" {
		t.Fatalf("userInfo's phone: %q %q", u.Phone, u.PhoneCountryCode)
	}
	phone, err = c.WechatMiniprogramPhoneNumberWithResponse(ctx, &apiclient.WechatMiniprogramPhoneNumberParams{},
		apiclient.WechatMiniprogramPhoneNumberJSONRequestBody{AppId: ptr(apiMiniAppID), PhoneCode: ptr("13800138000.apiclient")}, bearer(pair.AccessToken.Token))
	if err != nil {
		t.Fatal(err)
	}
	if f, err := phone.JSON200.AsPhoneNumberFailure(); err != nil || f.Code != apiclient.PhoneNumberFailureCodeN5398 {
		t.Fatalf("a replayed phoneCode: %+v %v (%s)", f, err, phone.Body)
	}

	// The JWKS and the document itself: public.
	jwks, err := c.JwksWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if jwks.JSON200 == nil || len(jwks.JSON200.Keys) == 0 || jwks.JSON200.Keys[0].Alg != apiclient.EdDSA {
		t.Fatalf("jwks: %s", jwks.Body)
	}
	doc, err := c.OpenapiWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if doc.YAML200 == nil || !strings.HasPrefix(doc.YAML200.Openapi, "3.") || len(doc.YAML200.Paths) == 0 {
		t.Fatalf("the served document: HTTP %d", doc.StatusCode())
	}

	// Logout with a deviceId in a JSON body: the access token stops working,
	// so does the session's refresh token.
	out, err := c.UserLogoutWithResponse(ctx, &apiclient.UserLogoutParams{},
		apiclient.UserLogoutJSONRequestBody{DeviceId: ptr("fcm:apiclient")}, bearer(pair.AccessToken.Token))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := out.JSON200.AsEmptySuccess(); err != nil || s.Code != apiclient.N200 {
		t.Fatalf("logout: %+v %v (%s)", s, err, out.Body)
	}
	info, err = c.UserInfoWithResponse(ctx, &apiclient.UserInfoParams{}, bearer(pair.AccessToken.Token))
	if err != nil {
		t.Fatal(err)
	}
	if f, err := info.JSON200.AsUserInfoFailure(); err != nil || f.Code != apiclient.UserInfoFailureCodeN5032 {
		t.Fatalf("userInfo after logout: %+v %v (%s)", f, err, info.Body)
	}
	out, err = c.UserLogoutWithBodyWithResponse(ctx, &apiclient.UserLogoutParams{}, "", nil, bearer(pair.AccessToken.Token))
	if err != nil {
		t.Fatal(err)
	}
	if f, err := out.JSON200.AsAccessTokenFailure(); err != nil || f.Code != apiclient.AccessTokenFailureCodeN5032 {
		t.Fatalf("second logout: %+v %v (%s)", f, err, out.Body)
	}
	ref, err = c.RefreshTokenWithResponse(ctx, &apiclient.RefreshTokenParams{}, apiclient.RefreshParams{RefreshToken: &pair.RefreshToken.Token})
	if err != nil {
		t.Fatal(err)
	}
	if f, err := ref.JSON200.AsRefreshFailure(); err != nil || f.Code != apiclient.RefreshFailureCodeN5032 {
		t.Fatalf("refresh after logout: %+v %v (%s)", f, err, ref.Body)
	}
}
