package domain_test

import (
	"strings"
	"testing"

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
		if err := d.VerifyLoginSignature(sigAppID, sigCode, sig); err != nil {
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
		if err := d.VerifyLoginSignature(sigAppID, sigCode, sig); domain.KindOf(err) != domain.KindSignatureInvalid {
			t.Errorf("%s: VerifyLoginSignature = %v, want kind %s", name, err, domain.KindSignatureInvalid)
		}
	}
}
