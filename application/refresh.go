package application

import (
	"context"
	"log/slog"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// Refresh rotates a refresh token: the presented token is spent and the
// session's next token is returned with a new access token.
//
//   - A token presented again within RefreshReuseGrace of its first use (two
//     tabs, a lost response), or by a refresh that lost the race to a
//     concurrent one, gets the identical current child back.
//   - A spent token presented later is a reuse: the whole session is revoked.
//   - Expired, unknown, malformed, revoked and reused tokens all fail with
//     KindTokenInvalid, without telling which.
//
// A version-2 token (every session started since refresh master keys exist)
// is checked in memory against its master key and spent with one statement:
// one database round trip. A version-1 token needs its session's stored key
// first: two. Each session's children keep its version.
func (s *core) Refresh(ctx context.Context, refreshToken string) (pair domain.TokenPair, err error) {
	defer func() { err = s.logOutcome(ctx, "token.refresh", err) }()
	if domain.StripBearer(refreshToken) == "" {
		return pair, domain.E(domain.KindRefreshTokenRequired)
	}
	presented, err := domain.ParseRefreshToken(refreshToken)
	if err != nil {
		return pair, err
	}
	if presented.Version == domain.RefreshTokenV1 {
		return s.refreshV1(ctx, presented)
	}
	mk, ok, err := s.refreshKeys.byID(ctx, presented.MasterKeyID)
	if err != nil {
		return pair, internal(err)
	}
	if !ok {
		return pair, domain.E(domain.KindTokenInvalid)
	}
	if err := mk.Verify(presented); err != nil {
		return pair, err
	}
	now := s.clock.Now()
	sess, spent, err := s.sessions.SpendRefreshToken(ctx, presented.SessionID, presented.Counter, now, now.Add(s.cfg.RefreshTokenTTL))
	if err != nil {
		return pair, internalUnless(err, domain.KindTokenInvalid, domain.KindUserDisabled)
	}
	if sess, err = sess.WithMasterKey(mk); err != nil {
		return pair, err // a version-1 session: its tokens are never version 2
	}
	if spent {
		return s.pairFor(ctx, sess, now)
	}
	// Nothing spent. The session as the spend found it still at the presented
	// counter, and active, means a concurrent refresh of the same token spent
	// it meanwhile: a lost race, which gets that refresh's child.
	lostRace := sess.Counter() == presented.Counter && sess.Active(now)
	if lostRace {
		if sess, err = s.sessions.SessionByID(ctx, presented.SessionID); err != nil {
			return pair, internalUnless(err, domain.KindTokenInvalid, domain.KindUserDisabled)
		}
		if sess, err = sess.WithMasterKey(mk); err != nil {
			return pair, err
		}
	}
	return s.refreshSpent(ctx, sess, presented, now, lostRace)
}

// refreshV1 refreshes a version-1 token: the session's own key is read
// before the token can be checked and spent.
func (s *core) refreshV1(ctx context.Context, presented domain.PresentedRefreshToken) (domain.TokenPair, error) {
	sess, err := s.sessions.SessionByID(ctx, presented.SessionID)
	if err != nil {
		return domain.TokenPair{}, internalUnless(err, domain.KindTokenInvalid, domain.KindUserDisabled)
	}
	if err := sess.Verify(presented); err != nil {
		return domain.TokenPair{}, err
	}
	now := s.clock.Now()
	lostRace := false
	if presented.Counter == sess.Counter() && sess.Active(now) {
		exp := sess.NextRefreshExpiry(now, s.cfg.RefreshTokenTTL)
		ok, err := s.sessions.AdvanceRefreshCounter(ctx, sess.ID(), presented.Counter, now, exp)
		if err != nil {
			return domain.TokenPair{}, internal(err)
		}
		if ok {
			return s.pairFor(ctx, sess.Advanced(now, exp), now)
		}
		// A concurrent refresh of the same token spent it between our read
		// and our update: decide on the session as it is now.
		lostRace = true
		if sess, err = s.sessions.SessionByID(ctx, presented.SessionID); err != nil {
			return domain.TokenPair{}, internalUnless(err, domain.KindTokenInvalid, domain.KindUserDisabled)
		}
	}
	return s.refreshSpent(ctx, sess, presented, now, lostRace)
}

// refreshSpent decides on a verified token that was not spent by this
// refresh: the session's current child (a duplicate or a lost race), a
// reuse (the session is revoked) or a refusal.
func (s *core) refreshSpent(ctx context.Context, sess domain.Session, presented domain.PresentedRefreshToken, now time.Time,
	lostRace bool) (pair domain.TokenPair, err error) {
	isParent := presented.Counter == sess.Counter()-1
	switch {
	case sess.Revoked() || !now.Before(sess.ExpiresAt()):
		return pair, domain.E(domain.KindTokenInvalid)
	case isParent && sess.Active(now) && (lostRace || now.Sub(sess.RotatedAt()) <= s.cfg.RefreshReuseGrace):
		// The honest duplicate: a concurrent refresh we lost (whatever the
		// grace window and the instances' clocks), or a retry within the
		// grace window. It gets the identical current child.
		return s.pairFor(ctx, sess, now)
	case presented.Counter < sess.Counter():
		if _, err := s.sessions.RevokeSession(ctx, sess.ID(), now, "refresh_token_reuse"); err != nil {
			return pair, internal(err)
		}
		s.revoked.add(sess.ID(), now)
		s.record(ctx, AuditEvent{Event: AuditRefreshReuse, Outcome: domain.KindTokenInvalid, UserDomain: sess.UserDomain(),
			AppID: sess.AppID(), UID: sess.UserID()})
		s.log.WarnContext(ctx, "refresh token reuse: session revoked", slog.String("sessionId", sess.ID().String()),
			slog.String("uid", sess.UserID()), slog.Int64("presented", presented.Counter), slog.Int64("current", sess.Counter()))
		return pair, domain.E(domain.KindTokenInvalid)
	}
	return pair, domain.E(domain.KindTokenInvalid)
}
