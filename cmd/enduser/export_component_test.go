package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver, to read the sealed columns the export must not show

	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

// exportDoc is the document of `enduser user export`, as a client decodes it.
type exportDoc struct {
	ExportedAt string `json:"exportedAt"`
	User       struct {
		UID           string  `json:"uid"`
		UserDomain    string  `json:"userDomain"`
		Status        int     `json:"status"`
		RegisteredAt  string  `json:"registeredAt"`
		LastLoginAt   string  `json:"lastLoginAt"`
		RegisteredVia string  `json:"registeredVia"`
		DeletionDueAt *string `json:"deletionDueAt"`
	} `json:"user"`
	Profile map[string]any `json:"profile"`
	// Phone is the number bound through the mini program (null: none).
	Phone *struct {
		CountryCode string `json:"countryCode"`
		Number      string `json:"number"`
	} `json:"phone"`
	Identities []struct {
		AppID   string  `json:"appId"`
		AppKind string  `json:"appKind"`
		OpenID  string  `json:"openId"`
		UnionID *string `json:"unionId"`
		BoundAt string  `json:"boundAt"`
	} `json:"wechatIdentities"`
	Sessions []struct {
		ID               string  `json:"sessionId"`
		AppID            string  `json:"appId"`
		CreatedAt        string  `json:"createdAt"`
		ExpiresAt        string  `json:"expiresAt"`
		RefreshExpiresAt string  `json:"refreshExpiresAt"`
		RotatedAt        *string `json:"rotatedAt"`
		RevokedAt        *string `json:"revokedAt"`
		RevokeReason     *string `json:"revokeReason"`
		LogoutDeviceID   *string `json:"logoutDeviceId"`
	} `json:"sessions"`
	AuditRecords []struct {
		Time          string `json:"time"`
		Event         string `json:"event"`
		Code          int    `json:"code"`
		WeChatErrcode *int   `json:"wechatErrcode"`
		UserDomain    string `json:"userDomain"`
		AppID         string `json:"appId"`
		AppKind       string `json:"appKind"`
		UID           string `json:"uid"`
		OpenIDHash    string `json:"openidHash"`
		ClientIP      string `json:"clientIp"`
		UserAgent     string `json:"userAgent"`
		RequestID     string `json:"requestId"`
		Detail        string `json:"detail"`
		DeviceGiven   *bool  `json:"deviceGiven"`
	} `json:"auditRecords"`
	AuditTruncated bool `json:"auditTruncated"`
}

// TestUserExport: a person logs in through the official account and the mini
// program (one user by unionid), sets a profile, logs one session out naming
// a push device; `enduser user export UID` (another process) prints every
// section, in RFC 3339 UTC, and no secret: neither token, nor a sealed column
// of the database, nor the tenant's secrets. An unknown uid is a one-line
// error and a non-zero exit.
func TestUserExport(t *testing.T) {
	t.Parallel()
	s := startMiniServer(t, map[string]string{"ENDUSER_AUDIT": "on"})
	ivy := wechatfake.User{OpenID: "o-ivy-oa", UnionID: "u-ivy"}
	oa := s.loginAs(tAppID, ivy)
	mini := s.miniLoginAs(wechatfake.User{OpenID: "o-ivy-mini", UnionID: "u-ivy"})
	uid, _ := claims(t, oa.AccessToken.Token)["uid"].(string)
	if muid, _ := claims(t, mini.AccessToken.Token)["uid"].(string); uid == "" || muid != uid {
		t.Fatalf("one person through two apps: uids %q and %q", uid, muid)
	}
	oaSID, _ := claims(t, oa.AccessToken.Token)["sid"].(string)
	miniSID, _ := claims(t, mini.AccessToken.Token)["sid"].(string)
	if a := s.do(http.MethodPut, pathSetUserInfo+"?nikeName=Ivy&city=Hangzhou&sex=1", nil, "Authorization", oa.AccessToken.Token); a.Code != 200 {
		t.Fatalf("setUserInfo: %d %q", a.Code, a.Msg)
	}
	refreshed := s.refresh(mini.RefreshToken.Token)
	if refreshed.Code != 200 {
		t.Fatalf("refresh: %d", refreshed.Code)
	}
	if a := s.do(http.MethodDelete, pathLogout+"?deviceId=push-device-ivy-1", nil, "Authorization", oa.AccessToken.Token); a.Code != 200 {
		t.Fatalf("logout: %d %q", a.Code, a.Msg)
	}
	other := s.loginAs(tAppID, wechatfake.User{OpenID: "o-jack"})
	otherUID, _ := claims(t, other.AccessToken.Token)["uid"].(string)

	// The audit trail is written in batches: wait until the logout is in it.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if strings.Contains(s.mustCLI("audit", "--user-domain", tUserDomain, "--uid", uid), `"event":"logout"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the logout never reached the audit trail")
		}
	}

	out := s.mustCLI("user", "export", uid)
	var doc exportDoc
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("the export is not the document: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("more than one document:\n%s", out)
	}
	if doc.Phone != nil || !strings.Contains(out, `"phone": null`) {
		t.Fatalf("a user without a phone: the export's phone must be null:\n%s", out)
	}
	utc := func(what, v string) time.Time {
		t.Helper()
		at, err := time.Parse(time.RFC3339, v)
		if err != nil || !strings.HasSuffix(v, "Z") {
			t.Fatalf("%s %q is not RFC 3339 UTC", what, v)
		}
		return at
	}
	utc("exportedAt", doc.ExportedAt)
	u := doc.User
	if u.UID != uid || u.UserDomain != tUserDomain || u.Status != 1 || u.RegisteredVia != "offiaccount" || u.DeletionDueAt != nil {
		t.Fatalf("user: %+v", u)
	}
	if utc("lastLoginAt", u.LastLoginAt).Before(utc("registeredAt", u.RegisteredAt)) {
		t.Fatalf("last login before registration: %+v", u)
	}
	if doc.Profile["nikeName"] != "Ivy" || doc.Profile["city"] != "Hangzhou" || doc.Profile["sex"] != float64(1) || doc.Profile["remark"] != nil {
		t.Fatalf("profile: %v", doc.Profile)
	}
	if len(doc.Profile) != 11 {
		t.Fatalf("profile has %d fields, want setUserInfo's 11: %v", len(doc.Profile), doc.Profile)
	}
	if len(doc.Identities) != 2 {
		t.Fatalf("identities: %+v", doc.Identities)
	}
	for i, want := range []struct{ app, kind, openID string }{{tAppID, "offiaccount", "o-ivy-oa"}, {tMiniAppID, "miniprogram", "o-ivy-mini"}} {
		id := doc.Identities[i]
		if id.AppID != want.app || id.AppKind != want.kind || id.OpenID != want.openID || id.UnionID == nil || *id.UnionID != "u-ivy" {
			t.Fatalf("identity %d: %+v, want %+v", i, id, want)
		}
		utc("boundAt", id.BoundAt)
	}
	if len(doc.Sessions) != 2 {
		t.Fatalf("sessions: %+v", doc.Sessions)
	}
	for _, ss := range doc.Sessions {
		utc("createdAt", ss.CreatedAt)
		utc("expiresAt", ss.ExpiresAt)
		utc("refreshExpiresAt", ss.RefreshExpiresAt)
		switch ss.ID {
		case oaSID:
			if ss.AppID != tAppID || ss.RevokedAt == nil || ss.RevokeReason == nil || *ss.RevokeReason != "logout" ||
				ss.LogoutDeviceID == nil || *ss.LogoutDeviceID != "push-device-ivy-1" || ss.RotatedAt != nil {
				t.Fatalf("the logged-out session: %+v", ss)
			}
			utc("revokedAt", *ss.RevokedAt)
		case miniSID:
			if ss.AppID != tMiniAppID || ss.RevokedAt != nil || ss.RevokeReason != nil || ss.LogoutDeviceID != nil || ss.RotatedAt == nil {
				t.Fatalf("the refreshed live session: %+v", ss)
			}
			utc("rotatedAt", *ss.RotatedAt)
		default:
			t.Fatalf("a session of someone else? %+v (want %s or %s)", ss, oaSID, miniSID)
		}
	}
	events := map[string]int{}
	for _, r := range doc.AuditRecords {
		if r.UID != uid {
			t.Fatalf("an audit record of another user: %+v", r)
		}
		if r.UserDomain != tUserDomain || strings.Contains(r.OpenIDHash, "o-ivy") {
			t.Fatalf("an openid in clear in the audit: %+v", r)
		}
		utc("audit time", r.Time)
		events[r.Event]++
	}
	if events["login"] != 2 || events["logout"] != 1 {
		t.Fatalf("audit events %v, want 2 logins and a logout", events)
	}
	if first := doc.AuditRecords[0]; first.Event != "login" || first.AppID != tAppID || first.OpenIDHash == "" || first.Code != 200 {
		t.Fatalf("the first record is the first login, oldest first, openid as its hash: %+v", first)
	}
	if last := doc.AuditRecords[len(doc.AuditRecords)-1]; last.Event != "logout" || last.DeviceGiven == nil || !*last.DeviceGiven {
		t.Fatalf("the last record is the logout naming a device: %+v", last)
	}
	if doc.AuditTruncated {
		t.Fatal("a handful of records truncated")
	}

	// No secret: the tokens (whole and their parts), the tenant's secrets,
	// the master key, and no sealed column of the database in any encoding.
	secrets := []string{tSecret, tAppSecret, tMiniAppSecret, testMasterKey}
	var rp tokenPair
	_ = json.Unmarshal(refreshed.Data, &rp)
	for _, p := range []tokenPair{oa, mini, rp} {
		for _, tok := range []string{p.AccessToken.Token, p.RefreshToken.Token} {
			tok = strings.TrimPrefix(tok, "Bearer ")
			if tok == "" {
				t.Fatal("a token pair without its tokens")
			}
			secrets = append(secrets, tok)
			if parts := strings.Split(tok, "."); len(parts) == 3 {
				secrets = append(secrets, parts[2])
			}
			if raw, err := base64.RawURLEncoding.DecodeString(tok); err == nil && len(raw) > 16 {
				secrets = append(secrets, hex.EncodeToString(raw[len(raw)-16:]))
			}
		}
	}
	db, err := sql.Open("pgx", s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), `SELECT refresh_key_enc FROM enduser_sessions WHERE user_id = $1`, uid)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var enc []byte
		if err := rows.Scan(&enc); err != nil {
			t.Fatal(err)
		}
		if len(enc) > 0 {
			secrets = append(secrets, hex.EncodeToString(enc), base64.StdEncoding.EncodeToString(enc), base64.RawURLEncoding.EncodeToString(enc))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, sec := range secrets {
		if sec != "" && strings.Contains(out, sec) {
			t.Fatalf("the export holds a secret %q:\n%s", sec, out)
		}
	}
	for _, name := range []string{"refreshKey", "token", "secret", "counter"} {
		if strings.Contains(strings.ToLower(out), strings.ToLower(`"`+name)) {
			t.Fatalf("the export has a %s member:\n%s", name, out)
		}
	}
	if strings.Contains(out, otherUID) || strings.Contains(out, "o-jack") {
		t.Fatalf("another user's data in the export:\n%s", out)
	}

	// The export is itself on the trail (written before the command ends).
	if audit := s.mustCLI("audit", "--user-domain", tUserDomain, "--uid", uid); !strings.Contains(audit, `"event":"user_exported"`) {
		t.Fatalf("no user_exported audit record:\n%s", audit)
	}

	code, stdout, stderr := s.cli("user", "export", "no-such-uid")
	if code == 0 || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "no-such-uid") {
		t.Fatalf("unknown uid: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, _, stderr := s.cli("user", "export"); code != 2 || !strings.Contains(stderr, "UID") {
		t.Fatalf("export without a UID: exit %d, %q", code, stderr)
	}
}
