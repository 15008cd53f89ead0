package postgres

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/iotplatform/enduser-auth/adapters/secretbox"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// storedSecrets creates one row of each kind that holds a secret and returns
// the plaintexts, keyed by the query that reads the row's raw ciphertext.
func storedSecrets(t *testing.T, e testEnv) (map[string][]byte, domain.UserDomain, domain.Session, domain.SigningKey) {
	t.Helper()
	ctx := context.Background()
	d := e.createUserDomain(t, "C.DM.1.1")
	acct, _ := domain.NewOfficialAccount(d.ID(), "wx-app-1", "plain-app-secret-0123456789")
	if err := e.store.PutWeChatApp(ctx, acct); err != nil {
		t.Fatal(err)
	}
	sess := e.createSession(t, d, testTime())
	key := newSigningKey(t, testTime())
	if _, err := e.store.AddSigningKey(ctx, key, false); err != nil {
		t.Fatal(err)
	}
	refreshKey := domain.NewRefreshMasterKey(1, testTime())
	if _, err := e.store.AddRefreshMasterKey(ctx, refreshKey); err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"SELECT secret_enc FROM enduser_refresh_keys":          refreshKey.Secret(),
		"SELECT secret_enc FROM enduser_user_domains":          []byte(d.Secret()),
		"SELECT app_secret_enc FROM enduser_official_accounts": []byte(acct.AppSecret()),
		"SELECT refresh_key_enc FROM enduser_sessions":         sess.RefreshKey(),
		"SELECT private_key_enc FROM enduser_signing_keys":     key.PrivateKey,
	}, d, sess, key
}

func TestSecretsAreEncryptedAtRest(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	secrets, _, _, _ := storedSecrets(t, e)
	for query, plain := range secrets {
		var raw []byte
		if err := e.sql.QueryRow(query).Scan(&raw); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		if len(raw) <= len(plain) || bytes.Contains(raw, plain) {
			t.Errorf("%s: the plaintext is stored in the clear (%d bytes stored)", query, len(raw))
		}
		// No 8-byte window of the plaintext may appear either.
		for i := 0; i+8 <= len(plain); i++ {
			if bytes.Contains(raw, plain[i:i+8]) {
				t.Errorf("%s: plaintext bytes %d..%d appear in the stored value", query, i, i+8)
				break
			}
		}
	}
}

func TestSecretsNeedTheMasterKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	_, d, sess, _ := storedSecrets(t, e)
	db := e.store.db
	other := NewStore(db, newBox(t, 2))

	checks := map[string]error{}
	_, checks["UserDomainByName"] = other.UserDomainByName(ctx, d.Name())
	_, checks["OfficialAccount"] = application.AppOfKind(ctx, other, d.ID(), "wx-app-1", domain.AppKindOfficialAccount)
	_, checks["SessionByID"] = other.SessionByID(ctx, sess.ID())
	_, checks["SigningKeys"] = other.SigningKeys(ctx, testTime())
	_, checks["RefreshMasterKeys"] = other.RefreshMasterKeys(ctx)
	for name, err := range checks {
		var de *domain.Error
		if !errors.Is(err, secretbox.ErrOpen) || errors.As(err, &de) {
			t.Errorf("%s with another master key = %v; want secretbox.ErrOpen, not a domain kind", name, err)
		}
	}

	// A ciphertext copied to another row does not open there either.
	e.createUserDomain(t, "C.DM.1.2")
	if _, err := e.sql.Exec(`UPDATE enduser_user_domains SET secret_enc = (SELECT secret_enc FROM enduser_user_domains WHERE name = 'C.DM.1.1')
		WHERE name = 'C.DM.1.2'`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.UserDomainByName(ctx, "C.DM.1.2"); !errors.Is(err, secretbox.ErrOpen) {
		t.Errorf("a secret moved to another user domain opened: %v", err)
	}
	if _, err := e.store.UserDomainByName(ctx, "C.DM.1.1"); err != nil {
		t.Errorf("the right key fails: %v", err)
	}
}
