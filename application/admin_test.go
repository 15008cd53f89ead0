package application_test

import (
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func TestCreateUserDomainGeneratesASecret(t *testing.T) {
	h := newHarness(t)
	d, err := h.svc.Operators.CreateUserDomain(h.ctx, "C.DM.1.1", "")
	must(t, err)
	if d.ID() == 0 || d.Name() != "C.DM.1.1" || !d.Enabled() || len(d.Secret()) < 32 {
		t.Errorf("CreateUserDomain = {%d, %s, enabled %t, secret of %d characters}", d.ID(), d.Name(), d.Enabled(), len(d.Secret()))
	}
	other, err := h.svc.Operators.CreateUserDomain(h.ctx, "C.DM.1.2", "")
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
	must(t, h.svc.Operators.PutOfficialAccount(h.ctx, "C.DM.1.1", appID, appSecret))
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
	d, err := h.svc.Operators.CreateUserDomain(h.ctx, " C.DM.1.1 ", "a-chosen-secret-0123456789")
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
		_, err := h.svc.Operators.CreateUserDomain(h.ctx, tt.domain, tt.secret)
		wantKind(t, tt.name, err, tt.want)
	}
	h.store.failOn("CreateUserDomain")
	_, err = h.svc.Operators.CreateUserDomain(h.ctx, "C.DM.1.4", "")
	wantInternal(t, "CreateUserDomain", err, domain.KindInternal)
}

func TestSetUserDomainEnabled(t *testing.T) {
	h := newHarness(t)
	must(t, h.svc.Operators.SetUserDomainEnabled(h.ctx, tenant, false))
	_, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signed(appID, "code-alice"))
	wantKind(t, "login to a disabled domain", err, domain.KindUserDomainDisabled)
	must(t, h.svc.Operators.SetUserDomainEnabled(h.ctx, tenant, true))
	h.login(signed(appID, "code-alice"))

	wantKind(t, "unknown domain", h.svc.Operators.SetUserDomainEnabled(h.ctx, "C.DM.9.9", true), domain.KindUserDomainNotFound)
	wantKind(t, "malformed domain", h.svc.Operators.SetUserDomainEnabled(h.ctx, "nope", true), domain.KindUserDomainMalformed)
}

func TestPutOfficialAccount(t *testing.T) {
	h := newHarness(t)
	must(t, h.svc.Operators.PutOfficialAccount(h.ctx, tenant, appID, "a-new-app-secret"))
	h.login(signed(appID, "code-alice"))
	if got := h.wechat.LastSecret(); got != "a-new-app-secret" {
		t.Errorf("WeChat was called with AppSecret %q, want the updated one", got)
	}
	must(t, h.svc.Operators.PutOfficialAccount(h.ctx, tenant, "wx-third", "third-secret"))
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
		wantKind(t, tt.name, h.svc.Operators.PutOfficialAccount(h.ctx, tt.domain, tt.appID, tt.secret), tt.want)
	}
	h.store.failOn("UserDomainByName")
	wantInternal(t, "PutOfficialAccount", h.svc.Operators.PutOfficialAccount(h.ctx, tenant, appID, "s"), domain.KindInternal)
}

func TestPutDataCenter(t *testing.T) {
	h := newHarness(t)
	must(t, h.svc.Operators.PutDataCenter(h.ctx, "US", "https://us.api.example.com", []domain.MCC{310, 311}))
	in := signed(appID, "code-alice")
	in.MCC = "310"
	_, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, in)
	wantKind(t, "login with an MCC of the new data center", err, domain.KindMCCForeign)

	// Replacing CN's list moves 461 out of service.
	must(t, h.svc.Operators.PutDataCenter(h.ctx, "CN", cnURL, []domain.MCC{460}))
	in.MCC = "461"
	_, err = h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, in)
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
		wantKind(t, tt.name, h.svc.Operators.PutDataCenter(h.ctx, tt.code, tt.url, tt.mccs), domain.KindInvalid)
	}
}

func TestNewServiceDefaults(t *testing.T) {
	s := application.New(application.Config{DataCenter: "CN"}, application.Deps{})
	got, def := s.Machinery.Config(), application.DefaultConfig()
	if got.AccessTokenTTL != def.AccessTokenTTL || got.RefreshTokenTTL != def.RefreshTokenTTL ||
		got.SessionMaxLifetime != def.SessionMaxLifetime || got.RevocationSyncInterval != def.RevocationSyncInterval {
		t.Errorf("Config() = %+v, want the defaults of %+v", got, def)
	}
	if def.AccessTokenTTL != 2*time.Hour || def.RefreshTokenTTL != 30*24*time.Hour {
		t.Errorf("DefaultConfig() = %+v: the contract says 2 hours and 30 days", def)
	}
}

// TestRotateUserDomainSecret: the facade's rotation takes effect at once on
// its own instance (it clears the tenant cache, which holds the domain after
// a login), keeps the old secret for the overlap by the service's clock, and
// records one secret_rotated event; a refused rotation records none.
func TestRotateUserDomainSecret(t *testing.T) {
	h := newHarness(t)
	rec := &recordingAudit{}
	h.svc.Machinery.SetAuditLog(rec)
	signedWith := func(code, secret string) application.WeChatLogin {
		in := signed(appID, code)
		in.Signature = domain.LoginSignature(appID, code, secret)
		return in
	}
	h.login(signed(appID, "code-alice")) // the domain is cached now
	rec.take()

	const newSecret = "the-rotated-tenant-secret-0123456789"
	d, err := h.svc.Operators.RotateUserDomainSecret(h.ctx, " "+tenant+" ", newSecret, time.Minute)
	must(t, err)
	if prev, until := d.PreviousSecret(); d.Secret() != newSecret || prev != tenantSecret || !until.Equal(start.Add(time.Minute)) {
		t.Fatalf("RotateUserDomainSecret = secret %q, previous %q until %v", d.Secret(), prev, until)
	}
	h.login(signedWith("code-alice-again", newSecret))
	h.login(signedWith("code-bob", tenantSecret))
	h.clock.Advance(time.Minute)
	if _, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signedWith("code-alice", tenantSecret)); domain.KindOf(err) != domain.KindSignatureInvalid {
		t.Errorf("the old secret after the overlap: %v, want kind %s", err, domain.KindSignatureInvalid)
	}
	h.login(signedWith("code-alice-again", newSecret))

	generated, err := h.svc.Operators.RotateUserDomainSecret(h.ctx, tenant, "", 0)
	must(t, err)
	if len(generated.Secret()) != 43 || generated.Secret() == newSecret {
		t.Errorf("generated secret %q, want 43 new characters", generated.Secret())
	}
	if _, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, signedWith("code-bob", newSecret)); domain.KindOf(err) != domain.KindSignatureInvalid {
		t.Errorf("the replaced secret after a rotation without overlap: %v, want kind %s", err, domain.KindSignatureInvalid)
	}
	var rotations []application.AuditEvent
	for _, e := range rec.take() {
		if e.Event == application.AuditSecretRotated {
			rotations = append(rotations, e)
		}
	}
	if len(rotations) != 2 || rotations[0].UserDomain != tenant || rotations[0].Outcome != "" || !rotations[0].Time.Equal(start) {
		t.Errorf("secret_rotated events: %+v, want two for %s", rotations, tenant)
	}

	for name, tc := range map[string]struct {
		domain, secret string
		overlap        time.Duration
		want           domain.Kind
	}{
		"unknown domain":   {"C.DM.1.1", "", time.Hour, domain.KindUserDomainNotFound},
		"malformed domain": {"C.DM", "", time.Hour, domain.KindUserDomainMalformed},
		"short secret":     {tenant, "short", time.Hour, domain.KindInvalid},
		"negative overlap": {tenant, "", -time.Hour, domain.KindInvalid},
		"the same secret":  {tenant, generated.Secret(), time.Hour, domain.KindInvalid},
	} {
		if _, err := h.svc.Operators.RotateUserDomainSecret(h.ctx, tc.domain, tc.secret, tc.overlap); domain.KindOf(err) != tc.want {
			t.Errorf("%s: RotateUserDomainSecret = %v, want kind %s", name, err, tc.want)
		}
	}
	if ev := rec.take(); len(ev) != 0 {
		t.Errorf("refused rotations recorded %+v", ev)
	}
}
