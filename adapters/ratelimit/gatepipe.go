package ratelimit

// The exchange gate's round trip, shared by concurrent logins.

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// gatePipe returns rdb's asynchronous automatic pipeline (go-redis's
// AutoPipeliner, v9.22 and later) when rdb is a *redis.Client, nil
// otherwise. Through it the exchange gates of logins that run at the same
// time share one write and one read on one connection, on both sides of the
// wire: under load a login's Redis round trip costs a fraction of a round
// trip's system calls (measured in docs/performance.md). Each call is still
// its own script run, in the order the calls were submitted, so the gate's
// semantics do not change. The pipeliner is go-redis's, cached on the client
// and closed with it; a host that lends its client shares it.
//
// A client without a read timeout of its own keeps one call each: a batch
// ends only at that timeout (the engine does not honour the callers'
// contexts), so against a Redis that never answers it would hold the
// pipeline, and the client's Close, for the engine's 30 s. Each caller still
// gets its answer at the module's deadline either way.
func gatePipe(rdb redis.UniversalClient) *redis.AutoPipeliner {
	c, ok := rdb.(*redis.Client)
	if !ok || c == nil || c.Options().ReadTimeout <= 0 {
		return nil
	}
	ap, err := c.AsyncAutoPipelineWithOptions(gatePipeOptions())
	if err != nil {
		return nil // a host's options the engine refuses: one round trip a call
	}
	return ap
}

// gatePipeOptions are go-redis's defaults for the asynchronous pipeline
// (one batch in flight, in order, no flush delay: measured, a 200 µs delay
// made batches no deeper under the benchmark's load) with a bound on the
// commands waiting: past it a gate fails at once and the login is decided in
// memory, counted, as when Redis does not answer.
func gatePipeOptions() *redis.AutoPipelineOptions {
	o := redis.DefaultAutoPipelineOptions()
	o.MaxQueuedCommands = gateMaxQueued
	return o
}

// gateMaxQueued bounds the gates waiting for Redis in one process.
const gateMaxQueued = 10000

// runGate runs the exchange gate's script with keys and args, bounded by the
// limiter's deadline: through the automatic pipeline when there is one
// (whose wait ends at the context's deadline whatever the client's own
// timeouts: the command still runs, its answer is dropped), or as one call.
func (r *Redis) runGate(ctx context.Context, keys []string, args []any) (any, error) {
	ap := r.gate.Load()
	if ap == nil {
		return bounded(ctx, r.dl, func(ctx context.Context) (any, error) {
			return exchangeScript.Run(ctx, r.rdb, keys, args...).Result()
		})
	}
	return bounded(ctx, r.dl.honoured(), func(ctx context.Context) (any, error) {
		v, err := pipedGate(ctx, ap, keys, args)
		if errors.Is(err, redis.ErrClosed) && ap.IsClosed() {
			// The pipeline was closed (a host that shares it closed it):
			// go-redis makes a new one for a client still open.
			if ap = r.renewGate(ap); ap == nil {
				return nil, err
			}
			v, err = pipedGate(ctx, ap, keys, args)
		}
		if isNoScript(err) {
			// A Redis that restarted or flushed its scripts: load the
			// script once, as Script.Run does, and run it again. The load
			// goes through the client, bounded as any of its calls.
			if _, err := bounded(ctx, r.dl, func(ctx context.Context) (string, error) {
				return exchangeScript.Load(ctx, r.rdb).Result()
			}); err != nil {
				return nil, err
			}
			v, err = pipedGate(ctx, ap, keys, args)
		}
		return v, err
	})
}

// renewGate replaces the closed pipeline old with the client's current one
// and returns it (nil: none, the client is closed too).
func (r *Redis) renewGate(old *redis.AutoPipeliner) *redis.AutoPipeliner {
	ap := gatePipe(r.rdb)
	if ap == nil || ap.IsClosed() {
		return nil
	}
	r.gate.CompareAndSwap(old, ap)
	return ap
}

// pipedGate submits one EVALSHA of the gate's script to ap and waits for its
// answer until ctx ends.
func pipedGate(ctx context.Context, ap *redis.AutoPipeliner, keys []string, args []any) (any, error) {
	cmdArgs := make([]any, 0, 3+len(keys)+len(args))
	cmdArgs = append(cmdArgs, "evalsha", exchangeScript.Hash(), len(keys))
	for _, k := range keys {
		cmdArgs = append(cmdArgs, k)
	}
	cmdArgs = append(cmdArgs, args...)
	cmd := redis.NewCmd(ctx, cmdArgs...)
	if err := ap.Submit(ctx, cmd).WaitContext(ctx); err != nil {
		return nil, err
	}
	return cmd.Result()
}

// warmGate opens the pipeline's connection (a PING through it, bounded by
// the deadline), so that the first login does not wait for a dial and a
// handshake. A failure is harmless: the first gate dials again.
func (r *Redis) warmGate(ctx context.Context) {
	ap := r.gate.Load()
	if ap == nil {
		return
	}
	_, _ = bounded(ctx, r.dl.honoured(), func(ctx context.Context) (struct{}, error) {
		cmd := redis.NewStatusCmd(ctx, "ping")
		return struct{}{}, ap.Submit(ctx, cmd).WaitContext(ctx)
	})
}
