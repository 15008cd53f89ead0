package httpapi

import (
	"bytes"
	_ "embed" // the API document
	"net/http"

	"github.com/labstack/echo/v4"
)

// PathOpenAPI serves the module's API document.
const PathOpenAPI = "/v2/enduser/openapi.yaml"

// openAPIDocument is the hand-written OpenAPI 3.0 document of the module's
// endpoints, envelope and business codes. The tests validate every answer of
// the component tests against it and check its codes against the code table.
//
//go:embed openapi.yaml
var openAPIDocument []byte

// OpenAPIDocument returns the module's OpenAPI document (YAML), as served at
// PathOpenAPI.
func OpenAPIDocument() []byte { return bytes.Clone(openAPIDocument) }

func serveOpenAPI(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderXContentTypeOptions, "nosniff")
	return c.Blob(http.StatusOK, "application/yaml", openAPIDocument)
}
