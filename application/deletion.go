package application

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// Bounds of the erasure job and the outbox dispatcher: each round erases at
// most erasureBatch accounts (each in its own transaction) and delivers at most
// outboxBatch notices; a claimed notice is left to others after outboxClaim;
// a failed delivery is retried after 1 s, 2 s, 4 s ... up to outboxMaxBackoff.
const (
	erasureBatch     = 100
	outboxBatch      = 100
	outboxClaim      = 5 * time.Minute
	outboxMaxBackoff = 10 * time.Minute
)

// ErasureListener is told of one erased account. It must be idempotent: an
// erasure is announced at least once (again after a failure of any listener,
// or a crash before the delivery was recorded). An error makes the notice
// retried later, for every listener.
type ErasureListener func(ctx context.Context, u ErasedUser) error

// erasureState holds the listeners and the dispatcher's wake-up.
type erasureState struct {
	mu        sync.RWMutex
	listeners []ErasureListener
	kick      chan struct{}
}

func newErasureState() erasureState { return erasureState{kick: make(chan struct{}, 1)} }

// OnUserErased registers a listener of erasures: other modules of the
// monolith delete what they hold for the user (devices, shares). Register
// before Run; listeners are called one after the other, in registration order,
// from Run's dispatcher (or DeliverErasures).
func (s *core) OnUserErased(l ErasureListener) {
	if l == nil {
		return
	}
	s.erasure.mu.Lock()
	defer s.erasure.mu.Unlock()
	s.erasure.listeners = append(s.erasure.listeners, l)
}

// DeletionScheduled is an accepted deletion request.
type DeletionScheduled struct {
	UID        string
	UserDomain string
	// DueAt is when the account is erased (now or earlier for type 1).
	DueAt time.Time
	// Erased is true when the account was erased by the request itself.
	Erased bool
}

// DeleteAccount is the end user's own deletion request (userDelete): type 1
// erases the account at once, type 2 after the cooling-off. Every session of
// the user ends at once. A second request during a cooling-off is accepted and
// never postpones it (type 1 shortens it to now). Errors: KindTokenInvalid
// (the user is gone), KindDeletionFailed.
func (s *core) DeleteAccount(ctx context.Context, p domain.Principal, t domain.DeletionType) (DeletionScheduled, error) {
	d, err := s.requestDeletion(ctx, p.UID, t)
	if domain.IsKind(err, domain.KindUserNotFound) {
		return d, domain.E(domain.KindTokenInvalid) // erased meanwhile: its token is no longer good
	}
	return d, err
}

// DeleteUser is an operator's deletion of uid's account (the CLI's `user
// delete`): after the cooling-off, or at once with now. It works for any user,
// a disabled one too. Errors: KindInvalid (no uid), KindUserNotFound,
// KindDeletionFailed.
func (s *core) DeleteUser(ctx context.Context, uid string, now bool) (DeletionScheduled, error) {
	uid = strings.TrimSpace(uid)
	if uid == "" {
		return DeletionScheduled{}, &domain.Error{Kind: domain.KindInvalid, Detail: "a uid is required"}
	}
	t := domain.DeletionAfterCoolingOff
	if now {
		t = domain.DeletionNow
	}
	return s.requestDeletion(ctx, uid, t)
}

func (s *core) requestDeletion(ctx context.Context, uid string, t domain.DeletionType) (d DeletionScheduled, err error) {
	defer func() {
		err = s.logOutcome(ctx, "account.deletion_requested", err, slog.String("uid", safeLog(uid)), slog.Int("type", int(t)),
			slog.Time("dueAt", d.DueAt), slog.Bool("erased", d.Erased))
		if err == nil {
			ev := AuditDeletionRequested
			if t == domain.DeletionNow {
				ev = AuditDeletionRequestedNow
			}
			s.record(ctx, AuditEvent{Event: ev, UserDomain: d.UserDomain, UID: safeLog(uid)})
		}
	}()
	now := s.clock.Now()
	pd, err := s.users.RequestDeletion(ctx, uid, domain.DeletionDue(t, now, time.Time{}, s.cfg.DeletionCoolingOff))
	if err != nil {
		if domain.IsKind(err, domain.KindUserNotFound) {
			return d, err
		}
		return d, &domain.Error{Kind: domain.KindDeletionFailed, Err: err}
	}
	d = DeletionScheduled{UID: pd.UID, UserDomain: pd.UserDomain, DueAt: pd.DueAt}
	if err := s.endSessionsForDeletion(ctx, uid, now); err != nil {
		// The deletion stands (a retry is idempotent; the erasure ends the
		// sessions anyway), but the client must not believe its sessions ended.
		return d, &domain.Error{Kind: domain.KindDeletionFailed, Err: err}
	}
	if domain.DeletionIsDue(pd.DueAt, now) {
		// Due now: erase within the request. A failure leaves it to the
		// erasure job (the deletion is recorded, so the answer is 200).
		_, erased, eerr := s.eraseAccount(ctx, uid)
		if eerr != nil {
			s.log.WarnContext(ctx, "erasure at request failed; the erasure job retries it", slog.String("uid", safeLog(uid)),
				slog.String("error", eerr.Error()))
		}
		if eerr == nil && !erased {
			// Another instance's erasure job may have been faster.
			_, _, lerr := s.users.UserWithWeChat(ctx, uid, "")
			erased = domain.IsKind(lerr, domain.KindUserNotFound)
		}
		d.Erased = erased
		s.kickDispatcher()
	}
	return d, nil
}

// endSessionsForDeletion ends every session of uid before its account is
// erased, durably and by scope: one user-scope revocation ("every session of
// uid that started at or before now has ended", SessionRepository.RevokeScope)
// committed before any session row is deleted. The revocation row is not a
// session's: it outlives the erasure of the session rows (until the purge
// drops it, once no session it covers can be alive), so a token of an erased
// user stays refused on every instance, also one that starts after the
// erasure, and this instance's cache has it at once.
func (s *core) endSessionsForDeletion(ctx context.Context, uid string, now time.Time) error {
	_, userDomain, err := s.sessions.RevokeScope(ctx, ScopeUser, uid, now)
	if err != nil {
		return err
	}
	if userDomain != "" {
		s.revoked.revokeUser(uid, now)
	}
	return nil
}

// eraseAccount ends uid's sessions (revoke before delete) and erases the
// account if its deletion is still due.
func (s *core) eraseAccount(ctx context.Context, uid string) (ErasedUser, bool, error) {
	now := s.clock.Now()
	if err := s.endSessionsForDeletion(ctx, uid, now); err != nil {
		return ErasedUser{}, false, fmt.Errorf("end the sessions of %s before its erasure: %w", uid, err)
	}
	u, erased, err := s.users.EraseUser(ctx, uid, now)
	if err != nil {
		return ErasedUser{}, false, fmt.Errorf("erase %s: %w", uid, err)
	}
	if erased {
		s.log.InfoContext(ctx, "account erased", slog.String("uid", safeLog(uid)), slog.String("userDomain", u.UserDomain))
		s.record(ctx, AuditEvent{Event: AuditErased, UserDomain: u.UserDomain, UID: safeLog(uid)})
	}
	return u, erased, nil
}

// EraseDueAccounts runs one round of the erasure job: it erases at most 100
// accounts whose deletion is due, each in its own transaction (one that a
// login cancelled meanwhile, or that another instance erased, is skipped). It
// returns how many it erased. Every instance may run it: an account is
// erased once, under its row's lock.
func (s *core) EraseDueAccounts(ctx context.Context) (int, error) {
	uids, err := s.users.DueDeletions(ctx, s.clock.Now(), erasureBatch)
	if err != nil {
		return 0, internal(err)
	}
	n := 0
	var errs []error
	for _, uid := range uids {
		if ctx.Err() != nil {
			break
		}
		_, erased, err := s.eraseAccount(ctx, uid)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if erased {
			n++
		}
	}
	if n > 0 {
		s.kickDispatcher()
	}
	return n, internal(errors.Join(errs...))
}

// DeliverErasures runs one round of the outbox dispatcher: it claims the
// erasure notices due for delivery, calls every listener on each, removes a
// notice when all of them succeeded and otherwise retries it later with an
// exponential backoff. It returns how many notices it delivered.
func (s *core) DeliverErasures(ctx context.Context) (int, error) {
	now := s.clock.Now()
	notices, err := s.users.ClaimErasureNotices(ctx, now, now.Add(outboxClaim), outboxBatch)
	if err != nil {
		return 0, internal(err)
	}
	s.erasure.mu.RLock()
	listeners := append([]ErasureListener(nil), s.erasure.listeners...)
	s.erasure.mu.RUnlock()
	delivered := 0
	var errs []error
	for _, n := range notices {
		if err := announce(ctx, listeners, n.User); err != nil {
			at := s.clock.Now().Add(outboxBackoff(n.Attempts))
			s.log.WarnContext(ctx, "erasure announcement failed; retried later", slog.String("uid", safeLog(n.User.UID)),
				slog.Int("attempts", n.Attempts+1), slog.Time("retryAt", at), slog.String("error", err.Error()))
			if rerr := s.users.RetryErasureNotice(ctx, n.ID, at); rerr != nil {
				errs = append(errs, rerr)
			}
			continue
		}
		if err := s.users.CompleteErasureNotice(ctx, n.ID); err != nil {
			errs = append(errs, err) // announced again after the claim: at least once
			continue
		}
		delivered++
	}
	return delivered, internal(errors.Join(errs...))
}

// announce calls every listener; a panic is a failure like an error.
func announce(ctx context.Context, listeners []ErasureListener, u ErasedUser) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("erasure listener panicked: %v", v)
		}
	}()
	var errs []error
	for _, l := range listeners {
		if lerr := l(ctx, u); lerr != nil {
			errs = append(errs, lerr)
		}
	}
	return errors.Join(errs...)
}

// outboxBackoff is the wait before the next delivery after attempts failed
// ones: 1 s, 2 s, 4 s, ... at most 10 minutes.
func outboxBackoff(attempts int) time.Duration {
	if attempts >= 10 {
		return outboxMaxBackoff
	}
	return min(time.Second<<max(attempts, 0), outboxMaxBackoff)
}

func (s *core) kickDispatcher() {
	select {
	case s.erasure.kick <- struct{}{}:
	default:
	}
}

// runErasure erases due accounts and delivers the outbox every
// ErasureInterval, and delivers at once after an erasure, until ctx ends.
func (s *core) runErasure(ctx context.Context) {
	t := time.NewTicker(s.cfg.ErasureInterval)
	defer t.Stop()
	for {
		if n, err := s.EraseDueAccounts(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "erasure round failed", slog.Int("erased", n), slog.String("error", err.Error()))
		}
		if n, err := s.DeliverErasures(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "erasure delivery round failed", slog.Int("delivered", n), slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.erasure.kick:
		}
	}
}
