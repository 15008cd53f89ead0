package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// Refusal is how RequireAccessToken refuses a request.
type Refusal int

const (
	// RefuseWithEnvelope answers the refusal itself in the platform's
	// dialect: HTTP 200 and the envelope with 5106 (no token) or 5032
	// (invalid token), as the module's own endpoints answer. The default.
	RefuseWithEnvelope Refusal = iota
	// RefuseToHost hands the refusal to the host's error handler: an
	// *echo.HTTPError with status 401 whose Message is a *TokenRefusal (the
	// business code and its message) and whose Internal is the cause; the
	// answer carries WWW-Authenticate: Bearer (RFC 6750).
	RefuseToHost
)

// TokenRefusal is the Message of the *echo.HTTPError that RequireAccessToken
// (RefuseToHost) returns: the platform's business code (5106 no token, 5032
// invalid token, 5041 disabled user) and its English message.
type TokenRefusal struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// RequireAccessToken returns middleware that lets a request through only with
// a valid access token in its Authorization header ("Bearer " optional). The
// principal is put in the request's context (application.PrincipalFromContext).
// A refused request is answered as refusal says (none given:
// RefuseWithEnvelope).
func (h *Handler) RequireAccessToken(refusal ...Refusal) echo.MiddlewareFunc {
	toHost := len(refusal) > 0 && refusal[len(refusal)-1] == RefuseToHost
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if _, ok := application.RequestMetaFromContext(c.Request().Context()); !ok {
				c.SetRequest(c.Request().WithContext(application.WithRequestMeta(c.Request().Context(), h.requestMeta(c.Request(), ""))))
			}
			req := c.Request()
			p, err := h.auth.VerifyAccessToken(req.Context(), req.Header.Get(echo.HeaderAuthorization))
			if err != nil {
				h.logTokenRefused(c, err)
				if toHost {
					return h.refuseToHost(c, err)
				}
				return h.fail(c, err)
			}
			c.SetRequest(req.WithContext(application.WithPrincipal(req.Context(), p)))
			return next(c)
		}
	}
}

// refuseToHost is the 401 the host's error handler answers.
func (h *Handler) refuseToHost(c echo.Context, err error) error {
	c.Response().Header().Set(echo.HeaderXContentTypeOptions, "nosniff") // the host writes the answer: the header is set here
	r := responseForRoute(c.Path(), err)
	if r == internalResponse {
		// Not a refusal of the token: the module could not check it.
		return &echo.HTTPError{Code: http.StatusServiceUnavailable, Message: &TokenRefusal{Code: r.code, Msg: r.en}, Internal: err}
	}
	challenge := `Bearer error="invalid_token"`
	if domain.KindOf(err) == domain.KindAccessTokenRequired {
		challenge = "Bearer" // no token at all (RFC 6750 §3.1: no error code)
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
	return &echo.HTTPError{Code: http.StatusUnauthorized, Message: &TokenRefusal{Code: r.code, Msg: r.en}, Internal: err}
}
