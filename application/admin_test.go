package application_test

import (
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func TestCreateUserDomainGeneratesASecret(t *testing.T) {
	h := newHarness(t)
	d, err := h.svc.CreateUserDomain(h.ctx, "C.DM.1.1", "")
	must(t, err)
	if d.ID() == 0 || d.Name() != "C.DM.1.1" || !d.Enabled() || len(d.Secret()) < 32 {
		t.Errorf("CreateUserDomain = {%d, %s, enabled %t, secret of %d characters}", d.ID(), d.Name(), d.Enabled(), len(d.Secret()))
	}
	other, err := h.svc.CreateUserDomain(h.ctx, "C.DM.1.2", "")
	must(t, err)
	if other.Secret() == d.Secret() {
		t.Error("two generated secrets are equal")
	}
	stored, err := h.store.UserDomainByName(h.ctx, "C.DM.1.1")
	must(t, err)
	if stored.Secret() != d.Secret() {
		t.Error("the returned secret is not the stored one")
	}

	// The generated secret signs logins.
	must(t, h.svc.PutOfficialAccount(h.ctx, "C.DM.1.1", appID, appSecret))
	in := application.WeChatLogin{UserDomain: "C.DM.1.1", AppID: appID, Code: "code-alice",
		Signature: domain.LoginSignature(appID, "code-alice", d.Secret())}
	res := h.login(in)
	if p := h.verify(res.Tokens.Access.Value); p.UserDomain != "C.DM.1.1" {
		t.Errorf("principal's user domain = %s, want C.DM.1.1", p.UserDomain)
	}
	if alice := h.login(signed(appID, "code-alice")); alice.UID == res.UID {
		t.Error("one person in two user domains got one uid")
	}
}

func TestCreateUserDomainValidation(t *testing.T) {
	h := newHarness(t)
	d, err := h.svc.CreateUserDomain(h.ctx, " C.DM.1.1 ", "a-chosen-secret-0123456789")
	must(t, err)
	if d.Name() != "C.DM.1.1" || d.Secret() != "a-chosen-secret-0123456789" {
		t.Errorf("CreateUserDomain = {%s, %s}", d.Name(), d.Secret())
	}
	for _, tt := range []struct {
		name, domain, secret string
		want                 domain.Kind
	}{
		{"taken name", tenant, "", domain.KindInvalid},
		{"taken name after trimming", " C.DM.1.1", "", domain.KindInvalid},
		{"blank name", " ", "", domain.KindUserDomainRequired},
		{"malformed name", "tenant-1", "", domain.KindUserDomainMalformed},
		{"short secret", "C.DM.1.3", "short", domain.KindInvalid},
	} {
		_, err := h.svc.CreateUserDomain(h.ctx, tt.domain, tt.secret)
		wantKind(t, tt.name, err, tt.want)
	}
	h.store.failOn("CreateUserDomain")
	_, err = h.svc.CreateUserDomain(h.ctx, "C.DM.1.4", "")
	wantInternal(t, "CreateUserDomain", err, domain.KindInternal)
}

func TestSetUserDomainEnabled(t *testing.T) {
	h := newHarness(t)
	must(t, h.svc.SetUserDomainEnabled(h.ctx, tenant, false))
	_, err := h.svc.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-alice"))
	wantKind(t, "login to a disabled domain", err, domain.KindUserDomainDisabled)
	must(t, h.svc.SetUserDomainEnabled(h.ctx, tenant, true))
	h.login(signed(appID, "code-alice"))

	wantKind(t, "unknown domain", h.svc.SetUserDomainEnabled(h.ctx, "C.DM.9.9", true), domain.KindUserDomainNotFound)
	wantKind(t, "malformed domain", h.svc.SetUserDomainEnabled(h.ctx, "nope", true), domain.KindUserDomainMalformed)
}

func TestPutOfficialAccount(t *testing.T) {
	h := newHarness(t)
	must(t, h.svc.PutOfficialAccount(h.ctx, tenant, appID, "a-new-app-secret"))
	h.login(signed(appID, "code-alice"))
	if got := h.wechat.LastSecret(); got != "a-new-app-secret" {
		t.Errorf("WeChat was called with AppSecret %q, want the updated one", got)
	}
	must(t, h.svc.PutOfficialAccount(h.ctx, tenant, "wx-third", "third-secret"))
	h.login(signed("wx-third", "code-bob"))

	for _, tt := range []struct {
		name, domain, appID, secret string
		want                        domain.Kind
	}{
		{"unknown domain", "C.DM.9.9", appID, "s", domain.KindUserDomainNotFound},
		{"malformed domain", "C.DM", appID, "s", domain.KindUserDomainMalformed},
		{"blank appId", tenant, " ", "s", domain.KindInvalid},
		{"empty secret", tenant, appID, "", domain.KindInvalid},
	} {
		wantKind(t, tt.name, h.svc.PutOfficialAccount(h.ctx, tt.domain, tt.appID, tt.secret), tt.want)
	}
	h.store.failOn("UserDomainByName")
	wantInternal(t, "PutOfficialAccount", h.svc.PutOfficialAccount(h.ctx, tenant, appID, "s"), domain.KindInternal)
}

func TestPutDataCenter(t *testing.T) {
	h := newHarness(t)
	must(t, h.svc.PutDataCenter(h.ctx, "US", "https://us.api.example.com", []domain.MCC{310, 311}))
	in := signed(appID, "code-alice")
	in.MCC = "310"
	_, err := h.svc.LoginWithWeChatOfficialAccount(h.ctx, in)
	wantKind(t, "login with an MCC of the new data center", err, domain.KindMCCForeign)

	// Replacing CN's list moves 461 out of service.
	must(t, h.svc.PutDataCenter(h.ctx, "CN", cnURL, []domain.MCC{460}))
	in.MCC = "461"
	_, err = h.svc.LoginWithWeChatOfficialAccount(h.ctx, in)
	wantKind(t, "login with an MCC no longer served", err, domain.KindMCCUnresolved)

	for _, tt := range []struct {
		name, code, url string
		mccs            []domain.MCC
	}{
		{"MCC of another data center", "CN", cnURL, []domain.MCC{460, 262}},
		{"bad code", "C N", cnURL, nil},
		{"relative URL", "JP", "/api", nil},
		{"MCC out of range", "JP", "https://jp.api.example.com", []domain.MCC{1000}},
	} {
		wantKind(t, tt.name, h.svc.PutDataCenter(h.ctx, tt.code, tt.url, tt.mccs), domain.KindInvalid)
	}
}

func TestNewServiceDefaults(t *testing.T) {
	s := application.NewService(application.Config{DataCenter: "CN"}, nil, nil, nil, nil, nil, nil, nil, nil, nil)
	got, def := s.Config(), application.DefaultConfig()
	if got.AccessTokenTTL != def.AccessTokenTTL || got.RefreshTokenTTL != def.RefreshTokenTTL ||
		got.SessionMaxLifetime != def.SessionMaxLifetime || got.RevocationSyncInterval != def.RevocationSyncInterval {
		t.Errorf("Config() = %+v, want the defaults of %+v", got, def)
	}
	if def.AccessTokenTTL != 2*time.Hour || def.RefreshTokenTTL != 30*24*time.Hour {
		t.Errorf("DefaultConfig() = %+v: the contract says 2 hours and 30 days", def)
	}
}
