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
	h := NewHandler(nil, nil, nil, nil, Options{})
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
	h = NewHandler(nil, nil, nil, nil, Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	r.RemoteAddr = "192.0.2.10:54321"
	r.Header.Set("X-Forwarded-For", "203.0.113.5, 198.51.100.7, 192.0.2.11")
	if got := h.clientIPOf(r); got != "198.51.100.7" {
		t.Fatalf("client IP behind a trusted proxy = %q", got)
	}
}

// TestRequestID: a trusted proxy's X-Request-Id is kept when it is 1 to 128
// printable ASCII characters without spaces; anyone else's, or a malformed
// one, is replaced by a generated id.
func TestRequestID(t *testing.T) {
	trusting := NewHandler(nil, nil, nil, nil, Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	for in, keep := range map[string]bool{"abc-123_X.y:z": true, strings.Repeat("a", 128): true, strings.Repeat("a", 129): false,
		"a;b=c,{d}": true, "Root=1-67891233-abcdef012345678912345678": true, "with space": false, "new\nline": false,
		"tab\there": false, "é": false, "": false, "del\x7f": false} {
		r := httptest.NewRequest("GET", "/", nil) // from 192.0.2.1, in the trusted range
		r.Header.Set("X-Request-Id", in)
		got := trusting.requestID(r)
		if (got == in) != keep || !validRequestID(got) {
			t.Errorf("from a trusted proxy: X-Request-Id %q -> %q (keep %v)", in, got, keep)
		}
	}
	for name, h := range map[string]*Handler{
		"no trusted proxies": NewHandler(nil, nil, nil, nil, Options{}),
		"another peer":       NewHandler(nil, nil, nil, nil, Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}),
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Request-Id", "client-chosen-id")
		if got := h.requestID(r); got == "client-chosen-id" || !validRequestID(got) {
			t.Errorf("%s: the client's X-Request-Id must be replaced, got %q", name, got)
		}
	}
}
