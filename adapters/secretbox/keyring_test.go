package secretbox_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/iotplatform/enduser-auth/adapters/secretbox"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, secretbox.KeySize) }

// sealV1 is the format written before key rotation existed: 0x01 | nonce |
// AES-256-GCM, no key id (what rows stored by earlier versions hold).
func sealV1(t *testing.T, k, pt, aad []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(k)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 1+aead.NonceSize())
	out[0] = 1
	_, _ = rand.Read(out[1:])
	return aead.Seal(out, out[1:], pt, aad)
}

func TestKeyringSealsUnderTheFirstOpensUnderAll(t *testing.T) {
	oldBox, err := secretbox.New(key(1))
	if err != nil {
		t.Fatal(err)
	}
	underOld := oldBox.Seal([]byte("old secret"), []byte("row:1"))
	ring, err := secretbox.NewKeyring(key(2), key(1))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ring.Open(underOld, []byte("row:1")); err != nil || string(got) != "old secret" {
		t.Fatalf("the keyring opens a value of its second key: %q, %v", got, err)
	}
	if ring.SealedUnderPrimary(underOld) {
		t.Fatal("a value of the old key is not under the primary")
	}
	fresh := ring.Seal([]byte("new secret"), []byte("row:2"))
	if !ring.SealedUnderPrimary(fresh) || oldBox.SealedUnderPrimary(fresh) {
		t.Fatal("SealedUnderPrimary is wrong about a fresh seal")
	}
	if !bytes.Equal(fresh[1:1+secretbox.KeyIDSize], ring.PrimaryKeyID()) || fresh[0] != 2 {
		t.Fatalf("header %x does not name the primary %x", fresh[:1+secretbox.KeyIDSize], ring.PrimaryKeyID())
	}
	// The new key alone opens what the keyring sealed, not what the old one did.
	newOnly, _ := secretbox.New(key(2))
	if got, err := newOnly.Open(fresh, []byte("row:2")); err != nil || string(got) != "new secret" {
		t.Fatalf("new key alone: %q, %v", got, err)
	}
	_, err = newOnly.Open(underOld, []byte("row:1"))
	if !errors.Is(err, secretbox.ErrUnknownKey) || !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("a value of a key not configured = %v; want ErrUnknownKey (and ErrOpen)", err)
	}
	if !strings.Contains(err.Error(), secretbox.KeyID(key(1))) || !strings.Contains(err.Error(), secretbox.KeyID(key(2))) {
		t.Fatalf("the error names neither the missing key id nor the configured one: %v", err)
	}
	// Reseal moves a value under the primary, the aad unchanged.
	moved, err := ring.Reseal(underOld, []byte("row:1"))
	if err != nil || !ring.SealedUnderPrimary(moved) {
		t.Fatalf("Reseal = %v", err)
	}
	if got, err := newOnly.Open(moved, []byte("row:1")); err != nil || string(got) != "old secret" {
		t.Fatalf("resealed value under the new key alone: %q, %v", got, err)
	}
	if _, err := newOnly.Open(moved, []byte("row:9")); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("resealed value opened under another aad: %v", err)
	}
	if _, err := ring.Reseal(underOld, []byte("row:9")); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("Reseal under the wrong aad = %v", err)
	}
}

func TestKeyringOpensTheOldFormat(t *testing.T) {
	v1 := sealV1(t, key(1), []byte("written by v1"), []byte("row:1"))
	only, _ := secretbox.New(key(1))
	if got, err := only.Open(v1, []byte("row:1")); err != nil || string(got) != "written by v1" {
		t.Fatalf("its only key: %q, %v", got, err)
	}
	ring, _ := secretbox.NewKeyring(key(2), key(3), key(1))
	if got, err := ring.Open(v1, []byte("row:1")); err != nil || string(got) != "written by v1" {
		t.Fatalf("third key of a keyring: %q, %v", got, err)
	}
	if ring.SealedUnderPrimary(v1) {
		t.Fatal("a version-1 value is never under the primary: the rotation must rewrite it")
	}
	if _, err := ring.Open(v1, []byte("row:2")); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("v1 with another aad: %v", err)
	}
	other, _ := secretbox.NewKeyring(key(2), key(3))
	if _, err := other.Open(v1, []byte("row:1")); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("v1 under keys that are not its own: %v", err)
	}
	// A truncated version-2 header is not a panic.
	fresh := ring.Seal([]byte("x"), nil)
	for n := range len(fresh) {
		if _, err := ring.Open(fresh[:n], nil); err == nil {
			t.Fatalf("a ciphertext cut to %d bytes opened", n)
		}
	}
}

func TestNewKeyringAndParseKeyList(t *testing.T) {
	if _, err := secretbox.NewKeyring(key(1), key(1)); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("a key listed twice: %v", err)
	}
	if _, err := secretbox.NewKeyring(key(1), make([]byte, 16)); err == nil || !strings.Contains(err.Error(), "master key 2") {
		t.Fatalf("a short second key: %v", err)
	}
	a, b := base64.StdEncoding.EncodeToString(key(1)), base64.RawURLEncoding.EncodeToString(key(2))
	list, err := secretbox.ParseKeyList(a + " , " + b)
	if err != nil || len(list) != 2 || !bytes.Equal(list[0], key(1)) || !bytes.Equal(list[1], key(2)) {
		t.Fatalf("ParseKeyList = %d keys, %v", len(list), err)
	}
	for _, bad := range []string{"", a + ",", a + ",,", a + ",notbase64!", a + "," + base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		if _, err := secretbox.ParseKeyList(bad); err == nil {
			t.Errorf("ParseKeyList(%q) accepted", bad)
		}
	}
	ring, _ := secretbox.NewKeyring(key(1), key(2))
	if ids := ring.KeyIDs(); len(ids) != 2 || ids[0] != secretbox.KeyID(key(1)) || ids[1] != secretbox.KeyID(key(2)) {
		t.Fatalf("KeyIDs = %v", ids)
	}
}
