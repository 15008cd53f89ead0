package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestRetryRunsSerializationFailuresAndDeadlocksAgain drives retry with an
// operation that fails as PostgreSQL does: as a *pgconn.PgError, wrapped.
func TestRetryRunsSerializationFailuresAndDeadlocksAgain(t *testing.T) {
	t.Parallel()
	failing := func(code string, times int) (func() error, *int) {
		calls := 0
		return func() error {
			calls++
			if calls <= times {
				return fmt.Errorf("statement: %w", &pgconn.PgError{Code: code})
			}
			return nil
		}, &calls
	}
	for _, c := range []struct {
		name          string
		code          string
		failures      int
		wantCalls     int
		wantErr       bool
		wantRetries   uint64
		wantExhausted uint64
	}{
		{"serialization failure once", "40001", 1, 2, false, 1, 0},
		{"deadlock three times", "40P01", 3, 4, false, 3, 0},
		{"nine failures then success", "40001", 9, 10, false, 9, 0},
		{"ten failures give up", "40001", 10, 10, true, 9, 1},
		{"unique violation is not retried", "23505", 1, 1, true, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &Store{counts: &retryCounters{}}
			op, calls := failing(c.code, c.failures)
			err := s.retry(context.Background(), op)
			if (err != nil) != c.wantErr || *calls != c.wantCalls {
				t.Errorf("err %v after %d calls; want error %t after %d", err, *calls, c.wantErr, c.wantCalls)
			}
			if err != nil && !hasCode(err, c.code) {
				t.Errorf("the error %v lost its SQLSTATE %s", err, c.code)
			}
			if got := s.RetryCounts(); got != (RetryCounts{Retries: c.wantRetries, Exhausted: c.wantExhausted}) {
				t.Errorf("counts %+v, want %d retries, %d exhausted", got, c.wantRetries, c.wantExhausted)
			}
		})
	}
	t.Run("a cancelled context stops retrying", func(t *testing.T) {
		s := &Store{counts: &retryCounters{}}
		ctx, cancel := context.WithCancel(context.Background())
		op, calls := failing("40001", 100)
		err := s.retry(ctx, func() error { cancel(); return op() })
		if !errors.Is(err, context.Canceled) || !hasCode(err, "40001") || *calls != 1 {
			t.Errorf("err %v after %d calls; want the failure and context.Canceled after 1", err, *calls)
		}
	})
}
