package secretbox_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/iotplatform/enduser-auth/adapters/secretbox"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{9}, secretbox.KeySize)
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("the AppSecret")
	ct := box.Seal(secret, []byte("row:1"))
	if bytes.Contains(ct, secret) {
		t.Fatal("ciphertext contains the plaintext")
	}
	if again := box.Seal(secret, []byte("row:1")); bytes.Equal(again, ct) {
		t.Fatal("two seals of one secret must differ (random nonce)")
	}
	got, err := box.Open(ct, []byte("row:1"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := box.Open(ct, []byte("row:2")); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("another aad must not open: %v", err)
	}
	other, _ := secretbox.New(bytes.Repeat([]byte{8}, secretbox.KeySize))
	if _, err := other.Open(ct, []byte("row:1")); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("another key must not open: %v", err)
	}
	tampered := append([]byte(nil), ct...)
	tampered[len(tampered)-1] ^= 1
	if _, err := box.Open(tampered, []byte("row:1")); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("tampered ciphertext must not open: %v", err)
	}
	for _, short := range [][]byte{nil, {1}, ct[:10]} {
		if _, err := box.Open(short, nil); !errors.Is(err, secretbox.ErrOpen) {
			t.Fatalf("short ciphertext: %v", err)
		}
	}
}

func TestNewAndParseKey(t *testing.T) {
	if _, err := secretbox.New(make([]byte, 16)); err == nil {
		t.Fatal("a 16-byte key must be refused")
	}
	raw := bytes.Repeat([]byte{0xfb}, 32)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		k, err := secretbox.ParseKey(enc.EncodeToString(raw))
		if err != nil || !bytes.Equal(k, raw) {
			t.Fatalf("ParseKey: %v", err)
		}
	}
	if _, err := secretbox.ParseKey(base64.StdEncoding.EncodeToString(raw[:31])); err == nil {
		t.Fatal("31 bytes must be refused")
	}
	if _, err := secretbox.ParseKey("not base64!"); err == nil {
		t.Fatal("garbage must be refused")
	}
}
