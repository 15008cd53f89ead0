package domain

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Profile is what an end user tells about themselves (setUserInfo). Every
// field is optional: "" is an unset text, a nil int an unset number.
type Profile struct {
	NikeName    string // the platform's spelling
	HeadImage   string // an http(s) URL
	Sex         *int   // 0 male, 1 female, 2 private
	Address     string
	Province    string
	City        string
	Signature   string // a personal signature text, not a request signature
	Remark      string
	Lang        *int
	Nationality *int
	Timezone    *int
}

// OptionalInt is a change to an int field of the profile: Valid false clears it.
type OptionalInt struct {
	Valid bool
	Value int
}

// ProfileUpdate is a partial change of a profile: a nil field is left as it
// is; a text pointing to "" and an OptionalInt that is not Valid clear theirs.
type ProfileUpdate struct {
	NikeName, HeadImage, Address, Province, City, Signature, Remark *string
	Sex, Lang, Nationality, Timezone                                *OptionalInt
}

// Empty reports whether the update changes nothing.
func (u ProfileUpdate) Empty() bool {
	return u == ProfileUpdate{}
}

// Apply returns p with u applied.
func (u ProfileUpdate) Apply(p Profile) Profile {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setInt := func(dst **int, v *OptionalInt) {
		if v != nil {
			if v.Valid {
				n := v.Value
				*dst = &n
			} else {
				*dst = nil
			}
		}
	}
	set(&p.NikeName, u.NikeName)
	set(&p.HeadImage, u.HeadImage)
	setInt(&p.Sex, u.Sex)
	set(&p.Address, u.Address)
	set(&p.Province, u.Province)
	set(&p.City, u.City)
	set(&p.Signature, u.Signature)
	set(&p.Remark, u.Remark)
	setInt(&p.Lang, u.Lang)
	setInt(&p.Nationality, u.Nationality)
	setInt(&p.Timezone, u.Timezone)
	return p
}

// The profile's limits, in Unicode characters (runes), and the int fields' bound.
const (
	MaxNikeNameRunes  = 50
	MaxHeadImageRunes = 1024
	MaxAddressRunes   = 254
	MaxProvinceRunes  = 100
	MaxCityRunes      = 100
	MaxSignatureRunes = 200
	MaxRemarkRunes    = 500
	MaxProfileNumber  = 100000
)

// ProfileParams are the profile parameters in the order they are checked
// (the order of the platform's table): when several are wrong, the first
// wrong one's kind is the answer.
var ProfileParams = []string{"nikeName", "headImage", "sex", "address", "province", "city", "signature", "remark",
	"lang", "nationality", "timezone"}

// ParseProfileUpdate checks the parameters sent (name to raw value; a name
// that is absent is not changed, an empty value clears its field) against
// the profile's rules, in the order of ProfileParams:
//
//   - a text that is not valid UTF-8 or holds a control character:
//     KindProfileInvalid, whatever the field;
//   - nikeName over 50 runes: KindNikeNameInvalid; headImage not an http://
//     or https:// URL with a host, or over 1024 runes: KindProfileInvalid;
//     sex not 0, 1 or 2: KindSexInvalid; address over 254: KindAddressInvalid;
//     province over 100: KindProvinceInvalid; city over 100: KindCityInvalid;
//     signature over 200: KindSignatureText; remark over 500: KindRemarkInvalid;
//   - lang, nationality, timezone not a decimal integer in 0..100000:
//     KindProfileInvalid.
//
// Numbers are decimal digits only (no sign, no spaces, no fraction, at most
// 9 digits of text). Names outside ProfileParams are ignored.
func ParseProfileUpdate(sent map[string]string) (ProfileUpdate, error) {
	var u ProfileUpdate
	text := func(name string, max int, tooLong Kind, dst **string) error {
		v, ok := sent[name]
		if !ok {
			return nil
		}
		if !cleanText(v) {
			return Errorf(KindProfileInvalid, "%s holds a control character or is not UTF-8", name)
		}
		if utf8.RuneCountInString(v) > max {
			return Errorf(tooLong, "%s is longer than %d characters", name, max)
		}
		*dst = &v
		return nil
	}
	number := func(name string, max int, bad Kind, dst **OptionalInt) error {
		v, ok := sent[name]
		if !ok {
			return nil
		}
		if v == "" {
			*dst = &OptionalInt{}
			return nil
		}
		n, ok := parseSmallUint(v)
		if !ok || n > max {
			return Errorf(bad, "%s must be an integer from 0 to %d", name, max)
		}
		*dst = &OptionalInt{Valid: true, Value: n}
		return nil
	}
	checks := []func() error{
		func() error { return text("nikeName", MaxNikeNameRunes, KindNikeNameInvalid, &u.NikeName) },
		func() error {
			if err := text("headImage", MaxHeadImageRunes, KindProfileInvalid, &u.HeadImage); err != nil {
				return err
			}
			if u.HeadImage != nil && *u.HeadImage != "" && !httpURL(*u.HeadImage) {
				return Errorf(KindProfileInvalid, "headImage must be an http:// or https:// URL")
			}
			return nil
		},
		func() error { return number("sex", 2, KindSexInvalid, &u.Sex) },
		func() error { return text("address", MaxAddressRunes, KindAddressInvalid, &u.Address) },
		func() error { return text("province", MaxProvinceRunes, KindProvinceInvalid, &u.Province) },
		func() error { return text("city", MaxCityRunes, KindCityInvalid, &u.City) },
		func() error { return text("signature", MaxSignatureRunes, KindSignatureText, &u.Signature) },
		func() error { return text("remark", MaxRemarkRunes, KindRemarkInvalid, &u.Remark) },
		func() error { return number("lang", MaxProfileNumber, KindProfileInvalid, &u.Lang) },
		func() error { return number("nationality", MaxProfileNumber, KindProfileInvalid, &u.Nationality) },
		func() error { return number("timezone", MaxProfileNumber, KindProfileInvalid, &u.Timezone) },
	}
	for _, c := range checks {
		if err := c(); err != nil {
			return ProfileUpdate{}, err
		}
	}
	return u, nil
}

// cleanText reports whether s is valid UTF-8 without control characters
// (C0, DEL, C1; tabs and newlines included).
func cleanText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

// httpURL reports whether s is an absolute http or https URL with a host.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return false
	}
	return u.Scheme == "http" || u.Scheme == "https"
}

// parseSmallUint parses 1 to 9 decimal digits.
func parseSmallUint(s string) (int, bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// MaxDeviceIDLength bounds a logout's deviceId (a push token: FCM's are
// about 160 characters, Alibaba Cloud's device ids 32).
const MaxDeviceIDLength = 512

// CheckDeviceID checks a logout's deviceId ("" none): at most
// MaxDeviceIDLength bytes of printable ASCII without spaces (what FCM and
// Alibaba Cloud push tokens are made of). Errors: KindLogoutFailed.
func CheckDeviceID(id string) error {
	if len(id) > MaxDeviceIDLength {
		return Wrap(KindLogoutFailed, fmt.Errorf("deviceId is longer than %d characters", MaxDeviceIDLength))
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return Wrap(KindLogoutFailed, errors.New("deviceId holds a character other than printable ASCII"))
		}
	}
	return nil
}
