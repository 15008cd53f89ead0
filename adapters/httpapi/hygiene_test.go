package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestClientIPIsThePeer: X-Forwarded-For and X-Real-IP, which anyone can
// send, never decide the client IP.
func TestClientIPIsThePeer(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.10:54321"
	r.Header.Set("X-Forwarded-For", "10.0.0.1")
	r.Header.Set("X-Real-IP", "10.0.0.2")
	if got := ClientIP(r); got != "192.0.2.10" {
		t.Fatalf("ClientIP = %q", got)
	}
	r.RemoteAddr = "[2001:db8::1]:443"
	if got := ClientIP(r); got != "2001:db8::1" {
		t.Fatalf("ClientIP (IPv6) = %q", got)
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
