package application_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func TestParseImportLine(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	u, reason := application.ParseImportLine([]byte(`{"uid":"a-1","userDomain":" C.DM.1.1 ","appId":"wx1","openId":"o1","unionId":"u1",`+
		`"registerTime":1700000000000,"lastLoginTime":1700000001000,"status":0,"nikeName":"n","sex":2,"lang":3}`), now)
	if reason != "" || u.UID != "a-1" || u.UserDomain != "C.DM.1.1" || u.UnionID != "u1" || u.Status != domain.UserDisabled ||
		!u.RegisteredAt.Equal(time.UnixMilli(1700000000000)) || !u.LastLoginAt.Equal(time.UnixMilli(1700000001000)) ||
		*u.Profile.NikeName != "n" || *u.Profile.Sex != 2 || *u.Profile.Lang != 3 || u.Profile.City != nil {
		t.Fatalf("parsed %+v, %q", u, reason)
	}
	// Defaults: registered now, last login = registration, status 1.
	u, reason = application.ParseImportLine([]byte(`{"uid":"a","userDomain":"d","appId":"wx1","openId":"o1"}`), now)
	if reason != "" || !u.RegisteredAt.Equal(now) || !u.LastLoginAt.Equal(now) || u.Status != domain.UserNormal || u.UnionID != "" {
		t.Fatalf("defaults: %+v, %q", u, reason)
	}
	for line, want := range map[string]string{
		`{"uid":"a","userDomain":"d","appId":"wx1","openId":"o1","extra":1}`:         "unknown field",
		`{"uid":"a","userDomain":"d","appId":"wx1","openId":"o1"} {}`:                "more than one JSON value",
		`{"uid":1,"userDomain":"d","appId":"wx1","openId":"o1"}`:                     "field uid has the wrong type",
		`{"uid":"a","userDomain":"d","appId":"wx1","openId":"o1","registerTime":-1}`: "registerTime",
		`{"uid":"a","userDomain":"d","appId":"wx1","openId":"o1","status":2}`:        "status",
		`{"uid":"a","userDomain":"d","appId":"wx1"}`:                                 "openId is required",
		`[1]`: "not a JSON object",
		`{"uid":"a","userDomain":"d","appId":"wx1","openId":"o1","sex":"male"}`:      "field sex has the wrong type",
		`{"uid":"a","userDomain":"d","appId":"wx1","openId":"o1","lastLoginTime":1}`: "before registerTime",
	} {
		if _, reason := application.ParseImportLine([]byte(line), now); !strings.Contains(reason, want) {
			t.Errorf("%s: reason %q, want %q", line, reason, want)
		}
	}
}

// recordingImporter decides every row with a fresh planner per batch and
// remembers the batches (no store behind it).
type recordingImporter struct {
	batches [][]application.ImportRow
}

func (r *recordingImporter) ImportUsers(_ context.Context, rows []application.ImportRow) ([]application.ImportResult, error) {
	r.batches = append(r.batches, append([]application.ImportRow(nil), rows...))
	p := domain.NewImportPlanner()
	out := make([]application.ImportResult, len(rows))
	for i, row := range rows {
		d := p.Decide(domain.ImportKnown{}, row.UserDomainID, row.User)
		out[i] = application.ImportResult{Outcome: d.Outcome, Reason: d.Reason}
	}
	return out, nil
}

// TestServiceImportUsers: batches of the given size, the user domain and the
// official account resolved, refusals reported in line order (parse errors
// and the store's alike), blank lines skipped, an overlong line refused.
func TestServiceImportUsers(t *testing.T) {
	h := newHarness(t)
	line := func(uid, app, open string) string {
		return `{"uid":"` + uid + `","userDomain":"` + tenant + `","appId":"` + app + `","openId":"` + open + `"}`
	}
	src := strings.Join([]string{
		"\xef\xbb\xbf" + line("a", appID, "o-a"), // 1
		line("b", appID, "o-a"),                  // 2: a's openid (the store refuses)
		"",                                       // 3: blank
		line("c", "wx-unknown", "o-c"),           // 4: not an official account
		line("d", app2ID, "o-d"),                 // 5
		`{"uid":"` + strings.Repeat("x", 70<<10) + `"}`,                   // 6: too long
		line("a", appID, "o-a"),                                           // 7: present (same batch as 5)
		`{"uid":"e","userDomain":"C.DM.404.1","appId":"wx","openId":"o"}`, // 8
	}, "\n")
	imp := &recordingImporter{}
	var got []string
	svc := h.newService(func(d *application.Deps) { d.Importer = imp })
	counts, err := svc.Operators.ImportUsers(h.ctx, strings.NewReader(src), 2, func(n int, reason string) {
		got = append(got, fmt.Sprintf("%d:%s", n, reason))
	})
	if err != nil {
		t.Fatal(err)
	}
	// Line 7 repeats line 1 in another batch: the fake has no store behind
	// it, so it decides it anew (the real store finds line 1's rows).
	if counts != (application.ImportCounts{Imported: 3, Refused: 4}) {
		t.Fatalf("counts %+v", counts)
	}
	want := []string{"2:openId is bound", "4:appId wx-unknown is not an official account", "6:longer than", "8:user domain C.DM.404.1 does not exist"}
	if len(got) != len(want) {
		t.Fatalf("refusals %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Fatalf("refusal %d: %q, want %q...", i, got[i], want[i])
		}
	}
	if len(imp.batches) != 2 || len(imp.batches[0]) != 2 || imp.batches[0][1].Line != 2 || imp.batches[1][0].Line != 5 {
		t.Fatalf("batches %+v", imp.batches)
	}
	if imp.batches[0][0].UserDomainID == 0 {
		t.Fatal("the user domain was not resolved")
	}
}
