package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotplatform/enduser-auth/domain"
)

// newUserDomainCmd is `enduser userdomain create|disable|enable|rotate-secret NAME`.
func newUserDomainCmd(e env) *cobra.Command {
	sub := func(name, short, long string) *cobra.Command {
		c := newLeaf(name+" NAME", short)
		c.Long = long
		f := c.Flags()
		var fl userDomainFlags
		f.StringVar(&fl.dbURL, "database-url", "", "PostgreSQL URL (default $ENDUSER_DATABASE_URL)")
		// Every subcommand has the flags of all (as before cobra), so that one
		// given to the wrong subcommand is refused saying which takes it; the
		// help shows each subcommand's own.
		f.StringVar(&fl.secret, "secret", "", "the user domain secret (generated when empty; prefer --secret-stdin or $ENDUSER_USER_DOMAIN_SECRET)")
		f.BoolVar(&fl.secretStdin, "secret-stdin", false, "read the secret from the first line of standard input")
		f.BoolVar(&fl.legacy, "legacy-secret", false, "accept a secret shorter than 32 characters (a tenant's existing one)")
		f.DurationVar(&fl.overlap, "overlap", defaultSecretOverlap, "how long the replaced secret stays valid")
		hide := map[string][]string{
			"create":        {"overlap"},
			"disable":       {"secret", "secret-stdin", "legacy-secret", "overlap"},
			"enable":        {"secret", "secret-stdin", "legacy-secret", "overlap"},
			"rotate-secret": {"secret", "legacy-secret"},
		}
		for _, h := range hide[name] {
			_ = f.MarkHidden(h) // the flag exists: MarkHidden fails only for an unknown name
		}
		if name == "rotate-secret" {
			f.Lookup("secret-stdin").Usage = "read the new secret (32+ characters) from the first line of standard input instead of generating one"
		}
		c.RunE = func(cmd *cobra.Command, pos []string) error {
			fl.overlapSet = cmd.Flags().Changed("overlap")
			return cmdUserDomain(cmd.Context(), name, pos, e, fl)
		}
		return c
	}
	return newGroup("userdomain", "Create, disable, enable a user domain or rotate its secret",
		"userdomain create|disable|enable|rotate-secret NAME",
		sub("create", "Create a user domain",
			`Create a user domain. Its secret: the first line of standard input (--secret-stdin),
$ENDUSER_USER_DOMAIN_SECRET, --secret, or generated; a chosen one needs 32+ characters
unless --legacy-secret (a tenant's existing secret that apps in the field ship).`),
		sub("disable", "Disable a user domain: its logins answer 5104, its sessions end", ""),
		sub("enable", "Enable a disabled user domain (its ended sessions stay ended)", ""),
		sub("rotate-secret", "Give a user domain a new secret; the replaced one stays valid for the overlap",
			`Give a user domain a new secret: generated and printed alone on its line, or the first
line of standard input (--secret-stdin, 32+ characters). The replaced secret stays
valid for the overlap (--overlap, default 720h).`),
	)
}

// userDomainFlags are the flags of the userdomain subcommands.
type userDomainFlags struct {
	dbURL       string
	secret      string
	secretStdin bool
	legacy      bool
	overlap     time.Duration
	overlapSet  bool
}

func cmdUserDomain(ctx context.Context, sub string, pos []string, e env, f userDomainFlags) error {
	if len(pos) != 1 {
		return usageErr("userdomain %s takes exactly one NAME", sub)
	}
	switch {
	case sub == "rotate-secret" && (f.secret != "" || f.legacy):
		return usageErr("userdomain rotate-secret takes the new secret from --secret-stdin only (or generates it)")
	case sub != "create" && sub != "rotate-secret" && (f.secret != "" || f.secretStdin || f.legacy):
		return usageErr("--secret, --secret-stdin and --legacy-secret are only for userdomain create")
	case sub != "rotate-secret" && f.overlapSet:
		return usageErr("--overlap is only for userdomain rotate-secret")
	case f.overlap < 0:
		return usageErr("--overlap must not be negative")
	}
	secret, err := userDomainSecret(e, sub, f.secret, f.secretStdin, f.legacy)
	if err != nil {
		return err
	}
	a, err := adminApp(ctx, e, f.dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.module.Operators
	switch sub {
	case "create":
		d, err := svc.CreateUserDomain(ctx, pos[0], secret)
		if err != nil {
			return adminErr(err)
		}
		fmt.Fprintf(e.stdout, "created user domain %s\nsecret: %s\n", d.Name(), d.Secret())
	case "disable", "enable":
		err := svc.SetUserDomainEnabled(ctx, pos[0], sub == "enable")
		if err != nil {
			return adminErr(err)
		}
		fmt.Fprintf(e.stdout, "user domain %s %sd\n", pos[0], sub)
	case "rotate-secret":
		d, err := svc.RotateUserDomainSecret(ctx, pos[0], secret, f.overlap)
		if err != nil {
			return adminErr(err)
		}
		printRotation(e, d, secret == "")
	}
	return nil
}

// userDomainSecret is the secret `userdomain create` or `rotate-secret` was
// given ("" to have one generated), checked for length; other subcommands
// take none.
func userDomainSecret(e env, sub, flagValue string, fromStdin, legacy bool) (string, error) {
	switch sub {
	case "create":
		secret, err := secretFrom(e, "secret", flagValue, fromStdin, "ENDUSER_USER_DOMAIN_SECRET")
		if err != nil {
			return "", err
		}
		if secret != "" && len([]rune(secret)) < minUserDomainSecret && !legacy {
			return "", fmt.Errorf("the user domain secret is %d characters: a new secret needs at least %d (leave it out to have one generated); "+
				"if it is a tenant's existing secret that apps in the field ship, add --legacy-secret", len([]rune(secret)), minUserDomainSecret)
		}
		return secret, nil
	case "rotate-secret":
		if !fromStdin {
			return "", nil
		}
		// Read from standard input only: no environment variable applies.
		secret, err := secretFrom(env{stdin: e.stdin, getenv: func(string) string { return "" }}, "secret", "", true, "ENDUSER_USER_DOMAIN_SECRET")
		if err != nil {
			return "", err
		}
		if len([]rune(secret)) < minUserDomainSecret {
			return "", fmt.Errorf("the new secret is %d characters: it needs at least %d (leave --secret-stdin out to have one generated)",
				len([]rune(secret)), minUserDomainSecret)
		}
		return secret, nil
	}
	return "", nil
}

// printRotation says what rotate-secret did; a generated secret goes alone
// on its line.
func printRotation(e env, d domain.UserDomain, generated bool) {
	if _, until := d.PreviousSecret(); until.IsZero() {
		fmt.Fprintf(e.stdout, "rotated the secret of user domain %s; the previous secret is no longer accepted\n", d.Name())
	} else {
		fmt.Fprintf(e.stdout, "rotated the secret of user domain %s; the previous secret is accepted until %s\n",
			d.Name(), until.UTC().Format(time.RFC3339))
	}
	if generated {
		fmt.Fprintln(e.stdout, d.Secret())
	}
}

// defaultSecretOverlap is how long rotate-secret keeps the replaced secret
// valid unless --overlap says otherwise.
const defaultSecretOverlap = 720 * time.Hour
