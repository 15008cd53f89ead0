// Command enduser-load drives a running enduser server with many concurrent
// clients and prints throughput, latency percentiles and errors.
//
// Against `ENDUSER_RATE_LIMITS=off enduser dev` (whose fake WeChat accepts any code "<person>.<nonce>")
// the defaults work as they are:
//
//	go run ./cmd/enduser-load -clients 16 -duration 10s
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	baseURL    string
	userDomain string
	appID      string
	secret     string
	clients    int
	duration   time.Duration
	users      int
	mode       string
}

func main() {
	var o options
	flag.StringVar(&o.baseURL, "url", "http://127.0.0.1:8080", "server base URL")
	flag.StringVar(&o.userDomain, "user-domain", "C.DM.10000.1", "user domain (enduser dev's demo domain by default)")
	flag.StringVar(&o.appID, "app-id", "wx0123456789demo", "official account appId")
	flag.StringVar(&o.secret, "secret", "demo-user-domain-secret-0123456789", "user domain secret")
	flag.IntVar(&o.clients, "clients", 16, "concurrent clients")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long to run")
	flag.IntVar(&o.users, "users", 1000, "distinct persons logging in (codes <person>.<nonce>)")
	flag.StringVar(&o.mode, "mode", "login", "login: WeChat logins; refresh: each client logs in once, then rotates its refresh token")
	flag.Parse()
	if o.clients < 1 || o.users < 1 || o.duration <= 0 || (o.mode != "login" && o.mode != "refresh") {
		fmt.Fprintln(os.Stderr, "enduser-load: -clients and -users must be >= 1, -duration > 0, -mode login|refresh")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := runLoad(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "enduser-load:", err)
		os.Exit(1)
	}
	r.print(os.Stdout, o)
	if r.ok == 0 {
		os.Exit(1)
	}
}

type result struct {
	ok        int64
	errors    map[string]int64
	latencies []time.Duration
	elapsed   time.Duration
}

type envelope struct {
	Code int `json:"code"`
	Data *struct {
		RefreshToken struct {
			Token string `json:"token"`
		} `json:"refreshToken"`
	} `json:"data"`
}

func runLoad(ctx context.Context, o options) (*result, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = o.clients*2, o.clients*2
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()

	var seq atomic.Int64
	run := fmt.Sprint(time.Now().UnixNano())
	login := func(person int) (string, string, error) {
		code := fmt.Sprintf("load%d.%s-%d", person, run, seq.Add(1))
		sum := sha256.Sum256([]byte(o.appID + code + o.secret))
		q := url.Values{"appId": {o.appID}, "code": {code}, "signature": {hex.EncodeToString(sum[:])}, "userDomain": {o.userDomain}}
		return call(ctx, hc, http.MethodPost, o.baseURL+"/v2/enduser/enduserapi/wechatOffiaccountAuthLogin?"+q.Encode())
	}
	refresh := func(tok string) (string, string, error) {
		return call(ctx, hc, http.MethodPut, o.baseURL+"/v2/enduser/enduserapi/refreshToken?"+url.Values{"refreshToken": {tok}}.Encode())
	}

	var mu sync.Mutex
	res := &result{errors: map[string]int64{}}
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < o.clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			var lat []time.Duration
			errs := map[string]int64{}
			var ok int64
			var tok string
			for i := 0; ctx.Err() == nil; i++ {
				person := (c + i*o.clients) % o.users
				t0 := time.Now()
				var (
					outcome string
					next    string
					err     error
				)
				if o.mode == "refresh" && tok != "" {
					next, outcome, err = refresh(tok)
				} else {
					next, outcome, err = login(person)
				}
				d := time.Since(t0)
				switch {
				case err != nil && ctx.Err() != nil:
					// the run ended mid-request: not an error
				case err != nil:
					errs["transport: "+err.Error()]++
				case outcome != "200":
					errs["code "+outcome]++
					tok = ""
				default:
					ok++
					lat = append(lat, d)
					tok = next
				}
			}
			mu.Lock()
			res.ok += ok
			res.latencies = append(res.latencies, lat...)
			for k, v := range errs {
				res.errors[k] += v
			}
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res, nil
}

// call sends one request and returns the new refresh token and the envelope code.
func call(ctx context.Context, hc *http.Client, method, u string) (string, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return "", "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return "", "", ue.Err
		}
		return "", "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", "", err
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return "", "", fmt.Errorf("HTTP %d, body is not the envelope", resp.StatusCode)
	}
	tok := ""
	if env.Data != nil {
		tok = env.Data.RefreshToken.Token
	}
	return tok, strconv.Itoa(env.Code), nil
}

func (r *result) print(w io.Writer, o options) {
	sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[int(p*float64(len(r.latencies)-1))]
	}
	var nerr int64
	for _, v := range r.errors {
		nerr += v
	}
	fmt.Fprintf(w, "mode=%s clients=%d duration=%s users=%d\n", o.mode, o.clients, r.elapsed.Round(time.Millisecond), o.users)
	fmt.Fprintf(w, "ok=%d  %.0f %s/s  p50=%s  p99=%s  max=%s  errors=%d\n", r.ok, float64(r.ok)/r.elapsed.Seconds(), map[string]string{"login": "logins", "refresh": "refreshes"}[o.mode],
		pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), pct(1).Round(10*time.Microsecond), nerr)
	keys := make([]string, 0, len(r.errors))
	for k := range r.errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  error %s: %d\n", k, r.errors[k])
	}
	if r.errors["code 5148"] > 0 || r.errors["code 5367"] > 0 {
		fmt.Fprintln(w, "  (5148/5367: the server's abuse limits refuse one load generator's rate: start it with ENDUSER_RATE_LIMITS=off)")
	}
}
