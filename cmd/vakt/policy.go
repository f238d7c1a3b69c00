package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/authpolicy"
	"github.com/vakt-id/vakt/internal/capolicy"
	"github.com/vakt-id/vakt/internal/policy/ca/geoip"
	"github.com/vakt-id/vakt/internal/store"
)

func policyCmd() *cobra.Command {
	c := groupCommand("policy", "Sign-in policy: security defaults, the authentication methods policy and conditional access")

	sd := &cobra.Command{Use: "security-defaults --tenant T [--enable | --disable --reason TEXT]",
		Short: "Show security defaults, or turn them on or off (turning them off needs a reason, kept in the audit log)", Args: cobra.NoArgs}
	tenantFlag(sd)
	sd.Flags().Bool("enable", false, "turn security defaults on")
	sd.Flags().Bool("disable", false, "turn security defaults off (requires --reason)")
	sd.Flags().String("reason", "", "why security defaults are turned off; kept in the audit log")
	sd.MarkFlagsMutuallyExclusive("enable", "disable")
	outputFlag(sd)
	dataCmd(sd, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, format, err := tenantAndFormat(ctx, a, cmd)
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
		t, format, err := tenantAndFormat(ctx, a, cmd)
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
	c.AddCommand(caCommands()...)
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

// ---- Conditional access ----

// caCommands are the conditional access subcommands of `vakt policy`:
// list, templates, create, whatif and replay.
func caCommands() []*cobra.Command {
	list := &cobra.Command{Use: "list --tenant T [--output json]",
		Short: "List the conditional access policies (JSON: the Graph conditionalAccessPolicy objects)", Args: cobra.NoArgs}
	tenantFlag(list)
	outputFlag(list)
	dataCmd(list, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, format, err := tenantAndFormat(ctx, a, cmd)
		if err != nil {
			return err
		}
		ps, err := a.ConditionalAccess.AllPolicies(ctx, t.ID)
		if err != nil {
			return err
		}
		docs := make([]map[string]any, len(ps))
		for i, p := range ps {
			if docs[i], err = capolicy.Render(p.Doc, true); err != nil {
				return err
			}
		}
		if format == "json" {
			return writeJSON(cmd.OutOrStdout(), docs)
		}
		rows := make([][]string, len(ps))
		for i, p := range ps {
			rows[i] = []string{p.ID, stateName(p.State), p.DisplayName, p.ModifiedAt.UTC().Format(time.RFC3339)}
		}
		return table(cmd.OutOrStdout(), []string{"ID", "STATE", "NAME", "MODIFIED"}, rows)
	})

	templates := &cobra.Command{Use: "templates [--output json]",
		Short: "List the conditional access policy templates", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			ts, err := capolicy.Templates()
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), ts)
			}
			rows := make([][]string, len(ts))
			for i, t := range ts {
				rows[i] = []string{t.ID, t.Name}
			}
			return table(cmd.OutOrStdout(), []string{"ID", "NAME"}, rows)
		}}
	outputFlag(templates)

	create := &cobra.Command{Use: "create --tenant T (--template ID|NAME [--display-name N] | --file POLICY.json) [--output json]",
		Short: "Create a conditional access policy from a template (report-only) or from a Graph JSON body; prints its id", Args: cobra.NoArgs}
	tenantFlag(create)
	create.Flags().String("template", "", "template id or name (see 'vakt policy templates'); the policy is created report-only")
	create.Flags().String("display-name", "", "the new policy's name (default: the template's)")
	create.Flags().String("file", "", "a conditionalAccessPolicy JSON body, as POSTed to the admin API (- for standard input)")
	create.MarkFlagsMutuallyExclusive("template", "file")
	create.MarkFlagsMutuallyExclusive("file", "display-name")
	outputFlag(create)
	dataCmd(create, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, format, err := tenantAndFormat(ctx, a, cmd)
		if err != nil {
			return err
		}
		var p store.CAPolicy
		file, _ := cmd.Flags().GetString("file")
		ref, _ := cmd.Flags().GetString("template")
		if file == "" && ref == "" {
			return usagef("give --template or --file")
		}
		if file != "" {
			body, err := readPolicyFile(cmd, file)
			if err != nil {
				return err
			}
			p, err = a.ConditionalAccess.CreatePolicy(ctx, operator(), t.ID, body)
			if err != nil {
				return err
			}
		} else {
			name, _ := cmd.Flags().GetString("display-name")
			if cmd.Flags().Changed("display-name") && strings.TrimSpace(name) == "" {
				return usagef("--display-name must not be empty")
			}
			p, err = a.ConditionalAccess.CreateFromTemplate(ctx, operator(), t.ID, ref, name)
			if err != nil {
				return err
			}
		}
		if format == "json" {
			doc, err := capolicy.Render(p.Doc, true)
			if err != nil {
				return err
			}
			return writeJSON(cmd.OutOrStdout(), doc)
		}
		fmt.Fprintln(cmd.OutOrStdout(), p.ID)
		return nil
	})

	whatif := &cobra.Command{Use: "whatif --tenant T --upn U [--app ID | --admin-portal] [--ip A] [--country CC] [--client-app-type C] [--platform P] [--sign-in-risk L] [--output json]",
		Short: "Evaluate a hypothetical sign-in against the conditional access policies: which apply and why", Args: cobra.NoArgs}
	tenantFlag(whatif)
	whatif.Flags().String("upn", "", "the user's userPrincipalName or id (required)")
	_ = whatif.MarkFlagRequired("upn")
	whatif.Flags().String("app", "", "the application id signed in to (default: vakt's own pages)")
	whatif.Flags().Bool("admin-portal", false, "the sign-in is for vakt's admin tools (MicrosoftAdminPortals)")
	whatif.MarkFlagsMutuallyExclusive("app", "admin-portal")
	whatif.Flags().String("ip", "", "the client's IP address")
	whatif.Flags().String("country", "", "ISO 3166 country code (default: looked up from --ip with the GeoIP database)")
	whatif.Flags().String("client-app-type", "browser", "browser, mobileAppsAndDesktopClients, exchangeActiveSync or other")
	whatif.Flags().String("platform", "", "device platform: android, iOS, windows, windowsPhone, macOS or linux")
	whatif.Flags().Bool("device-compliant", false, "the device is compliant")
	whatif.Flags().String("trust-type", "", "device trust type: AzureAD, ServerAD or Workplace")
	whatif.Flags().String("sign-in-risk", "none", "sign-in risk: none, low, medium or high")
	whatif.Flags().String("user-risk", "none", "user risk: none, low, medium or high")
	whatif.Flags().String("user-action", "", "user action: urn:user:registersecurityinfo or urn:user:registerdevice")
	outputFlag(whatif)
	dataCmd(whatif, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, format, err := tenantAndFormat(ctx, a, cmd)
		if err != nil {
			return err
		}
		closeGeo, err := useGeoIP(a)
		if err != nil {
			return err
		}
		defer closeGeo()
		f := cmd.Flags()
		get := func(name string) string { v, _ := f.GetString(name); return v }
		r := capolicy.WhatIfRequest{User: get("upn"), AppID: get("app"), IPAddress: get("ip"), Country: get("country"),
			ClientAppType: get("client-app-type"), Platform: get("platform"), DeviceTrustType: get("trust-type"),
			SignInRiskLevel: get("sign-in-risk"), UserRiskLevel: get("user-risk"), UserAction: get("user-action")}
		r.AdminPortal, _ = f.GetBool("admin-portal")
		r.DeviceCompliant, _ = f.GetBool("device-compliant")
		res, err := a.ConditionalAccess.WhatIf(ctx, t.ID, r)
		if err != nil {
			return err
		}
		if format == "json" {
			return writeJSON(cmd.OutOrStdout(), res)
		}
		w := cmd.OutOrStdout()
		d := res.Decision
		fmt.Fprintf(w, "decision: %s — %s\n", d.Outcome, d.Reason)
		if len(d.SessionControls) > 0 {
			fmt.Fprintf(w, "session controls: %s\n", strings.Join(d.SessionControls, ", "))
		}
		fmt.Fprintln(w)
		rows := make([][]string, len(res.Policies))
		for i, p := range res.Policies {
			rows[i] = []string{p.DisplayName, stateName(p.State), p.Result, p.Reason}
		}
		return table(w, []string{"POLICY", "STATE", "RESULT", "WHY"}, rows)
	})

	replay := &cobra.Command{Use: "replay --tenant T --policy ID|NAME [--days N] [--output json]",
		Short: "Replay a policy, as if it were on, against the sign-in log of the last days", Args: cobra.NoArgs}
	tenantFlag(replay)
	replay.Flags().String("policy", "", "the policy's id or display name (required)")
	_ = replay.MarkFlagRequired("policy")
	replay.Flags().Int("days", capolicy.ReplayDefaultDays, fmt.Sprintf("how many days of sign-ins to replay (1–%d)", capolicy.ReplayMaxDays))
	outputFlag(replay)
	dataCmd(replay, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		format, err := outputFormat(cmd)
		if err != nil {
			return err
		}
		days, _ := cmd.Flags().GetInt("days")
		if days < 1 || days > capolicy.ReplayMaxDays {
			return apperr.Invalidf("--days must be between 1 and %d.", capolicy.ReplayMaxDays)
		}
		t, err := resolveTenant(ctx, a, cmd)
		if err != nil {
			return err
		}
		ref, _ := cmd.Flags().GetString("policy")
		id, err := findCAPolicy(ctx, a, t.ID, ref)
		if err != nil {
			return err
		}
		closeGeo, err := useGeoIP(a)
		if err != nil {
			return err
		}
		defer closeGeo()
		res, err := a.ConditionalAccess.Replay(ctx, t.ID, id, days)
		if err != nil {
			return err
		}
		if format == "json" {
			return writeJSON(cmd.OutOrStdout(), res)
		}
		w := cmd.OutOrStdout()
		s, u := res.SignIns, res.Users
		fmt.Fprintf(w, "policy '%s' (%s, %s), as if on, over the last %d days (%s to %s)\n", res.Policy.DisplayName, res.Policy.ID,
			stateName(res.Policy.State), res.Days, res.From.UTC().Format(time.RFC3339), res.To.UTC().Format(time.RFC3339))
		fmt.Fprintf(w, "sign-ins: %d — %d would be blocked, %d would require MFA, %d would require something else, %d would pass, %d not applied (%d skipped)\n",
			s.Total, s.WouldBlock, s.WouldRequireMFA, s.WouldRequireOther, s.WouldSucceed, s.NotApplied, s.Skipped)
		fmt.Fprintf(w, "users: %d — %d would be blocked, %d would be asked for MFA\n", u.Total, u.WouldBlock, u.WouldRequireMFA)
		if len(res.Sample) == 0 {
			return nil
		}
		fmt.Fprintln(w)
		rows := make([][]string, len(res.Sample))
		for i, e := range res.Sample {
			app := e.AppID
			if app == "" {
				app = "-"
			}
			ip := e.IPAddress
			if ip == "" {
				ip = "-"
			}
			rows[i] = []string{e.CreatedDateTime.UTC().Format(time.RFC3339), e.UserPrincipalName, app, ip, e.Result}
		}
		return table(w, []string{"TIME", "USER", "APP", "IP", "RESULT"}, rows)
	})
	return []*cobra.Command{list, templates, create, whatif, replay}
}

// stateName shows a policy state for people.
func stateName(s string) string {
	if s == capolicy.StateReportOnly {
		return "report-only"
	}
	return s
}

// findCAPolicy resolves a policy id or a unique display name.
func findCAPolicy(ctx context.Context, a *app.App, tenantID, ref string) (string, error) {
	ps, err := a.ConditionalAccess.AllPolicies(ctx, tenantID)
	if err != nil {
		return "", err
	}
	var byName []string
	for _, p := range ps {
		if strings.EqualFold(p.ID, ref) {
			return p.ID, nil
		}
		if strings.EqualFold(p.DisplayName, ref) {
			byName = append(byName, p.ID)
		}
	}
	switch len(byName) {
	case 0:
		return "", apperr.NotFoundf("No conditional access policy %q.", ref)
	case 1:
		return byName[0], nil
	}
	return "", apperr.Invalidf("More than one conditional access policy is named %q; use its id.", ref)
}

// readPolicyFile reads a policy body from a file or standard input.
func readPolicyFile(cmd *cobra.Command, name string) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read policy file: %w", err)
	}
	return b, nil
}

// useGeoIP gives conditional access the configured GeoIP database for
// country lookups; the returned function closes it.
func useGeoIP(a *app.App) (func(), error) {
	if a.Config.GeoIPDatabase == "" {
		return func() {}, nil
	}
	geo, err := geoip.Open(a.Config.GeoIPDatabase)
	if err != nil {
		return nil, fmt.Errorf("geoipDatabase: %w", err)
	}
	a.ConditionalAccess.Country = geo
	return func() { geo.Close() }, nil
}
