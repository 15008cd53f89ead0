package httpapi

import (
	"testing"

	"github.com/iotplatform/enduser-auth/domain"
)

func TestPrefersChinese(t *testing.T) {
	cases := map[string]bool{
		"":                           false,
		"zh":                         true,
		"zh-CN,zh;q=0.9,en;q=0.8":    true,
		"en-US,en;q=0.9,zh-CN;q=0.8": false,
		"en;q=0.5, zh-Hans;q=0.9":    true,
		"zh;q=0":                     false,
		"ZH-TW":                      true,
		"zhx":                        false,
		"en, zh":                     false,
		"zh;q=abc, en;q=0.1":         false,
		"*;q=0.1, zh-Hant-TW;q=0.2":  true,
		",,;;":                       false,
	}
	for header, want := range cases {
		if got := prefersChinese(header); got != want {
			t.Errorf("prefersChinese(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestEveryKindHasABusinessCode(t *testing.T) {
	for _, k := range domain.ClientKinds {
		if _, ok := responses[k]; !ok {
			t.Errorf("kind %s has no business code", k)
		}
	}
	if len(responses) != len(domain.ClientKinds) {
		t.Errorf("the table maps %d kinds, domain.ClientKinds lists %d", len(responses), len(domain.ClientKinds))
	}
	seen := map[int]bool{}
	for k, r := range responses {
		if r.code == 0 || r.en == "" || r.zh == "" {
			t.Errorf("%s: incomplete response %+v", k, r)
		}
		if seen[r.code] {
			t.Errorf("code %d is used twice", r.code)
		}
		seen[r.code] = true
	}
}
