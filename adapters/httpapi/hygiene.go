package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/iotplatform/enduser-auth/application"
)

// newCORS is Echo's CORS middleware for the H5 pages' origins; nil for none.
func newCORS(origins []string) echo.MiddlewareFunc {
	if len(origins) == 0 {
		return nil
	}
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins:  origins,
		AllowMethods:  []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete},
		AllowHeaders:  []string{echo.HeaderAuthorization, echo.HeaderContentType, "Accept-Language", echo.HeaderXRequestID},
		ExposeHeaders: []string{echo.HeaderXRequestID, echo.HeaderRetryAfter},
		MaxAge:        600,
	})
}

// maxRequestIDLen bounds an accepted X-Request-Id.
const maxRequestIDLen = 128

// requestID returns the X-Request-Id a trusted proxy sent
// (Options.TrustedProxies, as for the trace context) when it is a sane token,
// 1 to 128 printable ASCII characters without spaces; otherwise (any other
// peer, or a malformed id) a fresh random one. A client must not choose the
// id its requests are logged and audited under.
func (h *Handler) requestID(r *http.Request) string {
	if id := r.Header.Get(echo.HeaderXRequestID); validRequestID(id) && h.opts.trusted(r) {
		return id
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID reports whether s is 1 to maxRequestIDLen printable ASCII
// characters without spaces.
func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// maxUserAgentLen bounds the user agent kept for the audit trail.
const maxUserAgentLen = 256

// prepare sets the headers every answer of the module carries and puts the
// request's metadata in its context. noStore marks answers that carry a
// token or personal data.
func (h *Handler) prepare(c echo.Context, noStore bool) {
	req := c.Request()
	hdr := c.Response().Header()
	id := h.requestID(req)
	hdr.Set(echo.HeaderXRequestID, id)
	hdr.Set(echo.HeaderXContentTypeOptions, "nosniff")
	if noStore {
		hdr.Set(echo.HeaderCacheControl, "no-store")
		hdr.Set("Pragma", "no-cache")
	}
	c.SetRequest(req.WithContext(application.WithRequestMeta(req.Context(), h.requestMeta(req, id))))
}

// requestMeta is what the audit trail and the logs know of req: the client
// IP (behind trusted proxies: the first untrusted hop), the user agent
// (truncated) and the request id (a fresh one when id is "").
func (h *Handler) requestMeta(req *http.Request, id string) application.RequestMeta {
	if id == "" {
		id = h.requestID(req)
	}
	ua := req.UserAgent()
	if len(ua) > maxUserAgentLen {
		ua = ua[:maxUserAgentLen]
	}
	return application.RequestMeta{ClientIP: h.clientIPOf(req), UserAgent: strings.ToValidUTF8(ua, ""), RequestID: id}
}

// logTokenRefused logs a failed token check at DEBUG with its reason (never
// the token).
func (h *Handler) logTokenRefused(c echo.Context, err error) {
	h.log.DebugContext(c.Request().Context(), "access token refused", slog.String("path", c.Path()), slog.String("reason", clipReason(err.Error())))
}

func clipReason(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.ToValidUTF8(s, "?")
}
