package postgres

import (
	"embed"
	"fmt"
	"maps"
	"slices"

	"github.com/iotplatform/enduser-auth/adapters/postgres/namedsql"
)

// statementFiles are the hot statements, one file each, written with named
// parameters (@name) and a header that says which domain step each part
// carries out.
//
//go:embed sql/*.sql
var statementFiles embed.FS

// statement is a statement file translated to positional parameters once,
// at package initialisation, with how each parameter is bound from a P: the
// same SQL text on every call (pgx caches the prepared statement by its
// text) and no translation or lookup per call.
type statement[P any] struct {
	file string
	sql  string
	// bind[i] gives $i+1.
	bind []func(*P) any
}

// mustStatement translates file and binds its parameters by name; it panics
// (at initialisation, so every test of the package fails) unless binds binds
// every parameter of the file and nothing else (namedsql.Statement.Check).
func mustStatement[P any](file string, binds map[string]func(*P) any) statement[P] {
	s, err := newStatement(file, binds)
	if err != nil {
		panic(err)
	}
	return s
}

func newStatement[P any](file string, binds map[string]func(*P) any) (statement[P], error) {
	src, err := statementFiles.ReadFile("sql/" + file)
	if err != nil {
		return statement[P]{}, fmt.Errorf("statement %s: %w", file, err)
	}
	st, err := namedsql.Translate(string(src))
	if err != nil {
		return statement[P]{}, fmt.Errorf("statement %s: %w", file, err)
	}
	if err := st.Check(slices.Sorted(maps.Keys(binds))); err != nil {
		return statement[P]{}, fmt.Errorf("statement %s: %w", file, err)
	}
	s := statement[P]{file: file, sql: st.SQL, bind: make([]func(*P) any, len(st.Names))}
	for i, n := range st.Names {
		s.bind[i] = binds[n]
	}
	return s, nil
}

// args are the statement's arguments for p, in positional order.
func (s *statement[P]) args(p *P) []any {
	out := make([]any, len(s.bind))
	for i, b := range s.bind {
		out[i] = b(p)
	}
	return out
}
