// Command namedsql prints a statement file of the Postgres adapter (@name
// parameters) as the adapter runs it, translated by the adapter's own
// package (adapters/postgres/namedsql), for psql:
//
//	go run ./scripts/namedsql FILE                       the statement, its parameters listed after it
//	go run ./scripts/namedsql -prepare NAME FILE         PREPARE NAME AS <statement>;
//	go run ./scripts/namedsql -execute NAME FILE n=v...  EXECUTE NAME(v, ...), each value in its parameter's
//	                                                     position; every parameter bound once, nothing else
//
// Values are SQL expressions, given as they are. scripts/explain_login.sh uses it.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/iotplatform/enduser-auth/adapters/postgres/namedsql"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "namedsql:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("namedsql", flag.ContinueOnError)
	prepare := fs.String("prepare", "", "print PREPARE `name` AS the statement")
	execute := fs.String("execute", "", "print EXECUTE `name` with the values given as name=value")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		return fmt.Errorf("usage: namedsql [-prepare NAME | -execute NAME] FILE [name=value ...]")
	}
	src, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	st, err := namedsql.Translate(string(src))
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	switch {
	case *execute != "":
		values := map[string]string{}
		var bound []string
		for _, a := range fs.Args()[1:] {
			n, v, ok := strings.Cut(a, "=")
			if !ok {
				return fmt.Errorf("%q is not name=value", a)
			}
			bound, values[n] = append(bound, n), v
		}
		if err := st.Check(bound); err != nil {
			return fmt.Errorf("%s: %w", fs.Arg(0), err)
		}
		list := make([]string, len(st.Names))
		for i, n := range st.Names {
			list[i] = values[n]
		}
		fmt.Printf("EXECUTE %s(%s)\n", *execute, strings.Join(list, ", "))
	case *prepare != "":
		fmt.Printf("PREPARE %s AS\n%s;\n", *prepare, st.SQL)
	default:
		fmt.Println(st.SQL)
		for i, n := range st.Names {
			fmt.Printf("-- $%d @%s\n", i+1, n)
		}
	}
	return nil
}
