// Package namedsql translates SQL written with named parameters (@name)
// into PostgreSQL's positional ones ($1, $2, ...), once, and checks that
// the names bound are exactly the names used. The Postgres adapter
// translates its statement files with it at package initialisation;
// scripts/namedsql translates the same files the same way for psql.
//
// The rule: outside string literals ('...'), quoted identifiers ("...") and
// comments, "@" followed by a letter or "_" starts a parameter name, which
// runs on over letters, digits and "_". Each name gets the next position at
// its first use and keeps it (a name used twice is one parameter). Comments
// (-- to the end of the line, /* */) are removed, and so are trailing
// blanks and the lines left empty: the text sent to the server, cached by
// pgx as it is, holds only the statement. A positional parameter ($1) or a
// dollar-quoted string in the source is an error; write an operator that
// begins with "@" (@>, <@) with a blank after it.
package namedsql

import (
	"fmt"
	"slices"
	"strings"
)

// Statement is a translated statement.
type Statement struct {
	// SQL is the statement with positional parameters.
	SQL string
	// Names are the parameters' names in positional order: Names[i] is
	// $i+1.
	Names []string
}

// Translate translates src (see the package comment).
func Translate(src string) (Statement, error) {
	var (
		out   strings.Builder
		names []string
	)
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\'' || c == '"':
			end := closing(src, i)
			if end < 0 {
				return Statement{}, fmt.Errorf("line %d: unterminated %c", line(src, i), c)
			}
			out.WriteString(src[i:end])
			i = end
		case c == '-' && strings.HasPrefix(src[i:], "--"):
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			i += end
		case c == '/' && strings.HasPrefix(src[i:], "/*"):
			end := commentEnd(src, i)
			if end < 0 {
				return Statement{}, fmt.Errorf("line %d: unterminated /*", line(src, i))
			}
			out.WriteByte(' ')
			i = end
		case c == '$':
			return Statement{}, fmt.Errorf("line %d: $ outside a literal (a positional parameter or a dollar-quoted string): use @name", line(src, i))
		case c == '@' && i+1 < len(src) && nameStart(src[i+1]):
			end := i + 1
			for end < len(src) && nameByte(src[end]) {
				end++
			}
			name := src[i+1 : end]
			pos := slices.Index(names, name)
			if pos < 0 {
				names = append(names, name)
				pos = len(names) - 1
			}
			fmt.Fprintf(&out, "$%d", pos+1)
			i = end
		case c == '\n':
			endLine(&out)
			i++
		default:
			out.WriteByte(c)
			i++
		}
	}
	endLine(&out)
	if len(names) == 0 {
		return Statement{}, fmt.Errorf("no @name parameter")
	}
	return Statement{SQL: strings.TrimSpace(out.String()), Names: names}, nil
}

// Check returns an error unless bound holds every name of st exactly once
// and nothing else: a parameter left unbound, a name bound but unused (a
// misspelling, or a parameter the statement dropped) or bound twice.
func (st Statement) Check(bound []string) error {
	var problems []string
	for _, n := range st.Names {
		if !slices.Contains(bound, n) {
			problems = append(problems, "@"+n+" is not bound")
		}
	}
	seen := map[string]bool{}
	for _, n := range bound {
		switch {
		case seen[n]:
			problems = append(problems, "@"+n+" is bound twice")
		case !slices.Contains(st.Names, n):
			problems = append(problems, "@"+n+" is bound but not used")
		}
		seen[n] = true
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// endLine ends the line written so far: its trailing blanks go, and so does
// the line when nothing is left of it (a comment's, or an empty one).
func endLine(out *strings.Builder) {
	s := strings.TrimRight(out.String(), " \t\r")
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	out.Reset()
	out.WriteString(s)
}

// closing returns the index after the literal or quoted identifier that
// opens at i (a doubled quote is the quote itself), -1 when unterminated.
func closing(src string, i int) int {
	q := src[i]
	for j := i + 1; j < len(src); j++ {
		if src[j] != q {
			continue
		}
		if j+1 < len(src) && src[j+1] == q {
			j++
			continue
		}
		return j + 1
	}
	return -1
}

// commentEnd returns the index after the /* */ comment that opens at i
// (PostgreSQL's nest), -1 when unterminated.
func commentEnd(src string, i int) int {
	depth := 0
	for j := i; j+1 < len(src); j++ {
		switch src[j : j+2] {
		case "/*":
			depth++
			j++
		case "*/":
			depth--
			j++
			if depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}

func line(src string, i int) int { return strings.Count(src[:i], "\n") + 1 }

func nameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func nameByte(c byte) bool { return nameStart(c) || c >= '0' && c <= '9' }
