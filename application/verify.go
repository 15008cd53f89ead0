package application

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

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
func (s *core) VerifyAccessToken(ctx context.Context, token string) (domain.Principal, error) {
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
func (s *core) checkNotRevoked(ctx context.Context, p domain.Principal, now time.Time) error {
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

// SyncRevocations loads the revocations made since the last sync (by any
// instance) into this instance's cache, and reloads the signing keys (a key
// revoked elsewhere stops verifying here). Run calls it periodically.
func (s *core) SyncRevocations(ctx context.Context) error {
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
