// Package apiclient is a Go client of the module's HTTP API, generated with
// oapi-codegen from the API document (adapters/httpapi/openapi.yaml, as served
// at GET /v2/enduser/openapi.yaml). The component tests call the module
// through it (wire/apiclient_test.go), so a document that does not say what
// the server does breaks the build or the tests. Never edit apiclient.gen.go:
// change the document and run go generate.
package apiclient

//go:generate go tool -modfile=../../../tools/go.mod oapi-codegen -config oapi-codegen.yaml -o apiclient.gen.go ../openapi.yaml
