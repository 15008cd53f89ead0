package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

func TestParseUserDomainNameAcceptsTheDocumentedForm(t *testing.T) {
	for in, want := range map[string]string{
		"C.DM.10271.5":     "C.DM.10271.5",
		"  C.DM.10271.5\t": "C.DM.10271.5",
		"c.DM.0.0":         "c.DM.0.0",
		"Z.DM.1.99999999":  "Z.DM.1.99999999",
	} {
		got, err := domain.ParseUserDomainName(in)
		if err != nil || got != want {
			t.Errorf("ParseUserDomainName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseUserDomainNameBlankIsRequired(t *testing.T) {
	for _, in := range []string{"", " ", "\t\n"} {
		_, err := domain.ParseUserDomainName(in)
		if domain.KindOf(err) != domain.KindUserDomainRequired {
			t.Errorf("ParseUserDomainName(%q) error = %v, want kind %s", in, err, domain.KindUserDomainRequired)
		}
	}
}

func TestParseUserDomainNameRejectsMalformed(t *testing.T) {
	for _, in := range []string{
		"C", "C.DM", "C.DM.10271", "C.DM.10271.", "C.DM..5", "C.DM.10271.5.", "C.DM.10271.5.1",
		"CC.DM.10271.5", "1.DM.10271.5", "..DM.10271.5", ".DM.10271.5", "Ç.DM.10271.5",
		"C.dm.10271.5", "C.Dm.10271.5", "C.DN.10271.5", "C-DM-10271-5", "C DM 10271 5", "C.DM.10271 .5",
		"C.DM.a.5", "C.DM.10271.b", "C.DM.-1.5", "C.DM.+1.5", "C.DM.1e3.5", "C.DM.１.5",
		"C.DM.10271.5\n.6", "xC.DM.10271.5", "C.DM.10271.5x", "C.DM.10271.5;DROP",
		"C.DM.1." + strings.Repeat("9", 60), // well-formed but longer than 64 characters
	} {
		_, err := domain.ParseUserDomainName(in)
		if domain.KindOf(err) != domain.KindUserDomainMalformed {
			t.Errorf("ParseUserDomainName(%q) error = %v, want kind %s", in, err, domain.KindUserDomainMalformed)
		}
	}
}

func TestNewUserDomain(t *testing.T) {
	d, err := domain.NewUserDomain(" C.DM.10271.5 ", "tenant-secret-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name() != "C.DM.10271.5" || d.Secret() != "tenant-secret-0123456789" || !d.Enabled() || d.ID() != 0 {
		t.Errorf("NewUserDomain = {%d, %q, %q, %t}, want a new enabled domain C.DM.10271.5", d.ID(), d.Name(), d.Secret(), d.Enabled())
	}
	if off := d.SetEnabled(false); off.Enabled() || !d.Enabled() {
		t.Error("SetEnabled(false) must return a disabled copy and leave the receiver enabled")
	}

	if _, err := domain.NewUserDomain("C.DM.10271.5", strings.Repeat("s", domain.MinUserDomainSecretLen-1)); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("NewUserDomain(short secret) error = %v, want kind %s", err, domain.KindInvalid)
	}
	if _, err := domain.NewUserDomain("C.DM.10271.5", strings.Repeat("s", domain.MinUserDomainSecretLen)); err != nil {
		t.Errorf("NewUserDomain(secret of the minimum length) error = %v", err)
	}
	if _, err := domain.NewUserDomain("", "tenant-secret-0123456789"); domain.KindOf(err) != domain.KindUserDomainRequired {
		t.Errorf("NewUserDomain(blank name) error = %v, want kind %s", err, domain.KindUserDomainRequired)
	}
	if _, err := domain.NewUserDomain("C.DM", "tenant-secret-0123456789"); domain.KindOf(err) != domain.KindUserDomainMalformed {
		t.Errorf("NewUserDomain(malformed name) error = %v, want kind %s", err, domain.KindUserDomainMalformed)
	}
}

// The contract's formula, computed independently:
// printf %s 'wx8f3a2b1c0d9e7f6acode-061Xyz0w3tenant-secret-0123456789' | sha256sum
const (
	sigAppID   = "wx8f3a2b1c0d9e7f6a"
	sigCode    = "code-061Xyz0w3"
	sigSecret  = "tenant-secret-0123456789"
	sigPrinted = "3c69e63919dd97073a9b830ab77d02bd030087e054c444e06ec7de3aa608f38b"
)

func TestLoginSignatureMatchesTheContract(t *testing.T) {
	if got := domain.LoginSignature(sigAppID, sigCode, sigSecret); got != sigPrinted {
		t.Errorf("LoginSignature = %s, want %s", got, sigPrinted)
	}
}

func TestVerifyLoginSignature(t *testing.T) {
	d, err := domain.NewUserDomain("C.DM.10271.5", sigSecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []string{sigPrinted, strings.ToUpper(sigPrinted), " " + sigPrinted + " "} {
		if err := d.VerifyLoginSignature(sigAppID, sigCode, sig, time.Now()); err != nil {
			t.Errorf("VerifyLoginSignature(%q) = %v, want ok", sig, err)
		}
	}
	flipped := []byte(sigPrinted)
	flipped[10] = 'f'
	for name, sig := range map[string]string{
		"empty":           "",
		"other code":      domain.LoginSignature(sigAppID, "code-other", sigSecret),
		"other appId":     domain.LoginSignature("wx-other", sigCode, sigSecret),
		"other secret":    domain.LoginSignature(sigAppID, sigCode, "another-secret-0123456789"),
		"one digit wrong": string(flipped),
		"short":           sigPrinted[:62],
		"odd length":      sigPrinted[:63],
		"long":            sigPrinted + "00",
		"non-hex":         "zz" + sigPrinted[2:],
		"base64":          "PGnmORndlwc6m4MKt3Ci0CAwh+BUxETgbsfeOqYI84s=",
	} {
		if err := d.VerifyLoginSignature(sigAppID, sigCode, sig, time.Now()); domain.KindOf(err) != domain.KindSignatureInvalid {
			t.Errorf("%s: VerifyLoginSignature = %v, want kind %s", name, err, domain.KindSignatureInvalid)
		}
	}
}

// TestSecretRotationOverlap is the rule of which secrets sign at time t:
// after a rotation the new one always, the replaced one before the overlap's
// end only; a second rotation keeps only the secret it replaced.
func TestSecretRotationOverlap(t *testing.T) {
	const (
		a = "secret-a-0123456789abcdefghijklmnop"
		b = "secret-b-0123456789abcdefghijklmnop"
		c = "secret-c-0123456789abcdefghijklmnop"
	)
	t0 := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	d, err := domain.NewUserDomain("C.DM.10271.5", a)
	if err != nil {
		t.Fatal(err)
	}
	if s, until := d.PreviousSecret(); s != "" || !until.IsZero() {
		t.Fatalf("a new domain has previous secret %q until %v, want none", s, until)
	}
	ab, err := d.RotateSecret(b, t0, time.Hour) // a valid before t0+1h
	if err != nil {
		t.Fatal(err)
	}
	if s, until := ab.PreviousSecret(); ab.Secret() != b || s != a || !until.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after rotating a to b: secret %q, previous %q until %v", ab.Secret(), s, until)
	}
	if d.Secret() != a {
		t.Error("RotateSecret changed its receiver")
	}
	abc, err := ab.RotateSecret(c, t0.Add(10*time.Minute), 30*time.Minute) // during a's overlap
	if err != nil {
		t.Fatal(err)
	}
	aNone, err := d.RotateSecret(b, t0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		d      domain.UserDomain
		at     time.Time
		secret string
		ok     bool
	}{
		{"never rotated: the secret", d, t0, a, true},
		{"never rotated: another", d, t0, b, false},
		{"overlap: the new secret", ab, t0, b, true},
		{"overlap: the old secret at its start", ab, t0, a, true},
		{"overlap: the old secret just before its end", ab, t0.Add(time.Hour - time.Nanosecond), a, true},
		{"overlap over: the old secret at its end", ab, t0.Add(time.Hour), a, false},
		{"overlap over: the old secret after it", ab, t0.Add(48 * time.Hour), a, false},
		{"overlap over: the new secret", ab, t0.Add(48 * time.Hour), b, true},
		{"overlap: an unrelated secret", ab, t0, c, false},
		{"re-rotated: the newest", abc, t0.Add(10 * time.Minute), c, true},
		{"re-rotated: the one it replaced", abc, t0.Add(10 * time.Minute), b, true},
		{"re-rotated: the older overlap ended", abc, t0.Add(10 * time.Minute), a, false},
		{"re-rotated: the replaced one after its overlap", abc, t0.Add(40 * time.Minute), b, false},
		{"re-rotated: the newest after the overlap", abc, t0.Add(40 * time.Minute), c, true},
		{"no overlap: the old secret at once", aNone, t0, a, false},
		{"no overlap: the new secret", aNone, t0, b, true},
		{"rehydrated overlap: the previous one", domain.UnmarshalUserDomainFromDatabase(1, "C.DM.10271.5", b, true).WithPreviousSecret(a, t0), t0.Add(-time.Second), a, true},
		{"rehydrated overlap over: the previous one", domain.UnmarshalUserDomainFromDatabase(1, "C.DM.10271.5", b, true).WithPreviousSecret(a, t0), t0, a, false},
	} {
		err := tc.d.VerifyLoginSignature(sigAppID, sigCode, domain.LoginSignature(sigAppID, sigCode, tc.secret), tc.at)
		if tc.ok && err != nil {
			t.Errorf("%s: VerifyLoginSignature = %v, want ok", tc.name, err)
		}
		if !tc.ok && domain.KindOf(err) != domain.KindSignatureInvalid {
			t.Errorf("%s: VerifyLoginSignature = %v, want kind %s", tc.name, err, domain.KindSignatureInvalid)
		}
	}
	if s, _ := aNone.PreviousSecret(); s != "" {
		t.Errorf("a rotation without overlap kept previous secret %q", s)
	}
	for name, rotate := range map[string]func() (domain.UserDomain, error){
		"short secret":       func() (domain.UserDomain, error) { return d.RotateSecret("short", t0, time.Hour) },
		"negative overlap":   func() (domain.UserDomain, error) { return d.RotateSecret(b, t0, -time.Second) },
		"the current secret": func() (domain.UserDomain, error) { return ab.RotateSecret(b, t0, time.Hour) },
		"the previous one":   func() (domain.UserDomain, error) { return ab.RotateSecret(a, t0, time.Hour) },
	} {
		if _, err := rotate(); domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("RotateSecret(%s) = %v, want kind %s", name, err, domain.KindInvalid)
		}
	}
}
