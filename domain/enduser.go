package domain

import (
	"strings"
	"time"
)

// UserStatus is the platform's user status: 1 normal, 0 disabled.
type UserStatus int

// The user statuses.
const (
	UserDisabled UserStatus = 0
	UserNormal   UserStatus = 1
)

// WeChatIdentity is what WeChat's OAuth code exchange tells about a person:
// the openid under one official account and, sometimes, the unionid shared by
// the official accounts and apps of one Open Platform account.
type WeChatIdentity struct {
	appID   string
	openID  string
	unionID string
}

// NewWeChatIdentity validates WeChat's answer. A snapshot-page virtual user
// (is_snapshotuser = 1) has a fake openid and is never accepted.
func NewWeChatIdentity(appID, openID, unionID string, snapshotUser bool) (WeChatIdentity, error) {
	if snapshotUser {
		return WeChatIdentity{}, Errorf(KindWeChatRejected, `{"is_snapshotuser":1}`)
	}
	openID, unionID = strings.TrimSpace(openID), strings.TrimSpace(unionID)
	if openID == "" {
		return WeChatIdentity{}, Errorf(KindWeChatRejected, `{"openid":""}`)
	}
	if !plainID(openID) || (unionID != "" && !plainID(unionID)) {
		return WeChatIdentity{}, Errorf(KindWeChatMalformed, "openid or unionid is not 1 to 128 printable ASCII characters")
	}
	return WeChatIdentity{appID: appID, openID: openID, unionID: unionID}, nil
}

// UnmarshalWeChatIdentityFromDatabase rehydrates a stored binding.
func UnmarshalWeChatIdentityFromDatabase(appID, openID, unionID string) WeChatIdentity {
	return WeChatIdentity{appID: appID, openID: openID, unionID: unionID}
}

// AppID is the official account the identity was issued for.
func (w WeChatIdentity) AppID() string { return w.appID }

// OpenID is the person's openid within that official account.
func (w WeChatIdentity) OpenID() string { return w.openID }

// UnionID is the person's unionid, empty when WeChat gave none.
func (w WeChatIdentity) UnionID() string { return w.unionID }

// EndUser is a person registered in one user domain.
type EndUser struct {
	id           string
	userDomainID int64
	status       UserStatus
	registeredAt time.Time
	lastLoginAt  time.Time
}

// NewEndUser registers a user with a fresh opaque uid.
func NewEndUser(uid string, userDomainID int64, now time.Time) (EndUser, error) {
	if uid == "" {
		return EndUser{}, Errorf(KindInvalid, "uid is empty")
	}
	return EndUser{id: uid, userDomainID: userDomainID, status: UserNormal, registeredAt: now, lastLoginAt: now}, nil
}

// UnmarshalEndUserFromDatabase rehydrates a stored user.
func UnmarshalEndUserFromDatabase(uid string, userDomainID int64, status UserStatus, registeredAt, lastLoginAt time.Time) EndUser {
	return EndUser{id: uid, userDomainID: userDomainID, status: status, registeredAt: registeredAt, lastLoginAt: lastLoginAt}
}

// ID is the user's id.
func (u EndUser) ID() string { return u.id }

// UserDomainID is the id of the user domain the user belongs to.
func (u EndUser) UserDomainID() int64 { return u.userDomainID }

// Status is the user's status.
func (u EndUser) Status() UserStatus { return u.status }

// RegisteredAt is when the user was registered.
func (u EndUser) RegisteredAt() time.Time { return u.registeredAt }

// LastLoginAt is when the user last logged in.
func (u EndUser) LastLoginAt() time.Time { return u.lastLoginAt }

// plainID reports whether s is 1 to 128 printable ASCII characters, as
// WeChat's openids and unionids are.
func plainID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
