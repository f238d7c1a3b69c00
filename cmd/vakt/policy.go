package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/authpolicy"
)

func policyCmd() *cobra.Command {
	c := groupCommand("policy", "Sign-in policy: security defaults and the authentication methods policy")

	sd := &cobra.Command{Use: "security-defaults --tenant T [--enable | --disable --reason TEXT]",
		Short: "Show security defaults, or turn them on or off (turning them off needs a reason, kept in the audit log)", Args: cobra.NoArgs}
	tenantFlag(sd)
	sd.Flags().Bool("enable", false, "turn security defaults on")
	sd.Flags().Bool("disable", false, "turn security defaults off (requires --reason)")
	sd.Flags().String("reason", "", "why security defaults are turned off; kept in the audit log")
	sd.MarkFlagsMutuallyExclusive("enable", "disable")
	outputFlag(sd)
	dataCmd(sd, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		format, err := outputFormat(cmd)
		if err != nil {
			return err
		}
		t, err := resolveTenant(ctx, a, cmd)
		if err != nil {
			return err
		}
		enable, _ := cmd.Flags().GetBool("enable")
		disable, _ := cmd.Flags().GetBool("disable")
		reason, _ := cmd.Flags().GetString("reason")
		if enable || disable {
			if err := a.Policies.SetSecurityDefaults(ctx, operator(), t.ID, enable, reason, true); err != nil {
				return err
			}
		} else if cmd.Flags().Changed("reason") {
			return usagef("--reason goes with --enable or --disable")
		}
		s, err := a.Policies.SecurityDefaults(ctx, t.ID)
		if err != nil {
			return err
		}
		if format == "json" {
			out := map[string]any{"isEnabled": s.Enabled, "enabledDateTime": s.EnabledAt.UTC().Format(time.RFC3339)}
			if !s.ModifiedAt.IsZero() {
				out["modifiedDateTime"] = s.ModifiedAt.UTC().Format(time.RFC3339)
			}
			return writeJSON(cmd.OutOrStdout(), out)
		}
		if s.Enabled {
			fmt.Fprintf(cmd.OutOrStdout(), "security defaults: enabled (since %s)\n", s.EnabledAt.UTC().Format(time.RFC3339))
		} else {
			fmt.Fprintf(cmd.OutOrStdout(), "security defaults: disabled (since %s)\n", s.ModifiedAt.UTC().Format(time.RFC3339))
		}
		return nil
	})

	methods := &cobra.Command{Use: "methods --tenant T [--output json]",
		Short: "Show the authentication methods policy (JSON: the Graph authenticationMethodsPolicy, beta shape)", Args: cobra.NoArgs}
	tenantFlag(methods)
	outputFlag(methods)
	dataCmd(methods, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		format, err := outputFormat(cmd)
		if err != nil {
			return err
		}
		t, err := resolveTenant(ctx, a, cmd)
		if err != nil {
			return err
		}
		p, err := a.Policies.Load(ctx, t.ID)
		if err != nil {
			return err
		}
		if format == "json" {
			return writeJSON(cmd.OutOrStdout(), p)
		}
		name := targetNamer(ctx, a, t.ID)
		var rows [][]string
		for _, mc := range p.Methods.All() {
			inc, exc := mc.Targets()
			state := authpolicy.StateDisabled
			if mc.Enabled() {
				state = authpolicy.StateEnabled
			}
			rows = append(rows, []string{mc.ConfigID(), state, names(name, inc), names(name, exc)})
		}
		if err := table(cmd.OutOrStdout(), []string{"METHOD", "STATE", "INCLUDE", "EXCLUDE"}, rows); err != nil {
			return err
		}
		rc := p.RegistrationEnforcement.AuthenticationMethodsRegistrationCampaign
		var rcInc []authpolicy.Target
		for _, it := range rc.IncludeTargets {
			rcInc = append(rcInc, authpolicy.Target{ID: it.ID, TargetType: it.TargetType})
		}
		sc := p.SystemCredentialPreferences
		w := cmd.OutOrStdout()
		fmt.Fprintln(w)
		fmt.Fprintf(w, "registration campaign: %s, snooze %d days, include %s, exclude %s\n", rc.State, rc.SnoozeDurationInDays,
			names(name, rcInc), names(name, rc.ExcludeTargets))
		fmt.Fprintf(w, "system-preferred MFA: %s, include %s, exclude %s\n", sc.State, names(name, sc.IncludeTargets), names(name, sc.ExcludeTargets))
		tap := p.Methods.TemporaryAccessPass
		fmt.Fprintf(w, "temporary access pass: %d minutes by default (%d–%d), %d characters, one-time %v\n",
			tap.DefaultLifetimeInMinutes, tap.MinimumLifetimeInMinutes, tap.MaximumLifetimeInMinutes, tap.DefaultLength, tap.IsUsableOnce)
		fmt.Fprintf(w, "last modified: %s\n", p.LastModifiedDateTime.UTC().Format(time.RFC3339))
		return nil
	})

	c.AddCommand(sd, methods)
	return c
}

// targetNamer names a target for people: all users, a group's display
// name, a user's UPN (the id when the object is gone).
func targetNamer(ctx context.Context, a *app.App, tenantID string) func(authpolicy.Target) string {
	return func(t authpolicy.Target) string {
		switch {
		case t.TargetType == authpolicy.TargetGroup && t.ID == authpolicy.AllUsers:
			return "all users"
		case t.TargetType == authpolicy.TargetGroup:
			if g, err := a.Store.GetGroup(ctx, tenantID, t.ID); err == nil {
				return "group " + g.DisplayName
			}
		case t.TargetType == authpolicy.TargetUser:
			if u, err := a.Store.GetUser(ctx, tenantID, t.ID); err == nil {
				return "user " + u.UPN
			}
		}
		return t.TargetType + " " + t.ID
	}
}

func names(name func(authpolicy.Target) string, ts []authpolicy.Target) string {
	if len(ts) == 0 {
		return "-"
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = name(t)
	}
	return strings.Join(out, ", ")
}
