package wechatfake

// The phone number's side of the fake: POST /cgi-bin/stable_token (the
// app-wide access_token) and POST /wxa/business/getuserphonenumber, in
// WeChat's wire format (HTTP 200, text/plain, errcode bodies).
//
// Tokens live AccessTokenTTL. Without force_refresh, stable_token hands out
// the current token (with the seconds it has left) until its last 5 minutes,
// then a new one while the old stays valid until its end; with
// force_refresh a new one, every older token of the app invalid at once.
//
// A phoneCode's shape says what getuserphonenumber answers (any code is
// accepted once; a second use answers 40163):
//
//	<digits>[.<anything>]        success: +86 <digits>, countryCode the string "86"
//	<cc>-<digits>[.<anything>]   success: +<cc> <digits>, countryCode the number <cc>
//	otherapp.<digits>[.<any>]    success, but the watermark's appid is another app's
//	nophone[.<anything>]         errcode 0 without phone_info
//	err.<errcode>[.<anything>]   WeChat's errcode (40029, 40163, -1, 45011, ...)
//	anything else                40029 invalid code

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The paths of the phone number.
const (
	pathStableToken = "/cgi-bin/stable_token" //nolint:gosec // G101: a URL path, not a credential
	pathPhoneNumber = "/wxa/business/getuserphonenumber"
)

// AccessTokenTTL is the lifetime of an app-wide access_token.
const AccessTokenTTL = 2 * time.Hour

// accessTokenRenewal is the stable token's last stretch, when stable_token
// hands out the next one.
const accessTokenRenewal = 5 * time.Minute

// The errcodes of the phone number's calls.
const (
	ErrInvalidAccessToken = 40001
	ErrAccessTokenExpired = 42001
	ErrIPNotWhitelisted   = 40164
	ErrRequirePOST        = 43002
	ErrDataFormat         = 47001
)

// OtherAppID is the watermark appid of an "otherapp." phoneCode.
const OtherAppID = "wxfakeotherapp0000"

func init() {
	errMsgs[ErrInvalidAccessToken] = "invalid credential, access_token is invalid or not latest"
	errMsgs[ErrAccessTokenExpired] = "access_token expired"
	errMsgs[ErrIPNotWhitelisted] = "invalid ip, not in whitelist"
	errMsgs[ErrRequirePOST] = "require POST method"
	errMsgs[ErrDataFormat] = "data format error"
}

// appAccessToken is one token handed out by stable_token.
type appAccessToken struct {
	appID   string
	expires time.Time
	// refused: WeChat answers 40001 to it (RefuseAccessToken, or a forced
	// refresh made it invalid).
	refused bool
}

// phoneState is the fake's phone side, under Server.mu.
type phoneState struct {
	tokens    map[string]*appAccessToken // token -> state
	current   map[string]string          // appID -> the token stable_token hands out
	plain     map[string]int             // appID -> stable_token calls without force
	forced    map[string]int             // appID -> stable_token calls with force
	failures  map[string][]Failure       // appID -> scripted stable_token answers
	usedCodes *twoGenerationSet
	lookups   int
}

func (s *Server) phone() *phoneState {
	if s.phones == nil {
		s.phones = &phoneState{tokens: map[string]*appAccessToken{}, current: map[string]string{}, plain: map[string]int{},
			forced: map[string]int{}, failures: map[string][]Failure{}, usedCodes: newTwoGenerationSet(CodeTTL)}
	}
	return s.phones
}

// servePhone answers the phone number's paths; false: not one of them.
func (s *Server) servePhone(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != pathStableToken && r.URL.Path != pathPhoneNumber {
		return false
	}
	if r.Method != http.MethodPost {
		s.writeError(w, http.StatusOK, ErrRequirePOST, "")
		return true
	}
	var body map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil {
		s.writeError(w, http.StatusOK, ErrDataFormat, "")
		return true
	}
	if r.URL.Path == pathStableToken {
		s.stableToken(w, body)
	} else {
		s.phoneNumber(w, r.URL.Query().Get("access_token"), body)
	}
	return true
}

func (s *Server) stableToken(w http.ResponseWriter, body map[string]any) {
	appID, _ := body["appid"].(string)
	secret, _ := body["secret"].(string)
	grant, _ := body["grant_type"].(string)
	force, _ := body["force_refresh"].(bool)
	s.mu.Lock()
	ps := s.phone()
	want, known := s.programs[appID]
	if !known {
		want, known = s.accounts[appID]
	}
	var f Failure
	scripted := len(ps.failures[appID]) > 0
	if scripted {
		f, ps.failures[appID] = ps.failures[appID][0], ps.failures[appID][1:]
	}
	s.mu.Unlock()
	switch {
	case scripted && f.Status != 0 && f.Status != http.StatusOK:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		return
	case scripted && f.Body != nil:
		writeBody(w, http.StatusOK, f.Body)
		return
	case scripted && f.ErrCode != 0:
		s.writeError(w, http.StatusOK, f.ErrCode, f.ErrMsg)
		return
	case grant != "client_credential":
		s.writeError(w, http.StatusOK, ErrInvalidGrantType, "")
		return
	case appID == "":
		s.writeError(w, http.StatusOK, ErrMissingAppID, "")
		return
	case !known:
		s.writeError(w, http.StatusOK, ErrInvalidAppID, "")
		return
	case secret != want:
		s.writeError(w, http.StatusOK, ErrInvalidAppSecret, "")
		return
	}
	s.mu.Lock()
	now := s.now()
	if force {
		ps.forced[appID]++
	} else {
		ps.plain[appID]++
	}
	cur, ok := ps.tokens[ps.current[appID]]
	if force || !ok || !now.Before(cur.expires.Add(-accessTokenRenewal)) {
		if force {
			for _, t := range ps.tokens {
				if t.appID == appID {
					t.refused = true
				}
			}
		}
		v := "fakeAccessToken" + randomString(32)
		cur = &appAccessToken{appID: appID, expires: now.Add(AccessTokenTTL)}
		ps.tokens[v] = cur
		ps.current[appID] = v
	}
	token, left := ps.current[appID], int(cur.expires.Sub(now)/time.Second)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": token, "expires_in": left})
}

func (s *Server) phoneNumber(w http.ResponseWriter, token string, body map[string]any) {
	code, _ := body["code"].(string)
	s.mu.Lock()
	ps := s.phone()
	ps.lookups++
	now := s.now()
	t, ok := ps.tokens[token]
	errcode := 0
	switch {
	case !ok || t.refused:
		errcode = ErrInvalidAccessToken
	case !now.Before(t.expires):
		errcode = ErrAccessTokenExpired
	case code == "" || len(code) > maxCodeLen:
		errcode = ErrInvalidCode
	case !ps.usedCodes.add(t.appID+"\x00"+code, now):
		errcode = ErrCodeBeenUsed
	}
	s.mu.Unlock()
	if errcode != 0 {
		s.writeError(w, http.StatusOK, errcode, "")
		return
	}
	shape, _, _ := strings.Cut(code, ".")
	watermark := t.appID
	switch shape {
	case "err":
		rest := strings.TrimPrefix(code, "err.")
		n, err := strconv.Atoi(strings.SplitN(rest, ".", 2)[0])
		if err != nil || n == 0 {
			n = ErrInvalidCode
		}
		s.writeError(w, http.StatusOK, n, "")
		return
	case "nophone":
		writeJSON(w, http.StatusOK, map[string]any{"errcode": 0, "errmsg": "ok"})
		return
	case "otherapp":
		watermark = OtherAppID
		shape = strings.SplitN(strings.TrimPrefix(code, "otherapp."), ".", 2)[0]
	}
	var cc any = "86"
	number := shape
	if c, n, ok := strings.Cut(shape, "-"); ok {
		v, err := strconv.Atoi(c)
		cc, number = v, n
		if err != nil || v <= 0 {
			number = ""
		}
	}
	if !allDigits(number) {
		s.writeError(w, http.StatusOK, ErrInvalidCode, "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"errcode": 0, "errmsg": "ok", "phone_info": map[string]any{
		"phoneNumber": "+" + toText(cc) + number, "purePhoneNumber": number, "countryCode": cc,
		"watermark": map[string]any{"appid": watermark, "timestamp": now.Unix()},
	}})
}

func toText(v any) string {
	if n, ok := v.(int); ok {
		return strconv.Itoa(n)
	}
	s, _ := v.(string)
	return s
}

func allDigits(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FailStableToken scripts the next stable_token answer for appID (used
// once; several calls queue). Status, Body and ErrCode apply as in Failure.
func (s *Server) FailStableToken(appID string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.phone()
	ps.failures[appID] = append(ps.failures[appID], f)
}

// RotateAccessToken replaces appID's current access_token by a new one and
// makes the old one invalid, as another caller's forced refresh would: the
// module's cached token is then answered 40001, and stable_token without
// force hands out the new one.
func (s *Server) RotateAccessToken(appID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.phone()
	for _, t := range ps.tokens {
		if t.appID == appID {
			t.refused = true
		}
	}
	v := "fakeAccessToken" + randomString(32)
	ps.tokens[v] = &appAccessToken{appID: appID, expires: s.now().Add(AccessTokenTTL)}
	ps.current[appID] = v
}

// RefuseAccessToken makes appID's current access_token answered 40001 while
// stable_token without force keeps handing it out: only a forced refresh
// gets a working one.
func (s *Server) RefuseAccessToken(appID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.phone()
	if t, ok := ps.tokens[ps.current[appID]]; ok {
		t.refused = true
	}
}

// StableTokenCalls returns how many stable_token calls appID made, without
// and with force_refresh.
func (s *Server) StableTokenCalls(appID string) (plain, forced int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.phone()
	return ps.plain[appID], ps.forced[appID]
}

// PhoneLookups returns how many getuserphonenumber calls the fake received.
func (s *Server) PhoneLookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.phone().lookups
}

// AccessTokens lists every access_token the fake handed out (tests grep
// logs and traces for them).
func (s *Server) AccessTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for v := range s.phone().tokens {
		out = append(out, v)
	}
	return out
}
