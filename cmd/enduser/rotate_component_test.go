package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
)

// TestRotateSecretWithOverlap: `userdomain rotate-secret` through the real
// binary against a serving instance (tenant cache on, 500 ms): during the
// overlap a signature made with the old or the new secret logs in; a
// rotation during an overlap ends the older one at once; when a (short)
// overlap ends only the newest secret logs in. Every rotation is audited.
// Nothing asserts a duration: each change is waited for as a condition.
func TestRotateSecretWithOverlap(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_TENANT_CACHE_TTL": "500ms"})
	person := wechatfake.User{OpenID: "o-rotate-alice"}
	var uid string
	// loginWith answers the login's business code for a fresh code signed
	// with secret; a success must be the same person as ever.
	loginWith := func(secret string) int {
		t.Helper()
		code := s.fake.IssueCode(tAppID, person)
		q := loginQuery(tUserDomain, tAppID, code, "")
		q.Set("signature", domain.LoginSignature(tAppID, code, secret))
		a := s.login(q)
		if a.Code == 200 {
			got, _ := claims(t, a.pair(t).AccessToken.Token)["uid"].(string)
			if uid == "" {
				uid = got
			} else if got != uid {
				t.Fatalf("the login with the rotated secret is uid %s, want %s", got, uid)
			}
		} else if a.Code != 5420 {
			t.Fatalf("login: code %d %q, want 200 or 5420", a.Code, a.Msg)
		}
		return a.Code
	}
	// eventually waits until the login signed with secret answers want.
	eventually := func(what, secret string, want int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := loginWith(secret)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the login still answers %d, want %d", what, got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	rotate := func(stdin string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := runEnv(context.Background(), append([]string{"userdomain", "rotate-secret"}, args...),
			env{getenv: s.getenv, stdout: &out, stderr: &errb, stdin: strings.NewReader(stdin)})
		return code, out.String(), errb.String()
	}

	if got := loginWith(tSecret); got != 200 {
		t.Fatalf("before any rotation the secret answers %d", got)
	}

	// 1. Generated secret, the default overlap (720h): printed alone on the last line.
	code, out, errs := rotate("", tUserDomain)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 2 || !strings.Contains(lines[0], "accepted until") || len(lines[1]) != 43 {
		t.Fatalf("rotate-secret (generated): exit %d, stdout %q, stderr %q", code, out, errs)
	}
	b := lines[1]
	until, err := time.Parse(time.RFC3339, lines[0][strings.LastIndex(lines[0], " ")+1:])
	if err != nil || until.Before(time.Now().Add(719*time.Hour)) || until.After(time.Now().Add(721*time.Hour)) {
		t.Errorf("the default overlap ends %v (%v), want about 720h from now: %q", until, err, lines[0])
	}
	eventually("the new secret after the rotation", b, 200)
	if got := loginWith(tSecret); got != 200 {
		t.Errorf("during the overlap the old secret answers %d, want 200", got)
	}
	if got := loginWith("never-a-secret-of-this-user-domain-000"); got != 5420 {
		t.Errorf("during the overlap an unrelated secret answers %d, want 5420", got)
	}

	// 2. From standard input, during the first overlap: the older overlap ends at once.
	c := "the-third-secret-of-this-user-domain-0123456789"
	code, out, errs = rotate(c+"\n", tUserDomain, "--secret-stdin", "--overlap", "1h")
	if code != 0 || strings.Contains(out, c) || strings.Count(out, "\n") != 1 {
		t.Fatalf("rotate-secret --secret-stdin: exit %d, stdout %q (must not echo the secret), stderr %q", code, out, errs)
	}
	eventually("the stdin secret after the second rotation", c, 200)
	if got := loginWith(b); got != 200 {
		t.Errorf("during the second overlap the secret it replaced answers %d, want 200", got)
	}
	if got := loginWith(tSecret); got != 5420 {
		t.Errorf("after a rotation during an overlap the oldest secret answers %d, want 5420", got)
	}

	// 3. A short overlap: it ends, and then only the newest secret logs in.
	code, out, errs = rotate("", tUserDomain, "--overlap", "2s")
	lines = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("rotate-secret --overlap 2s: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	d := lines[1]
	eventually("the newest secret after the third rotation", d, 200)
	eventually("the replaced secret after its short overlap", c, 5420)
	for name, secret := range map[string]string{"first": tSecret, "second": b, "third": c} {
		if got := loginWith(secret); got != 5420 {
			t.Errorf("after the last overlap the %s secret answers %d, want 5420", name, got)
		}
	}
	if got := loginWith(d); got != 200 {
		t.Errorf("after the last overlap the newest secret answers %d, want 200", got)
	}

	// Refusals: a short secret, a negative overlap, an unknown domain, the secret in use.
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"short-secret-of-20ch\n", []string{tUserDomain, "--secret-stdin"}, "at least 32"},
		{"", []string{tUserDomain, "--overlap", "-1s"}, "negative"},
		{"", []string{tUserDomain, "--secret", "a-secret-on-the-command-line-0123456789"}, "--secret-stdin"},
		{"", []string{"C.DM.99.99"}, "not found"},
		{d + "\n", []string{tUserDomain, "--secret-stdin"}, "differ"},
	} {
		if code, out, errs := rotate(tc.stdin, tc.args...); code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("rotate-secret %q: exit %d, stdout %q, stderr %q; want a failure saying %q", tc.args, code, out, errs, tc.want)
		}
	}
	if code, _, errs := s.cli("userdomain", "disable", tDisabled, "--overlap", "1h"); code == 0 || !strings.Contains(errs, "--overlap") {
		t.Errorf("disable --overlap: exit %d %q", code, errs)
	}
	if got := loginWith(d); got != 200 {
		t.Errorf("after refused rotations the newest secret answers %d, want 200", got)
	}

	var rotations int
	for _, l := range s.auditLines(t) {
		if l.Event == "secret_rotated" {
			rotations++
			if l.UserDomain != tUserDomain || l.Code != 200 {
				t.Errorf("secret_rotated record: %+v", l)
			}
		}
	}
	if rotations != 3 {
		t.Errorf("the audit trail has %d secret_rotated records, want 3 (one per rotation, none for the refused ones)", rotations)
	}
}
