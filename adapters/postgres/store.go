// Package postgres is the PostgreSQL persistence adapter of the module: it
// implements the application's repository ports with GORM over pgx, on the
// schema of package migrations (never AutoMigrate).
//
// Row types and the translation of database errors stay in this package: a
// missing row becomes the domain kind its port documents, a unique violation
// the documented behaviour, and any other failure is returned wrapped with
// context, never as a *domain.Error, so the application reports it as
// internal. Secrets (user domain secrets, AppSecrets, refresh keys, signing
// private keys) are sealed with a secretbox bound to their row.
package postgres

import (
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/adapters/secretbox"
	"github.com/iotplatform/enduser-auth/application"
)

// Store implements the repository ports on PostgreSQL. It is safe for
// concurrent use.
type Store struct {
	db  *gorm.DB
	box *secretbox.Box
	// pool is db's connection pool, for the hot statements that gain from
	// skipping GORM (recordLogin); rows and SQL stay in this package.
	pool   gorm.ConnPool
	counts *retryCounters
	// beforeReencryptWrite, when set (tests), runs between a re-encryption
	// batch's read and its write.
	beforeReencryptWrite func(column string)
	// phoneKey caches the phone hashing key (phone.go).
	phoneKeys *phoneHashKey
}

var (
	_ application.UserDomainRepository = (*Store)(nil)
	_ application.WeChatAppRepository  = (*Store)(nil)
	_ application.DataCenterRepository = (*Store)(nil)
	_ application.UserRepository       = (*Store)(nil)
	_ application.SessionRepository    = (*Store)(nil)
)

// NewStore returns a Store on db (see Open) that encrypts secrets with box.
func NewStore(db *gorm.DB, box *secretbox.Box) *Store {
	return &Store{db: db, box: box, pool: db.ConnPool, counts: &retryCounters{}, phoneKeys: &phoneHashKey{}}
}

// seal encrypts a secret for the row that aad names.
func (s *Store) seal(plaintext []byte, aad string) []byte {
	return s.box.Seal(plaintext, []byte(aad))
}

// open decrypts a secret sealed for the row that aad names. A failure (wrong
// master key, tampered or misplaced ciphertext) is an internal error.
func (s *Store) open(ciphertext []byte, aad string) ([]byte, error) {
	pt, err := s.box.Open(ciphertext, []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("open secret of %s: %w", aad, err)
	}
	return pt, nil
}

// The additional data that binds each sealed secret to its row.
func userDomainAAD(name string) string { return "user_domain:" + name }

// previousSecretAAD binds a user domain's previous secret (the one its last
// rotation replaced) to its row and column: it cannot be swapped with the
// current secret unnoticed.
func previousSecretAAD(name string) string { return "user_domain_previous:" + name }
func officialAccountAAD(userDomainID int64, appID string) string {
	return "official_account:" + strconv.FormatInt(userDomainID, 10) + ":" + appID
}
func sessionAAD(id string) string     { return "session:" + id }
func signingKeyAAD(kid string) string { return "signing_key:" + kid }

// dbTime is t as Postgres stores it: microsecond precision, UTC, no
// monotonic reading, so that what is written reads back equal.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// nullTime maps the zero time to NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	v := dbTime(t)
	return &v
}

// fromNullTime maps NULL to the zero time and anything else to UTC.
func fromNullTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// fromNullString maps NULL to "".
func fromNullString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// nullString maps "" to NULL.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
