package application

// The native app's and the website's doors (issue 21): the login of an Open
// Platform mobile application (the official account's contract, another
// kind of app), and the website QR-code login (a state bound to the
// browser, then a login without a signature).

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// DefaultWeChatAuthorizeBaseURL is where a website login's authorizeUrl
// sends the browser (WeChat's QR-code page), unless configured.
const DefaultWeChatAuthorizeBaseURL = "https://open.weixin.qq.com"

// WebsiteStateStore claims the website logins' states (single use) and
// purges the claims once the states expired.
type WebsiteStateStore interface {
	// ClaimWebsiteState records digest as spent until expiresAt; false
	// when it was spent before.
	ClaimWebsiteState(ctx context.Context, digest []byte, expiresAt time.Time) (bool, error)
	// PurgeWebsiteStates deletes at most limit claims of states that
	// expired before cutoff and returns how many it deleted.
	PurgeWebsiteStates(ctx context.Context, cutoff time.Time, limit int) (int, error)
}

// LoginWithWeChatApp is the native app's login (WeChat SDK's SendAuth,
// an Open Platform mobile application): the official account's contract,
// with an appId that must be a mobile app's (KindAppSecretMissing, 5378,
// otherwise), and the same sns/oauth2/access_token exchange.
func (s *core) LoginWithWeChatApp(ctx context.Context, in WeChatLogin) (LoginResult, error) {
	in.proof = nil
	return s.loginWithWeChat(ctx, domain.AppKindMobileApp, in)
}

// WebsiteStateRequest is the input of the website login's state endpoint,
// as the browser sent it; Nonce is the browser's cookie's (the adapter
// makes one when the browser has none).
type WebsiteStateRequest struct {
	UserDomain, AppID, RedirectURI string
	Nonce                          string
}

// WebsiteState is a started website login: the state, the URL of WeChat's
// QR-code page to send the browser to, and when the state expires.
type WebsiteState struct {
	State        string
	AuthorizeURL string
	ExpiresAt    time.Time
}

// StartWebsiteLogin answers the website login's state endpoint. Checks, in
// the contract's order: 5023, 5013 (userDomain), 5218 (appId), 5379
// (redirectUri missing), 5015, 5104, 5378 (no website app), 5379
// (redirectUri not one of the app's registered ones, exact match). It
// stores nothing. The client IP's bucket is the adapter's (as on every
// endpoint but the logins).
func (s *core) StartWebsiteLogin(ctx context.Context, in WebsiteStateRequest) (WebsiteState, error) {
	name, err := domain.ParseUserDomainName(in.UserDomain)
	if err != nil {
		return WebsiteState{}, err
	}
	appID, redirect := strings.TrimSpace(in.AppID), in.RedirectURI
	switch {
	case appID == "":
		return WebsiteState{}, domain.E(domain.KindAppIDRequired)
	case strings.TrimSpace(redirect) == "":
		return WebsiteState{}, domain.Errorf(domain.KindRedirectURIInvalid, "redirectUri is missing")
	case in.Nonce == "":
		return WebsiteState{}, domain.Errorf(domain.KindInternal, "no browser nonce")
	}
	ud, err := s.tenants.UserDomainByName(ctx, name)
	if err != nil {
		return WebsiteState{}, internalUnless(err, domain.KindUserDomainNotFound)
	}
	if !ud.Enabled() {
		return WebsiteState{}, domain.E(domain.KindUserDomainDisabled)
	}
	if !domain.ValidAppID(appID) {
		return WebsiteState{}, domain.E(domain.KindAppSecretMissing)
	}
	app, err := AppOfKind(ctx, s.tenants, ud.ID(), appID, domain.AppKindWebsite)
	if err != nil {
		return WebsiteState{}, internalUnless(err, domain.KindAppSecretMissing)
	}
	if !app.HasRedirectURI(redirect) {
		return WebsiteState{}, domain.Errorf(domain.KindRedirectURIInvalid, "redirectUri is not a registered redirect URI of the website app")
	}
	exp := s.clock.Now().Add(domain.WebsiteStateTTL).Truncate(time.Second)
	st := domain.IssueWebsiteState(s.stateKey, name, appID, redirect, in.Nonce, exp)
	q := url.Values{}
	q.Set("appid", appID)
	q.Set("redirect_uri", redirect)
	q.Set("response_type", "code")
	q.Set("scope", "snsapi_login")
	q.Set("state", st)
	// WeChat reads its parameters in this order; url.Values would sort them.
	authorize := strings.TrimRight(s.cfg.WeChatAuthorizeBaseURL, "/") + "/connect/qrconnect?appid=" + url.QueryEscape(appID) +
		"&redirect_uri=" + url.QueryEscape(redirect) + "&response_type=code&scope=snsapi_login&state=" + st + "#wechat_redirect"
	s.log.DebugContext(ctx, "website login started", slog.String("userDomain", safeLog(name)), slog.String("appId", safeLog(appID)))
	return WebsiteState{State: st, AuthorizeURL: authorize, ExpiresAt: exp}, nil
}

// WebsiteLogin is the input of the website QR-code login, as the page sent
// it; Nonce is the browser's cookie's ("" when it sent none).
type WebsiteLogin struct {
	UserDomain, AppID, Code, State string
	Nonce                          string
	// MCC is the optional mobile country code; "" means not given.
	MCC string
}

// LoginWithWeChatWebsite is the website QR-code login: no signature; the
// state, bound to the browser's cookie, is the proof that this browser
// started the login. Checks, in the contract's order: 5023, 5013, 5218, 5372,
// 5399 (the state missing, malformed, expired, forged, not this cookie's, or
// spent: its single use is claimed here, before any WeChat call), 5015,
// 5104, 6085, 6084, 5378, then the exchange as the other logins.
func (s *core) LoginWithWeChatWebsite(ctx context.Context, in WebsiteLogin) (LoginResult, error) {
	state, nonce := strings.TrimSpace(in.State), in.Nonce
	return s.loginWithWeChat(ctx, domain.AppKindWebsite, WeChatLogin{UserDomain: in.UserDomain, AppID: in.AppID, Code: in.Code,
		MCC: in.MCC, proof: func(ctx context.Context, userDomain, appID string) error {
			exp, err := domain.VerifyWebsiteState(s.stateKey, state, userDomain, appID, nonce, s.clock.Now())
			if err != nil {
				return err
			}
			if s.websiteStates == nil {
				return internal(domain.Errorf(domain.KindInternal, "no website state store"))
			}
			claimed, err := s.websiteStates.ClaimWebsiteState(ctx, domain.WebsiteStateDigest(state), exp)
			if err != nil {
				return internal(err)
			}
			if !claimed {
				return domain.Errorf(domain.KindStateInvalid, "state already spent")
			}
			return nil
		}})
}

// PutWebsiteApp adds or updates a website app of a user domain with its
// registered redirect URIs (the list given replaces the stored one).
// Errors: KindUserDomainNotFound, KindInvalid (a bad URI, none, or an appId
// of another kind).
func (s *core) PutWebsiteApp(ctx context.Context, userDomain, appID, appSecret string, redirectURIs []string) error {
	n, err := domain.ParseUserDomainName(userDomain)
	if err != nil {
		return err
	}
	d, err := s.domains.UserDomainByName(ctx, n)
	if err != nil {
		return internalUnless(err, domain.KindUserDomainNotFound)
	}
	if len(redirectURIs) == 0 {
		return domain.Errorf(domain.KindInvalid, "a website app needs at least one redirect URI")
	}
	a, err := domain.NewWeChatApp(domain.AppKindWebsite, d.ID(), appID, appSecret)
	if err != nil {
		return err
	}
	if a, err = a.WithRedirectURIs(redirectURIs); err != nil {
		return err
	}
	return internalUnless(s.tenants.PutWeChatApp(ctx, a), domain.KindInvalid)
}

// purgeWebsiteStates deletes the claims of the website states that expired
// (by the purge lease's holder, after the sessions).
func (s *core) purgeWebsiteStates(ctx context.Context, now time.Time) error {
	if s.websiteStates == nil {
		return nil
	}
	for {
		n, err := s.websiteStates.PurgeWebsiteStates(ctx, now, purgeBatch)
		if err != nil {
			return internal(err)
		}
		if n < purgeBatch || ctx.Err() != nil {
			return nil
		}
	}
}

// LoginWithWeChatApp is the native app's login (doors.go).
func (e *EndUsers) LoginWithWeChatApp(ctx context.Context, in WeChatLogin) (LoginResult, error) {
	return e.c.LoginWithWeChatApp(ctx, in)
}

// StartWebsiteLogin is the website login's state endpoint (doors.go).
func (e *EndUsers) StartWebsiteLogin(ctx context.Context, in WebsiteStateRequest) (WebsiteState, error) {
	return e.c.StartWebsiteLogin(ctx, in)
}

// LoginWithWeChatWebsite is the website QR-code login (doors.go).
func (e *EndUsers) LoginWithWeChatWebsite(ctx context.Context, in WebsiteLogin) (LoginResult, error) {
	return e.c.LoginWithWeChatWebsite(ctx, in)
}

// PutWebsiteApp creates or updates a website app of a user domain with its
// registered redirect URIs (doors.go).
func (o *Operators) PutWebsiteApp(ctx context.Context, userDomain, appID, appSecret string, redirectURIs []string) error {
	return o.c.PutWebsiteApp(ctx, userDomain, appID, appSecret, redirectURIs)
}
