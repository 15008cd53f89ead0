package wire_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/iotplatform/enduser-auth/adapters/httpapi/openapitest"
	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// pushModule stands for the host's push module: it hears of logouts through
// the module value and forgets the device.
type pushModule struct{ logouts chan application.LogoutEvent }

func (p pushModule) forget(_ context.Context, e application.LogoutEvent) { p.logouts <- e }

// TestLogoutWithDeviceReachesThePushModule: a host registers a push module on
// the module value; a logout over HTTP naming a deviceId (query, form, JSON)
// reaches it after the revocation, a panicking listener registered before it
// changes nothing, and a bad deviceId answers 5045 and ends nothing.
func TestLogoutWithDeviceReachesThePushModule(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	fake := wechatfake.New()
	fake.AddAccount("wxpush", "push-secret")
	wx := httptest.NewServer(fake)
	defer wx.Close()
	mod, err := modwire.NewModule(testConfig(2, wx.URL), modwire.Host{DB: db, HTTPClient: wechat.NewHTTPClient(0)})
	if err != nil {
		t.Fatal(err)
	}
	runModule(t, mod)
	ud, err := mod.Operators.CreateUserDomain(ctx, "P.DM.1.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := mod.Operators.PutOfficialAccount(ctx, ud.Name(), "wxpush", "push-secret"); err != nil {
		t.Fatal(err)
	}
	push := pushModule{logouts: make(chan application.LogoutEvent, 8)}
	mod.Auth.OnLogout(func(context.Context, application.LogoutEvent) { panic("a broken listener") })
	mod.Auth.OnLogout(push.forget)
	e := echo.New()
	mod.HTTP.Register(e.Group(""))

	type session struct {
		domain.Principal
		token string
	}
	login := func() session {
		t.Helper()
		code := fake.IssueCode("wxpush", wechatfake.User{OpenID: "o-ivan"})
		res, err := mod.EndUsers.LoginWithWeChatOfficialAccount(ctx, application.WeChatLogin{UserDomain: ud.Name(), AppID: "wxpush",
			Code: code, Signature: domain.LoginSignature("wxpush", code, ud.Secret())})
		if err != nil {
			t.Fatal(err)
		}
		p, err := mod.Auth.VerifyAccessToken(ctx, res.Tokens.Access.Value)
		if err != nil {
			t.Fatal(err)
		}
		return session{p, "Bearer " + res.Tokens.Access.Value}
	}
	logout := func(tok, query, contentType, body string) int {
		t.Helper()
		req := httptest.NewRequest(http.MethodDelete, "/v2/enduser/enduserapi/userLogout"+query, strings.NewReader(body))
		req.Header.Set("Authorization", tok)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if err := openapitest.ValidateResponse(req, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			t.Fatal(err)
		}
		var env struct{ Code int }
		if err := jsonDecode(rec.Body.Bytes(), &env); err != nil {
			t.Fatal(err)
		}
		return env.Code
	}
	heard := func(p session, device string) {
		t.Helper()
		select {
		case ev := <-push.logouts:
			if ev.UID != p.UID || ev.SessionID != p.SessionID || ev.UserDomain != ud.Name() || ev.DeviceID != device {
				t.Fatalf("event %+v, want session %s of %s with device %q", ev, p.SessionID, p.UID, device)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the push module never heard of the logout")
		}
	}

	p := login()
	if code := logout(p.token, "?deviceId="+strings.Repeat("x", 513), "", ""); code != 5045 {
		t.Fatalf("over-long deviceId: %d, want 5045", code)
	}
	if _, err := mod.Auth.VerifyAccessToken(ctx, p.token); err != nil {
		t.Fatalf("a refused logout ended the session: %v", err)
	}
	if code := logout(p.token, "?deviceId=fcm-query-token", "application/json", `{"deviceId":"ignored-body"}`); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	heard(p, "fcm-query-token")
	var stored string
	if err := db.Raw(`SELECT logout_device_id FROM enduser_sessions WHERE id = ?`, p.SessionID.String()).Scan(&stored).Error; err != nil || stored != "fcm-query-token" {
		t.Fatalf("stored device %q, %v", stored, err)
	}

	p = login()
	if code := logout(p.token, "", "application/x-www-form-urlencoded", "deviceId=aliyun-0123456789abcdef"); code != 200 {
		t.Fatalf("form logout: %d", code)
	}
	heard(p, "aliyun-0123456789abcdef")

	p = login()
	if code := logout(p.token, "", "application/json", `{"deviceId":"fcm:APA91b_json"}`); code != 200 {
		t.Fatalf("JSON logout: %d", code)
	}
	heard(p, "fcm:APA91b_json")

	p = login()
	if code := logout(p.token, "", "", ""); code != 200 {
		t.Fatalf("logout without a device: %d", code)
	}
	heard(p, "")
	if code := logout(p.token, "?deviceId=late", "", ""); code != 5032 {
		t.Fatalf("second logout: %d, want 5032", code)
	}
	mod.MachineryForTest().WaitLogoutListeners()
	if len(push.logouts) != 0 {
		t.Fatalf("an extra announcement: %+v", <-push.logouts)
	}
}

func jsonDecode(b []byte, v any) error { return json.Unmarshal(b, v) }
