package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/radius"
)

func radiusCmd() *cobra.Command {
	c := groupCommand("radius", "RADIUS server settings")
	clients := groupCommand("client", "RADIUS clients (VPN gateways) allowed to ask vakt")

	add := &cobra.Command{Use: "add --tenant T --address CIDR --secret-file F [--name N]",
		Short: "Allow a RADIUS client: its address range, shared secret and tenant", Args: cobra.NoArgs}
	tenantFlag(add)
	add.Flags().String("address", "", "the client's address or range, e.g. 192.0.2.10 or 192.0.2.0/28")
	add.Flags().String("secret-file", "", "file holding the shared secret ('-' for stdin), 16 to 128 printable characters")
	add.Flags().String("name", "", "a name for the client (default: the address range)")
	_ = add.MarkFlagRequired("address")
	_ = add.MarkFlagRequired("secret-file")
	dataCmd(add, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, err := resolveTenant(ctx, a, cmd)
		if err != nil {
			return err
		}
		addr, _ := cmd.Flags().GetString("address")
		name, _ := cmd.Flags().GetString("name")
		file, _ := cmd.Flags().GetString("secret-file")
		sec, err := readSecretFile(cmd, file)
		if err != nil {
			return err
		}
		rc, err := a.RADIUSClients().Add(ctx, operator(), t.ID, radius.NewClient{Name: name, Address: addr, Secret: sec})
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s\n", rc.ID, rc.Name, rc.Address)
		return nil
	})

	list := &cobra.Command{Use: "list --tenant T", Short: "List the tenant's RADIUS clients", Args: cobra.NoArgs}
	tenantFlag(list)
	outputFlag(list)
	dataCmd(list, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, format, err := tenantAndFormat(ctx, a, cmd)
		if err != nil {
			return err
		}
		cs, err := a.RADIUSClients().List(ctx, operator(), t.ID)
		if err != nil {
			return err
		}
		if format == "json" {
			out := make([]map[string]any, len(cs))
			for i, c := range cs {
				out[i] = map[string]any{"id": c.ID, "name": c.Name, "address": c.Address, "createdDateTime": c.CreatedAt.Format(time.RFC3339)}
			}
			return writeJSON(cmd.OutOrStdout(), out)
		}
		rows := make([][]string, len(cs))
		for i, c := range cs {
			rows[i] = []string{c.ID, c.Name, c.Address, c.CreatedAt.Format(time.RFC3339)}
		}
		return table(cmd.OutOrStdout(), []string{"ID", "NAME", "ADDRESS", "CREATED"}, rows)
	})

	remove := &cobra.Command{Use: "remove --tenant T (ID | NAME | ADDRESS)", Short: "Remove a RADIUS client, named by its id, name or address range",
		Args: cobra.ExactArgs(1)}
	tenantFlag(remove)
	dataCmd(remove, func(ctx context.Context, a *app.App, cmd *cobra.Command, args []string) error {
		t, err := resolveTenant(ctx, a, cmd)
		if err != nil {
			return err
		}
		rc, err := a.RADIUSClients().Remove(ctx, operator(), t.ID, strings.TrimSpace(args[0]))
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "removed RADIUS client %s (%s)\n", rc.Name, rc.Address)
		return nil
	})
	clients.AddCommand(add, list, remove)
	c.AddCommand(clients)
	return c
}
