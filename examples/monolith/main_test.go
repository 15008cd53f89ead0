package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"

	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/domain"
	"github.com/iotplatform/enduser-auth/migrations"
)

// The example's tests run the host as its main does (run, in-process), on a
// database of their own that no migration has touched, as a host team meets
// the module the first time.

// TestHostOnAnEmptyDatabase: the README's embedding, on a brand-new
// database: the host starts, a person logs in through the module's
// endpoint, and the host's own route takes the module's token (and refuses
// a request without one in the host's way: 401 through its error handler).
func TestHostOnAnEmptyDatabase(t *testing.T) {
	dsn := emptyDatabase(t)
	h := startHost(t, map[string]string{"MONOLITH_DATABASE_URL": dsn})
	token := h.loginAndUseDevices(t, "alice")

	// The person deletes the account at once: the module erases it and
	// announces it, and the host's module forgets the person's devices.
	if status, body := h.do(t, http.MethodDelete, "/v2/enduser/enduserapi/userDelete?type=1", token); status != http.StatusOK ||
		!strings.Contains(string(body), `"code":200`) {
		t.Fatalf("userDelete: %d %s", status, body)
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	left := -1
	for range 200 { // the announcement follows the erasure's commit; a safety bound, not a timing assertion
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM monolith_devices").Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if left != 0 {
		t.Fatalf("the erased user's devices are still there: %d", left)
	}
	h.stop(t)
}

// TestHostUpgradesADatabaseBehind: a database migrated up, then down two
// versions (the module of an earlier release): the host migrates it, as the
// README's embedding does, starts, and serves.
func TestHostUpgradesADatabaseBehind(t *testing.T) {
	ctx := context.Background()
	dsn := emptyDatabase(t)
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	p, err := migrations.NewProvider(sqlDB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	latest, _ := p.GetDBVersion(ctx)
	for range 2 {
		if _, err := p.Down(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := p.GetDBVersion(ctx); v > latest-2 { // further behind when the numbers have a gap (a migration landing on another branch)
		t.Fatalf("down two versions: at %d, latest %d", v, latest)
	}
	_ = sqlDB.Close()

	h := startHost(t, map[string]string{"MONOLITH_DATABASE_URL": dsn})
	h.loginAndUseDevices(t, "bob")
	h.stop(t)
}

// TestHostWithASigningKeyThatDoesNotOpen: the signing keys were sealed under
// another master key: the module's Start fails, and the host ends at once
// with the reason on stderr and a non-zero status (never a hang).
func TestHostWithASigningKeyThatDoesNotOpen(t *testing.T) {
	dsn := emptyDatabase(t)
	first := startHost(t, map[string]string{"MONOLITH_DATABASE_URL": dsn, "ENDUSER_MASTER_KEY": randomKey(t)})
	first.stop(t) // the first start created the signing key, sealed under its master key

	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a safety net: a hang fails, it does not stall CI
	defer cancel()
	env := map[string]string{"MONOLITH_DATABASE_URL": dsn, "ENDUSER_MASTER_KEY": randomKey(t), "MONOLITH_ADDR": "127.0.0.1:0"}
	served := false
	code := run(ctx, []string{"--fake-wechat"}, mapEnv(env), io.Discard, &stderr, func(string) { served = true })
	if code == 0 || served || ctx.Err() != nil {
		t.Fatalf("a signing key that does not open: exit %d, served %v, ctx %v; stderr:\n%s", code, served, ctx.Err(), stderr.String())
	}
	last := lastLine(stderr.String())
	if !strings.HasPrefix(last, "monolith: ") || !strings.Contains(last, "signing key") {
		t.Fatalf("the reason is not the last line on stderr: %q", last)
	}
}

// host is one run of the example host.
type host struct {
	base   string
	cancel context.CancelFunc
	done   chan int
	stderr *syncBuffer
}

func startHost(t *testing.T, env map[string]string) *host {
	t.Helper()
	env["MONOLITH_ADDR"] = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	h := &host{cancel: cancel, done: make(chan int, 1), stderr: &syncBuffer{}}
	addr := make(chan string, 1)
	go func() {
		h.done <- run(ctx, []string{"--fake-wechat"}, mapEnv(env), io.Discard, h.stderr, func(a string) { addr <- a })
	}()
	select {
	case a := <-addr:
		h.base = "http://" + a
	case code := <-h.done:
		cancel()
		t.Fatalf("the host ended at start with status %d:\n%s", code, h.stderr.String())
	}
	t.Cleanup(func() { cancel() })
	return h
}

// stop ends the host as SIGTERM does and checks it ended well.
func (h *host) stop(t *testing.T) {
	t.Helper()
	h.cancel()
	if code := <-h.done; code != 0 {
		t.Fatalf("the host ended with status %d:\n%s", code, h.stderr.String())
	}
}

// loginAndUseDevices logs person in through the module's endpoint and uses
// the host's protected route with the token, and without.
func (h *host) loginAndUseDevices(t *testing.T, person string) (token string) {
	t.Helper()
	code := person + ".1"
	q := url.Values{"appId": {demoAppID}, "code": {code}, "userDomain": {demoUserDomain}, "mcc": {"460"},
		"signature": {domain.LoginSignature(demoAppID, code, demoSecret)}}
	status, body := h.do(t, http.MethodPost, "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?"+q.Encode(), "")
	var login struct {
		Code int `json:"code"`
		Data struct {
			AccessToken struct {
				Token string `json:"token"`
			} `json:"accessToken"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &login); err != nil || status != http.StatusOK || login.Code != 200 || login.Data.AccessToken.Token == "" {
		t.Fatalf("login: %d %s %v", status, body, err)
	}
	token = login.Data.AccessToken.Token
	if status, body := h.do(t, http.MethodPost, "/devices?name=lamp", token); status != http.StatusCreated {
		t.Fatalf("add a device: %d %s", status, body)
	}
	status, body = h.do(t, http.MethodGet, "/devices", token)
	var list struct {
		Owner      string `json:"owner"`
		UserDomain string `json:"userDomain"`
		Devices    []struct {
			Name string `json:"name"`
		} `json:"devices"`
	}
	if err := json.Unmarshal(body, &list); err != nil || status != http.StatusOK || list.Owner == "" || list.UserDomain != demoUserDomain ||
		len(list.Devices) != 1 || list.Devices[0].Name != "lamp" {
		t.Fatalf("the host's protected route: %d %s %v", status, body, err)
	}
	status, body = h.do(t, http.MethodGet, "/devices", "")
	var refusal struct {
		Code int `json:"code"` // Echo's own error handler answers the *echo.HTTPError's Message
	}
	if err := json.Unmarshal(body, &refusal); err != nil || status != http.StatusUnauthorized || refusal.Code != 5106 {
		t.Fatalf("the host's route without a token: %d %s %v", status, body, err)
	}
	return token
}

func (h *host) do(t *testing.T, method, path, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, h.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// emptyDatabase creates a database no migration has touched (not the
// tests' migrated template) and drops it when the test ends.
func emptyDatabase(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	admin := pgtest.DefaultDatabaseURL
	if v := strings.TrimSpace(os.Getenv(pgtest.EnvDatabaseURL)); v != "" {
		admin = v
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("PostgreSQL (%s): %v", pgtest.EnvDatabaseURL, err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "enduser_test_monolith_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = c.Close(context.Background())
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func mapEnv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func randomKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
