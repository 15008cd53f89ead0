package domain_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/iotplatform/enduser-auth"

// importsOf lists every import of the Go files in dir, with their tests or
// without.
func importsOf(t *testing.T, dir string, withTests bool) map[string][]string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(dir, "*.go"))
	var files []string
	for _, f := range all {
		if withTests || !strings.HasSuffix(f, "_test.go") {
			files = append(files, f)
		}
	}
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	imports := map[string][]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			imports[p] = append(imports[p], filepath.Base(f))
		}
	}
	return imports
}

// isStandard reports whether an import path is the standard library's (its
// first element has no dot).
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// TestLayers holds the hexagon's walls: domain/ uses the standard library
// only; application/ uses the domain and the standard library, never an
// adapter, a framework or a driver.
func TestLayers(t *testing.T) {
	for path, files := range importsOf(t, ".", true) {
		if !isStandard(path) && path != module+"/domain" {
			t.Errorf("domain/ imports %s (in %v): the domain uses the standard library only", path, files)
		}
	}
	for path, files := range importsOf(t, "../application", false) {
		if isStandard(path) || path == module+"/domain" || path == module+"/application" {
			continue
		}
		if strings.HasPrefix(path, module+"/adapters") || !strings.HasPrefix(path, module+"/") {
			t.Errorf("application/ imports %s (in %v): use cases declare ports, adapters implement them", path, files)
		}
	}
}

// TestAdaptersStayBelowTheWiring: no adapter (nor its tests, nor a test
// helper under adapters/ or internal/) imports the wiring or a command: the
// wiring assembles adapters, never the other way round. internal/ helpers
// use the standard library only, so any package's tests can import them.
func TestAdaptersStayBelowTheWiring(t *testing.T) {
	var dirs []string
	for _, root := range []string{"../adapters", "../internal"} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if m, _ := filepath.Glob(filepath.Join(p, "*.go")); len(m) > 0 {
					dirs = append(dirs, p)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(dirs) < 10 {
		t.Fatalf("found only %d packages under adapters/ and internal/: %v", len(dirs), dirs)
	}
	for _, dir := range dirs {
		for path, files := range importsOf(t, dir, true) {
			if path == module+"/wire" || strings.HasPrefix(path, module+"/wire/") || strings.HasPrefix(path, module+"/cmd/") {
				t.Errorf("%s imports %s (in %v): adapters stay below the wiring and the commands", dir, path, files)
			}
		}
		// Every internal/ package is a test helper.
		if strings.HasPrefix(filepath.ToSlash(dir), "../internal/") {
			for path, files := range importsOf(t, dir, false) {
				if !isStandard(path) {
					t.Errorf("%s imports %s (in %v): test helpers under internal/ use the standard library only", dir, path, files)
				}
			}
		}
	}
}

// TestNoFormatsInTheCore: file formats, documents and wire formats live in
// adapters (issue 18): no struct tag in application/ nor domain/ (a JSON,
// GORM or any other encoding's names are an adapter's), and encoding/json
// only where the application still renders a client-facing detail (the
// 6085 answer's dataCenter/apiUrl, login.go) — never to parse WeChat's
// answers, import files or documents.
func TestNoFormatsInTheCore(t *testing.T) {
	allowedJSON := map[string]bool{"login.go": true}
	eachCoreFile(t, func(dir, f string, fset *token.FileSet, af *ast.File) {
		for _, imp := range af.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "encoding/json" && (dir == "." || !allowedJSON[filepath.Base(f)]) {
				t.Errorf("%s imports encoding/json: formats belong to adapters", f)
			}
		}
		ast.Inspect(af, func(n ast.Node) bool {
			if field, ok := n.(*ast.Field); ok && field.Tag != nil {
				t.Errorf("%s: struct tag %s: the names of an encoding belong to adapters", fset.Position(field.Pos()), field.Tag.Value)
			}
			return true
		})
	})
}

// eachCoreFile parses every production Go file of domain/ and application/
// and hands it to check with its directory.
func eachCoreFile(t *testing.T, check func(dir, file string, fset *token.FileSet, af *ast.File)) {
	t.Helper()
	for _, dir := range []string{".", "../application"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		fset := token.NewFileSet()
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			check(dir, f, fset, af)
		}
	}
}

// TestNoRequestParametersInTheCore: a request's parameters by name are the
// HTTP adapter's (issue 18): no exported function or method of domain/ or
// application/ takes a map[string]string or url.Values (the profile's
// fields, for one, are domain.ProfileField values; the adapter names them).
func TestNoRequestParametersInTheCore(t *testing.T) {
	byName := func(e ast.Expr) bool {
		switch x := e.(type) {
		case *ast.MapType:
			k, kok := x.Key.(*ast.Ident)
			v, vok := x.Value.(*ast.Ident)
			return kok && vok && k.Name == "string" && v.Name == "string"
		case *ast.SelectorExpr:
			pkg, ok := x.X.(*ast.Ident)
			return ok && pkg.Name == "url" && x.Sel.Name == "Values"
		}
		return false
	}
	eachCoreFile(t, func(_, _ string, fset *token.FileSet, af *ast.File) {
		for _, d := range af.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || !fn.Name.IsExported() {
				continue
			}
			for _, p := range fn.Type.Params.List {
				if byName(p.Type) {
					t.Errorf("%s: %s takes request parameters by name: that is the HTTP adapter's", fset.Position(fn.Pos()), fn.Name.Name)
				}
			}
		}
	})
}
