package application

import (
	"context"
	"errors"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// Operators is the facade of what operators do: tenants (user domains and
// their secrets), WeChat apps, data centers, users (end their sessions,
// disable, enable, delete, export, import), signing keys and the master key,
// the audit trail and the lockouts of a client IP. Its caller is the
// module's CLI (cmd/enduser); every change is logged and, where it matters,
// audited. The audit records are queued: the caller stops the module
// (wire.Module.Stop) before its process exits, which writes them. Each
// method's use case is in its own file (admin.go, deletion.go, export.go,
// import.go, keys.go, unblock.go), with its errors.
type Operators struct{ c *core }

// CreateUserDomain creates an enabled user domain with secret (a generated
// one when empty): admin.go.
func (o *Operators) CreateUserDomain(ctx context.Context, name, secret string) (domain.UserDomain, error) {
	return o.c.CreateUserDomain(ctx, name, secret)
}

// UserDomainByName reads a user domain as stored (never from a cache).
// Errors: KindUserDomainNotFound.
func (o *Operators) UserDomainByName(ctx context.Context, name string) (domain.UserDomain, error) {
	d, err := o.c.domains.UserDomainByName(ctx, name)
	return d, internalUnless(err, domain.KindUserDomainNotFound)
}

// SetUserDomainEnabled enables or disables a user domain (a disable ends
// every session of the domain): admin.go.
func (o *Operators) SetUserDomainEnabled(ctx context.Context, name string, enabled bool) error {
	return o.c.SetUserDomainEnabled(ctx, name, enabled)
}

// RotateUserDomainSecret replaces a user domain's secret (a generated one
// when newSecret is empty), the previous one accepted for overlap: admin.go.
func (o *Operators) RotateUserDomainSecret(ctx context.Context, name, newSecret string, overlap time.Duration) (domain.UserDomain, error) {
	return o.c.RotateUserDomainSecret(ctx, name, newSecret, overlap)
}

// PutOfficialAccount creates or updates an official account of a user
// domain: admin.go.
func (o *Operators) PutOfficialAccount(ctx context.Context, userDomain, appID, appSecret string) error {
	return o.c.PutOfficialAccount(ctx, userDomain, appID, appSecret)
}

// PutMiniProgram creates or updates a mini program of a user domain:
// admin.go.
func (o *Operators) PutMiniProgram(ctx context.Context, userDomain, appID, appSecret string) error {
	return o.c.PutMiniProgram(ctx, userDomain, appID, appSecret)
}

// PutWeChatApp creates or updates a WeChat app of the given kind: admin.go.
func (o *Operators) PutWeChatApp(ctx context.Context, kind domain.AppKind, userDomain, appID, appSecret string) error {
	return o.c.PutWeChatApp(ctx, kind, userDomain, appID, appSecret)
}

// PutDataCenter creates or updates a data center and the MCCs it serves:
// admin.go.
func (o *Operators) PutDataCenter(ctx context.Context, code, apiURL string, mccs []domain.MCC) error {
	return o.c.PutDataCenter(ctx, code, apiURL, mccs)
}

// EndUserSessions ends every session of the user uid at once (`user
// logout-all`) and returns how many live ones it ended: admin.go.
func (o *Operators) EndUserSessions(ctx context.Context, uid string) (int, error) {
	return o.c.EndUserSessions(ctx, uid)
}

// DisableUser disables a user: its sessions end, its logins and refreshes
// are refused: admin.go.
func (o *Operators) DisableUser(ctx context.Context, uid string) error {
	return o.c.DisableUser(ctx, uid)
}

// EnableUser enables a disabled user again: admin.go.
func (o *Operators) EnableUser(ctx context.Context, uid string) error {
	return o.c.EnableUser(ctx, uid)
}

// DeleteUser deletes a user's account: after the cooling-off, or at once
// with now: deletion.go.
func (o *Operators) DeleteUser(ctx context.Context, uid string, now bool) (DeletionScheduled, error) {
	return o.c.DeleteUser(ctx, uid, now)
}

// ExportUser returns everything the module holds about uid (PIPL's right of
// access): export.go.
func (o *Operators) ExportUser(ctx context.Context, uid string) (UserExport, error) {
	return o.c.ExportUser(ctx, uid)
}

// ImportUsers imports the users of src (an import file: the JSON lines of
// adapters/jsonformat.ImportLines), batch lines per transaction (0:
// DefaultImportBatch); refused is told of each line it refuses: import.go.
func (o *Operators) ImportUsers(ctx context.Context, src ImportSource, batch int, refused func(line int, reason string)) (ImportCounts, error) {
	if o.c.importer == nil {
		return ImportCounts{}, internal(errors.New("no user importer"))
	}
	return o.c.ImportUsers(ctx, o.c.importer, src, batch, refused)
}

// RotateSigningKey makes a new key the signer and returns its kid: keys.go.
func (o *Operators) RotateSigningKey(ctx context.Context) (string, error) {
	return o.c.RotateSigningKey(ctx)
}

// RevokeSigningKey removes a signing key at once and returns the kid that
// signs now: keys.go.
func (o *Operators) RevokeSigningKey(ctx context.Context, kid string) (string, error) {
	return o.c.RevokeSigningKey(ctx, kid)
}

// ReencryptSecrets seals every stored secret again under the primary master
// key (`keys rotate-master`), batch rows per statement; progress (nil: none)
// is told each column's totals after each batch.
func (o *Operators) ReencryptSecrets(ctx context.Context, batch int, progress func(ReencryptProgress)) ([]ReencryptProgress, error) {
	if o.c.secrets == nil {
		return nil, internal(errors.New("no secret store"))
	}
	return o.c.secrets.ReencryptSecrets(ctx, batch, progress)
}

// SecretsNotUnderPrimary counts, per "table.column", the stored secrets
// still sealed under another master key than the primary one.
func (o *Operators) SecretsNotUnderPrimary(ctx context.Context) (map[string]int64, error) {
	if o.c.secrets == nil {
		return nil, internal(errors.New("no secret store"))
	}
	return o.c.secrets.SecretsNotUnderPrimary(ctx)
}

// AuditEvents lists the audit records q selects, newest first (`enduser
// audit`).
func (o *Operators) AuditEvents(ctx context.Context, q AuditQuery) ([]AuditRecord, error) {
	if o.c.auditList == nil {
		return nil, internal(errors.New("no audit trail"))
	}
	return o.c.auditList.AuditEvents(ctx, q)
}

// UnblockIP lifts every lockout of a client IP: unblock.go.
func (o *Operators) UnblockIP(ctx context.Context, ip string) (IPUnblocked, error) {
	return o.c.UnblockIP(ctx, ip)
}
