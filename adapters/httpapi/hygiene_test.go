package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// TestClientIPIsThePeer: without trusted proxies, X-Forwarded-For and
// X-Real-IP, which anyone can send, never decide the client IP.
func TestClientIPIsThePeer(t *testing.T) {
	h := NewHandler(nil, nil, nil, Options{})
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.10:54321"
	r.Header.Set("X-Forwarded-For", "10.0.0.1")
	r.Header.Set("X-Real-IP", "10.0.0.2")
	if got := h.clientIPOf(r); got != "192.0.2.10" {
		t.Fatalf("client IP = %q", got)
	}
	r.RemoteAddr = "[2001:db8::1]:443"
	if got := h.clientIPOf(r); got != "2001:db8::1" {
		t.Fatalf("client IP (IPv6) = %q", got)
	}
	// Behind a listed proxy: the right-most hop that is not a trusted proxy.
	h = NewHandler(nil, nil, nil, Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	r.RemoteAddr = "192.0.2.10:54321"
	r.Header.Set("X-Forwarded-For", "203.0.113.5, 198.51.100.7, 192.0.2.11")
	if got := h.clientIPOf(r); got != "198.51.100.7" {
		t.Fatalf("client IP behind a trusted proxy = %q", got)
	}
}

func TestRequestID(t *testing.T) {
	for in, keep := range map[string]bool{"abc-123_X.y:z": true, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false,
		"with space": false, "new\nline": false, "é": false, "": false, "a;b": false} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Request-Id", in)
		got := requestID(r)
		if (got == in) != keep || len(got) == 0 || len(got) > maxRequestIDLen || !validRequestID(got) {
			t.Errorf("X-Request-Id %q -> %q (keep %v)", in, got, keep)
		}
	}
}
