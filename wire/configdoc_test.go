package wire_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	modwire "github.com/iotplatform/enduser-auth/wire"
)

// TestConfigurationTableIsTheLoader: the variables of docs/configuration.md's
// configuration table (its "Variables" section) are exactly those
// wire.LoadConfig reads: a documented variable the loader does not know, or
// one it reads undocumented, fails.
func TestConfigurationTableIsTheLoader(t *testing.T) {
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "## Variables\n")
	if start < 0 {
		t.Fatal("docs/configuration.md has no Variables section")
	}
	section := doc[start+len("## Variables\n"):]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	name := regexp.MustCompile("`(ENDUSER_[A-Z0-9_]+)`")
	var documented []string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `ENDUSER_") {
			continue
		}
		first := strings.SplitN(line, "|", 3)[1] // the variable column
		for _, m := range name.FindAllStringSubmatch(first, -1) {
			documented = append(documented, m[1])
		}
	}
	slices.Sort(documented)
	loaded := modwire.ConfigVariables()
	for _, v := range documented {
		if !slices.Contains(loaded, v) {
			t.Errorf("%s is documented in docs/configuration.md but wire.LoadConfig does not read it", v)
		}
	}
	for _, v := range loaded {
		if !slices.Contains(documented, v) {
			t.Errorf("wire.LoadConfig reads %s, which docs/configuration.md's table does not document", v)
		}
	}
	if len(documented) < 30 {
		t.Fatalf("found %d documented variables: the table's format changed?", len(documented))
	}
}
