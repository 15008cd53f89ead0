package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	gormpg "gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Connection pool settings. Two cores and a login that holds a connection
// for one or two short statements do not need more than 20 connections.
const (
	maxOpenConns    = 20
	maxIdleConns    = 20
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
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("parse postgres DSN: %w", err)
	}
	cfg.Tracer = QueryTracer()
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
		return nil, fmt.Errorf("open gorm on %s: %w", describe(cfg), err)
	}
	return db, nil
}

// connect opens the pool and checks it with one connection; a missing
// database (SQLSTATE 3D000) is created and the check repeated.
func connect(ctx context.Context, cfg *pgx.ConnConfig) (*sql.DB, error) {
	sqlDB := stdlib.OpenDB(*cfg)
	sqlDB.SetMaxOpenConns(maxOpenConns)
	sqlDB.SetMaxIdleConns(maxIdleConns)
	sqlDB.SetConnMaxLifetime(connMaxLifetime)
	sqlDB.SetConnMaxIdleTime(connMaxIdleTime)

	err := sqlDB.PingContext(ctx)
	if hasCode(err, "3D000") { // invalid_catalog_name: the database does not exist
		if err = createDatabase(ctx, cfg); err == nil {
			err = sqlDB.PingContext(ctx)
		}
	}
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect to %s: %w", describe(cfg), err)
	}
	return sqlDB, nil
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
