package domain_test

import (
	"strings"
	"testing"

	"github.com/iotplatform/enduser-auth/domain"
)

func TestNewWeChatIdentity(t *testing.T) {
	w, err := domain.NewWeChatIdentity("wx-app-1", " o-alice ", " u-alice ", false)
	if err != nil {
		t.Fatal(err)
	}
	if w.AppID() != "wx-app-1" || w.OpenID() != "o-alice" || w.UnionID() != "u-alice" {
		t.Errorf("NewWeChatIdentity = {%q, %q, %q}", w.AppID(), w.OpenID(), w.UnionID())
	}
	if w, err := domain.NewWeChatIdentity("wx-app-1", "o-alice", "", false); err != nil || w.UnionID() != "" {
		t.Errorf("NewWeChatIdentity without unionid = %+v, %v", w, err)
	}

	long := strings.Repeat("o", 129)
	for _, tt := range []struct {
		name            string
		openID, unionID string
		snapshot        bool
		want            domain.Kind
	}{
		{"snapshot user", "o-fake", "", true, domain.KindWeChatRejected},
		{"empty openid", "", "u-alice", false, domain.KindWeChatRejected},
		{"blank openid", "  ", "", false, domain.KindWeChatRejected},
		{"openid too long", long, "", false, domain.KindWeChatMalformed},
		{"unionid too long", "o-alice", long, false, domain.KindWeChatMalformed},
	} {
		if _, err := domain.NewWeChatIdentity("wx-app-1", tt.openID, tt.unionID, tt.snapshot); domain.KindOf(err) != tt.want {
			t.Errorf("%s: NewWeChatIdentity error = %v, want kind %s", tt.name, err, tt.want)
		}
	}
	if _, err := domain.NewWeChatIdentity("wx-app-1", strings.Repeat("o", 128), strings.Repeat("u", 128), false); err != nil {
		t.Errorf("NewWeChatIdentity with 128-character ids: %v", err)
	}
}

func TestNewEndUser(t *testing.T) {
	u, err := domain.NewEndUser("uid-1", 7, t0)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID() != "uid-1" || u.UserDomainID() != 7 || u.Status() != domain.UserNormal || !u.RegisteredAt().Equal(t0) || !u.LastLoginAt().Equal(t0) {
		t.Errorf("NewEndUser = {%s, %d, %d, %v, %v}", u.ID(), u.UserDomainID(), u.Status(), u.RegisteredAt(), u.LastLoginAt())
	}
	if _, err := domain.NewEndUser("", 7, t0); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("NewEndUser(empty uid) error = %v, want kind %s", err, domain.KindInvalid)
	}
}

func TestNewOfficialAccount(t *testing.T) {
	a, err := domain.NewOfficialAccount(7, " wx-app-1 ", "app-secret")
	if err != nil {
		t.Fatal(err)
	}
	if a.UserDomainID() != 7 || a.AppID() != "wx-app-1" || a.AppSecret() != "app-secret" {
		t.Errorf("NewOfficialAccount = {%d, %q, %q}", a.UserDomainID(), a.AppID(), a.AppSecret())
	}
	for name, in := range map[string][2]string{
		"blank appId":     {" ", "app-secret"},
		"appId too long":  {strings.Repeat("a", 65), "app-secret"},
		"empty secret":    {"wx-app-1", ""},
		"secret too long": {"wx-app-1", strings.Repeat("s", 257)},
	} {
		if _, err := domain.NewOfficialAccount(7, in[0], in[1]); domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("%s: NewOfficialAccount error = %v, want kind %s", name, err, domain.KindInvalid)
		}
	}
}

func TestWeChatIdentityCharset(t *testing.T) {
	for _, bad := range []string{"o\x00x", "o\xffx", "o x", "o\tx", "中文", strings.Repeat("o", 129)} {
		if _, err := domain.NewWeChatIdentity("wx1", bad, "", false); !domain.IsKind(err, domain.KindWeChatMalformed) {
			t.Errorf("openid %q: want KindWeChatMalformed, got %v", bad, err)
		}
		if _, err := domain.NewWeChatIdentity("wx1", "o-ok", bad, false); !domain.IsKind(err, domain.KindWeChatMalformed) {
			t.Errorf("unionid %q: want KindWeChatMalformed, got %v", bad, err)
		}
	}
	if _, err := domain.NewWeChatIdentity("wx1", "oAbC-_12", "uX_9", false); err != nil {
		t.Errorf("a plain openid must pass: %v", err)
	}
}

func TestValidAppID(t *testing.T) {
	for s, want := range map[string]bool{"wx8f3a2b1c0d9e7f6a": true, "wx_demo-1": true, "": false, "wx\x00": false,
		"wx\xff": false, "wx 1": false, "wx&x": false, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false} {
		if got := domain.ValidAppID(s); got != want {
			t.Errorf("ValidAppID(%q) = %v, want %v", s, got, want)
		}
	}
}
