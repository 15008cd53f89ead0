package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotplatform/enduser-auth/adapters/jsonformat"
	"github.com/iotplatform/enduser-auth/application"
)

// newUserCmd is `enduser user logout-all|disable|enable UID`, `enduser user
// delete UID [--now]` and `enduser user export UID`.
func newUserCmd(e env) *cobra.Command {
	uidCmd := func(sub, short, long string) *cobra.Command {
		c := newLeaf(sub+" UID", short)
		c.Long = long
		dbURL := databaseURLFlag(c)
		c.RunE = func(cmd *cobra.Command, pos []string) error {
			return cmdUser(cmd.Context(), sub, pos, e, *dbURL)
		}
		return c
	}
	del := newLeaf("delete UID", "Erase a user after the cooling-off, or at once with --now")
	del.Long = `Erase a user's account after the cooling-off (ENDUSER_DELETION_COOLING_OFF), as a
deletion request, or with --now at once. Its sessions end now; other modules are
told by the serving instances.`
	delDBURL := databaseURLFlag(del)
	now := del.Flags().Bool("now", false, "erase the account at once instead of after the cooling-off")
	del.RunE = func(cmd *cobra.Command, pos []string) error {
		return cmdUserDelete(cmd.Context(), pos, e, *delDBURL, *now)
	}
	export := newLeaf("export UID", "Print everything held about a user as one JSON document")
	export.Long = `Print one JSON document with everything held about a user: profile, WeChat
identities, sessions (without secrets) and audit records.`
	exportDBURL := databaseURLFlag(export)
	export.RunE = func(cmd *cobra.Command, pos []string) error {
		return cmdUserExport(cmd.Context(), pos, e, *exportDBURL)
	}
	return newGroup("user", "End a user's sessions, disable, enable, delete or export a user",
		"user logout-all|disable|enable|unbind-phone UID | user delete UID [--now] | user export UID",
		uidCmd("logout-all", "End every session of a user (a stolen phone)",
			"End every session of a user (a stolen phone); the user may log in again. Serving\ninstances refuse their tokens within ENDUSER_REVOCATION_SYNC_INTERVAL."),
		uidCmd("disable", "Disable a user: its sessions end, its logins, refreshes and tokens answer 5041",
			"Disable a user: its sessions end, its logins, refreshes and tokens answer 5041."),
		uidCmd("enable", "Let a disabled user log in again",
			"Let a disabled user log in again (its ended sessions stay ended)."),
		uidCmd("unbind-phone", "Remove the phone number bound to a user (the number is then free)",
			"Remove the phone number a user bound through the mini program (wechatMiniprogramPhoneNumber):\nuserInfo shows none, and another user of the user domain may bind the number."),
		del, export)
}

// cmdUser is `enduser user logout-all|disable|enable UID`.
func cmdUser(ctx context.Context, sub string, pos []string, e env, dbURL string) error {
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return usageErr("user %s takes exactly one UID", sub)
	}
	uid := strings.TrimSpace(pos[0])
	a, err := adminApp(ctx, e, dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	svc := a.module.Operators
	if sub == "unbind-phone" {
		return cmdUnbindPhone(ctx, svc, uid, e)
	}
	switch sub {
	case "disable", "enable":
		if sub == "disable" {
			err = svc.DisableUser(ctx, uid)
		} else {
			err = svc.EnableUser(ctx, uid)
		}
		if err != nil {
			return adminErr(err)
		}
		if sub == "disable" {
			fmt.Fprintf(e.stdout, "user %s disabled: its sessions ended, its logins and refreshes answer 5041; serving instances refuse its tokens within ENDUSER_REVOCATION_SYNC_INTERVAL\n", uid)
		} else {
			fmt.Fprintf(e.stdout, "user %s enabled: it may log in again (its ended sessions stay ended)\n", uid)
		}
		return nil
	}
	n, err := svc.EndUserSessions(ctx, uid)
	if err != nil {
		return adminErr(err)
	}
	fmt.Fprintf(e.stdout, "ended %d session(s) of user %s; serving instances refuse their tokens within ENDUSER_REVOCATION_SYNC_INTERVAL\n", n, uid)
	return nil
}

// cmdUserDelete is `enduser user delete UID [--now]`: the account is erased
// after the cooling-off (ENDUSER_DELETION_COOLING_OFF), as a type 2 request,
// or with --now at once (and announced to the serving instances' listeners
// by their outbox dispatcher).
func cmdUserDelete(ctx context.Context, pos []string, e env, dbURL string, now bool) error {
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return usageErr("user delete takes exactly one UID (and optionally --now)")
	}
	a, err := adminApp(ctx, e, dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	d, err := a.module.Operators.DeleteUser(ctx, pos[0], now)
	if err != nil {
		return adminErr(err)
	}
	switch {
	case d.Erased:
		fmt.Fprintf(e.stdout, "user %s erased; its sessions ended; other modules are told by the serving instances\n", d.UID)
	case !d.DueAt.After(time.Now()):
		fmt.Fprintf(e.stdout, "user %s is due for erasure now; its sessions ended; the erasure job of a serving instance erases it\n", d.UID)
	default:
		fmt.Fprintf(e.stdout, "user %s will be erased at %s unless the person logs in before; its sessions ended\n", d.UID, d.DueAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// cmdUserExport is `enduser user export UID`: it prints one JSON document
// with everything the module holds about the user (application.UserExport;
// docs/user-data.md: Exporting a user). An unknown uid is a one-line error.
func cmdUserExport(ctx context.Context, pos []string, e env, dbURL string) error {
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return usageErr("user export takes exactly one UID")
	}
	a, err := adminApp(ctx, e, dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	x, err := a.module.Operators.ExportUser(ctx, pos[0])
	if err != nil {
		return adminErr(err)
	}
	return writeExport(e, x)
}

// writeExport prints x indented, as one document.
func writeExport(e env, x application.UserExport) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonformat.Export(x))
}
