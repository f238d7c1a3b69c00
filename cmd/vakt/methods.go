package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/securityinfo"
)

func oathCmd() *cobra.Command {
	c := groupCommand("oath", "Hardware OATH tokens")
	imp := &cobra.Command{Use: "import --tenant T FILE.csv",
		Short: "Import hardware tokens (CSV header: upn,serial number,secret key,time interval,manufacturer,model)", Args: cobra.ExactArgs(1)}
	tenantFlag(imp)
	imp.Flags().Bool("continue-on-error", false, "import the good rows even if some rows are bad (default: a bad row imports nothing)")
	outputFlag(imp)
	dataCmd(imp, func(ctx context.Context, a *app.App, cmd *cobra.Command, args []string) error {
		t, format, err := tenantAndFormat(ctx, a, cmd)
		if err != nil {
			return err
		}
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		cont, _ := cmd.Flags().GetBool("continue-on-error")
		rep, err := a.SecurityInfo.ImportHardwareTokens(ctx, operator(), t.ID, f, cont)
		if err != nil {
			return err
		}
		if format == "json" {
			if err := writeJSON(cmd.OutOrStdout(), rep); err != nil {
				return err
			}
		} else {
			for _, e := range rep.Errors {
				fmt.Fprintln(cmd.ErrOrStderr(), e.String())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d of %d tokens (%d assigned to users)\n", rep.Imported, rep.Total, rep.Assigned)
		}
		if len(rep.Errors) > 0 {
			if rep.Imported == 0 && !cont {
				return apperr.Invalidf("%d of %d rows are invalid; nothing was imported (fix them, or use --continue-on-error)", len(rep.Errors), rep.Total)
			}
			return apperr.Invalidf("%d of %d rows were not imported", len(rep.Errors), rep.Total)
		}
		return nil
	})
	act := &cobra.Command{Use: "activate --tenant T --upn UPN --serial S --code C", Short: "Activate a hardware token for a user with a current code", Args: cobra.NoArgs}
	tenantFlag(act)
	act.Flags().String("upn", "", "the user")
	act.Flags().String("serial", "", "the token's serial number")
	act.Flags().String("code", "", "the code the token shows now")
	for _, f := range []string{"upn", "serial", "code"} {
		_ = act.MarkFlagRequired(f)
	}
	dataCmd(act, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		u, t, err := findUser(ctx, a, cmd)
		if err != nil {
			return err
		}
		serial, _ := cmd.Flags().GetString("serial")
		code, _ := cmd.Flags().GetString("code")
		m, err := a.SecurityInfo.ActivateHardwareToken(ctx, operator(), t.ID, u.ID, serial, code)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "token %s is active for %s\n", m.Props.Serial, u.UPN)
		return nil
	})
	c.AddCommand(imp, act)
	return c
}

func tapCmd() *cobra.Command {
	c := groupCommand("tap", "Temporary Access Passes")
	issue := &cobra.Command{Use: "issue --tenant T --upn UPN [--lifetime 60m] [--once]", Short: "Issue a Temporary Access Pass; prints it once", Args: cobra.NoArgs}
	tenantFlag(issue)
	issue.Flags().String("upn", "", "the user")
	issue.Flags().Duration("lifetime", 0, "how long the pass is valid (default: the policy's default lifetime)")
	issue.Flags().Bool("once", false, "the pass works for one sign-in only")
	issue.Flags().String("start", "", "when the pass becomes valid, RFC 3339 (default: now)")
	_ = issue.MarkFlagRequired("upn")
	outputFlag(issue)
	dataCmd(issue, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		format, err := outputFormat(cmd)
		if err != nil {
			return err
		}
		u, t, err := findUser(ctx, a, cmd)
		if err != nil {
			return err
		}
		req := securityinfo.TAPRequest{}
		if life, _ := cmd.Flags().GetDuration("lifetime"); life != 0 {
			if life%time.Minute != 0 || life < 0 {
				return apperr.Invalidf("--lifetime must be whole minutes, such as 60m or 8h")
			}
			req.LifetimeMinutes = int(life / time.Minute)
		}
		if cmd.Flags().Changed("once") {
			once, _ := cmd.Flags().GetBool("once")
			req.UsableOnce = &once
		}
		if s, _ := cmd.Flags().GetString("start"); s != "" {
			st, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return apperr.Invalidf("--start must be a time such as 2026-12-01T08:00:00Z")
			}
			req.StartsAt = &st
		}
		m, pass, err := a.SecurityInfo.IssueTAP(ctx, operator(), t.ID, u.ID, req)
		if err != nil {
			return err
		}
		until := m.Props.StartsAt.Add(time.Duration(m.Props.LifetimeMinutes) * time.Minute)
		if format == "json" {
			return writeJSON(cmd.OutOrStdout(), map[string]any{"temporaryAccessPass": pass, "startDateTime": m.Props.StartsAt,
				"lifetimeInMinutes": m.Props.LifetimeMinutes, "isUsableOnce": m.Props.UsableOnce, "userPrincipalName": u.UPN})
		}
		fmt.Fprintln(cmd.OutOrStdout(), pass)
		fmt.Fprintf(cmd.ErrOrStderr(), "valid for %s from %s until %s%s; it is shown only now\n", u.UPN,
			m.Props.StartsAt.Format(time.RFC3339), until.Format(time.RFC3339), map[bool]string{true: ", for one sign-in", false: ""}[m.Props.UsableOnce])
		return nil
	})
	c.AddCommand(issue)
	return c
}

func userMethodsCmd() *cobra.Command {
	c := &cobra.Command{Use: "methods --tenant T --upn UPN", Short: "List a user's authentication methods", Args: cobra.NoArgs}
	tenantFlag(c)
	c.Flags().String("upn", "", "the user")
	_ = c.MarkFlagRequired("upn")
	outputFlag(c)
	return dataCmd(c, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		format, err := outputFormat(cmd)
		if err != nil {
			return err
		}
		u, t, err := findUser(ctx, a, cmd)
		if err != nil {
			return err
		}
		ms, err := a.SecurityInfo.Methods(ctx, t.ID, u.ID)
		if err != nil {
			return err
		}
		out := make([]map[string]any, len(ms))
		rows := make([][]string, len(ms))
		for i, m := range ms {
			detail := m.DisplayName
			switch {
			case m.Props.PhoneNumber != "":
				detail = m.Props.PhoneType + " " + securityinfo.DisplayPhone(m.Props.PhoneNumber)
			case m.Props.Email != "":
				detail = m.Props.Email
			case m.Props.Serial != "":
				detail = m.DisplayName + " (" + m.Props.Serial + ")"
			}
			out[i] = map[string]any{"id": m.ID, "kind": m.Kind, "state": m.State, "isDefault": m.IsDefault, "detail": detail,
				"createdDateTime": m.CreatedAt}
			def := ""
			if m.IsDefault {
				def = "default"
			}
			rows[i] = []string{m.ID, m.Kind, detail, def}
		}
		if format == "json" {
			return writeJSON(cmd.OutOrStdout(), out)
		}
		return table(cmd.OutOrStdout(), []string{"ID", "KIND", "DETAIL", ""}, rows)
	})
}

func securityQuestionsCmd() *cobra.Command {
	c := &cobra.Command{Use: "security-questions --tenant T [--file F]",
		Short: "Show the tenant's security questions, or replace them from a JSON file",
		Long: `Without --file, print the tenant's security-questions setting as JSON. With --file,
replace it. The file looks like:

  {"required": 3, "useBuiltIn": true,
   "custom": [{"id": "first-car", "en": "What was your first car?", "sv": "Vilken var din första bil?"}]}`,
		Args: cobra.NoArgs}
	tenantFlag(c)
	c.Flags().String("file", "", "JSON file with the new setting ('-' for stdin)")
	return dataCmd(c, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, err := resolveTenant(ctx, a, cmd)
		if err != nil {
			return err
		}
		if f, _ := cmd.Flags().GetString("file"); f != "" {
			var raw []byte
			if f == "-" {
				raw, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
			} else {
				raw, err = os.ReadFile(f)
			}
			if err != nil {
				return err
			}
			var qc securityinfo.QuestionsConfig
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&qc); err != nil {
				return apperr.Invalidf("%s: %v", f, err)
			}
			if err := a.SecurityInfo.SetQuestionsConfig(ctx, operator(), t.ID, qc); err != nil {
				return err
			}
		}
		qc, err := a.SecurityInfo.QuestionsConfigFor(ctx, t.ID)
		if err != nil {
			return err
		}
		return writeJSON(cmd.OutOrStdout(), qc)
	})
}
