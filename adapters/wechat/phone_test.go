package wechat

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/iotplatform/enduser-auth/adapters/tracing"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/domain"
)

const testMini = "wxmini0123456789"

// newPhoneClient is a client on the fake with a mini program, recording its
// spans.
func newPhoneClient(t *testing.T) (*Client, *wechatfake.Server, *tracetest.SpanRecorder) {
	t.Helper()
	fake := wechatfake.New()
	fake.AddMiniProgram(testMini, testSecret)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return NewClient(Config{BaseURL: srv.URL, Timeout: 2 * time.Second}, nil, tracing.Options{Provider: tp}), fake, rec
}

// TestPhoneNumberAgainstTheFake: stable_token, then every answer of
// getuserphonenumber mapped to its kind; neither the access token nor the
// number appear in an error's text or a span's attributes.
func TestPhoneNumberAgainstTheFake(t *testing.T) {
	c, fake, rec := newPhoneClient(t)
	ctx := context.Background()
	tok, err := c.StableToken(ctx, testMini, testSecret, false)
	if err != nil || tok.Value == "" || tok.ExpiresIn <= time.Hour {
		t.Fatalf("StableToken = %+v, %v", tok, err)
	}
	again, err := c.StableToken(ctx, testMini, testSecret, false)
	if err != nil || again.Value != tok.Value {
		t.Fatalf("StableToken without force handed out another token: %v", err)
	}
	got, err := c.PhoneNumber(ctx, tok.Value, "13800138000.a")
	if err != nil || got.Phone != (domain.PhoneNumber{CountryCode: "86", Number: "13800138000"}) || got.WatermarkAppID != testMini {
		t.Fatalf("PhoneNumber = %+v, %v", got, err)
	}
	got, err = c.PhoneNumber(ctx, tok.Value, "852-61234567.a") // countryCode as a JSON number
	if err != nil || got.Phone != (domain.PhoneNumber{CountryCode: "852", Number: "61234567"}) {
		t.Fatalf("PhoneNumber with a numeric countryCode = %+v, %v", got, err)
	}
	for _, tc := range []struct {
		code    string
		kind    domain.Kind
		errcode int64
	}{
		{"err.40029.a", domain.KindPhoneRejected, 40029},
		{"err.40163.a", domain.KindPhoneRejected, 40163},
		{"13800138000.a", domain.KindPhoneRejected, 40163}, // the fake spent it above
		{"err.-1.a", domain.KindPhoneLookupFailed, -1},
		{"err.45011.a", domain.KindPhoneLookupFailed, 45011},
		{"nophone.a", domain.KindPhoneRejected, 0},
	} {
		_, err := c.PhoneNumber(ctx, tok.Value, tc.code)
		e := wantKind(t, err, tc.kind, tok.Value)
		if e.WeChatErrcode != tc.errcode {
			t.Errorf("%s: errcode %d, want %d", tc.code, e.WeChatErrcode, tc.errcode)
		}
	}
	if got, err := c.PhoneNumber(ctx, tok.Value, "otherapp.13800138000.a"); err != nil || got.WatermarkAppID == testMini {
		t.Fatalf("otherapp: %+v, %v", got, err)
	}
	// A forced refresh invalidates the token: 40001.
	forced, err := c.StableToken(ctx, testMini, testSecret, true)
	if err != nil || forced.Value == tok.Value {
		t.Fatalf("forced StableToken: %v", err)
	}
	_, err = c.PhoneNumber(ctx, tok.Value, "13800138000.b")
	if e := wantKind(t, err, domain.KindPhoneRejected, tok.Value); e.WeChatErrcode != 40001 {
		t.Fatalf("the old token after a forced refresh: errcode %d, want 40001", e.WeChatErrcode)
	}
	_, err = c.PhoneNumber(ctx, "not-a-token", "13800138000.c")
	if e := wantKind(t, err, domain.KindPhoneRejected, ""); e.WeChatErrcode != 40001 {
		t.Fatalf("an unknown token: errcode %d, want 40001", e.WeChatErrcode)
	}
	// The wrong secret: 40125, KindAppTokenFailed.
	_, err = c.StableToken(ctx, testMini, "wrong", false)
	if e := wantKind(t, err, domain.KindAppTokenFailed, ""); e.WeChatErrcode != 40125 {
		t.Fatalf("wrong secret: errcode %d", e.WeChatErrcode)
	}
	fake.FailStableToken(testMini, wechatfake.Failure{Body: []byte("<html>")})
	_, err = c.StableToken(ctx, testMini, testSecret, false)
	wantKind(t, err, domain.KindAppTokenMalformed, "")

	spans := rec.Ended()
	if len(spans) == 0 {
		t.Fatal("no span recorded: the check below would prove nothing")
	}
	for _, s := range spans {
		dump := s.Name() + fmt.Sprint(s.Attributes()) + fmt.Sprint(s.Events()) + s.Status().Description
		for _, secret := range []string{tok.Value, forced.Value, testSecret, "13800138000", "61234567"} {
			if strings.Contains(dump, secret) {
				t.Fatalf("span %s carries %q: %s", s.Name(), secret, dump)
			}
		}
	}
}

// TestPhoneNumberTransportFailures: non-2xx, garbage and timeouts, without
// the access token in the error's text.
func TestPhoneNumberTransportFailures(t *testing.T) {
	const token = "ACCESS-TOKEN-never-shown"
	c, _ := stubServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	_, err := c.PhoneNumber(context.Background(), token, "x")
	wantKind(t, err, domain.KindPhoneLookupFailed, token)
	_, err = c.StableToken(context.Background(), testMini, testSecret, false)
	wantKind(t, err, domain.KindAppTokenFailed, "")

	c, _ = stubServer(t, body("not json"))
	_, err = c.PhoneNumber(context.Background(), token, "x")
	wantKind(t, err, domain.KindPhoneLookupFailed, token)

	c, _ = stubServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	c.timeout = 100 * time.Millisecond
	_, err = c.PhoneNumber(context.Background(), token, "x")
	wantKind(t, err, domain.KindPhoneLookupFailed, token)

	c, _ = stubServer(t, body(`{"errcode":0,"errmsg":"ok","phone_info":{"purePhoneNumber":"12a","countryCode":"86","watermark":{"appid":"wx"}}}`))
	_, err = c.PhoneNumber(context.Background(), token, "x")
	wantKind(t, err, domain.KindPhoneRejected, token)
}
