// Package openapitest checks HTTP answers against the module's OpenAPI
// document (adapters/httpapi/openapi.yaml) with kin-openapi. It is for tests:
// the production binary serves the document as bytes and never imports it.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
)

// Code is one entry of the document's x-business-codes.
type Code struct {
	Code    int    `json:"code"`
	Meaning string `json:"meaning"`
	En      string `json:"en"`
	Zh      string `json:"zh"`
}

// RouteMessage is one entry of the document's x-route-messages: a code a
// route answers with a message of its own.
type RouteMessage struct {
	Path    string `json:"path"`
	Code    int    `json:"code"`
	Meaning string `json:"meaning"`
	En      string `json:"en"`
	Zh      string `json:"zh"`
}

type routeCode struct {
	path string
	code int
}

type spec struct {
	doc        *openapi3.T
	router     routers.Router
	codes      map[int]Code
	routeCodes map[routeCode]RouteMessage
}

var load = sync.OnceValues(func() (*spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPIDocument())
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	codes, err := readCodes(doc)
	if err != nil {
		return nil, err
	}
	routeCodes, err := readRouteMessages(doc, codes)
	if err != nil {
		return nil, err
	}
	// Route on paths alone: the tests' servers listen on ports of their own,
	// not on the document's example server.
	routed := *doc
	routed.Servers = nil
	router, err := gorillamux.NewRouter(&routed)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return &spec{doc: doc, router: router, codes: codes, routeCodes: routeCodes}, nil
})

func readRouteMessages(doc *openapi3.T, codes map[int]Code) (map[routeCode]RouteMessage, error) {
	out := map[routeCode]RouteMessage{}
	raw, ok := doc.Extensions["x-route-messages"]
	if !ok {
		return out, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	var list []RouteMessage
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("openapi.yaml x-route-messages: %w", err)
	}
	for _, m := range list {
		k := routeCode{m.Path, m.Code}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("openapi.yaml x-route-messages lists %s %d twice", m.Path, m.Code)
		}
		if _, listed := codes[m.Code]; !listed {
			return nil, fmt.Errorf("openapi.yaml x-route-messages: %d is not in x-business-codes", m.Code)
		}
		if doc.Paths.Find(m.Path) == nil {
			return nil, fmt.Errorf("openapi.yaml x-route-messages: %s is no path of the document", m.Path)
		}
		out[k] = m
	}
	return out, nil
}

// RouteMessages returns the document's x-route-messages.
func RouteMessages() ([]RouteMessage, error) {
	s, err := load()
	if err != nil {
		return nil, err
	}
	out := make([]RouteMessage, 0, len(s.routeCodes))
	for _, m := range s.routeCodes {
		out = append(out, m)
	}
	return out, nil
}

func readCodes(doc *openapi3.T) (map[int]Code, error) {
	raw, ok := doc.Extensions["x-business-codes"]
	if !ok {
		return nil, fmt.Errorf("openapi.yaml has no x-business-codes")
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	var list []Code
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("openapi.yaml x-business-codes: %w", err)
	}
	codes := make(map[int]Code, len(list))
	for _, c := range list {
		if _, dup := codes[c.Code]; dup {
			return nil, fmt.Errorf("openapi.yaml x-business-codes lists %d twice", c.Code)
		}
		codes[c.Code] = c
	}
	return codes, nil
}

// Doc returns the parsed, validated document.
func Doc() (*openapi3.T, error) {
	s, err := load()
	if err != nil {
		return nil, err
	}
	return s.doc, nil
}

// Codes returns the document's x-business-codes by code.
func Codes() (map[int]Code, error) {
	s, err := load()
	if err != nil {
		return nil, err
	}
	return s.codes, nil
}

// RequiresBearer reports whether the document says req's operation takes the
// access token: its security (or the document's, when the operation names
// none) requires an HTTP bearer scheme. A client generated from the document
// sends the token on these operations only; the component tests' client does
// the same, so a token-taking endpoint the document leaves without security
// fails its test (5106), as it would fail a generated client.
func RequiresBearer(req *http.Request) (bool, error) {
	s, err := load()
	if err != nil {
		return false, err
	}
	route, _, err := s.router.FindRoute(req)
	if err != nil {
		return false, fmt.Errorf("%s %s is not in the API document: %w", req.Method, req.URL.Path, err)
	}
	reqs := s.doc.Security
	if route.Operation.Security != nil {
		reqs = *route.Operation.Security
	}
	for _, r := range reqs {
		for name := range r {
			ref := s.doc.Components.SecuritySchemes[name]
			if ref == nil || ref.Value == nil {
				return false, fmt.Errorf("%s %s: security scheme %q is not in the API document", req.Method, req.URL.Path, name)
			}
			if ref.Value.Type == "http" && strings.EqualFold(ref.Value.Scheme, "bearer") {
				return true, nil
			}
		}
	}
	return false, nil
}

// ValidateResponse checks one answer to req: its operation is in the
// document, its status is documented, its headers and body match the schema,
// and an envelope's msg is its code's en or zh message.
func ValidateResponse(req *http.Request, status int, header http.Header, body []byte) error {
	s, err := load()
	if err != nil {
		return err
	}
	route, pathParams, err := s.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s is not in the API document: %w", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s: HTTP %d %s does not match the API document: %w", req.Method, req.URL.Path, status, body, err)
	}
	if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt != "application/json" {
		return nil
	}
	var env struct {
		Code *int    `json:"code"`
		Msg  *string `json:"msg"`
	}
	if json.Unmarshal(body, &env) != nil || env.Code == nil || env.Msg == nil {
		return nil // not an envelope (JWKS, health)
	}
	c, ok := s.codes[*env.Code]
	if !ok {
		return fmt.Errorf("%s %s: code %d is not in the API document's x-business-codes", req.Method, req.URL.Path, *env.Code)
	}
	if m, ok := s.routeCodes[routeCode{req.URL.Path, *env.Code}]; ok {
		c.En, c.Zh = m.En, m.Zh // this route words the code its own way
	}
	if *env.Msg != c.En && *env.Msg != c.Zh {
		return fmt.Errorf("%s %s: code %d answered msg %q, the document says %q or %q", req.Method, req.URL.Path, c.Code, *env.Msg, c.En, c.Zh)
	}
	return nil
}

// Transport wraps next (nil: http.DefaultTransport) so that every answer is
// validated with ValidateResponse; an answer that does not match is the
// round trip's error. The body stays readable for the caller.
func Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return transport{next: next}
}

type transport struct{ next http.RoundTripper }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close() // the body was read whole; a close error changes nothing
	if err != nil {
		return nil, err
	}
	if err := ValidateResponse(req, resp.StatusCode, resp.Header, body); err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
