package wire_test

import (
	"os"
	"strings"
	"testing"
)

// The embedding block of the example host, between these markers.
const (
	embedBegin = "\t// --- enduser-auth ---\n"
	embedEnd   = "\t// --- end ---\n"
)

// TestREADMEEmbeddingIsTheExample: the README's embedding snippet is the
// marked auth block of examples/monolith (one tab less), so the snippet
// compiles and runs as long as the example does, and the block stays within
// 40 lines of code (non-blank, non-comment).
func TestREADMEEmbeddingIsTheExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../examples/monolith/main.go")
	if err != nil {
		t.Fatal(err)
	}
	ex := string(example)
	i, j := strings.Index(ex, embedBegin), strings.Index(ex, embedEnd)
	if i < 0 || j < i {
		t.Fatal("examples/monolith/main.go lost its embedding markers")
	}
	var want strings.Builder
	code := 0
	for _, l := range strings.SplitAfter(ex[i+len(embedBegin):j], "\n") {
		want.WriteString(strings.TrimPrefix(l, "\t"))
		if s := strings.TrimSpace(l); s != "" && !strings.HasPrefix(s, "//") {
			code++
		}
	}
	if code > 40 {
		t.Errorf("the example spends %d lines of code on the auth module, more than 40", code)
	}
	t.Logf("the example host spends %d lines of code on the auth module", code)
	rd := string(readme)
	k := strings.Index(rd, "## Embedding the module")
	if k < 0 {
		t.Fatal("README.md has no embedding section")
	}
	rest := rd[k:]
	a := strings.Index(rest, "```go\n")
	if a < 0 {
		t.Fatal("README.md's embedding section has no Go block")
	}
	rest = rest[a+len("```go\n"):]
	got := rest[:strings.Index(rest, "```")]
	if got != want.String() {
		t.Fatalf("README.md's embedding snippet differs from examples/monolith's block:\n--- README\n%s\n--- example\n%s", got, want.String())
	}
}
