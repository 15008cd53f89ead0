package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/application"
)

// The session purge's statements. Each batch is one transaction of three
// statements, each bounded by the batch's limit and driven by an index:
//
//   - purgeTakeLease takes or renews the single lease row (an UPDATE with a
//     condition, not an advisory lock, so that it works on CockroachDB and
//     YugabyteDB too) and reads the sweep's position;
//   - purgeDeleteEnded deletes sessions past their absolute expiry (index on
//     expires_at, which no refresh changes) or revoked long ago (the partial
//     index on revoked_at);
//   - purgeSweep walks on from the sweep's position in (expires_at, id) order
//     and deletes the sessions among those it examines whose sliding refresh
//     expiry has passed. refresh_expires_at moves on every refresh: indexing
//     it would cost every refresh an index update (no HOT update) to save the
//     purge a walk it can spread over rounds.
const (
	purgeTakeLease = `
		UPDATE enduser_session_purge SET holder = @holder, lease_expires_at = @until
		WHERE name = 'sessions' AND (holder = @holder OR lease_expires_at <= @now)
		RETURNING sweep_expires_at, sweep_id`

	purgeDeleteEnded = `
		DELETE FROM enduser_sessions WHERE id IN (
			(SELECT id FROM enduser_sessions WHERE expires_at < @cutoff ORDER BY expires_at LIMIT @n)
			UNION
			(SELECT id FROM enduser_sessions WHERE revoked_at < @cutoff ORDER BY revoked_at LIMIT @n)
			LIMIT @n)`

	purgeSweep = `
		WITH examined AS (
			SELECT id, expires_at FROM enduser_sessions
			WHERE (expires_at, id) > (@after_expires_at, CAST(@after_id AS uuid))
			ORDER BY expires_at, id LIMIT @n
		), gone AS (
			DELETE FROM enduser_sessions s USING examined e
			WHERE s.id = e.id AND (s.refresh_expires_at < @cutoff OR s.expires_at < @cutoff OR s.revoked_at < @cutoff)
			RETURNING s.id
		), last AS (
			SELECT expires_at, id FROM examined ORDER BY expires_at DESC, id DESC LIMIT 1
		)
		SELECT (SELECT count(*) FROM examined) AS examined, (SELECT count(*) FROM gone) AS deleted,
		       (SELECT expires_at FROM last) AS last_expires_at, (SELECT id::text FROM last) AS last_id`

	purgeMoveSweep = `
		UPDATE enduser_session_purge SET sweep_expires_at = @expires_at, sweep_id = CAST(@id AS uuid)
		WHERE name = 'sessions'`
)

// The sweep's start: before every session.
var (
	sweepStart   = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)
	sweepStartID = "00000000-0000-0000-0000-000000000000"
)

// errPurgeLeaseHeld ends a batch's transaction when another instance holds
// the lease.
var errPurgeLeaseHeld = errors.New("purge lease held by another instance")

// PurgeSessions implements application.SessionRepository: one batch of the
// purge (see the statements above) in one transaction. A batch that loses the
// lease row to a concurrent one (it waits on the row lock and then finds the
// lease taken, or, under serializable isolation, fails to serialize) reports
// Held false, not an error.
func (s *Store) PurgeSessions(ctx context.Context, p application.SessionPurge) (application.PurgeBatch, error) {
	var out application.PurgeBatch
	if p.Limit <= 0 {
		return out, nil
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = application.PurgeBatch{}
		var lease struct {
			SweepExpiresAt time.Time
			SweepID        string
		}
		res := tx.Raw(purgeTakeLease, map[string]any{"holder": p.Holder, "until": dbTime(p.LeaseUntil), "now": dbTime(p.Now)}).Scan(&lease)
		if res.Error != nil {
			return fmt.Errorf("take purge lease: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return errPurgeLeaseHeld
		}
		out.Held = true
		cutoff := dbTime(p.Cutoff)
		res = tx.Exec(purgeDeleteEnded, map[string]any{"cutoff": cutoff, "n": p.Limit})
		if res.Error != nil {
			return fmt.Errorf("purge ended sessions: %w", res.Error)
		}
		out.Deleted = int(res.RowsAffected)
		n := p.Limit - out.Deleted
		if n == 0 {
			return nil
		}
		var sw struct {
			Examined      int
			Deleted       int
			LastExpiresAt *time.Time
			LastID        *string
		}
		if err := tx.Raw(purgeSweep, map[string]any{"after_expires_at": lease.SweepExpiresAt, "after_id": lease.SweepID,
			"n": n, "cutoff": cutoff}).Scan(&sw).Error; err != nil {
			return fmt.Errorf("sweep sessions: %w", err)
		}
		out.Deleted += sw.Deleted
		out.Swept = sw.Examined
		next, nextID := sweepStart, sweepStartID
		if sw.Examined < n || sw.LastExpiresAt == nil || sw.LastID == nil {
			out.SweepDone = true // the end: start over next time
		} else {
			next, nextID = *sw.LastExpiresAt, *sw.LastID
		}
		if err := tx.Exec(purgeMoveSweep, map[string]any{"expires_at": next, "id": nextID}).Error; err != nil {
			return fmt.Errorf("move purge sweep: %w", err)
		}
		return nil
	})
	switch {
	case errors.Is(err, errPurgeLeaseHeld) || lostToConcurrentPurge(err):
		return application.PurgeBatch{}, nil
	case err != nil:
		return application.PurgeBatch{}, fmt.Errorf("purge sessions: %w", err)
	}
	return out, nil
}

// lostToConcurrentPurge reports a serialization failure or deadlock, which is
// how a batch that raced another one for the lease row fails under
// serializable isolation.
func lostToConcurrentPurge(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}
