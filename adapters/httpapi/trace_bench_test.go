package httpapi

import (
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

// BenchmarkRequestSpanNoExporter is what tracing costs a request when no
// tracer provider is installed (the OpenTelemetry API's no-op): the request
// span's start and end in the guard. Compare with a login's ~1 ms.
func BenchmarkRequestSpanNoExporter(b *testing.B) {
	h := NewHandler(nil, nil, nil, nil, Options{})
	req := httptest.NewRequest("POST", PathWeChatOffiaccountLogin+"?code=x", nil)
	c := echo.New().NewContext(req, httptest.NewRecorder())
	c.SetPath(PathWeChatOffiaccountLogin)
	for b.Loop() {
		c.SetRequest(req)
		endSpan(h.startSpan(c), c, codeSuccess)
	}
}
