package domain

import (
	"regexp"
	"strings"
)

var appIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidAppID reports whether s can be an official account's appId (WeChat's
// are "wx" and 16 hex digits; letters, digits, '-' and '_' up to 64 are allowed).
func ValidAppID(s string) bool { return appIDPattern.MatchString(s) }

// OfficialAccount is a WeChat official account configured for a user domain.
// Its AppSecret belongs to the operator and is never sent by clients.
type OfficialAccount struct {
	userDomainID int64
	appID        string
	appSecret    string
}

// NewOfficialAccount validates an official account of a user domain.
func NewOfficialAccount(userDomainID int64, appID, appSecret string) (OfficialAccount, error) {
	appID = strings.TrimSpace(appID)
	if !ValidAppID(appID) {
		return OfficialAccount{}, Errorf(KindInvalid, "appId must be 1 to 64 letters, digits, '-' or '_'")
	}
	if appSecret == "" || len(appSecret) > 256 {
		return OfficialAccount{}, Errorf(KindInvalid, "AppSecret must be 1 to 256 characters")
	}
	return OfficialAccount{userDomainID: userDomainID, appID: appID, appSecret: appSecret}, nil
}

// UnmarshalOfficialAccountFromDatabase rehydrates a stored official account.
func UnmarshalOfficialAccountFromDatabase(userDomainID int64, appID, appSecret string) OfficialAccount {
	return OfficialAccount{userDomainID: userDomainID, appID: appID, appSecret: appSecret}
}

// UserDomainID is the id of the user domain the account belongs to.
func (a OfficialAccount) UserDomainID() int64 { return a.userDomainID }

// AppID is the official account's WeChat AppID.
func (a OfficialAccount) AppID() string { return a.appID }

// AppSecret is the official account's WeChat AppSecret.
func (a OfficialAccount) AppSecret() string { return a.appSecret }
