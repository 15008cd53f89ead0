package domain_test

import (
	"strings"
	"testing"

	"github.com/iotplatform/enduser-auth/domain"
)

func TestMaskPhone(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"13800138000", "138****8000"},
		{"1380013", "1380013"},
		{"12345678", "123*5678"},
		{"61234567", "612*4567"},
		{"123456", "****56"},
		{"12", "12"},
		{"1", "1"},
		{"", ""},
		{"123456789012345", "123********2345"},
	} {
		if got := domain.MaskPhone(c.in); got != c.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParsePhoneCode(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"", false}, {"  ", false}, {"abc", true}, {strings.Repeat("a", 128), true}, {strings.Repeat("a", 129), false}, {"\xff", false},
	} {
		_, err := domain.ParsePhoneCode(c.in)
		if (err == nil) != c.ok || (err != nil && !domain.IsKind(err, domain.KindPhoneCodeRequired)) {
			t.Errorf("ParsePhoneCode(%q) = %v, want ok %v", c.in, err, c.ok)
		}
	}
}

func TestNewPhoneNumber(t *testing.T) {
	p, err := domain.NewPhoneNumber("+86", "13800138000")
	if err != nil || p.CountryCode != "86" || p.Number != "13800138000" || p.Masked() != "138****8000" {
		t.Fatalf("NewPhoneNumber = %+v, %v", p, err)
	}
	for _, c := range [][2]string{{"", "1380"}, {"86", ""}, {"86", "138-0013"}, {"x", "1"}, {"86", strings.Repeat("1", 21)}} {
		if _, err := domain.NewPhoneNumber(c[0], c[1]); !domain.IsKind(err, domain.KindPhoneRejected) {
			t.Errorf("NewPhoneNumber(%q, %q) = %v, want KindPhoneRejected", c[0], c[1], err)
		}
	}
}
