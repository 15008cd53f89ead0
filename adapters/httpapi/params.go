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
// type is no body; a body that cannot be parsed is ignored, so the missing
// parameters get their own business codes instead of an error. A body over
// maxBodyBytes (or one that cannot be read) makes the request carry no
// parameters at all, the query's included (tooLarge): each endpoint answers
// it with the code of its first missing parameter, or, where every parameter
// is optional, with the code of a wrong one (never a success).
type params struct {
	query url.Values
	body  map[string]string
	// notUTF8 names the JSON body's string members that were not valid
	// UTF-8 (encoding/json replaced the bad bytes with U+FFFD in body);
	// lookup answers them as invalid text.
	notUTF8 map[string]bool
	// tooLarge says the body was over maxBodyBytes or unreadable.
	tooLarge bool
}

func readParams(r *http.Request) params {
	p := params{query: r.URL.Query()}
	if r.Body == nil || r.Body == http.NoBody {
		return p
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil || len(raw) > maxBodyBytes {
		return params{query: url.Values{}, tooLarge: true}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
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

// numericParams are the parameters that are integers (sent as JSON numbers
// or as strings of digits); every other parameter is a text.
var numericParams = map[string]bool{"sex": true, "lang": true, "nationality": true, "timezone": true, "type": true, "mcc": true}

// jsonParams flattens a JSON object's top-level members to strings: strings as
// they are, numbers of a numeric parameter as their literal text (which the
// parameter's strict parsing then checks), null as absent. A value of the
// wrong type (an object, an array, a boolean, a number sent as a text) is
// never stringified: it reads as invalidUTF8, which every parameter's
// validation refuses with the parameter's own code.
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
		case numericParams[k] && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')):
			out[k] = string(v)
		default:
			out[k] = invalidUTF8
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

// orInvalid is get, except that a request whose body was too large reads
// every parameter as invalidUTF8: an endpoint whose parameters are all
// optional refuses it with the parameter's code instead of succeeding
// without them.
func (p params) orInvalid(name string) string {
	if p.tooLarge {
		return invalidUTF8
	}
	return p.get(name)
}

// integer is orInvalid for an integer parameter, read strictly: a value
// that is not blank must be 1 to 9 ASCII decimal digits and nothing else,
// or it reads as invalidUTF8 (a sign, spaces around the digits, a fraction:
// "+1", " 1", "1.0"), which the parameter's parsing refuses with its code.
func (p params) integer(name string) string {
	v := p.orInvalid(name)
	if strings.TrimSpace(v) == "" {
		return v
	}
	if len(v) > 9 {
		return invalidUTF8
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return invalidUTF8
		}
	}
	return v
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
