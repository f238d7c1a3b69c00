package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vakt-id/vakt/internal/app"
)

// rotateSigningCmd is `vakt key rotate-signing`: a new token signing key
// for a tenant. A running server publishes it in the tenant's JWKS within
// seconds and signs with it within five minutes; the old key stays
// published so the tokens it signed keep verifying.
func rotateSigningCmd() *cobra.Command {
	c := &cobra.Command{Use: "rotate-signing --tenant T", Short: "Make a new token signing key for a tenant (ID, access and admin API tokens)", Args: cobra.NoArgs}
	tenantFlag(c)
	return dataCmd(c, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, err := resolveTenant(ctx, a, cmd)
		if err != nil {
			return err
		}
		kid, err := a.Admin.RotateSigningKey(ctx, operator(), t.ID, a.Tokens.Rotate)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "new signing key %s for tenant %s\n", kid, t.ID)
		return nil
	})
}
