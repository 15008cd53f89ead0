package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// Retries of serialization failures and deadlocks. A database that runs
// transactions serializable (CockroachDB and YugabyteDB by default, or
// PostgreSQL with default_transaction_isolation = serializable) fails one of
// two conflicting transactions with 40001 and expects the client to run it
// again; PostgreSQL breaks a deadlock with 40P01 likewise.
const (
	maxAttempts  = 10
	retryBackoff = 2 * time.Millisecond   // the first retry waits up to this, each next one up to twice as long
	maxBackoff   = 100 * time.Millisecond // but never more than this
)

// RetryCounts are the store's retries since it was made: Retries counts the
// statements or transactions run again after a 40001 or 40P01, Exhausted the
// ones that still failed so after maxAttempts (the caller got an error).
type RetryCounts struct {
	Retries, Exhausted uint64
}

// retryCounters are a Store's counts.
type retryCounters struct {
	retries, exhausted atomic.Uint64
}

// RetryCounts returns the store's counts so far (for metrics).
func (s *Store) RetryCounts() RetryCounts {
	return RetryCounts{Retries: s.counts.retries.Load(), Exhausted: s.counts.exhausted.Load()}
}

// retry runs op, a whole statement or transaction, again while it fails with
// a serialization failure or a deadlock, up to maxAttempts in all, waiting a
// random (full-jitter) backoff in between so that the conflicting clients do
// not collide again.
func (s *Store) retry(ctx context.Context, op func() error) error {
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || !retryable(err) {
			return err
		}
		if attempt == maxAttempts {
			s.counts.exhausted.Add(1)
			return fmt.Errorf("still failing after %d attempts: %w", attempt, err)
		}
		if ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		s.counts.retries.Add(1)
		limit := min(retryBackoff<<(attempt-1), maxBackoff)
		t := time.NewTimer(time.Duration(rand.Int64N(int64(limit)) + 1)) //nolint:gosec // G404: backoff jitter needs no cryptographic randomness
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

// retryable reports whether err is a serialization failure (40001) or a
// deadlock (40P01): the transaction did nothing and may be run again.
func retryable(err error) bool {
	return hasCode(err, "40001") || hasCode(err, "40P01")
}

// hasConstraint reports whether err is a Postgres error with SQLSTATE code
// on the named constraint.
func hasConstraint(err error, code, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code && pgErr.ConstraintName == constraint
}

// do runs one GORM statement, which q builds on a fresh handle, with
// retries; it returns the last attempt's result. q must reset whatever it
// scans into.
func (s *Store) do(ctx context.Context, q func(db *gorm.DB) *gorm.DB) *gorm.DB {
	var res *gorm.DB
	_ = s.retry(ctx, func() error {
		res = q(s.db.WithContext(ctx))
		return res.Error
	})
	return res
}

// transaction runs fn in a transaction, running the whole transaction again
// on a serialization failure or a deadlock.
func (s *Store) transaction(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.retry(ctx, func() error { return s.db.WithContext(ctx).Transaction(fn) })
}
