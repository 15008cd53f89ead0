package postgres

import (
	"github.com/iotplatform/enduser-auth/adapters/tracing"

	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	gormpg "gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Connection pool settings. Two cores and a login that holds a connection
// for one or two short statements do not need more than 20 connections; a
// deployment with more cores (or a pooler in front) sets its own with the
// DSN's pool_max_conns parameter (pgxpool's), e.g. ?pool_max_conns=40.
//
// The connections are a pgxpool, not database/sql's own pool: database/sql
// hands a released connection to a random waiter (connRequestSet.TakeRandom),
// so under load (64 logins for 20 connections) a few requests wait many
// turns and the p99 grows with the queue; pgxpool's acquire queue is first
// come, first served. database/sql (and GORM over it) is a thin layer on top
// that keeps no connection of its own (stdlib's pool connector, no idle
// connections): every statement or transaction acquires from the pgxpool
// and releases to it.
const (
	maxOpenConns    = 20
	connMaxLifetime = 30 * time.Minute
	connMaxIdleTime = 5 * time.Minute
)

// maintenanceDatabase is where CREATE DATABASE runs.
const maintenanceDatabase = "postgres"

// Open connects to the database of dsn (a URL or keyword/value DSN),
// creating the database first when it does not exist, and returns a GORM
// handle configured for this adapter: silent logger, no implicit
// transactions, no prepared-statement layer of GORM's own (pgx caches
// statements already). It does not migrate: see package migrations.
func Open(ctx context.Context, dsn string) (*gorm.DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("parse postgres DSN: %w", err)
	}
	cfg.ConnConfig.Tracer = QueryTracer(tracing.Options{})
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = maxOpenConns
	}
	sqlDB, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(gormpg.New(gormpg.Config{Conn: sqlDB}), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		DisableAutomaticPing:   true,
	})
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("open gorm on %s: %w", describe(cfg.ConnConfig), err)
	}
	return db, nil
}

// connect opens the pool and checks it with one connection; a missing
// database (SQLSTATE 3D000) is created and the check repeated. Closing the
// returned *sql.DB closes the pool.
func connect(ctx context.Context, cfg *pgxpool.Config) (*sql.DB, error) {
	cfg.MaxConnLifetime = connMaxLifetime
	cfg.MaxConnIdleTime = connMaxIdleTime
	prepareForFailover(cfg.ConnConfig)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", describe(cfg.ConnConfig), err)
	}
	sqlDB := sql.OpenDB(poolConnector{Connector: stdlib.GetPoolConnector(pool), pool: pool})
	// No limit and no idle connections of database/sql's own: a statement
	// waits for a connection in the pgxpool's queue, in order.
	sqlDB.SetMaxIdleConns(0)
	sqlDB.SetMaxOpenConns(0)

	err = sqlDB.PingContext(ctx)
	if hasCode(err, "3D000") { // invalid_catalog_name: the database does not exist
		if err = createDatabase(ctx, cfg.ConnConfig); err == nil {
			err = sqlDB.PingContext(ctx)
		}
	}
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect to %s: %w", describe(cfg.ConnConfig), err)
	}
	return sqlDB, nil
}

// poolConnector is stdlib's connector of a pgxpool that also closes the pool
// when the *sql.DB is closed (database/sql calls a connector's Close).
type poolConnector struct {
	driver.Connector
	pool *pgxpool.Pool
}

// Close closes the pool.
func (c poolConnector) Close() error {
	c.pool.Close()
	return nil
}

// createDatabase creates cfg's database from the server's maintenance
// database. Another instance creating it at the same time is not an error.
func createDatabase(ctx context.Context, cfg *pgx.ConnConfig) error {
	maint := cfg.Copy()
	maint.Database = maintenanceDatabase
	conn, err := pgx.ConnectConfig(ctx, maint)
	if err != nil {
		return fmt.Errorf("create database %s: %w", cfg.Database, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
	if err != nil && !hasCode(err, "42P04") { // duplicate_database
		return fmt.Errorf("create database %s: %w", cfg.Database, err)
	}
	return nil
}

// describe names the server and database of cfg without the password, as a
// URL for error messages.
func describe(cfg *pgx.ConnConfig) string {
	u := url.URL{Scheme: "postgres", User: url.User(cfg.User), Host: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), Path: "/" + cfg.Database}
	return u.String()
}

// hasCode reports whether err is a Postgres error with SQLSTATE code.
func hasCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
