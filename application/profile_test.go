package application_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func TestSetUserInfoChangesOnlyWhatIsSent(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	tok := res.Tokens.Access.Value
	must(t, h.svc.EndUsers.SetUserInfo(h.ctx, tok, profileText(t, map[string]string{"nikeName": "阿丽丝", "sex": "1", "city": "杭州", "timezone": "8"})))
	must(t, h.svc.EndUsers.SetUserInfo(h.ctx, tok, profileText(t, map[string]string{"city": "", "remark": "hi"})))
	p := h.verify(tok)
	info, err := h.svc.EndUsers.UserInfo(h.ctx, p)
	must(t, err)
	got := info.Profile
	if got.NikeName != "阿丽丝" || got.City != "" || got.Remark != "hi" || got.Sex == nil || *got.Sex != 1 ||
		got.Timezone == nil || *got.Timezone != 8 || got.Lang != nil {
		t.Fatalf("profile = %+v", got)
	}
}

func TestSetUserInfoCodes(t *testing.T) {
	h := newHarness(t)
	res := h.login(signed(appID, "code-alice"))
	wantKind(t, "no token", h.svc.EndUsers.SetUserInfo(h.ctx, "", nil), domain.KindAccessTokenRequired)
	wantKind(t, "bad token", h.svc.EndUsers.SetUserInfo(h.ctx, "Bearer x.y.z", nil), domain.KindTokenInvalid)
	wantKind(t, "sex", h.svc.EndUsers.SetUserInfo(h.ctx, res.Tokens.Access.Value, profileText(t, map[string]string{"sex": "7"})), domain.KindSexInvalid)
	h.store.failOn("UpdateUserProfile")
	err := h.svc.EndUsers.SetUserInfo(h.ctx, res.Tokens.Access.Value, profileText(t, map[string]string{"nikeName": "x"}))
	wantInternal(t, "store failure", err, domain.KindProfileSaveFailed)
}

// TestLogoutDeviceAnnouncesToListeners: the listeners hear of a logout (in a
// synctest bubble: synctest.Wait, not a timeout, says they have run), a
// panicking one does not stop the others.
func TestLogoutDeviceAnnouncesToListeners(t *testing.T) {
	synctest.Test(t, testLogoutDeviceAnnouncesToListeners)
}

func testLogoutDeviceAnnouncesToListeners(t *testing.T) {
	h := newHarness(t)
	got := make(chan application.LogoutEvent, 2)
	h.svc.Auth.OnLogout(func(context.Context, application.LogoutEvent) { panic("a broken push module") })
	h.svc.Auth.OnLogout(func(_ context.Context, e application.LogoutEvent) { got <- e })
	res := h.login(signed(appID, "code-alice"))
	p := h.verify(res.Tokens.Access.Value)

	long := strings.Repeat("a", domain.MaxDeviceIDLength+1)
	wantKind(t, "over-long deviceId", h.svc.EndUsers.LogoutDevice(h.ctx, res.Tokens.Access.Value, long), domain.KindLogoutFailed)
	wantKind(t, "deviceId with a space", h.svc.EndUsers.LogoutDevice(h.ctx, res.Tokens.Access.Value, "a b"), domain.KindLogoutFailed)
	h.verify(res.Tokens.Access.Value) // a refused deviceId ends nothing

	must(t, h.svc.EndUsers.LogoutDevice(h.ctx, res.Tokens.Access.Value, "fcm:APA91b-token_1"))
	synctest.Wait()
	select {
	case e := <-got:
		if e.UID != p.UID || e.SessionID != p.SessionID || e.DeviceID != "fcm:APA91b-token_1" || e.UserDomain != p.UserDomain {
			t.Fatalf("event = %+v, principal %+v", e, p)
		}
	default:
		t.Fatal("the listener never heard of the logout")
	}
	if d := h.store.LogoutDevice(p.SessionID); d != "fcm:APA91b-token_1" {
		t.Fatalf("stored device = %q", d)
	}
	wantKind(t, "logout again", h.svc.EndUsers.LogoutDevice(h.ctx, res.Tokens.Access.Value, "other"), domain.KindTokenInvalid)
	h.svc.Machinery.WaitLogoutListeners()
	if len(got) != 0 {
		t.Fatalf("a second event: %+v", <-got)
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
