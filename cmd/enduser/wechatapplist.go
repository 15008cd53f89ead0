package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotplatform/enduser-auth/adapters/httpapi"
	"github.com/iotplatform/enduser-auth/domain"
)

// weChatAppListFlags are the flags of `<kind> list` and `<kind> remove`.
type weChatAppListFlags struct {
	dbURL, userDomain, appID string
	json                     bool
}

// newWeChatAppListCmd is `<kind> list --user-domain NAME [--json]`.
func newWeChatAppListCmd(e env, kind domain.AppKind) *cobra.Command {
	name, noun := appCommands[kind], kind.Noun()
	c := newLeaf("list --user-domain NAME", "List the WeChat "+noun+"s of a user domain (never their AppSecrets)")
	shown, jsonFields := "the appId and when it was added", "appId, kind, addedAt"
	if kind == domain.AppKindWebsite {
		shown, jsonFields = "the appId, when it was added and the redirect URIs the website\nlogin accepts", jsonFields+", redirectUris"
	}
	c.Long = `List the WeChat ` + noun + `s of a user domain, by appId:
` + shown + `.
The AppSecrets are never shown. --json prints one JSON object a line.`
	var f weChatAppListFlags
	fs := c.Flags()
	fs.StringVar(&f.dbURL, "database-url", "", "PostgreSQL URL (default $ENDUSER_DATABASE_URL)")
	fs.StringVar(&f.userDomain, "user-domain", "", "user domain name (required)")
	fs.BoolVar(&f.json, "json", false, "one JSON object a line: "+jsonFields)
	c.RunE = func(cmd *cobra.Command, pos []string) error {
		if len(pos) != 0 {
			return usageErr("%s list takes no positional arguments, got %q", name, pos)
		}
		return cmdWeChatAppList(cmd.Context(), e, kind, f)
	}
	return c
}

// weChatAppLine is a line of `<kind> list --json`.
type weChatAppLine struct {
	AppID        string    `json:"appId"`
	Kind         string    `json:"kind"`
	AddedAt      time.Time `json:"addedAt"`
	RedirectURIs []string  `json:"redirectUris,omitempty"`
}

func cmdWeChatAppList(ctx context.Context, e env, kind domain.AppKind, f weChatAppListFlags) error {
	name, noun := appCommands[kind], kind.Noun()
	if strings.TrimSpace(f.userDomain) == "" {
		return usageErr("%s list needs --user-domain", name)
	}
	a, err := adminApp(ctx, e, f.dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	apps, err := a.module.Operators.WeChatApps(ctx, f.userDomain, kind)
	if err != nil {
		return adminErr(err)
	}
	if f.json {
		enc := json.NewEncoder(e.stdout)
		for _, app := range apps {
			if err := enc.Encode(weChatAppLine{AppID: app.AppID, Kind: string(app.Kind), AddedAt: app.AddedAt.UTC(),
				RedirectURIs: app.RedirectURIs}); err != nil {
				return err
			}
		}
		return nil
	}
	if len(apps) == 0 {
		fmt.Fprintf(e.stdout, "user domain %s has no %s\n", strings.TrimSpace(f.userDomain), noun)
		return nil
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	header := "APP ID\tADDED"
	if kind == domain.AppKindWebsite {
		header += "\tREDIRECT URIS"
	}
	fmt.Fprintln(w, header)
	for _, app := range apps {
		line := app.AppID + "\t" + app.AddedAt.UTC().Format(time.RFC3339)
		if kind == domain.AppKindWebsite {
			line += "\t" + strings.Join(app.RedirectURIs, " ")
		}
		fmt.Fprintln(w, line)
	}
	return w.Flush()
}

// newWeChatAppRemoveCmd is `<kind> remove --user-domain NAME --app-id ID`.
func newWeChatAppRemoveCmd(e env, kind domain.AppKind) *cobra.Command {
	name, noun := appCommands[kind], kind.Noun()
	c := newLeaf("remove --user-domain NAME --app-id ID", "Remove a WeChat "+noun+" from a user domain (its users stay)")
	deleted := "Its AppSecret is"
	if kind == domain.AppKindWebsite {
		deleted = "Its AppSecret and redirect URIs are"
	}
	c.Long = `Remove a WeChat ` + noun + ` from a user domain.
` + deleted + ` deleted, so that logins through it answer
` + strconv.Itoa(httpapi.CodeOf(kind.MissingKind())) + ` (serving instances see the removal within ENDUSER_TENANT_CACHE_TTL).
The users who logged in through it and their openids under its appId are
kept, and their sessions are not ended: adding the app again logs the same
people in as the same users. An app of another kind with that appId is not
removed. Audit record wechat_app_removed.`
	var f weChatAppListFlags
	fs := c.Flags()
	fs.StringVar(&f.dbURL, "database-url", "", "PostgreSQL URL (default $ENDUSER_DATABASE_URL)")
	fs.StringVar(&f.userDomain, "user-domain", "", "user domain name (required)")
	fs.StringVar(&f.appID, "app-id", "", "the "+noun+"'s appId (required)")
	c.RunE = func(cmd *cobra.Command, pos []string) error {
		if len(pos) != 0 {
			return usageErr("%s remove takes no positional arguments, got %q", name, pos)
		}
		if strings.TrimSpace(f.userDomain) == "" || strings.TrimSpace(f.appID) == "" {
			return usageErr("%s remove needs --user-domain and --app-id", name)
		}
		a, err := adminApp(cmd.Context(), e, f.dbURL)
		if err != nil {
			return err
		}
		defer a.Close()
		if err := a.module.Operators.RemoveWeChatApp(cmd.Context(), kind, f.userDomain, f.appID); err != nil {
			return adminErr(err)
		}
		fmt.Fprintf(e.stdout, "%s %s removed from user domain %s (its users and their openids are kept)\n",
			noun, strings.TrimSpace(f.appID), strings.TrimSpace(f.userDomain))
		return nil
	}
	return c
}
