package application_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/iotplatform/enduser-auth/adapters/jsonformat"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

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
	counts, err := svc.Operators.ImportUsers(h.ctx, jsonformat.ImportLines(strings.NewReader(src)), 2, func(n int, reason string) {
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
