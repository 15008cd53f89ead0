package postgres

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/secretbox"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func keyring(t *testing.T, seeds ...byte) *secretbox.Box {
	t.Helper()
	keys := make([][]byte, len(seeds))
	for n, s := range seeds {
		keys[n] = bytes.Repeat([]byte{s}, secretbox.KeySize)
	}
	b, err := secretbox.NewKeyring(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sealV1 writes the format of the versions before key rotation (no key id).
func sealV1(t *testing.T, seed byte, pt []byte, aad string) []byte {
	t.Helper()
	block, _ := aes.NewCipher(bytes.Repeat([]byte{seed}, secretbox.KeySize))
	aead, _ := cipher.NewGCM(block)
	out := make([]byte, 1+aead.NonceSize())
	out[0] = 1
	_, _ = rand.Read(out[1:])
	return aead.Seal(out, out[1:], pt, []byte(aad))
}

// TestReencryptSecrets rotates a database whose values are under key 1 (one
// of them in the old format) to key 2, in batches smaller than the table,
// and reads every value back with key 2 alone.
func TestReencryptSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t) // key 1
	_, d, sess, signing := storedSecrets(t, e)
	// A previous secret (a rotation with an overlap) and more sessions than one batch.
	rotated, err := e.store.RotateUserDomainSecret(ctx, d.Name(), func(cur domain.UserDomain) (domain.UserDomain, error) {
		return cur.RotateSecret("the-new-secret-of-the-domain-0123456789", testTime(), time.Hour)
	})
	if err != nil {
		t.Fatal(err)
	}
	sessions := []domain.Session{sess}
	for range 23 {
		sessions = append(sessions, e.createSession(t, d, testTime()))
	}
	// One session row as the versions before this one wrote it.
	if _, err := e.sql.Exec(`UPDATE enduser_sessions SET refresh_key_enc = $1 WHERE id = $2`,
		sealV1(t, 1, sessions[5].RefreshKey(), sessionAAD(sessions[5].ID().String())), sessions[5].ID().String()); err != nil {
		t.Fatal(err)
	}

	// A phone number (and so the phone hash key) sealed under key 1.
	phone := domain.PhoneNumber{CountryCode: "86", Number: "13800138000"}
	if _, err := e.store.BindPhone(ctx, sessions[0].UserID(), phone); err != nil {
		t.Fatal(err)
	}

	ring := NewStore(e.store.db, keyring(t, 2, 1))
	before, err := ring.SecretsNotUnderPrimary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"enduser_user_domains.secret_enc": 1, "enduser_user_domains.previous_secret_enc": 1,
		"enduser_official_accounts.app_secret_enc": 1, "enduser_signing_keys.private_key_enc": 1,
		"enduser_refresh_keys.secret_enc": 1, "enduser_sessions.refresh_key_enc": 24,
		"enduser_audit_keys.key_enc": 0, // the audit key is stored by the first start with the trail on
		"enduser_users.phone_enc":    1, "enduser_phone_hash_keys.key_enc": 1}
	for col, n := range want {
		if before[col] != n {
			t.Errorf("before: %s has %d values not under the primary, want %d", col, before[col], n)
		}
	}
	if len(before) != len(want) {
		t.Errorf("SecretsNotUnderPrimary covers %v, want %v", before, want)
	}
	batches := 0
	res, err := ring.ReencryptSecrets(ctx, 5, func(application.ReencryptProgress) { batches++ })
	if err != nil {
		t.Fatal(err)
	}
	var rewritten int64
	for _, p := range res {
		rewritten += p.Rewritten
		if p.Skipped != 0 {
			t.Errorf("%s: %d skipped with no concurrent writer", p.Column, p.Skipped)
		}
	}
	if rewritten != 31 || batches < 24/5 {
		t.Fatalf("rewrote %d values in %d batches; want 31 in several: %+v", rewritten, batches, res)
	}
	after, err := ring.SecretsNotUnderPrimary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for col, n := range after {
		if n != 0 {
			t.Errorf("after: %s still has %d values not under the primary", col, n)
		}
	}

	// Key 2 alone reads everything, with the same AADs as before.
	alone := NewStore(e.store.db, newBox(t, 2))
	got, err := alone.UserDomainByName(ctx, d.Name())
	if err != nil || got.Secret() != rotated.Secret() {
		t.Fatalf("user domain with the new key alone: %v", err)
	}
	if prev, _ := got.PreviousSecret(); prev != d.Secret() {
		t.Fatalf("previous secret after the rotation = %q, want %q", prev, d.Secret())
	}
	if a, err := application.AppOfKind(ctx, alone, d.ID(), "wx-app-1", domain.AppKindOfficialAccount); err != nil || a.AppSecret() != "plain-app-secret-0123456789" {
		t.Fatalf("official account: %v", err)
	}
	for _, s := range sessions {
		if got, err := alone.SessionByID(ctx, s.ID()); err != nil || !bytes.Equal(got.RefreshKey(), s.RefreshKey()) {
			t.Fatalf("session %s: %v", s.ID(), err)
		}
	}
	if keys, err := alone.SigningKeys(ctx, testTime()); err != nil || len(keys) != 1 || !bytes.Equal(keys[0].PrivateKey, signing.PrivateKey) {
		t.Fatalf("signing keys: %v", err)
	}
	if keys, err := alone.RefreshMasterKeys(ctx); err != nil || len(keys) != 1 {
		t.Fatalf("refresh keys: %v", err)
	}
	if got, err := alone.UserPhone(ctx, sessions[0].UserID()); err != nil || got != phone {
		t.Fatalf("phone with the new key alone: %+v, %v", got, err)
	}
	// The phone hash key outlived the rotation: the number is still taken.
	if _, err := alone.BindPhone(ctx, sessions[1].UserID(), phone); !domain.IsKind(err, domain.KindPhoneTaken) {
		t.Fatalf("the bound number for another user after the rotation: %v, want phone_taken", err)
	}
	// The old key alone no longer reads them: the values really moved.
	if _, err := e.store.UserDomainByName(ctx, d.Name()); !errors.Is(err, secretbox.ErrUnknownKey) {
		t.Fatalf("key 1 alone after the rotation: %v", err)
	}
	// A second run finds nothing to do.
	res, err = ring.ReencryptSecrets(ctx, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res {
		if p.Rewritten != 0 {
			t.Errorf("second run rewrote %d of %s", p.Rewritten, p.Column)
		}
	}
}

// TestReencryptSecretsNeverOverwritesAConcurrentWrite: a value changed
// between the batch's read and its write keeps the writer's value (the
// compare-and-swap), whoever wrote it; the count afterwards shows a stale
// writer's value, and a second run moves it.
func TestReencryptSecretsNeverOverwritesAConcurrentWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	stale := e.createSession(t, d, testTime())
	ring := NewStore(e.store.db, keyring(t, 2, 1))
	var once sync.Once
	var rotated domain.UserDomain
	ring.beforeReencryptWrite = func(column string) {
		if column != "enduser_user_domains.secret_enc" {
			return
		}
		once.Do(func() {
			// A rotation by an instance that runs with the new key list...
			var err error
			rotated, err = ring.RotateUserDomainSecret(ctx, d.Name(), func(cur domain.UserDomain) (domain.UserDomain, error) {
				return cur.RotateSecret("rotated-during-the-re-encryption-0123456789", testTime(), 0)
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	var staleOnce sync.Once
	inner := ring.beforeReencryptWrite
	ring.beforeReencryptWrite = func(column string) {
		inner(column)
		if column == "enduser_sessions.refresh_key_enc" {
			// ...and a write by an instance still on the old key alone.
			staleOnce.Do(func() {
				if _, err := e.sql.Exec(`UPDATE enduser_sessions SET refresh_key_enc = $1 WHERE id = $2`,
					e.store.seal(stale.RefreshKey(), sessionAAD(stale.ID().String())), stale.ID().String()); err != nil {
					t.Error(err)
				}
			})
		}
	}
	res, err := ring.ReencryptSecrets(ctx, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]int64{}
	for _, p := range res {
		skipped[p.Column] = p.Skipped
	}
	if skipped["enduser_user_domains.secret_enc"] != 1 || skipped["enduser_sessions.refresh_key_enc"] != 1 {
		t.Fatalf("skipped = %v; want the two concurrently written values", skipped)
	}
	got, err := ring.UserDomainByName(ctx, d.Name())
	if err != nil || got.Secret() != rotated.Secret() {
		t.Fatalf("the concurrent rotation was overwritten by a stale re-encryption: %v (secret %q)", err, got.Secret())
	}
	left, err := ring.SecretsNotUnderPrimary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if left["enduser_sessions.refresh_key_enc"] != 1 || left["enduser_user_domains.secret_enc"] != 0 {
		t.Fatalf("left = %v; want the stale writer's session only", left)
	}
	ring.beforeReencryptWrite = nil
	if _, err := ring.ReencryptSecrets(ctx, 100, nil); err != nil {
		t.Fatal(err)
	}
	if left, _ = ring.SecretsNotUnderPrimary(ctx); left["enduser_sessions.refresh_key_enc"] != 0 {
		t.Fatalf("a second run left %v", left)
	}
}

// TestReencryptSecretsUnderConcurrentLogins re-encrypts while logins write
// new sessions (under the primary, as an instance on the new key list does):
// every session reads back with the new key alone.
func TestReencryptSecretsUnderConcurrentLogins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	d := e.createUserDomain(t, "C.DM.1.1")
	var ids sync.Map
	for range 40 {
		s := e.createSession(t, d, testTime())
		ids.Store(s.ID(), s.RefreshKey())
	}
	ring := NewStore(e.store.db, keyring(t, 2, 1))
	writer := testEnv{store: ring, sql: e.sql}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; n < 200 && !stop.Load(); n++ {
			s := writer.createSession(t, d, testTime())
			ids.Store(s.ID(), s.RefreshKey())
		}
	}()
	_, err := ring.ReencryptSecrets(ctx, 7, nil)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := ring.SecretsNotUnderPrimary(ctx); left["enduser_sessions.refresh_key_enc"] != 0 {
		t.Fatalf("left %v", left)
	}
	alone := NewStore(e.store.db, newBox(t, 2))
	n := 0
	ids.Range(func(k, v any) bool {
		n++
		got, err := alone.SessionByID(ctx, k.(domain.SessionID))
		if err != nil || !bytes.Equal(got.RefreshKey(), v.([]byte)) {
			t.Errorf("session %v: %v", k, err)
		}
		return true
	})
	if n < 41 {
		t.Fatalf("only %d sessions", n)
	}
}
