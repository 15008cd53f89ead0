package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// normalizeArgs writes with two dashes the long flags written with one, as
// Go's flag package (which the CLI used before cobra) accepted them:
// "-database-url U" and "-migrate=false" are "--database-url U" and
// "--migrate=false". Left as they are: "-h" (the help shorthand), a dash
// followed by other than a letter ("-", "-5", "-1s": values), the value of a
// flag that takes one (the argument after it), everything after "--", and
// the words of a shell's completion request.
func normalizeArgs(root *cobra.Command, args []string) []string {
	out := make([]string, 0, len(args)) // never nil: cobra would read os.Args
	if len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd) {
		return append(out, args...)
	}
	anywhere := flagsTakingValues(root)
	cmd, inCommandPath := root, true
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(out, args[i:]...)
		case singleDashLong(a):
			a = "-" + a
		case !strings.HasPrefix(a, "-"):
			if inCommandPath {
				if sub := subcommand(cmd, a); sub != nil {
					cmd = sub
				} else {
					inCommandPath = false
				}
			}
			out = append(out, a)
			continue
		}
		out = append(out, a)
		name, long := strings.CutPrefix(a, "--")
		if long && !strings.Contains(name, "=") && takesValue(cmd, name, anywhere) && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return out
}

// singleDashLong reports whether a is a long flag written with one dash.
func singleDashLong(a string) bool {
	if len(a) < 3 || a[0] != '-' || !isLetter(a[1]) {
		return false
	}
	name, _, _ := strings.Cut(a[1:], "=")
	return len(name) > 1
}

func isLetter(b byte) bool { return ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z') }

// subcommand is cmd's subcommand called name, or nil.
func subcommand(cmd *cobra.Command, name string) *cobra.Command {
	for _, c := range cmd.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether the flag name of cmd takes a value (the next
// argument when no "=" gives it). A flag cmd does not have (given before the
// subcommand that has it) is looked up in anywhere.
func takesValue(cmd *cobra.Command, name string, anywhere map[string]bool) bool {
	f := cmd.Flags().Lookup(name)
	if f == nil {
		f = cmd.InheritedFlags().Lookup(name)
	}
	if f == nil {
		return anywhere[name]
	}
	return f.NoOptDefVal == ""
}

// flagsTakingValues are the names of the flags of the whole tree that take a
// value.
func flagsTakingValues(root *cobra.Command) map[string]bool {
	names := map[string]bool{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.NoOptDefVal == "" {
				names[f.Name] = true
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return names
}
