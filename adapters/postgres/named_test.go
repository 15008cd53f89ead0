package postgres

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/iotplatform/enduser-auth/domain"
	"github.com/iotplatform/enduser-auth/migrations"
)

// TestStatementsBindEveryParameterOnce: a file's parameters and the Go
// bindings are checked against each other when the package initialises
// (mustStatement); newStatement says what is wrong.
func TestStatementsBindEveryParameterOnce(t *testing.T) {
	one := func(*spendParams) any { return nil }
	binds := map[string]func(*spendParams) any{"session_id": one, "from": one, "now": one, "refresh_expires_at": one}
	if _, err := newStatement("spend_refresh_token.sql", binds); err != nil {
		t.Fatal(err)
	}
	delete(binds, "now")
	binds["nwo"] = one
	_, err := newStatement("spend_refresh_token.sql", binds)
	if err == nil || !strings.Contains(err.Error(), "@now is not bound") || !strings.Contains(err.Error(), "@nwo is bound but not used") {
		t.Errorf("a misspelt binding: %v", err)
	}
	if _, err := newStatement("no_such_file.sql", binds); err == nil {
		t.Error("a missing file: no error")
	}
}

// TestRecordLoginSpeaksTheDomainsSteps: every word the login's function
// (enduser_record_login, migrations/00019) quotes is a domain.LoginStep, and
// every step is decided there, so that a step renamed on one side fails here
// rather than in a login.
func TestRecordLoginSpeaksTheDomainsSteps(t *testing.T) {
	src, err := migrations.FS.ReadFile("00019_record_login_function.sql")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(src), "$$")
	if len(parts) != 3 {
		t.Fatalf("the migration holds %d $$ quotes; want one body", len(parts)-1)
	}
	body := regexp.MustCompile(`--[^\n]*`).ReplaceAllString(parts[1], "")
	var quoted []domain.LoginStep
	for _, m := range regexp.MustCompile(`'([a-z_]+)'`).FindAllStringSubmatch(body, -1) {
		quoted = append(quoted, domain.LoginStep(m[1]))
	}
	for _, w := range quoted {
		if !slices.Contains(domain.LoginSteps(), w) {
			t.Errorf("the function quotes %q, which is no domain.LoginStep", w)
		}
	}
	for _, s := range domain.LoginSteps() {
		if !strings.Contains(body, "THEN '"+string(s)+"'") && !strings.Contains(body, "ELSE '"+string(s)+"'") {
			t.Errorf("the function's CASE never decides step %s", s)
		}
	}
	if !strings.Contains(recordLogin.sql, "enduser_record_login(") {
		t.Errorf("the login statement does not call the function:\n%s", recordLogin.sql)
	}
}

// TestSpendRefreshTokenCoversAsSessionByID: the refresh statement's cover
// is SessionByID's (coverJoins, coverColumns), word for word.
func TestSpendRefreshTokenCoversAsSessionByID(t *testing.T) {
	words := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for _, part := range []string{coverJoins, coverColumns} {
		if !strings.Contains(words(spendRefreshToken.sql), words(part)) {
			t.Errorf("spend_refresh_token.sql does not hold %q", words(part))
		}
	}
}

// TestStatementsAreTranslatedOnce: the text a call sends is the one made at
// initialisation (pgx's statement cache is keyed by it), it begins with the
// statement (the span is named after its first word) and holds no comment.
func TestStatementsAreTranslatedOnce(t *testing.T) {
	for q, op := range map[string]string{recordLogin.sql: "SELECT", spendRefreshToken.sql: "WITH"} {
		if operation(q) != op || strings.Contains(q, "--") || strings.Contains(q, "@") {
			t.Errorf("statement begins %q, or holds a comment or a name:\n%s", operation(q), q)
		}
	}
	if len(recordLogin.bind) != 17 || len(spendRefreshToken.bind) != 4 {
		t.Errorf("parameters: login %d, refresh %d; want 17 and 4", len(recordLogin.bind), len(spendRefreshToken.bind))
	}
}
