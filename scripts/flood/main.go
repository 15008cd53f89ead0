// Command flood is the attacker's flood of issue 19 (item 2), as a load
// loop: from one IP, for a while, as fast as a few connections go, it sends
// one kind of login the abuse limits refuse, and prints the answers by
// business code. scripts/flood.sh runs it against `enduser dev` and measures
// what the flood wrote (the audit table's growth, the log's).
//
//	go run ./scripts/flood -url http://127.0.0.1:PORT -kind malformed -for 5s
//
// Kinds: malformed (a userDomain that does not parse: no secret needed),
// badsig (the demo tenant with a wrong signature: 5420 until the lockout),
// signed (correctly signed logins with fresh codes: past the exchange cap,
// 5367 rateLimited; the demo tenant's secret is public).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// The demo tenant of `enduser dev` (its secrets are public).
const (
	demoDomain = "C.DM.10000.1"
	demoSecret = "demo-user-domain-secret-0123456789"
	demoApp    = "wx0123456789demo"
	loginPath  = "/v2/enduser/enduserapi/wechatOffiaccountAuthLogin"
)

func main() {
	base := flag.String("url", "", "base URL of the module (http://127.0.0.1:PORT)")
	kind := flag.String("kind", "malformed", "malformed, badsig or signed")
	dur := flag.Duration("for", 5*time.Second, "how long to send")
	conns := flag.Int("c", 8, "concurrent connections")
	flag.Parse()
	if *base == "" {
		fmt.Fprintln(os.Stderr, "flood: -url is required")
		os.Exit(2)
	}
	var seq atomic.Int64
	query := func() url.Values {
		n := seq.Add(1)
		code := "flood." + strconv.FormatInt(n, 10)
		switch *kind {
		case "malformed":
			return url.Values{"userDomain": {"not a user domain!"}, "appId": {demoApp}, "code": {code}, "signature": {"x"}}
		case "badsig":
			return url.Values{"userDomain": {demoDomain}, "appId": {demoApp}, "code": {code}, "signature": {domain.LoginSignature(demoApp, code, "not-the-secret")}}
		default:
			return url.Values{"userDomain": {demoDomain}, "appId": {demoApp}, "code": {code}, "signature": {domain.LoginSignature(demoApp, code, demoSecret)}}
		}
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *conns}}
	var mu sync.Mutex
	codes := map[int]int{}
	var total atomic.Int64
	end := time.Now().Add(*dur)
	var wg sync.WaitGroup
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[int]int{}
			for time.Now().Before(end) {
				resp, err := hc.Post(*base+loginPath+"?"+query().Encode(), "", nil)
				c := -1 // a transport error
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					_ = resp.Body.Close()
					var env struct{ Code int }
					if json.NewDecoder(bytes.NewReader(body)).Decode(&env) == nil {
						c = env.Code
					}
				}
				local[c]++
				total.Add(1)
			}
			mu.Lock()
			for c, n := range local {
				codes[c] += n
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	keys := make([]int, 0, len(codes))
	for c := range codes {
		keys = append(keys, c)
	}
	sort.Ints(keys)
	fmt.Printf("requests %d in %s (%s, %d connections):", total.Load(), *dur, *kind, *conns)
	for _, c := range keys {
		fmt.Printf(" %d×%d", codes[c], c)
	}
	fmt.Println()
}
