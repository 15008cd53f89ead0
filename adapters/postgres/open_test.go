package postgres

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOpenCreatesAMissingDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	u, err := url.Parse(e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := "enduser_open_test_" + randomHex(6)
	u.Path = "/" + name
	t.Cleanup(func() {
		if _, err := e.sql.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})

	for i := range 2 { // the second Open finds the database
		db, err := Open(ctx, u.String())
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		var current string
		if err := db.WithContext(ctx).Raw("SELECT current_database()").Scan(&current).Error; err != nil || current != name {
			t.Fatalf("Open %d connected to %q, %v; want %s", i, current, err, name)
		}
		sqlDB, _ := db.DB()
		_ = sqlDB.Close()
	}
}

// TestOpenPoolServesWaitersInOrder: with every connection of the pool taken,
// the statements that wait for one get them in the order they came
// (database/sql's own pool hands a released connection to a random waiter,
// which stretches the tail latency under load), and there are never more than
// maxOpenConns connections.
func TestOpenPoolServesWaitersInOrder(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := newTestEnv(t)
	held := make([]*sql.Conn, maxOpenConns)
	for i := range held {
		c, err := e.sql.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.PingContext(ctx); err != nil {
			t.Fatal(err)
		}
		held[i] = c
		t.Cleanup(func() { _ = c.Close() }) // before the pool closes: it waits for them
	}
	const waiters = 6
	order := make(chan int, waiters)
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := e.sql.Conn(ctx) // waits: every connection is held
			if err != nil {
				t.Error(err)
				return
			}
			order <- i
			_ = c.Close()
		}()
		time.Sleep(20 * time.Millisecond) // the waiters queue up in i's order
	}
	var backends int
	if err := held[0].QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()`).Scan(&backends); err != nil {
		t.Fatal(err)
	}
	if backends > maxOpenConns {
		t.Errorf("%d connections to the database, want at most %d", backends, maxOpenConns)
	}
	_ = held[0].Close() // one connection for all the waiters, one after the other
	wg.Wait()
	close(order)
	want := 0
	for got := range order {
		if got != want {
			t.Fatalf("waiter %d got the connection %s, want waiter %d: not first come, first served", got, ordinal(want), want)
		}
		want++
	}
}

func ordinal(i int) string {
	return [...]string{"first", "second", "third", "fourth", "fifth", "sixth"}[i]
}

func TestOpenErrorsAreOneLineWithoutPassword(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Nothing listens on port 1.
	_, err := Open(ctx, "postgres://alice:s3cret-pw@127.0.0.1:1/app?sslmode=disable&connect_timeout=5")
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "connect to postgres://alice@127.0.0.1:1/app: ") || strings.Contains(msg, "s3cret-pw") || strings.Contains(msg, "\n") {
		t.Errorf("error = %q; want one line starting with the server and no password", msg)
	}

	_, err = Open(ctx, "postgres://alice:s3cret-pw@127.0.0.1:notaport/app")
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("Open of a malformed DSN = %v; want an error without the password", err)
	}
}

func TestPing(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	if err := e.store.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestOpenTakesThePoolSizeFromTheDSN: pool_max_conns in the DSN bounds the
// pool instead of the default.
func TestOpenTakesThePoolSizeFromTheDSN(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	db, err := Open(context.Background(), e.dsn+"&pool_max_conns=2")
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { _ = sqlDB.Close() })
	for range 2 {
		c, err := sqlDB.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if c, err := sqlDB.Conn(ctx); err == nil {
		_ = c.Close()
		t.Fatal("a third connection from a pool of pool_max_conns=2")
	}
}
