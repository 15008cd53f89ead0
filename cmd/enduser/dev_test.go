package main

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

// TestDevPrintsACurlThatLogsIn runs `enduser dev` as a newcomer would and
// pastes the curl it prints into a shell, twice: both log the same person in.
func TestDevPrintsACurlThatLogsIn(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("this test pastes the curl into a shell and needs %s: %v", tool, err)
		}
	}
	pr := startDev(t, pgtest.NewDatabase(t))
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var curl, miniCurl, appCurl, phoneCurl string
	timeout := time.After(60 * time.Second)
	for miniCurl == "" || appCurl == "" || phoneCurl == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("dev ended before printing every curl")
			}
			switch {
			case strings.Contains(l, "curl ") && strings.Contains(l, "wechatMiniprogramPhoneNumber"):
				phoneCurl = strings.TrimSpace(l)
			case strings.Contains(l, "curl ") && strings.Contains(l, "wechatAppAuthLogin"):
				appCurl = strings.TrimSpace(l)
			case strings.Contains(l, "curl ") && strings.Contains(l, "wechatMiniprogramAuthLogin"):
				miniCurl = strings.TrimSpace(l)
			case strings.Contains(l, "curl ") && curl == "":
				curl = strings.TrimSpace(l)
			}
		case <-timeout:
			t.Fatal("dev printed no curls within 60s")
		}
	}
	go func() {
		for range lines { // keep draining
		}
	}()
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
	// The mini program's curl logs its demo person in through jscode2session.
	var miniUIDs []any
	for range 2 {
		out, err := exec.Command("bash", "-c", miniCurl).CombinedOutput()
		if err != nil {
			t.Fatalf("the printed mini program curl failed: %v\n%s\n%s", err, miniCurl, out)
		}
		var a answer
		if err := jsonUnmarshal(out, &a); err != nil || a.Code != 200 {
			t.Fatalf("the printed mini program curl did not log in: %s", out)
		}
		validateAgainstDoc(t, "POST", "/v2/enduser/enduserapi/wechatMiniprogramAuthLogin", 200, out)
		var p tokenPair
		_ = jsonUnmarshal(a.Data, &p)
		miniUIDs = append(miniUIDs, claims(t, p.AccessToken.Token)["uid"])
	}
	if miniUIDs[0] != miniUIDs[1] {
		t.Fatalf("the mini program's demo person got two uids: %v", miniUIDs)
	}
	// The native app's curl logs its demo person in through the mobile app.
	var appUIDs []any
	for range 2 {
		out, err := exec.Command("bash", "-c", appCurl).CombinedOutput()
		if err != nil {
			t.Fatalf("the printed native app curl failed: %v\n%s\n%s", err, appCurl, out)
		}
		var a answer
		if err := jsonUnmarshal(out, &a); err != nil || a.Code != 200 {
			t.Fatalf("the printed native app curl did not log in: %s", out)
		}
		validateAgainstDoc(t, "POST", "/v2/enduser/enduserapi/wechatAppAuthLogin", 200, out)
		var p tokenPair
		_ = jsonUnmarshal(a.Data, &p)
		appUIDs = append(appUIDs, claims(t, p.AccessToken.Token)["uid"])
	}
	if appUIDs[0] != appUIDs[1] || appUIDs[0] == uids[0] {
		t.Fatalf("the native app's demo person: uids %v (the official account's %v: no unionid, another user)", appUIDs, uids[0])
	}
	// The phone number's command logs in through the mini program and binds
	// the fake phone, twice (the same number again is a success).
	for range 2 {
		out, err := exec.Command("bash", "-c", phoneCurl).CombinedOutput()
		if err != nil {
			t.Fatalf("the printed phone command failed: %v\n%s\n%s", err, phoneCurl, out)
		}
		var a answer
		if err := jsonUnmarshal(out, &a); err != nil || a.Code != 200 || !strings.Contains(string(a.Data), `"phone":"138****8000"`) {
			t.Fatalf("the printed phone command did not bind the phone: %s", out)
		}
		validateAgainstDoc(t, "POST", "/v2/enduser/enduserapi/wechatMiniprogramPhoneNumber", 200, out)
	}
}

// TestShutdownFinishesInFlightRequests: on SIGTERM (context cancelled) the
// server stops accepting, but a login already in flight completes.
func TestShutdownFinishesInFlightRequests(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	url, stop := s.bootStoppable(t)
	code := s.fake.IssueCode(tAppID, wechatfake.User{OpenID: "o-slow"})
	s.fake.SetFailure(code, wechatfake.Failure{Delay: time.Second}) // WeChat answers slowly, then normally
	got := make(chan int, 1)
	before := s.fake.Requests()
	go func() {
		resp, err := s.client.Post(url+"/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?"+loginQuery(tUserDomain, tAppID, code, "").Encode(), "", nil)
		if err != nil {
			t.Errorf("in-flight login: %v", err)
			got <- 0
			return
		}
		defer resp.Body.Close()
		var a answer
		raw, _ := io.ReadAll(resp.Body)
		_ = jsonUnmarshal(raw, &a)
		got <- a.Code
	}()
	// Stop once the login is in flight: WeChat (slow) has its request.
	for deadline := time.Now().Add(10 * time.Second); s.fake.Requests() == before; {
		if time.Now().After(deadline) {
			t.Fatal("the login never reached WeChat")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if exit := stop(); exit != 0 {
		t.Fatalf("serve exited with %d", exit)
	}
	if c := <-got; c != 200 {
		t.Fatalf("the in-flight login got %d, want 200", c)
	}
}

// startDev runs `enduser dev` on the database dbURL (a port of its own, logs
// at ERROR) until the test ends, when it must exit 0, and returns what it
// prints.
func startDev(t *testing.T, dbURL string) io.Reader {
	t.Helper()
	vars := map[string]string{"ENDUSER_DATABASE_URL": dbURL, "ENDUSER_HTTP_ADDR": "127.0.0.1:0", "ENDUSER_LOG_LEVEL": "error"}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- runEnv(ctx, []string{"dev"}, env{getenv: envOf(vars), stdout: pw, stderr: io.Discard})
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("dev exited with %d", code)
		}
	})
	return pr
}
