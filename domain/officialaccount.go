package domain

import (
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
// only: WeChat issues it to one official account or one mini program.
type AppKind string

// The app kinds.
const (
	AppKindOfficialAccount AppKind = "offiaccount"
	AppKindMiniProgram     AppKind = "miniprogram"
)

// Valid reports whether k is a known kind.
func (k AppKind) Valid() bool { return k == AppKindOfficialAccount || k == AppKindMiniProgram }

// Noun is how a message to an operator names an app of kind k.
func (k AppKind) Noun() string {
	if k == AppKindMiniProgram {
		return "mini program"
	}
	return "official account"
}

// MissingKind is the failure of a login through an app of kind k whose appId
// names no app of that kind in the user domain.
func (k AppKind) MissingKind() Kind {
	if k == AppKindMiniProgram {
		return KindMiniProgramMissing
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

// UnmarshalOfficialAccountFromDatabase rehydrates a stored official account.
func UnmarshalOfficialAccountFromDatabase(userDomainID int64, appID, appSecret string) WeChatApp {
	return UnmarshalWeChatAppFromDatabase(AppKindOfficialAccount, userDomainID, appID, appSecret)
}

// Kind is the app's kind.
func (a WeChatApp) Kind() AppKind { return a.kind }

// UserDomainID is the id of the user domain the app belongs to.
func (a WeChatApp) UserDomainID() int64 { return a.userDomainID }

// AppID is the app's WeChat AppID.
func (a WeChatApp) AppID() string { return a.appID }

// AppSecret is the app's WeChat AppSecret.
func (a WeChatApp) AppSecret() string { return a.appSecret }
