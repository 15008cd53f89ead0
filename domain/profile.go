package domain

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Profile is what an end user tells about themselves (setUserInfo). Every
// field is optional: "" is an unset text, a nil int an unset number.
type Profile struct {
	NikeName    string // the platform's spelling
	HeadImage   string // an https URL (HeadImageURL; older ones may be http)
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

// ProfileField is a field of the profile that an update may change. The
// fields are numbered in the order the rules check them (the order of the
// platform's table): when several are wrong, the first wrong one's kind is
// the answer. How a client names a field is its adapter's business.
type ProfileField int

// The fields of the profile, in the order they are checked.
const (
	FieldNikeName ProfileField = iota
	FieldHeadImage
	FieldSex
	FieldAddress
	FieldProvince
	FieldCity
	FieldSignature
	FieldRemark
	FieldLang
	FieldNationality
	FieldTimezone
	profileFieldCount
)

// ProfileFields are the fields in the order they are checked.
func ProfileFields() []ProfileField {
	fs := make([]ProfileField, profileFieldCount)
	for i := range fs {
		fs[i] = ProfileField(i)
	}
	return fs
}

// String is the field's name in the profile (the platform's spelling, as
// Profile spells it), for messages and logs.
func (f ProfileField) String() string {
	if f < 0 || f >= profileFieldCount {
		return fmt.Sprintf("ProfileField(%d)", int(f))
	}
	return [...]string{"nikeName", "headImage", "sex", "address", "province", "city", "signature", "remark",
		"lang", "nationality", "timezone"}[f]
}

// ProfileText is a profile update as text, as it is sent: a field present
// is to be changed to its text ("" clears it), a field absent is left as it
// is. ParseProfileUpdate checks it.
type ProfileText map[ProfileField]string

// ProfileFieldError is the cause of ParseProfileUpdate's refusals: which
// field is wrong and how. An adapter that names the field otherwise than
// String does shows the client its own name with Problem.
type ProfileFieldError struct {
	Field   ProfileField
	Problem string // e.g. "is longer than 50 characters"
}

func (e *ProfileFieldError) Error() string { return e.Field.String() + " " + e.Problem }

// fieldError is a refusal of kind k because of field f.
func fieldError(k Kind, f ProfileField, format string, args ...any) *Error {
	return &Error{Kind: k, Err: &ProfileFieldError{Field: f, Problem: fmt.Sprintf(format, args...)}}
}

// ParseProfileUpdate checks the text sent against the profile's rules, in
// the order of ProfileFields:
//
//   - a text that is not valid UTF-8 or holds a control character:
//     KindProfileInvalid, whatever the field;
//   - nikeName over 50 runes: KindNikeNameInvalid; headImage over 1024
//     runes or not an https:// URL to a public host (HeadImageURL):
//     KindProfileInvalid;
//     sex not 0, 1 or 2: KindSexInvalid; address over 254: KindAddressInvalid;
//     province over 100: KindProvinceInvalid; city over 100: KindCityInvalid;
//     signature over 200: KindSignatureText; remark over 500: KindRemarkInvalid;
//   - lang, nationality, timezone not a decimal integer in 0..100000:
//     KindProfileInvalid.
//
// Numbers are decimal digits only (no sign, no spaces, no fraction, at most
// 9 digits of text). A refusal's cause is a *ProfileFieldError (errors.As),
// which names the field; the *Error itself carries no Detail, so that an
// adapter words it for its clients.
func ParseProfileUpdate(sent ProfileText) (ProfileUpdate, error) {
	var u ProfileUpdate
	text := func(f ProfileField, max int, tooLong Kind, dst **string) error {
		v, ok := sent[f]
		if !ok {
			return nil
		}
		if !cleanText(v) {
			return fieldError(KindProfileInvalid, f, "holds a control character or is not UTF-8")
		}
		if utf8.RuneCountInString(v) > max {
			return fieldError(tooLong, f, "is longer than %d characters", max)
		}
		*dst = &v
		return nil
	}
	number := func(f ProfileField, max int, bad Kind, dst **OptionalInt) error {
		v, ok := sent[f]
		if !ok {
			return nil
		}
		if v == "" {
			*dst = &OptionalInt{}
			return nil
		}
		n, ok := parseSmallUint(v)
		if !ok || n > max {
			return fieldError(bad, f, "must be an integer from 0 to %d", max)
		}
		*dst = &OptionalInt{Valid: true, Value: n}
		return nil
	}
	checks := [profileFieldCount]func() error{
		FieldNikeName: func() error { return text(FieldNikeName, MaxNikeNameRunes, KindNikeNameInvalid, &u.NikeName) },
		FieldHeadImage: func() error {
			if err := text(FieldHeadImage, MaxHeadImageRunes, KindProfileInvalid, &u.HeadImage); err != nil {
				return err
			}
			if u.HeadImage != nil && *u.HeadImage != "" && !HeadImageURL(*u.HeadImage) {
				return fieldError(KindProfileInvalid, FieldHeadImage, "must be an https:// URL to a public host")
			}
			return nil
		},
		FieldSex:         func() error { return number(FieldSex, 2, KindSexInvalid, &u.Sex) },
		FieldAddress:     func() error { return text(FieldAddress, MaxAddressRunes, KindAddressInvalid, &u.Address) },
		FieldProvince:    func() error { return text(FieldProvince, MaxProvinceRunes, KindProvinceInvalid, &u.Province) },
		FieldCity:        func() error { return text(FieldCity, MaxCityRunes, KindCityInvalid, &u.City) },
		FieldSignature:   func() error { return text(FieldSignature, MaxSignatureRunes, KindSignatureText, &u.Signature) },
		FieldRemark:      func() error { return text(FieldRemark, MaxRemarkRunes, KindRemarkInvalid, &u.Remark) },
		FieldLang:        func() error { return number(FieldLang, MaxProfileNumber, KindProfileInvalid, &u.Lang) },
		FieldNationality: func() error { return number(FieldNationality, MaxProfileNumber, KindProfileInvalid, &u.Nationality) },
		FieldTimezone:    func() error { return number(FieldTimezone, MaxProfileNumber, KindProfileInvalid, &u.Timezone) },
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

// HeadImageURL reports whether s is an acceptable headImage (this amends
// the contract's §3, issue 19): an absolute https URL of printable
// characters without spaces, quotes ('"', '\”, '`'), angle brackets or
// backslashes, without user information, whose host is a name other than
// localhost (or a name under .localhost) or a public IP address: no IP
// literal in the loopback, private, link-local, unspecified, multicast or
// other special-purpose ranges, nor a numeric host a browser would read as
// one ("127.1", "2130706433", "0x7f.1"). It is decided from the text alone,
// without any DNS lookup.
func HeadImageURL(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) || strings.ContainsRune("\"'`<>\\", r) {
			return false
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Opaque != "" || u.User != nil || u.Host == "" {
		return false
	}
	return publicHost(u.Hostname())
}

// publicHost reports whether a URL's host (brackets removed) is a name
// other than localhost or a public IP literal.
func publicHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return false
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return publicAddr(addr)
	}
	if strings.ContainsAny(host, ":%[]") {
		return false // an IPv6 literal that does not parse
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return false
	}
	// A host whose last label is a number is an IPv4 address to a browser
	// (WHATWG URL: "127.1", "2130706433", "0x7f.0.0.1"); only the canonical
	// dotted quad, checked above, is accepted.
	labels := strings.Split(host, ".")
	last := labels[len(labels)-1]
	if last == "" || strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x") {
		return false
	}
	return true
}

// nonPublic are the special-purpose IP ranges a headImage's host must not be
// in beyond what netip's predicates cover (RFC 6890 and its updates).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64, may embed any IPv4
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4, may embed any IPv4
	netip.MustParsePrefix("2001::/32"),       // Teredo, may embed any IPv4
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

// publicAddr reports whether addr is a public unicast address.
func publicAddr(addr netip.Addr) bool {
	addr = addr.Unmap()
	if addr.Zone() != "" || !addr.IsGlobalUnicast() || addr.IsPrivate() {
		return false // IsGlobalUnicast excludes loopback, link-local, multicast, unspecified
	}
	for _, p := range nonPublic {
		if p.Contains(addr) {
			return false
		}
	}
	return true
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

// ErrDeviceIDInvalid is the cause of CheckDeviceID's refusals: a client's
// mistake (logged below WARN), unlike a logout the store failed.
var ErrDeviceIDInvalid = errors.New("deviceId invalid")

// CheckDeviceID checks a logout's deviceId ("" none): at most
// MaxDeviceIDLength bytes of printable ASCII without spaces (what FCM and
// Alibaba Cloud push tokens are made of). Errors: KindLogoutFailed wrapping
// ErrDeviceIDInvalid.
func CheckDeviceID(id string) error {
	if len(id) > MaxDeviceIDLength {
		return Wrap(KindLogoutFailed, fmt.Errorf("%w: longer than %d characters", ErrDeviceIDInvalid, MaxDeviceIDLength))
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return Wrap(KindLogoutFailed, fmt.Errorf("%w: holds a character other than printable ASCII", ErrDeviceIDInvalid))
		}
	}
	return nil
}
