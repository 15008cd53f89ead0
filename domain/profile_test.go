package domain_test

import (
	"strings"
	"testing"

	"github.com/iotplatform/enduser-auth/domain"
)

func TestParseProfileUpdate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("字", n) }
	cases := []struct {
		name string
		sent map[string]string
		want domain.Kind
	}{
		{"nothing sent", map[string]string{}, ""},
		{"nikeName 50 runes", map[string]string{"nikeName": long(50)}, ""},
		{"nikeName 51 runes", map[string]string{"nikeName": long(51)}, domain.KindNikeNameInvalid},
		{"nikeName control", map[string]string{"nikeName": "a\x01b"}, domain.KindProfileInvalid},
		{"nikeName newline", map[string]string{"nikeName": "a\nb"}, domain.KindProfileInvalid},
		{"nikeName C1 control", map[string]string{"nikeName": "a\u0085b"}, domain.KindProfileInvalid},
		{"nikeName invalid utf8", map[string]string{"nikeName": "a\xffb"}, domain.KindProfileInvalid},
		{"nikeName cleared", map[string]string{"nikeName": ""}, ""},
		{"headImage https", map[string]string{"headImage": "https://cdn.example.com/a.png"}, ""},
		// issue 19 amends the contract's §3: https only.
		{"headImage http", map[string]string{"headImage": "http://cdn.example.com/a.png"}, domain.KindProfileInvalid},
		{"headImage markup", map[string]string{"headImage": `https://x/"><script>alert(1)</script>`}, domain.KindProfileInvalid},
		{"headImage loopback", map[string]string{"headImage": "https://127.0.0.1/a.png"}, domain.KindProfileInvalid},
		{"headImage ftp", map[string]string{"headImage": "ftp://cdn.example.com/a.png"}, domain.KindProfileInvalid},
		{"headImage relative", map[string]string{"headImage": "/a.png"}, domain.KindProfileInvalid},
		{"headImage no host", map[string]string{"headImage": "https:///a.png"}, domain.KindProfileInvalid},
		{"headImage javascript", map[string]string{"headImage": "javascript:alert(1)"}, domain.KindProfileInvalid},
		{"headImage 1024", map[string]string{"headImage": "https://e.com/" + strings.Repeat("a", 1024-14)}, ""},
		{"headImage 1025", map[string]string{"headImage": "https://e.com/" + strings.Repeat("a", 1025-14)}, domain.KindProfileInvalid},
		{"headImage cleared", map[string]string{"headImage": ""}, ""},
		{"sex 0", map[string]string{"sex": "0"}, ""},
		{"sex 2", map[string]string{"sex": "2"}, ""},
		{"sex 3", map[string]string{"sex": "3"}, domain.KindSexInvalid},
		{"sex -1", map[string]string{"sex": "-1"}, domain.KindSexInvalid},
		{"sex text", map[string]string{"sex": "female"}, domain.KindSexInvalid},
		{"sex fraction", map[string]string{"sex": "1.0"}, domain.KindSexInvalid},
		{"sex cleared", map[string]string{"sex": ""}, ""},
		{"address 254", map[string]string{"address": long(254)}, ""},
		{"address 255", map[string]string{"address": long(255)}, domain.KindAddressInvalid},
		{"province 100", map[string]string{"province": long(100)}, ""},
		{"province 101", map[string]string{"province": long(101)}, domain.KindProvinceInvalid},
		{"city 100", map[string]string{"city": long(100)}, ""},
		{"city 101", map[string]string{"city": long(101)}, domain.KindCityInvalid},
		{"signature 200", map[string]string{"signature": long(200)}, ""},
		{"signature 201", map[string]string{"signature": long(201)}, domain.KindSignatureText},
		{"remark 500", map[string]string{"remark": long(500)}, ""},
		{"remark 501", map[string]string{"remark": long(501)}, domain.KindRemarkInvalid},
		{"remark tab", map[string]string{"remark": "a\tb"}, domain.KindProfileInvalid},
		{"lang 0", map[string]string{"lang": "0"}, ""},
		{"lang 100000", map[string]string{"lang": "100000"}, ""},
		{"lang 100001", map[string]string{"lang": "100001"}, domain.KindProfileInvalid},
		{"nationality negative", map[string]string{"nationality": "-5"}, domain.KindProfileInvalid},
		{"timezone huge", map[string]string{"timezone": "99999999999999999999"}, domain.KindProfileInvalid},
		{"timezone spaces", map[string]string{"timezone": " 8"}, domain.KindProfileInvalid},
		{"timezone plus", map[string]string{"timezone": "+8"}, domain.KindProfileInvalid},
		{"timezone cleared", map[string]string{"timezone": ""}, ""},
		{"first wrong in table order wins", map[string]string{"remark": long(501), "sex": "9", "city": long(101)}, domain.KindSexInvalid},
		{"control beats length in one field", map[string]string{"nikeName": long(60) + "\x00"}, domain.KindProfileInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := domain.ParseProfileUpdate(profileText(t, c.sent))
			if got := domain.KindOf(err); got != c.want {
				t.Fatalf("kind = %q, want %q (err %v)", got, c.want, err)
			}
		})
	}
}

func TestProfileUpdateApply(t *testing.T) {
	two := 2
	p := domain.Profile{NikeName: "old", City: "Hangzhou", Sex: &two}
	u, err := domain.ParseProfileUpdate(profileText(t, map[string]string{"nikeName": "新", "city": "", "sex": "", "lang": "86"}))
	if err != nil {
		t.Fatal(err)
	}
	got := u.Apply(p)
	if got.NikeName != "新" || got.City != "" || got.Sex != nil || got.Lang == nil || *got.Lang != 86 {
		t.Fatalf("applied = %+v", got)
	}
	if (domain.ProfileUpdate{}).Empty() != true || u.Empty() {
		t.Fatal("Empty is wrong")
	}
}

// TestHeadImageURL: an https URL of printable characters without spaces,
// quotes, angle brackets or backslashes, whose host is a name (not
// localhost) or a public IP literal, decided from the text.
func TestHeadImageURL(t *testing.T) {
	for s, want := range map[string]bool{
		"https://cdn.example.com/a.png":                true,
		"HTTPS://cdn.example.com/a.png":                true,
		"https://cdn.example.com:8443/a.png?w=64#x":    true,
		"https://cdn.example.com./a.png":               true,
		"https://wx.qlogo.cn/mmopen/vi_32/Q0j4TwG/132": true,
		"https://8.8.8.8/a.png":                        true,
		"https://[2606:4700::1111]/a.png":              true,
		"https://例子.测试/头像.png":                         true,
		"https://a1.example.com/%22.png":               true,
		"http://cdn.example.com/a.png":                 false,
		"ftp://cdn.example.com/a.png":                  false,
		"//cdn.example.com/a.png":                      false,
		"https:///a.png":                               false,
		"https:cdn.example.com":                        false,
		"javascript:alert(1)":                          false,
		`https://x/"><script>alert(1)</script>`:        false,
		"https://x/'onerror='alert(1)":                 false,
		"https://x/<b>":                                false,
		"https://x/a b.png":                            false,
		"https://x/`a`":                                false,
		`https://x\@evil.example/`:                     false,
		"https://x/a\u00a0b":                           false,
		"https://x/a\u200bb":                           false,
		"https://user:pass@cdn.example.com/a.png":      false,
		"https://localhost/a.png":                      false,
		"https://LOCALHOST./a.png":                     false,
		"https://api.localhost/a.png":                  false,
		"https://127.0.0.1/a.png":                      false,
		"https://127.1/a.png":                          false,
		"https://2130706433/a.png":                     false,
		"https://0x7f.0.0.1/a.png":                     false,
		"https://0.0.0.0/a.png":                        false,
		"https://10.1.2.3/a.png":                       false,
		"https://172.16.0.1/a.png":                     false,
		"https://192.168.1.1/a.png":                    false,
		"https://169.254.169.254/latest/meta-data":     false,
		"https://100.64.0.1/a.png":                     false,
		"https://224.0.0.1/a.png":                      false,
		"https://255.255.255.255/a.png":                false,
		"https://[::1]/a.png":                          false,
		"https://[::]/a.png":                           false,
		"https://[fe80::1%25eth0]/a.png":               false,
		"https://[fe80::1]/a.png":                      false,
		"https://[fc00::1]/a.png":                      false,
		"https://[::ffff:127.0.0.1]/a.png":             false,
		"https://[::ffff:10.0.0.1]/a.png":              false,
		"https://[64:ff9b::a00:1]/a.png":               false,
	} {
		if got := domain.HeadImageURL(s); got != want {
			t.Errorf("HeadImageURL(%q) = %v, want %v", s, got, want)
		}
	}
}

// profileText is a profile change written with the fields' names
// (ProfileField.String), as the tests spell them.
func profileText(t testing.TB, byName map[string]string) domain.ProfileText {
	t.Helper()
	sent := domain.ProfileText{}
	for name, v := range byName {
		found := false
		for _, f := range domain.ProfileFields() {
			if f.String() == name {
				sent[f], found = v, true
			}
		}
		if !found {
			t.Fatalf("no profile field %q", name)
		}
	}
	return sent
}
