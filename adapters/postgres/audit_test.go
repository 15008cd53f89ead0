package postgres

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func auditEvent(i int) application.AuditEvent {
	return application.AuditEvent{Time: time.Now(), Event: application.AuditLogin, Outcome: domain.KindSignatureInvalid,
		UserDomain: "A.DM.1.1", AppID: "wxaudit", UID: fmt.Sprintf("u%d", i), OpenID: "o-secret-openid",
		RequestMeta: application.RequestMeta{ClientIP: "192.0.2.7", UserAgent: strings.Repeat("u", 1000), RequestID: fmt.Sprintf("r%d", i)}}
}

func runWriter(w *AuditWriter) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// TestAuditWriterDropsWhenFullAndFlushesOnStop: a full queue drops (and
// counts) without blocking; stopping Run writes everything queued, in
// batches, with the openid only as its keyed hash.
func TestAuditWriterDropsWhenFullAndFlushesOnStop(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	key := DeriveAuditKey(bytes.Repeat([]byte{3}, 32))
	var logs syncBuf
	w := NewAuditWriter(env.store.db, AuditConfig{QueueSize: 5, BatchSize: 2, FlushInterval: time.Hour, OpenIDKey: key,
		Code: func(domain.Kind) int { return 5420 }}, slog.New(slog.NewTextHandler(&logs, nil)))
	for i := range 8 { // nobody is writing yet: 5 fit, 3 are dropped
		w.Record(context.Background(), auditEvent(i))
	}
	if w.Dropped() != 3 {
		t.Fatalf("dropped %d, want 3", w.Dropped())
	}
	if n := strings.Count(logs.String(), "audit queue full"); n != 1 {
		t.Fatalf("the drop log line must be rate-limited: %d lines\n%s", n, logs.String())
	}
	stop := runWriter(w)
	stop() // the flush interval is an hour away: only the shutdown flush can write them
	recs, err := env.store.AuditEvents(context.Background(), application.AuditQuery{UserDomain: "A.DM.1.1", Since: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || w.Failed() != 0 {
		t.Fatalf("%d records written (failed %d), want 5: %s", len(recs), w.Failed(), logs.String())
	}
	// A record handed over after Run ended (a request that outlived the
	// shutdown) is counted as dropped, not left in a queue nobody reads.
	w.Record(context.Background(), auditEvent(99))
	if w.Dropped() != 4 {
		t.Fatalf("a record after the shutdown: dropped %d, want 4", w.Dropped())
	}
	want := w.HashOpenID("o-secret-openid")
	for _, r := range recs {
		if r.Code != 5420 || r.OpenIDHash != want || len(want) != 32 || r.ClientIP != "192.0.2.7" || len(r.UserAgent) != maxUserAgent || r.AppID != "wxaudit" {
			t.Errorf("record: %+v", r)
		}
	}
	var clear int
	if err := env.sql.QueryRow(`SELECT count(*) FROM enduser_audit_events WHERE openid_hash LIKE '%secret%'`).Scan(&clear); err != nil || clear != 0 {
		t.Fatalf("openid stored in clear: %d %v", clear, err)
	}
	// Another key hashes differently: the hash is keyed.
	other := NewAuditWriter(env.store.db, AuditConfig{OpenIDKey: DeriveAuditKey(bytes.Repeat([]byte{4}, 32))}, nil)
	if other.HashOpenID("o-secret-openid") == want {
		t.Fatal("the openid hash does not depend on the key")
	}
}

// TestAuditWriterWritesWhileRunning: with Run going, records reach the table
// without a shutdown (a full batch is written at once).
func TestAuditWriterWritesWhileRunning(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	w := NewAuditWriter(env.store.db, AuditConfig{BatchSize: 3, FlushInterval: time.Hour}, nil)
	stop := runWriter(w)
	defer stop()
	for i := range 3 {
		w.Record(context.Background(), auditEvent(i))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := env.sql.QueryRow(`SELECT count(*) FROM enduser_audit_events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a full batch was not written while running: %d rows", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The records' ids are UUID version 7, growing in the order of the
	// records: the unique index on record_id is appended to, not scattered.
	rows, err := env.sql.Query(`SELECT record_id::text FROM enduser_audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	prev := ""
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if len(id) != 36 || id[14] != '7' || id <= prev {
			t.Errorf("record id %q after %q: want a version 7 UUID greater than the one before", id, prev)
		}
		prev = id
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestAuditPurgeInBatches: records past the retention go, in bounded
// batches; recent ones stay. Queries filter by user domain, uid and limit.
func TestAuditPurgeInBatches(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	w := NewAuditWriter(env.store.db, AuditConfig{Retention: 24 * time.Hour, PurgeBatch: 2, QueueSize: 100, FlushInterval: time.Hour}, nil)
	now := time.Now()
	for i := range 7 {
		e := auditEvent(i)
		e.Time = now.Add(-48 * time.Hour)
		w.Record(context.Background(), e)
	}
	for i := range 3 {
		e := auditEvent(100 + i)
		e.UserDomain = "B.DM.1.1"
		w.Record(context.Background(), e)
	}
	w.Record(context.Background(), auditEvent(200))
	stop := runWriter(w) // Run purges when it starts: before the queue is written
	stop()
	n, err := w.Purge(context.Background(), now)
	if err != nil || n != 7 {
		t.Fatalf("purged %d (%v), want the 7 old records in batches of 2", n, err)
	}
	for _, tc := range []struct {
		q    application.AuditQuery
		want int
	}{
		{application.AuditQuery{UserDomain: "A.DM.1.1", Since: now.Add(-time.Hour)}, 1},
		{application.AuditQuery{UserDomain: "B.DM.1.1", Since: now.Add(-time.Hour)}, 3},
		{application.AuditQuery{UserDomain: "B.DM.1.1", Since: now.Add(-time.Hour), Limit: 2}, 2},
		{application.AuditQuery{UserDomain: "B.DM.1.1", UID: "u101", Since: now.Add(-time.Hour)}, 1},
		{application.AuditQuery{UserDomain: "B.DM.1.1", Since: now.Add(time.Hour)}, 0},
	} {
		recs, err := env.store.AuditEvents(context.Background(), tc.q)
		if err != nil || len(recs) != tc.want {
			t.Errorf("%+v: %d records (%v), want %d", tc.q, len(recs), err, tc.want)
		}
	}
}

// TestNilAuditWriter: a nil writer records nothing and Run waits for its context.
func TestNilAuditWriter(t *testing.T) {
	var w *AuditWriter
	w.Record(context.Background(), auditEvent(0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Run(ctx); err != nil || w.Dropped() != 0 {
		t.Fatal(err)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *syncBuf) String() string              { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }
