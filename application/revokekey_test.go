package application_test

import (
	"testing"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// RevokeSigningKey drops the verified-token cache (a token of the revoked
// key is checked in full again, and the issuer refuses it), records
// signing_key_revoked and answers the kid that signs now.
func TestRevokeSigningKey(t *testing.T) {
	h := newHarness(t)
	rec := &recordingAudit{}
	h.svc.Machinery.SetAuditLog(rec)
	must(t, h.svc.Machinery.SyncRevocations(h.ctx))
	tok := h.login(signed(appID, "code-alice")).Tokens.Access.Value
	h.verify(tok)
	before := h.tokens.parses.Load()
	h.verify(tok)
	if n := h.tokens.parses.Load() - before; n != 0 {
		t.Fatalf("a verified token parsed %d times again before the revocation, want 0 (cached)", n)
	}
	signer, err := h.svc.Operators.RevokeSigningKey(h.ctx, " kid-1 ")
	must(t, err)
	if signer != "kid-2" {
		t.Fatalf("signer after the revocation = %q", signer)
	}
	h.verify(tok)
	if n := h.tokens.parses.Load() - before; n != 1 {
		t.Fatalf("after the revocation the token parsed %d times, want 1 (the cache dropped)", n)
	}
	var revoked int
	for _, e := range rec.take() {
		if e.Event == application.AuditSigningKeyRevoked {
			revoked++
		}
	}
	if revoked != 1 {
		t.Fatalf("%d signing_key_revoked events, want 1", revoked)
	}
	_, err = h.svc.Operators.RevokeSigningKey(h.ctx, "no-such-kid")
	wantKind(t, "an unknown kid", err, domain.KindNotFound)
	_, err = h.svc.Operators.RevokeSigningKey(h.ctx, "  ")
	wantKind(t, "no kid", err, domain.KindInvalid)
}
