package telemetry_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/iotplatform/enduser-auth/adapters/telemetry"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSetupFromTheStandardVariables(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	ctx := context.Background()

	for _, env := range []map[string]string{
		{}, {"OTEL_TRACES_EXPORTER": "none"},
		{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"},
	} {
		stop, kind, err := telemetry.Setup(ctx, envOf(env), nil)
		if err != nil || kind != "" || stop(ctx) != nil {
			t.Fatalf("%v: want nothing installed, got %q %v", env, kind, err)
		}
		if _, isSDK := otel.GetTracerProvider().(*sdktrace.TracerProvider); isSDK {
			t.Fatalf("%v: a tracer provider was installed", env)
		}
	}
	for _, env := range []map[string]string{
		{"OTEL_TRACES_EXPORTER": "jaeger"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
	} {
		if _, _, err := telemetry.Setup(ctx, envOf(env), nil); err == nil {
			t.Fatalf("%v: want an error", env)
		}
	}
	if _, kind, err := telemetry.Setup(ctx, envOf(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}), nil); err != nil || kind != "otlp" {
		t.Fatalf("an OTLP endpoint alone selects otlp: %q %v", kind, err)
	}

	var out bytes.Buffer
	stop, kind, err := telemetry.Setup(ctx, envOf(map[string]string{"OTEL_TRACES_EXPORTER": "console"}), &out)
	if err != nil || kind != "console" {
		t.Fatalf("console: %q %v", kind, err)
	}
	_, span := otel.Tracer("t").Start(ctx, "one-span")
	span.End()
	if err := stop(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"Name":"one-span"`) || !strings.Contains(out.String(), `"Value":"enduser-auth"`) {
		t.Fatalf("the console exporter printed no span: %s", out.String())
	}
}

func TestLogLinesCarryTheTraceID(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "req")
	defer span.End()
	var out bytes.Buffer
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(&out, nil))).With("component", "x")
	log.InfoContext(ctx, "traced")
	log.Info("untraced")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"trace_id":"`+span.SpanContext().TraceID().String()+`"`) ||
		strings.Contains(lines[1], "trace_id") {
		t.Fatalf("log lines: %s", out.String())
	}
}
