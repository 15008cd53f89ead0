package domain_test

import (
	"testing"

	"github.com/iotplatform/enduser-auth/domain"
)

func TestWeChatAppKinds(t *testing.T) {
	mp, err := domain.NewMiniProgram(7, " wx-mini ", "s")
	if err != nil || mp.Kind() != domain.AppKindMiniProgram || mp.AppID() != "wx-mini" || mp.UserDomainID() != 7 {
		t.Fatalf("NewMiniProgram: %+v %v", mp, err)
	}
	oa, err := domain.NewOfficialAccount(7, "wx-oa", "s")
	if err != nil || oa.Kind() != domain.AppKindOfficialAccount {
		t.Fatalf("NewOfficialAccount: %+v %v", oa, err)
	}
	if _, err := domain.NewWeChatApp("alipay", 7, "wx-1", "s"); !domain.IsKind(err, domain.KindInvalid) {
		t.Fatalf("an unknown kind: %v", err)
	}
	if _, err := domain.NewMiniProgram(7, "wx bad", "s"); !domain.IsKind(err, domain.KindInvalid) {
		t.Fatalf("a bad appId: %v", err)
	}
	if _, err := domain.NewMiniProgram(7, "wx-1", ""); !domain.IsKind(err, domain.KindInvalid) {
		t.Fatalf("no secret: %v", err)
	}
	if domain.AppKindMiniProgram.MissingKind() != domain.KindMiniProgramMissing ||
		domain.AppKindOfficialAccount.MissingKind() != domain.KindOfficialAccountMissing {
		t.Fatal("each kind's login has its own not-configured kind")
	}
	if got := domain.UnmarshalOfficialAccountFromDatabase(1, "wx", "s").Kind(); got != domain.AppKindOfficialAccount {
		t.Fatalf("a rehydrated official account is of kind %q", got)
	}
}
