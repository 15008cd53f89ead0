package httpapi

// The platform's answer envelope, the writing of successes and failures, and
// the guard every endpoint runs behind (panics, metrics).

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

type envelope struct {
	Code   int     `json:"code"`
	Msg    string  `json:"msg"`
	Data   any     `json:"data"`
	ExtMsg *string `json:"extMsg"`
}

type tokenDTO struct {
	Token          string `json:"token"`
	ExpirationTime int64  `json:"expirationTime"`
}

type tokenPairDTO struct {
	AccessToken  tokenDTO `json:"accessToken"`
	RefreshToken tokenDTO `json:"refreshToken"`
}

// bearerPrefix is part of the platform's token strings; clients send them back verbatim.
const bearerPrefix = "Bearer "

func pairDTO(p domain.TokenPair) tokenPairDTO {
	return tokenPairDTO{
		AccessToken:  tokenDTO{Token: bearerPrefix + p.Access.Value, ExpirationTime: p.Access.ExpiresAt.Unix()},
		RefreshToken: tokenDTO{Token: bearerPrefix + p.Refresh.Value, ExpirationTime: p.Refresh.ExpiresAt.Unix()},
	}
}

// codeKey is the echo.Context key of the business code an answer carried.
const codeKey = "enduser.code"

func ok(c echo.Context, data any) error {
	c.Set(codeKey, codeSuccess)
	return c.JSON(http.StatusOK, envelope{Code: codeSuccess, Msg: "", Data: data})
}

// okExt is a success whose extMsg says more (a JSON text, as the platform
// puts it there).
func okExt(c echo.Context, data any, ext string) error {
	c.Set(codeKey, codeSuccess)
	return c.JSON(http.StatusOK, envelope{Code: codeSuccess, Msg: "", Data: data, ExtMsg: &ext})
}

// fail answers err with its business code. Unexpected errors are logged with
// their cause (unless the service logged them already: each failure is
// logged once) and answered with a generic 5000: a cause never reaches a
// client.
func (h *Handler) fail(c echo.Context, err error) error {
	return h.answerFailure(c, err, application.Logged(err))
}

// answerFailure is fail; logged says that err has been logged already.
func (h *Handler) answerFailure(c echo.Context, err error, logged bool) error {
	r := responseForRoute(c.Path(), err)
	c.Set(codeKey, r.code)
	c.Response().Header().Set(echo.HeaderXContentTypeOptions, "nosniff") // also on RequireAccessToken's refusals
	env := envelope{Code: r.code, Msg: r.en}
	if prefersChinese(c.Request().Header.Get("Accept-Language")) {
		env.Msg = r.zh
	}
	if r == internalResponse {
		if !logged {
			h.log.ErrorContext(c.Request().Context(), "request failed", slog.String("method", c.Request().Method),
				slog.String("path", c.Path()), slog.String("error", err.Error()))
		}
	} else if d := domain.DetailOf(err); d != "" {
		env.ExtMsg = &d
	}
	if ra := domain.RetryAfterOf(err); ra > 0 {
		// Whole seconds, rounded up: a client that waits that long passes.
		c.Response().Header().Set("Retry-After", strconv.FormatInt(int64((ra+time.Second-1)/time.Second), 10))
	}
	return c.JSON(r.status, env)
}

// guard answers a panic in a handler with the 5000 envelope instead of letting
// it reach the host's error handler, and records the answer in the metrics
// and the request's trace span.
func (h *Handler) guard(endpoint string, next echo.HandlerFunc) echo.HandlerFunc {
	noStore := endpoint != "jwks" && endpoint != "preflight" // every other answer carries a token or personal data, or may
	return func(c echo.Context) (err error) {
		start := time.Now()
		span := h.startSpan(c)
		h.prepare(c, noStore)
		defer func() {
			code, _ := c.Get(codeKey).(int)
			h.metrics.observe(endpoint, code, time.Since(start))
			endSpan(span, c, code)
		}()
		defer func() {
			if v := recover(); v != nil {
				if e, ok := v.(error); ok && errors.Is(e, http.ErrAbortHandler) {
					panic(v)
				}
				h.log.ErrorContext(c.Request().Context(), "panic in handler", slog.String("path", c.Path()),
					slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
				err = h.answerFailure(c, fmt.Errorf("panic: %v", v), true) // logged just above
			}
		}()
		return next(c)
	}
}
