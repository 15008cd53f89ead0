package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisTimeout bounds one Redis call of the limits unless the
// settings say otherwise: past it the decision is taken in memory (counted),
// so a Redis that accepts connections and never answers costs a login at
// most this much per call, whatever client the host lent.
const DefaultRedisTimeout = 250 * time.Millisecond

// deadline bounds the module's Redis calls by a timeout of its own.
type deadline struct {
	d time.Duration
	// ctxBound: the client cuts its socket at the context's deadline
	// (go-redis's ContextTimeoutEnabled), so no watcher goroutine is needed.
	ctxBound bool
}

func newDeadline(d time.Duration, rdb redis.UniversalClient) deadline {
	if d <= 0 {
		d = DefaultRedisTimeout
	}
	c, ok := rdb.(*redis.Client)
	return deadline{d: d, ctxBound: ok && c != nil && c.Options().ContextTimeoutEnabled}
}

// honoured is dl for a call whose wait itself ends at its context's
// deadline (no watcher goroutine needed).
func (dl deadline) honoured() deadline {
	dl.ctxBound = true
	return dl
}

// bounded runs f with the deadline: f's context ends at it, and, for a client
// that does not honour context deadlines on its socket, the call returns at
// it anyway (f ends in its goroutine when the client's own timeouts fire,
// and its result is dropped).
func bounded[T any](ctx context.Context, dl deadline, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, dl.d)
	if dl.ctxBound {
		defer cancel()
		return f(ctx)
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer cancel()
		v, err := f(ctx)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		// The goroutine cancels ctx once f has returned: a result already
		// sent wins over the ended ctx.
		select {
		case r := <-ch:
			return r.v, r.err
		default:
		}
		var zero T
		return zero, fmt.Errorf("redis: no answer within %v: %w", dl.d, ctx.Err())
	}
}
