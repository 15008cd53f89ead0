// Package tracing holds the host's OpenTelemetry tracer provider and propagator
// as the adapters use them.
package tracing

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Options are the host's OpenTelemetry tracer provider and propagator, as the
// adapters use them (otelhttp's pattern): a nil field falls back to otel's
// global, looked up when used, so a host that sets its globals after building
// the module still gets the module's spans.
type Options struct {
	// Provider makes the adapters' tracers (nil: otel.GetTracerProvider()).
	Provider trace.TracerProvider
	// Propagator reads a trusted proxy's trace context and writes the one
	// sent to WeChat (nil: otel.GetTextMapPropagator()).
	Propagator propagation.TextMapPropagator
}

// Tracer returns the named tracer of the provider.
func (t Options) Tracer(name string) trace.Tracer {
	if t.Provider != nil {
		return t.Provider.Tracer(name)
	}
	return otel.GetTracerProvider().Tracer(name)
}

// Propagation returns the propagator.
func (t Options) Propagation() propagation.TextMapPropagator {
	if t.Propagator != nil {
		return t.Propagator
	}
	return otel.GetTextMapPropagator()
}
