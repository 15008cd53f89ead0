package application_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// keysDown is a session store whose refresh master keys cannot be read.
type keysDown struct{ application.SessionRepository }

func (keysDown) RefreshMasterKeys(context.Context) ([]domain.RefreshMasterKey, error) {
	return nil, errors.New("database down")
}

// TestInternalFailureLoggedOnceAndMarked: an internal failure of a use case
// that logs its outcome is logged once, at ERROR with its cause, and the
// error says so (application.Logged), so the HTTP adapter does not log it
// again; a refusal is not marked (the adapter logs none either).
func TestInternalFailureLoggedOnceAndMarked(t *testing.T) {
	h := newHarness(t)
	var buf bytes.Buffer
	s := h.store
	svc := application.New(h.cfg, application.Deps{Clock: h.clock, WeChat: h.wechat, Domains: s, Apps: s, DataCenters: s,
		Users: s, Sessions: keysDown{s}, Tokens: h.tokens, Log: slog.New(slog.NewJSONHandler(&buf, nil))})
	tok := domain.NewSessionV2("u1", 1, "C.DM.1.1", appID, h.clock.Now(), h.cfg.RefreshTokenTTL, h.cfg.SessionMaxLifetime,
		domain.NewRefreshMasterKey(1, h.clock.Now())).RefreshToken().Value
	_, err := svc.EndUsers.Refresh(h.ctx, tok)
	if !domain.IsKind(err, domain.KindInternal) || !application.Logged(err) {
		t.Fatalf("Refresh with the store down = %v (logged %v), want an internal error marked as logged", err, application.Logged(err))
	}
	if n := strings.Count(buf.String(), `"level":"ERROR"`); n != 1 || !strings.Contains(buf.String(), "database down") {
		t.Fatalf("%d ERROR lines, want 1 with the cause: %s", n, buf.String())
	}
	_, err = svc.EndUsers.Refresh(h.ctx, "garbage")
	if err == nil || application.Logged(err) {
		t.Fatalf("a refusal (%v) must not be marked as logged", err)
	}
}
