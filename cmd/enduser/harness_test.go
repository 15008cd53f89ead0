package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/iotplatform/enduser-auth/adapters/httpapi/openapitest"
	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
)

// The tenant every component test provisions through the CLI.
const (
	tUserDomain = "C.DM.10271.5"
	tSecret     = "component-test-user-domain-secret"
	tAppID      = "wxcomponent0001"
	tAppSecret  = "component-app-secret-0001"
	tAppID2     = "wxcomponent0002"
	tAppSecret2 = "component-app-secret-0002"
	tDisabled   = "D.DM.1.1"
)

// docClient is the component tests' HTTP client: every answer it receives is
// validated against the module's OpenAPI document (a mismatch is the
// request's error), so every test checks the document as it goes.
var docClient = &http.Client{Timeout: 30 * time.Second, Transport: openapitest.Transport(nil)}

// validateAgainstDoc checks an answer received outside docClient (the body a
// pasted curl printed: HTTP 200, Echo's JSON) against the OpenAPI document.
func validateAgainstDoc(t *testing.T, method, path string, status int, body []byte) {
	t.Helper()
	h := http.Header{"Content-Type": {"application/json; charset=UTF-8"}}
	if err := openapitest.ValidateResponse(httptest.NewRequest(method, path, nil), status, h, bytes.TrimSpace(body)); err != nil {
		t.Fatal(err)
	}
}

var testMasterKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))

// server is the real enduser binary's serve command, booted in-process on its
// own database, against a fake WeChat.
type server struct {
	t      *testing.T
	url    string
	dbURL  string
	fake   *wechatfake.Server
	vars   map[string]string
	client *http.Client
	// admin is the first instance's admin listener URL ("" when off); logs
	// is everything it logged; stop stops it (as SIGTERM does).
	admin string
	logs  *syncBuffer
	stop  func() int
}

// startServer provisions a tenant with the CLI commands and starts `enduser
// serve` on a loopback port. extra overrides environment variables.
func startServer(t *testing.T, extra map[string]string) *server {
	t.Helper()
	fake := wechatfake.New()
	fake.AddAccount(tAppID, tAppSecret)
	fake.AddAccount(tAppID2, tAppSecret2)
	fakeSrv := httptest.NewServer(fake)
	t.Cleanup(fakeSrv.Close)

	s := &server{t: t, dbURL: pgtest.NewDatabase(t), fake: fake, client: docClient}
	s.vars = map[string]string{
		"ENDUSER_DATABASE_URL":        s.dbURL,
		"ENDUSER_MASTER_KEY":          testMasterKey,
		"ENDUSER_WECHAT_API_BASE_URL": fakeSrv.URL,
		"ENDUSER_WECHAT_TIMEOUT":      "2s",
		"ENDUSER_DATA_CENTER":         "CN",
		"ENDUSER_HTTP_ADDR":           "127.0.0.1:0",
		"ENDUSER_LOG_LEVEL":           "error",
		"ENDUSER_ADMIN_ADDR":          "127.0.0.1:0",
		// The abuse limits are off unless a test is about them (its extra turns them on).
		"ENDUSER_RATE_LIMITS": "off",
	}
	for k, v := range extra {
		s.vars[k] = v
	}
	s.mustCLI("userdomain", "create", tUserDomain, "--secret", tSecret)
	s.mustCLI("userdomain", "create", "--secret", tSecret, tDisabled) // flag before the name
	s.mustCLI("userdomain", "disable", tDisabled)
	s.mustCLI("officialaccount", "add", "--user-domain", tUserDomain, "--app-id", tAppID, "--app-secret", tAppSecret)
	s.mustCLI("officialaccount", "add", "--user-domain", tUserDomain, "--app-id", tAppID2, "--app-secret", tAppSecret2)
	s.mustCLI("officialaccount", "add", "--user-domain", tDisabled, "--app-id", tAppID, "--app-secret", tAppSecret)
	s.mustCLI("datacenter", "set", "CN", "--api-url", "https://cn.example.com", "--mcc", "460,461")
	s.mustCLI("datacenter", "set", "--api-url", "https://eu.example.com", "EU", "--mcc", "262,208")

	s.url, s.stop = s.bootStoppable(t)
	return s
}

// boot starts one more `enduser serve` instance on the server's database and
// returns its base URL; it stops at the end of the test.
func (s *server) boot(t *testing.T) string {
	t.Helper()
	url, _ := s.bootStoppable(t)
	return url
}

// bootStoppable is boot that also returns the function that stops the
// instance (as SIGTERM does) and waits for it to exit.
func (s *server) bootStoppable(t *testing.T) (string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan int, 1)
	stderr := &syncBuffer{}
	first := s.logs == nil
	if first {
		s.logs = stderr
	}
	admin := make(chan string, 1)
	go func() {
		done <- runEnv(ctx, []string{"serve"}, env{getenv: s.getenv, stdout: io.Discard, stderr: stderr,
			ready: func(a string) { addr <- a }, adminReady: func(a string) { admin <- a }})
	}()
	var url string
	select {
	case a := <-addr:
		url = "http://" + a
		select {
		case a := <-admin:
			if first {
				s.admin = "http://" + a
			}
		default:
		}
	case code := <-done:
		cancel()
		t.Fatalf("serve exited with %d before listening: %s", code, stderr.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("serve did not start within 60s")
	}
	var once sync.Once
	exit := -1
	stop := func() int {
		once.Do(func() {
			cancel()
			select {
			case exit = <-done:
				if exit != 0 {
					t.Errorf("serve exited with %d: %s", exit, stderr.String())
				}
			case <-time.After(30 * time.Second):
				t.Error("serve did not shut down within 30s")
			}
		})
		return exit
	}
	t.Cleanup(func() { stop() })
	return url, stop
}

func (s *server) getenv(k string) string { return s.vars[k] }

// cli runs one enduser command line against the server's database.
func (s *server) cli(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, s.getenv, &out, &errb)
	return code, out.String(), errb.String()
}

func (s *server) mustCLI(args ...string) string {
	s.t.Helper()
	code, out, errs := s.cli(args...)
	if code != 0 {
		s.t.Fatalf("enduser %s: exit %d: %s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// answer is a decoded envelope.
type answer struct {
	Status int
	Code   int             `json:"code"`
	Msg    string          `json:"msg"`
	Data   json.RawMessage `json:"data"`
	ExtMsg *string         `json:"extMsg"`
}

type tokenPair struct {
	AccessToken struct {
		Token          string `json:"token"`
		ExpirationTime int64  `json:"expirationTime"`
	} `json:"accessToken"`
	RefreshToken struct {
		Token          string `json:"token"`
		ExpirationTime int64  `json:"expirationTime"`
	} `json:"refreshToken"`
}

func (a answer) pair(t *testing.T) tokenPair {
	t.Helper()
	var p tokenPair
	if a.Code != 200 {
		t.Fatalf("want code 200, got %d %q ext=%v", a.Code, a.Msg, deref(a.ExtMsg))
	}
	if err := json.Unmarshal(a.Data, &p); err != nil {
		t.Fatalf("data is not a token pair: %s", a.Data)
	}
	return p
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// do sends a request and decodes the envelope. headers are name, value pairs.
func (s *server) do(method, path string, body io.Reader, headers ...string) answer {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		s.t.Fatalf("%s %s: HTTP %d, body is not the envelope: %q", method, path, resp.StatusCode, raw)
	}
	a.Status = resp.StatusCode
	if !bytes.Contains(raw, []byte(`"extMsg"`)) || !bytes.Contains(raw, []byte(`"data"`)) || !bytes.Contains(raw, []byte(`"msg"`)) {
		s.t.Fatalf("%s %s: envelope misses a member: %s", method, path, raw)
	}
	return a
}

// loginQuery builds the login query for code, signed with the tenant's secret.
func loginQuery(userDomain, appID, code, mcc string) url.Values {
	q := url.Values{"userDomain": {userDomain}, "appId": {appID}, "code": {code},
		"signature": {domain.LoginSignature(appID, code, tSecret)}}
	if mcc != "" {
		q.Set("mcc", mcc)
	}
	return q
}

func (s *server) login(q url.Values, headers ...string) answer {
	s.t.Helper()
	return s.do(http.MethodPost, "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?"+q.Encode(), nil, headers...)
}

// loginAs logs a fresh code of u in through appID and returns the pair.
func (s *server) loginAs(appID string, u wechatfake.User) tokenPair {
	s.t.Helper()
	code := s.fake.IssueCode(appID, u)
	return s.login(loginQuery(tUserDomain, appID, code, "")).pair(s.t)
}

// claims decodes (without verifying) the access token's payload.
func claims(t *testing.T, bearer string) map[string]any {
	t.Helper()
	m, err := decodeClaims(bearer)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// decodeClaims is claims for goroutines, which must not call t.Fatal.
func decodeClaims(bearer string) (map[string]any, error) {
	tok := strings.TrimPrefix(bearer, "Bearer ")
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("access token is not a JWS: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// sqlDB opens the server's database for direct inspection.
func (s *server) sql(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countRows(t *testing.T, dbURL, table string) int {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func httpStatus(t *testing.T, u string) int {
	t.Helper()
	resp, err := docClient.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// undocumentedStatus GETs u without validating the answer against the API
// document: for checks that a path is not served (the host's 404).
func undocumentedStatus(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// adminDB connects to the maintenance database of the test server.
func adminDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", adminDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// adminDSN is the test server's maintenance database (ENDUSER_TEST_DATABASE_URL).
func adminDSN() string {
	if dsn := os.Getenv("ENDUSER_TEST_DATABASE_URL"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}
