package application

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// Logout ends the session of the presented access token: its refresh tokens
// stop working, and so does the access token (at once on this instance).
// Errors: KindAccessTokenRequired, KindTokenInvalid, KindLogoutFailed.
func (s *core) Logout(ctx context.Context, accessToken string) error {
	return s.LogoutDevice(ctx, accessToken, "")
}

// LogoutDevice is Logout naming the push device of the phone (its push
// token; "" none): the device is recorded with the ended session, and the
// listeners registered with OnLogout hear of the logout once the revocation
// is stored. A deviceId that is longer than domain.MaxDeviceIDLength or holds
// anything but printable ASCII fails with KindLogoutFailed and ends nothing.
// It is VerifyAccessToken then LogoutSession, logged and audited as one
// logout attempt (a refused token too).
func (s *core) LogoutDevice(ctx context.Context, accessToken, deviceID string) (err error) {
	var p domain.Principal
	defer func() { err = s.logoutOutcome(ctx, p, deviceID, err) }()
	p, err = s.VerifyAccessToken(ctx, accessToken)
	if err != nil {
		return err
	}
	return s.endSession(ctx, p, deviceID)
}

// LogoutSession is LogoutDevice for a principal the caller has verified
// already (VerifyAccessToken, or httpapi's RequireAccessToken middleware):
// like UserInfo and DeleteAccount, it takes the principal, not the token.
// Errors: KindLogoutFailed.
func (s *core) LogoutSession(ctx context.Context, p domain.Principal, deviceID string) (err error) {
	defer func() { err = s.logoutOutcome(ctx, p, deviceID, err) }()
	return s.endSession(ctx, p, deviceID)
}

// logoutOutcome logs and audits one logout attempt.
func (s *core) logoutOutcome(ctx context.Context, p domain.Principal, deviceID string, err error) error {
	err = s.logOutcome(ctx, "logout", err, slog.Bool("deviceGiven", deviceID != ""))
	s.record(ctx, AuditEvent{Event: AuditLogout, Outcome: domain.KindOf(err), UserDomain: p.UserDomain, AppID: p.AppID, UID: p.UID,
		DeviceGiven: deviceID != ""})
	return err
}

// endSession is the logout of a verified principal.
func (s *core) endSession(ctx context.Context, p domain.Principal, deviceID string) error {
	if err := domain.CheckDeviceID(deviceID); err != nil {
		return err
	}
	now := s.clock.Now()
	revoked, err := s.sessions.LogoutSession(ctx, p.SessionID, now, deviceID)
	if err != nil {
		return &domain.Error{Kind: domain.KindLogoutFailed, Err: err}
	}
	s.revoked.add(p.SessionID, now)
	if revoked {
		s.announceLogout(ctx, LogoutEvent{UID: p.UID, UserDomain: p.UserDomain, AppID: p.AppID, SessionID: p.SessionID,
			DeviceID: deviceID, At: now})
	}
	return nil
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
// (the module's Stop waits for the calls in flight, within its deadline). Register before
// serving; it is safe to call at any time.
func (s *core) OnLogout(listener func(context.Context, LogoutEvent)) {
	if listener == nil {
		return
	}
	s.logoutMu.Lock()
	s.logoutListeners = append(s.logoutListeners, listener)
	s.logoutMu.Unlock()
}

// WaitLogoutListeners waits for the logout listeners already started.
func (s *core) WaitLogoutListeners() { s.logoutWG.Wait() }

func (s *core) announceLogout(ctx context.Context, e LogoutEvent) {
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

func (s *core) callLogoutListener(ctx context.Context, i int, l func(context.Context, LogoutEvent), e LogoutEvent) {
	defer func() {
		if v := recover(); v != nil {
			s.log.ErrorContext(ctx, "logout listener panicked", slog.Int("listener", i), slog.String("uid", e.UID),
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
		}
	}()
	l(ctx, e)
}
