package postgres

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestAuditWriterRetriesAFailedBatch: a batch whose connection is cut before
// its COMMIT, and a batch whose COMMIT was done but reported failed, are
// retried (by Run, and by Stop) and every record is found exactly once.
func TestAuditWriterRetriesAFailedBatch(t *testing.T) {
	t.Parallel()
	const records, batch = 10, 5
	for _, tc := range []struct {
		name string
		hook func(t *testing.T, env testEnv, w *AuditWriter, calls *atomic.Int32)
	}{
		{"ConnectionCutBeforeCommit", func(t *testing.T, env testEnv, w *AuditWriter, calls *atomic.Int32) {
			w.beforeCommit = func(ctx context.Context, tx pgx.Tx) error {
				if calls.Add(1) != 1 {
					return nil
				}
				var pid int
				if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
					return err
				}
				// The writer's own backend, terminated (waiting until it is
				// gone): its COMMIT finds the connection closed.
				var ok bool
				if err := env.sql.QueryRow(`SELECT pg_terminate_backend($1, 30000)`, pid).Scan(&ok); err != nil || !ok {
					t.Errorf("terminate the writer's backend %d: %v %v", pid, ok, err)
				}
				return nil
			}
		}},
		{"CommitDoneButReportedFailed", func(t *testing.T, env testEnv, w *AuditWriter, calls *atomic.Int32) {
			w.afterCommit = func() error {
				if calls.Add(1) != 1 {
					return nil
				}
				var n int
				if err := env.sql.QueryRow(`SELECT count(*) FROM enduser_audit_events`).Scan(&n); err != nil || n != batch {
					t.Errorf("the first batch's COMMIT: %d rows (%v), want %d", n, err, batch)
				}
				return errors.New("test: the COMMIT's answer was lost")
			}
		}},
	} {
		for _, by := range []string{"Run", "Stop"} {
			t.Run(tc.name+"/"+by, func(t *testing.T) {
				t.Parallel()
				env := newTestEnv(t)
				var logs syncBuf
				w := NewAuditWriter(env.store.db, AuditConfig{BatchSize: batch, FlushInterval: time.Hour},
					slog.New(slog.NewTextHandler(&logs, nil)))
				var calls atomic.Int32
				tc.hook(t, env, w, &calls)
				for i := range records {
					w.Record(context.Background(), auditEvent(i))
				}
				if by == "Run" {
					stop := runWriter(w)
					deadline := time.Now().Add(30 * time.Second) // a safety net: fails rather than hangs
					for env.count(t, `SELECT count(*) FROM enduser_audit_events`) < records || calls.Load() < 3 {
						if time.Now().After(deadline) {
							t.Fatalf("not all written while running: %d attempts\n%s", calls.Load(), logs.String())
						}
						time.Sleep(10 * time.Millisecond)
					}
					stop()
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				w.Stop(ctx)
				if c := calls.Load(); c < 3 { // two batches, one of them twice
					t.Fatalf("%d attempts, want the failed batch retried", c)
				}
				total := env.count(t, `SELECT count(*) FROM enduser_audit_events`)
				ids := env.count(t, `SELECT count(DISTINCT record_id) FROM enduser_audit_events`)
				reqs := env.count(t, `SELECT count(DISTINCT request_id) FROM enduser_audit_events`)
				if total != records || ids != records || reqs != records {
					t.Fatalf("%d rows, %d record ids, %d distinct records; want each of %d once\n%s", total, ids, reqs, records, logs.String())
				}
				if w.Failed() != 0 || w.Dropped() != 0 || w.Abandoned() != 0 {
					t.Fatalf("lost: failed %d, dropped %d, abandoned %d", w.Failed(), w.Dropped(), w.Abandoned())
				}
			})
		}
	}
}

// TestAuditWriterQueuesWhileRetrying: while a batch waits for its retry, new
// records wait in the queue up to its bound; only the ones beyond it are
// dropped (counted), and everything queued is written once the database is
// back.
func TestAuditWriterQueuesWhileRetrying(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	var logs syncBuf
	w := NewAuditWriter(env.store.db, AuditConfig{QueueSize: 5, BatchSize: 2, FlushInterval: time.Hour}, slog.New(slog.NewTextHandler(&logs, nil)))
	var down atomic.Bool
	var attempts atomic.Int32
	down.Store(true)
	w.beforeCommit = func(context.Context, pgx.Tx) error {
		attempts.Add(1)
		if down.Load() {
			return errors.New("test: the database is away")
		}
		return nil
	}
	stop := runWriter(w)
	defer stop()
	w.Record(context.Background(), auditEvent(0))
	w.Record(context.Background(), auditEvent(1)) // a full batch: written at once, and failing
	deadline := time.Now().Add(30 * time.Second)
	for attempts.Load() < 2 { // failed, and retried after a backoff
		if time.Now().After(deadline) {
			t.Fatal("the failed batch was not retried")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range 7 { // Run holds the failed batch: 5 wait in the queue, 2 are dropped
		w.Record(context.Background(), auditEvent(10+i))
	}
	if w.Dropped() != 2 {
		t.Fatalf("dropped %d, want 2 (the queue holds 5)", w.Dropped())
	}
	down.Store(false)
	for env.count(t, `SELECT count(*) FROM enduser_audit_events`) < 6 { // 3 full batches; the 7th at the stop
		if time.Now().After(deadline) {
			t.Fatalf("the queue was not written once the database was back\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if n := env.count(t, `SELECT count(DISTINCT record_id) FROM enduser_audit_events`); n != 7 || w.Failed() != 0 {
		t.Fatalf("%d records (failed %d), want 7", n, w.Failed())
	}
	if n := strings.Count(logs.String(), "audit write failed: retrying"); n != 1 {
		t.Fatalf("the retry log line must be rate-limited: %d lines\n%s", n, logs.String())
	}
}
