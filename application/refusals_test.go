package application_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/ratelimit"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// floodTarget is a service with the memory limits on the harness's clock,
// recording its audit events and logging JSON lines into a buffer.
type floodTarget struct {
	h      *harness
	svc    application.Facades
	limits *ratelimit.Limits
	audit  *recordingAudit
	mu     sync.Mutex
	logs   bytes.Buffer
}

func (f *floodTarget) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logs.Write(p)
}

func newFloodTarget(t *testing.T, cfg ratelimit.Config) *floodTarget {
	h := newHarness(t, func(c *application.Config) { c.WeChatCoolDown = time.Hour })
	h.wechat.codes["code-quota"] = person{err: domain.WeChatRejected(45011, `{"errcode":45011,"errmsg":"api minute-quota reach limit"}`)}
	l, err := ratelimit.New(ratelimit.Settings{Enabled: true, Config: cfg}, h.clock, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &floodTarget{h: h, limits: l, audit: &recordingAudit{}}
	s := h.store
	f.svc = application.New(h.cfg, application.Deps{Clock: h.clock, WeChat: h.wechat, Domains: s, Apps: s, DataCenters: s, Users: s,
		Sessions: s, Tokens: h.tokens, Limiter: l.Limiter, Exchanges: l, Audit: f.audit,
		Log: slog.New(application.ContextLogHandler(slog.NewJSONHandler(f, nil)))})
	return f
}

// refusalLines returns the log lines of the refusal reports, and fails on a
// line a refused request logged of its own.
func (f *floodTarget) refusalLines(t *testing.T) []map[string]any {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		switch {
		case m["event"] == application.AuditRefusals:
			out = append(out, m)
		case m["outcome"] == string(domain.KindClientBlocked) || strings.Contains(fmt.Sprint(m["error"]), "rateLimited"):
			t.Errorf("a refused request logged a line of its own: %s", l)
		}
	}
	f.logs.Reset()
	return out
}

type refusalDetail struct {
	Reason       string `json:"reason"`
	Count        int    `json:"count"`
	First        string `json:"first"`
	Last         string `json:"last"`
	OtherClients bool   `json:"otherClients"`
}

// refusalRecords returns the refusals records recorded since the last call
// (failing on a login record of a refused request) and their details.
func (f *floodTarget) refusalRecords(t *testing.T) ([]application.AuditEvent, []refusalDetail) {
	t.Helper()
	var evs []application.AuditEvent
	var ds []refusalDetail
	for _, e := range f.audit.take() {
		switch e.Event {
		case application.AuditRefusals:
			var d refusalDetail
			if err := json.Unmarshal([]byte(e.Detail), &d); err != nil {
				t.Fatalf("refusals detail %q: %v", e.Detail, err)
			}
			evs, ds = append(evs, e), append(ds, d)
		case application.AuditLogin:
			if isRefusalOutcome(e) {
				t.Errorf("a refused request recorded a login record: %+v", e)
			}
		}
	}
	return evs, ds
}

func isRefusalOutcome(e application.AuditEvent) bool {
	return e.Outcome == domain.KindClientBlocked || e.Outcome == domain.KindWeChatUnavailable
}

// runUntilStopped runs the machinery's loops and stops them, as a module's
// Stop does: the last flush reports every count still held.
func (f *floodTarget) runUntilStopped(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(f.h.ctx)
	done := make(chan error, 1)
	go func() { done <- f.svc.Machinery.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestFloodRefusalsSampled (issue 19, item 2): N refused requests of one
// client, for each reason, give the same records and log lines for N = 30 as
// for 300: the first refusal announced at once (the lockout's start has its
// own record instead), the others counted; the refusal after the minute
// reports their count (first and last times) and opens the next window,
// which Run's end reports; the limits' counter counts every refusal.
func TestFloodRefusalsSampled(t *testing.T) {
	const ip = "192.0.2.77"
	cases := []struct {
		reason    string
		cfg       ratelimit.Config
		code      domain.Kind
		announced bool
		prepare   func(f *floodTarget, ctx context.Context)
		refuse    func(f *floodTarget, ctx context.Context, i int) error
		// userDomain and appID of the key
		userDomain, appID string
	}{
		{reason: application.RefusalIPBucket, cfg: ratelimit.Config{IPRate: 0.0001, IPBurst: 1}, code: domain.KindClientBlocked, announced: true,
			prepare: func(f *floodTarget, ctx context.Context) { _ = f.svc.EndUsers.Admit(ctx) },
			refuse: func(f *floodTarget, ctx context.Context, i int) error {
				if i%2 == 0 { // the attacker's malformed user domain, and another endpoint: one bucket
					_, err := f.svc.EndUsers.LoginWithWeChatOfficialAccount(ctx, application.WeChatLogin{UserDomain: "not a domain!", AppID: appID, Code: "c", Signature: "s"})
					return err
				}
				return f.svc.EndUsers.Admit(ctx)
			}},
		{reason: application.RefusalLockout, cfg: ratelimit.Config{IPRate: 1000, IPBurst: 100000, LockoutFailures: 2}, code: domain.KindClientBlocked,
			userDomain: tenant,
			prepare: func(f *floodTarget, ctx context.Context) {
				bad := signed(appID, "code-alice")
				bad.Signature = domain.LoginSignature(appID, "code-alice", "wrong")
				for range 2 {
					_, _ = f.svc.EndUsers.LoginWithWeChatOfficialAccount(ctx, bad)
				}
			},
			refuse: func(f *floodTarget, ctx context.Context, _ int) error {
				_, err := f.svc.EndUsers.LoginWithWeChatOfficialAccount(ctx, signed(appID, "code-alice"))
				return err
			}},
		{reason: application.RefusalRateLimited, cfg: ratelimit.Config{IPRate: 1000, IPBurst: 100000}, code: domain.KindWeChatUnavailable, announced: true,
			userDomain: tenant, appID: appID,
			prepare: func(f *floodTarget, ctx context.Context) {
				_, _ = f.svc.EndUsers.LoginWithWeChatOfficialAccount(ctx, signed(appID, "code-quota")) // WeChat's 45011: an hour's cool-down
			},
			refuse: func(f *floodTarget, ctx context.Context, i int) error {
				_, err := f.svc.EndUsers.LoginWithWeChatOfficialAccount(ctx, signed(appID, fmt.Sprintf("code-%d", i)))
				return err
			}},
	}
	for _, c := range cases {
		var shape []int
		for _, n := range []int{30, 300} {
			t.Run(fmt.Sprintf("%s/N=%d", c.reason, n), func(t *testing.T) {
				f := newFloodTarget(t, c.cfg)
				ctx := application.WithRequestMeta(f.h.ctx, application.RequestMeta{ClientIP: ip, UserAgent: "flood/1", RequestID: "r-1"})
				c.prepare(f, ctx)
				f.audit.take()
				f.refusalLines(t)
				t0 := f.h.clock.Now()
				refuse := func(i int) {
					t.Helper()
					err := c.refuse(f, ctx, i)
					if !domain.IsKind(err, c.code) || (c.code == domain.KindWeChatUnavailable && domain.DetailOf(err) != `{"reason":"rateLimited"}`) {
						t.Fatalf("refusal %d: want %s, got %v", i, c.code, err)
					}
				}
				for i := range n {
					refuse(i)
					if i == n/2 {
						f.h.clock.Advance(time.Second) // within the window: counted
					}
				}
				// During the window: the announcement only (none for the lockout).
				evs, ds := f.refusalRecords(t)
				lines := f.refusalLines(t)
				wantNow := 0
				if c.announced {
					wantNow = 1
				}
				if len(evs) != wantNow || len(lines) != wantNow {
					t.Fatalf("after %d refusals within the minute: %d records, %d lines; want %d each", n, len(evs), len(lines), wantNow)
				}
				if c.announced {
					e := evs[0]
					if ds[0] != (refusalDetail{Reason: c.reason, Count: 1}) || e.ClientIP != ip || e.RequestID != "r-1" || e.UserAgent != "flood/1" ||
						e.Outcome != c.code || e.UserDomain != c.userDomain || e.AppID != c.appID || !e.Time.Equal(t0) {
						t.Errorf("the announcement: %+v %+v", e, ds[0])
					}
					if lines[0]["reason"] != c.reason || lines[0]["clientIp"] != ip || lines[0]["requestId"] != "r-1" {
						t.Errorf("the announcement's line: %v", lines[0])
					}
				}
				// The refusal after the minute reports the window's count.
				f.h.clock.Advance(time.Minute)
				refuse(n)
				evs, ds = f.refusalRecords(t)
				lines = f.refusalLines(t)
				counted := n - wantNow
				want := refusalDetail{Reason: c.reason, Count: counted, First: t0.Format(time.RFC3339Nano), Last: t0.Add(time.Second).Format(time.RFC3339Nano)}
				if len(evs) != 1 || len(lines) != 1 || ds[0] != want || evs[0].ClientIP != application.LimitKey(ip) || evs[0].RequestID != "" ||
					evs[0].UserDomain != c.userDomain || evs[0].Outcome != c.code {
					t.Fatalf("the summary after the minute: %d records %+v %+v, %d lines; want one, %+v", len(evs), evs, ds, len(lines), want)
				}
				if lines[0]["clientIp"] != ip || lines[0]["count"] != float64(counted) || lines[0]["requestId"] != nil {
					t.Errorf("the summary's line: %v", lines[0])
				}
				// Run's end reports the window the last refusal opened.
				f.runUntilStopped(t)
				evs, ds = f.refusalRecords(t)
				lines = f.refusalLines(t)
				if len(evs) != 1 || len(lines) != 1 || ds[0].Count != 1 || ds[0].Reason != c.reason {
					t.Fatalf("at Run's end: %d records %+v, %d lines; want one summary of 1", len(evs), ds, len(lines))
				}
				if got := f.limits.Refusals.Count(c.reason); got != int64(n+1) {
					t.Errorf("the limits counted %d refusals of %s, want %d", got, c.reason, n+1)
				}
				shape = append(shape, wantNow+2)
			})
		}
		if len(shape) == 2 && shape[0] != shape[1] {
			t.Errorf("%s: %v records for N = 30 and 300: want the same", c.reason, shape)
		}
	}
}

// TestRefusalKeysBounded: the sampler holds at most 1000 keys; the refusals
// of more clients are announced and counted under one key without client IP
// (otherClients); a window that counted nothing forgets its key.
func TestRefusalKeysBounded(t *testing.T) {
	f := newFloodTarget(t, ratelimit.Config{IPRate: 0.0001, IPBurst: 1})
	const clients = 1050
	for i := range clients {
		ctx := application.WithRequestMeta(f.h.ctx, application.RequestMeta{ClientIP: fmt.Sprintf("10.0.%d.%d", i/256, i%256)})
		_ = f.svc.EndUsers.Admit(ctx) // the burst
		if err := f.svc.EndUsers.Admit(ctx); !domain.IsKind(err, domain.KindClientBlocked) {
			t.Fatalf("client %d: want client_blocked, got %v", i, err)
		}
	}
	evs, ds := f.refusalRecords(t)
	lines := f.refusalLines(t)
	if len(evs) != 1001 || len(lines) != 1001 {
		t.Fatalf("%d clients refused: %d records, %d lines; want 1001 (1000 keys, one overflow)", clients, len(evs), len(lines))
	}
	last := evs[len(evs)-1]
	if !ds[len(ds)-1].OtherClients || last.ClientIP != "" || lines[len(lines)-1]["otherClients"] != true {
		t.Errorf("the overflow's announcement: %+v %+v", last, ds[len(ds)-1])
	}
	f.h.clock.Advance(time.Minute)
	f.svc.Machinery.FlushRefusals(f.h.ctx, false)
	evs, ds = f.refusalRecords(t)
	if len(evs) != 1 || !ds[0].OtherClients || ds[0].Count != clients-1001 {
		t.Fatalf("the flush after the minute: %+v; want the overflow's summary of %d", ds, clients-1001)
	}
	// Every key is forgotten by the next window's flush (nothing counted):
	// a new client is a key of its own again.
	f.h.clock.Advance(time.Minute)
	f.svc.Machinery.FlushRefusals(f.h.ctx, false)
	ctx := application.WithRequestMeta(f.h.ctx, application.RequestMeta{ClientIP: "192.0.2.200"})
	_ = f.svc.EndUsers.Admit(ctx)
	_ = f.svc.EndUsers.Admit(ctx)
	evs, ds = f.refusalRecords(t)
	if len(evs) != 1 || ds[0].OtherClients || evs[0].ClientIP != "192.0.2.200" {
		t.Fatalf("after the keys are forgotten: %+v %+v", evs, ds)
	}
}
