package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

const pathUserDelete = "/v2/enduser/enduserapi/userDelete"

// TestUserDeleteCodes: every code of userDelete over real HTTP, in the order
// they are checked (token, then type), and 5129 when the database refuses
// to record the deletion.
func TestUserDeleteCodes(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	p := s.loginAs(tAppID, wechatfake.User{OpenID: "o-del-codes"})
	auth := p.AccessToken.Token

	if a := s.do(http.MethodDelete, pathUserDelete, nil); a.Code != 5106 {
		t.Fatalf("no token: got %d, want 5106", a.Code)
	}
	if a := s.do(http.MethodDelete, pathUserDelete+"?type=1", nil, "Authorization", "Bearer not-a-token"); a.Code != 5032 {
		t.Fatalf("bad token: got %d, want 5032", a.Code)
	}
	for _, bad := range []string{"0", "3", "abc", "1.5", "-1"} {
		if a := s.do(http.MethodDelete, pathUserDelete+"?type="+url.QueryEscape(bad), nil, "Authorization", auth); a.Code != 5152 {
			t.Fatalf("type %q: got %d, want 5152", bad, a.Code)
		}
	}
	if a := s.do(http.MethodDelete, pathUserDelete, strings.NewReader(`{"type":3}`), "Authorization", auth,
		"Content-Type", "application/json"); a.Code != 5152 {
		t.Fatalf("JSON type 3: got %d, want 5152", a.Code)
	}
	// A refused type ended nothing.
	if a := s.do(http.MethodGet, pathUserInfo, nil, "Authorization", auth); a.Code != 200 {
		t.Fatalf("userInfo after refused deletions: got %d, want 200", a.Code)
	}

	// The database refuses the write: 5129, and the session goes on.
	db := s.sql(t)
	for _, q := range []string{
		`CREATE FUNCTION refuse_deletion() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no deletions today'; END $$`,
		`CREATE TRIGGER refuse_deletion BEFORE UPDATE OF deletion_due_at ON enduser_users FOR EACH ROW EXECUTE FUNCTION refuse_deletion()`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if a := s.do(http.MethodDelete, pathUserDelete+"?type=2", nil, "Authorization", auth); a.Code != 5129 || a.Status != http.StatusOK {
		t.Fatalf("deletion not recorded: got %d (HTTP %d), want 5129", a.Code, a.Status)
	}
	if _, err := db.Exec(`DROP TRIGGER refuse_deletion ON enduser_users`); err != nil {
		t.Fatal(err)
	}
	if a := s.refresh(p.RefreshToken.Token); a.Code != 200 {
		t.Fatalf("refresh after a 5129: got %d, want 200 (nothing ended)", a.Code)
	}
}

// TestUserDeleteNowErasesAndTheNextLoginIsANewUser: type 1 (form body) ends
// the sessions and erases the account at once; the erasure's outbox row is
// delivered by the serving instance; the next login registers a new uid.
func TestUserDeleteNowErasesAndTheNextLoginIsANewUser(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_ERASURE_INTERVAL": "100ms", "ENDUSER_AUDIT": "on"})
	gina := wechatfake.User{OpenID: "o-gina", UnionID: "u-gina"}
	p := s.loginAs(tAppID, gina)
	other := s.loginAs(tAppID2, gina) // the same person through the second account
	uid, _ := claims(t, p.AccessToken.Token)["uid"].(string)
	if a := s.do(http.MethodDelete, pathUserDelete, strings.NewReader("type=1"), "Authorization", p.AccessToken.Token,
		"Content-Type", "application/x-www-form-urlencoded"); a.Code != 200 {
		t.Fatalf("type 1: got %d, want 200", a.Code)
	}
	for _, tp := range []tokenPair{p, other} {
		if a := s.refresh(tp.RefreshToken.Token); a.Code != 5032 {
			t.Fatalf("refresh after type 1: got %d, want 5032", a.Code)
		}
		if a := s.do(http.MethodGet, pathUserInfo, nil, "Authorization", tp.AccessToken.Token); a.Code != 5032 {
			t.Fatalf("access token after type 1 (this instance): got %d, want 5032", a.Code)
		}
	}
	db := s.sql(t)
	for _, table := range []string{"enduser_users", "enduser_wechat_identities", "enduser_wechat_unions", "enduser_sessions"} {
		var n int
		col := "user_id"
		if table == "enduser_users" {
			col = "id"
		}
		if err := db.QueryRow("SELECT count(*) FROM "+table+" WHERE "+col+" = $1", uid).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s rows of the erased user: %d, %v; want 0", table, n, err)
		}
	}
	waitOutboxEmpty(t, s)
	again := s.loginAs(tAppID2, gina)
	if nuid, _ := claims(t, again.AccessToken.Token)["uid"].(string); nuid == "" || nuid == uid {
		t.Fatalf("login after the erasure: uid %q, want a new one (old %q)", nuid, uid)
	}
	waitAudit(t, s, uid, "deletion_requested_now", "erased")
}

// TestUserDeleteCoolingOffCancelledByLogin: type 2 (the default) ends the
// sessions; a login of the same person during the cooling-off keeps the uid
// and says deletionCancelled in extMsg; the next login says nothing.
func TestUserDeleteCoolingOffCancelledByLogin(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_AUDIT": "on"})
	hal := wechatfake.User{OpenID: "o-hal", UnionID: "u-hal"}
	p := s.loginAs(tAppID, hal)
	uid, _ := claims(t, p.AccessToken.Token)["uid"].(string)
	if a := s.do(http.MethodDelete, pathUserDelete, nil, "Authorization", p.AccessToken.Token); a.Code != 200 {
		t.Fatalf("type 2 (default): got %d, want 200", a.Code)
	}
	if a := s.refresh(p.RefreshToken.Token); a.Code != 5032 {
		t.Fatalf("refresh during the cooling-off: got %d, want 5032", a.Code)
	}
	a := s.login(loginQuery(tUserDomain, tAppID2, s.fake.IssueCode(tAppID2, hal), ""))
	back := a.pair(t)
	if deref(a.ExtMsg) != `{"deletionCancelled":true}` {
		t.Fatalf("login during the cooling-off: extMsg %s, want {\"deletionCancelled\":true}", deref(a.ExtMsg))
	}
	if buid, _ := claims(t, back.AccessToken.Token)["uid"].(string); buid != uid {
		t.Fatalf("login during the cooling-off: uid %q, want the same %q", buid, uid)
	}
	if a := s.login(loginQuery(tUserDomain, tAppID, s.fake.IssueCode(tAppID, hal), "")); a.Code != 200 || a.ExtMsg != nil {
		t.Fatalf("the next login: code %d extMsg %s, want 200 and null", a.Code, deref(a.ExtMsg))
	}
	var due *time.Time
	if err := s.sql(t).QueryRow(`SELECT deletion_due_at FROM enduser_users WHERE id = $1`, uid).Scan(&due); err != nil || due != nil {
		t.Fatalf("deletion_due_at after the cancel: %v, %v; want NULL", due, err)
	}
	waitAudit(t, s, uid, "deletion_requested", "deletion_cancelled")
}

// TestUserDeleteCoolingOffEndsInErasure: with a short cooling-off
// (ENDUSER_DELETION_COOLING_OFF) the serving instance's erasure job erases
// the account when it ends (waited for as a condition on the database), and
// the next login is a new user.
func TestUserDeleteCoolingOffEndsInErasure(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_DELETION_COOLING_OFF": "1s", "ENDUSER_ERASURE_INTERVAL": "100ms"})
	ivy := wechatfake.User{OpenID: "o-ivy"}
	p := s.loginAs(tAppID, ivy)
	uid, _ := claims(t, p.AccessToken.Token)["uid"].(string)
	if a := s.do(http.MethodDelete, pathUserDelete+"?type=2", nil, "Authorization", p.AccessToken.Token); a.Code != 200 {
		t.Fatalf("type 2: got %d, want 200", a.Code)
	}
	db := s.sql(t)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM enduser_users WHERE id = $1`, uid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the account was not erased after its cooling-off")
		}
	}
	waitOutboxEmpty(t, s)
	if nuid, _ := claims(t, s.loginAs(tAppID, ivy).AccessToken.Token)["uid"].(string); nuid == uid {
		t.Fatalf("login after the erasure kept the uid %q", uid)
	}
}

// TestUserDeleteCLI: `enduser user delete UID` schedules a cooling-off;
// `--now` erases in the CLI's process, which exits without announcing it (a
// crash between the erasure and the announcement, as far as the outbox can
// tell): the serving instance's dispatcher delivers it.
func TestUserDeleteCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ENDUSER_ERASURE_INTERVAL": "100ms"})
	jo := wechatfake.User{OpenID: "o-jo"}
	p := s.loginAs(tAppID, jo)
	uid, _ := claims(t, p.AccessToken.Token)["uid"].(string)
	if code, _, errs := s.cli("user", "delete"); code != 2 || !strings.Contains(errs, "UID") {
		t.Fatalf("user delete without a UID: exit %d, %q", code, errs)
	}
	if code, _, errs := s.cli("user", "delete", "no-such-user"); code == 0 || !strings.Contains(errs, "user not found") {
		t.Fatalf("user delete of an unknown uid: exit %d, %q", code, errs)
	}
	if out := s.mustCLI("user", "delete", uid); !strings.Contains(out, "will be erased at") {
		t.Fatalf("user delete: %q", out)
	}
	if a := s.refresh(p.RefreshToken.Token); a.Code != 5032 {
		t.Fatalf("refresh after user delete: got %d, want 5032", a.Code)
	}
	if code, out, errs := s.cli("user", "delete", "--now", uid); code != 0 || !strings.Contains(out, "erased;") {
		t.Fatalf("user delete --now: exit %d, %q, %q", code, out, errs)
	}
	if n := countRows(t, s.dbURL, "enduser_users"); n != 0 {
		t.Fatalf("users after --now: %d, want 0", n)
	}
	waitOutboxEmpty(t, s)
}

// waitOutboxEmpty waits (a condition, with a deadline) until the serving
// instance has delivered every erasure notice.
func waitOutboxEmpty(t *testing.T, s *server) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); countRows(t, s.dbURL, "enduser_erasure_outbox") != 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the erasure outbox was not delivered by the serving instance")
		}
	}
}

// waitAudit waits (a condition, with a deadline: the serving instance writes
// its trail in batches) until the audit trail holds each event for uid.
func waitAudit(t *testing.T, s *server, uid string, events ...string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		seen := map[string]bool{}
		for _, l := range s.auditLines(t, "--uid", uid) {
			seen[l.Event] = true
		}
		missing := ""
		for _, ev := range events {
			if !seen[ev] {
				missing = ev
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s audit record for %s (saw %v)", missing, uid, seen)
		}
	}
}
