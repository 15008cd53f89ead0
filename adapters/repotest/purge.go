package repotest

import (
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// purge holds PurgeSessions to its contract: what a purge deletes and keeps,
// that every batch is bounded, and that one holder at a time purges.
func (s suite) purge(t *testing.T) {
	s.run(t, "PurgeDeletesEndedSessionsOnly", func(f *fixture) {
		cutoff := at(10 * time.Hour)
		live := f.session(30*24*time.Hour, 365*24*time.Hour)
		absolute := f.session(time.Hour, 2*time.Hour)     // both expiries before the cutoff
		sliding := f.session(time.Hour, 365*24*time.Hour) // slid out long ago, absolute far ahead
		atCutoff := f.session(10*time.Hour, 10*time.Hour) // ends exactly at the cutoff: kept
		revokedLongAgo := f.session(30*24*time.Hour, 365*24*time.Hour)
		revokedRecently := f.session(30*24*time.Hour, 365*24*time.Hour)
		f.revoke(revokedLongAgo.ID(), at(time.Hour), true)
		f.revoke(revokedRecently.ID(), cutoff, true)

		deleted := f.purgeAll("a", application.SessionPurge{Cutoff: cutoff, Limit: 2, Now: at(12 * time.Hour)})
		if deleted != 3 {
			f.t.Errorf("purged %d sessions, want 3 (absolute, sliding, revoked long ago)", deleted)
		}
		for name, sess := range map[string]domain.Session{"absolute": absolute, "sliding": sliding, "revoked long ago": revokedLongAgo} {
			if _, err := f.Sessions.SessionByID(f.ctx, sess.ID()); !domain.IsKind(err, domain.KindTokenInvalid) {
				f.t.Errorf("%s session: SessionByID after the purge = %v, want it gone", name, err)
			}
		}
		for _, sess := range []domain.Session{live, atCutoff, revokedRecently} {
			f.load(sess.ID())
		}
		if n := f.purgeAll("a", application.SessionPurge{Cutoff: cutoff, Limit: 2, Now: at(12 * time.Hour)}); n != 0 {
			f.t.Errorf("a second purge deleted %d sessions", n)
		}
	})
	s.run(t, "PurgeLeaseOneHolderAtATime", func(f *fixture) {
		dead := f.session(time.Hour, 2*time.Hour)
		p := application.SessionPurge{Cutoff: at(0), Limit: 10} // nothing is dead at at(0)
		f.purgeBatch("a", p, at(0), at(time.Minute), true)
		p.Cutoff = at(24 * time.Hour)
		if b := f.purgeBatch("b", p, at(30*time.Second), at(90*time.Second), false); b.Deleted != 0 {
			f.t.Errorf("a batch without the lease deleted %d sessions", b.Deleted)
		}
		f.load(dead.ID())
		f.purgeBatch("a", application.SessionPurge{Cutoff: at(0), Limit: 10}, at(30*time.Second), at(2*time.Minute), true) // renews
		f.purgeBatch("b", p, at(time.Minute+30*time.Second), at(3*time.Minute), false)
		if b := f.purgeBatch("b", p, at(2*time.Minute), at(3*time.Minute), true); b.Deleted != 1 { // a's lease has expired
			f.t.Errorf("the new holder's batch deleted %d sessions, want 1", b.Deleted)
		}
		f.purgeBatch("a", p, at(2*time.Minute+time.Second), at(4*time.Minute), false)
	})
}

// purgeBatch runs one batch as holder at now and checks whether it held the
// lease and stayed within its limit.
func (f *fixture) purgeBatch(holder string, p application.SessionPurge, now, leaseUntil time.Time, wantHeld bool) application.PurgeBatch {
	f.t.Helper()
	p.Holder, p.Now, p.LeaseUntil = holder, now, leaseUntil
	b, err := f.Sessions.PurgeSessions(f.ctx, p)
	noErr(f.t, "PurgeSessions", err)
	if b.Held != wantHeld {
		f.t.Fatalf("PurgeSessions(%s at %v): held = %t, want %t", holder, now, b.Held, wantHeld)
	}
	if b.Deleted > p.Limit || b.Swept > p.Limit {
		f.t.Errorf("a batch of limit %d deleted %d and swept %d sessions", p.Limit, b.Deleted, b.Swept)
	}
	return b
}

// purgeAll runs batches as the application does until the purge is done, and
// returns how many sessions they deleted.
func (f *fixture) purgeAll(holder string, p application.SessionPurge) int {
	f.t.Helper()
	total := 0
	for i := 0; ; i++ {
		if i == 100 {
			f.t.Fatal("the purge does not end")
		}
		b := f.purgeBatch(holder, p, p.Now, p.Now.Add(time.Minute), true)
		total += b.Deleted
		if b.Deleted < p.Limit && b.SweepDone {
			return total
		}
	}
}
