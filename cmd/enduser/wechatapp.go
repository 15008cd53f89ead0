package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/iotplatform/enduser-auth/domain"
)

// appCommands name each kind's command.
var appCommands = map[domain.AppKind]string{
	domain.AppKindOfficialAccount: "officialaccount",
	domain.AppKindMiniProgram:     "miniprogram",
	domain.AppKindMobileApp:       "mobileapp",
	domain.AppKindWebsite:         "website",
}

// newWeChatAppCmd is `officialaccount add`, `miniprogram add`, `mobileapp
// add` and `website add`: one command per kind of WeChat app, the same flags
// and secret sources (a website app's redirect URIs besides); and each
// kind's `list` and `remove` (wechatapplist.go).
func newWeChatAppCmd(e env, kind domain.AppKind) *cobra.Command {
	name, noun := appCommands[kind], kind.Noun()
	add := newLeaf("add --user-domain NAME --app-id ID", "Add a WeChat "+noun+" to a user domain, or give it a new AppSecret")
	add.Long = `Add a WeChat ` + noun + ` to a user domain, or give it a new AppSecret.
The AppSecret: the first line of standard input (--app-secret-stdin),
$ENDUSER_APP_SECRET or --app-secret.`
	var f weChatAppFlags
	fs := add.Flags()
	fs.StringVar(&f.dbURL, "database-url", "", "PostgreSQL URL (default $ENDUSER_DATABASE_URL)")
	fs.StringVar(&f.userDomain, "user-domain", "", "user domain name")
	fs.StringVar(&f.appID, "app-id", "", "the "+noun+"'s appId")
	fs.StringVar(&f.appSecret, "app-secret", "", "the "+noun+"'s AppSecret (prefer --app-secret-stdin or $ENDUSER_APP_SECRET)")
	fs.BoolVar(&f.appSecretStdin, "app-secret-stdin", false, "read the AppSecret from the first line of standard input")
	if kind == domain.AppKindWebsite {
		add.Use = "add --user-domain NAME --app-id ID --redirect-uri URL..."
		add.Long += `
--redirect-uri (repeated) lists the redirect URIs the website login accepts,
exact match; the list given replaces the stored one.`
		fs.StringArrayVar(&f.redirectURIs, "redirect-uri", nil, "a redirect URI of the website login (repeat for several; the list replaces the stored one)")
	}
	add.RunE = func(cmd *cobra.Command, pos []string) error {
		return cmdWeChatApp(cmd.Context(), pos, e, kind, f)
	}
	return newGroup(name, "Add, list and remove the WeChat "+noun+"s of a user domain",
		name+" add|list|remove --user-domain NAME ...", add, newWeChatAppListCmd(e, kind), newWeChatAppRemoveCmd(e, kind))
}

// weChatAppFlags are the flags of `officialaccount add` and `miniprogram add`.
type weChatAppFlags struct {
	dbURL, userDomain, appID, appSecret string
	appSecretStdin                      bool
	redirectURIs                        []string // a website app's
}

func cmdWeChatApp(ctx context.Context, pos []string, e env, kind domain.AppKind, f weChatAppFlags) error {
	name, noun := appCommands[kind], kind.Noun()
	if len(pos) != 0 {
		return usageErr("%s add takes no positional arguments, got %q", name, pos)
	}
	appSecret, err := secretFrom(e, "app-secret", f.appSecret, f.appSecretStdin, "ENDUSER_APP_SECRET")
	if err != nil {
		return err
	}
	if f.userDomain == "" || f.appID == "" || appSecret == "" {
		return usageErr("%s add needs --user-domain, --app-id and the AppSecret (--app-secret-stdin, $ENDUSER_APP_SECRET or --app-secret)", name)
	}
	a, err := adminApp(ctx, e, f.dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	if kind == domain.AppKindWebsite {
		if len(f.redirectURIs) == 0 {
			return usageErr("website add needs at least one --redirect-uri")
		}
		if err := a.module.Operators.PutWebsiteApp(ctx, f.userDomain, f.appID, appSecret, f.redirectURIs); err != nil {
			return adminErr(err)
		}
	} else if err := a.module.Operators.PutWeChatApp(ctx, kind, f.userDomain, f.appID, appSecret); err != nil {
		return adminErr(err)
	}
	fmt.Fprintf(e.stdout, "%s %s of user domain %s saved\n", noun, f.appID, f.userDomain)
	return nil
}
