package postgres

import (
	"context"
	"reflect"
	"testing"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func TestUserDomains(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	created := e.createUserDomain(t, "C.DM.1.1")
	if created.ID() == 0 {
		t.Fatal("CreateUserDomain returned no id")
	}
	got, err := e.store.UserDomainByName(ctx, "C.DM.1.1")
	if err != nil || got != created {
		t.Fatalf("UserDomainByName = %+v, %v; want %+v", got, err, created)
	}

	dup, _ := domain.NewUserDomain("C.DM.1.1", "another-secret-0123456789")
	_, err = e.store.CreateUserDomain(ctx, dup)
	if domain.KindOf(err) != domain.KindInvalid || domain.DetailOf(err) != "user domain C.DM.1.1 already exists" {
		t.Fatalf("CreateUserDomain(taken name) = %v; want KindInvalid 'user domain C.DM.1.1 already exists'", err)
	}

	if err := e.store.SetUserDomainEnabled(ctx, "C.DM.1.1", false); err != nil {
		t.Fatal(err)
	}
	if got, err := e.store.UserDomainByName(ctx, "C.DM.1.1"); err != nil || got.Enabled() {
		t.Fatalf("after disabling: enabled %v, %v", got.Enabled(), err)
	}
	if err := e.store.SetUserDomainEnabled(ctx, "C.DM.1.1", true); err != nil {
		t.Fatal(err)
	}
	if got, err := e.store.UserDomainByName(ctx, "C.DM.1.1"); err != nil || !got.Enabled() {
		t.Fatalf("after enabling: enabled %v, %v", got.Enabled(), err)
	}
}

func TestOfficialAccounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	a, _ := domain.NewOfficialAccount(d.ID(), "wx-app-1", "app-secret-1")
	if err := e.store.PutWeChatApp(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, err := application.AppOfKind(ctx, e.store, d.ID(), "wx-app-1", domain.AppKindOfficialAccount); err != nil || got != a {
		t.Fatalf("OfficialAccount = %+v, %v; want %+v", got, err, a)
	}
	changed, _ := domain.NewOfficialAccount(d.ID(), "wx-app-1", "app-secret-2")
	if err := e.store.PutWeChatApp(ctx, changed); err != nil {
		t.Fatal(err)
	}
	if got, err := application.AppOfKind(ctx, e.store, d.ID(), "wx-app-1", domain.AppKindOfficialAccount); err != nil || got.AppSecret() != "app-secret-2" {
		t.Fatalf("after update: AppSecret %q, %v", got.AppSecret(), err)
	}
	if n := e.count(t, "SELECT count(*) FROM enduser_official_accounts"); n != 1 {
		t.Errorf("%d official accounts, want 1", n)
	}
	orphan, _ := domain.NewOfficialAccount(d.ID()+100, "wx-app-1", "app-secret-1")
	if err := e.store.PutWeChatApp(ctx, orphan); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("PutOfficialAccount(unknown user domain) = %v; want KindInvalid", err)
	}
}

func TestDataCenters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	put := func(code, url string, mccs ...domain.MCC) error {
		t.Helper()
		dc, err := domain.NewDataCenter(code, url, mccs)
		if err != nil {
			t.Fatal(err)
		}
		return e.store.PutDataCenter(ctx, dc)
	}
	check := func(mcc domain.MCC, code string, mccs ...domain.MCC) {
		t.Helper()
		dc, err := e.store.DataCenterByMCC(ctx, mcc)
		if err != nil || dc.Code() != code || !reflect.DeepEqual(dc.MCCs(), mccs) {
			t.Fatalf("DataCenterByMCC(%d) = %s %v, %v; want %s %v", mcc, dc.Code(), dc.MCCs(), err, code, mccs)
		}
	}

	if err := put("CN", "https://cn.example.com", 461, 460); err != nil {
		t.Fatal(err)
	}
	if err := put("EU", "https://eu.example.com", 262, 208); err != nil {
		t.Fatal(err)
	}
	check(460, "CN", 460, 461)
	if dc, _ := e.store.DataCenterByMCC(ctx, 208); dc.APIURL() != "https://eu.example.com" {
		t.Errorf("EU API URL = %q", dc.APIURL())
	}

	err := put("EU", "https://eu2.example.com", 262, 460)
	if domain.KindOf(err) != domain.KindInvalid || domain.DetailOf(err) != "mcc 460 is already served by data center CN" {
		t.Fatalf("PutDataCenter(taken mcc) = %v; want KindInvalid 'mcc 460 is already served by data center CN'", err)
	}
	check(208, "EU", 208, 262) // the failed put changed nothing
	if dc, _ := e.store.DataCenterByMCC(ctx, 208); dc.APIURL() != "https://eu.example.com" {
		t.Errorf("the failed put changed the API URL to %q", dc.APIURL())
	}

	// Replacing CN's list frees 461 for EU.
	if err := put("CN", "https://cn.example.com", 460); err != nil {
		t.Fatal(err)
	}
	if err := put("EU", "https://eu2.example.com", 262, 461); err != nil {
		t.Fatal(err)
	}
	check(461, "EU", 262, 461)
	check(460, "CN", 460)
	if _, err := e.store.DataCenterByMCC(ctx, 208); !domain.IsKind(err, domain.KindMCCUnresolved) {
		t.Errorf("DataCenterByMCC(dropped mcc) = %v; want KindMCCUnresolved", err)
	}
	if err := put("US", "https://us.example.com"); err != nil {
		t.Fatalf("a data center without MCCs: %v", err)
	}
}

// TestUserDomainsAreNeverDeleted: since 00020 no foreign key keeps a user
// domain with users from being deleted; the trigger refuses every delete.
func TestUserDomainsAreNeverDeleted(t *testing.T) {
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	_, err := e.sql.ExecContext(context.Background(), `DELETE FROM enduser_user_domains WHERE id = $1`, d.ID())
	if !hasCode(err, "23001") {
		t.Fatalf("deleting a user domain: %v; want restrict_violation (23001)", err)
	}
	var n int
	if err := e.sql.QueryRowContext(context.Background(), `SELECT count(*) FROM enduser_user_domains WHERE id = $1`, d.ID()).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the user domain after the refused delete: %d rows, %v", n, err)
	}
}
