package main

import (
	"bufio"
	"context"
	"database/sql"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

// TestDevWebsiteLoginInABrowser runs `enduser dev` and drives its website
// console page in a real headless browser (Debian's chromium): the page
// fetches a state (the nonce cookie set), follows the fake WeChat's QR page
// back to itself, posts the login with the cookie and shows the user's uid,
// which must be the user the login created. It fails, never skips, when the
// browser is missing: the cookie binding is tested where it lives.
func TestDevWebsiteLoginInABrowser(t *testing.T) {
	t.Parallel()
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("this test drives Debian's chromium (apt-get install -y chromium; .ci/run installs it): %v", err)
	}
	dbURL := pgtest.NewDatabase(t)
	pr := startDev(t, dbURL)
	page := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if l := sc.Text(); strings.Contains(l, "in a browser: ") {
				_, u, _ := strings.Cut(l, "in a browser: ")
				page <- strings.TrimSpace(u)
			}
		}
	}()
	var pageURL string
	select {
	case pageURL = <-page:
	case <-time.After(60 * time.Second):
		t.Fatal("dev printed no website login page within 60s")
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("headless", true))...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	bctx, cancelTimeout := context.WithTimeout(bctx, 90*time.Second)
	defer cancelTimeout()
	if _, err := chromedp.Run(bctx, chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("the browser: %v", err)
	}
	// The page settles on "logged in" or says what failed; it navigates
	// twice on the way (the fake's QR page, back to itself), which ends
	// any evaluation running then: ask again until the context's deadline.
	var status string
	for status == "" {
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(() => { const s = document.getElementById("status");
			const v = s ? s.textContent : ""; return (v === "logged in" || v.includes("failed") || v.startsWith("error")) ? v : ""; })()`))
		if bctx.Err() != nil {
			t.Fatalf("the page never settled: %v (last: %v)", bctx.Err(), err)
		}
		if err == nil {
			status = v
		}
		if status == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	uid, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("uid").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	location, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if status != "logged in" || uid == "" {
		t.Fatalf("the page says %q, uid %q (at %s)", status, uid, location)
	}
	if !strings.Contains(location, "code=") || !strings.Contains(location, "state=") {
		t.Fatalf("the page did not come back from the QR page with a code and a state: %s", location)
	}
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var created, via string
	if err := db.QueryRow(`SELECT i.user_id, u.registered_via FROM enduser_wechat_identities i JOIN enduser_users u ON u.id = i.user_id
		WHERE i.app_id = $1 AND i.open_id = $2`, devWebAppID, wechatfake.OpenIDForLabel(devWebAppID, "demo")).Scan(&created, &via); err != nil {
		t.Fatalf("the demo person's website binding: %v", err)
	}
	if uid != created || via != "website" {
		t.Fatalf("the page shows uid %q; the login created %q (registered via %q)", uid, created, via)
	}
}
