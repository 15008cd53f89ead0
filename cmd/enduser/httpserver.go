package main

import (
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"

	modwire "github.com/iotplatform/enduser-auth/wire"
)

// maxHeaderBytes bounds a request's header (Go's default is 1 MiB: 200
// concurrent requests with a megabyte of headers each would take 200 MB).
// The platform's requests carry a token and a few short headers.
const maxHeaderBytes = 64 << 10

// newHTTPServer is the server of one listener, with every input bounded: the
// header's size and the time to read it, the time to read a request and to
// write its answer, and how long an idle keep-alive connection is held.
func newHTTPServer(h http.Handler, b modwire.BinaryConfig) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       orDuration(b.HTTPReadTimeout, modwire.DefaultHTTPReadTimeout),
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       orDuration(b.HTTPIdleTimeout, modwire.DefaultHTTPIdleTimeout),
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// limitConnections caps the connections ln hands out at once (0: the
// default): past it, new connections wait in the kernel's accept queue
// until one closes, instead of each taking a goroutine and its buffers.
func limitConnections(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		n = modwire.DefaultHTTPMaxConns
	}
	return netutil.LimitListener(ln, n)
}

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
