package postgres

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// GormLogger is the GORM logger of the module's statements: the host's
// logger at DEBUG, never GORM's own (which prints coloured lines on stdout).
// A failed statement is logged with its text (placeholders, never the
// arguments: they hold openids and sealed keys) and its SQLSTATE (never the
// server's message, which can quote a row's values); the store translates
// the error itself and the application logs what it could not handle. A
// missing row is no failure.
func GormLogger(log *slog.Logger) logger.Interface {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return gormLogger{log: log.With(slog.String("component", "enduser-auth/postgres"))}
}

type gormLogger struct{ log *slog.Logger }

func (l gormLogger) LogMode(logger.LogLevel) logger.Interface { return l }

func (l gormLogger) Info(ctx context.Context, msg string, _ ...any) {
	l.log.DebugContext(ctx, msg)
}

func (l gormLogger) Warn(ctx context.Context, msg string, _ ...any) {
	l.log.DebugContext(ctx, msg)
}

func (l gormLogger) Error(ctx context.Context, msg string, _ ...any) {
	l.log.DebugContext(ctx, msg)
}

func (l gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if err == nil || errors.Is(err, gorm.ErrRecordNotFound) || !l.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	sql, _ := fc()
	state := sqlState(err)
	if state == "" {
		state = "none"
	}
	l.log.DebugContext(ctx, "statement failed", slog.String("operation", operation(sql)), slog.String("sqlstate", state),
		slog.Duration("elapsed", time.Since(begin)))
}

// WithModuleLogger returns db as the module uses it: a session of the host's
// *gorm.DB (the same pool) whose logger is GormLogger(log).
func WithModuleLogger(db *gorm.DB, log *slog.Logger) *gorm.DB {
	return db.Session(&gorm.Session{Logger: GormLogger(log)})
}
