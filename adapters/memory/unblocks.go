package memory

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/iotplatform/enduser-auth/application"
)

// AddIPUnblock implements application.IPUnblockRepository.
func (s *Store) AddIPUnblock(ctx context.Context, ip string, at time.Time) (application.IPUnblock, error) {
	if err := ctx.Err(); err != nil {
		return application.IPUnblock{}, err
	}
	if ip == "" || len(ip) > 64 { // the column's CHECK
		return application.IPUnblock{}, errors.New("add IP unblock: the IP key must be 1 to 64 bytes")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unblockSeq++
	u := application.IPUnblock{ID: s.unblockSeq, IP: ip, RequestedAt: at.UTC().Truncate(time.Microsecond)}
	s.unblocks = append(s.unblocks, u)
	return u, nil
}

// compareUnblock orders requests by (RequestedAt, ID), as the index does.
func compareUnblock(a, b application.IPUnblock) int {
	if c := a.RequestedAt.Compare(b.RequestedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// IPUnblocksAfter implements application.IPUnblockRepository.
func (s *Store) IPUnblocksAfter(ctx context.Context, at time.Time, id int64, limit int) ([]application.IPUnblock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cursor := application.IPUnblock{ID: id, RequestedAt: at.UTC().Truncate(time.Microsecond)}
	s.mu.RLock()
	var out []application.IPUnblock
	for _, u := range s.unblocks {
		if compareUnblock(u, cursor) > 0 {
			out = append(out, u)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, compareUnblock)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// PurgeIPUnblocks implements application.IPUnblockRepository: the oldest
// first, as the store's statement.
func (s *Store) PurgeIPUnblocks(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := make([]application.IPUnblock, 0)
	for _, u := range s.unblocks {
		if u.RequestedAt.Before(cutoff) {
			old = append(old, u)
		}
	}
	slices.SortFunc(old, compareUnblock)
	if len(old) > limit {
		old = old[:limit]
	}
	gone := make(map[int64]bool, len(old))
	for _, u := range old {
		gone[u.ID] = true
	}
	s.unblocks = slices.DeleteFunc(s.unblocks, func(u application.IPUnblock) bool { return gone[u.ID] })
	return len(old), nil
}
