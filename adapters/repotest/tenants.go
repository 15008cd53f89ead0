package repotest

import (
	"slices"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

func (s suite) userDomains(t *testing.T) {
	s.run(t, "CreateThenFindRoundTrips", func(f *fixture) {
		d, err := domain.NewUserDomain("C.DM.10271.5", "a-tenant-secret-0123456789")
		noErr(f.t, "NewUserDomain", err)
		created, err := f.UserDomains.CreateUserDomain(f.ctx, d)
		noErr(f.t, "CreateUserDomain", err)
		if created.ID() == 0 {
			f.t.Error("created user domain has id 0")
		}
		other := f.userDomain("C.DM.10271.6")
		if other.ID() == created.ID() {
			f.t.Errorf("two user domains share id %d", created.ID())
		}
		got, err := f.UserDomains.UserDomainByName(f.ctx, "C.DM.10271.5")
		noErr(f.t, "UserDomainByName", err)
		if got.ID() != created.ID() || got.Name() != "C.DM.10271.5" || got.Secret() != "a-tenant-secret-0123456789" || !got.Enabled() {
			f.t.Errorf("UserDomainByName = {id %d, %q, secret %q, enabled %t}, want {id %d, C.DM.10271.5, the secret, enabled}",
				got.ID(), got.Name(), got.Secret(), got.Enabled(), created.ID())
		}
	})
	s.run(t, "UnknownNameIsNotFound", func(f *fixture) {
		f.userDomain("C.DM.10271.5")
		_, err := f.UserDomains.UserDomainByName(f.ctx, "C.DM.10271.50")
		wantKind(f.t, "UserDomainByName(unknown)", err, domain.KindUserDomainNotFound)
	})
	s.run(t, "CreateTakenNameIsInvalid", func(f *fixture) {
		first := f.userDomain("C.DM.10271.5")
		d, err := domain.NewUserDomain("C.DM.10271.5", "another-secret-0123456789")
		noErr(f.t, "NewUserDomain", err)
		_, err = f.UserDomains.CreateUserDomain(f.ctx, d)
		wantKind(f.t, "CreateUserDomain(taken name)", err, domain.KindInvalid)
		got, err := f.UserDomains.UserDomainByName(f.ctx, "C.DM.10271.5")
		noErr(f.t, "UserDomainByName", err)
		if got.ID() != first.ID() || got.Secret() != first.Secret() {
			f.t.Error("a refused CreateUserDomain changed the existing domain")
		}
	})
	s.run(t, "DisableAndEnable", func(f *fixture) {
		f.userDomain("C.DM.10271.5")
		other := f.userDomain("C.DM.10271.6")
		noErr(f.t, "SetUserDomainEnabled(false)", f.UserDomains.SetUserDomainEnabled(f.ctx, "C.DM.10271.5", false))
		wantEnabled(f, "C.DM.10271.5", false)
		wantEnabled(f, other.Name(), true)
		noErr(f.t, "SetUserDomainEnabled(false) again", f.UserDomains.SetUserDomainEnabled(f.ctx, "C.DM.10271.5", false))
		wantEnabled(f, "C.DM.10271.5", false)
		noErr(f.t, "SetUserDomainEnabled(true)", f.UserDomains.SetUserDomainEnabled(f.ctx, "C.DM.10271.5", true))
		wantEnabled(f, "C.DM.10271.5", true)
	})
	s.run(t, "SetEnabledOfUnknownIsNotFound", func(f *fixture) {
		err := f.UserDomains.SetUserDomainEnabled(f.ctx, "C.DM.1.1", false)
		wantKind(f.t, "SetUserDomainEnabled(unknown)", err, domain.KindUserDomainNotFound)
	})
	s.run(t, "RotateSecretStoresThePreviousOne", func(f *fixture) {
		first := f.userDomain("C.DM.10271.5")
		other := f.userDomain("C.DM.10271.6")
		t0 := time.Date(2026, 12, 2, 7, 30, 0, 123456000, time.UTC)
		const b, c = "rotated-secret-b-0123456789abcdefgh", "rotated-secret-c-0123456789abcdefgh"
		rotate := func(secret string, now time.Time, overlap time.Duration) domain.UserDomain {
			f.t.Helper()
			d, err := f.UserDomains.RotateUserDomainSecret(f.ctx, "C.DM.10271.5", func(cur domain.UserDomain) (domain.UserDomain, error) {
				return cur.RotateSecret(secret, now, overlap)
			})
			noErr(f.t, "RotateUserDomainSecret", err)
			return d
		}
		wantSecrets := func(step, secret, prev string, until time.Time) {
			f.t.Helper()
			got, err := f.UserDomains.UserDomainByName(f.ctx, "C.DM.10271.5")
			noErr(f.t, "UserDomainByName", err)
			gotPrev, gotUntil := got.PreviousSecret()
			if got.ID() != first.ID() || !got.Enabled() || got.Secret() != secret || gotPrev != prev || !gotUntil.Equal(until) {
				f.t.Errorf("%s: stored {id %d, enabled %t, secret %q, previous %q until %v}, want {id %d, enabled, %q, %q until %v}",
					step, got.ID(), got.Enabled(), got.Secret(), gotPrev, gotUntil, first.ID(), secret, prev, until)
			}
		}
		d := rotate(b, t0, time.Hour)
		if p, u := d.PreviousSecret(); d.Secret() != b || p != first.Secret() || !u.Equal(t0.Add(time.Hour)) {
			f.t.Errorf("RotateUserDomainSecret returned secret %q, previous %q until %v", d.Secret(), p, u)
		}
		wantSecrets("first rotation", b, first.Secret(), t0.Add(time.Hour))
		rotate(c, t0.Add(time.Minute), 2*time.Hour)
		wantSecrets("second rotation", c, b, t0.Add(time.Minute+2*time.Hour))
		got, err := f.UserDomains.UserDomainByName(f.ctx, "C.DM.10271.6")
		noErr(f.t, "UserDomainByName(other)", err)
		if p, _ := got.PreviousSecret(); got.Secret() != other.Secret() || p != "" {
			f.t.Error("rotating one user domain's secret changed another's")
		}

		_, err = f.UserDomains.RotateUserDomainSecret(f.ctx, "C.DM.10271.5", func(cur domain.UserDomain) (domain.UserDomain, error) {
			return cur.RotateSecret(b, t0, time.Hour) // the previous secret: refused
		})
		wantKind(f.t, "RotateUserDomainSecret(refused by rotate)", err, domain.KindInvalid)
		wantSecrets("refused rotation", c, b, t0.Add(time.Minute+2*time.Hour))

		rotate(first.Secret(), t0.Add(2*time.Minute), 0)
		wantSecrets("rotation without overlap", first.Secret(), "", time.Time{})
		noErr(f.t, "SetUserDomainEnabled(false)", f.UserDomains.SetUserDomainEnabled(f.ctx, "C.DM.10271.5", false))
		rotate(b, t0, time.Hour)
		wantEnabled(f, "C.DM.10271.5", false)
	})
	s.run(t, "RotateSecretOfUnknownIsNotFound", func(f *fixture) {
		_, err := f.UserDomains.RotateUserDomainSecret(f.ctx, "C.DM.1.1", func(cur domain.UserDomain) (domain.UserDomain, error) {
			return cur.RotateSecret("rotated-secret-b-0123456789abcdefgh", time.Now(), time.Hour)
		})
		wantKind(f.t, "RotateUserDomainSecret(unknown)", err, domain.KindUserDomainNotFound)
	})
}

func wantEnabled(f *fixture, name string, want bool) {
	f.t.Helper()
	d, err := f.UserDomains.UserDomainByName(f.ctx, name)
	noErr(f.t, "UserDomainByName", err)
	if d.Enabled() != want {
		f.t.Errorf("%s enabled = %t, want %t", name, d.Enabled(), want)
	}
}

func (s suite) officialAccounts(t *testing.T) {
	s.run(t, "PutThenGetRoundTrips", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		putAccount(f, d.ID(), "wx8f3a2b1c0d9e7f6a", "app-secret-1")
		a, err := application.AppOfKind(f.ctx, f.Apps, d.ID(), "wx8f3a2b1c0d9e7f6a", domain.AppKindOfficialAccount)
		noErr(f.t, "OfficialAccount", err)
		if a.UserDomainID() != d.ID() || a.AppID() != "wx8f3a2b1c0d9e7f6a" || a.AppSecret() != "app-secret-1" {
			f.t.Errorf("OfficialAccount = {%d, %q, %q}, want {%d, wx8f3a2b1c0d9e7f6a, app-secret-1}",
				a.UserDomainID(), a.AppID(), a.AppSecret(), d.ID())
		}
	})
	s.run(t, "UnknownIsMissing", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		other := f.userDomain("C.DM.10271.6")
		putAccount(f, d.ID(), "wx-app-1", "app-secret-1")
		_, err := application.AppOfKind(f.ctx, f.Apps, d.ID(), "wx-app-2", domain.AppKindOfficialAccount)
		wantKind(f.t, "OfficialAccount(unknown appId)", err, domain.KindOfficialAccountMissing)
		_, err = application.AppOfKind(f.ctx, f.Apps, other.ID(), "wx-app-1", domain.AppKindOfficialAccount)
		wantKind(f.t, "OfficialAccount(appId of another user domain)", err, domain.KindOfficialAccountMissing)
	})
	s.run(t, "PutAgainChangesTheSecret", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		other := f.userDomain("C.DM.10271.6")
		putAccount(f, d.ID(), "wx-app-1", "app-secret-1")
		putAccount(f, other.ID(), "wx-app-1", "secret-of-the-other-domain")
		putAccount(f, d.ID(), "wx-app-1", "app-secret-2")
		wantSecret(f, d.ID(), "wx-app-1", "app-secret-2")
		wantSecret(f, other.ID(), "wx-app-1", "secret-of-the-other-domain")
	})
	s.run(t, "PutForUnknownUserDomainFails", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		a, err := domain.NewOfficialAccount(d.ID()+1000, "wx-app-1", "app-secret-1")
		noErr(f.t, "NewOfficialAccount", err)
		if err := f.Apps.PutWeChatApp(f.ctx, a); err == nil {
			f.t.Error("PutOfficialAccount for an unknown user domain succeeded")
		}
	})
}

func putAccount(f *fixture, userDomainID int64, appID, secret string) {
	f.t.Helper()
	a, err := domain.NewOfficialAccount(userDomainID, appID, secret)
	noErr(f.t, "NewOfficialAccount", err)
	noErr(f.t, "PutOfficialAccount", f.Apps.PutWeChatApp(f.ctx, a))
}

func wantSecret(f *fixture, userDomainID int64, appID, want string) {
	f.t.Helper()
	a, err := application.AppOfKind(f.ctx, f.Apps, userDomainID, appID, domain.AppKindOfficialAccount)
	noErr(f.t, "OfficialAccount", err)
	if a.AppSecret() != want {
		f.t.Errorf("AppSecret of %d/%s = %q, want %q", userDomainID, appID, a.AppSecret(), want)
	}
}

func (s suite) dataCenters(t *testing.T) {
	s.run(t, "PutThenFindRoundTrips", func(f *fixture) {
		putDataCenter(f, "CN", "https://cn.api.example.com", 460, 461)
		putDataCenter(f, "EU", "https://eu.api.example.com/v2", 262)
		wantDataCenter(f, 460, "CN", "https://cn.api.example.com", 460, 461)
		wantDataCenter(f, 461, "CN", "https://cn.api.example.com", 460, 461)
		wantDataCenter(f, 262, "EU", "https://eu.api.example.com/v2", 262)
	})
	s.run(t, "UnservedMCCIsUnresolved", func(f *fixture) {
		_, err := f.DataCenters.DataCenterByMCC(f.ctx, 460)
		wantKind(f.t, "DataCenterByMCC on an empty repository", err, domain.KindMCCUnresolved)
		putDataCenter(f, "CN", "https://cn.api.example.com", 460)
		_, err = f.DataCenters.DataCenterByMCC(f.ctx, 310)
		wantKind(f.t, "DataCenterByMCC(unserved)", err, domain.KindMCCUnresolved)
	})
	s.run(t, "PutReplacesURLAndMCCs", func(f *fixture) {
		putDataCenter(f, "CN", "https://cn.api.example.com", 460, 461)
		putDataCenter(f, "CN", "https://cn2.api.example.com", 460, 455)
		wantDataCenter(f, 460, "CN", "https://cn2.api.example.com", 455, 460)
		wantDataCenter(f, 455, "CN", "https://cn2.api.example.com", 455, 460)
		_, err := f.DataCenters.DataCenterByMCC(f.ctx, 461)
		wantKind(f.t, "DataCenterByMCC(mcc dropped by the replacement)", err, domain.KindMCCUnresolved)
	})
	s.run(t, "MCCReleasedByOneCanBeTakenByAnother", func(f *fixture) {
		putDataCenter(f, "CN", "https://cn.api.example.com", 460, 262)
		putDataCenter(f, "CN", "https://cn.api.example.com", 460)
		putDataCenter(f, "EU", "https://eu.api.example.com", 262)
		wantDataCenter(f, 262, "EU", "https://eu.api.example.com", 262)
	})
	s.run(t, "MCCOfAnotherDataCenterIsInvalid", func(f *fixture) {
		putDataCenter(f, "CN", "https://cn.api.example.com", 460)
		putDataCenter(f, "EU", "https://eu.api.example.com", 262)
		dc, err := domain.NewDataCenter("CN", "https://cn2.api.example.com", []domain.MCC{460, 262, 461})
		noErr(f.t, "NewDataCenter", err)
		wantKind(f.t, "PutDataCenter(taking EU's mcc)", f.DataCenters.PutDataCenter(f.ctx, dc), domain.KindInvalid)
		dc, err = domain.NewDataCenter("US", "https://us.api.example.com", []domain.MCC{310, 460})
		noErr(f.t, "NewDataCenter", err)
		wantKind(f.t, "PutDataCenter(new data center taking CN's mcc)", f.DataCenters.PutDataCenter(f.ctx, dc), domain.KindInvalid)
		// A refused put changes nothing.
		wantDataCenter(f, 460, "CN", "https://cn.api.example.com", 460)
		wantDataCenter(f, 262, "EU", "https://eu.api.example.com", 262)
		for _, m := range []domain.MCC{461, 310} {
			_, err = f.DataCenters.DataCenterByMCC(f.ctx, m)
			wantKind(f.t, "DataCenterByMCC(mcc of a refused put)", err, domain.KindMCCUnresolved)
		}
	})
}

func putDataCenter(f *fixture, code, apiURL string, mccs ...domain.MCC) {
	f.t.Helper()
	dc, err := domain.NewDataCenter(code, apiURL, mccs)
	noErr(f.t, "NewDataCenter", err)
	noErr(f.t, "PutDataCenter("+code+")", f.DataCenters.PutDataCenter(f.ctx, dc))
}

func wantDataCenter(f *fixture, mcc domain.MCC, code, apiURL string, mccs ...domain.MCC) {
	f.t.Helper()
	dc, err := f.DataCenters.DataCenterByMCC(f.ctx, mcc)
	noErr(f.t, "DataCenterByMCC", err)
	got := dc.MCCs()
	slices.Sort(got)
	if dc.Code() != code || dc.APIURL() != apiURL || !slices.Equal(got, mccs) {
		f.t.Errorf("DataCenterByMCC(%d) = {%q, %q, %v}, want {%q, %q, %v}", mcc, dc.Code(), dc.APIURL(), got, code, apiURL, mccs)
	}
}
