package token

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// BenchmarkParseAccessTokenVsEd25519 compares the issuer's verification of its own
// token (the fast path) with a bare Ed25519 verification of the same token,
// interleaved in one loop; it reports both and their ratio.
func BenchmarkParseAccessTokenVsEd25519(b *testing.B) {
	ctx := context.Background()
	repo := newMemKeys()
	iss := NewIssuer(testConfig, repo, nil)
	now := time.Now()
	tok, err := iss.SignAccessToken(ctx, claimsAt(now))
	if err != nil {
		b.Fatal(err)
	}
	dot := strings.LastIndexByte(tok, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	pub := ed25519.PublicKey(repo.all(b)[0].PublicKey)
	var tParse, tBare time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := iss.ParseAccessToken(ctx, tok, now); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if !ed25519.Verify(pub, []byte(tok[:dot]), sig) {
			b.Fatal("bare verification failed")
		}
		tParse += t1.Sub(t0)
		tBare += time.Since(t1)
	}
	b.ReportMetric(float64(tParse.Nanoseconds())/float64(b.N)/1e3, "parse-µs")
	b.ReportMetric(float64(tBare.Nanoseconds())/float64(b.N)/1e3, "bare-µs")
	b.ReportMetric(float64(tParse)/float64(tBare), "ratio")
}
