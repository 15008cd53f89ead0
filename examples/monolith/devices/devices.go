// Package devices is the example host's own module: the devices its users
// own, in a table of its own with goose migrations of its own (its own
// version table), behind enduser-auth's access-token middleware. It knows
// enduser-auth only through the principal the middleware puts in the
// request's context and the erasure event the module announces.
package devices

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/pressly/goose/v3"
	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/application"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// VersionTable is this module's goose version table: beside enduser-auth's,
// in the same database, without either seeing the other's versions.
const VersionTable = "monolith_devices_goose_db_version"

// Migrate applies this module's pending migrations.
func Migrate(ctx context.Context, db *sql.DB) error {
	sub, err := fsSub()
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithTableName(VersionTable), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("devices: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("devices: migrations: %w", err)
	}
	return nil
}

// Module is the devices module.
type Module struct{ db *gorm.DB }

// New returns the module on the host's database.
func New(db *gorm.DB) *Module { return &Module{db: db} }

// Device is one device of a user.
type Device struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Register mounts the module's routes on g, which the host has put behind
// enduser-auth's RequireAccessToken: every request carries a principal.
func (m *Module) Register(g *echo.Group) {
	g.GET("", m.list)
	g.POST("", m.add)
}

func (m *Module) list(c echo.Context) error {
	p, ok := application.PrincipalFromContext(c.Request().Context())
	if !ok {
		return errors.New("devices: no principal: the route is not behind RequireAccessToken")
	}
	var out []Device
	err := m.db.WithContext(c.Request().Context()).Table("monolith_devices").Select("id, name").
		Where("owner_uid = ?", p.UID).Order("id").Scan(&out).Error
	if err != nil {
		return fmt.Errorf("devices: list: %w", err)
	}
	if out == nil {
		out = []Device{}
	}
	return c.JSON(http.StatusOK, map[string]any{"owner": p.UID, "userDomain": p.UserDomain, "devices": out})
}

func (m *Module) add(c echo.Context) error {
	p, ok := application.PrincipalFromContext(c.Request().Context())
	if !ok {
		return errors.New("devices: no principal: the route is not behind RequireAccessToken")
	}
	name := strings.TrimSpace(c.QueryParam("name"))
	if name == "" || len(name) > 64 {
		return echo.NewHTTPError(http.StatusBadRequest, "name: 1 to 64 characters")
	}
	var d Device
	err := m.db.WithContext(c.Request().Context()).Raw(
		"INSERT INTO monolith_devices (owner_uid, user_domain, name) VALUES (?, ?, ?) RETURNING id, name", p.UID, p.UserDomain, name).
		Scan(&d).Error
	if err != nil {
		return fmt.Errorf("devices: add: %w", err)
	}
	return c.JSON(http.StatusCreated, d)
}

// EraseOwner deletes the devices of an erased user: enduser-auth's erasure
// listener. An error makes the module announce the erasure again later.
func (m *Module) EraseOwner(ctx context.Context, u application.ErasedUser) error {
	if err := m.db.WithContext(ctx).Exec("DELETE FROM monolith_devices WHERE owner_uid = ?", u.UID).Error; err != nil {
		return fmt.Errorf("devices: erase the devices of %s: %w", u.UID, err)
	}
	return nil
}
