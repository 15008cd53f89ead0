package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

// TestImportUsers: `enduser import users FILE`, as an operator runs it
// against a serving instance: a few hundred users keep their uids, WeChat
// logins of them (by openid, and by unionid through another official
// account) answer those uids, bad and contradicting lines are refused with
// their line numbers and a non-zero exit, the rest is imported; a re-run
// imports nothing; standard input works; the audit trail has the counts.
func TestImportUsers(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_AUDIT": "on"})
	// Somebody logged in before the import: the file cannot take the openid.
	early := s.loginAs(tAppID, wechatfake.User{OpenID: "o-early"})
	earlyUID, _ := claims(t, early.AccessToken.Token)["uid"].(string)

	const n = 300
	var good strings.Builder
	for i := range n {
		union := ""
		if i%2 == 0 {
			union = fmt.Sprintf(`,"unionId":"u-%03d"`, i)
		}
		fmt.Fprintf(&good, `{"uid":"imp-%03d","userDomain":%q,"appId":%q,"openId":"o-%03d"%s,"registerTime":1700000000000,"lastLoginTime":1700000360000,"status":1,"nikeName":"n%d","sex":1}`+"\n",
			i, tUserDomain, tAppID, i, union, i)
	}
	bad := []string{
		`{"uid":"imp-x01","userDomain":"` + tUserDomain + `","appId":"` + tAppID + `","openId":"o-000"}`,   // line 301: imp-000's openid
		`{"uid":"has space","userDomain":"` + tUserDomain + `","appId":"` + tAppID + `","openId":"o-x02"}`, // 302: bad uid
		`{"uid":"imp-x03","userDomain":"C.DM.404.1","appId":"` + tAppID + `","openId":"o-x03"}`,            // 303: no such user domain
		`{"uid":"imp-x04","userDomain":"` + tUserDomain + `","appId":"wxnotconfigured","openId":"o-x04"}`,  // 304: not an official account
		`not json`, // 305
		`{"uid":"imp-x06","userDomain":"` + tUserDomain + `","appId":"` + tAppID + `","openId":"o-early"}`,                   // 306: a logged-in user's openid
		`{"uid":"imp-x07","userDomain":"` + tUserDomain + `","appId":"` + tAppID2 + `","openId":"o2-x07","unionId":"u-002"}`, // 307: imp-002's unionid
		`{"uid":"imp-x08","userDomain":"` + tUserDomain + `","appId":"` + tAppID + `","openId":"o-x08","union_id":"typo"}`,   // 308: unknown field
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "users.jsonl")
	if err := os.WriteFile(file, []byte(good.String()+strings.Join(bad, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := s.cli("import", "users", file)
	if code == 0 || lastOutLine(out) != fmt.Sprintf("imported %d, already present 0, refused %d", n, len(bad)) {
		t.Fatalf("import: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	for i, want := range []string{"openId is bound to another uid", "uid must be", "does not exist", "is not an official account",
		"not a JSON object", "openId is bound to another uid", "unionId is held by another uid", "unknown field"} {
		line := fmt.Sprintf("line %d: ", n+1+i)
		if !strings.Contains(errs, line) || !strings.Contains(errs[strings.Index(errs, line):], want) {
			t.Fatalf("stderr has no %q naming %q:\n%s", line, want, errs)
		}
	}

	for _, c := range []struct {
		app  string
		user wechatfake.User
		uid  string
	}{
		{tAppID, wechatfake.User{OpenID: "o-007"}, "imp-007"},                     // by openid
		{tAppID, wechatfake.User{OpenID: "o-010", UnionID: "u-010"}, "imp-010"},   // by openid, with its unionid
		{tAppID2, wechatfake.User{OpenID: "o2-004", UnionID: "u-004"}, "imp-004"}, // by unionid through another account
		{tAppID2, wechatfake.User{OpenID: "o2-004", UnionID: "u-004"}, "imp-004"}, // and again: bound now
		{tAppID, wechatfake.User{OpenID: "o-early"}, earlyUID},                    // the earlier user is untouched
	} {
		p := s.loginAs(c.app, c.user)
		if uid, _ := claims(t, p.AccessToken.Token)["uid"].(string); uid != c.uid {
			t.Fatalf("login of %s under %s: uid %q, want %q", c.user.OpenID, c.app, uid, c.uid)
		}
	}

	// A re-run imports nothing twice; the same lines are refused again.
	code, out, _ = s.cli("import", "users", file)
	if code == 0 || lastOutLine(out) != fmt.Sprintf("imported 0, already present %d, refused %d", n, len(bad)) {
		t.Fatalf("re-run: exit %d, stdout %q", code, out)
	}
	// The good lines alone, from standard input: exit 0.
	var sout, serr bytes.Buffer
	code = runEnv(context.Background(), []string{"import", "users", "-"},
		env{getenv: s.getenv, stdout: &sout, stderr: &serr, stdin: strings.NewReader(good.String())})
	if code != 0 || lastOutLine(sout.String()) != fmt.Sprintf("imported 0, already present %d, refused 0", n) {
		t.Fatalf("stdin: exit %d, stdout %q, stderr %q", code, sout.String(), serr.String())
	}
	// One user per person: the imported ones and the early one.
	if got := countRows(t, s.dbURL, "enduser_users"); got != n+1 {
		t.Fatalf("%d users, want %d", got, n+1)
	}
	audit := s.mustCLI("audit", "--user-domain", tUserDomain)
	if !strings.Contains(audit, `"event":"users_imported"`) || !strings.Contains(audit, `imported\":300`) {
		t.Fatalf("no users_imported audit record with the counts:\n%s", audit)
	}
}

func lastOutLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
