package application

import (
	"context"
	"log/slog"
	"strings"

	"github.com/iotplatform/enduser-auth/domain"
)

// JWKS returns the public keys that verify access tokens, as a JSON Web Key Set.
func (s *core) JWKS(ctx context.Context) ([]byte, error) {
	b, err := s.tokens.JWKS(ctx)
	if err != nil {
		return nil, internal(err)
	}
	return b, nil
}

// RotateSigningKey makes a new key the signer; old keys keep verifying until
// the last token they signed has expired.
func (s *core) RotateSigningKey(ctx context.Context) (string, error) {
	kid, err := s.tokens.RotateSigningKey(ctx)
	if err != nil {
		return "", internal(err)
	}
	s.log.InfoContext(ctx, "signing key rotated", slog.String("kid", kid))
	return kid, nil
}

// RevokeSigningKey removes a signing key at once: it leaves the JWKS and
// its tokens stop verifying (on this instance now, on the others at their
// next revocation sync, which reloads the keys); when it signed, a new key
// signs at once. It returns the kid that signs now. Errors: KindNotFound for
// an unknown (or already revoked) kid.
func (s *core) RevokeSigningKey(ctx context.Context, kid string) (string, error) {
	kid = strings.TrimSpace(kid)
	if kid == "" {
		return "", domain.Errorf(domain.KindInvalid, "a kid is required")
	}
	signer, err := s.tokens.RevokeSigningKey(ctx, kid)
	if err != nil {
		return "", internalUnless(err, domain.KindNotFound)
	}
	s.verified.invalidate()
	s.log.WarnContext(ctx, "signing key revoked", slog.String("kid", safeLog(kid)), slog.String("signer", signer))
	s.record(ctx, AuditEvent{Event: AuditSigningKeyRevoked})
	return signer, nil
}
