package postgres

import (
	"context"
	"errors"
	"github.com/iotplatform/enduser-auth/adapters/tracing"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the Postgres adapter's tracer.
const tracerName = "github.com/iotplatform/enduser-auth/adapters/postgres"

// QueryTracer returns the pgx tracer that gives every statement an
// OpenTelemetry client span, whoever issues it (GORM, database/sql or pgx
// directly). A span carries the statement's text, with its placeholders, and
// never its arguments: they hold openids, unionids and encrypted keys. Open
// installs it with otel's global provider; a host that opens its own pool
// can set QueryTracer(its tracing) as its pgx.ConnConfig.Tracer. With no
// tracer provider configured it costs a no-op span.
func QueryTracer(tr tracing.Options) pgx.QueryTracer { return queryTracer{tr} }

type queryTracer struct{ tr tracing.Options }

func (q queryTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !trace.SpanFromContext(ctx).SpanContext().IsValid() {
		// A statement outside any traced operation (a background sync) would
		// start a trace of its own for every query: leave it out.
		return ctx
	}
	ctx, _ = q.tr.Tracer(tracerName).Start(ctx, "db "+operation(data.SQL), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("db.system.name", "postgresql"),
			attribute.String("db.namespace", conn.Config().Database),
			attribute.String("db.query.text", data.SQL),
		))
	return ctx
}

func (queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if data.Err != nil {
		code := "error"
		if c := sqlState(data.Err); c != "" {
			code = c
		}
		// The SQLSTATE only: a Postgres error message can quote the row's values.
		span.SetAttributes(attribute.String("db.response.status_code", code))
		span.SetStatus(codes.Error, code)
	}
	span.End()
}

// operation is the statement's first keyword (WITH, SELECT, UPDATE, ...), as
// a low-cardinality span name.
func operation(sql string) string {
	sql = strings.TrimSpace(sql)
	if i := strings.IndexAny(sql, " \t\r\n("); i > 0 {
		sql = sql[:i]
	}
	if len(sql) > 16 {
		sql = sql[:16]
	}
	return strings.ToUpper(sql)
}

// sqlState is err's SQLSTATE when it is a Postgres error, else "".
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}
