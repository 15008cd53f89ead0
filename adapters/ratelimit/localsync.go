package ratelimit

// The reconciliation of the local-first limiter (Local) with Redis: Run
// syncs the per-IP views every interval in one pipelined round trip.

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Run syncs the views every interval and keeps the mirror, until ctx ends;
// Local decides locally only while it runs, from the mirror's first load on
// (until then, and when Redis cannot be reached at the start, every decision
// is Shared's).
func (l *Local) Run(ctx context.Context) error {
	defer func() {
		l.running.Store(false)
		l.mu.Lock()
		clear(l.ips)
		l.mu.Unlock()
	}()
	// The subscription's reads wait without a deadline, and a client that
	// does not honour ctx on its socket may wait for ever on a Redis that
	// never answers: closing the subscription ends its reads, and Run does
	// not wait for the goroutine longer than a few deadlines (it ends when
	// the socket does).
	ps := l.redis.rdb.Subscribe(ctx) // no channel yet: no connection
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := ps.Subscribe(ctx, lockChannel(l.redis.prefix)); err != nil && ctx.Err() == nil {
			l.log.LogAttrs(ctx, slog.LevelWarn, "limits: the lockout channel failed (each login is admitted in Redis meanwhile)",
				slog.String("error", err.Error()))
		}
		l.redis.warmGate(ctx)
		l.subscribe(ctx, ps)
	}()
	tick := time.NewTicker(l.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// The admissions since the last sync are counted before the
			// instance goes (bounded by the deadline).
			l.running.Store(false)
			l.syncViews(context.WithoutCancel(ctx), false)
			// Close waits for the subscription's lock, which a connection
			// stuck in its handshake holds.
			go func() { _ = ps.Close() }()
			select {
			case <-done:
			case <-time.After(4 * l.redis.dl.d):
			}
			return nil
		case <-tick.C:
			l.syncViews(ctx, false)
		}
	}
}

// syncViews sends every active IP's admissions since the last sync and
// reads back its bucket, in one pipelined round trip; an IP not seen since
// the last sync is not sent unless all (its view goes stale) and, once its
// bucket is full again, forgotten.
func (l *Local) syncViews(ctx context.Context, all bool) {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	now := time.Now()
	items := l.takePending(now, all)
	if len(items) == 0 {
		return
	}
	cmds, err := l.sendCounts(ctx, items)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil && len(cmds) != len(items) {
		// Nothing known to be counted: the admissions wait for the next
		// sync; the views go stale meanwhile (decided in Redis, or in
		// memory while it fails).
		for _, it := range items {
			if v := l.ips[it.ip]; v != nil {
				v.pending += it.n
			}
		}
		l.log.LogAttrs(ctx, slog.LevelDebug, "limits: per-IP sync failed", slog.String("error", err.Error()))
		return
	}
	t := l.emission()
	for i, it := range items {
		v := l.ips[it.ip]
		a, perr := parseTake(cmdVal(cmds[i]))
		switch {
		case v == nil:
		case perr != nil:
			v.pending += it.n
		default:
			v.tat = now.Add(a.debt).Add(time.Duration(v.pending) * t)
			v.fresh = now
		}
	}
}

// syncItem is one IP's admissions to send.
type syncItem struct {
	ip string
	n  int
}

// takePending returns the IPs to sync (used since the last sync, or all)
// and their admissions, which it resets; it forgets the idle IPs whose
// bucket is full.
func (l *Local) takePending(now time.Time, all bool) []syncItem {
	var items []syncItem
	l.mu.Lock()
	defer l.mu.Unlock()
	for ip, v := range l.ips {
		if !all && !v.used && v.pending == 0 {
			if now.Sub(v.fresh) > 2*l.interval && !v.tat.After(now) {
				delete(l.ips, ip)
			}
			continue
		}
		items = append(items, syncItem{ip, v.pending})
		v.pending, v.used = 0, false
	}
	return items
}

// sendCounts sends items in one pipeline (loading the script again when
// Redis lost it).
func (l *Local) sendCounts(ctx context.Context, items []syncItem) ([]redis.Cmder, error) {
	send := func(run func(ctx context.Context, c redis.Scripter, keys []string, args ...any) *redis.Cmd) ([]redis.Cmder, error) {
		return bounded(ctx, l.redis.dl, func(ctx context.Context) ([]redis.Cmder, error) {
			return l.redis.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, it := range items {
					run(ctx, p, []string{l.redis.rateKey("ip", it.ip)}, l.takeArgs(it.n, false)...)
				}
				return nil
			})
		})
	}
	cmds, err := send(takeScript.Run)
	if err != nil && isNoScript(err) {
		// A Redis that lost its scripts (a restart): load it, send again.
		if lerr := takeScript.Load(ctx, l.redis.rdb).Err(); lerr == nil {
			cmds, err = send(takeScript.EvalSha)
		}
	}
	return cmds, err
}

func cmdVal(c redis.Cmder) any {
	if c.Err() != nil {
		return c.Err()
	}
	if cmd, ok := c.(*redis.Cmd); ok {
		return cmd.Val()
	}
	return nil
}

func isNoScript(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") }

// Sync brings the instance up to date with Redis: the per-IP views synced
// now, and every lockout message published before the call applied to the
// mirror (a marker published now has come back). It waits for Run to have
// loaded the mirror first. Tests call it; Run does the first part every
// interval.
func (l *Local) Sync(ctx context.Context) error {
	select {
	case <-l.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	l.syncViews(ctx, true)
	marker := strconv.FormatInt(time.Now().UnixNano(), 36) + "." + strconv.FormatInt(markerSeq.Add(1), 36)
	ch := make(chan struct{})
	l.markers.Store(marker, ch)
	defer l.markers.Delete(marker)
	if _, err := bounded(ctx, l.redis.dl, func(ctx context.Context) (int64, error) {
		return l.redis.rdb.Publish(ctx, lockChannel(l.redis.prefix), "M "+marker).Result()
	}); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var markerSeq atomic.Int64
