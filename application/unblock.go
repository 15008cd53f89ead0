package application

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// AuditIPUnblocked is an operator's request to lift the lockouts of a client
// IP (UnblockIP): the record's client IP is the unblocked one (the limiter's
// key: an IPv6 client's /64), its user domain empty (every domain's
// lockouts are lifted).
const AuditIPUnblocked = "ip_unblocked"

// unblockBatch bounds each read and each purge statement of the unblock
// requests; unblockMaxBatches bounds the statements of one sync.
const (
	unblockBatch      = 500
	unblockMaxBatches = 20
)

// unblockPurgeEvery is how often a serving instance purges the unblock
// requests older than the lockout duration.
const unblockPurgeEvery = time.Minute

// unblockSync is what a serving instance knows of the unblock requests: the
// ones it applied (by id, with their time, until they leave the read
// window), the last sync and the last purge.
type unblockSync struct {
	mu        sync.Mutex
	applied   map[int64]time.Time
	lastSync  time.Time
	lastPurge time.Time
}

// IPUnblocked is what an operator's unblock did.
type IPUnblocked struct {
	// Key is the limiter's key of the IP (an IPv6 address stands for its
	// /64); "" when the request could not be stored.
	Key string
	// Shared is true when the lockouts are also held where every instance
	// reads them (Redis): those were lifted at once (SharedLifted of them).
	Shared       bool
	SharedLifted int
}

// UnblockIP records an operator's request to lift every lockout of ip
// (whatever the user domain), which every serving instance applies to the
// lockouts it holds within RevocationSyncInterval (SyncIPUnblocks); this
// process lifts its own at once, and, with shared lockouts (Redis), those at
// once too. Audit record ip_unblocked. Errors: KindInvalid when ip is not an
// IP address; a failure of the shared store after the request was stored is
// returned with the result (its Key set).
func (s *core) UnblockIP(ctx context.Context, ip string) (IPUnblocked, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return IPUnblocked{}, domain.Errorf(domain.KindInvalid, "%q is not an IP address", safeLog(ip))
	}
	key := LimitKey(a.Unmap().String())
	if s.unblocks == nil {
		return IPUnblocked{}, internal(errors.New("no unblock request store"))
	}
	now := s.clock.Now()
	req, err := s.unblocks.AddIPUnblock(ctx, key, now)
	if err != nil {
		return IPUnblocked{}, internal(err)
	}
	n := 0
	if s.lockouts != nil {
		s.unblockSync.mu.Lock()
		s.unblockSync.applied[req.ID] = req.RequestedAt
		s.unblockSync.mu.Unlock()
		n = s.lockouts.LiftLockouts(ctx, key)
	}
	s.log.WarnContext(ctx, "client IP unblocked by an operator", slog.String("ip", key), slog.Int("lifted", n))
	e := AuditEvent{Event: AuditIPUnblocked}
	e.ClientIP = key
	s.record(ctx, e)
	res := IPUnblocked{Key: key}
	if s.shared == nil || !s.shared.Shared() {
		return res, nil
	}
	res.Shared = true
	res.SharedLifted, err = s.shared.Unblock(ctx, key)
	return res, err
}

// SyncIPUnblocks applies the unblock requests made since the last sync (with
// the revocations' overlap, each request once) to the lockouts this process
// holds, and, at most every minute, purges the requests older than the
// lockout duration, in bounded batches. Run calls it after each revocation
// sync; it does nothing without IPUnblocks or Lockouts.
func (s *core) SyncIPUnblocks(ctx context.Context) error {
	if s.unblocks == nil || s.lockouts == nil {
		return nil
	}
	st := &s.unblockSync
	st.mu.Lock()
	defer st.mu.Unlock()
	now := s.clock.Now()
	since := now.Add(-syncOverlap)
	if !st.lastSync.IsZero() {
		since = st.lastSync.Add(-syncOverlap)
	}
	at, id := since, int64(0)
	for range unblockMaxBatches {
		list, err := s.unblocks.IPUnblocksAfter(ctx, at, id, unblockBatch)
		if err != nil {
			return internal(err)
		}
		for _, r := range list {
			if _, done := st.applied[r.ID]; done {
				continue
			}
			st.applied[r.ID] = r.RequestedAt
			if n := s.lockouts.LiftLockouts(ctx, r.IP); n > 0 {
				s.log.InfoContext(ctx, "lockouts lifted by an operator's unblock request", slog.String("ip", r.IP), slog.Int("lifted", n))
			}
		}
		if len(list) < unblockBatch {
			break
		}
		last := list[len(list)-1]
		at, id = last.RequestedAt, last.ID
	}
	for rid, t := range st.applied {
		if t.Before(since) {
			delete(st.applied, rid) // out of the next read window
		}
	}
	st.lastSync = now
	if now.Sub(st.lastPurge) < unblockPurgeEvery {
		return nil
	}
	st.lastPurge = now
	cutoff := now.Add(-s.lockouts.LockoutDuration())
	for range unblockMaxBatches {
		n, err := s.unblocks.PurgeIPUnblocks(ctx, cutoff, unblockBatch)
		if err != nil {
			return internal(err)
		}
		if n < unblockBatch {
			break
		}
	}
	return nil
}
