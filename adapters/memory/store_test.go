package memory_test

import (
	"testing"

	"github.com/iotplatform/enduser-auth/adapters/memory"
	"github.com/iotplatform/enduser-auth/adapters/repotest"
)

func TestStoreContract(t *testing.T) {
	repotest.Run(t, func(*testing.T) repotest.Repos {
		s := memory.NewStore()
		return repotest.Repos{UserDomains: s, Apps: s, DataCenters: s, Users: s, Sessions: s, SigningKeys: s, IPUnblocks: s, ForcedRefreshes: s}
	})
}
