package application

import (
	"context"
	"log/slog"
	"time"
)

// Run keeps the revocation cache in sync, applies the operators' unblock
// requests to this process's lockouts (SyncIPUnblocks) in the same loop,
// and, every SessionPurgeInterval, purges the sessions that ended long ago
// (in its own goroutine, so that a long purge never delays a sync); in
// another goroutine, every ErasureInterval, it erases the accounts whose
// deletion is due and announces the erasures (the outbox) to the
// OnUserErased listeners; in a third, every few seconds, it reports the
// refusal windows of the abuse limits that have passed (all of them when
// ctx ends: refusals.go); until ctx ends. wire.Module.Start runs it once per
// process, under a context of its own that Stop ends.
func (s *core) Run(ctx context.Context) error {
	if s.cfg.SessionPurgeInterval > 0 {
		done := make(chan struct{})
		defer func() { <-done }()
		go func() {
			defer close(done)
			s.runPurge(ctx)
		}()
	}
	flushing := make(chan struct{})
	defer func() { <-flushing }() // its last flush reports every refusal counted
	go func() {
		defer close(flushing)
		s.runRefusalFlush(ctx)
	}()
	erasing := make(chan struct{})
	defer func() { <-erasing }()
	go func() {
		defer close(erasing)
		s.runErasure(ctx)
	}()
	t := time.NewTicker(s.cfg.RevocationSyncInterval)
	defer t.Stop()
	for {
		if err := s.SyncRevocations(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "revocation sync failed", slog.String("error", err.Error()))
		}
		if err := s.SyncIPUnblocks(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "unblock request sync failed", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
