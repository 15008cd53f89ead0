package repotest

import (
	"sync"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func (s suite) deletion(t *testing.T) {
	s.run(t, "RequestDeletionKeepsTheEarlierDueTime", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		f.login(d.ID(), f.identity("wx-app-1", "o-alice", ""), "uid-alice", at(0))
		_, err := f.Users.RequestDeletion(f.ctx, "uid-nobody", at(time.Hour))
		wantKind(f.t, "RequestDeletion of an unknown user", err, domain.KindUserNotFound)

		p, err := f.Users.RequestDeletion(f.ctx, "uid-alice", at(7*24*time.Hour))
		noErr(f.t, "RequestDeletion", err)
		if p.UID != "uid-alice" || p.UserDomain != d.Name() {
			f.t.Errorf("pending deletion %+v, want uid-alice of %s", p, d.Name())
		}
		sameTime(f.t, "due", p.DueAt, at(7*24*time.Hour))
		p, err = f.Users.RequestDeletion(f.ctx, "uid-alice", at(8*24*time.Hour))
		noErr(f.t, "RequestDeletion again", err)
		sameTime(f.t, "due after a later request", p.DueAt, at(7*24*time.Hour))
		p, err = f.Users.RequestDeletion(f.ctx, "uid-alice", at(time.Minute))
		noErr(f.t, "RequestDeletion sooner", err)
		sameTime(f.t, "due after a sooner request", p.DueAt, at(time.Minute))

		due, err := f.Users.DueDeletions(f.ctx, at(time.Minute-time.Microsecond), 10)
		noErr(f.t, "DueDeletions", err)
		if len(due) != 0 {
			f.t.Errorf("due before its time: %v", due)
		}
		due, err = f.Users.DueDeletions(f.ctx, at(time.Minute), 10)
		noErr(f.t, "DueDeletions", err)
		if len(due) != 1 || due[0] != "uid-alice" {
			f.t.Errorf("due at its time: %v, want [uid-alice]", due)
		}
	})
	s.run(t, "LoginCancelsAPendingDeletion", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		id := f.identity("wx-app-1", "o-alice", "u-alice")
		if r := f.record(d.ID(), id, "uid-alice", at(0)); r.DeletionCancelled {
			f.t.Error("a first login cancelled a deletion")
		}
		if r := f.record(d.ID(), id, "uid-unused", at(time.Minute)); r.DeletionCancelled {
			f.t.Error("a login without a pending deletion says it cancelled one")
		}
		_, err := f.Users.RequestDeletion(f.ctx, "uid-alice", at(time.Hour))
		noErr(f.t, "RequestDeletion", err)
		r := f.record(d.ID(), id, "uid-unused", at(2*time.Minute))
		if !r.DeletionCancelled || r.User.ID() != "uid-alice" || r.Outcome.Created() {
			f.t.Fatalf("login during the cooling-off: cancelled=%t uid=%s created=%t; want cancelled, uid-alice",
				r.DeletionCancelled, r.User.ID(), r.Outcome.Created())
		}
		due, err := f.Users.DueDeletions(f.ctx, at(48*time.Hour), 10)
		noErr(f.t, "DueDeletions", err)
		if len(due) != 0 {
			f.t.Errorf("a cancelled deletion is still due: %v", due)
		}
		_, erased, err := f.Users.EraseUser(f.ctx, "uid-alice", at(48*time.Hour))
		noErr(f.t, "EraseUser", err)
		if erased {
			f.t.Error("EraseUser erased a user whose deletion was cancelled")
		}
		if r := f.record(d.ID(), id, "uid-unused", at(3*time.Minute)); r.DeletionCancelled {
			f.t.Error("a second login cancelled again")
		}
		// Another openid joining through the unionid cancels too: it is the same person.
		_, err = f.Users.RequestDeletion(f.ctx, "uid-alice", at(time.Hour))
		noErr(f.t, "RequestDeletion", err)
		r = f.record(d.ID(), f.identity("wx-app-2", "o-alice-2", "u-alice"), "uid-unused", at(4*time.Minute))
		if !r.DeletionCancelled || r.User.ID() != "uid-alice" {
			f.t.Errorf("a login joined by unionid: cancelled=%t uid=%s; want cancelled, uid-alice", r.DeletionCancelled, r.User.ID())
		}
	})
	s.run(t, "DisabledUsersLoginCancelsNoDeletion", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		id := f.identity("wx-app-1", "o-alice", "u-alice")
		f.record(d.ID(), id, "uid-alice", at(0))
		_, err := f.Users.RequestDeletion(f.ctx, "uid-alice", at(time.Hour))
		noErr(f.t, "RequestDeletion", err)
		_, err = f.Users.SetUserDisabled(f.ctx, "uid-alice", true, at(time.Minute))
		noErr(f.t, "SetUserDisabled", err)
		for _, who := range []domain.WeChatIdentity{id, f.identity("wx-app-2", "o-alice-2", "u-alice")} {
			_, err = f.Users.RecordLogin(f.ctx, f.loginRecord(d.ID(), who, "uid-unused", at(2*time.Minute)))
			wantKind(f.t, "a disabled user's login during the cooling-off", err, domain.KindUserDisabled)
		}
		due, err := f.Users.DueDeletions(f.ctx, at(time.Hour), 10)
		noErr(f.t, "DueDeletions", err)
		if len(due) != 1 || due[0] != "uid-alice" {
			f.t.Fatalf("due deletions after a disabled user's logins = %v; want uid-alice's, not cancelled", due)
		}
		_, err = f.Users.SetUserDisabled(f.ctx, "uid-alice", false, at(3*time.Minute))
		noErr(f.t, "SetUserDisabled(false)", err)
		if r := f.record(d.ID(), id, "uid-unused", at(4*time.Minute)); !r.DeletionCancelled || r.User.ID() != "uid-alice" {
			f.t.Fatalf("the enabled user's login: cancelled=%t uid=%s; want the still pending deletion cancelled", r.DeletionCancelled, r.User.ID())
		}
	})

	s.run(t, "EraseUserDeletesEverythingAndAddsTheOutboxRow", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		id := f.identity("wx-app-1", "o-alice", "u-alice")
		r1 := f.record(d.ID(), id, "uid-alice", at(0))
		r2 := f.record(d.ID(), f.identity("wx-app-2", "o-alice-2", "u-alice"), "uid-unused", at(time.Minute))
		bob := f.record(d.ID(), f.identity("wx-app-1", "o-bob", "u-bob"), "uid-bob", at(time.Minute))
		nick, city := "Alice", "Hangzhou"
		noErr(f.t, "UpdateUserProfile", f.Users.UpdateUserProfile(f.ctx, "uid-alice", domain.ProfileUpdate{NikeName: &nick, City: &city}))
		_, erased, err := f.Users.EraseUser(f.ctx, "uid-alice", at(time.Hour))
		noErr(f.t, "EraseUser", err)
		if erased {
			f.t.Fatal("EraseUser erased a user without a pending deletion")
		}
		_, err = f.Users.RequestDeletion(f.ctx, "uid-alice", at(time.Hour))
		noErr(f.t, "RequestDeletion", err)
		if _, erased, _ := f.Users.EraseUser(f.ctx, "uid-alice", at(time.Hour-time.Microsecond)); erased {
			f.t.Fatal("EraseUser erased before the due time")
		}
		e, erased, err := f.Users.EraseUser(f.ctx, "uid-alice", at(time.Hour))
		noErr(f.t, "EraseUser", err)
		if !erased || e.UID != "uid-alice" || e.UserDomain != d.Name() {
			f.t.Fatalf("EraseUser = %+v, %t; want uid-alice of %s erased", e, erased, d.Name())
		}
		sameTime(f.t, "erased at", e.ErasedAt, at(time.Hour))
		if _, erased, err := f.Users.EraseUser(f.ctx, "uid-alice", at(2*time.Hour)); err != nil || erased {
			f.t.Errorf("EraseUser again: %t, %v; want nothing done", erased, err)
		}
		_, _, err = f.Users.UserWithWeChat(f.ctx, "uid-alice", "wx-app-1")
		wantKind(f.t, "UserWithWeChat of an erased user", err, domain.KindUserNotFound)
		_, err = f.Users.UserProfile(f.ctx, "uid-alice")
		wantKind(f.t, "UserProfile of an erased user", err, domain.KindUserNotFound)
		for _, sid := range []domain.SessionID{r1.Session.ID(), r2.Session.ID()} {
			_, err := f.Sessions.SessionByID(f.ctx, sid)
			wantKind(f.t, "SessionByID of an erased user's session", err, domain.KindTokenInvalid)
		}
		if _, err := f.Sessions.SessionByID(f.ctx, bob.Session.ID()); err != nil {
			f.t.Errorf("another user's session after the erasure: %v", err)
		}
		// Both openids and the unionid are free again: the person is a new user.
		for i, who := range []domain.WeChatIdentity{f.identity("wx-app-2", "o-alice-2", "u-alice"), id} {
			r := f.record(d.ID(), who, "uid-alice-again", at(3*time.Hour))
			if r.User.ID() != "uid-alice-again" || (i == 0) != r.Outcome.Created() {
				f.t.Errorf("login %d after the erasure: uid %s created %t; want uid-alice-again", i, r.User.ID(), r.Outcome.Created())
			}
		}
		if p, err := f.Users.UserProfile(f.ctx, "uid-alice-again"); err != nil || p != (domain.Profile{}) {
			f.t.Errorf("the new user's profile = %+v, %v; want none (the erased one's is gone)", p, err)
		}

		notices, err := f.Users.ClaimErasureNotices(f.ctx, at(time.Hour), at(2*time.Hour), 10)
		noErr(f.t, "ClaimErasureNotices", err)
		if len(notices) != 1 || notices[0].User.UID != "uid-alice" || notices[0].User.UserDomain != d.Name() || notices[0].Attempts != 0 {
			f.t.Fatalf("notices = %+v; want the one of uid-alice", notices)
		}
		sameTime(f.t, "notice erased at", notices[0].User.ErasedAt, at(time.Hour))
		if again, _ := f.Users.ClaimErasureNotices(f.ctx, at(time.Hour), at(2*time.Hour), 10); len(again) != 0 {
			f.t.Errorf("a claimed notice is claimed again before its claim ends: %+v", again)
		}
		noErr(f.t, "RetryErasureNotice", f.Users.RetryErasureNotice(f.ctx, notices[0].ID, at(90*time.Minute)))
		if early, _ := f.Users.ClaimErasureNotices(f.ctx, at(89*time.Minute), at(3*time.Hour), 10); len(early) != 0 {
			f.t.Errorf("a retried notice is due before its retry time: %+v", early)
		}
		retried, err := f.Users.ClaimErasureNotices(f.ctx, at(90*time.Minute), at(3*time.Hour), 10)
		noErr(f.t, "ClaimErasureNotices", err)
		if len(retried) != 1 || retried[0].Attempts != 1 {
			f.t.Fatalf("retried notices = %+v; want one with 1 attempt", retried)
		}
		noErr(f.t, "CompleteErasureNotice", f.Users.CompleteErasureNotice(f.ctx, retried[0].ID))
		if left, _ := f.Users.ClaimErasureNotices(f.ctx, at(100*time.Hour), at(101*time.Hour), 10); len(left) != 0 {
			f.t.Errorf("a completed notice is claimed: %+v", left)
		}
	})
	s.run(t, "ConcurrentLoginsAndErasureLeaveOneConsistentOutcome", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		id := f.identity("wx-app-1", "o-alice", "u-alice")
		f.record(d.ID(), id, "uid-alice", at(0))
		_, err := f.Users.RequestDeletion(f.ctx, "uid-alice", at(time.Minute))
		noErr(f.t, "RequestDeletion", err)
		const n = 8
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			results  []application.RecordedLogin
			erasedOK bool
			errs     []error
		)
		for i := range n + 1 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i == n {
					_, erased, err := f.Users.EraseUser(f.ctx, "uid-alice", at(time.Hour))
					mu.Lock()
					erasedOK, errs = erased, append(errs, err)
					mu.Unlock()
					return
				}
				r, err := f.Users.RecordLogin(f.ctx, f.loginRecord(d.ID(), id, "uid-new", at(2*time.Hour)))
				mu.Lock()
				results, errs = append(results, r), append(errs, err)
				mu.Unlock()
			}()
		}
		wg.Wait()
		for _, err := range errs {
			noErr(f.t, "concurrent login or erasure", err)
		}
		uids := map[string]bool{}
		cancelled := 0
		for _, r := range results {
			uids[r.User.ID()] = true
			if r.DeletionCancelled {
				cancelled++
			}
		}
		switch {
		case erasedOK:
			// Every login came after the erasure: the person is one new user.
			if len(uids) != 1 || !uids["uid-new"] || cancelled != 0 {
				f.t.Errorf("erased: logins gave %v, %d cancelled; want only uid-new, none cancelled", uids, cancelled)
			}
		default:
			// A login came first and cancelled the deletion: one login says so.
			if len(uids) != 1 || !uids["uid-alice"] || cancelled != 1 {
				f.t.Errorf("not erased: logins gave %v, %d cancelled; want uid-alice, exactly one cancelled", uids, cancelled)
			}
		}
	})
	s.run(t, "ConcurrentErasuresEraseOnceAndConcurrentClaimsSplit", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		f.record(d.ID(), f.identity("wx-app-1", "o-alice", "u-alice"), "uid-alice", at(0))
		f.record(d.ID(), f.identity("wx-app-1", "o-bob", ""), "uid-bob", at(0))
		for _, uid := range []string{"uid-alice", "uid-bob"} {
			_, err := f.Users.RequestDeletion(f.ctx, uid, at(time.Minute))
			noErr(f.t, "RequestDeletion", err)
		}
		const n = 6
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			erased = map[string]int{}
			errs   []error
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				uid := []string{"uid-alice", "uid-bob"}[i%2]
				_, ok, err := f.Users.EraseUser(f.ctx, uid, at(time.Hour))
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, err)
				if ok {
					erased[uid]++
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			noErr(f.t, "concurrent EraseUser", err)
		}
		if erased["uid-alice"] != 1 || erased["uid-bob"] != 1 {
			f.t.Fatalf("erasures per user: %v; want exactly one each", erased)
		}
		claimed := map[int64]int{}
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := f.Users.ClaimErasureNotices(f.ctx, at(time.Hour), at(2*time.Hour), 1+i%2)
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, err)
				for _, nt := range got {
					claimed[nt.ID]++
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			noErr(f.t, "concurrent ClaimErasureNotices", err)
		}
		if len(claimed) != 2 {
			f.t.Fatalf("claimed notices %v; want the two erasures", claimed)
		}
		for id, c := range claimed {
			if c != 1 {
				f.t.Errorf("notice %d claimed %d times by concurrent dispatchers, want once", id, c)
			}
		}
	})
}
