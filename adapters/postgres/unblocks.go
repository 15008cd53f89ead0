package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/application"
)

var _ application.IPUnblockRepository = (*Store)(nil)

// ipUnblockRow is a row of enduser_ip_unblocks.
type ipUnblockRow struct {
	ID          int64     `gorm:"column:id"`
	IP          string    `gorm:"column:ip"`
	RequestedAt time.Time `gorm:"column:requested_at"`
}

func (r ipUnblockRow) unblock() application.IPUnblock {
	return application.IPUnblock{ID: r.ID, IP: r.IP, RequestedAt: r.RequestedAt.UTC()}
}

// maxUnblockIP is the column's bound on an unblocked IP key.
const maxUnblockIP = 64

// AddIPUnblock implements application.IPUnblockRepository.
func (s *Store) AddIPUnblock(ctx context.Context, ip string, at time.Time) (application.IPUnblock, error) {
	if ip == "" || len(ip) > maxUnblockIP {
		return application.IPUnblock{}, errors.New("add IP unblock: the IP key must be 1 to 64 bytes")
	}
	var rows []ipUnblockRow
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		rows = rows[:0]
		return db.Raw(`INSERT INTO enduser_ip_unblocks (ip, requested_at) VALUES (?, ?) RETURNING id, ip, requested_at`,
			ip, dbTime(at)).Scan(&rows)
	}).Error
	if err != nil {
		return application.IPUnblock{}, fmt.Errorf("add IP unblock: %w", err)
	}
	if len(rows) != 1 {
		return application.IPUnblock{}, errors.New("add IP unblock: the insert returned no row")
	}
	return rows[0].unblock(), nil
}

// IPUnblocksAfter implements application.IPUnblockRepository (a range of
// the (requested_at, id) index).
func (s *Store) IPUnblocksAfter(ctx context.Context, at time.Time, id int64, limit int) ([]application.IPUnblock, error) {
	var rows []ipUnblockRow
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		rows = rows[:0]
		return db.Raw(`
		SELECT id, ip, requested_at FROM enduser_ip_unblocks
		WHERE (requested_at, id) > (?, ?) ORDER BY requested_at, id LIMIT ?`, dbTime(at), id, limit).Scan(&rows)
	}).Error
	if err != nil {
		return nil, fmt.Errorf("list IP unblocks: %w", err)
	}
	out := make([]application.IPUnblock, len(rows))
	for i, r := range rows {
		out[i] = r.unblock()
	}
	return out, nil
}

// PurgeIPUnblocks implements application.IPUnblockRepository.
func (s *Store) PurgeIPUnblocks(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Exec(`
		DELETE FROM enduser_ip_unblocks WHERE id IN (
			SELECT id FROM enduser_ip_unblocks WHERE requested_at < ? ORDER BY requested_at, id LIMIT ?)`, dbTime(cutoff), limit)
	})
	if res.Error != nil {
		return 0, fmt.Errorf("purge IP unblocks: %w", res.Error)
	}
	return int(res.RowsAffected), nil
}
