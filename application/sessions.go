package application

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"strings"
	"sync"
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
func (s *Service) Refresh(ctx context.Context, refreshToken string) (pair domain.TokenPair, err error) {
	defer func() { s.logOutcome(ctx, "token.refresh", err) }()
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
func (s *Service) refreshV1(ctx context.Context, presented domain.PresentedRefreshToken) (domain.TokenPair, error) {
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
func (s *Service) refreshSpent(ctx context.Context, sess domain.Session, presented domain.PresentedRefreshToken, now time.Time,
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

func (s *Service) pairFor(ctx context.Context, sess domain.Session, now time.Time) (domain.TokenPair, error) {
	refresh := sess.RefreshToken()
	if refresh.Value == "" {
		return domain.TokenPair{}, internal(errors.New("session without its refresh key"))
	}
	access, err := s.issueAccess(ctx, sess, now)
	if err != nil {
		return domain.TokenPair{}, err
	}
	return domain.TokenPair{Access: access, Refresh: refresh}, nil
}

// VerifyAccessToken authenticates an access token ("Bearer " prefix optional):
// signature with the key of its kid, pinned algorithm, type, exp and nbf, and
// that its session is not revoked. The revocation check is answered from
// memory while Run keeps the cache in sync: a logout on this instance bites
// at once, one on another instance within RevocationSyncInterval. When the
// cache has not been synced for staleSyncs intervals (Run not started, the
// database unreachable), every verification asks the store instead: it fails
// closed, never open. Errors: KindAccessTokenRequired, KindTokenInvalid.
//
// A token that passed once is remembered (by its SHA-256, until its exp, in
// a bounded cache: Config.VerifiedTokenCacheSize): verifying it again skips
// the signature and the claims, never the revocation check.
func (s *Service) VerifyAccessToken(ctx context.Context, token string) (domain.Principal, error) {
	raw := domain.StripBearer(token)
	if raw == "" {
		return domain.Principal{}, domain.E(domain.KindAccessTokenRequired)
	}
	now := s.clock.Now()
	var key [sha256.Size]byte
	if s.verified.enabled() {
		key = verifiedKey(raw)
	}
	gen := s.verified.generation()
	p, cached := s.verified.get(key, now)
	if !cached {
		c, err := s.tokens.ParseAccessToken(ctx, raw, now)
		if err != nil {
			return domain.Principal{}, internalUnless(err, domain.KindTokenInvalid)
		}
		p = domain.Principal{UID: c.UID, UserDomain: c.UserDomain, AppID: c.AppID, SessionID: c.SessionID, ExpiresAt: c.ExpiresAt}
	}
	if err := s.checkNotRevoked(ctx, p, now); err != nil {
		return domain.Principal{}, err
	}
	if !cached {
		s.verified.put(key, p, gen)
	}
	return p, nil
}

// checkNotRevoked fails with KindUserDisabled when the principal's user is
// disabled and with KindTokenInvalid when its session is revoked, by itself
// or by a scope revocation of its user or user domain (compared with the
// session's start, which its id records: a revocation ends sessions, so a
// token a racing refresh issued just after it is refused too): from memory
// (map lookups), or from the store when the memory is stale.
func (s *Service) checkNotRevoked(ctx context.Context, p domain.Principal, now time.Time) error {
	if err := s.revoked.check(p); err != nil {
		return err
	}
	if s.revoked.stale(now, staleSyncs*s.cfg.RevocationSyncInterval) {
		// The cache is not being kept in sync (Run not started, or the
		// database unreachable): fail closed by asking the store.
		sess, err := s.sessions.SessionByID(ctx, p.SessionID)
		if err != nil {
			return internalUnless(err, domain.KindTokenInvalid, domain.KindUserDisabled)
		}
		if sess.Revoked() {
			s.revoked.add(sess.ID(), sess.RevokedAt())
			return domain.E(domain.KindTokenInvalid)
		}
	}
	return nil
}

// Logout ends the session of the presented access token: its refresh tokens
// stop working, and so does the access token (at once on this instance).
// Errors: KindAccessTokenRequired, KindTokenInvalid, KindLogoutFailed.
func (s *Service) Logout(ctx context.Context, accessToken string) error {
	return s.LogoutDevice(ctx, accessToken, "")
}

// LogoutDevice is Logout naming the push device of the phone (its push
// token; "" none): the device is recorded with the ended session, and the
// listeners registered with OnLogout hear of the logout once the revocation
// is stored. A deviceId that is longer than domain.MaxDeviceIDLength or holds
// anything but printable ASCII fails with KindLogoutFailed and ends nothing.
func (s *Service) LogoutDevice(ctx context.Context, accessToken, deviceID string) (err error) {
	var p domain.Principal
	defer func() {
		s.logOutcome(ctx, "logout", err, slog.Bool("deviceGiven", deviceID != ""))
		s.record(ctx, AuditEvent{Event: AuditLogout, Outcome: domain.KindOf(err), UserDomain: p.UserDomain, AppID: p.AppID, UID: p.UID,
			DeviceGiven: deviceID != ""})
	}()
	p, err = s.VerifyAccessToken(ctx, accessToken)
	if err != nil {
		return err
	}
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

// EndUserSessions ends every session of the user uid at once (a stolen
// phone), by one user-scope revocation: their refresh tokens answer 5032 from
// now on, their access tokens stop verifying here at once and on every other
// instance within the revocation sync interval. It returns how many live
// sessions it ended; an unknown user has none. The user may log in again.
func (s *Service) EndUserSessions(ctx context.Context, uid string) (n int, err error) {
	var userDomain string
	defer func() {
		s.logOutcome(ctx, "sessions.end_all", err, slog.String("uid", safeLog(uid)), slog.Int("sessions", n))
		if err == nil {
			s.record(ctx, AuditEvent{Event: AuditSessionsEnded, UserDomain: userDomain, UID: safeLog(uid)})
		}
	}()
	uid = strings.TrimSpace(uid)
	if uid == "" {
		return 0, &domain.Error{Kind: domain.KindInvalid, Detail: "a uid is required"}
	}
	now := s.clock.Now()
	n, userDomain, err = s.sessions.RevokeScope(ctx, ScopeUser, uid, now)
	if err != nil {
		return 0, internal(err)
	}
	if userDomain != "" {
		s.revoked.revokeUser(uid, now)
	}
	return n, nil
}

// DisableUser disables the end user uid: its sessions end (as
// EndUserSessions), and until EnableUser its logins, refreshes and tokens
// answer KindUserDisabled (5041) on this instance at once, on the others
// within the revocation sync interval (refreshes and logins everywhere at
// once: the store decides them). Errors: KindInvalid, KindUserNotFound.
func (s *Service) DisableUser(ctx context.Context, uid string) error {
	return s.setUserDisabled(ctx, uid, true)
}

// EnableUser lets a disabled user log in again; the sessions the disable
// ended stay ended. Enabling a user that is not disabled changes nothing.
// Errors: KindInvalid, KindUserNotFound.
func (s *Service) EnableUser(ctx context.Context, uid string) error {
	return s.setUserDisabled(ctx, uid, false)
}

func (s *Service) setUserDisabled(ctx context.Context, uid string, disabled bool) (err error) {
	var userDomain string
	event, ev := "user.enable", AuditUserEnabled
	if disabled {
		event, ev = "user.disable", AuditUserDisabled
	}
	defer func() {
		s.logOutcome(ctx, event, err, slog.String("uid", safeLog(uid)))
		if err == nil {
			s.record(ctx, AuditEvent{Event: ev, UserDomain: userDomain, UID: safeLog(uid)})
		}
	}()
	uid = strings.TrimSpace(uid)
	if uid == "" {
		return &domain.Error{Kind: domain.KindInvalid, Detail: "a uid is required"}
	}
	now := s.clock.Now()
	if userDomain, err = s.sessions.SetUserDisabled(ctx, uid, disabled, now); err != nil {
		return internalUnless(err, domain.KindUserNotFound)
	}
	s.revoked.setDisabled(uid, disabled, now)
	return nil
}

// UserProfile is what UserInfo returns.
type UserProfile struct {
	User domain.EndUser
	// WeChat is the binding under the app the session logged in through.
	WeChat domain.WeChatIdentity
	// OfficialAccount and MiniProgram are the user's openids under an app
	// of each kind (the session's app when it is of that kind, else the
	// oldest binding of the kind; zero when the user has none).
	OfficialAccount, MiniProgram domain.WeChatIdentity
	// UnionID is the user's unionid, "" when WeChat never gave one.
	UnionID string
	// RegisteredVia is the kind of app the user registered through.
	RegisteredVia domain.AppKind
	// Profile is what setUserInfo stored.
	Profile domain.Profile
}

// UserInfo returns the user of a verified principal, with its WeChat
// bindings. Errors: KindUserNotFound.
func (s *Service) UserInfo(ctx context.Context, p domain.Principal) (UserProfile, error) {
	ua, err := s.users.UserWithWeChatApps(ctx, p.UID)
	if err != nil {
		return UserProfile{}, internalUnless(err, domain.KindUserNotFound)
	}
	stored, err := s.users.UserProfile(ctx, p.UID)
	if err != nil {
		return UserProfile{}, internalUnless(err, domain.KindUserNotFound)
	}
	prof := UserProfile{User: ua.User, RegisteredVia: ua.RegisteredVia, Profile: stored}
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
		default:
			pick(&prof.OfficialAccount, b)
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

// JWKS returns the public keys that verify access tokens, as a JSON Web Key Set.
func (s *Service) JWKS(ctx context.Context) ([]byte, error) {
	b, err := s.tokens.JWKS(ctx)
	if err != nil {
		return nil, internal(err)
	}
	return b, nil
}

// RotateSigningKey makes a new key the signer; old keys keep verifying until
// the last token they signed has expired.
func (s *Service) RotateSigningKey(ctx context.Context) (string, error) {
	kid, err := s.tokens.RotateSigningKey(ctx)
	if err != nil {
		return "", internal(err)
	}
	s.log.InfoContext(ctx, "signing key rotated", slog.String("kid", kid))
	return kid, nil
}

// RevokeSigningKey removes a signing key at once: it leaves the JWKS and
// its tokens stop verifying (on this instance now, on the others at their
// next revocation sync, which reloads the keys); when it signed, a new key
// signs at once. It returns the kid that signs now. Errors: KindNotFound for
// an unknown (or already revoked) kid.
func (s *Service) RevokeSigningKey(ctx context.Context, kid string) (string, error) {
	kid = strings.TrimSpace(kid)
	if kid == "" {
		return "", domain.Errorf(domain.KindInvalid, "a kid is required")
	}
	signer, err := s.tokens.RevokeSigningKey(ctx, kid)
	if err != nil {
		return "", internalUnless(err, domain.KindNotFound)
	}
	s.verified.invalidate()
	s.log.WarnContext(ctx, "signing key revoked", slog.String("kid", safeLog(kid)), slog.String("signer", signer))
	s.record(ctx, AuditEvent{Event: AuditSigningKeyRevoked})
	return signer, nil
}

// SyncRevocations loads the revocations made since the last sync (by any
// instance) into this instance's cache, and reloads the signing keys (a key
// revoked elsewhere stops verifying here). Run calls it periodically.
func (s *Service) SyncRevocations(ctx context.Context) error {
	now := s.clock.Now()
	since := s.revoked.syncFrom(now, s.cfg.AccessTokenTTL)
	list, err := s.sessions.RevokedSessionsSince(ctx, since)
	if err != nil {
		return internal(err)
	}
	scopes, err := s.sessions.ScopeRevocationsSince(ctx, since)
	if err != nil {
		return internal(err)
	}
	s.revoked.merge(list, scopes, now, s.cfg.AccessTokenTTL)
	if r, ok := s.tokens.(SigningKeyReloader); ok {
		// Invalidate after the reload: a verification that began before it
		// (with the old keys) puts an entry of the old generation, which is
		// a miss. A failed reload keeps the held keys (the issuer's own
		// periodic refresh retries) and does not undo the revocations above.
		removed, err := r.ReloadSigningKeys(ctx)
		if err != nil {
			return internal(err)
		}
		if removed {
			s.verified.invalidate()
		}
	}
	return nil
}

// Run keeps the revocation cache in sync and, every SessionPurgeInterval,
// purges the sessions that ended long ago (in its own goroutine, so that a
// long purge never delays a sync); in another goroutine, every
// ErasureInterval, it erases the accounts whose deletion is due and announces
// the erasures (the outbox) to the OnUserErased listeners; until ctx ends. The host starts it once per
// process, next to its HTTP server.
func (s *Service) Run(ctx context.Context) error {
	if s.cfg.SessionPurgeInterval > 0 {
		done := make(chan struct{})
		defer func() { <-done }()
		go func() {
			defer close(done)
			s.runPurge(ctx)
		}()
	}
	erasing := make(chan struct{})
	defer func() { <-erasing }()
	go func() {
		defer close(erasing)
		s.runErasure(ctx)
	}()
	t := time.NewTicker(s.cfg.RevocationSyncInterval)
	defer t.Stop()
	for {
		if err := s.SyncRevocations(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "revocation sync failed", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// logOutcome logs an authentication attempt with its outcome (ASVS 16.3.1).
// A failure's cause, when it has one (WeChat down, a database error), is
// logged too: it never reaches the client, so the log is where it goes.
// Callers never pass secrets, codes, tokens or openids in attrs.
func (s *Service) logOutcome(ctx context.Context, event string, err error, attrs ...any) {
	attrs = append([]any{slog.String("event", event)}, attrs...)
	if err == nil {
		s.log.InfoContext(ctx, event+" succeeded", append(attrs, slog.String("outcome", "ok"))...)
		return
	}
	k := domain.KindOf(err)
	attrs = append(attrs, slog.String("outcome", string(k)))
	var de *domain.Error
	if !errors.As(err, &de) || de.Err != nil || de.Detail != "" {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	if k == domain.KindInternal || k == domain.KindLogoutFailed {
		s.log.ErrorContext(ctx, event+" failed", attrs...)
		return
	}
	if k == domain.KindWeChatUnavailable { // an outage an operator must see
		s.log.WarnContext(ctx, event+" failed", attrs...)
		return
	}
	s.log.InfoContext(ctx, event+" refused", attrs...)
}

// revocationCache holds the sessions revoked recently enough that one of their
// access tokens could still be valid, and the scope revocations: per user
// (with the disabled mark) and per user domain, one timestamp each.
type revocationCache struct {
	mu       sync.RWMutex
	ids      map[domain.SessionID]time.Time
	users    map[string]userRevocation
	domains  map[string]time.Time // user domain name -> revoked before
	lastSync time.Time
}

// userRevocation is a user's scope revocation as the cache holds it.
type userRevocation struct {
	before   time.Time
	disabled bool
}

func newRevocationCache() *revocationCache {
	return &revocationCache{ids: map[domain.SessionID]time.Time{}, users: map[string]userRevocation{}, domains: map[string]time.Time{}}
}

// check answers a principal from memory: KindUserDisabled while its user is
// disabled (before anything else), KindTokenInvalid when its session or a
// scope that covers it is revoked.
func (c *revocationCache) check(p domain.Principal) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	u, hasUser := c.users[p.UID]
	if hasUser && u.disabled {
		return domain.E(domain.KindUserDisabled)
	}
	if _, ok := c.ids[p.SessionID]; ok {
		return domain.E(domain.KindTokenInvalid)
	}
	d, hasDomain := c.domains[p.UserDomain]
	if !hasUser && !hasDomain {
		return nil
	}
	started, _ := p.SessionID.StartedAt() // unknown: zero, covered by any revocation
	if (hasUser && domain.RevokedBy(started, u.before)) || (hasDomain && domain.RevokedBy(started, d)) {
		return domain.E(domain.KindTokenInvalid)
	}
	return nil
}

func (c *revocationCache) add(id domain.SessionID, at time.Time) {
	c.mu.Lock()
	c.ids[id] = at
	c.mu.Unlock()
}

// putScope holds a scope revocation (revoked_before only moves forward;
// the disabled mark is the row's).
func (c *revocationCache) putScope(r ScopeRevocation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putScopeLocked(r)
}

func (c *revocationCache) putScopeLocked(r ScopeRevocation) {
	switch r.Scope {
	case ScopeUser:
		u := c.users[r.Subject]
		if r.RevokedBefore.After(u.before) {
			u.before = r.RevokedBefore
		}
		u.disabled = r.Disabled
		c.users[r.Subject] = u
	case ScopeUserDomain:
		if r.RevokedBefore.After(c.domains[r.Subject]) {
			c.domains[r.Subject] = r.RevokedBefore
		}
	}
}

// revokeUser records this instance's own user-scope revocation (logout-all,
// a deletion): it moves the user's "revoked before" forward and leaves the
// disabled mark as it is (the store's row keeps it too; only SetUserDisabled
// changes it).
func (c *revocationCache) revokeUser(uid string, before time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.users[uid]
	if before.After(u.before) {
		u.before = before
	}
	c.users[uid] = u
}

// setDisabled records this instance's own disable (a user-scope revocation
// at now) or enable.
func (c *revocationCache) setDisabled(uid string, disabled bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.users[uid]
	if disabled && now.After(u.before) {
		u.before = now
	}
	u.disabled = disabled
	c.users[uid] = u
}

// staleSyncs is how many sync intervals may pass without a successful sync
// before verifications stop trusting the cache.
const staleSyncs = 3

// stale reports whether the cache has not been synced within maxAge.
func (c *revocationCache) stale(now time.Time, maxAge time.Duration) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.lastSync.IsZero() || now.Sub(c.lastSync) > maxAge
}

// syncOverlap re-reads a window before the last sync, so that a revocation
// committed late (or stamped by a slightly slow clock) is not missed.
const syncOverlap = time.Minute

func (c *revocationCache) syncFrom(now time.Time, accessTTL time.Duration) time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.lastSync.IsZero() {
		return now.Add(-accessTTL - syncOverlap)
	}
	return c.lastSync.Add(-syncOverlap)
}

// merge takes in a sync's revocations and drops those that no longer
// matter: an access token lives at most accessTTL, and the tokens a scope
// revocation refuses were issued before it (refresh refuses covered
// sessions), so a revocation older than that can go, a disabled user's
// too: no token of a user disabled that long ago can still be unexpired
// (the disable ended its sessions, and logins and refreshes of a disabled
// user are refused by the store), so the memory holds only recent ones.
func (c *revocationCache) merge(list []RevokedSession, scopes []ScopeRevocation, now time.Time, accessTTL time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range list {
		c.ids[r.ID] = r.RevokedAt
	}
	for _, r := range scopes {
		c.putScopeLocked(r)
	}
	horizon := now.Add(-accessTTL - syncOverlap)
	for id, at := range c.ids {
		if at.Before(horizon) {
			delete(c.ids, id)
		}
	}
	for uid, u := range c.users {
		if u.before.Before(horizon) {
			delete(c.users, uid)
		}
	}
	for name, at := range c.domains {
		if at.Before(horizon) {
			delete(c.domains, name)
		}
	}
	c.lastSync = now
}
