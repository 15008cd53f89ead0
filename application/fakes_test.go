package application_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/memory"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// person is what the fake WeChat answers for a code.
type person struct {
	openID, unionID string
	err             error
}

// fakeWeChat answers code exchanges from a table and counts its calls.
type fakeWeChat struct {
	mu      sync.Mutex
	codes   map[string]person
	calls   int
	jsCalls int      // of calls, the mini program exchanges (jscode2session)
	secrets []string // the AppSecrets it was called with
}

func (f *fakeWeChat) ExchangeCode(_ context.Context, appID, appSecret, code string) (domain.WeChatIdentity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.secrets = append(f.secrets, appSecret)
	p, ok := f.codes[code]
	if !ok {
		return domain.WeChatIdentity{}, domain.WeChatRejected(40029, `{"errcode":40029,"errmsg":"invalid code"}`)
	}
	if p.err != nil {
		return domain.WeChatIdentity{}, p.err
	}
	return domain.NewWeChatIdentity(appID, p.openID, p.unionID, false)
}

// ExchangeJSCode answers a mini program's jsCode from the same table.
func (f *fakeWeChat) ExchangeJSCode(ctx context.Context, appID, appSecret, jsCode string) (domain.WeChatIdentity, error) {
	f.mu.Lock()
	f.jsCalls++
	f.mu.Unlock()
	return f.ExchangeCode(ctx, appID, appSecret, jsCode)
}

// JSCalls returns how many of the exchanges were a mini program's.
func (f *fakeWeChat) JSCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.jsCalls
}

// Calls returns how many exchanges were attempted.
func (f *fakeWeChat) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// LastSecret returns the AppSecret of the last exchange.
func (f *fakeWeChat) LastSecret() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.secrets) == 0 {
		return ""
	}
	return f.secrets[len(f.secrets)-1]
}

// hmacTokens is a small but real TokenIssuer: base64url(JSON claims) "."
// base64url(HMAC-SHA256). It rejects tampered, expired and not yet valid tokens.
type hmacTokens struct {
	key    []byte
	parses atomic.Int64 // ParseAccessToken calls

	mu      sync.Mutex
	signErr error
}

var errTokenFormat = errors.New("malformed token")

func (h *hmacTokens) mac(payload string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (h *hmacTokens) failSigning(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.signErr = err
}

func (h *hmacTokens) SignAccessToken(_ context.Context, c domain.AccessClaims) (string, error) {
	h.mu.Lock()
	err := h.signErr
	h.mu.Unlock()
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + h.mac(payload), nil
}

func (h *hmacTokens) ParseAccessToken(_ context.Context, token string, now time.Time) (domain.AccessClaims, error) {
	h.parses.Add(1)
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(h.mac(payload))) {
		return domain.AccessClaims{}, domain.Wrap(domain.KindTokenInvalid, errTokenFormat)
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return domain.AccessClaims{}, domain.Wrap(domain.KindTokenInvalid, err)
	}
	var c domain.AccessClaims
	if err := json.Unmarshal(b, &c); err != nil {
		return domain.AccessClaims{}, domain.Wrap(domain.KindTokenInvalid, err)
	}
	if !now.Before(c.ExpiresAt) || now.Before(c.IssuedAt) {
		return domain.AccessClaims{}, domain.E(domain.KindTokenInvalid)
	}
	return c, nil
}

func (h *hmacTokens) JWKS(context.Context) ([]byte, error) { return []byte(`{"keys":[]}`), nil }

func (h *hmacTokens) RotateSigningKey(context.Context) (string, error) { return "kid-2", nil }

func (h *hmacTokens) RevokeSigningKey(_ context.Context, kid string) (string, error) {
	if kid != "kid-1" {
		return "", domain.Errorf(domain.KindNotFound, "no signing key %q", kid)
	}
	return "kid-2", nil
}

// faultyStore is the memory store with failures injected per method name.
type faultyStore struct {
	*memory.Store

	mu     sync.Mutex
	faults map[string]error
	counts map[string]int // calls per method (of those that can fail)
}

// errDatabase stands for a database failure; its text must never reach a client.
var errDatabase = errors.New("pq: connection refused on 10.1.2.3 (secret detail)")

// failOn makes method fail with errDatabase.
func (f *faultyStore) failOn(method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[method] = errDatabase
}

func (f *faultyStore) fault(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.counts == nil {
		f.counts = map[string]int{}
	}
	f.counts[method]++
	return f.faults[method]
}

// calls returns how many times method was called.
func (f *faultyStore) calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[method]
}

func (f *faultyStore) UserDomainByName(ctx context.Context, name string) (domain.UserDomain, error) {
	if err := f.fault("UserDomainByName"); err != nil {
		return domain.UserDomain{}, err
	}
	return f.Store.UserDomainByName(ctx, name)
}

func (f *faultyStore) CreateUserDomain(ctx context.Context, d domain.UserDomain) (domain.UserDomain, error) {
	if err := f.fault("CreateUserDomain"); err != nil {
		return domain.UserDomain{}, err
	}
	return f.Store.CreateUserDomain(ctx, d)
}

func (f *faultyStore) WeChatApp(ctx context.Context, userDomainID int64, appID string) (domain.WeChatApp, error) {
	if err := f.fault("WeChatApp"); err != nil {
		return domain.WeChatApp{}, err
	}
	return f.Store.WeChatApp(ctx, userDomainID, appID)
}

func (f *faultyStore) UserWithWeChatApps(ctx context.Context, uid string) (application.UserApps, error) {
	if err := f.fault("UserWithWeChatApps"); err != nil {
		return application.UserApps{}, err
	}
	return f.Store.UserWithWeChatApps(ctx, uid)
}

func (f *faultyStore) DataCenterByMCC(ctx context.Context, mcc domain.MCC) (domain.DataCenter, error) {
	if err := f.fault("DataCenterByMCC"); err != nil {
		return domain.DataCenter{}, err
	}
	return f.Store.DataCenterByMCC(ctx, mcc)
}

func (f *faultyStore) RecordLogin(ctx context.Context, l application.LoginRecord) (application.RecordedLogin, error) {
	if err := f.fault("RecordLogin"); err != nil {
		return application.RecordedLogin{}, err
	}
	return f.Store.RecordLogin(ctx, l)
}

func (f *faultyStore) UserWithWeChat(ctx context.Context, uid, appID string) (domain.EndUser, domain.WeChatIdentity, error) {
	if err := f.fault("UserWithWeChat"); err != nil {
		return domain.EndUser{}, domain.WeChatIdentity{}, err
	}
	return f.Store.UserWithWeChat(ctx, uid, appID)
}

func (f *faultyStore) SessionByID(ctx context.Context, id domain.SessionID) (domain.Session, error) {
	if err := f.fault("SessionByID"); err != nil {
		return domain.Session{}, err
	}
	return f.Store.SessionByID(ctx, id)
}

func (f *faultyStore) AdvanceRefreshCounter(ctx context.Context, id domain.SessionID, from int64, now, exp time.Time) (bool, error) {
	if err := f.fault("AdvanceRefreshCounter"); err != nil {
		return false, err
	}
	return f.Store.AdvanceRefreshCounter(ctx, id, from, now, exp)
}

func (f *faultyStore) RevokeSession(ctx context.Context, id domain.SessionID, now time.Time, reason string) (bool, error) {
	if err := f.fault("RevokeSession"); err != nil {
		return false, err
	}
	return f.Store.RevokeSession(ctx, id, now, reason)
}

// LogoutSession is a revocation too: a fault on "RevokeSession" or on
// "LogoutSession" fails it.
func (f *faultyStore) LogoutSession(ctx context.Context, id domain.SessionID, now time.Time, deviceID string) (bool, error) {
	if err := f.fault("LogoutSession"); err != nil {
		return false, err
	}
	if err := f.fault("RevokeSession"); err != nil {
		return false, err
	}
	return f.Store.LogoutSession(ctx, id, now, deviceID)
}

func (f *faultyStore) UpdateUserProfile(ctx context.Context, uid string, u domain.ProfileUpdate) error {
	if err := f.fault("UpdateUserProfile"); err != nil {
		return err
	}
	return f.Store.UpdateUserProfile(ctx, uid, u)
}

func (f *faultyStore) RevokedSessionsSince(ctx context.Context, since time.Time) ([]application.RevokedSession, error) {
	if err := f.fault("RevokedSessionsSince"); err != nil {
		return nil, err
	}
	return f.Store.RevokedSessionsSince(ctx, since)
}

func (f *faultyStore) SpendRefreshToken(ctx context.Context, id domain.SessionID, from int64, now, exp time.Time) (domain.Session, bool, error) {
	if err := f.fault("SpendRefreshToken"); err != nil {
		return domain.Session{}, false, err
	}
	return f.Store.SpendRefreshToken(ctx, id, from, now, exp)
}

func (f *faultyStore) RefreshMasterKeys(ctx context.Context) ([]domain.RefreshMasterKey, error) {
	if err := f.fault("RefreshMasterKeys"); err != nil {
		return nil, err
	}
	return f.Store.RefreshMasterKeys(ctx)
}

func (f *faultyStore) AddRefreshMasterKey(ctx context.Context, k domain.RefreshMasterKey) (bool, error) {
	if err := f.fault("AddRefreshMasterKey"); err != nil {
		return false, err
	}
	return f.Store.AddRefreshMasterKey(ctx, k)
}
