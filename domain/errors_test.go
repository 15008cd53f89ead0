package domain_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/iotplatform/enduser-auth/domain"
)

func TestKindOf(t *testing.T) {
	cause := errors.New("connection refused")
	for _, tt := range []struct {
		name string
		err  error
		want domain.Kind
	}{
		{"nil", nil, ""},
		{"plain error", cause, domain.KindInternal},
		{"kind", domain.E(domain.KindTokenInvalid), domain.KindTokenInvalid},
		{"wrapped kind", fmt.Errorf("refresh: %w", domain.E(domain.KindTokenInvalid)), domain.KindTokenInvalid},
		{"twice wrapped kind", fmt.Errorf("a: %w", fmt.Errorf("b: %w", domain.Errorf(domain.KindMCCForeign, "x"))), domain.KindMCCForeign},
		{"wrap of a cause", domain.Wrap(domain.KindLogoutFailed, cause), domain.KindLogoutFailed},
		{"joined", errors.Join(cause, domain.E(domain.KindUserNotFound)), domain.KindUserNotFound},
	} {
		if got := domain.KindOf(tt.err); got != tt.want {
			t.Errorf("%s: KindOf = %q, want %q", tt.name, got, tt.want)
		}
	}
	if domain.IsKind(nil, "") || domain.IsKind(nil, domain.KindInternal) {
		t.Error("IsKind(nil, ...) must be false")
	}
	if !domain.IsKind(cause, domain.KindInternal) {
		t.Error("IsKind(plain error, internal) must be true")
	}
}

func TestErrorsIsMatchesOnKind(t *testing.T) {
	cause := errors.New("connection refused")
	err := fmt.Errorf("login: %w", domain.Wrap(domain.KindInternal, cause))
	if !errors.Is(err, domain.E(domain.KindInternal)) {
		t.Error("errors.Is(wrapped internal, E(internal)) = false")
	}
	if !errors.Is(err, domain.Errorf(domain.KindInternal, "any detail")) {
		t.Error("errors.Is must ignore the target's detail")
	}
	if errors.Is(err, domain.E(domain.KindTokenInvalid)) {
		t.Error("errors.Is(internal, E(token_invalid)) = true")
	}
	if !errors.Is(err, cause) {
		t.Error("errors.Is does not reach the wrapped cause")
	}
	if errors.Is(cause, domain.E(domain.KindInternal)) {
		t.Error("a plain error must not match a kind")
	}
	var e *domain.Error
	if !errors.As(err, &e) || e.Kind != domain.KindInternal || e.Err != cause { //nolint:errorlint // the field must hold the cause itself, not a wrapper of it
		t.Errorf("errors.As = %+v", e)
	}
}

func TestErrorText(t *testing.T) {
	cause := errors.New("boom")
	for _, tt := range []struct {
		err  *domain.Error
		want string
	}{
		{domain.E(domain.KindTokenInvalid), "token_invalid"},
		{domain.Errorf(domain.KindWeChatRejected, "errcode %d", 40029), "wechat_rejected: errcode 40029"},
		{domain.Wrap(domain.KindInternal, cause), "internal: boom"},
		{&domain.Error{Kind: domain.KindMCCUnresolved, Detail: "d", Err: cause}, "mcc_unresolved: d: boom"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if d := domain.DetailOf(fmt.Errorf("x: %w", domain.Errorf(domain.KindInvalid, "bad %s", "url"))); d != "bad url" {
		t.Errorf("DetailOf = %q, want %q", d, "bad url")
	}
	if d := domain.DetailOf(domain.Wrap(domain.KindInternal, cause)); d != "" || strings.Contains(d, "boom") {
		t.Errorf("DetailOf(wrapped cause) = %q: a cause must never become a detail", d)
	}
	if d := domain.DetailOf(cause); d != "" {
		t.Errorf("DetailOf(plain error) = %q", d)
	}
}
