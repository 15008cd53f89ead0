package wire_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/adapters/wechat/wechatfake"
	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// newDeletionModule builds the module on db (one process of the deployment).
// It loads the signing keys but is not Run: the test drives the erasure
// delivery itself (DeliverErasures) and counts the statements a login sends,
// which a running loop would add to; a module never Run is also the process
// that dies before any dispatch.
func newDeletionModule(t *testing.T, db *gorm.DB, wxURL string) *modwire.Module {
	t.Helper()
	mod, err := modwire.NewModule(testConfig(3, wxURL), modwire.Host{DB: db, HTTPClient: wechat.NewHTTPClient(0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := mod.TokensForTest().Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	return mod
}

type erasures struct {
	mu   sync.Mutex
	fail bool
	got  []application.ErasedUser
}

func (e *erasures) listen(_ context.Context, u application.ErasedUser) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail {
		return errors.New("the device module is down")
	}
	e.got = append(e.got, u)
	return nil
}

func (e *erasures) uids() map[string]bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := map[string]bool{}
	for _, u := range e.got {
		m[u.UID] = true
	}
	return m
}

// TestErasureOutboxOnPostgres: on the real database, the login that cancels a
// deletion costs the statements of any returning login; an erasure whose
// listener fails, and one whose process dies before any dispatch, are both
// announced by a new process (a new module over the same database).
func TestErasureOutboxOnPostgres(t *testing.T) {
	ctx := t.Context()
	counter := &statementCounter{}
	db := openCounted(t, counter)
	fake := wechatfake.New()
	fake.AddAccount("wxdelete", "delete-secret")
	fake.AcceptAnyCode(true)
	wx := httptest.NewServer(fake)
	defer wx.Close()
	first := newDeletionModule(t, db, wx.URL)
	svc := first
	ud, err := svc.Operators.CreateUserDomain(ctx, "E.DM.1.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Operators.PutOfficialAccount(ctx, ud.Name(), "wxdelete", "delete-secret"); err != nil {
		t.Fatal(err)
	}
	n := 0
	login := func(label string) application.LoginResult {
		t.Helper()
		n++
		code := label + "." + string(rune('a'+n))
		res, err := svc.EndUsers.LoginWithWeChatOfficialAccount(ctx, application.WeChatLogin{UserDomain: ud.Name(), AppID: "wxdelete", Code: code,
			Signature: domain.LoginSignature("wxdelete", code, ud.Secret())})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	alice := login("alice")
	var returning, cancelling application.LoginResult
	plain := counter.during(func() { returning = login("alice") })
	if _, err := svc.Operators.DeleteUser(ctx, alice.UID, false); err != nil {
		t.Fatal(err)
	}
	withCancel := counter.during(func() { cancelling = login("alice") })
	if returning.DeletionCancelled || !cancelling.DeletionCancelled || cancelling.UID != alice.UID {
		t.Fatalf("returning login cancelled=%t; login during the cooling-off cancelled=%t uid %s, want %s",
			returning.DeletionCancelled, cancelling.DeletionCancelled, cancelling.UID, alice.UID)
	}
	if withCancel != plain {
		t.Fatalf("a login that cancels a deletion sent %d statements, a returning login %d: want the same", withCancel, plain)
	}

	// Alice's listener fails; Bob is erased by a process that dies before dispatching.
	down := &erasures{fail: true}
	svc.Auth.OnUserErased(down.listen)
	if d, err := svc.Operators.DeleteUser(ctx, alice.UID, true); err != nil || !d.Erased {
		t.Fatalf("DeleteUser --now: %+v, %v", d, err)
	}
	if got, err := svc.MachineryForTest().DeliverErasures(ctx); err != nil || got != 0 {
		t.Fatalf("delivery with a failing listener: %d, %v; want 0", got, err)
	}
	bob := login("bob")
	crashed := newDeletionModule(t, db, wx.URL)
	if d, err := crashed.Operators.DeleteUser(ctx, bob.UID, true); err != nil || !d.Erased {
		t.Fatalf("DeleteUser --now of bob: %+v, %v", d, err)
	}
	// Both processes are gone; a new one announces both (alice's after her retry's backoff).
	restarted := newDeletionModule(t, db, wx.URL)
	up := &erasures{}
	restarted.Auth.OnUserErased(up.listen)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := restarted.MachineryForTest().DeliverErasures(ctx); err != nil {
			t.Fatal(err)
		}
		got := up.uids()
		if got[alice.UID] && got[bob.UID] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("announced %v; want %s and %s", got, alice.UID, bob.UID)
		}
	}
	var left int64
	if err := db.Raw(`SELECT count(*) FROM enduser_erasure_outbox`).Scan(&left).Error; err != nil || left != 0 {
		t.Fatalf("outbox rows after delivery: %d, %v", left, err)
	}
	if again := login("alice"); !again.Registered || again.UID == alice.UID {
		t.Fatalf("alice after her erasure: registered=%t uid %s", again.Registered, again.UID)
	}
}
