package jsonformat_test

import (
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/adapters/jsonformat"
	"github.com/iotplatform/enduser-auth/domain"
)

func TestParseImportLine(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	u, reason := jsonformat.ParseImportLine([]byte(`{"uid":"a-1","userDomain":" C.DM.1.1 ","appId":"wx1","openId":"o1","unionId":"u1",`+
		`"registerTime":1700000000000,"lastLoginTime":1700000001000,"status":0,"nikeName":"n","sex":2,"lang":3}`), now)
	if reason != "" || u.UID != "a-1" || u.UserDomain != "C.DM.1.1" || u.UnionID != "u1" || u.Status != domain.UserDisabled ||
		!u.RegisteredAt.Equal(time.UnixMilli(1700000000000)) || !u.LastLoginAt.Equal(time.UnixMilli(1700000001000)) ||
		*u.Profile.NikeName != "n" || *u.Profile.Sex != 2 || *u.Profile.Lang != 3 || u.Profile.City != nil {
		t.Fatalf("parsed %+v, %q", u, reason)
	}
	// Defaults: registered now, last login = registration, status 1.
	u, reason = jsonformat.ParseImportLine([]byte(`{"uid":"a","userDomain":"d","appId":"wx1","openId":"o1"}`), now)
	if reason != "" || !u.RegisteredAt.Equal(now) || !u.LastLoginAt.Equal(now) || u.Status != domain.UserNormal || u.UnionID != "" {
		t.Fatalf("defaults: %+v, %q", u, reason)
	}
	for line, want := range map[string]string{
		`{"uid":"a","userDomain":"d","appId":"wx1","openId":"o1","extra":1}`:         "unknown field",
		`{"uid":"a","userDomain":"d","appId":"wx1","openId":"o1"} {}`:                "more than one JSON value",
		`{"uid":1,"userDomain":"d","appId":"wx1","openId":"o1"}`:                     "field uid has the wrong type",
		`{"uid":"a","userDomain":"d","appId":"wx1","openId":"o1","registerTime":-1}`: "registerTime",
		`{"uid":"a","userDomain":"d","appId":"wx1","openId":"o1","status":2}`:        "status",
		`{"uid":"a","userDomain":"d","appId":"wx1"}`:                                 "openId is required",
		`[1]`: "not a JSON object",
		`{"uid":"a","userDomain":"d","appId":"wx1","openId":"o1","sex":"male"}`:      "field sex has the wrong type",
		`{"uid":"a","userDomain":"d","appId":"wx1","openId":"o1","lastLoginTime":1}`: "before registerTime",
	} {
		if _, reason := jsonformat.ParseImportLine([]byte(line), now); !strings.Contains(reason, want) {
			t.Errorf("%s: reason %q, want %q", line, reason, want)
		}
	}
}
