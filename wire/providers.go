package wire

import (
	"github.com/google/wire"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/secretbox"
	"github.com/iotplatform/enduser-auth/adapters/token"
	"github.com/iotplatform/enduser-auth/adapters/wechat"
	"github.com/iotplatform/enduser-auth/application"
)

// Module is the assembled module, as a host uses it.
type Module struct {
	// Service is the facade other modules call in-process.
	Service *application.Service
	// HTTP registers the endpoints on a group and offers the auth middleware.
	HTTP *httpapi.Handler
	// Store is the persistence adapter (readiness checks use its Ping).
	Store *postgres.Store
	// Tokens is the access-token issuer (Init loads or creates the signing key).
	Tokens *token.Issuer
}

// NewBox builds the secret box from the master key.
func NewBox(key MasterKey) (*secretbox.Box, error) { return secretbox.New(key) }

// NewSystemClock provides the wall clock.
func NewSystemClock() application.Clock { return application.SystemClock{} }

// PersistenceSet provides the Postgres adapter behind every repository port.
// It takes the host's *gorm.DB.
var PersistenceSet = wire.NewSet(
	NewBox,
	postgres.NewStore,
	wire.Bind(new(application.UserDomainRepository), new(*postgres.Store)),
	wire.Bind(new(application.OfficialAccountRepository), new(*postgres.Store)),
	wire.Bind(new(application.DataCenterRepository), new(*postgres.Store)),
	wire.Bind(new(application.UserRepository), new(*postgres.Store)),
	wire.Bind(new(application.SessionRepository), new(*postgres.Store)),
	wire.Bind(new(application.SigningKeyRepository), new(*postgres.Store)),
)

// WeChatSet provides the WeChat OAuth client. It takes the host's *http.Client.
var WeChatSet = wire.NewSet(
	wechat.NewClient,
	wire.Bind(new(application.WeChatOAuth), new(*wechat.Client)),
)

// TokenSet provides the access-token issuer.
var TokenSet = wire.NewSet(
	token.NewIssuer,
	wire.Bind(new(application.TokenIssuer), new(*token.Issuer)),
)

// ApplicationSet provides the facade and its HTTP adapter (with its metrics
// on the host's Prometheus registerer).
var ApplicationSet = wire.NewSet(
	NewSystemClock,
	application.NewService,
	httpapi.NewMetrics,
	httpapi.NewHandler,
)

// ModuleSet is everything; its inputs are Config, *gorm.DB, *http.Client,
// *slog.Logger and prometheus.Registerer (nil: no metrics).
var ModuleSet = wire.NewSet(
	wire.FieldsOf(new(Config), "MasterKey", "Application", "WeChat", "Token", "HTTP"),
	PersistenceSet,
	WeChatSet,
	TokenSet,
	ApplicationSet,
	wire.Struct(new(Module), "*"),
)
