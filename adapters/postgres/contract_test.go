package postgres

import (
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
		return repotest.Repos{UserDomains: s, OfficialAccounts: s, DataCenters: s, Users: s, Sessions: s, SigningKeys: s}
	})
}
