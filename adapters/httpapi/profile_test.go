package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/iotplatform/enduser-auth/domain"
)

// TestProfileParamsNameEveryField: setUserInfo's table names each field of
// the profile once, in the domain's order of checks (so that the first
// wrong parameter is the one the client is told about).
func TestProfileParamsNameEveryField(t *testing.T) {
	fields := domain.ProfileFields()
	if len(profileParams) != len(fields) {
		t.Fatalf("%d parameters for %d fields", len(profileParams), len(fields))
	}
	for i, pp := range profileParams {
		if pp.field != fields[i] {
			t.Errorf("parameter %d (%s) is field %v, want %v", i, pp.name, pp.field, fields[i])
		}
	}
}

// TestProfileTextReadsOnlyTheProfile: parameters that are no profile
// field's are not passed on; one sent empty is (it clears its field).
func TestProfileTextReadsOnlyTheProfile(t *testing.T) {
	r := httptest.NewRequest("PUT", "/x?nikeName=Ann&city=&phone=x%00&uid=u1", nil)
	got := profileText(readParams(r))
	want := domain.ProfileText{domain.FieldNikeName: "Ann", domain.FieldCity: ""}
	if len(got) != len(want) {
		t.Fatalf("profileText = %v, want %v", got, want)
	}
	for f, v := range want {
		if g, ok := got[f]; !ok || g != v {
			t.Errorf("%v = %q (sent %v), want %q", f, g, ok, v)
		}
	}
}

// TestProfileRefusalNamesTheParameter: a refusal reaches the client as
// extMsg naming the parameter as the client sent it, with the kind kept.
func TestProfileRefusalNamesTheParameter(t *testing.T) {
	for _, pp := range profileParams {
		_, err := domain.ParseProfileUpdate(domain.ProfileText{pp.field: "\x00"})
		got := profileRefusal(err)
		if domain.KindOf(got) != domain.KindOf(err) || domain.KindOf(got) == "" {
			t.Fatalf("%s: kind %q, want %q", pp.name, domain.KindOf(got), domain.KindOf(err))
		}
		if d := domain.DetailOf(got); !strings.HasPrefix(d, pp.name+" ") {
			t.Errorf("%s: extMsg %q does not name the parameter", pp.name, d)
		}
	}
	other := domain.Errorf(domain.KindUserNotFound, "no such user")
	if got := profileRefusal(other); domain.DetailOf(got) != "no such user" || domain.KindOf(got) != domain.KindUserNotFound {
		t.Errorf("a refusal of another kind was reworded: %v", got)
	}
}
