package repotest

import (
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
)

func (s suite) ipUnblocks(t *testing.T) {
	s.run(t, "AddAndListInOrder", func(f *fixture) {
		r := f.IPUnblocks
		a, err := r.AddIPUnblock(f.ctx, "192.0.2.7", at(2*time.Second))
		if err != nil {
			f.t.Fatalf("AddIPUnblock: %v", err)
		}
		if a.ID <= 0 || a.IP != "192.0.2.7" || !a.RequestedAt.Equal(at(2*time.Second)) {
			f.t.Fatalf("AddIPUnblock = %+v", a)
		}
		// Out of time order, and two at the same instant (ordered by id).
		b := f.addUnblock("2001:db8:1:2::/64", at(time.Second))
		c := f.addUnblock("192.0.2.8", at(2*time.Second))
		d := f.addUnblock("192.0.2.9", at(3*time.Second))
		if b.ID <= a.ID || c.ID <= b.ID || d.ID <= c.ID {
			f.t.Fatalf("ids must grow: %d %d %d %d", a.ID, b.ID, c.ID, d.ID)
		}
		f.wantUnblocks("from the start", at(0), 0, 10, b, a, c, d)
		f.wantUnblocks("at or after an instant (id 0)", at(2*time.Second), 0, 10, a, c, d)
		f.wantUnblocks("strictly after a cursor", a.RequestedAt, a.ID, 10, c, d)
		f.wantUnblocks("a page", at(0), 0, 2, b, a)
		f.wantUnblocks("the next page", a.RequestedAt, a.ID, 2, c, d)
		f.wantUnblocks("after the last", d.RequestedAt, d.ID, 10)
	})
	s.run(t, "RefusesBadKeys", func(f *fixture) {
		for _, ip := range []string{"", strings.Repeat("1", 65)} {
			if _, err := f.IPUnblocks.AddIPUnblock(f.ctx, ip, at(0)); err == nil {
				f.t.Errorf("AddIPUnblock(%q): want an error", ip)
			}
		}
		f.wantUnblocks("nothing stored", at(-time.Hour), 0, 10)
	})
	s.run(t, "PurgeOldestFirstInBatches", func(f *fixture) {
		r := f.IPUnblocks
		var old []application.IPUnblock
		for i := range 5 {
			old = append(old, f.addUnblock("192.0.2.1", at(time.Duration(i)*time.Second)))
		}
		keep := f.addUnblock("192.0.2.2", at(time.Minute))
		if n, err := r.PurgeIPUnblocks(f.ctx, at(time.Minute), 2); err != nil || n != 2 {
			f.t.Fatalf("PurgeIPUnblocks batch of 2 = %d, %v", n, err)
		}
		f.wantUnblocks("the two oldest gone", at(0), 0, 10, old[2], old[3], old[4], keep)
		if n, err := r.PurgeIPUnblocks(f.ctx, at(time.Minute), 10); err != nil || n != 3 {
			f.t.Fatalf("PurgeIPUnblocks of the rest = %d, %v", n, err)
		}
		if n, err := r.PurgeIPUnblocks(f.ctx, at(time.Minute), 10); err != nil || n != 0 {
			f.t.Fatalf("PurgeIPUnblocks again = %d, %v; a request at the cutoff is kept", n, err)
		}
		f.wantUnblocks("the one at the cutoff kept", at(0), 0, 10, keep)
	})
}

func (f *fixture) addUnblock(ip string, when time.Time) application.IPUnblock {
	f.t.Helper()
	u, err := f.IPUnblocks.AddIPUnblock(f.ctx, ip, when)
	if err != nil {
		f.t.Fatalf("AddIPUnblock(%q): %v", ip, err)
	}
	return u
}

func (f *fixture) wantUnblocks(what string, after time.Time, id int64, limit int, want ...application.IPUnblock) {
	f.t.Helper()
	got, err := f.IPUnblocks.IPUnblocksAfter(f.ctx, after, id, limit)
	if err != nil {
		f.t.Fatalf("%s: IPUnblocksAfter: %v", what, err)
	}
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].ID == want[i].ID && got[i].IP == want[i].IP && got[i].RequestedAt.Equal(want[i].RequestedAt)
	}
	if !ok {
		f.t.Fatalf("%s: IPUnblocksAfter(%s, %d, %d) = %+v, want %+v", what, after.Format(time.RFC3339Nano), id, limit, got, want)
	}
}
