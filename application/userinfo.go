package application

import (
	"context"
	"log/slog"

	"github.com/iotplatform/enduser-auth/domain"
)

// UserProfile is what UserInfo returns.
type UserProfile struct {
	User domain.EndUser
	// WeChat is the binding under the app the session logged in through.
	WeChat domain.WeChatIdentity
	// OfficialAccount and MiniProgram are the user's openids under an app
	// of each kind (the session's app when it is of that kind, else the
	// oldest binding of the kind; zero when the user has none).
	OfficialAccount, MiniProgram domain.WeChatIdentity
	// MobileApp and Website are the user's openids under a native app
	// (mobile app) and a website app, picked the same way.
	MobileApp, Website domain.WeChatIdentity
	// UnionID is the user's unionid, "" when WeChat never gave one.
	UnionID string
	// RegisteredVia is the kind of app the user registered through.
	RegisteredVia domain.AppKind
	// Profile is what setUserInfo stored.
	Profile domain.Profile
	// Phone is the number bound through the mini program (zero: none); the
	// HTTP adapter shows it masked.
	Phone domain.PhoneNumber
}

// UserInfo returns the user of a verified principal, with its WeChat
// bindings. Errors: KindUserNotFound.
func (s *core) UserInfo(ctx context.Context, p domain.Principal) (UserProfile, error) {
	ua, err := s.users.UserWithWeChatApps(ctx, p.UID)
	if err != nil {
		return UserProfile{}, internalUnless(err, domain.KindUserNotFound)
	}
	stored, err := s.users.UserProfile(ctx, p.UID)
	if err != nil {
		return UserProfile{}, internalUnless(err, domain.KindUserNotFound)
	}
	phone, err := s.users.UserPhone(ctx, p.UID)
	if err != nil {
		return UserProfile{}, internalUnless(err, domain.KindUserNotFound)
	}
	prof := UserProfile{User: ua.User, RegisteredVia: ua.RegisteredVia, Profile: stored, Phone: phone}
	pick := func(dst *domain.WeChatIdentity, b AppBinding) {
		if dst.OpenID() == "" || b.Identity.AppID() == p.AppID {
			*dst = b.Identity
		}
	}
	for _, b := range ua.Bindings {
		if b.Identity.AppID() == p.AppID && prof.WeChat.OpenID() == "" {
			prof.WeChat = b.Identity
		}
		switch b.Kind {
		case domain.AppKindMiniProgram:
			pick(&prof.MiniProgram, b)
		case domain.AppKindMobileApp:
			pick(&prof.MobileApp, b)
		case domain.AppKindWebsite:
			pick(&prof.Website, b)
		default:
			// The stores report a binding under an app removed since
			// (RemoveWeChatApp) as an official account's: it is none.
			if !s.appRemoved(ctx, ua.User.UserDomainID(), b.Identity.AppID()) {
				pick(&prof.OfficialAccount, b)
			}
		}
		if prof.UnionID == "" {
			prof.UnionID = b.Identity.UnionID()
		}
	}
	if u := prof.WeChat.UnionID(); u != "" {
		prof.UnionID = u
	}
	return prof, nil
}

// SetUserProfile changes the profile of the user uid: only the fields u
// changes, in one atomic write (concurrent changes of other fields are
// kept). Errors: KindUserNotFound, KindProfileSaveFailed (the store failed).
// u comes from domain.ParseProfileUpdate, which checks the rules.
func (s *core) SetUserProfile(ctx context.Context, uid string, u domain.ProfileUpdate) (err error) {
	defer func() { err = s.logOutcome(ctx, "profile.update", err, slog.String("uid", safeLog(uid))) }()
	if err := s.users.UpdateUserProfile(ctx, uid, u); err != nil {
		if domain.IsKind(err, domain.KindUserNotFound) {
			return err
		}
		return &domain.Error{Kind: domain.KindProfileSaveFailed, Err: err}
	}
	return nil
}

// SetUserInfo is setUserInfo: it verifies the access token, checks the sent
// profile text (the fields sent, as domain.ParseProfileUpdate takes them)
// and changes the profile of the token's user. Errors: KindAccessTokenRequired,
// KindTokenInvalid, the kinds of domain.ParseProfileUpdate, KindUserNotFound,
// KindProfileSaveFailed. The token is checked first, then the parameters.
// It is VerifyAccessToken then UpdateUserInfo.
func (s *core) SetUserInfo(ctx context.Context, accessToken string, sent domain.ProfileText) error {
	p, err := s.VerifyAccessToken(ctx, accessToken)
	if err != nil {
		return err
	}
	return s.UpdateUserInfo(ctx, p, sent)
}

// UpdateUserInfo is SetUserInfo for a principal the caller has verified
// already (like UserInfo, it takes the principal, not the token).
func (s *core) UpdateUserInfo(ctx context.Context, p domain.Principal, sent domain.ProfileText) error {
	u, err := domain.ParseProfileUpdate(sent)
	if err != nil {
		return err
	}
	return s.SetUserProfile(ctx, p.UID, u)
}
