package application_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// TestLoginChecksInContractOrder has one case per business code of the
// contract's table: each request passes every earlier check and fails
// exactly one. Then pairs of faults show which check wins.
func TestLoginChecksInContractOrder(t *testing.T) {
	good := signed(appID, "code-alice")
	with := func(change func(*application.WeChatLogin)) application.WeChatLogin {
		in := good
		change(&in)
		return in
	}
	badSig := domain.LoginSignature(appID, "code-alice", "not-the-tenant-secret-0123")
	tests := []struct {
		name        string
		in          application.WeChatLogin
		want        domain.Kind
		wechatCalls int
	}{
		{"user domain missing", with(func(r *application.WeChatLogin) { r.UserDomain = "" }), domain.KindUserDomainRequired, 0},
		{"user domain blank", with(func(r *application.WeChatLogin) { r.UserDomain = " \t" }), domain.KindUserDomainRequired, 0},
		{"user domain malformed", with(func(r *application.WeChatLogin) { r.UserDomain = "C-DM-10271-5" }), domain.KindUserDomainMalformed, 0},
		{"appId missing", with(func(r *application.WeChatLogin) { r.AppID = "" }), domain.KindAppIDRequired, 0},
		{"appId blank", with(func(r *application.WeChatLogin) { r.AppID = "  " }), domain.KindAppIDRequired, 0},
		{"code missing", with(func(r *application.WeChatLogin) { r.Code = "" }), domain.KindCodeRequired, 0},
		{"signature missing", with(func(r *application.WeChatLogin) { r.Signature = " " }), domain.KindSignatureRequired, 0},
		{"user domain unknown", with(func(r *application.WeChatLogin) { r.UserDomain = "C.DM.99999.1" }), domain.KindUserDomainNotFound, 0},
		{"user domain disabled", with(func(r *application.WeChatLogin) {
			r.UserDomain, r.Signature = disabledTenant, domain.LoginSignature(appID, "code-alice", disabledTenantSecret)
		}), domain.KindUserDomainDisabled, 0},
		{"signature with another secret", with(func(r *application.WeChatLogin) { r.Signature = badSig }), domain.KindSignatureInvalid, 0},
		{"signature of another code", with(func(r *application.WeChatLogin) { r.Code = "code-bob" }), domain.KindSignatureInvalid, 0},
		{"signature not hex", with(func(r *application.WeChatLogin) { r.Signature = "not-a-signature" }), domain.KindSignatureInvalid, 0},
		{"mcc not an integer", with(func(r *application.WeChatLogin) { r.MCC = "abc" }), domain.KindMCCUnresolved, 0},
		{"mcc served by no data center", with(func(r *application.WeChatLogin) { r.MCC = "310" }), domain.KindMCCUnresolved, 0},
		{"mcc of another data center", with(func(r *application.WeChatLogin) { r.MCC = "262" }), domain.KindMCCForeign, 0},
		{"official account not configured", signed("wx-unknown-account", "code-alice"), domain.KindOfficialAccountMissing, 0},
		{"WeChat unavailable", signed(appID, "code-down"), domain.KindWeChatUnavailable, 1},
		{"WeChat rejected the code", signed(appID, "code-used"), domain.KindWeChatRejected, 1},
		{"WeChat answer unparseable", signed(appID, "code-garbled"), domain.KindWeChatMalformed, 1},

		{"everything missing", application.WeChatLogin{}, domain.KindUserDomainRequired, 0},
		{"malformed domain before missing fields", application.WeChatLogin{UserDomain: "C.DM"}, domain.KindUserDomainMalformed, 0},
		{"appId before code", application.WeChatLogin{UserDomain: tenant}, domain.KindAppIDRequired, 0},
		{"code before signature", application.WeChatLogin{UserDomain: tenant, AppID: appID}, domain.KindCodeRequired, 0},
		{"unknown domain before bad signature", with(func(r *application.WeChatLogin) { r.UserDomain, r.Signature = "C.DM.99999.1", badSig }),
			domain.KindUserDomainNotFound, 0},
		{"disabled domain before bad signature", with(func(r *application.WeChatLogin) { r.UserDomain, r.Signature = disabledTenant, badSig }),
			domain.KindUserDomainDisabled, 0},
		{"bad signature before bad mcc", with(func(r *application.WeChatLogin) { r.Signature, r.MCC = badSig, "abc" }),
			domain.KindSignatureInvalid, 0},
		{"bad signature before foreign mcc", with(func(r *application.WeChatLogin) { r.Signature, r.MCC = badSig, "262" }),
			domain.KindSignatureInvalid, 0},
		{"bad mcc before missing account", with(func(r *application.WeChatLogin) {
			*r = signed("wx-unknown-account", "code-alice")
			r.MCC = "abc"
		}), domain.KindMCCUnresolved, 0},
		{"foreign mcc before missing account", with(func(r *application.WeChatLogin) {
			*r = signed("wx-unknown-account", "code-alice")
			r.MCC = "262"
		}), domain.KindMCCForeign, 0},
		{"missing account before WeChat", signed("wx-unknown-account", "code-down"), domain.KindOfficialAccountMissing, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			_, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, tt.in)
			wantKind(t, "login", err, tt.want)
			if got := h.wechat.Calls(); got != tt.wechatCalls {
				t.Errorf("WeChat was called %d times, want %d", got, tt.wechatCalls)
			}
		})
	}
}

func TestLoginSucceeds(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	if res.UID == "" || !res.Registered || res.Outcome != domain.LoginRegistered {
		t.Errorf("first login: uid %q, registered %t, %s; want a new user", res.UID, res.Registered, res.Outcome)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(res.UID) {
		t.Errorf("uid %q is not 32 hex characters", res.UID)
	}
	if got := h.wechat.LastSecret(); got != appSecret {
		t.Errorf("WeChat was called with AppSecret %q, want the configured %q", got, appSecret)
	}
	if got, want := res.Tokens.Access.ExpiresAt, start.Add(2*time.Hour); !got.Equal(want) {
		t.Errorf("access token expires at %v, want %v", got, want)
	}
	if got, want := res.Tokens.Refresh.ExpiresAt, start.Add(30*24*time.Hour); !got.Equal(want) {
		t.Errorf("refresh token expires at %v, want %v", got, want)
	}
	p := h.verify(res.Tokens.Access.Value)
	if p.UID != res.UID || p.UserDomain != tenant || p.AppID != appID || !p.ExpiresAt.Equal(res.Tokens.Access.ExpiresAt) {
		t.Errorf("principal = %+v, want uid %s of %s through %s", p, res.UID, tenant, appID)
	}
	h.clock.Advance(time.Minute)
	pair := h.refresh(res.Tokens.Refresh.Value)
	if h.verify(pair.Access.Value).SessionID != p.SessionID {
		t.Error("the refreshed access token belongs to another session")
	}
}

func TestLoginAcceptsUpperCaseSignatureAndPaddedInput(t *testing.T) {
	h := newHarness(t)
	in := signed(appID, "code-alice")
	in.Signature = strings.ToUpper(in.Signature)
	in.UserDomain, in.AppID, in.Code = " "+in.UserDomain+" ", in.AppID+" ", " "+in.Code
	h.login(in)
}

func TestLoginMCC(t *testing.T) {
	for _, mcc := range []string{"", " ", "460", " 461 "} {
		h := newHarness(t)
		in := signed(appID, "code-alice")
		in.MCC = mcc
		if _, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, in); err != nil {
			t.Errorf("mcc %q: %v, want ok", mcc, err)
		}
	}
	t.Run("foreign mcc names the home data center", func(t *testing.T) {
		h := newHarness(t)
		in := signed(appID, "code-alice")
		in.MCC = "208"
		_, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, in)
		wantKind(t, "login", err, domain.KindMCCForeign)
		var detail map[string]string
		if e := json.Unmarshal([]byte(domain.DetailOf(err)), &detail); e != nil {
			t.Fatalf("detail %q is not JSON: %v", domain.DetailOf(err), e)
		}
		if detail["dataCenter"] != "EU" || detail["apiUrl"] != euURL {
			t.Errorf("detail = %v, want EU and %s", detail, euURL)
		}
	})
	t.Run("data center code compared case-insensitively", func(t *testing.T) {
		h := newHarness(t, func(c *application.Config) { c.DataCenter = "cn" })
		in := signed(appID, "code-alice")
		in.MCC = "460"
		h.login(in)
	})
	t.Run("failed lookup is unresolved", func(t *testing.T) {
		h := newHarness(t)
		h.store.failOn("DataCenterByMCC")
		in := signed(appID, "code-alice")
		in.MCC = "460"
		_, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, in)
		wantInternal(t, "login", err, domain.KindMCCUnresolved)
		if h.wechat.Calls() != 0 {
			t.Error("WeChat was called although the MCC check failed")
		}
	})
}

func TestLoginRepositoryFailuresAreInternal(t *testing.T) {
	for _, method := range []string{"UserDomainByName", "WeChatApp", "RecordLogin"} {
		t.Run(method, func(t *testing.T) {
			h := newHarness(t)
			h.store.failOn(method)
			_, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-alice"))
			wantInternal(t, "login", err, domain.KindInternal)
		})
	}
	t.Run("WeChat adapter returns an unexpected error", func(t *testing.T) {
		h := newHarness(t)
		_, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-surprise"))
		wantKind(t, "login", err, domain.KindInternal)
	})
	t.Run("signing fails", func(t *testing.T) {
		h := newHarness(t)
		h.tokens.failSigning(errDatabase)
		_, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-alice"))
		wantInternal(t, "login", err, domain.KindInternal)
	})
}

func TestLoginFindsTheSameUser(t *testing.T) {
	h := newHarness(t)
	first := h.login(signed(appID, "code-alice"))
	h.clock.Advance(time.Hour)
	again := h.login(signed(appID, "code-alice-again"))
	if again.UID != first.UID || again.Registered || again.Outcome != domain.LoginReturning {
		t.Errorf("second login: uid %s (registered %t), want %s", again.UID, again.Registered, first.UID)
	}
	if again.Tokens.Refresh.Value == first.Tokens.Refresh.Value {
		t.Error("two logins share a refresh token")
	}
	viaApp2 := h.login(signed(app2ID, "code-alice-app2"))
	if viaApp2.UID != first.UID || viaApp2.Registered || viaApp2.Outcome != domain.LoginJoinedByUnionID {
		t.Errorf("login through another official account with the same unionid: uid %s, want %s", viaApp2.UID, first.UID)
	}
	bob := h.login(signed(appID, "code-bob"))
	if bob.UID == first.UID || !bob.Registered {
		t.Errorf("another person got uid %s (registered %t)", bob.UID, bob.Registered)
	}
	u, _, err := h.store.UserWithWeChat(h.ctx, first.UID, appID)
	must(t, err)
	if !u.RegisteredAt().Equal(start) || !u.LastLoginAt().Equal(start.Add(time.Hour)) {
		t.Errorf("user registered at %v, last login %v; want %v and %v", u.RegisteredAt(), u.LastLoginAt(), start, start.Add(time.Hour))
	}
}

func TestConcurrentFirstLoginsRegisterOneUser(t *testing.T) {
	h := newHarness(t)
	var (
		mu         sync.Mutex
		uids       = map[string]bool{}
		registered int
		wg         sync.WaitGroup
	)
	for range 10 {
		wg.Go(func() {
			res, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-alice"))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("login: %v", err)
				return
			}
			uids[res.UID] = true
			if res.Registered {
				registered++
			}
		})
	}
	wg.Wait()
	if len(uids) != 1 || registered != 1 {
		t.Errorf("10 concurrent logins of one person: uids %v, %d registered; want one user registered once", uids, registered)
	}
}

// TestLogsHoldNoSecrets checks that no code, signature, secret or token
// reaches the log, whatever the outcome.
func TestLogsHoldNoSecrets(t *testing.T) {
	h := newHarness(t)
	var buf bytes.Buffer
	s := h.store
	svc := application.New(h.cfg, application.Deps{Clock: h.clock, WeChat: h.wechat, Domains: s, Apps: s, DataCenters: s, Users: s, Sessions: s, Tokens: h.tokens, Log: slog.New(slog.NewJSONHandler(&buf, nil))})
	ok := signed(appID, "code-alice")
	res, err := svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, ok)
	must(t, err)
	bad := ok
	bad.Signature = domain.LoginSignature(appID, "code-alice", "not-the-tenant-secret-0123")
	_, _ = svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, bad)
	pair, err := svc.EndUsers.Refresh(h.ctx, res.Tokens.Refresh.Value)
	must(t, err)
	_, _ = svc.EndUsers.Refresh(h.ctx, "garbage-token")
	must(t, svc.EndUsers.Logout(h.ctx, pair.Access.Value))

	log := buf.String()
	if !strings.Contains(log, "login.wechat_offiaccount") {
		t.Fatalf("the log does not record the login: %s", log)
	}
	for name, secret := range map[string]string{
		"code": ok.Code, "signature": ok.Signature, "bad signature": bad.Signature, "AppSecret": appSecret,
		"tenant secret": tenantSecret, "access token": res.Tokens.Access.Value, "refresh token": res.Tokens.Refresh.Value,
		"rotated refresh token": pair.Refresh.Value, "openid": "o1-alice",
	} {
		if strings.Contains(log, secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
}
