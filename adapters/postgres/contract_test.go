package postgres

import (
	"sync"
	"testing"

	"github.com/iotplatform/enduser-auth/adapters/postgres/pgtest"
	"github.com/iotplatform/enduser-auth/adapters/repotest"
)

// TestRepositoryContract runs the repository contract against the Store, on
// a fresh database for each case.
func TestRepositoryContract(t *testing.T) {
	t.Parallel()
	box := newBox(t, 1)
	repotest.Run(t, func(t *testing.T) repotest.Repos {
		s := NewStore(pgtest.Open(t), box)
		return repotest.Repos{UserDomains: s, Apps: s, DataCenters: s, Users: s, Sessions: s, SigningKeys: s, IPUnblocks: s, ForcedRefreshes: s}
	})
}

// TestRepositoryContractSerializable runs the contract again on databases
// whose default_transaction_isolation is serializable, as distributed SQL
// engines run: concurrent cases then meet serialization failures (40001),
// which the Store must retry.
func TestRepositoryContractSerializable(t *testing.T) {
	t.Parallel()
	box := newBox(t, 1)
	var (
		mu     sync.Mutex
		stores []*Store
	)
	t.Run("contract", func(t *testing.T) {
		repotest.Run(t, func(t *testing.T) repotest.Repos {
			db := pgtest.OpenSerializable(t)
			var level string
			if err := db.Raw("SHOW transaction_isolation").Scan(&level).Error; err != nil || level != "serializable" {
				t.Fatalf("transaction_isolation = %q, %v; want serializable", level, err)
			}
			s := NewStore(db, box)
			mu.Lock()
			stores = append(stores, s)
			mu.Unlock()
			return repotest.Repos{UserDomains: s, Apps: s, DataCenters: s, Users: s, Sessions: s, SigningKeys: s, IPUnblocks: s, ForcedRefreshes: s}
		})
	})
	var total RetryCounts
	for _, s := range stores {
		c := s.RetryCounts()
		total.Retries += c.Retries
		total.Exhausted += c.Exhausted
	}
	t.Logf("serialization failures and deadlocks retried: %d; gave up: %d", total.Retries, total.Exhausted)
	if total.Exhausted != 0 {
		t.Errorf("%d operations still failed after %d attempts", total.Exhausted, maxAttempts)
	}
}
