package httpapi

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// keysDown is a session store whose refresh master keys cannot be read
// (nothing else of it is called).
type keysDown struct{ application.SessionRepository }

func (keysDown) RefreshMasterKeys(context.Context) ([]domain.RefreshMasterKey, error) {
	return nil, errors.New("database down")
}

// TestInternalFailureLoggedOnce: an internal failure the service logged
// (Refresh logs its outcome) is answered 5000 and logged once, by the
// service, with the request id; the adapter adds no line of its own.
func TestInternalFailureLoggedOnce(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(application.ContextLogHandler(slog.NewJSONHandler(&buf, nil)))
	svc := application.New(application.DefaultConfig(), application.Deps{Sessions: keysDown{}, Log: log})
	metrics, err := NewMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	// The test's requests come from 192.0.2.1: a trusted proxy, whose X-Request-Id is kept.
	NewHandler(svc.EndUsers, svc.Auth, log, metrics, Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}).Register(e.Group(""))
	now := time.Now()
	tok := domain.NewSessionV2("u1", 1, "C.DM.1.1", "wx0123456789abcdef", now, time.Hour, 2*time.Hour,
		domain.NewRefreshMasterKey(1, now)).RefreshToken().Value
	req := httptest.NewRequest(http.MethodPut, PathRefreshToken+"?"+url.Values{"refreshToken": {tok}}.Encode(), nil)
	req.Header.Set("X-Request-Id", "req-logonce-1")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `"code":5000`) {
		t.Fatalf("answer %d %s, want the 5000 envelope", rec.Code, rec.Body.String())
	}
	lines := buf.String()
	if n := strings.Count(lines, `"level":"ERROR"`); n != 1 {
		t.Fatalf("%d ERROR lines, want exactly 1: %s", n, lines)
	}
	if !strings.Contains(lines, "database down") || !strings.Contains(lines, `"requestId":"req-logonce-1"`) {
		t.Fatalf("the one line must carry the cause and the request id: %s", lines)
	}
}
