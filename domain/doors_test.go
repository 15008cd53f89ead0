package domain_test

import (
	"strings"
	"testing"

	"github.com/iotplatform/enduser-auth/domain"
)

// The native app's and the website's kinds (issue 21).
func TestMobileAndWebsiteKinds(t *testing.T) {
	for _, k := range []domain.AppKind{domain.AppKindMobileApp, domain.AppKindWebsite} {
		if !k.Valid() || k.MissingKind() != domain.KindAppSecretMissing {
			t.Fatalf("%s: valid %v, missing %s", k, k.Valid(), k.MissingKind())
		}
		a, err := domain.NewWeChatApp(k, 7, "wx-"+string(k), "s")
		if err != nil || a.Kind() != k {
			t.Fatalf("NewWeChatApp(%s): %+v %v", k, a, err)
		}
	}
	if domain.AppKindMobileApp.Noun() == domain.AppKindWebsite.Noun() || len(domain.AppKinds()) != 4 {
		t.Fatal("each kind has its noun, and AppKinds lists the four")
	}
}

func TestWebsiteRedirectURIs(t *testing.T) {
	w, err := domain.NewWeChatApp(domain.AppKindWebsite, 7, "wx-web", "s")
	if err != nil {
		t.Fatal(err)
	}
	w, err = w.WithRedirectURIs([]string{"https://console.example.com/cb", "http://127.0.0.1:8080/cb?x=1", "https://console.example.com/cb"})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.RedirectURIs(); len(got) != 2 {
		t.Fatalf("duplicates are dropped: %q", got)
	}
	if !w.HasRedirectURI("https://console.example.com/cb") || w.HasRedirectURI("https://console.example.com/cb/") ||
		w.HasRedirectURI("HTTPS://console.example.com/cb") || w.HasRedirectURI("") {
		t.Fatal("a redirect URI matches exactly")
	}
	for _, bad := range []string{"", "/cb", "ftp://x/cb", "https://x/cb#frag", "https:///cb", "https://u:p@x/cb", "https://x/c b",
		"https://x/" + strings.Repeat("a", domain.MaxRedirectURILen)} {
		if _, err := w.WithRedirectURIs([]string{bad}); !domain.IsKind(err, domain.KindInvalid) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
	m, _ := domain.NewWeChatApp(domain.AppKindMobileApp, 7, "wx-m", "s")
	if _, err := m.WithRedirectURIs([]string{"https://x/cb"}); !domain.IsKind(err, domain.KindInvalid) {
		t.Fatalf("a mobile app has no redirect URIs: %v", err)
	}
	many := make([]string, domain.MaxRedirectURIs+1)
	for i := range many {
		many[i] = "https://x/" + strings.Repeat("a", i+1)
	}
	if _, err := w.WithRedirectURIs(many); !domain.IsKind(err, domain.KindInvalid) {
		t.Fatalf("too many: %v", err)
	}
}
