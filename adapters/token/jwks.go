package token

import (
	"context"
	"encoding/base64"
	"encoding/json"

	"github.com/iotplatform/enduser-auth/domain"
)

// JWKS returns the JSON Web Key Set of every key that verifies: the key that
// signs first, then the others newest first, among them a new key that does
// not sign yet (published for PublishDelay first) and the retired keys that
// may still have valid tokens.
func (i *Issuer) JWKS(ctx context.Context) ([]byte, error) {
	set, err := i.keys(ctx)
	if err != nil {
		return nil, err
	}
	now := i.clock.Now()
	out := jwks{Keys: make([]jwk, 0, len(set.ordered))}
	signer := set.signerAt(now)
	if signer != nil {
		out.Keys = append(out.Keys, signer.jwk())
	}
	for _, k := range set.ordered {
		if k != signer && k.verifiesAt(now) {
			out.Keys = append(out.Keys, k.jwk())
		}
	}
	return json.Marshal(out)
}

// jwks is a JSON Web Key Set (RFC 7517); jwk an Ed25519 public key (RFC 8037).
type jwks struct {
	Keys []jwk `json:"keys"`
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

func (k *heldKey) jwk() jwk {
	return jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.public), Kid: k.kid,
		Alg: domain.SigningKeyAlgorithm, Use: "sig"}
}
