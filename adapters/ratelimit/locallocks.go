package ratelimit

// The lockout mirror of the local-first limiter (Local): lockouts started
// or lifted on any instance, applied from Redis pub/sub.

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// mirror records a lockout in the mirror.
func (l *Local) mirror(key string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.locks) >= l.max {
		now := time.Now()
		for k, u := range l.locks {
			if !now.Before(u) {
				delete(l.locks, k)
			}
		}
		trim(l.locks, l.max)
	}
	l.locks[key] = until
}

// lockChannel is the pub/sub channel of lockouts under prefix.
func lockChannel(prefix string) string { return prefix + "lockouts" }

// The mirror's messages: "L <ms> <ip|userDomain>" a lockout of ms
// milliseconds started, "U <ip>" ip's lockouts were lifted, "M <marker>"
// Sync's barrier.

// subscribe keeps the mirror from the lockouts' channel until ctx ends,
// loading every active lockout whenever the subscription (re)starts.
func (l *Local) subscribe(ctx context.Context, ps *redis.PubSub) {
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			l.log.LogAttrs(ctx, slog.LevelDebug, "limits: lockout channel", slog.String("error", err.Error()))
			select {
			case <-ctx.Done():
				return
			case <-time.After(l.interval):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && l.loadLocks(ctx) {
				l.running.Store(true)
				l.readyOnce.Do(func() { close(l.ready) })
			}
		case *redis.Message:
			l.apply(m.Payload)
		}
	}
}

// apply applies one message of the lockouts' channel.
func (l *Local) apply(payload string) {
	kind, rest, _ := strings.Cut(payload, " ")
	switch kind {
	case "L":
		ms, key, ok := strings.Cut(rest, " ")
		n, err := strconv.ParseInt(ms, 10, 64)
		if ok && err == nil {
			l.mirror(key, time.Now().Add(time.Duration(n)*time.Millisecond))
		}
	case "U":
		l.mu.Lock()
		for k := range l.locks {
			if ipOfLockKey(k) == rest {
				delete(l.locks, k)
			}
		}
		l.mu.Unlock()
	case "M":
		if ch, ok := l.markers.LoadAndDelete(rest); ok {
			close(ch.(chan struct{}))
		}
	}
}

// loadLocks replaces the mirror with the lockouts Redis holds; false when
// it could not.
func (l *Local) loadLocks(ctx context.Context) bool {
	// Bounded as a whole (a SCAN of many keys takes several round trips).
	dl := deadline{d: 20 * l.redis.dl.d, ctxBound: l.redis.dl.ctxBound}
	locks, err := bounded(ctx, dl, l.readLocks)
	if err != nil {
		l.log.LogAttrs(ctx, slog.LevelWarn, "limits: loading the lockouts failed (each login is admitted in Redis meanwhile)",
			slog.String("error", err.Error()))
		return false
	}
	l.mu.Lock()
	l.locks = locks
	l.mu.Unlock()
	return true
}

// readLocks reads every active lockout.
func (l *Local) readLocks(ctx context.Context) (map[string]time.Time, error) {
	prefix := l.redis.key("lock") + "|"
	locks := map[string]time.Time{}
	now := time.Now()
	iter := l.redis.rdb.Scan(ctx, 0, globEscape(prefix)+"*", 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, err
	}
	for len(keys) > 0 {
		batch := keys[:min(len(keys), 500)]
		keys = keys[len(batch):]
		cmds, err := l.redis.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range batch {
				p.PTTL(ctx, k)
			}
			return nil
		})
		if err != nil && len(cmds) != len(batch) {
			return nil, err
		}
		for i, k := range batch {
			if ttl, err := cmds[i].(*redis.DurationCmd).Result(); err == nil && ttl > 0 {
				locks[strings.TrimPrefix(k, prefix)] = now.Add(ttl)
			}
		}
	}
	return locks, nil
}
