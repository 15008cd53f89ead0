package wire_test

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEEmbeddingIsTheExample: the README's embedding snippet is the text
// of ExampleNewModule between its markers (one tab less), so the snippet
// compiles and runs as long as the example does.
func TestREADMEEmbeddingIsTheExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "\t// --- Embedding the module ---\n", "\t// --- end ---\n"
	ex := string(example)
	i, j := strings.Index(ex, begin), strings.Index(ex, end)
	if i < 0 || j < i {
		t.Fatal("example_test.go lost its embedding markers")
	}
	var want strings.Builder
	for _, l := range strings.SplitAfter(ex[i+len(begin):j], "\n") {
		want.WriteString(strings.TrimPrefix(l, "\t"))
	}
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
		t.Fatalf("README.md's embedding snippet differs from ExampleNewModule's text:\n--- README\n%s\n--- example\n%s", got, want.String())
	}
}
