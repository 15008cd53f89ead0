package repotest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// identityCases replays domain.IdentityCases, the table of the rules of a
// login that the domain's test replays on DecideLogin: every login takes the
// step the table says (its outcome, or its refusal with nothing written),
// and afterwards the user, its binding, its session and the pending
// deletions are as the table says.
func (s suite) identityCases(t *testing.T) {
	for _, c := range domain.IdentityCases() {
		s.run(t, "IdentityCase/"+c.Name, func(f *fixture) {
			d := f.userDomain("C.DM.10271.5")
			registeredAt := map[string]time.Time{}
			disabled := map[string]bool{}
			for i, st := range c.Steps {
				what := fmt.Sprintf("step %d", i)
				if st.Change != domain.ChangeNone {
					f.change(st, disabled)
					f.wantPending(what, st.Pending)
					continue
				}
				if !f.replayLogin(what, d.ID(), st, registeredAt, disabled[st.User]) {
					continue
				}
				f.wantPending(what, st.Pending)
			}
		})
	}
}

// change applies a step's change to its user.
func (f *fixture) change(st domain.IdentityStep, disabled map[string]bool) {
	f.t.Helper()
	var err error
	switch st.Change {
	case domain.ChangeDisable, domain.ChangeEnable:
		disabled[st.User] = st.Change == domain.ChangeDisable
		_, err = f.Users.SetUserDisabled(f.ctx, st.User, disabled[st.User], at(st.At))
	case domain.ChangeRequestDeletion:
		_, err = f.Users.RequestDeletion(f.ctx, st.User, at(st.At))
	default:
		f.t.Fatalf("unknown change %d", st.Change)
	}
	noErr(f.t, fmt.Sprintf("change %d of %s", st.Change, st.User), err)
}

// replayLogin records a step's login and checks what it returned and what is
// stored afterwards; it reports false when the login went otherwise than
// the table says (the rest of the step is not checked).
func (f *fixture) replayLogin(what string, userDomainID int64, st domain.IdentityStep, registeredAt map[string]time.Time, disabled bool) bool {
	f.t.Helper()
	rec := f.loginRecord(userDomainID, f.identity(st.AppID, st.OpenID, st.UnionID), st.Candidate, at(st.At))
	r, err := f.Users.RecordLogin(f.ctx, rec)
	what = fmt.Sprintf("%s (%s/%s/%s)", what, st.AppID, st.OpenID, st.UnionID)
	if want := st.Step.Err(); want != nil {
		wantKind(f.t, what, err, domain.KindOf(want))
		_, err := f.Sessions.SessionByID(f.ctx, rec.Session.ID())
		wantKind(f.t, what+": the session of a refused login", err, domain.KindTokenInvalid)
	} else {
		noErr(f.t, what, err)
		if r.Outcome != st.Step.Outcome() || r.User.ID() != st.User || r.DeletionCancelled != st.Cancelled {
			f.t.Errorf("%s: %s of %s (cancelled %t), want %s of %s (cancelled %t)", what, r.Outcome, r.User.ID(), r.DeletionCancelled,
				st.Step.Outcome(), st.User, st.Cancelled)
			return false
		}
		if st.Step == domain.LoginStepRegistered {
			registeredAt[st.User] = at(st.At)
		}
		wantUser(f.t, what, r.User, st.User, userDomainID, registeredAt[st.User], at(st.LastLogin))
		if r.Session.UserID() != st.User || f.load(r.Session.ID()).UserID() != st.User {
			f.t.Errorf("%s: the session returned is %s's, want %s's", what, r.Session.UserID(), st.User)
		}
	}
	stored, w, err := f.Users.UserWithWeChat(f.ctx, st.User, st.AppID)
	noErr(f.t, "UserWithWeChat", err)
	status := domain.UserNormal
	if disabled {
		status = domain.UserDisabled
	}
	if stored.ID() != st.User || stored.Status() != status {
		f.t.Errorf("%s: stored user %s of status %d, want %s of status %d", what, stored.ID(), stored.Status(), st.User, status)
	}
	sameTime(f.t, what+" (stored): RegisteredAt", stored.RegisteredAt(), registeredAt[st.User])
	sameTime(f.t, what+" (stored): LastLoginAt", stored.LastLoginAt(), at(st.LastLogin))
	if st.Unbound {
		wantBinding(f.t, w, "", "", "")
	} else {
		wantBinding(f.t, w, st.AppID, st.OpenID, st.BindingUnion)
	}
	return true
}

// wantPending checks the users whose deletion is pending.
func (f *fixture) wantPending(what string, want []string) {
	f.t.Helper()
	got, err := f.Users.DueDeletions(f.ctx, at(365*24*time.Hour), 100)
	noErr(f.t, "DueDeletions", err)
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		f.t.Errorf("%s: deletions pending for %v, want %v", what, got, want)
	}
}
