package application

import (
	"context"
	"time"
)

// Machinery is the module's own work, which no host calls: the loads a start
// makes, the background loops, and the hooks the wiring (and tests) set.
// The wiring holds it in an unexported field of wire.Module.
type Machinery struct{ c *core }

// Config returns the effective configuration.
func (m *Machinery) Config() Config { return m.c.cfg }

// Run runs the background loops until ctx ends: run.go.
func (m *Machinery) Run(ctx context.Context) error { return m.c.Run(ctx) }

// SyncRevocations loads the revocations made since the last sync (all of
// the window on the first call): verify.go. A start calls it before the
// module is ready.
func (m *Machinery) SyncRevocations(ctx context.Context) error { return m.c.SyncRevocations(ctx) }

// SyncIPUnblocks applies the operators' unblock requests to this process's
// lockouts: unblock.go.
func (m *Machinery) SyncIPUnblocks(ctx context.Context) error { return m.c.SyncIPUnblocks(ctx) }

// PurgeSessions runs one round of the session purge: purge.go.
func (m *Machinery) PurgeSessions(ctx context.Context) (int, error) { return m.c.PurgeSessions(ctx) }

// PurgeHorizon is how long after its end a session is kept: purge.go.
func (m *Machinery) PurgeHorizon() time.Duration { return m.c.PurgeHorizon() }

// EraseDueAccounts erases the accounts whose deletion is due: deletion.go.
func (m *Machinery) EraseDueAccounts(ctx context.Context) (int, error) {
	return m.c.EraseDueAccounts(ctx)
}

// DeliverErasures announces the erasures not yet delivered to the
// OnUserErased listeners: deletion.go.
func (m *Machinery) DeliverErasures(ctx context.Context) (int, error) {
	return m.c.DeliverErasures(ctx)
}

// RecordLockout records one lockout of (clientIP, userDomain): audit.go.
func (m *Machinery) RecordLockout(ctx context.Context, userDomain, clientIP string) {
	m.c.RecordLockout(ctx, userDomain, clientIP)
}

// FlushRefusals reports the refusal windows of the abuse limits that have
// passed (every window when all): refusals.go. Run calls it.
func (m *Machinery) FlushRefusals(ctx context.Context, all bool) { m.c.FlushRefusals(ctx, all) }

// SetAuditLog makes the module record its security events in a (nil: none).
// Call it before serving.
func (m *Machinery) SetAuditLog(a AuditLog) { m.c.SetAuditLog(a) }

// SetAuditReader replaces Deps.AuditTrail (tests).
func (m *Machinery) SetAuditReader(r AuditReader) { m.c.SetAuditReader(r) }

// WaitLogoutListeners waits for the logout listeners' calls in flight.
func (m *Machinery) WaitLogoutListeners() { m.c.WaitLogoutListeners() }
