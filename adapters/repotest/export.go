package repotest

import (
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// export is the contract of UserExportData: what a user's export reads.
func (s suite) export(t *testing.T) {
	s.run(t, "UnknownUserIsNotFound", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		f.login(d.ID(), f.identity("wx-app-1", "o-alice", ""), "uid-alice", at(0))
		if _, err := f.Users.UserExportData(f.ctx, "uid-nobody"); !domain.IsKind(err, domain.KindUserNotFound) {
			f.t.Errorf("UserExportData of nobody: %v, want user_not_found", err)
		}
	})
	s.run(t, "NewUserHasItsIdentityAndSessionOnly", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		r := f.record(d.ID(), f.identity("wx-app-1", "o-alice", ""), "uid-alice", at(0))
		got, err := f.Users.UserExportData(f.ctx, "uid-alice")
		noErr(f.t, "UserExportData", err)
		if got.Profile != (domain.Profile{}) || !got.DeletionDueAt.IsZero() || got.RegisteredVia != domain.AppKindOfficialAccount {
			f.t.Errorf("a new user: profile %+v, deletion %v, via %q", got.Profile, got.DeletionDueAt, got.RegisteredVia)
		}
		if len(got.Identities) != 1 || got.Identities[0].Identity.UnionID() != "" || len(got.Sessions) != 1 ||
			got.Sessions[0].Session.ID() != r.Session.ID() || got.Sessions[0].RevokeReason != "" || got.Sessions[0].LogoutDeviceID != "" {
			f.t.Errorf("a new user: identities %+v, sessions %+v", got.Identities, got.Sessions)
		}
	})
	s.run(t, "SessionsEndedByScopeShowAsRevoked", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		old := f.record(d.ID(), f.identity("wx-app-1", "o-alice", ""), "uid-alice", at(0)).Session
		_, _, err := f.Sessions.RevokeScope(f.ctx, application.ScopeUser, "uid-alice", at(time.Minute))
		noErr(f.t, "RevokeScope", err)
		fresh := f.record(d.ID(), f.identity("wx-app-1", "o-alice", ""), "uid-unused", at(2*time.Minute)).Session
		got, err := f.Users.UserExportData(f.ctx, "uid-alice")
		noErr(f.t, "UserExportData", err)
		if len(got.Sessions) != 2 {
			f.t.Fatalf("sessions %+v; want 2", got.Sessions)
		}
		for _, sess := range got.Sessions {
			switch sess.Session.ID() {
			case old.ID():
				if !sess.Session.Revoked() || sess.RevokeReason != "user_sessions_ended" {
					f.t.Errorf("the session the user scope ended: revoked %t (%v) reason %q; want revoked, user_sessions_ended",
						sess.Session.Revoked(), sess.Session.RevokedAt(), sess.RevokeReason)
				}
				sameTime(f.t, "its revocation", sess.Session.RevokedAt(), at(time.Minute))
			case fresh.ID():
				if sess.Session.Revoked() || sess.RevokeReason != "" {
					f.t.Errorf("a session started after the revocation shows revoked (%q)", sess.RevokeReason)
				}
			}
		}
	})
	s.run(t, "EverythingOfTheUserAndNothingElse", func(f *fixture) {
		d := f.userDomain("C.DM.10271.5")
		other := f.userDomain("C.DM.10271.6")
		putApp(f, domain.AppKindMiniProgram, d.ID(), "wx-mini-1", "mini-secret-1")
		s1 := f.record(d.ID(), f.identity("wx-app-1", "o-alice", "u-alice"), "uid-alice", at(0)).Session
		mini := f.loginRecord(d.ID(), f.identity("wx-mini-1", "o-alice-mini", "u-alice"), "uid-unused", at(time.Minute))
		mini.AppKind = domain.AppKindMiniProgram
		r2, err := f.Users.RecordLogin(f.ctx, mini)
		noErr(f.t, "RecordLogin through the mini program", err)
		if r2.User.ID() != "uid-alice" {
			f.t.Fatalf("the unionid joins: got user %s", r2.User.ID())
		}
		s2 := r2.Session
		s3 := f.record(d.ID(), f.identity("wx-app-1", "o-alice", "u-alice"), "uid-unused", at(2*time.Minute)).Session
		// Someone else, in this and in another user domain.
		f.record(d.ID(), f.identity("wx-app-1", "o-bob", ""), "uid-bob", at(time.Minute))
		f.record(other.ID(), f.identity("wx-app-1", "o-alice", ""), "uid-alice-2", at(time.Minute))

		noErr(f.t, "UpdateUserProfile", f.Users.UpdateUserProfile(f.ctx, "uid-alice",
			f.update(map[string]string{"nikeName": "阿丽丝", "sex": "1", "city": "杭州"})))
		f.spend(s2.ID(), s2.Counter(), at(3*time.Minute), at(time.Hour), true)
		ok, err := f.Sessions.LogoutSession(f.ctx, s1.ID(), at(4*time.Minute), "fcm-device-1")
		noErr(f.t, "LogoutSession", err)
		revoked, err := f.Sessions.RevokeSession(f.ctx, s3.ID(), at(5*time.Minute), "refresh_token_reuse")
		noErr(f.t, "RevokeSession", err)
		if !ok || !revoked {
			f.t.Fatal("LogoutSession of a live session = false")
		}
		_, err = f.Users.RequestDeletion(f.ctx, "uid-alice", at(7*24*time.Hour))
		noErr(f.t, "RequestDeletion", err)

		got, err := f.Users.UserExportData(f.ctx, "uid-alice")
		noErr(f.t, "UserExportData", err)
		u := got.User
		if u.ID() != "uid-alice" || u.UserDomainID() != d.ID() || u.Status() != domain.UserNormal || got.UserDomain != d.Name() ||
			got.RegisteredVia != domain.AppKindOfficialAccount {
			f.t.Errorf("user: %+v in %q via %q", u, got.UserDomain, got.RegisteredVia)
		}
		sameTime(f.t, "registered at", u.RegisteredAt(), at(0))
		sameTime(f.t, "last login at", u.LastLoginAt(), at(2*time.Minute))
		sameTime(f.t, "deletion due at", got.DeletionDueAt, at(7*24*time.Hour))
		if got.Profile.NikeName != "阿丽丝" || got.Profile.City != "杭州" || got.Profile.Sex == nil || *got.Profile.Sex != 1 || got.Profile.Lang != nil {
			f.t.Errorf("profile: %+v", got.Profile)
		}

		if len(got.Identities) != 2 {
			f.t.Fatalf("identities: %+v", got.Identities)
		}
		for i, want := range []struct {
			app, openID string
			kind        domain.AppKind
			bound       time.Time
		}{{"wx-app-1", "o-alice", domain.AppKindOfficialAccount, at(0)}, {"wx-mini-1", "o-alice-mini", domain.AppKindMiniProgram, at(time.Minute)}} {
			id := got.Identities[i]
			if id.Identity.AppID() != want.app || id.Identity.OpenID() != want.openID || id.Identity.UnionID() != "u-alice" || id.Kind != want.kind {
				f.t.Errorf("identity %d: %+v %q, want %+v", i, id.Identity, id.Kind, want)
			}
			sameTime(f.t, "bound at", id.BoundAt, want.bound)
		}

		if len(got.Sessions) != 3 {
			f.t.Fatalf("sessions: %d, want the user's 3", len(got.Sessions))
		}
		want := []struct {
			id               domain.SessionID
			app              string
			rotated, revoked time.Time
			reason, device   string
		}{
			{s1.ID(), "wx-app-1", time.Time{}, at(4 * time.Minute), "logout", "fcm-device-1"},
			{s2.ID(), "wx-mini-1", at(3 * time.Minute), time.Time{}, "", ""},
			{s3.ID(), "wx-app-1", time.Time{}, at(5 * time.Minute), "refresh_token_reuse", ""},
		}
		for i, w := range want {
			ss := got.Sessions[i]
			sess := ss.Session
			if sess.ID() != w.id || sess.AppID() != w.app || sess.UserID() != "uid-alice" || ss.RevokeReason != w.reason || ss.LogoutDeviceID != w.device {
				f.t.Errorf("session %d: %s %s reason %q device %q, want %+v", i, sess.ID(), sess.AppID(), ss.RevokeReason, ss.LogoutDeviceID, w)
			}
			if len(sess.RefreshKey()) != 0 {
				f.t.Errorf("session %d carries its refresh key", i)
			}
			sameTime(f.t, "rotated at", sess.RotatedAt(), w.rotated)
			sameTime(f.t, "revoked at", sess.RevokedAt(), w.revoked)
		}
		sameTime(f.t, "created at", got.Sessions[0].Session.CreatedAt(), at(0))
		sameTime(f.t, "expires at", got.Sessions[0].Session.ExpiresAt(), at(24*time.Hour))
		sameTime(f.t, "refresh expires at", got.Sessions[1].Session.RefreshExpiresAt(), at(time.Hour))
	})
}
