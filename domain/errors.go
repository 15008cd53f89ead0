// Package domain holds the pure types and rules of end-user authentication.
// It depends on the standard library only.
package domain

import (
	"errors"
	"fmt"
	"time"
)

// Kind names a failure the module can report. Adapters map kinds to their own
// vocabulary (the HTTP adapter maps them to the platform's business codes).
type Kind string

// The kinds, in the order the login endpoint checks them, then the session kinds.
const (
	KindUserDomainRequired     Kind = "user_domain_required"
	KindUserDomainMalformed    Kind = "user_domain_malformed"
	KindAppIDRequired          Kind = "app_id_required"
	KindCodeRequired           Kind = "code_required"
	KindSignatureRequired      Kind = "signature_required"
	KindUserDomainNotFound     Kind = "user_domain_not_found"
	KindUserDomainDisabled     Kind = "user_domain_disabled"
	KindSignatureInvalid       Kind = "signature_invalid"
	KindMCCUnresolved          Kind = "mcc_unresolved"
	KindMCCForeign             Kind = "mcc_foreign_data_center"
	KindOfficialAccountMissing Kind = "official_account_not_configured"
	// KindMiniProgramMissing is the mini program login's 5373: no mini
	// program with this appId in the user domain.
	KindMiniProgramMissing Kind = "mini_program_not_configured"
	KindWeChatUnavailable  Kind = "wechat_unavailable"
	KindWeChatRejected     Kind = "wechat_rejected"
	KindWeChatMalformed    Kind = "wechat_malformed"

	KindRefreshTokenRequired Kind = "refresh_token_required"
	KindAccessTokenRequired  Kind = "access_token_required"
	KindTokenInvalid         Kind = "token_invalid"
	KindLogoutFailed         Kind = "logout_failed"
	KindUserNotFound         Kind = "user_not_found"
	// KindUserDisabled is a disabled end user's login, refresh or token: an
	// operator disabled the user (5041 "Permission denied").
	KindUserDisabled Kind = "user_disabled"

	// The profile kinds (setUserInfo), in the order its parameters are checked.
	KindNikeNameInvalid   Kind = "nike_name_invalid"
	KindProfileInvalid    Kind = "profile_parameter_invalid"
	KindSexInvalid        Kind = "sex_invalid"
	KindAddressInvalid    Kind = "address_invalid"
	KindProvinceInvalid   Kind = "province_invalid"
	KindCityInvalid       Kind = "city_invalid"
	KindSignatureText     Kind = "signature_text_invalid"
	KindRemarkInvalid     Kind = "remark_invalid"
	KindProfileSaveFailed Kind = "profile_save_failed"

	// KindClientBlocked is a client refused by an abuse limit (too many
	// requests from its IP, or a lockout after repeated signature failures).
	// Error.RetryAfter says when it may try again.
	KindClientBlocked Kind = "client_blocked"

	// KindDeletionTypeInvalid is an account deletion whose type is not 1 or 2.
	KindDeletionTypeInvalid Kind = "deletion_type_invalid"
	// KindDeletionFailed is an account deletion that could not be recorded.
	KindDeletionFailed Kind = "deletion_failed"

	// KindInvalid is bad input to an administrative operation.
	KindInvalid Kind = "invalid"
	// KindNotFound is a missing object in an administrative operation.
	KindNotFound Kind = "not_found"
	// KindInternal is everything unexpected. Its details never reach a client.
	KindInternal Kind = "internal"
)

// ClientKinds are the kinds a client of the end-user API can be answered
// with; every adapter that faces clients must map each of them.
var ClientKinds = []Kind{
	KindUserDomainRequired, KindUserDomainMalformed, KindAppIDRequired, KindCodeRequired, KindSignatureRequired,
	KindUserDomainNotFound, KindUserDomainDisabled, KindSignatureInvalid, KindMCCUnresolved, KindMCCForeign,
	KindOfficialAccountMissing, KindMiniProgramMissing, KindWeChatUnavailable, KindWeChatRejected, KindWeChatMalformed,
	KindRefreshTokenRequired, KindAccessTokenRequired, KindTokenInvalid, KindLogoutFailed, KindUserNotFound,
	KindClientBlocked, KindUserDisabled, KindDeletionTypeInvalid, KindDeletionFailed,
	KindNikeNameInvalid, KindProfileInvalid, KindSexInvalid, KindAddressInvalid, KindProvinceInvalid, KindCityInvalid,
	KindSignatureText, KindRemarkInvalid, KindProfileSaveFailed,
	KindPhoneCodeRequired, KindAppTokenFailed, KindAppTokenMalformed, KindPhoneLookupFailed, KindPhoneRejected, KindPhoneTaken,
}

// Error is the module's one error type. Detail is safe to show to the caller
// (for example WeChat's errcode); Err is the cause, for logs only.
type Error struct {
	Kind   Kind
	Detail string
	Err    error
	// RetryAfter, when positive, is how long the caller should wait before
	// trying again (a throttled request; adapters may send it as a header).
	RetryAfter time.Duration
	// WeChatErrcode is WeChat's errcode when WeChat refused with one (a
	// KindWeChatRejected; 0: none). The WeChat adapter reads it off WeChat's
	// answer, so that no other layer parses WeChat's wire format (Detail
	// shows the answer to the caller as it came).
	WeChatErrcode int64
}

func (e *Error) Error() string {
	switch {
	case e.Detail != "" && e.Err != nil:
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Detail, e.Err)
	case e.Detail != "":
		return fmt.Sprintf("%s: %s", e.Kind, e.Detail)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Kind, e.Err)
	}
	return string(e.Kind)
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, &Error{Kind: k}) match on the kind alone.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Kind == e.Kind
}

// Errorf builds an *Error of kind k with a safe detail.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Detail: fmt.Sprintf(format, args...)}
}

// E builds an *Error of kind k without detail.
func E(k Kind) *Error { return &Error{Kind: k} }

// Wrap builds an *Error of kind k around a cause that must not reach clients.
func Wrap(k Kind, err error) *Error { return &Error{Kind: k, Err: err} }

// KindOf returns the kind of err, or KindInternal when err is not an *Error.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// DetailOf returns the caller-safe detail of err, if any.
func DetailOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Detail
	}
	return ""
}

// WeChatRejected builds the KindWeChatRejected error of WeChat's errcode,
// with detail shown to the caller.
func WeChatRejected(errcode int64, detail string) *Error {
	return &Error{Kind: KindWeChatRejected, Detail: detail, WeChatErrcode: errcode}
}

// WeChatErrcodeOf returns WeChat's errcode carried by err, or 0.
func WeChatErrcodeOf(err error) int64 {
	var e *Error
	if err != nil && errors.As(err, &e) {
		return e.WeChatErrcode
	}
	return 0
}

// RetryAfterOf returns the RetryAfter of err, or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// IsKind reports whether err is an *Error of kind k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }
