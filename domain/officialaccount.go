package domain

import (
	"net/url"
	"regexp"
	"strings"
)

var appIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidAppID reports whether s can be a WeChat app's appId (WeChat's are
// "wx" and 16 hex digits; letters, digits, '-' and '_' up to 64 are allowed).
func ValidAppID(s string) bool { return appIDPattern.MatchString(s) }

// MaxWeChatCodeLen bounds a login's code (the official account's OAuth code,
// the mini program's jsCode), in bytes: WeChat's are 32 ASCII characters. A
// longer one is refused as a missing one (KindCodeRequired), before any
// WeChat call.
const MaxWeChatCodeLen = 128

// AppKind is the kind of a WeChat app of a user domain. An appId is one kind
// only: WeChat issues it to one official account, one mini program, one
// mobile app or one website app.
type AppKind string

// The app kinds.
const (
	AppKindOfficialAccount AppKind = "offiaccount"
	AppKindMiniProgram     AppKind = "miniprogram"
	// AppKindMobileApp is a WeChat Open Platform mobile application (a
	// native iOS or Android app logging in with the WeChat SDK's SendAuth).
	AppKindMobileApp AppKind = "mobileapp"
	// AppKindWebsite is a WeChat Open Platform website application (the
	// website QR-code login, snsapi_login).
	AppKindWebsite AppKind = "website"
)

// AppKinds lists every kind.
func AppKinds() []AppKind {
	return []AppKind{AppKindOfficialAccount, AppKindMiniProgram, AppKindMobileApp, AppKindWebsite}
}

// Valid reports whether k is a known kind.
func (k AppKind) Valid() bool {
	switch k {
	case AppKindOfficialAccount, AppKindMiniProgram, AppKindMobileApp, AppKindWebsite:
		return true
	}
	return false
}

// Noun is how a message to an operator names an app of kind k.
func (k AppKind) Noun() string {
	switch k {
	case AppKindMiniProgram:
		return "mini program"
	case AppKindMobileApp:
		return "mobile app"
	case AppKindWebsite:
		return "website app"
	}
	return "official account"
}

// MissingKind is the failure of a login through an app of kind k whose appId
// names no app of that kind in the user domain.
func (k AppKind) MissingKind() Kind {
	switch k {
	case AppKindMiniProgram:
		return KindMiniProgramMissing
	case AppKindMobileApp, AppKindWebsite:
		return KindAppSecretMissing
	}
	return KindOfficialAccountMissing
}

// WeChatApp is a WeChat app (an official account or a mini program)
// configured for a user domain. Its AppSecret belongs to the operator and is
// never sent by clients.
type WeChatApp struct {
	kind         AppKind
	userDomainID int64
	appID        string
	appSecret    string
	// redirectURIs are a website app's registered redirect URIs (the
	// website QR-code login's redirectUri must be one of them, exactly),
	// one a line (a URI holds no white space): a WeChatApp stays
	// comparable.
	redirectURIs string
}

// NewWeChatApp validates a WeChat app of a user domain.
func NewWeChatApp(kind AppKind, userDomainID int64, appID, appSecret string) (WeChatApp, error) {
	if !kind.Valid() {
		return WeChatApp{}, Errorf(KindInvalid, "unknown WeChat app kind %q", string(kind))
	}
	appID = strings.TrimSpace(appID)
	if !ValidAppID(appID) {
		return WeChatApp{}, Errorf(KindInvalid, "appId must be 1 to 64 letters, digits, '-' or '_'")
	}
	if appSecret == "" || len(appSecret) > 256 {
		return WeChatApp{}, Errorf(KindInvalid, "AppSecret must be 1 to 256 characters")
	}
	return WeChatApp{kind: kind, userDomainID: userDomainID, appID: appID, appSecret: appSecret}, nil
}

// NewOfficialAccount validates an official account of a user domain.
func NewOfficialAccount(userDomainID int64, appID, appSecret string) (WeChatApp, error) {
	return NewWeChatApp(AppKindOfficialAccount, userDomainID, appID, appSecret)
}

// NewMiniProgram validates a mini program of a user domain.
func NewMiniProgram(userDomainID int64, appID, appSecret string) (WeChatApp, error) {
	return NewWeChatApp(AppKindMiniProgram, userDomainID, appID, appSecret)
}

// UnmarshalWeChatAppFromDatabase rehydrates a stored WeChat app.
func UnmarshalWeChatAppFromDatabase(kind AppKind, userDomainID int64, appID, appSecret string) WeChatApp {
	return WeChatApp{kind: kind, userDomainID: userDomainID, appID: appID, appSecret: appSecret}
}

// UnmarshalWebsiteAppFromDatabase rehydrates a stored website app with its
// redirect URIs.
func UnmarshalWebsiteAppFromDatabase(userDomainID int64, appID, appSecret string, redirectURIs []string) WeChatApp {
	return WeChatApp{kind: AppKindWebsite, userDomainID: userDomainID, appID: appID, appSecret: appSecret,
		redirectURIs: strings.Join(redirectURIs, "\n")}
}

// UnmarshalOfficialAccountFromDatabase rehydrates a stored official account.
func UnmarshalOfficialAccountFromDatabase(userDomainID int64, appID, appSecret string) WeChatApp {
	return UnmarshalWeChatAppFromDatabase(AppKindOfficialAccount, userDomainID, appID, appSecret)
}

// Kind is the app's kind.
func (a WeChatApp) Kind() AppKind { return a.kind }

// RedirectURIs are a website app's registered redirect URIs (nil for the
// other kinds).
func (a WeChatApp) RedirectURIs() []string {
	if a.redirectURIs == "" {
		return nil
	}
	return strings.Split(a.redirectURIs, "\n")
}

// HasRedirectURI reports whether uri is exactly one of the app's registered
// redirect URIs.
func (a WeChatApp) HasRedirectURI(uri string) bool {
	for _, r := range a.RedirectURIs() {
		if r == uri {
			return true
		}
	}
	return false
}

// MaxRedirectURIs bounds a website app's registered redirect URIs, and
// MaxRedirectURILen each one, in bytes.
const (
	MaxRedirectURIs   = 32
	MaxRedirectURILen = 1024
)

// WithRedirectURIs is a website app with its registered redirect URIs
// (absolute http or https URLs without a fragment; duplicates dropped).
// Errors: KindInvalid (another kind, or a URI that is not one).
func (a WeChatApp) WithRedirectURIs(uris []string) (WeChatApp, error) {
	if a.kind != AppKindWebsite && len(uris) > 0 {
		return WeChatApp{}, Errorf(KindInvalid, "only a website app has redirect URIs")
	}
	if len(uris) > MaxRedirectURIs {
		return WeChatApp{}, Errorf(KindInvalid, "at most %d redirect URIs", MaxRedirectURIs)
	}
	out := make([]string, 0, len(uris))
	seen := map[string]bool{}
	for _, u := range uris {
		if !ValidRedirectURI(u) {
			return WeChatApp{}, Errorf(KindInvalid, "redirect URI %q must be an absolute http or https URL without a fragment, at most %d bytes",
				u, MaxRedirectURILen)
		}
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	a.redirectURIs = strings.Join(out, "\n")
	return a, nil
}

// ValidRedirectURI reports whether s can be a website app's redirect URI:
// an absolute http or https URL with a host, without a fragment, printable
// ASCII only, at most MaxRedirectURILen bytes.
func ValidRedirectURI(s string) bool {
	if s == "" || len(s) > MaxRedirectURILen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Fragment == "" &&
		!strings.Contains(s, "#") && u.User == nil
}

// UserDomainID is the id of the user domain the app belongs to.
func (a WeChatApp) UserDomainID() int64 { return a.userDomainID }

// AppID is the app's WeChat AppID.
func (a WeChatApp) AppID() string { return a.appID }

// AppSecret is the app's WeChat AppSecret.
func (a WeChatApp) AppSecret() string { return a.appSecret }
