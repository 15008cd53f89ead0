package jsonformat

import "time"

// auditRecord is an application.AuditRecord (converted: the same fields) in
// a user export: the values a
// record does not have are null.
type auditRecord struct {
	Time          time.Time `json:"time"`
	Event         string    `json:"event"`
	Code          int       `json:"code"`
	WeChatErrcode *int      `json:"wechatErrcode"`
	UserDomain    string    `json:"userDomain"`
	AppID         string    `json:"appId"`
	AppKind       string    `json:"appKind"`
	UID           string    `json:"uid"`
	OpenIDHash    string    `json:"openidHash"`
	ClientIP      string    `json:"clientIp"`
	UserAgent     string    `json:"userAgent"`
	RequestID     string    `json:"requestId"`
	Detail        string    `json:"detail"`
	DeviceGiven   *bool     `json:"deviceGiven"`
}

// AuditLine is an application.AuditRecord as `enduser audit` prints it, one
// JSON object a line: the values a record does not have are left out (a
// user export's record keeps them as null); AuditLine(r) converts one.
type AuditLine struct {
	Time          time.Time `json:"time"`
	Event         string    `json:"event"`
	Code          int       `json:"code"`
	WeChatErrcode *int      `json:"wechatErrcode,omitempty"`
	UserDomain    string    `json:"userDomain"`
	AppID         string    `json:"appId"`
	AppKind       string    `json:"appKind,omitempty"`
	UID           string    `json:"uid"`
	OpenIDHash    string    `json:"openidHash"`
	ClientIP      string    `json:"clientIp"`
	UserAgent     string    `json:"userAgent"`
	RequestID     string    `json:"requestId"`
	Detail        string    `json:"detail,omitempty"`
	DeviceGiven   *bool     `json:"deviceGiven,omitempty"`
}
