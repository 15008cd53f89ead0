package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/adapters/httpapi/openapitest"
)

// TestOpenAPIDocumentListsExactlyTheCodeTable: every business code of the code
// table is in the document's x-business-codes with the same messages, and the
// document lists no code the table lacks.
func TestOpenAPIDocumentListsExactlyTheCodeTable(t *testing.T) {
	doc, err := openapitest.Codes()
	if err != nil {
		t.Fatal(err)
	}
	table := map[int]httpapi.CodeEntry{}
	for _, e := range httpapi.CodeTable() {
		if prev, dup := table[e.Code]; dup && prev != e {
			t.Errorf("the code table answers %d in two ways: %+v and %+v", e.Code, prev, e)
		}
		table[e.Code] = e
	}
	for code, e := range table {
		d, ok := doc[code]
		if !ok {
			t.Errorf("code %d (%q) of the code table is missing from openapi.yaml's x-business-codes", code, e.En)
			continue
		}
		if d.En != e.En || d.Zh != e.Zh {
			t.Errorf("code %d: the document says %q / %q, the code table %q / %q", code, d.En, d.Zh, e.En, e.Zh)
		}
		if strings.TrimSpace(d.Meaning) == "" {
			t.Errorf("code %d has no meaning in the document", code)
		}
	}
	for code := range doc {
		if _, ok := table[code]; !ok {
			t.Errorf("openapi.yaml lists code %d, which the code table lacks", code)
		}
	}
}

// TestOpenAPIDocumentListsExactlyTheRouteMessages: every route's own wording
// of a code is the document's x-route-messages, and the other way round.
func TestOpenAPIDocumentListsExactlyTheRouteMessages(t *testing.T) {
	doc, err := openapitest.RouteMessages()
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		path string
		code int
	}
	inDoc := map[key]openapitest.RouteMessage{}
	for _, m := range doc {
		inDoc[key{m.Path, m.Code}] = m
	}
	table := httpapi.RouteCodeTable()
	if len(table) == 0 {
		t.Fatal("the code table has no route message (the mini program login's 5372 is one)")
	}
	for _, e := range table {
		d, ok := inDoc[key{e.Path, e.Code}]
		if !ok {
			t.Errorf("%s %d (%q) is missing from openapi.yaml's x-route-messages", e.Path, e.Code, e.En)
			continue
		}
		if d.En != e.En || d.Zh != e.Zh || strings.TrimSpace(d.Meaning) == "" {
			t.Errorf("%s %d: the document says %q / %q (%q), the code table %q / %q", e.Path, e.Code, d.En, d.Zh, d.Meaning, e.En, e.Zh)
		}
		delete(inDoc, key{e.Path, e.Code})
	}
	for k := range inDoc {
		t.Errorf("openapi.yaml's x-route-messages lists %s %d, which the code table lacks", k.path, k.code)
	}
}

// TestOpenAPIEndpointsAnswerOnlyListedCodes: the code enums of the document's
// answer schemas use listed codes only, and every listed code is answered by
// at least one endpoint.
func TestOpenAPIEndpointsAnswerOnlyListedCodes(t *testing.T) {
	d, err := openapitest.Doc()
	if err != nil {
		t.Fatal(err)
	}
	listed, err := openapitest.Codes()
	if err != nil {
		t.Fatal(err)
	}
	used := map[int]bool{}
	seen := map[*openapi3.Schema]bool{}
	var walk func(s *openapi3.SchemaRef)
	walk = func(s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil || seen[s.Value] {
			return
		}
		seen[s.Value] = true
		if c := s.Value.Properties["code"]; c != nil && c.Value != nil {
			for _, v := range c.Value.Enum {
				f, ok := v.(float64)
				if !ok {
					t.Errorf("a code enum holds %v (%T), not a number", v, v)
					continue
				}
				used[int(f)] = true
			}
		}
		for _, x := range append(append(s.Value.OneOf, s.Value.AnyOf...), s.Value.AllOf...) {
			walk(x)
		}
		for _, p := range s.Value.Properties {
			walk(p)
		}
	}
	for path, item := range d.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Responses == nil || op.Responses.Len() == 0 {
				t.Errorf("%s %s documents no answer", method, path)
			}
			for _, r := range op.Responses.Map() {
				for _, mt := range r.Value.Content {
					walk(mt.Schema)
				}
			}
		}
	}
	var extra, unused []int
	for c := range used {
		if _, ok := listed[c]; !ok {
			extra = append(extra, c)
		}
	}
	for c := range listed {
		if !used[c] {
			unused = append(unused, c)
		}
	}
	sort.Ints(extra)
	sort.Ints(unused)
	if len(extra) > 0 || len(unused) > 0 {
		t.Fatalf("endpoints answer codes not in x-business-codes: %v; listed codes no endpoint answers: %v", extra, unused)
	}
}

// TestOpenAPIDocumentIsServed: the module's routes include the document, as
// embedded, and that answer matches the document too.
func TestOpenAPIDocumentIsServed(t *testing.T) {
	e := echo.New()
	httpapi.NewHandler(nil, nil, nil, nil, httpapi.Options{}).Register(e.Group(""))
	req := httptest.NewRequest(http.MethodGet, httpapi.PathOpenAPI, nil)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/yaml") {
		t.Fatalf("GET %s: %d %q", httpapi.PathOpenAPI, rec.Code, rec.Header().Get("Content-Type"))
	}
	if !bytes.Equal(rec.Body.Bytes(), httpapi.OpenAPIDocument()) || !bytes.Contains(rec.Body.Bytes(), []byte("openapi: 3.0")) {
		t.Fatalf("GET %s did not serve the embedded document", httpapi.PathOpenAPI)
	}
	if err := openapitest.ValidateResponse(req, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// TestValidateResponseCatchesADeviation: the validator is not a rubber stamp.
func TestValidateResponseCatchesADeviation(t *testing.T) {
	login := httptest.NewRequest(http.MethodPost, httpapi.PathWeChatOffiaccountLogin, nil)
	h := http.Header{"Content-Type": {"application/json"}}
	good := `{"code":5420,"msg":"签名验证失败","data":null,"extMsg":null}`
	if err := openapitest.ValidateResponse(login, 200, h, []byte(good)); err != nil {
		t.Fatalf("a documented answer was refused: %v", err)
	}
	for name, c := range map[string]struct {
		req    *http.Request
		status int
		body   string
	}{
		"code another endpoint answers": {login, 200, `{"code":5115,"msg":"Please enter refresh token","data":null,"extMsg":null}`},
		"code nobody answers":           {login, 200, `{"code":5999,"msg":"x","data":null,"extMsg":null}`},
		"another code's msg":            {login, 200, `{"code":5420,"msg":"Please enter code","data":null,"extMsg":null}`},
		"missing extMsg":                {login, 200, `{"code":5420,"msg":"Signature verification failed","data":null}`},
		"success without tokens":        {login, 200, `{"code":200,"msg":"","data":null,"extMsg":null}`},
		"token without Bearer":          {login, 200, `{"code":200,"msg":"","data":{"accessToken":{"token":"a.b.c","expirationTime":1},"refreshToken":{"token":"Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","expirationTime":1}},"extMsg":null}`},
		"undocumented status":           {login, 404, `{"code":5420,"msg":"Signature verification failed","data":null,"extMsg":null}`},
		"undocumented path":             {httptest.NewRequest(http.MethodGet, "/v2/enduser/nope", nil), 200, `{}`},
	} {
		if err := openapitest.ValidateResponse(c.req, c.status, h, []byte(c.body)); err == nil {
			t.Errorf("%s: accepted %s", name, c.body)
		}
	}
	ok := `{"code":200,"msg":"","data":{"accessToken":{"token":"Bearer a.b.c","expirationTime":1},"refreshToken":{"token":"Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","expirationTime":1}},"extMsg":null}`
	if err := openapitest.ValidateResponse(login, 200, h, []byte(ok)); err != nil {
		t.Fatalf("a token pair was refused: %v", err)
	}
}
