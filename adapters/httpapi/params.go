package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
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
	// notUTF8 names the JSON body's string members that were not valid
	// UTF-8 (encoding/json replaced the bad bytes with U+FFFD in body);
	// lookup answers them as invalid text.
	notUTF8 map[string]bool
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
		p.body, p.notUTF8 = jsonParams(raw)
	}
	return p
}

// jsonParams flattens a JSON object's top-level members to strings: strings as
// they are, numbers and booleans as their literal text, null as absent, and
// objects or arrays as their JSON text (which then fails validation).
func jsonParams(raw []byte) (map[string]string, map[string]bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, nil
	}
	out := make(map[string]string, len(obj))
	var notUTF8 map[string]bool
	for k, v := range obj {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0 || string(v) == "null":
		case v[0] == '"':
			var s string
			if json.Unmarshal(v, &s) == nil {
				out[k] = s
				if !utf8.Valid(v) {
					if notUTF8 == nil {
						notUTF8 = map[string]bool{}
					}
					notUTF8[k] = true
				}
			}
		default:
			out[k] = string(v)
		}
	}
	return out, notUTF8
}

// get returns the named parameter: the query's when it is not blank, else the body's.
func (p params) get(name string) string {
	if v := p.query.Get(name); strings.TrimSpace(v) != "" {
		return v
	}
	return p.body[name]
}

// invalidUTF8 stands for a JSON string that was not valid UTF-8.
const invalidUTF8 = "\xff"

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
		if p.notUTF8[name] {
			return invalidUTF8, true
		}
		return v, true
	}
	if inQuery && len(q) > 0 {
		return q[0], true
	}
	return "", false
}
