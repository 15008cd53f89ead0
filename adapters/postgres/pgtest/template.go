package pgtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/iotplatform/enduser-auth/migrations"
)

// This file is the process's side of pgtest: the admin pool, and the
// template database (made once per migration set, dropped when stale) that
// every test's database is copied from. pgtest.go is the tests' side.

// templateLockID is the advisory lock, taken in the admin database, that
// serialises template creation across test processes. It differs from the
// migrations' own lock.
const templateLockID = migrations.LockID + 1

// setupTimeout bounds the once-per-process template setup.
const setupTimeout = 2 * time.Minute

// harness is the per-process state: the admin pool and the template's name.
type harness struct {
	adminURL string
	admin    *sql.DB
	template string
}

var (
	setupOnce sync.Once
	shared    *harness
	setupErr  error
)

// setup prepares the process's harness once; every later call returns the
// same result, so an unreachable server fails each test quickly.
func setup() (*harness, error) {
	setupOnce.Do(func() {
		shared, setupErr = newHarness()
	})
	return shared, setupErr
}

func newHarness() (*harness, error) {
	adminURL := DefaultDatabaseURL
	if v := strings.TrimSpace(os.Getenv(EnvDatabaseURL)); v != "" {
		adminURL = v
	}
	cfg, err := pgx.ParseConfig(adminURL)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", EnvDatabaseURL, err)
	}
	admin := stdlib.OpenDB(*cfg)
	admin.SetMaxOpenConns(4)
	admin.SetMaxIdleConns(2)

	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	pingCtx, pingCancel := context.WithTimeout(ctx, 10*time.Second)
	defer pingCancel()
	if err := admin.PingContext(pingCtx); err != nil {
		_ = admin.Close()
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s (set %s to a DSN of a role that may create databases): %w",
			redact(cfg), EnvDatabaseURL, err)
	}
	tmpl, err := templateName()
	if err != nil {
		_ = admin.Close()
		return nil, err
	}
	h := &harness{adminURL: adminURL, admin: admin, template: tmpl}
	if err := h.ensureTemplate(ctx); err != nil {
		_ = admin.Close()
		return nil, fmt.Errorf("prepare template database %s: %w", tmpl, err)
	}
	return h, nil
}

// templateName derives the template's name from the migration files, so a
// changed schema gets a new template and an unchanged one is reused.
func templateName() (string, error) {
	sum := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(sum, "%s\x00%d\x00", path, len(b))
		sum.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return "enduser_tmpl_" + hex.EncodeToString(sum.Sum(nil))[:8], nil
}

// ensureTemplate creates and migrates the template unless a previous process
// did, holding an advisory lock on one admin connection meanwhile.
func (h *harness) ensureTemplate(ctx context.Context) error {
	conn, err := h.admin.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", templateLockID); err != nil {
		return fmt.Errorf("take advisory lock: %w", err)
	}
	defer func() {
		// A fresh context: the unlock must happen even if ctx has expired.
		unlockCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(unlockCtx, "SELECT pg_advisory_unlock($1)", templateLockID)
	}()

	var exists, isTemplate bool
	err = conn.QueryRowContext(ctx,
		"SELECT true, datistemplate FROM pg_database WHERE datname = $1", h.template).Scan(&exists, &isTemplate)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if isTemplate {
		return nil
	}
	if exists {
		// Not a template (an older harness left it unfinished): start again.
		if _, err := conn.ExecContext(ctx, "DROP DATABASE "+quote(h.template)+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop unfinished template: %w", err)
		}
	}
	// The template is built under another name and renamed when finished, so
	// that no test process can ever copy a half-migrated one.
	building := h.template + "_building"
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(building)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop unfinished template: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+quote(building)); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if err := h.migrateTemplate(ctx, building); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx,
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", building); err != nil {
		return fmt.Errorf("close connections: %w", err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("COMMENT ON DATABASE %s IS 'created %d'", quote(building), time.Now().Unix())); err != nil {
		return fmt.Errorf("date the template: %w", err)
	}
	// No connections to the template from now on: copying it needs none.
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+quote(building)+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("mark as template: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+quote(building)+" RENAME TO "+quote(h.template)); err != nil {
		return fmt.Errorf("rename the finished template: %w", err)
	}
	h.dropStaleTemplates(ctx, conn)
	return nil
}

// staleTemplateAge is how long a template of another migration set is kept:
// checkouts of several branches testing at once on one server keep theirs.
const staleTemplateAge = 6 * time.Hour

// dropStaleTemplates drops the templates of other migration sets made more
// than staleTemplateAge ago (each template's comment holds its creation
// time; one without is old), so they do not pile up as the schema evolves.
// It is best effort: one still being copied is left for next time.
func (h *harness) dropStaleTemplates(ctx context.Context, conn *sql.Conn) {
	for _, name := range h.staleTemplates(ctx, conn) {
		if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+quote(name)+" WITH IS_TEMPLATE false"); err == nil {
			_, _ = conn.ExecContext(ctx, "DROP DATABASE "+quote(name))
		}
	}
}

// staleTemplates lists the templates dropStaleTemplates drops (none when the
// query fails). Its rows are closed before conn runs anything else.
func (h *harness) staleTemplates(ctx context.Context, conn *sql.Conn) []string {
	rows, err := conn.QueryContext(ctx, `
		SELECT d.datname FROM pg_database d
		LEFT JOIN pg_shdescription c ON c.objoid = d.oid AND c.classoid = 'pg_database'::regclass
		WHERE d.datname LIKE 'enduser\_tmpl\_%' AND d.datname <> $1
			AND (c.description IS NULL OR c.description !~ '^created [0-9]+$'
				OR substr(c.description, 9)::bigint < extract(epoch FROM now())::bigint - $2)`,
		h.template, int64(staleTemplateAge/time.Second))
	if err != nil {
		return nil
	}
	defer func() { _ = rows.Close() }() // best effort, as the whole clean-up
	var stale []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) == nil {
			stale = append(stale, name)
		}
	}
	return stale
}

func (h *harness) migrateTemplate(ctx context.Context, name string) error {
	dsn, err := withDatabase(h.adminURL, name)
	if err != nil {
		return err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	db := stdlib.OpenDB(*cfg)
	err = migrations.Up(ctx, db)
	return errors.Join(err, db.Close())
}

// createFromTemplate copies the template. Postgres refuses the copy while
// anything is connected to the template (SQLSTATE 55006), which a backend
// that is still closing can briefly be: retry a few times.
func (h *harness) createFromTemplate(ctx context.Context, name string) error {
	const attempts = 6
	backoff := 50 * time.Millisecond
	var err error
	for i := 0; i < attempts; i++ {
		_, err = h.admin.ExecContext(ctx, "CREATE DATABASE "+quote(name)+" TEMPLATE "+quote(h.template))
		var pgErr *pgconn.PgError
		if err != nil && errors.As(err, &pgErr) && pgErr.Code == "3D000" {
			// The template is gone: a test process of a checkout with other
			// migrations (another branch) dropped it as stale. Make it again.
			if err = h.ensureTemplate(ctx); err != nil {
				return fmt.Errorf("re-create template: %w", err)
			}
			continue
		}
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	return err
}

// redact describes the server without the password.
func redact(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}
