package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotplatform/enduser-auth/adapters/postgres"
	"github.com/iotplatform/enduser-auth/adapters/secretbox"
)

// newKeysCmd is `enduser keys rotate|rotate-master|revoke KID`.
func newKeysCmd(e env) *cobra.Command {
	rotate := newLeaf("rotate", "Publish a new access-token signing key")
	rotate.Long = `Publish a new access-token signing key: it is in the JWKS at once and signs after
ENDUSER_SIGNING_KEY_PUBLISH_DELAY; older keys verify until their last tokens expire.`
	rotateDBURL := databaseURLFlag(rotate)
	rotate.RunE = func(cmd *cobra.Command, _ []string) error {
		return cmdKeysRotate(cmd.Context(), e, *rotateDBURL)
	}
	master := newLeaf("rotate-master", "Re-encrypt every secret under the first key of ENDUSER_MASTER_KEY")
	master.Long = `Re-encrypt every stored secret under the first key of ENDUSER_MASTER_KEY (a
comma-separated list: the first encrypts, all decrypt), then count the values
still under another key.`
	masterDBURL := databaseURLFlag(master)
	batch := master.Flags().Int("batch", postgres.DefaultReencryptBatch, "rows read and rewritten per statement (1..10000)")
	master.RunE = func(cmd *cobra.Command, pos []string) error {
		return cmdKeysRotateMaster(cmd.Context(), pos, e, *masterDBURL, *batch)
	}
	revoke := newLeaf("revoke KID", "Remove a signing key at once (compromised)")
	revoke.Long = `Remove a signing key at once (compromised): it leaves the JWKS and its tokens are
refused; when it signed, a new key signs at once.`
	revokeDBURL := databaseURLFlag(revoke)
	revoke.RunE = func(cmd *cobra.Command, pos []string) error {
		return cmdKeysRevoke(cmd.Context(), pos, e, *revokeDBURL)
	}
	return newGroup("keys", "Rotate or revoke the signing keys, rotate the master key",
		"keys rotate|rotate-master|revoke KID", rotate, master, revoke)
}

func cmdKeysRotate(ctx context.Context, e env, dbURL string) error {
	a, err := adminApp(ctx, e, dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	kid, err := a.module.Operators.RotateSigningKey(ctx)
	if err != nil {
		return adminErr(err)
	}
	fmt.Fprintf(e.stdout, "new signing key %s is published now and signs from %s; older keys verify until their last tokens expire\n",
		kid, time.Now().Add(a.cfg.publishDelay()).UTC().Format(time.RFC3339))
	return nil
}

// cmdKeysRotateMaster is `enduser keys rotate-master [--batch N]`: it seals
// every stored secret again under the first key of ENDUSER_MASTER_KEY, then
// counts, per column, the values still under another key.
func cmdKeysRotateMaster(ctx context.Context, pos []string, e env, dbURL string, batch int) error {
	if len(pos) != 0 || batch <= 0 || batch > 10000 {
		return usageErr("keys rotate-master [--batch N] (1..10000) takes no arguments")
	}
	a, err := adminApp(ctx, e, dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	primary := secretbox.KeyID(a.cfg.MasterKey)
	if a.cfg.MasterKey == nil {
		primary = secretbox.KeyID(devMasterKey)
	}
	fmt.Fprintf(e.stdout, "re-encrypting every secret under master key %s (the first of ENDUSER_MASTER_KEY)\n", primary)
	res, err := a.module.Operators.ReencryptSecrets(ctx, batch, nil)
	for _, p := range res {
		fmt.Fprintf(e.stdout, "  %s: %d re-encrypted, %d changed or deleted meanwhile by another writer (its value kept)\n", p.Column, p.Rewritten, p.Skipped)
	}
	if err != nil {
		return err
	}
	left, err := a.module.Operators.SecretsNotUnderPrimary(ctx)
	if err != nil {
		return err
	}
	var total int64
	for _, col := range postgres.SealedColumnNames() {
		if left[col] != 0 {
			fmt.Fprintf(e.stdout, "  %s: %d value(s) still under another key\n", col, left[col])
		}
		total += left[col]
	}
	if total != 0 {
		return fmt.Errorf("%d value(s) are still sealed under another master key (written meanwhile by an instance that does not have %s first in ENDUSER_MASTER_KEY?): "+
			"give every instance the new list, then run keys rotate-master again; keep the old key until it reports none", total, primary)
	}
	if len(a.cfg.OlderMasterKeys) == 0 {
		fmt.Fprintf(e.stdout, "every secret is sealed under master key %s\n", primary)
		return nil
	}
	fmt.Fprintf(e.stdout, "every secret is sealed under master key %s: the old key(s) can be removed from ENDUSER_MASTER_KEY (restart every instance with %s alone)\n",
		primary, primary)
	return nil
}

// cmdKeysRevoke is `enduser keys revoke KID`.
func cmdKeysRevoke(ctx context.Context, pos []string, e env, dbURL string) error {
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return usageErr("keys revoke takes exactly one KID (the kid header of the tokens, as listed in the JWKS)")
	}
	a, err := adminApp(ctx, e, dbURL)
	if err != nil {
		return err
	}
	defer a.Close()
	signer, err := a.module.Operators.RevokeSigningKey(ctx, pos[0])
	if err != nil {
		return adminErr(err)
	}
	fmt.Fprintf(e.stdout, "signing key %s revoked: it left the JWKS and serving instances refuse its tokens within ENDUSER_REVOCATION_SYNC_INTERVAL; key %s signs now\n",
		strings.TrimSpace(pos[0]), signer)
	return nil
}
