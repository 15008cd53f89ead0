package postgres

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

var (
	_ application.PhoneRepository         = (*Store)(nil)
	_ application.ForcedRefreshRepository = (*Store)(nil)
)

// phoneAAD binds a user's sealed phone to its row.
func phoneAAD(uid string) string { return "user_phone:" + uid }

// phoneHashKeyAAD names the one row of enduser_phone_hash_keys in its seal.
const phoneHashKeyAAD = "phone_hash_key:1"

// phoneHashKeyLabel derives the phone hash key's first value from the
// master key (secretbox.Box.DeriveKey).
const phoneHashKeyLabel = "enduser phone hash key v1"

// phoneHashKey is the phone hashing key, read once from the database.
type phoneHashKey struct {
	mu  sync.Mutex
	key []byte
}

// phoneKey returns the phone hashing key: the stored one, else the one
// derived from the master key, stored first (INSERT ... ON CONFLICT DO
// NOTHING: concurrent first uses agree on one key). Sealed under the master
// key, it outlives a master key rotation (which re-seals it).
func (s *Store) phoneKey(ctx context.Context) ([]byte, error) {
	s.phoneKeys.mu.Lock()
	defer s.phoneKeys.mu.Unlock()
	if s.phoneKeys.key != nil {
		return s.phoneKeys.key, nil
	}
	key, err := s.singletonKey(ctx, "enduser_phone_hash_keys", phoneHashKeyAAD, "the phone hash key", s.box.DeriveKey(phoneHashKeyLabel))
	if err != nil {
		return nil, err
	}
	s.phoneKeys.key = key
	return key, nil
}

// phonePlain is a phone as it is sealed: "<country code>:<number>".
func phonePlain(p domain.PhoneNumber) string { return p.CountryCode + ":" + p.Number }

// phoneHash is the keyed hash that compares numbers (the country code and
// the number).
func phoneHash(key []byte, p domain.PhoneNumber) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(phonePlain(p)))
	return m.Sum(nil)
}

// BindPhone implements application.PhoneRepository in one statement: the
// UPDATE writes only a different number; the partial unique index on (user
// domain, phone_hash) refuses a number another user holds (of two
// concurrent binds, the second waits for the first and is refused).
func (s *Store) BindPhone(ctx context.Context, uid string, phone domain.PhoneNumber) (bool, error) {
	key, err := s.phoneKey(ctx)
	if err != nil {
		return false, err
	}
	hash := phoneHash(key, phone)
	enc := s.seal([]byte(phonePlain(phone)), phoneAAD(uid))
	var row struct{ Found, Changed int }
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Raw(`
		WITH upd AS (
			UPDATE enduser_users SET phone_enc = ?, phone_hash = ?
			WHERE id = ? AND phone_hash IS DISTINCT FROM ?
			RETURNING 1)
		SELECT (SELECT count(*) FROM enduser_users WHERE id = ?) AS found, (SELECT count(*) FROM upd) AS changed`,
			enc, hash, uid, hash, uid).Scan(&row)
	})
	switch {
	case hasCode(res.Error, uniqueViolation):
		return false, domain.E(domain.KindPhoneTaken)
	case res.Error != nil:
		return false, fmt.Errorf("bind the phone of user %s: %w", uid, res.Error)
	case row.Found == 0:
		return false, domain.E(domain.KindUserNotFound)
	}
	return row.Changed > 0, nil
}

// UserPhone implements application.PhoneRepository.
func (s *Store) UserPhone(ctx context.Context, uid string) (domain.PhoneNumber, error) {
	var rows []struct{ PhoneEnc []byte }
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Raw(`SELECT phone_enc FROM enduser_users WHERE id = ?`, uid).Scan(&rows)
	})
	if res.Error != nil {
		return domain.PhoneNumber{}, fmt.Errorf("load the phone of user %s: %w", uid, res.Error)
	}
	if len(rows) == 0 {
		return domain.PhoneNumber{}, domain.E(domain.KindUserNotFound)
	}
	return s.openPhone(uid, rows[0].PhoneEnc)
}

// openPhone opens a sealed phone (nil: none).
func (s *Store) openPhone(uid string, enc []byte) (domain.PhoneNumber, error) {
	if enc == nil {
		return domain.PhoneNumber{}, nil
	}
	pt, err := s.open(enc, phoneAAD(uid))
	if err != nil {
		return domain.PhoneNumber{}, err
	}
	cc, n, ok := strings.Cut(string(pt), ":")
	if !ok {
		return domain.PhoneNumber{}, fmt.Errorf("the sealed phone of user %s is not a phone", uid)
	}
	return domain.PhoneNumber{CountryCode: cc, Number: n}, nil
}

// UnbindPhone implements application.PhoneRepository in one statement.
func (s *Store) UnbindPhone(ctx context.Context, uid string) (string, bool, error) {
	var rows []struct {
		Name    string
		Removed int
	}
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Raw(`
		WITH upd AS (
			UPDATE enduser_users SET phone_enc = NULL, phone_hash = NULL
			WHERE id = ? AND phone_hash IS NOT NULL
			RETURNING 1)
		SELECT d.name, (SELECT count(*) FROM upd) AS removed
		FROM enduser_users u JOIN enduser_user_domains d ON d.id = u.user_domain_id WHERE u.id = ?`, uid, uid).Scan(&rows)
	})
	if res.Error != nil {
		return "", false, fmt.Errorf("unbind the phone of user %s: %w", uid, res.Error)
	}
	if len(rows) == 0 {
		return "", false, domain.E(domain.KindUserNotFound)
	}
	return rows[0].Name, rows[0].Removed > 0, nil
}

// ClaimForcedRefresh implements application.ForcedRefreshRepository with
// one upsert: the row of appID takes now only when its last forced refresh
// is at least every old.
func (s *Store) ClaimForcedRefresh(ctx context.Context, appID string, now time.Time, every time.Duration) (bool, error) {
	var rows []struct{ AppID string }
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Raw(`
		INSERT INTO enduser_wechat_forced_refreshes (app_id, forced_at) VALUES (?, ?)
		ON CONFLICT (app_id) DO UPDATE SET forced_at = EXCLUDED.forced_at
		WHERE enduser_wechat_forced_refreshes.forced_at <= ?
		RETURNING app_id`, appID, dbTime(now), dbTime(now.Add(-every))).Scan(&rows)
	})
	if res.Error != nil {
		return false, fmt.Errorf("claim a forced token refresh of %s: %w", appID, res.Error)
	}
	return len(rows) > 0, nil
}
