package domain

import (
	"strings"
	"unicode/utf8"
)

// The kinds of the phone number endpoint (wechatMiniprogramPhoneNumber), in
// the order it checks them after the token and the appId.
const (
	// KindPhoneCodeRequired is 5398: phoneCode missing, over MaxPhoneCodeLen,
	// or already spent (claimed before).
	KindPhoneCodeRequired Kind = "phone_code_required"
	// KindAppTokenFailed is 5382: WeChat's app-wide access_token could not
	// be had (network, errcode: 40125 invalid AppSecret, 40164 IP not
	// whitelisted...).
	KindAppTokenFailed Kind = "app_token_failed"
	// KindAppTokenMalformed is 5383: WeChat's stable_token answer could not
	// be parsed.
	KindAppTokenMalformed Kind = "app_token_malformed" //nolint:gosec // G101: an error kind's name, not a credential
	// KindPhoneLookupFailed is 5394: the phone lookup failed in a way a
	// client may retry with a new code (network, timeout, non-2xx, WeChat's
	// -1 and 45011, an unparseable answer).
	KindPhoneLookupFailed Kind = "phone_lookup_failed"
	// KindPhoneRejected is 5403: WeChat refused the code (40029, 40163...),
	// answered without a phone, or for another app (the watermark).
	KindPhoneRejected Kind = "phone_rejected"
	// KindPhoneTaken is 5002: the number is bound to another live user of
	// the user domain.
	KindPhoneTaken Kind = "phone_taken"
)

// MaxPhoneCodeLen bounds a phoneCode (issue 19's bound on codes): a longer
// one is refused (5398) before any WeChat call.
const MaxPhoneCodeLen = 128

// ParsePhoneCode checks a phoneCode: present (not blank) and at most
// MaxPhoneCodeLen bytes, else KindPhoneCodeRequired.
func ParsePhoneCode(code string) (string, error) {
	switch {
	case strings.TrimSpace(code) == "":
		return "", E(KindPhoneCodeRequired)
	case len(code) > MaxPhoneCodeLen || !utf8.ValidString(code):
		return "", Errorf(KindPhoneCodeRequired, "phoneCode is over %d bytes", MaxPhoneCodeLen)
	}
	return code, nil
}

// maxPhoneDigits bounds the digits of a phone number (E.164 has at most 15
// with the country code).
const maxPhoneDigits = 20

// PhoneNumber is a user's phone number as WeChat gives it: the country code
// and the number without it (purePhoneNumber), both ASCII digits. It is
// personal data: stored sealed, never logged.
type PhoneNumber struct {
	CountryCode string
	Number      string
}

// NewPhoneNumber checks a phone number: both parts 1 to 20 ASCII digits
// (a leading "+" of the country code is dropped). Errors: KindPhoneRejected
// (WeChat answered something that is not a phone number).
func NewPhoneNumber(countryCode, number string) (PhoneNumber, error) {
	countryCode = strings.TrimPrefix(strings.TrimSpace(countryCode), "+")
	number = strings.TrimSpace(number)
	if !digits(countryCode) || !digits(number) {
		return PhoneNumber{}, Errorf(KindPhoneRejected, "WeChat's answer carries no valid phone number")
	}
	return PhoneNumber{CountryCode: countryCode, Number: number}, nil
}

func digits(s string) bool {
	if s == "" || len(s) > maxPhoneDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsZero reports whether p is no phone number.
func (p PhoneNumber) IsZero() bool { return p.Number == "" }

// Masked is the number as clients see it: MaskPhone of Number.
func (p PhoneNumber) Masked() string { return MaskPhone(p.Number) }

// MaskPhone masks a phone number for display: of 7 characters or more, the
// first 3 and the last 4 are kept and the others are '*' ("13800138000" is
// "138****8000"); shorter, all but the last 2 are '*'; "" stays "".
func MaskPhone(n string) string {
	r := []rune(n)
	keepHead, keepTail := 3, 4
	if len(r) < 7 {
		keepHead, keepTail = 0, 2
	}
	out := make([]rune, len(r))
	for i, c := range r {
		if i < keepHead || i >= len(r)-keepTail {
			out[i] = c
		} else {
			out[i] = '*'
		}
	}
	return string(out)
}
