// Package memory implements the application's repository ports in memory.
//
// It serves unit tests and local experiments. It enforces the same rules as
// the PostgreSQL schema (unique user domain names, one data center per MCC,
// at most one active signing key, and the foreign keys: an official account,
// a user or a session needs its user domain, a session needs its user), so
// that a test passing against it exercises the rules the database enforces.
package memory

import (
	"context"
	"sync"
	"time"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// Compile-time checks that Store implements every repository port.
var (
	_ application.UserDomainRepository = (*Store)(nil)
	_ application.WeChatAppRepository  = (*Store)(nil)
	_ application.DataCenterRepository = (*Store)(nil)
	_ application.UserRepository       = (*Store)(nil)
	_ application.SessionRepository    = (*Store)(nil)
	_ application.IPUnblockRepository  = (*Store)(nil)
)

// Store holds every repository of the module in memory. The zero value is not
// usable: call NewStore. A Store is safe for concurrent use; each method is
// atomic, as a database transaction would be.
type Store struct {
	mu sync.RWMutex

	nextDomainID int64
	domains      map[int64]domain.UserDomain
	domainIDs    map[string]int64 // user domain name -> id

	accounts map[accountKey]domain.WeChatApp
	// appAdded is when each app was first put (wechatapps.go).
	appAdded map[accountKey]time.Time
	// websiteStates are the website login states claimed, by digest, with
	// their expiries (websitestates.go).
	websiteStates map[string]time.Time

	dataCenters map[string]domain.DataCenter // by code
	mccs        map[domain.MCC]string        // MCC -> data center code

	users      map[string]domain.EndUser // by uid
	identities map[identityKey]binding
	// registeredVia is the kind of app each user registered through (absent:
	// an official account); bindingSeq orders the bindings.
	registeredVia map[string]domain.AppKind
	bindingSeq    int64
	unions        map[unionKey]string       // -> uid
	profiles      map[string]domain.Profile // by uid; absent: never set

	logoutDevices map[domain.SessionID]string // the device a logout named
	revokeReasons map[domain.SessionID]string // why a session was revoked
	// deletionDue holds the pending deletions: uid -> when it is erased.
	deletionDue map[string]time.Time
	outbox      []application.ErasureNotice // by ascending id
	outboxNext  map[int64]time.Time         // notice id -> next delivery
	outboxSeq   int64

	sessions map[domain.SessionID]domain.Session
	// The scope revocations, by scope and subject.
	scopes map[scopeKey]application.ScopeRevocation
	// The session purge's lease.
	purgeHolder     string
	purgeLeaseUntil time.Time

	signingKeys []domain.SigningKey  // in insertion order
	revokedKeys map[string]time.Time // kid -> revocation

	refreshKeys map[uint32]domain.RefreshMasterKey

	// phones are the users' phone numbers (by uid), forcedRefreshes the last
	// forced access_token refresh of each appId; both made on first use.
	phones          map[string]domain.PhoneNumber
	forcedRefreshes map[string]time.Time

	// unblocks are the IP unblock requests, by ascending id.
	unblocks   []application.IPUnblock
	unblockSeq int64
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{
		domains:       map[int64]domain.UserDomain{},
		domainIDs:     map[string]int64{},
		accounts:      map[accountKey]domain.WeChatApp{},
		appAdded:      map[accountKey]time.Time{},
		dataCenters:   map[string]domain.DataCenter{},
		mccs:          map[domain.MCC]string{},
		users:         map[string]domain.EndUser{},
		identities:    map[identityKey]binding{},
		registeredVia: map[string]domain.AppKind{},
		unions:        map[unionKey]string{},
		profiles:      map[string]domain.Profile{},
		logoutDevices: map[domain.SessionID]string{},
		revokeReasons: map[domain.SessionID]string{},
		sessions:      map[domain.SessionID]domain.Session{},
		refreshKeys:   map[uint32]domain.RefreshMasterKey{},
		deletionDue:   map[string]time.Time{},
		outboxNext:    map[int64]time.Time{},
		scopes:        map[scopeKey]application.ScopeRevocation{},
	}
}

// cloneBytes returns a copy of b, so that callers never share the store's memory.
func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// live returns ctx's error: like a database driver, the store refuses to work
// for a context that has ended.
func live(ctx context.Context) error { return ctx.Err() }
