package application

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"time"
)

// TokenLeewayBound bounds the clock-skew leeway the token adapter allows on
// an access token's exp (30 s by default): the purge keeps a session this much
// longer than an access token of it could live.
const TokenLeewayBound = 5 * time.Minute

// The purge's batches: each deletes (and, sweeping, examines) at most
// purgeBatch sessions in one short transaction; one round sweeps at most
// purgeSweepPerRound sessions for sliding expiry, so a round's work is bounded
// however big the table is (10 million sessions are swept in 100 rounds).
const (
	purgeBatch         = 1000
	purgeSweepPerRound = 100_000
)

// PurgeHorizon is how long after its end (absolute or sliding expiry, or
// revocation) a session is kept: an access token's lifetime plus the leeway
// verifiers allow plus the revocation sync's overlap. Until then one of its
// access tokens may still verify, and a revoked session's row is what tells
// other instances (and a starting one, which loads the revocations of that
// window) that it must not.
func (s *core) PurgeHorizon() time.Duration {
	return s.cfg.AccessTokenTTL + TokenLeewayBound + syncOverlap
}

// PurgeSessions runs one round of the session purge: batches of at most 1000
// sessions, each in its own short transaction, until the sessions that ended
// more than PurgeHorizon ago are deleted, the sliding-expiry sweep has
// examined 100,000 sessions (the next round goes on from there), or another
// instance turns out to hold the purge lease. It returns how many it deleted. Run calls it every
// SessionPurgeInterval; one instance at a time purges.
func (s *core) PurgeSessions(ctx context.Context) (int, error) {
	total, swept := 0, 0
	for {
		now := s.clock.Now()
		b, err := s.sessions.PurgeSessions(ctx, SessionPurge{
			Cutoff: now.Add(-s.PurgeHorizon()),
			Limit:  purgeBatch,
			Holder: s.purgeHolder,
			Now:    now,
			// Renewed by every batch; kept after the round, so the holder
			// stays the purger while it lives and another instance takes
			// over within about an interval when it stops.
			LeaseUntil: now.Add(s.purgeLease()),
		})
		if err != nil {
			return total, internal(err)
		}
		total += b.Deleted
		swept += b.Swept
		if !b.Held {
			return total, nil
		}
		if swept >= purgeSweepPerRound || (b.Deleted < purgeBatch && b.SweepDone) {
			if err := s.purgeScopeRevocations(ctx, now); err != nil {
				return total, err
			}
			return total, s.purgeWebsiteStates(ctx, now)
		}
		if err := ctx.Err(); err != nil {
			return total, nil
		}
	}
}

// purgeScopeRevocations deletes the scope revocations that can no longer
// matter, by the purge lease's holder: every session one covers started
// before its revoked_before, so once that is older than the absolute session
// lifetime (plus the purge horizon, which covers the access tokens' lifetime)
// none of them can be alive, nor any of their access tokens. A disabled
// user's row stays until enabled.
func (s *core) purgeScopeRevocations(ctx context.Context, now time.Time) error {
	cutoff := now.Add(-s.cfg.SessionMaxLifetime - s.PurgeHorizon())
	for {
		n, err := s.sessions.PurgeScopeRevocations(ctx, cutoff, purgeBatch)
		if err != nil {
			return internal(err)
		}
		if n < purgeBatch || ctx.Err() != nil {
			return nil
		}
	}
}

func (s *core) purgeLease() time.Duration {
	if s.cfg.SessionPurgeInterval > 0 {
		return s.cfg.SessionPurgeInterval + time.Minute
	}
	return time.Minute
}

// runPurge purges every SessionPurgeInterval until ctx ends.
func (s *core) runPurge(ctx context.Context) {
	t := time.NewTicker(s.cfg.SessionPurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.PurgeSessions(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.WarnContext(ctx, "session purge failed", slog.Int("deleted", n), slog.String("error", err.Error()))
		case n > 0:
			s.log.InfoContext(ctx, "sessions purged", slog.Int("deleted", n))
		}
	}
}

// newPurgeHolder names this instance in the purge lease: host and a random
// part (two services in one process are two holders).
func newPurgeHolder() string {
	host, _ := os.Hostname()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return host + "/" + hex.EncodeToString(b[:])
}
