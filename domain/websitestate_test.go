package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

func TestWebsiteState(t *testing.T) {
	key := domain.DeriveWebsiteStateKey([]byte(strings.Repeat("k", 32)))
	now := time.Unix(1_800_000_000, 0)
	exp := now.Add(domain.WebsiteStateTTL)
	st := domain.IssueWebsiteState(key, "ud1", "wx-web", "https://c.example.com/cb", "nonce-a", exp)
	if len(st) != domain.WebsiteStateLen || len(st) > 128 || strings.Trim(st, "0123456789abcdef") != "" {
		t.Fatalf("state %q: WeChat hands back at most 128 characters of [A-Za-z0-9]", st)
	}
	got, err := domain.VerifyWebsiteState(key, st, "ud1", "wx-web", "nonce-a", now)
	if err != nil || !got.Equal(exp) {
		t.Fatalf("a good state: %v %v", got, err)
	}
	for name, c := range map[string]struct {
		state, ud, app, nonce string
		at                    time.Time
		key                   []byte
	}{
		"missing":        {"", "ud1", "wx-web", "nonce-a", now, key},
		"malformed":      {st[:10], "ud1", "wx-web", "nonce-a", now, key},
		"not hex":        {"z" + st[1:], "ud1", "wx-web", "nonce-a", now, key},
		"another cookie": {st, "ud1", "wx-web", "nonce-b", now, key},
		"no cookie":      {st, "ud1", "wx-web", "", now, key},
		"another domain": {st, "ud2", "wx-web", "nonce-a", now, key},
		"another app":    {st, "ud1", "wx-web2", "nonce-a", now, key},
		"expired":        {st, "ud1", "wx-web", "nonce-a", exp, key},
		"another key":    {st, "ud1", "wx-web", "nonce-a", now, domain.DeriveWebsiteStateKey([]byte(strings.Repeat("j", 32)))},
		"tampered":       {st[:len(st)-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", st[len(st)-1])+1)%16]), "ud1", "wx-web", "nonce-a", now, key},
	} {
		if _, err := domain.VerifyWebsiteState(c.key, c.state, c.ud, c.app, c.nonce, c.at); !domain.IsKind(err, domain.KindStateInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A later expiry written into a state breaks its MAC.
	longer := domain.IssueWebsiteState(key, "ud1", "wx-web", "https://c.example.com/cb", "nonce-a", exp.Add(time.Hour))
	forged := longer[:18] + st[18:]
	if _, err := domain.VerifyWebsiteState(key, forged, "ud1", "wx-web", "nonce-a", now); !domain.IsKind(err, domain.KindStateInvalid) {
		t.Fatalf("an expiry moved: %v", err)
	}
	if string(domain.WebsiteStateDigest(st)) == string(domain.WebsiteStateDigest(longer)) {
		t.Fatal("digests differ per state")
	}
}
