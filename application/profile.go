package application

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// SetUserProfile changes the profile of the user uid: only the fields u
// changes, in one atomic write (concurrent changes of other fields are
// kept). Errors: KindUserNotFound, KindProfileSaveFailed (the store failed).
// u comes from domain.ParseProfileUpdate, which checks the rules.
func (s *Service) SetUserProfile(ctx context.Context, uid string, u domain.ProfileUpdate) (err error) {
	defer func() { s.logOutcome(ctx, "profile.update", err, slog.String("uid", safeLog(uid))) }()
	if err := s.users.UpdateUserProfile(ctx, uid, u); err != nil {
		if domain.IsKind(err, domain.KindUserNotFound) {
			return err
		}
		return &domain.Error{Kind: domain.KindProfileSaveFailed, Err: err}
	}
	return nil
}

// SetUserInfo is setUserInfo: it verifies the access token, checks the sent
// parameters (name to raw value, as domain.ParseProfileUpdate takes them)
// and changes the profile of the token's user. Errors: KindAccessTokenRequired,
// KindTokenInvalid, the kinds of domain.ParseProfileUpdate, KindUserNotFound,
// KindProfileSaveFailed. The token is checked first, then the parameters.
func (s *Service) SetUserInfo(ctx context.Context, accessToken string, sent map[string]string) error {
	p, err := s.VerifyAccessToken(ctx, accessToken)
	if err != nil {
		return err
	}
	u, err := domain.ParseProfileUpdate(sent)
	if err != nil {
		return err
	}
	return s.SetUserProfile(ctx, p.UID, u)
}

// LogoutEvent is a logout that ended a session, as OnLogout's listeners hear it.
type LogoutEvent struct {
	UID        string
	UserDomain string
	AppID      string
	SessionID  domain.SessionID
	// DeviceID is the push device the logout named ("" none): a push module
	// stops sending this user's pushes to it.
	DeviceID string
	At       time.Time
}

// logoutListenerTimeout bounds the context a logout listener is called with.
const logoutListenerTimeout = 30 * time.Second

// OnLogout registers a listener that hears of every logout that ended a
// session on this instance, after its revocation is stored. Listeners run
// asynchronously, one goroutine per logout calling them in registration
// order, so a slow one never delays the logout's answer; their context
// carries the request's values but not its cancellation, with a 30 s
// deadline. A panic in a listener is recovered and logged. Delivery is at
// most once: a process that stops before a listener ran loses that call
// (WaitLogoutListeners lets a host drain them at shutdown). Register before
// serving; it is safe to call at any time.
func (s *Service) OnLogout(listener func(context.Context, LogoutEvent)) {
	if listener == nil {
		return
	}
	s.logoutMu.Lock()
	s.logoutListeners = append(s.logoutListeners, listener)
	s.logoutMu.Unlock()
}

// WaitLogoutListeners waits for the logout listeners already started.
func (s *Service) WaitLogoutListeners() { s.logoutWG.Wait() }

func (s *Service) announceLogout(ctx context.Context, e LogoutEvent) {
	s.logoutMu.RLock()
	ls := append([]func(context.Context, LogoutEvent){}, s.logoutListeners...)
	s.logoutMu.RUnlock()
	if len(ls) == 0 {
		return
	}
	s.logoutWG.Add(1)
	go func() {
		defer s.logoutWG.Done()
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logoutListenerTimeout)
		defer cancel()
		for i, l := range ls {
			s.callLogoutListener(lctx, i, l, e)
		}
	}()
}

func (s *Service) callLogoutListener(ctx context.Context, i int, l func(context.Context, LogoutEvent), e LogoutEvent) {
	defer func() {
		if v := recover(); v != nil {
			s.log.ErrorContext(ctx, "logout listener panicked", slog.Int("listener", i), slog.String("uid", e.UID),
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
		}
	}()
	l(ctx, e)
}
