package postgres

import (
	"context"
	"testing"
)

// TestPhoneColumnsAreWrittenTogether: since 00021 a trigger, not a CHECK,
// keeps a user's sealed phone and its hash both set or both NULL; an UPDATE
// that would leave one without the other is refused as the CHECK refused it.
// The CHECK is gone (every login's statement rebuilt it), and no BEFORE ROW
// UPDATE trigger sits on the users table: PostgreSQL locks the old row for
// one before it looks at its columns, which would add a row lock and its WAL
// record to every returning login's UPDATE.
func TestPhoneColumnsAreWrittenTogether(t *testing.T) {
	e := newTestEnv(t)
	if n := e.count(t, `SELECT count(*) FROM pg_constraint WHERE conrelid = 'enduser_users'::regclass AND contype = 'c'`); n != 0 {
		t.Errorf("enduser_users has %d CHECK constraints; want none (each is rebuilt on every statement that writes the table)", n)
	}
	// pg_trigger.tgtype: 1 a row trigger, 2 BEFORE, 16 on UPDATE.
	if n := e.count(t, `SELECT count(*) FROM pg_trigger WHERE tgrelid = 'enduser_users'::regclass AND tgtype & 19 = 19`); n != 0 {
		t.Errorf("enduser_users has %d BEFORE ROW UPDATE triggers; want none (each locks every updated row)", n)
	}
	d := e.createUserDomain(t, "C.DM.1.1")
	u, _ := e.login(t, d.ID(), identity(t, "wx-app", randomHex(8), ""), testTime())
	ctx := context.Background()
	for _, bad := range []string{
		`UPDATE enduser_users SET phone_enc = '\x01' WHERE id = $1`,
		`UPDATE enduser_users SET phone_hash = '\x02' WHERE id = $1`,
		`UPDATE enduser_users SET phone_enc = '\x01', phone_hash = NULL WHERE id = $1`,
	} {
		if _, err := e.sql.ExecContext(ctx, bad, u.ID()); !hasConstraint(err, "23514", "enduser_users_phone_both") {
			t.Errorf("%s: %v; want check_violation (23514) on enduser_users_phone_both", bad, err)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM enduser_users WHERE id = $1 AND phone_enc IS NULL AND phone_hash IS NULL`, u.ID()); n != 1 {
		t.Fatalf("the user's phone columns after the refused writes: %d rows with neither; want 1", n)
	}
	for _, good := range []string{
		`UPDATE enduser_users SET phone_enc = '\x01', phone_hash = '\x02' WHERE id = $1`,
		`UPDATE enduser_users SET phone_enc = '\x03' WHERE id = $1`, // a re-seal: the hash stays
		`UPDATE enduser_users SET phone_enc = NULL, phone_hash = NULL WHERE id = $1`,
		`UPDATE enduser_users SET last_login_at = last_login_at WHERE id = $1`,
	} {
		if _, err := e.sql.ExecContext(ctx, good, u.ID()); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM enduser_users WHERE id = $1 AND phone_enc IS NULL AND phone_hash IS NULL`, u.ID()); n != 1 {
		t.Fatalf("the user's phone columns after the valid writes: %d rows with neither; want 1", n)
	}
}
