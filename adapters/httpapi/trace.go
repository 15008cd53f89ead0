package httpapi

import (
	"github.com/iotplatform/enduser-auth/adapters/tracing"
	"net"
	"net/http"
	"net/netip"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the HTTP adapter's tracer.
const tracerName = "github.com/iotplatform/enduser-auth/adapters/httpapi"

// Options are the HTTP adapter's settings.
type Options struct {
	// TrustedProxies are the peers (load balancers, gateways) whose
	// forwarded headers the module believes. Only their W3C trace context
	// is continued and only their X-Request-Id kept: anyone else's would let
	// a client choose the trace id and force sampling, or the id its
	// requests are logged and audited under. Empty: nobody's.
	TrustedProxies []netip.Prefix
	// CORSOrigins are the origins (H5 pages) allowed to call the module's
	// endpoints from a browser; none by default.
	CORSOrigins []string
	// Tracing is the host's tracer provider and propagator (zero: otel's
	// globals).
	Tracing tracing.Options
	// InsecureLoopbackCookie lets the website login's nonce cookie go
	// without Secure over plain HTTP between loopback addresses (enduser
	// dev only; everywhere else it is Secure).
	InsecureLoopbackCookie bool
}

// trusted reports whether the request's peer is a trusted proxy.
func (o Options) trusted(r *http.Request) bool {
	if len(o.TrustedProxies) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range o.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// startSpan starts the server span of one request to the module's route and
// puts it in the request's context, so that the WeChat and database spans
// and the log lines of the request belong to it. The route (never the URL:
// its query holds the code and the signature) names it.
//
// Its parent is a span the host started in this process (its own server
// middleware), else a trusted proxy's trace context; a remote trace context
// that the host's middleware took up from anyone else (a client choosing the
// trace id and forcing sampling) is not continued.
func (h *Handler) startSpan(c echo.Context) trace.Span {
	req := c.Request()
	ctx := req.Context()
	switch sc := trace.SpanContextFromContext(ctx); {
	case sc.IsValid() && !sc.IsRemote():
		// The host's own span: the module's is its child.
	case h.opts.trusted(req):
		ctx = h.opts.Tracing.Propagation().Extract(ctx, propagation.HeaderCarrier(req.Header))
	case sc.IsValid():
		ctx = trace.ContextWithSpanContext(ctx, trace.SpanContext{})
	}
	ctx, span := h.opts.Tracing.Tracer(tracerName).Start(ctx, req.Method+" "+c.Path(), trace.WithSpanKind(trace.SpanKindServer))
	if !span.SpanContext().IsValid() {
		return span // no tracer provider: nothing to pass on, nothing to record
	}
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("http.request.method", req.Method),
			attribute.String("http.route", c.Path()),
		)
	}
	c.SetRequest(req.WithContext(ctx))
	return span
}

// endSpan records the answer's business code and HTTP status on the span.
func endSpan(span trace.Span, c echo.Context, code int) {
	if span.IsRecording() {
		span.SetAttributes(
			attribute.Int("enduser.code", code),
			attribute.Int("http.response.status_code", c.Response().Status),
		)
		if code == internalResponse.code {
			span.SetStatus(codes.Error, "internal")
		}
	}
	span.End()
}
