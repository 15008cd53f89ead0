package application_test

import (
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/jsonformat"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// TestPutWebsiteApp: a website app needs redirect URIs, each an absolute
// http(s) URL; an appId is one kind only.
func TestPutWebsiteApp(t *testing.T) {
	h := newHarness(t)
	ops := h.svc.Operators
	if err := ops.PutWebsiteApp(h.ctx, tenant, "wx-web", "s", nil); !domain.IsKind(err, domain.KindInvalid) {
		t.Fatalf("no redirect URI: %v", err)
	}
	if err := ops.PutWebsiteApp(h.ctx, tenant, "wx-web", "s", []string{"/relative"}); !domain.IsKind(err, domain.KindInvalid) {
		t.Fatalf("a relative redirect URI: %v", err)
	}
	if err := ops.PutWebsiteApp(h.ctx, tenant, appID, "s", []string{"https://c.example.com/cb"}); !domain.IsKind(err, domain.KindInvalid) {
		t.Fatalf("an official account's appId: %v", err)
	}
	if err := ops.PutWebsiteApp(h.ctx, "C.DM.404.1", "wx-web", "s", []string{"https://c.example.com/cb"}); !domain.IsKind(err, domain.KindUserDomainNotFound) {
		t.Fatalf("an unknown user domain: %v", err)
	}
	if err := ops.PutWebsiteApp(h.ctx, tenant, "wx-web", "s", []string{"https://c.example.com/cb"}); err != nil {
		t.Fatal(err)
	}
	d, _ := h.store.UserDomainByName(h.ctx, tenant)
	a, err := h.store.WeChatApp(h.ctx, d.ID(), "wx-web")
	if err != nil || a.Kind() != domain.AppKindWebsite || !a.HasRedirectURI("https://c.example.com/cb") {
		t.Fatalf("stored: %+v %v", a, err)
	}
}

// TestImportKnowsTheNewKinds: an import line may name a mobile app's or a
// website app's appId.
func TestImportKnowsTheNewKinds(t *testing.T) {
	h := newHarness(t)
	must(t, h.svc.Operators.PutWeChatApp(h.ctx, domain.AppKindMobileApp, tenant, "wx-mobile", "s"))
	must(t, h.svc.Operators.PutWebsiteApp(h.ctx, tenant, "wx-web", "s", []string{"https://c.example.com/cb"}))
	src := `{"uid":"m","userDomain":"` + tenant + `","appId":"wx-mobile","openId":"o-m"}` + "\n" +
		`{"uid":"w","userDomain":"` + tenant + `","appId":"wx-web","openId":"o-w"}`
	imp := &recordingImporter{}
	svc := h.newService(func(d *application.Deps) { d.Importer = imp })
	var refused []string
	counts, err := svc.Operators.ImportUsers(h.ctx, jsonformat.ImportLines(strings.NewReader(src)), 10, func(_ int, r string) { refused = append(refused, r) })
	if err != nil || counts != (application.ImportCounts{Imported: 2}) {
		t.Fatalf("counts %+v %v %q", counts, err, refused)
	}
}

// TestPurgeDeletesExpiredWebsiteStates: the purge round deletes the claims
// of the website states that expired, and keeps the others.
func TestPurgeDeletesExpiredWebsiteStates(t *testing.T) {
	h := newHarness(t)
	svc := h.newService(func(d *application.Deps) { d.WebsiteStates = h.store.Store })
	now := h.clock.Now()
	for i, exp := range []time.Duration{-time.Minute, time.Minute} {
		if ok, err := h.store.ClaimWebsiteState(h.ctx, domain.WebsiteStateDigest(string(rune('a'+i))), now.Add(exp)); err != nil || !ok {
			t.Fatal(ok, err)
		}
	}
	if _, err := svc.Machinery.PurgeSessions(h.ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := h.store.ClaimWebsiteState(h.ctx, domain.WebsiteStateDigest("a"), now.Add(time.Minute)); !ok {
		t.Fatal("the expired claim is still there")
	}
	if ok, _ := h.store.ClaimWebsiteState(h.ctx, domain.WebsiteStateDigest("b"), now.Add(time.Minute)); ok {
		t.Fatal("the live claim was purged")
	}
}
