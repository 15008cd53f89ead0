// Package redistest gives tests the shared Redis: a client of the server
// ENDUSER_TEST_REDIS_URL names (default redis://127.0.0.1:6379/0) and a key
// prefix of the test's own, whose keys are deleted when the test ends. The
// server is shared by every test and helper: it is never flushed.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// URL is the Redis the tests use.
func URL() string {
	if u := os.Getenv("ENDUSER_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// Open connects to URL (the test fails when Redis does not answer) and
// returns the client and a fresh key prefix ("enduser-test:<random>:"). At
// the end of the test every key under the prefix, and under "rate:" then the
// prefix (redis_rate's keys), is deleted and the client closed.
func Open(t testing.TB) (*redis.Client, string) {
	t.Helper()
	u := URL()
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	ctx := context.WithoutCancel(t.Context())
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		t.Fatalf("Redis at %s does not answer (the tests need it): %v", u, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "enduser-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		// The prefix (letters, hex digits, colons) holds no glob character.
		for _, pat := range []string{prefix + "*", "rate:" + prefix + "*"} {
			iter := rdb.Scan(ctx, 0, pat, 500).Iterator()
			for iter.Next(ctx) {
				rdb.Del(ctx, iter.Val())
			}
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}

// Prefix is Open for a test that hands Redis to another process: the URL and
// the prefix (the keys are still deleted at the end).
func Prefix(t testing.TB) (url, prefix string) {
	t.Helper()
	_, prefix = Open(t)
	return URL(), prefix
}

// Silent returns the address of a server that accepts connections and never
// reads nor answers them: a Redis that hangs. The listener and every
// connection it accepted close when the test ends (after the cleanups the
// test registers later, such as its client's Close).
func Silent(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read nor answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}
