package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestChooseDevDatabase(t *testing.T) {
	bins := pgBins{initdb: "/pg/bin/initdb", pgCtl: "/pg/bin/pg_ctl"}
	found := func() (pgBins, error) { return bins, nil }
	missing := func() (pgBins, error) { return pgBins{}, errors.New("no PostgreSQL server binaries") }
	up := func(string) bool { return true }
	down := func(string) bool { return false }
	mustNotProbe := func(string) bool {
		t.Error("a configured URL or --throwaway-db must not probe the default address")
		return false
	}

	cases := []struct {
		name       string
		flag       bool
		configured string
		answers    func(string) bool
		find       func() (pgBins, error)
		want       devDatabase
		wantErr    string
	}{
		{"default server answers", false, "", up, found, devDatabase{url: devDatabaseURL}, ""},
		{"nothing answers, binaries", false, "", down, found, devDatabase{throwaway: true, bins: bins, why: "nothing answers at " + devDefaultAddr}, ""},
		{"nothing answers, no binaries", false, "", down, missing, devDatabase{}, "install PostgreSQL (apt-get install postgresql) or set ENDUSER_DATABASE_URL"},
		{"configured URL is used as it is", false, "postgres://u@db.example:5432/x", mustNotProbe, missing, devDatabase{url: "postgres://u@db.example:5432/x"}, ""},
		{"flag", true, "", mustNotProbe, found, devDatabase{throwaway: true, bins: bins, why: "--throwaway-db"}, ""},
		{"flag wins over the variable", true, "postgres://u@db.example:5432/x", mustNotProbe, found, devDatabase{throwaway: true, bins: bins, why: "--throwaway-db"}, ""},
		{"flag, no binaries", true, "", mustNotProbe, missing, devDatabase{}, "install PostgreSQL's server package"},
	}
	for _, c := range cases {
		got, err := chooseDevDatabase(c.flag, c.configured, c.answers, c.find)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: want one line with %q, got %v", c.name, c.wantErr, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v %v, want %+v", c.name, got, err, c.want)
		}
	}
}

func TestFindPGBinsPrefersPathThenTheNewestVersion(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9", "15", "13"} {
		dir := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, b := range []string{"initdb", "pg_ctl"} {
			if err := os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A newer version without pg_ctl does not count.
	if err := os.MkdirAll(filepath.Join(root, "16", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "16", "bin", "initdb"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	glob := filepath.Join(root, "*", "bin")
	notOnPath := func(string) (string, error) { return "", exec.ErrNotFound }
	b, err := findPGBins(notOnPath, glob)
	if err != nil || b.initdb != filepath.Join(root, "15", "bin", "initdb") || b.pgCtl != filepath.Join(root, "15", "bin", "pg_ctl") {
		t.Fatalf("want version 15's binaries, got %+v %v", b, err)
	}
	onPath := func(name string) (string, error) { return "/opt/pg/" + name, nil }
	if b, err := findPGBins(onPath, glob); err != nil || b.initdb != "/opt/pg/initdb" || b.pgCtl != "/opt/pg/pg_ctl" {
		t.Fatalf("PATH must win, got %+v %v", b, err)
	}
	if _, err := findPGBins(notOnPath, filepath.Join(root, "none", "*")); err == nil {
		t.Fatal("no binaries must be an error")
	}
}

// TestDevWithAConfiguredURLThatDoesNotAnswerFails: a URL the user set is never
// replaced by a throwaway cluster; it is a one-line error.
func TestDevWithAConfiguredURLThatDoesNotAnswerFails(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	vars := map[string]string{"ENDUSER_DATABASE_URL": "postgres://postgres@" + closed + "/enduser_dev?sslmode=disable", "ENDUSER_HTTP_ADDR": "127.0.0.1:0", "ENDUSER_LOG_LEVEL": "error"}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"dev"}, envOf(vars), &out, &errb)
	msg := strings.TrimSuffix(errb.String(), "\n")
	if code != 1 || strings.Contains(msg, "\n") || !strings.Contains(msg, closed) || strings.Contains(msg, "throwaway") {
		t.Fatalf("want exit 1 and one line naming %s, got %d: %q (stdout %q)", closed, code, errb.String(), out.String())
	}
}

// TestDevThrowawayDatabaseServesALogin runs the enduser binary as a newcomer
// would, `enduser dev --throwaway-db`, pastes the curl it prints, and stops it
// with Ctrl-C (SIGINT): the logins land in the throwaway cluster, the system
// server gets no database, and the cluster and its directory are gone after.
func TestDevThrowawayDatabaseServesALogin(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "sha256sum", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("this test builds the binary and pastes the curl into a shell; it needs %s: %v", tool, err)
		}
	}
	if _, err := findPGBins(exec.LookPath, pgBinGlob); err != nil {
		t.Fatalf("this test needs PostgreSQL's server binaries (apt-get install postgresql): %v", err)
	}
	bin := filepath.Join(t.TempDir(), "enduser")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The cluster's temporary directory goes here, so the test can see it
	// removed. World-searchable: the postgres OS user must reach it when the
	// test runs as root (t.TempDir's parents are private).
	tmp, err := os.MkdirTemp("", "enduser-throwaway-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}

	admin := adminDB(t)
	before := databases(t, admin)
	// The variable points at the system server, at a database that does not
	// exist: the flag wins, so it must stay absent.
	probe := fmt.Sprintf("enduser_throwaway_probe_%d", time.Now().UnixNano())
	probeURL, err := url.Parse(adminDSN())
	if err != nil {
		t.Fatal(err)
	}
	probeURL.Path = "/" + probe
	cmd := exec.Command(bin, "dev", "--throwaway-db")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "ENDUSER_HTTP_ADDR=127.0.0.1:0", "ENDUSER_LOG_LEVEL=error",
		"ENDUSER_DATABASE_URL="+probeURL.String())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-exited:
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
	})

	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var curl, dbLine string
	timeout := time.After(120 * time.Second)
	for curl == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("dev ended before printing a curl: %s", stderr.String())
			}
			if strings.HasPrefix(strings.TrimSpace(l), "database:") {
				dbLine = l
			}
			if strings.Contains(l, "curl ") {
				curl = strings.TrimSpace(l)
			}
		case <-timeout:
			t.Fatalf("dev printed no curl within 120s: %s", stderr.String())
		}
	}
	go func() {
		for range lines { // keep draining
		}
	}()
	m := regexp.MustCompile(`database:\s+(postgres://postgres@127\.0\.0\.1:(\d+)/enduser_dev\?sslmode=disable)\s+\(throwaway cluster in (\S+), removed on exit;`).FindStringSubmatch(dbLine)
	if m == nil {
		t.Fatalf("the banner does not say it runs on a throwaway cluster: %q", dbLine)
	}
	throwawayURL, port, dir := m[1], m[2], m[3]
	if port == "5432" || filepath.Dir(dir) != tmp {
		t.Fatalf("the throwaway cluster must be on a port of its own in a temporary directory, got port %s dir %s", port, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		t.Fatalf("no cluster in %s: %v", dir, err)
	}

	var uids []any
	for i := 0; i < 2; i++ {
		out, err := exec.Command("bash", "-c", curl).CombinedOutput()
		if err != nil {
			t.Fatalf("the printed curl failed: %v\n%s\n%s", err, curl, out)
		}
		var a answer
		if err := jsonUnmarshal(out, &a); err != nil || a.Code != 200 {
			t.Fatalf("the printed curl did not log in: %s", out)
		}
		validateAgainstDoc(t, "POST", "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin", 200, out)
		var p tokenPair
		_ = jsonUnmarshal(a.Data, &p)
		uids = append(uids, claims(t, p.AccessToken.Token)["uid"])
	}
	if uids[0] != uids[1] {
		t.Fatalf("the demo person got two uids: %v", uids)
	}
	if n := countRows(t, throwawayURL, "enduser_sessions"); n != 2 {
		t.Fatalf("the throwaway cluster holds %d sessions, want the 2 logins", n)
	}

	// Ctrl-C: the cluster stops and its directory goes.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("dev exited with %v after SIGINT: %s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("dev did not exit within 60s of SIGINT: %s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "throwaway database stopped and "+dir+" removed") {
		t.Fatalf("dev did not report the cleanup: %s", stderr.String())
	}
	if entries, err := os.ReadDir(tmp); err != nil || len(entries) != 0 {
		t.Fatalf("the throwaway cluster's directory is left behind: %v %v", entries, err)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		c.Close()
		t.Fatalf("something still answers on the throwaway cluster's port %s", port)
	}

	// The system server was left alone: no database of dev's (the variable's
	// included); the only new ones are other tests' clones and templates.
	after := databases(t, admin)
	if after[probe] {
		t.Errorf("dev created the configured database %q on the system server despite --throwaway-db", probe)
	}
	for name := range after {
		if !before[name] && !otherTestsDatabase(name) {
			t.Errorf("the system server has a new database %q", name)
		}
	}
}

// otherTestsDatabase reports whether name is a database the tests of any
// package may create while this one runs (go test runs packages, and this
// package's parallel tests, at once).
func otherTestsDatabase(name string) bool {
	for _, p := range []string{"enduser_test_", "enduser_tmpl_", "enduser_clitest_", "enduser_empty_", "enduser_open_test_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func databases(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	rows, err := db.Query("SELECT datname FROM pg_database")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[n] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
