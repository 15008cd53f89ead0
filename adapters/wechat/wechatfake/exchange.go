package wechatfake

import (
	"fmt"
	"net/http"
	"time"
)

// This file is the fake's HTTP side: routing, scripted failures, and
// WeChat's checks of a query, in WeChat's order.

// ServeHTTP answers GET /sns/oauth2/access_token and GET
// /sns/jscode2session; any other path gets 404 and any other method 405,
// each with an errcode body.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.servePhone(w, r) {
		return
	}
	if r.URL.Path != pathOAuth && r.URL.Path != pathJSCode2Session {
		s.writeError(w, http.StatusNotFound, ErrInvalidURL, "")
		return
	}
	if r.Method != http.MethodGet {
		s.writeError(w, http.StatusMethodNotAllowed, ErrRequireGET, "")
		return
	}
	s.exchange(w, r)
}

// exchange handles one code exchange, of either path.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	path := r.URL.Path
	codeParam := "code"
	if path == pathJSCode2Session {
		codeParam = "js_code"
	}
	appID, secret, code := q.Get("appid"), q.Get("secret"), q.Get(codeParam)

	f, scripted := s.takeFailure(code)
	if scripted && f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch {
	case scripted && f.Status != 0 && f.Status != http.StatusOK:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", f.Status, http.StatusText(f.Status))
		return
	case scripted && f.Body != nil:
		writeBody(w, http.StatusOK, f.Body)
		return
	}

	if errCode := s.checkQuery(path, appID, secret, q.Get("grant_type"), code); errCode != 0 {
		s.writeError(w, http.StatusOK, errCode, "")
		return
	}
	errCode, u := s.spend(path, appID, code)
	switch {
	case scripted && f.ErrCode != 0:
		s.writeError(w, http.StatusOK, f.ErrCode, f.ErrMsg)
	case errCode != 0:
		s.writeError(w, http.StatusOK, errCode, "")
	case path == pathJSCode2Session:
		s.writeSession(w, u)
	default:
		s.writeSuccess(w, u)
	}
}

// takeFailure removes and returns the failure scripted for code.
func (s *Server) takeFailure(code string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.failures[code]
	if ok {
		delete(s.failures, code)
	}
	return f, ok
}

// checkQuery checks the query's account and parameters like WeChat does and
// returns a non-zero errcode when they are wrong.
func (s *Server) checkQuery(path, appID, secret, grantType, code string) int {
	s.mu.Lock()
	apps := s.accounts
	if path == pathJSCode2Session {
		apps = s.programs
	}
	want, known := apps[appID]
	s.mu.Unlock()
	switch {
	case appID == "":
		return ErrMissingAppID
	case !known:
		return ErrInvalidAppID
	case secret == "":
		return ErrMissingSecret
	case secret != want:
		return ErrInvalidAppSecret
	case grantType != "authorization_code":
		return ErrInvalidGrantType
	case code == "":
		return ErrMissingCode
	}
	return 0
}
