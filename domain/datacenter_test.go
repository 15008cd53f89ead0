package domain_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/iotplatform/enduser-auth/domain"
)

func TestParseMCC(t *testing.T) {
	for in, want := range map[string]domain.MCC{"460": 460, " 262 ": 262, "0": 0, "999": 999, "001": 1} {
		got, err := domain.ParseMCC(in)
		if err != nil || got != want {
			t.Errorf("ParseMCC(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", " ", "abc", "46a", "4.6", "-1", "1000", "99999999999999999999", "0x1c", strings.Repeat("x", 500)} {
		_, err := domain.ParseMCC(in)
		if domain.KindOf(err) != domain.KindMCCUnresolved {
			t.Errorf("ParseMCC(%q) error = %v, want kind %s", in, err, domain.KindMCCUnresolved)
		}
		if d := domain.DetailOf(err); len(d) > 64 {
			t.Errorf("ParseMCC(%q) detail is %d bytes long: client input must be truncated", in, len(d))
		}
	}
}

func TestNewDataCenterSortsAndDeduplicatesMCCs(t *testing.T) {
	dc, err := domain.NewDataCenter("CN", "https://cn.api.example.com", []domain.MCC{461, 460, 461, 0, 999})
	if err != nil {
		t.Fatal(err)
	}
	if dc.Code() != "CN" || dc.APIURL() != "https://cn.api.example.com" {
		t.Errorf("NewDataCenter = {%q, %q}", dc.Code(), dc.APIURL())
	}
	if got, want := dc.MCCs(), []domain.MCC{0, 460, 461, 999}; !slices.Equal(got, want) {
		t.Errorf("MCCs() = %v, want %v", got, want)
	}
	dc.MCCs()[0] = 1
	if dc.MCCs()[0] != 0 {
		t.Error("MCCs() exposes the data center's own slice")
	}
	if _, err := domain.NewDataCenter("eu-west_1", "http://10.0.0.1:8080/api", nil); err != nil {
		t.Errorf("NewDataCenter without MCCs: %v", err)
	}
}

func TestNewDataCenterRejectsInvalidInput(t *testing.T) {
	tests := []struct {
		name, code, url string
		mccs            []domain.MCC
	}{
		{"empty code", "", "https://x.example.com", nil},
		{"code too long", strings.Repeat("a", 33), "https://x.example.com", nil},
		{"code with space", "C N", "https://x.example.com", nil},
		{"code with dot", "cn.1", "https://x.example.com", nil},
		{"empty URL", "CN", "", nil},
		{"relative URL", "CN", "/api", nil},
		{"URL without scheme", "CN", "cn.api.example.com", nil},
		{"URL without host", "CN", "https://", nil},
		{"ftp URL", "CN", "ftp://cn.api.example.com", nil},
		{"javascript URL", "CN", "javascript:alert(1)", nil},
		{"negative MCC", "CN", "https://x.example.com", []domain.MCC{460, -1}},
		{"MCC above 999", "CN", "https://x.example.com", []domain.MCC{1000}},
	}
	for _, tt := range tests {
		if _, err := domain.NewDataCenter(tt.code, tt.url, tt.mccs); domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("%s: NewDataCenter error = %v, want kind %s", tt.name, err, domain.KindInvalid)
		}
	}
	if _, err := domain.NewDataCenter(strings.Repeat("a", 32), "https://x.example.com", nil); err != nil {
		t.Errorf("NewDataCenter(32-character code): %v", err)
	}
}
