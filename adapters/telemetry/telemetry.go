// Package telemetry sets up OpenTelemetry tracing from the standard OTEL_*
// environment variables and gives log lines the trace id of their request.
//
// The adapters trace through the global tracer provider (otel.Tracer): a host
// that embeds the module and has tracing of its own sets that provider and
// gets the module's spans in its traces. The enduser binary calls Setup.
package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the service.name of the module's spans unless
// OTEL_SERVICE_NAME says otherwise.
const ServiceName = "enduser-auth"

// Setup installs a tracer provider as the global one when the environment
// asks for an exporter, and returns the function that flushes and stops it:
//
//   - OTEL_TRACES_EXPORTER=otlp, or unset with OTEL_EXPORTER_OTLP_ENDPOINT or
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set: OTLP over HTTP/protobuf, which
//     reads the rest of its settings (headers, timeout, TLS) from the
//     standard variables itself;
//   - OTEL_TRACES_EXPORTER=console: spans printed as JSON on console;
//   - otherwise (none, or nothing set), or OTEL_SDK_DISABLED=true: nothing is
//     installed and tracing stays the API's no-op, which costs nothing
//     measurable.
//
// OTEL_TRACES_SAMPLER(_ARG), OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
// are honoured by the SDK. It reports what it installed, for the banner.
func Setup(ctx context.Context, getenv func(string) string, console io.Writer) (shutdown func(context.Context) error, installed string, err error) {
	noop := func(context.Context) error { return nil }
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return noop, "", nil
	}
	kind := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")))
	if kind == "" && (getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "") {
		kind = "otlp"
	}
	var exp sdktrace.SpanExporter
	switch kind {
	case "", "none":
		return noop, "", nil
	case "otlp":
		proto := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
		if proto == "" {
			proto = strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_PROTOCOL"))
		}
		if proto != "" && proto != "http/protobuf" {
			return nil, "", fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%s: only http/protobuf is supported", proto)
		}
		exp, err = otlptracehttp.New(ctx)
	case "console":
		exp, err = stdouttrace.New(stdouttrace.WithWriter(console))
	default:
		return nil, "", fmt.Errorf("OTEL_TRACES_EXPORTER=%s: want otlp, console or none", kind)
	}
	if err != nil {
		return nil, "", fmt.Errorf("tracing exporter %s: %w", kind, err)
	}
	// resource.Default reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES;
	// without either naming the service it says unknown_service, which
	// ServiceName replaces.
	res := resource.Default()
	if getenv("OTEL_SERVICE_NAME") == "" && !strings.Contains(getenv("OTEL_RESOURCE_ATTRIBUTES"), "service.name=") {
		if res, err = resource.Merge(res, resource.NewSchemaless(semconv.ServiceName(ServiceName))); err != nil {
			return nil, "", fmt.Errorf("tracing resource: %w", err)
		}
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return tp.Shutdown, kind, nil
}

// LogHandler wraps h so that a record logged with the context of a traced
// request carries its trace_id and span_id.
func LogHandler(h slog.Handler) slog.Handler { return traceHandler{h} }

type traceHandler struct{ slog.Handler }

func (t traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return t.Handler.Handle(ctx, r)
}

func (t traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return traceHandler{t.Handler.WithAttrs(as)}
}

func (t traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{t.Handler.WithGroup(name)}
}
