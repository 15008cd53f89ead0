package application

import (
	"context"
	"log/slog"

	"github.com/iotplatform/enduser-auth/domain"
)

type principalKey struct{}

// WithPrincipal returns a context carrying the authenticated principal.
func WithPrincipal(ctx context.Context, p domain.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the principal that authentication middleware
// put in ctx.
func PrincipalFromContext(ctx context.Context) (domain.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(domain.Principal)
	return p, ok
}

// RequestMeta is what the audit trail and the logs know of the request that
// started a use case. The HTTP adapter puts it in the request's context.
type RequestMeta struct {
	ClientIP  string
	UserAgent string
	RequestID string
}

type requestMetaKey struct{}

// WithRequestMeta returns a context carrying m.
func WithRequestMeta(ctx context.Context, m RequestMeta) context.Context {
	return context.WithValue(ctx, requestMetaKey{}, m)
}

// RequestMetaFromContext returns the request metadata in ctx, if any.
func RequestMetaFromContext(ctx context.Context) (RequestMeta, bool) {
	m, ok := ctx.Value(requestMetaKey{}).(RequestMeta)
	return m, ok
}

// ContextLogHandler wraps h so that every record logged with a context that
// carries RequestMeta gets its requestId and clientIp attributes.
func ContextLogHandler(h slog.Handler) slog.Handler { return contextLogHandler{h} }

type contextLogHandler struct{ slog.Handler }

func (h contextLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if m, ok := RequestMetaFromContext(ctx); ok {
		r = r.Clone()
		r.AddAttrs(slog.String("requestId", m.RequestID), slog.String("clientIp", m.ClientIP))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return contextLogHandler{h.Handler.WithAttrs(as)}
}

func (h contextLogHandler) WithGroup(name string) slog.Handler {
	return contextLogHandler{h.Handler.WithGroup(name)}
}
