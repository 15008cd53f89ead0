package postgres

import (
	"context"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// erasureDeletes are the statements of an erasure after the user row is
// locked, in order, each with the uid as its one argument: everything the
// module holds for the user, the user row last. Data of another table of the
// user (a profile) is one more line here.
var erasureDeletes = []string{
	`DELETE FROM enduser_sessions WHERE user_id = ?`,
	`DELETE FROM enduser_wechat_identities WHERE user_id = ?`,
	`DELETE FROM enduser_wechat_unions WHERE user_id = ?`,
	`DELETE FROM enduser_users WHERE id = ?`,
}

// RequestDeletion implements application.AccountDeletionRepository in one
// statement: the earlier of the pending due time and due wins.
func (s *Store) RequestDeletion(ctx context.Context, uid string, due time.Time) (application.PendingDeletion, error) {
	var row struct {
		DueAt      time.Time `gorm:"column:deletion_due_at"`
		UserDomain string    `gorm:"column:name"`
	}
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Raw(`
		UPDATE enduser_users u SET deletion_due_at = LEAST(COALESCE(u.deletion_due_at, @due), @due)
		FROM enduser_user_domains d
		WHERE u.id = @uid AND d.id = u.user_domain_id
		RETURNING u.deletion_due_at, d.name`, map[string]any{"uid": uid, "due": dbTime(due)}).Scan(&row)
	})
	if res.Error != nil {
		return application.PendingDeletion{}, fmt.Errorf("request the deletion of user %s: %w", uid, res.Error)
	}
	if res.RowsAffected == 0 {
		return application.PendingDeletion{}, domain.E(domain.KindUserNotFound)
	}
	return application.PendingDeletion{UID: uid, UserDomain: row.UserDomain, DueAt: row.DueAt.UTC()}, nil
}

// DueDeletions implements application.AccountDeletionRepository (the
// partial index on deletion_due_at).
func (s *Store) DueDeletions(ctx context.Context, now time.Time, limit int) ([]string, error) {
	var uids []string
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		uids = uids[:0]
		return db.Raw(`SELECT id FROM enduser_users WHERE deletion_due_at <= ? ORDER BY deletion_due_at, id LIMIT ?`,
			dbTime(now), limit).Scan(&uids)
	}).Error
	if err != nil {
		return nil, fmt.Errorf("list due deletions: %w", err)
	}
	return uids, nil
}

// EraseUser implements application.AccountDeletionRepository in one
// transaction: the user row is locked (FOR UPDATE: a concurrent login waits,
// then finds the user gone and registers a new one; a login that cancelled
// first leaves nothing due) and the erasure's statements and the outbox row
// follow. Serialization failures and deadlocks rerun the whole transaction.
func (s *Store) EraseUser(ctx context.Context, uid string, now time.Time) (application.ErasedUser, bool, error) {
	var (
		erased application.ErasedUser
		done   bool
	)
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		done = false
		var row struct {
			UserDomain string `gorm:"column:name"`
		}
		res := tx.Raw(`
		SELECT d.name FROM enduser_users u JOIN enduser_user_domains d ON d.id = u.user_domain_id
		WHERE u.id = ? AND u.deletion_due_at <= ?
		FOR UPDATE OF u`, uid, dbTime(now)).Scan(&row)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		for _, q := range erasureDeletes {
			if err := tx.Exec(q, uid).Error; err != nil {
				return err
			}
		}
		if err := tx.Exec(`INSERT INTO enduser_erasure_outbox (uid, user_domain, erased_at, next_attempt_at) VALUES (?, ?, ?, ?)`,
			uid, row.UserDomain, dbTime(now), dbTime(now)).Error; err != nil {
			return err
		}
		erased = application.ErasedUser{UID: uid, UserDomain: row.UserDomain, ErasedAt: dbTime(now)}
		done = true
		return nil
	})
	if err != nil {
		return application.ErasedUser{}, false, fmt.Errorf("erase user %s: %w", uid, err)
	}
	return erased, done, nil
}

// ClaimErasureNotices implements application.AccountDeletionRepository in one
// statement; SKIP LOCKED lets concurrent dispatchers take different notices.
func (s *Store) ClaimErasureNotices(ctx context.Context, now, claimUntil time.Time, limit int) ([]application.ErasureNotice, error) {
	var rows []struct {
		ID         int64     `gorm:"column:id"`
		UID        string    `gorm:"column:uid"`
		UserDomain string    `gorm:"column:user_domain"`
		ErasedAt   time.Time `gorm:"column:erased_at"`
		Attempts   int       `gorm:"column:attempts"`
	}
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		rows = rows[:0]
		return db.Raw(`
		UPDATE enduser_erasure_outbox o SET next_attempt_at = @until
		FROM (SELECT id FROM enduser_erasure_outbox WHERE next_attempt_at <= @now
			ORDER BY next_attempt_at, id LIMIT @n FOR UPDATE SKIP LOCKED) c
		WHERE o.id = c.id
		RETURNING o.id, o.uid, o.user_domain, o.erased_at, o.attempts`,
			map[string]any{"now": dbTime(now), "until": dbTime(claimUntil), "n": limit}).Scan(&rows)
	}).Error
	if err != nil {
		return nil, fmt.Errorf("claim erasure notices: %w", err)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	out := make([]application.ErasureNotice, 0, len(rows))
	for _, r := range rows {
		out = append(out, application.ErasureNotice{ID: r.ID, Attempts: r.Attempts,
			User: application.ErasedUser{UID: r.UID, UserDomain: r.UserDomain, ErasedAt: r.ErasedAt.UTC()}})
	}
	return out, nil
}

// CompleteErasureNotice implements application.AccountDeletionRepository.
func (s *Store) CompleteErasureNotice(ctx context.Context, id int64) error {
	if err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Exec(`DELETE FROM enduser_erasure_outbox WHERE id = ?`, id)
	}).Error; err != nil {
		return fmt.Errorf("complete erasure notice %d: %w", id, err)
	}
	return nil
}

// RetryErasureNotice implements application.AccountDeletionRepository.
func (s *Store) RetryErasureNotice(ctx context.Context, id int64, at time.Time) error {
	if err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Exec(`UPDATE enduser_erasure_outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?`, dbTime(at), id)
	}).Error; err != nil {
		return fmt.Errorf("retry erasure notice %d: %w", id, err)
	}
	return nil
}
