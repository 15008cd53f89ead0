package httpapi_test

import (
	"bytes"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/adapters/httpapi/openapitest"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
)

// TestOpenAPIOperationsAreClientReady: every operation of the document is in
// the state client tools need (what Redocly's rules and the generated
// clients check in CI, kept here too so that go test catches an endpoint
// added without it): an operationId, declared tags with descriptions, its
// security stated (bearerAuth or none) with declared schemes only, and no
// 4xx answer (business failures are HTTP 200 with a code: the contract).
func TestOpenAPIOperationsAreClientReady(t *testing.T) {
	d, err := openapitest.Doc()
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]bool{}
	for _, tg := range d.Tags {
		if strings.TrimSpace(tg.Description) == "" {
			t.Errorf("tag %q has no description", tg.Name)
		}
		tags[tg.Name] = true
	}
	if d.Info.License == nil || d.Info.License.Name == "" {
		t.Error("info has no licence")
	}
	ids := map[string]bool{}
	for path, item := range d.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" || ids[op.OperationID] {
				t.Errorf("%s: operationId %q missing or not unique", where, op.OperationID)
			}
			ids[op.OperationID] = true
			if len(op.Tags) == 0 {
				t.Errorf("%s has no tag", where)
			}
			for _, tg := range op.Tags {
				if !tags[tg] {
					t.Errorf("%s: tag %q is not declared", where, tg)
				}
			}
			if op.Security == nil {
				t.Errorf("%s states no security (bearerAuth when it reads the access token, [] otherwise)", where)
				continue
			}
			for _, req := range *op.Security {
				for name := range req {
					if d.Components.SecuritySchemes[name] == nil {
						t.Errorf("%s: security scheme %q is not declared", where, name)
					}
				}
			}
			for status := range op.Responses.Map() {
				if strings.HasPrefix(status, "4") {
					t.Errorf("%s documents HTTP %s: business failures are HTTP 200 with a code", where, status)
				}
			}
			for _, p := range op.Parameters {
				if p.Value != nil && p.Value.In == "header" && strings.EqualFold(p.Value.Name, "Authorization") {
					t.Errorf("%s: the access token is the bearerAuth security scheme, not an Authorization parameter (OpenAPI ignores it)", where)
				}
			}
		}
	}
}

// TestOpenAPISecurityIsWhatTheRoutesRead: each of the module's operations
// takes the access token exactly when the document gives it bearerAuth.
// Without Authorization, a bearerAuth operation answers 5106 and any other
// never does; with a valid token (as answered, "Bearer "-prefixed), a
// bearerAuth operation gets past the token (neither 5106 nor 5032).
func TestOpenAPISecurityIsWhatTheRoutesRead(t *testing.T) {
	d, err := openapitest.Doc()
	if err != nil {
		t.Fatal(err)
	}
	h := newMemHarness(t, memSetup{})
	var checked []string
	for path, item := range d.Paths.Map() {
		for method, op := range item.Operations() {
			if method == http.MethodOptions || slices.Contains(op.Tags, "host") {
				continue // CORS preflights (no handler of their own) and the binary's routes
			}
			req := httptestRequest(t, method, path)
			bearer, err := openapitest.RequiresBearer(req)
			if err != nil {
				t.Fatal(err)
			}
			a := h.do(method, path, nil)
			switch {
			case bearer && a.Code != 5106:
				t.Errorf("%s %s (bearerAuth) without a token: code %d, want 5106", method, path, a.Code)
			case !bearer && a.Code == 5106:
				t.Errorf("%s %s reads the access token (5106 without one), but the document gives it no bearerAuth", method, path)
			}
			if bearer {
				p := h.login(wechatfake.User{OpenID: "o-security-" + op.OperationID})
				if a := h.do(method, path, nil, "Authorization", p.AccessToken.Token); a.Code == 5106 || a.Code == 5032 {
					t.Errorf("%s %s with a valid token: code %d", method, path, a.Code)
				}
			}
			checked = append(checked, op.OperationID)
		}
	}
	sort.Strings(checked)
	if len(checked) < 8 {
		t.Fatalf("only %v checked", checked)
	}
}

// TestServedDocumentIsTheFile: the document the module serves is
// adapters/httpapi/openapi.yaml byte for byte, the file that CI's client
// tools (Redocly, openapi-typescript, oapi-codegen) read.
func TestServedDocumentIsTheFile(t *testing.T) {
	file, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, httpapi.OpenAPIDocument()) {
		t.Fatal("the served document is not openapi.yaml: the client tools in CI would check another document")
	}
}
