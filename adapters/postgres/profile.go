package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/domain"
)

// profileRow is the profile columns of enduser_users (migrations/00009_profile.sql).
type profileRow struct {
	NikeName    *string `gorm:"column:nike_name"`
	HeadImage   *string `gorm:"column:head_image"`
	Sex         *int    `gorm:"column:sex"`
	Address     *string `gorm:"column:address"`
	Province    *string `gorm:"column:province"`
	City        *string `gorm:"column:city"`
	Signature   *string `gorm:"column:signature"`
	Remark      *string `gorm:"column:remark"`
	Lang        *int    `gorm:"column:lang"`
	Nationality *int    `gorm:"column:nationality"`
	Timezone    *int    `gorm:"column:timezone"`
}

func (r profileRow) toDomain() domain.Profile {
	return domain.Profile{
		NikeName: fromNullString(r.NikeName), HeadImage: fromNullString(r.HeadImage), Sex: r.Sex,
		Address: fromNullString(r.Address), Province: fromNullString(r.Province), City: fromNullString(r.City),
		Signature: fromNullString(r.Signature), Remark: fromNullString(r.Remark),
		Lang: r.Lang, Nationality: r.Nationality, Timezone: r.Timezone,
	}
}

// UserProfile implements application.UserRepository.
func (s *Store) UserProfile(ctx context.Context, uid string) (domain.Profile, error) {
	var row profileRow
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Raw(`
		SELECT nike_name, head_image, sex, address, province, city, signature, remark, lang, nationality, timezone
		FROM enduser_users WHERE id = ?`, uid).Scan(&row)
	})
	if res.Error != nil {
		return domain.Profile{}, fmt.Errorf("load the profile of user %s: %w", uid, res.Error)
	}
	if res.RowsAffected == 0 {
		return domain.Profile{}, domain.E(domain.KindUserNotFound)
	}
	return row.toDomain(), nil
}

// UpdateUserProfile implements application.UserRepository: one UPDATE that
// sets only the columns u changes ("" and a cleared number are stored as
// NULL), so concurrent updates of different fields both land.
func (s *Store) UpdateUserProfile(ctx context.Context, uid string, u domain.ProfileUpdate) error {
	var sets []string
	var args []any
	text := func(col string, v *string) {
		if v != nil {
			sets = append(sets, col+" = ?")
			args = append(args, nullString(*v))
		}
	}
	number := func(col string, v *domain.OptionalInt) {
		if v != nil {
			sets = append(sets, col+" = ?")
			if v.Valid {
				args = append(args, v.Value)
			} else {
				args = append(args, nil)
			}
		}
	}
	text("nike_name", u.NikeName)
	text("head_image", u.HeadImage)
	number("sex", u.Sex)
	text("address", u.Address)
	text("province", u.Province)
	text("city", u.City)
	text("signature", u.Signature)
	text("remark", u.Remark)
	number("lang", u.Lang)
	number("nationality", u.Nationality)
	number("timezone", u.Timezone)
	var res *gorm.DB
	if len(sets) == 0 {
		var one int
		res = s.do(ctx, func(db *gorm.DB) *gorm.DB {
			return db.Raw(`SELECT 1 FROM enduser_users WHERE id = ?`, uid).Scan(&one)
		})
	} else {
		args = append(args, uid)
		// The column names come from the fixed list above, never from input.
		q := `UPDATE enduser_users SET ` + strings.Join(sets, ", ") + ` WHERE id = ?`
		res = s.do(ctx, func(db *gorm.DB) *gorm.DB { return db.Exec(q, args...) })
	}
	if res.Error != nil {
		return fmt.Errorf("update the profile of user %s: %w", uid, res.Error)
	}
	if res.RowsAffected == 0 {
		return domain.E(domain.KindUserNotFound)
	}
	return nil
}

// LogoutSession implements application.SessionRepository: the revocation and
// the device in one UPDATE.
func (s *Store) LogoutSession(ctx context.Context, id domain.SessionID, now time.Time, deviceID string) (bool, error) {
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Exec(`
		UPDATE enduser_sessions SET revoked_at = ?, revoke_reason = 'logout', logout_device_id = ?
		WHERE id = ? AND revoked_at IS NULL`,
			dbTime(now), nullString(deviceID), id.String())
	})
	if res.Error != nil {
		return false, fmt.Errorf("log out session %s: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}
