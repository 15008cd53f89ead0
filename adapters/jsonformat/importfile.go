// Package jsonformat holds the module's JSON files and documents, which the
// application knows only as format-free values: the lines of an import file
// (ImportLines, ParseImportLine), the user export document (Export) and the
// lines `enduser audit` prints (AuditLine). Their names are stable (README:
// Importing users, Exporting a user).
package jsonformat

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// maxImportLine bounds one line of an import file.
const maxImportLine = 64 << 10

// importLine is one line of an import file. Unknown fields are refused: a
// misspelt optional field ("unionid") would otherwise be dropped silently and
// split a person in two later.
type importLine struct {
	UID           *string `json:"uid"`
	UserDomain    *string `json:"userDomain"`
	AppID         *string `json:"appId"`
	OpenID        *string `json:"openId"`
	UnionID       *string `json:"unionId"`
	RegisterTime  *int64  `json:"registerTime"`
	LastLoginTime *int64  `json:"lastLoginTime"`
	Status        *int    `json:"status"`
	profile
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ParseImportLine parses and validates one line; now is the registration
// time of a line without registerTime. It returns the reason a bad line is
// refused.
func ParseImportLine(b []byte, now time.Time) (domain.ImportUser, string) {
	var l importLine
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return domain.ImportUser{}, "not a JSON object of the import format: " + jsonReason(err)
	}
	if dec.More() {
		return domain.ImportUser{}, "more than one JSON value on the line"
	}
	p := l.profile
	u := domain.ImportUser{UID: deref(l.UID), UserDomain: strings.TrimSpace(deref(l.UserDomain)),
		AppID: strings.TrimSpace(deref(l.AppID)), OpenID: deref(l.OpenID), UnionID: deref(l.UnionID),
		Status: domain.UserNormal, RegisteredAt: now,
		Profile: domain.ImportProfile{NikeName: p.NikeName, HeadImage: p.HeadImage, Sex: p.Sex, Address: p.Address,
			Province: p.Province, City: p.City, Signature: p.Signature, Remark: p.Remark, Lang: p.Lang,
			Nationality: p.Nationality, Timezone: p.Timezone}}
	const maxMillis = 253402300799999 // 9999-12-31T23:59:59.999Z
	if l.RegisterTime != nil {
		if *l.RegisterTime < 0 || *l.RegisterTime > maxMillis {
			return domain.ImportUser{}, "registerTime must be milliseconds since 1970 (0 to year 9999)"
		}
		u.RegisteredAt = time.UnixMilli(*l.RegisterTime).UTC()
	}
	u.LastLoginAt = u.RegisteredAt
	if l.LastLoginTime != nil {
		if *l.LastLoginTime < 0 || *l.LastLoginTime > maxMillis {
			return domain.ImportUser{}, "lastLoginTime must be milliseconds since 1970 (0 to year 9999)"
		}
		u.LastLoginAt = time.UnixMilli(*l.LastLoginTime).UTC()
	}
	if l.Status != nil {
		u.Status = domain.UserStatus(*l.Status)
	}
	if reason := u.Validate(); reason != "" {
		return u, reason // the caller counts the refusal under u's user domain
	}
	return u, ""
}

// jsonReason is a decode error without Go's type and field names (a profile
// field is named as the line names it, not through the embedded profile).
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field[strings.LastIndex(te.Field, ".")+1:]
		return fmt.Sprintf("field %s has the wrong type (%s)", field, te.Value)
	}
	return err.Error()
}

// ImportLines reads an import file: JSON lines, blank lines skipped, a UTF-8
// byte order mark before the first one ignored, a line longer than 64 KiB
// refused.
func ImportLines(r io.Reader) application.ImportSource {
	return &lineReader{r: bufio.NewReaderSize(r, 1<<20)}
}

type lineReader struct {
	r    *bufio.Reader
	n    int
	done bool
}

// Next implements application.ImportSource.
func (l *lineReader) Next(now time.Time) (application.ImportLine, error) {
	for !l.done {
		l.n++
		b, tooLong, err := readImportLine(l.r)
		if errors.Is(err, io.EOF) {
			l.done = true
			if len(b) == 0 && !tooLong {
				break
			}
		} else if err != nil {
			return application.ImportLine{N: l.n}, err
		}
		if l.n == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark, as some editors write
		}
		switch b = bytes.TrimSpace(b); {
		case tooLong:
			return application.ImportLine{N: l.n, Reason: fmt.Sprintf("longer than %d bytes", maxImportLine)}, nil
		case len(b) == 0:
		default:
			u, reason := ParseImportLine(b, now)
			return application.ImportLine{N: l.n, User: u, Reason: reason}, nil
		}
	}
	return application.ImportLine{}, io.EOF
}

// readImportLine reads one line without its newline; a line longer than
// maxImportLine is skipped to its end and reported tooLong.
func readImportLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > maxImportLine+1 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return buf, tooLong, err
	}
}
