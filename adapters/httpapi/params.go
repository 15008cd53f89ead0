package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxBodyBytes bounds the request bodies the module reads.
const maxBodyBytes = 64 << 10

// params reads named parameters from the query string and, when there is one,
// from an application/x-www-form-urlencoded or application/json body. A
// non-blank query value wins over the body's. An empty body of any content
// type is no body; a body that cannot be read or parsed is ignored, so the
// missing parameters get their own business codes instead of an error.
type params struct {
	query url.Values
	body  map[string]string
}

func readParams(r *http.Request) params {
	p := params{query: r.URL.Query()}
	if r.Body == nil || r.Body == http.NoBody {
		return p
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil || len(raw) > maxBodyBytes || len(bytes.TrimSpace(raw)) == 0 {
		return p
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mediaType == "application/x-www-form-urlencoded":
		if form, err := url.ParseQuery(string(raw)); err == nil {
			p.body = make(map[string]string, len(form))
			for k, v := range form {
				if len(v) > 0 {
					p.body[k] = v[0]
				}
			}
		}
	case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
		p.body = jsonParams(raw)
	}
	return p
}

// jsonParams flattens a JSON object's top-level members to strings: strings as
// they are, numbers and booleans as their literal text, null as absent, and
// objects or arrays as their JSON text (which then fails validation).
func jsonParams(raw []byte) map[string]string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil
	}
	out := make(map[string]string, len(obj))
	for k, v := range obj {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0 || string(v) == "null":
		case v[0] == '"':
			var s string
			if json.Unmarshal(v, &s) == nil {
				out[k] = s
			}
		default:
			out[k] = string(v)
		}
	}
	return out
}

// get returns the named parameter: the query's when it is not blank, else the body's.
func (p params) get(name string) string {
	if v := p.query.Get(name); strings.TrimSpace(v) != "" {
		return v
	}
	return p.body[name]
}

// lookup returns the named parameter and whether it was sent at all: the
// query's when it is not blank, else the body's, else the query's blank one
// (a parameter sent empty, which clears a profile field). A JSON null is not
// sent.
func (p params) lookup(name string) (string, bool) {
	q, inQuery := p.query[name]
	if inQuery && len(q) > 0 && strings.TrimSpace(q[0]) != "" {
		return q[0], true
	}
	if v, ok := p.body[name]; ok {
		return v, true
	}
	if inQuery && len(q) > 0 {
		return q[0], true
	}
	return "", false
}
