package application_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/memory"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
	"github.com/iotplatform/enduser-auth/internal/fakeclock"
)

// The tenant every test starts with.
const (
	tenant       = "C.DM.10271.5"
	tenantSecret = "tenant-secret-0123456789"
	appID        = "wx8f3a2b1c0d9e7f6a"
	appSecret    = "app-secret-of-wx8f3a2b"
	app2ID       = "wx-second-account"
	app2Secret   = "app-secret-of-the-second"

	// disabledTenant is a disabled user domain with the same official account.
	disabledTenant       = "C.DM.10271.6"
	disabledTenantSecret = "disabled-secret-0123456789"

	cnURL = "https://cn.api.example.com"
	euURL = "https://eu.api.example.com"
)

// start is the fake clock's initial time, on a whole second like the
// access tokens' iat.
var start = time.Date(2025, time.April, 16, 8, 0, 0, 0, time.UTC)

// The WeChat answers, by code. Codes of one person under one official
// account share an openid.
var wechatCodes = map[string]person{
	"code-alice":       {openID: "o1-alice", unionID: "u-alice"},
	"code-alice-again": {openID: "o1-alice", unionID: "u-alice"},
	"code-alice-app2":  {openID: "o2-alice", unionID: "u-alice"},
	"code-bob":         {openID: "o1-bob"},
	"code-down":        {err: domain.Wrap(domain.KindWeChatUnavailable, errors.New("dial tcp: i/o timeout"))},
	"code-used":        {err: domain.WeChatRejected(40163, `{"errcode":40163,"errmsg":"code been used"}`)},
	"code-garbled":     {err: domain.Wrap(domain.KindWeChatMalformed, errors.New("invalid character '<'"))},
	"code-surprise":    {err: errors.New("adapter bug")},
}

// harness is a Service on the memory store, with fake clock, WeChat and
// token issuer, seeded with one tenant and two data centers (this
// deployment's CN, serving 460 and 461, and EU, serving 262 and 208).
type harness struct {
	t      *testing.T
	ctx    context.Context
	cfg    application.Config
	clock  *fakeclock.Clock
	wechat *fakeWeChat
	tokens *hmacTokens
	store  *faultyStore
	svc    application.Facades
}

func newHarness(t *testing.T, configure ...func(*application.Config)) *harness {
	t.Helper()
	cfg := application.DefaultConfig()
	cfg.DataCenter = "CN"
	for _, c := range configure {
		c(&cfg)
	}
	h := &harness{
		t:      t,
		ctx:    t.Context(),
		cfg:    cfg,
		clock:  fakeclock.New(start),
		wechat: &fakeWeChat{codes: maps.Clone(wechatCodes)},
		tokens: &hmacTokens{key: []byte("test-signing-key-0123456789abcdef")},
		store:  &faultyStore{Store: memory.NewStore(), faults: map[string]error{}},
	}
	h.svc = h.newService()
	h.seed()
	return h
}

// newService returns another instance of the service on the same store and
// keys, as another process of the deployment would be.
// Each of with may change its ports first.
func (h *harness) newService(with ...func(*application.Deps)) application.Facades {
	s := h.store
	d := application.Deps{Clock: h.clock, WeChat: h.wechat, Domains: s, Apps: s, DataCenters: s, Users: s, Sessions: s, Tokens: h.tokens}
	for _, w := range with {
		w(&d)
	}
	return application.New(h.cfg, d)
}

func (h *harness) seed() {
	h.t.Helper()
	d := h.createDomain(tenant, tenantSecret, true)
	h.putAccount(d.ID(), appID, appSecret)
	h.putAccount(d.ID(), app2ID, app2Secret)
	off := h.createDomain(disabledTenant, disabledTenantSecret, false)
	h.putAccount(off.ID(), appID, appSecret)
	h.putDataCenter("CN", cnURL, 460, 461)
	h.putDataCenter("EU", euURL, 262, 208)
}

func (h *harness) createDomain(name, secret string, enabled bool) domain.UserDomain {
	h.t.Helper()
	d, err := domain.NewUserDomain(name, secret)
	must(h.t, err)
	d, err = h.store.Store.CreateUserDomain(h.ctx, d)
	must(h.t, err)
	if !enabled {
		must(h.t, h.store.SetUserDomainEnabled(h.ctx, name, false))
	}
	return d
}

func (h *harness) putAccount(userDomainID int64, appID, secret string) {
	h.t.Helper()
	a, err := domain.NewOfficialAccount(userDomainID, appID, secret)
	must(h.t, err)
	must(h.t, h.store.PutWeChatApp(h.ctx, a))
}

func (h *harness) putDataCenter(code, url string, mccs ...domain.MCC) {
	h.t.Helper()
	dc, err := domain.NewDataCenter(code, url, mccs)
	must(h.t, err)
	must(h.t, h.store.PutDataCenter(h.ctx, dc))
}

// signed is a well-formed, correctly signed login request to the tenant.
func signed(appID, code string) application.WeChatLogin {
	return application.WeChatLogin{UserDomain: tenant, AppID: appID, Code: code, Signature: domain.LoginSignature(appID, code, tenantSecret)}
}

// login logs in and fails the test on error.
func (h *harness) login(in application.WeChatLogin) application.LoginResult {
	h.t.Helper()
	res, err := h.svc.EndUsers.LoginWithWeChatOfficialAccount(h.ctx, in)
	if err != nil {
		h.t.Fatalf("login with code %s: %v", in.Code, err)
	}
	return res
}

// refresh refreshes and fails the test on error.
func (h *harness) refresh(token string) domain.TokenPair {
	h.t.Helper()
	pair, err := h.svc.EndUsers.Refresh(h.ctx, token)
	if err != nil {
		h.t.Fatalf("Refresh: %v", err)
	}
	return pair
}

// verify verifies an access token and fails the test on error.
func (h *harness) verify(token string) domain.Principal {
	h.t.Helper()
	p, err := h.svc.Auth.VerifyAccessToken(h.ctx, token)
	if err != nil {
		h.t.Fatalf("VerifyAccessToken: %v", err)
	}
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantKind fails the test unless err is of kind k.
func wantKind(t *testing.T, what string, err error, k domain.Kind) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %s", what, k)
		return
	}
	if got := domain.KindOf(err); got != k {
		t.Errorf("%s: error %v (kind %s), want kind %s", what, err, got, k)
	}
}

// wantInternal fails the test unless err is an internal error wrapping the
// injected database failure without showing it to clients.
func wantInternal(t *testing.T, what string, err error, k domain.Kind) {
	t.Helper()
	wantKind(t, what, err, k)
	if !errors.Is(err, errDatabase) {
		t.Errorf("%s: error %v does not wrap the cause", what, err)
	}
	if d := domain.DetailOf(err); strings.Contains(d, "connection refused") {
		t.Errorf("%s: the cause leaks into the client-visible detail %q", what, d)
	}
}

// v1Session stores a version-1 session of uid (as logins made before refresh
// master keys existed left them) and returns it.
func (h *harness) v1Session(uid string) domain.Session {
	h.t.Helper()
	d, err := h.store.UserDomainByName(h.ctx, tenant)
	must(h.t, err)
	sess := domain.NewSession(uid, d.ID(), d.Name(), appID, h.clock.Now(), h.cfg.RefreshTokenTTL, h.cfg.SessionMaxLifetime)
	must(h.t, h.store.InsertSession(h.ctx, sess))
	return sess
}
