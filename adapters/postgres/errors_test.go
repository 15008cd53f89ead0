package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func TestMissingRowsMapToTheirKinds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")

	errs := map[domain.Kind]map[string]error{
		domain.KindUserDomainNotFound:     {},
		domain.KindOfficialAccountMissing: {},
		domain.KindMCCUnresolved:          {},
		domain.KindUserNotFound:           {},
		domain.KindTokenInvalid:           {},
	}
	_, errs[domain.KindUserDomainNotFound]["UserDomainByName"] = e.store.UserDomainByName(ctx, "C.DM.9.9")
	errs[domain.KindUserDomainNotFound]["SetUserDomainEnabled"] = e.store.SetUserDomainEnabled(ctx, "C.DM.9.9", false)
	_, errs[domain.KindOfficialAccountMissing]["OfficialAccount"] = application.AppOfKind(ctx, e.store, d.ID(), "wx-none", domain.AppKindOfficialAccount)
	_, errs[domain.KindMCCUnresolved]["DataCenterByMCC"] = e.store.DataCenterByMCC(ctx, 460)
	_, _, errs[domain.KindUserNotFound]["UserWithWeChat"] = e.store.UserWithWeChat(ctx, "no-such-uid", "wx-app")
	_, errs[domain.KindTokenInvalid]["SessionByID"] = e.store.SessionByID(ctx, domain.NewSessionID())
	for kind, byMethod := range errs {
		for method, err := range byMethod {
			if !domain.IsKind(err, kind) {
				t.Errorf("%s of a missing row = %v; want kind %s", method, err, kind)
			}
		}
	}
	if list, err := e.store.RevokedSessionsSince(ctx, time.Time{}); err != nil || len(list) != 0 {
		t.Errorf("RevokedSessionsSince on an empty table = %v, %v", list, err)
	}
	if keys, err := e.store.SigningKeys(ctx, time.Time{}); err != nil || len(keys) != 0 {
		t.Errorf("SigningKeys on an empty table = %v, %v", keys, err)
	}
}

// TestDatabaseErrorsAreNotDomainErrors calls every method with a cancelled
// context: each must fail with an error that is no *domain.Error (the
// application reports those as internal) and still says why.
func TestDatabaseErrorsAreNotDomainErrors(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	now := testTime()
	sess := domain.NewSession("uid", d.ID(), d.Name(), "wx-app", now, time.Hour, 24*time.Hour)
	acct, _ := domain.NewOfficialAccount(d.ID(), "wx-app", "secret")
	dc, _ := domain.NewDataCenter("CN", "https://cn.example.com", []domain.MCC{460})
	dom, _ := domain.NewUserDomain("C.DM.1.2", "0123456789abcdef")
	id := identity(t, "wx-app", "openid", "unionid")
	cand := candidate(t, d.ID(), now)
	key := newSigningKey(t, now)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"UserDomainByName":     func() error { _, err := e.store.UserDomainByName(ctx, d.Name()); return err },
		"CreateUserDomain":     func() error { _, err := e.store.CreateUserDomain(ctx, dom); return err },
		"SetUserDomainEnabled": func() error { return e.store.SetUserDomainEnabled(ctx, d.Name(), false) },
		"OfficialAccount": func() error {
			_, err := application.AppOfKind(ctx, e.store, d.ID(), "wx-app", domain.AppKindOfficialAccount)
			return err
		},
		"PutOfficialAccount": func() error { return e.store.PutWeChatApp(ctx, acct) },
		"DataCenterByMCC":    func() error { _, err := e.store.DataCenterByMCC(ctx, 460); return err },
		"PutDataCenter":      func() error { return e.store.PutDataCenter(ctx, dc) },
		"RecordLogin": func() error {
			_, err := e.store.RecordLogin(ctx, application.LoginRecord{UserDomainID: d.ID(), Identity: id, Candidate: cand, Session: sess, At: now})
			return err
		},
		"UserWithWeChat": func() error { _, _, err := e.store.UserWithWeChat(ctx, "uid", "wx-app"); return err },
		"SessionByID":    func() error { _, err := e.store.SessionByID(ctx, sess.ID()); return err },
		"AdvanceRefreshCounter": func() error {
			_, err := e.store.AdvanceRefreshCounter(ctx, sess.ID(), 1, now, now.Add(time.Hour))
			return err
		},
		"RevokeSession":        func() error { _, err := e.store.RevokeSession(ctx, sess.ID(), now, "logout"); return err },
		"RevokedSessionsSince": func() error { _, err := e.store.RevokedSessionsSince(ctx, now); return err },
		"SigningKeys":          func() error { _, err := e.store.SigningKeys(ctx, now); return err },
		"AddSigningKey":        func() error { _, err := e.store.AddSigningKey(ctx, key, false); return err },
		"AddSigningKey rotate": func() error { _, err := e.store.AddSigningKey(ctx, key, true); return err },
		"Ping":                 func() error { return e.store.Ping(ctx) },
	}
	for name, call := range calls {
		err := call()
		var de *domain.Error
		if err == nil || errors.As(err, &de) {
			t.Errorf("%s with a cancelled context = %#v; want a plain error", name, err)
			continue
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v; want it to wrap context.Canceled", name, err)
		}
	}
}
