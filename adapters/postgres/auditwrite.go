package postgres

// The audit writer at work: Run writes the queue in batches and purges
// expired records; Flush and Stop write what is left.

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Run writes queued records in batches (every FlushInterval, or as soon as
// BatchSize are waiting) and purges expired records every PurgeInterval,
// until ctx ends; then it writes what is still queued and returns. The host
// runs it once per process and waits for it on shutdown.
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
	w.purgeLogged(ctx)
	buf := make([]auditRow, 0, w.cfg.BatchSize)
	for {
		select {
		case r := <-w.q:
			buf = append(buf, r)
			if len(buf) >= w.cfg.BatchSize {
				buf = w.write(ctx, buf)
			}
		case <-flush.C:
			buf = w.write(ctx, buf)
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
// still queued within ctx; without Run it writes what is queued (an admin
// command's records). What is still queued once ctx is done is dropped,
// counted (Abandoned) and logged at ERROR with its number; a record handed
// over after Stop is dropped and counted (Dropped), as after Run. Stop twice
// is harmless.
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
	for {
		if ctx.Err() != nil {
			w.abandon(len(buf) + w.discardQueue())
			return
		}
		select {
		case r := <-w.q:
			buf = append(buf, r)
			if len(buf) >= w.cfg.BatchSize {
				buf = w.writeWithin(ctx, buf)
			}
		default:
			w.writeWithin(ctx, buf)
			return
		}
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
// empty.
func (w *AuditWriter) drain(ctx context.Context, buf []auditRow) {
	for {
		select {
		case r := <-w.q:
			buf = append(buf, r)
			if len(buf) >= w.cfg.BatchSize {
				buf = w.write(ctx, buf)
			}
		default:
			w.write(ctx, buf)
			return
		}
	}
}

// write inserts buf as one statement and returns buf emptied.
func (w *AuditWriter) write(ctx context.Context, buf []auditRow) []auditRow {
	if len(buf) == 0 {
		return buf
	}
	// A write is never cut short by the shutdown that asks for it: it has
	// its own bound.
	return w.writeWithin(context.WithoutCancel(ctx), buf)
}

// writeWithin is write bounded by ctx (and 10 s).
func (w *AuditWriter) writeWithin(ctx context.Context, buf []auditRow) []auditRow {
	if len(buf) == 0 {
		return buf
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	key, err := w.openIDKey(ctx)
	if err == nil {
		for i := range buf {
			if buf[i].openID != "" {
				buf[i].OpenidHash, buf[i].openID = hashOpenID(key, buf[i].openID), ""
			}
		}
		err = w.db.WithContext(ctx).Create(&buf).Error
	}
	if err != nil {
		w.failed.Add(uint64(len(buf)))
		w.log.Error("audit write failed: records lost", slog.Int("records", len(buf)), slog.String("error", err.Error()))
	}
	clear(buf)
	return buf[:0]
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
