package postgres

// The audit writer at work: Run writes the queue in batches and purges
// expired records; Flush and Stop write what is left.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Run writes queued records in batches (every FlushInterval, or as soon as
// BatchSize are waiting) and purges expired records every PurgeInterval,
// until ctx ends; then it writes what is still queued and returns (a batch
// that fails then, and what is queued after it, is left to Stop, which
// retries within its deadline). The host runs it once per process, waits for
// it on shutdown and then calls Stop.
//
// A batch that fails for a transient reason (a connection lost, a failover)
// is retried with backoff (retryFirst doubling to retryMax); meanwhile new
// records wait in the queue, which stays bounded: only when it is full is a
// record dropped (Dropped). Each record carries its id (record_id), so a
// retry of a batch whose COMMIT was in fact done inserts nothing twice.
func (w *AuditWriter) Run(ctx context.Context) error {
	if w == nil {
		<-ctx.Done()
		return nil
	}
	w.runMu.Lock()
	defer w.runMu.Unlock()
	select {
	case <-w.quit:
		return nil // stopped already
	default:
	}
	w.stopped.Store(false)
	flush := time.NewTicker(w.cfg.FlushInterval)
	defer flush.Stop()
	purge := time.NewTicker(w.cfg.PurgeInterval)
	defer purge.Stop()
	retry := time.NewTimer(retryMax)
	retry.Stop()
	defer retry.Stop()
	var (
		retryC <-chan time.Time // set while a failed batch waits for its retry
		delay  time.Duration
	)
	w.purgeLogged(ctx)
	buf := make([]auditRow, 0, w.cfg.BatchSize)
	write := func() {
		if len(buf) == 0 {
			return
		}
		if w.tryWrite(context.WithoutCancel(ctx), buf) {
			clear(buf)
			buf, delay, retryC = buf[:0], 0, nil
			return
		}
		delay = nextRetry(delay)
		retry.Reset(delay)
		retryC = retry.C
	}
	for {
		in := w.q
		if retryC != nil {
			in = nil // the failed batch first: new records wait in the (bounded) queue
		}
		select {
		case r := <-in:
			buf = append(buf, r)
			if len(buf) >= w.cfg.BatchSize {
				write()
			}
		case <-flush.C:
			if retryC == nil {
				write()
			}
		case <-retryC:
			retryC = nil
			write()
		case <-purge.C:
			w.purgeLogged(ctx)
		case <-w.quit:
			w.leftover = append(w.leftover, buf...) // Stop writes them, within its deadline
			return nil
		case <-ctx.Done():
			w.stopped.Store(true)
			w.drain(ctx, buf) // shutdown: write everything still queued
			return nil
		}
	}
}

// The backoff of a failed batch's retries.
const (
	retryFirst = 100 * time.Millisecond
	retryMax   = 5 * time.Second
)

// nextRetry is the wait after one more failure, the last wait being d.
func nextRetry(d time.Duration) time.Duration {
	return min(max(2*d, retryFirst), retryMax)
}

// Flush writes what is queued now, for a process that does not Run the
// writer (an admin command). While Run runs it does nothing: Run writes them.
func (w *AuditWriter) Flush(ctx context.Context) {
	if w == nil || !w.runMu.TryLock() {
		return
	}
	defer w.runMu.Unlock()
	w.drain(ctx, make([]auditRow, 0, w.cfg.BatchSize))
}

// Stop ends Run (when it runs: its loop stops at once) and writes what is
// still queued within ctx, retrying a failed batch with backoff; without Run
// it writes what is queued (an admin command's records). What is still
// queued once ctx is done is dropped, counted (Abandoned) and logged at ERROR
// with its number; a record handed over after Stop is dropped and counted
// (Dropped), as after Run. Stop twice is harmless.
func (w *AuditWriter) Stop(ctx context.Context) {
	if w == nil {
		return
	}
	w.stopOnce.Do(func() { close(w.quit) })
	w.runMu.Lock() // Run has returned
	defer w.runMu.Unlock()
	w.stopped.Store(true)
	buf := w.leftover
	w.leftover = nil
	var delay time.Duration
	for {
	fill:
		for len(buf) < w.cfg.BatchSize {
			select {
			case r := <-w.q:
				buf = append(buf, r)
			default:
				break fill
			}
		}
		if len(buf) == 0 {
			return
		}
		if ctx.Err() != nil {
			w.abandon(len(buf) + w.discardQueue())
			return
		}
		if w.tryWrite(ctx, buf) {
			clear(buf)
			buf, delay = buf[:0], 0
			continue
		}
		delay = nextRetry(delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// discardQueue empties the queue and returns how many records it held.
func (w *AuditWriter) discardQueue() int {
	n := 0
	for {
		select {
		case <-w.q:
			n++
		default:
			return n
		}
	}
}

// abandon counts and logs n records lost at a shutdown.
func (w *AuditWriter) abandon(n int) {
	if n == 0 {
		return
	}
	total := w.abandoned.Add(uint64(n))
	w.log.Error("audit records lost: still queued when the shutdown's deadline passed", slog.Int("records", n),
		slog.Uint64("abandonedTotal", total))
}

// drain writes buf and everything queued, in batches, until the queue is
// empty, trying each batch once (it has no deadline to bound retries): a
// batch that failed for a transient reason, and what is still queued, are
// left to Stop, which retries within its deadline.
func (w *AuditWriter) drain(ctx context.Context, buf []auditRow) {
	// A write is never cut short by the shutdown that asks for it: it has
	// its own bound.
	ctx = context.WithoutCancel(ctx)
	for {
		select {
		case r := <-w.q:
			buf = append(buf, r)
			if len(buf) < w.cfg.BatchSize {
				continue
			}
		default:
		}
		if len(buf) == 0 {
			return
		}
		full := len(buf) >= w.cfg.BatchSize
		if !w.tryWrite(ctx, buf) {
			w.leftover = append(w.leftover, buf...)
			return
		}
		clear(buf)
		buf = buf[:0]
		if !full {
			return // the queue was empty
		}
	}
}

// tryWrite inserts buf in one transaction (bounded by ctx and 10 s) and
// reports whether buf is done with: written, or refused for a reason a retry
// would not change (counted as Failed and logged). false: a transient
// failure, buf is to be written again (its records' ids make that safe).
func (w *AuditWriter) tryWrite(ctx context.Context, buf []auditRow) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := w.insert(ctx, buf)
	switch {
	case err == nil:
		return true
	case permanent(err):
		w.failed.Add(uint64(len(buf)))
		w.log.Error("audit write failed: records lost", slog.Int("records", len(buf)), slog.String("error", err.Error()))
		return true
	default:
		if w.logEvery(&w.lastFailLog) {
			w.log.Warn("audit write failed: retrying", slog.Int("records", len(buf)), slog.String("error", err.Error()))
		}
		return false
	}
}

// insert hashes buf's openids and writes buf (writeBatch), skipping the
// records an earlier attempt wrote.
func (w *AuditWriter) insert(ctx context.Context, buf []auditRow) error {
	key, err := w.openIDKey(ctx)
	if err != nil {
		return err
	}
	h := newOpenIDHasher(key)
	for i := range buf {
		if buf[i].openID != "" {
			buf[i].OpenidHash, buf[i].openID = h.hash(buf[i].openID), ""
		}
	}
	err = w.writeBatch(ctx, buf)
	if err == nil && w.afterCommit != nil {
		err = w.afterCommit()
	}
	return err
}

// permanent reports whether err is the database refusing the data or the
// statement itself (SQLSTATE classes 22 data exception, 23 integrity
// constraint violation, 42 syntax error or access rule violation): the same
// batch would fail again. Anything else (a connection lost, a server shutting
// down, a timeout, a serialization failure) is worth a retry.
func permanent(err error) bool {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || len(pg.Code) < 2 {
		return false
	}
	switch pg.Code[:2] {
	case "22", "23", "42":
		return true
	}
	return false
}

func (w *AuditWriter) purgeLogged(ctx context.Context) {
	if _, err := w.Purge(ctx, time.Now()); err != nil && ctx.Err() == nil {
		w.log.Warn("audit purge failed", slog.String("error", err.Error()))
	}
}

// maxPurgeBatches bounds one purge round; the next round continues.
const maxPurgeBatches = 100

// Purge deletes records older than the retention at now, PurgeBatch rows per
// statement (so no statement holds locks on a huge range), and reports how
// many it deleted.
func (w *AuditWriter) Purge(ctx context.Context, now time.Time) (int64, error) {
	cutoff := now.Add(-w.cfg.Retention)
	var total int64
	for range maxPurgeBatches {
		res := w.db.WithContext(ctx).Exec(`DELETE FROM enduser_audit_events WHERE id IN (
			SELECT id FROM enduser_audit_events WHERE at < ? ORDER BY at LIMIT ?)`, cutoff, w.cfg.PurgeBatch)
		if res.Error != nil {
			return total, fmt.Errorf("purge audit events: %w", res.Error)
		}
		total += res.RowsAffected
		if res.RowsAffected < int64(w.cfg.PurgeBatch) {
			break
		}
	}
	return total, nil
}
