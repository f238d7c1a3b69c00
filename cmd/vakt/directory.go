package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vakt-id/vakt/internal/admin"
	"github.com/vakt-id/vakt/internal/app"
	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/store"
	"github.com/vakt-id/vakt/internal/tokens"
)

func tenantCmd() *cobra.Command {
	c := groupCommand("tenant", "Manage tenants (organisations)")
	create := &cobra.Command{Use: "create --domain DOMAIN", Short: "Create a tenant; prints its id", Args: cobra.NoArgs}
	create.Flags().String("domain", "", "the organisation's domain")
	create.Flags().String("display-name", "", "the organisation's name")
	_ = create.MarkFlagRequired("domain")
	dataCmd(create, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		d, _ := cmd.Flags().GetString("domain")
		n, _ := cmd.Flags().GetString("display-name")
		t, err := a.Admin.CreateTenant(ctx, operator(), d, n)
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), t.ID)
		return nil
	})
	list := &cobra.Command{Use: "list", Short: "List tenants", Args: cobra.NoArgs}
	outputFlag(list)
	dataCmd(list, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		format, err := outputFormat(cmd)
		if err != nil {
			return err
		}
		ts, err := a.Store.ListTenants(ctx)
		if err != nil {
			return err
		}
		if format == "json" {
			out := make([]map[string]any, len(ts))
			for i, t := range ts {
				out[i] = map[string]any{"id": t.ID, "displayName": t.DisplayName, "domains": t.Domains, "createdDateTime": t.CreatedAt}
			}
			return writeJSON(cmd.OutOrStdout(), out)
		}
		rows := make([][]string, len(ts))
		for i, t := range ts {
			rows[i] = []string{t.ID, t.DisplayName, strings.Join(t.Domains, ",")}
		}
		return table(cmd.OutOrStdout(), []string{"ID", "NAME", "DOMAINS"}, rows)
	})
	banned := &cobra.Command{Use: "banned-passwords --tenant T --file F", Short: "Replace the tenant's custom banned-password list (one word a line)", Args: cobra.NoArgs}
	tenantFlag(banned)
	banned.Flags().String("file", "", "file with one banned word a line ('-' for stdin; an empty file clears the list)")
	_ = banned.MarkFlagRequired("file")
	dataCmd(banned, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, err := resolveTenant(ctx, a, cmd)
		if err != nil {
			return err
		}
		f, _ := cmd.Flags().GetString("file")
		words, err := readLines(cmd, f)
		if err != nil {
			return err
		}
		t, err = a.Admin.SetBannedPasswords(ctx, operator(), t.ID, words)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%d custom banned passwords\n", len(t.BannedPasswords))
		return nil
	})
	c.AddCommand(create, list, banned, securityQuestionsCmd())
	return c
}

func readLines(cmd *cobra.Command, name string) ([]string, error) {
	r := cmd.InOrStdin()
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

func userCmd() *cobra.Command {
	c := groupCommand("user", "Manage users")

	create := &cobra.Command{Use: "create --tenant T --upn UPN", Short: "Create a user; prints its id", Args: cobra.NoArgs}
	tenantFlag(create)
	create.Flags().String("upn", "", "user principal name (name@domain)")
	create.Flags().String("display-name", "", "display name (default: the UPN's name part)")
	create.Flags().String("password-file", "", "file holding the initial password ('-' for stdin); none = no password")
	create.Flags().String("mail", "", "email address")
	create.Flags().String("mobile-phone", "", "mobile phone")
	create.Flags().Bool("disabled", false, "create the account disabled")
	_ = create.MarkFlagRequired("upn")
	dataCmd(create, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, err := resolveTenant(ctx, a, cmd)
		if err != nil {
			return err
		}
		f := cmd.Flags()
		in := admin.NewUser{}
		in.UPN, _ = f.GetString("upn")
		in.DisplayName, _ = f.GetString("display-name")
		in.Mail, _ = f.GetString("mail")
		in.MobilePhone, _ = f.GetString("mobile-phone")
		disabled, _ := f.GetBool("disabled")
		enabled := !disabled
		in.AccountEnabled = &enabled
		if pf, _ := f.GetString("password-file"); pf != "" {
			if in.Password, err = readSecretFile(cmd, pf); err != nil {
				return err
			}
		}
		u, err := a.Admin.CreateUser(ctx, operator(), t.ID, in)
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), u.ID)
		return nil
	})

	list := &cobra.Command{Use: "list --tenant T", Short: "List users", Args: cobra.NoArgs}
	tenantFlag(list)
	outputFlag(list)
	dataCmd(list, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, format, err := tenantAndFormat(ctx, a, cmd)
		if err != nil {
			return err
		}
		users, err := store.All(store.ListQuery{Limit: 1000, OrderBy: "userPrincipalName"}, func(q store.ListQuery) (store.Page[store.User], error) {
			return a.Store.ListUsers(ctx, t.ID, q)
		})
		if err != nil {
			return err
		}
		if format == "json" {
			out := make([]map[string]any, len(users))
			for i, u := range users {
				out[i] = userOut(u)
			}
			return writeJSON(cmd.OutOrStdout(), out)
		}
		rows := make([][]string, len(users))
		for i, u := range users {
			rows[i] = []string{u.ID, u.UPN, u.DisplayName, strconv.FormatBool(u.AccountEnabled), string(u.PerUserMFA)}
		}
		return table(cmd.OutOrStdout(), []string{"ID", "UPN", "DISPLAY NAME", "ENABLED", "PER-USER MFA"}, rows)
	})

	show := &cobra.Command{Use: "show --tenant T --upn UPN", Short: "Show one user", Args: cobra.NoArgs}
	tenantFlag(show)
	show.Flags().String("upn", "", "user principal name or id")
	_ = show.MarkFlagRequired("upn")
	outputFlag(show)
	dataCmd(show, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		format, err := outputFormat(cmd)
		if err != nil {
			return err
		}
		u, t, err := findUser(ctx, a, cmd)
		if err != nil {
			return err
		}
		out := userOut(u)
		roles, err := a.Store.EffectiveRoleIDs(ctx, t.ID, u.ID)
		if err != nil {
			return err
		}
		names := []string{}
		for _, r := range roles {
			if role, ok := directory.RoleByID(r); ok {
				names = append(names, role.DisplayName)
			}
		}
		out["roles"] = names
		if format == "json" {
			return writeJSON(cmd.OutOrStdout(), out)
		}
		w := cmd.OutOrStdout()
		for _, k := range []string{"id", "userPrincipalName", "displayName", "mail", "mobilePhone", "accountEnabled", "perUserMfaState", "createdDateTime"} {
			fmt.Fprintf(w, "%-18s %v\n", k+":", out[k])
		}
		fmt.Fprintf(w, "%-18s %s\n", "roles:", strings.Join(names, ", "))
		return nil
	})

	setEnabled := func(use, short string, enabled bool) *cobra.Command {
		sc := &cobra.Command{Use: use + " --tenant T --upn UPN", Short: short, Args: cobra.NoArgs}
		tenantFlag(sc)
		sc.Flags().String("upn", "", "user principal name or id")
		_ = sc.MarkFlagRequired("upn")
		return dataCmd(sc, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
			u, t, err := findUser(ctx, a, cmd)
			if err != nil {
				return err
			}
			_, err = a.Admin.UpdateUser(ctx, operator(), t.ID, u.ID, admin.UserPatch{AccountEnabled: &enabled})
			return err
		})
	}

	del := &cobra.Command{Use: "delete --tenant T --upn UPN", Short: "Delete a user", Args: cobra.NoArgs}
	tenantFlag(del)
	del.Flags().String("upn", "", "user principal name or id")
	_ = del.MarkFlagRequired("upn")
	dataCmd(del, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		u, t, err := findUser(ctx, a, cmd)
		if err != nil {
			return err
		}
		return a.Admin.DeleteUser(ctx, operator(), t.ID, u.ID)
	})

	mfa := &cobra.Command{Use: "mfa --tenant T (--upn UPN | --file F) --state disabled|enabled|enforced", Short: "Set per-user MFA state", Args: cobra.NoArgs}
	tenantFlag(mfa)
	mfa.Flags().String("upn", "", "user principal name or id")
	mfa.Flags().String("file", "", "file with one UPN a line, for many users at once ('-' for stdin)")
	mfa.Flags().String("state", "", "disabled, enabled or enforced")
	_ = mfa.MarkFlagRequired("state")
	mfa.MarkFlagsMutuallyExclusive("upn", "file")
	mfa.MarkFlagsOneRequired("upn", "file")
	dataCmd(mfa, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, err := resolveTenant(ctx, a, cmd)
		if err != nil {
			return err
		}
		state, _ := cmd.Flags().GetString("state")
		if !store.PerUserMFAState(state).Valid() {
			return apperr.Invalidf("--state must be disabled, enabled or enforced, not %q", state)
		}
		var refs []string
		if upn, _ := cmd.Flags().GetString("upn"); upn != "" {
			refs = []string{upn}
		} else {
			f, _ := cmd.Flags().GetString("file")
			if refs, err = readLines(cmd, f); err != nil {
				return err
			}
		}
		changed, err := a.Admin.SetPerUserMFA(ctx, operator(), t.ID, refs, store.PerUserMFAState(state))
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%d of %d users changed to %s\n", len(changed), len(refs), state)
		if warning, err := a.Policies.PerUserMFAWarning(ctx, t.ID, store.PerUserMFAState(state)); err == nil && warning != "" {
			fmt.Fprintln(cmd.ErrOrStderr(), "vakt: warning: "+warning)
		}
		return nil
	})

	imp := &cobra.Command{Use: "import --tenant T FILE.csv", Short: "Create users in bulk from CSV (header: " + strings.Join(admin.ImportColumns, ",") + ")", Args: cobra.ExactArgs(1)}
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
		rows, parseErrs, err := admin.ParseUserCSV(f)
		if err != nil {
			return err
		}
		opt := admin.ImportOptions{}
		opt.ContinueOnError, _ = cmd.Flags().GetBool("continue-on-error")
		var bar *progressbar.ProgressBar
		if errFile, ok := cmd.ErrOrStderr().(*os.File); ok && term.IsTerminal(int(errFile.Fd())) {
			bar = progressbar.NewOptions(len(rows), progressbar.OptionSetWriter(errFile), progressbar.OptionSetDescription("checking users"),
				progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
			opt.Progress = func(done, _ int) { _ = bar.Set(done) }
		}
		rep, err := a.Admin.ImportUsers(ctx, operator(), t.ID, rows, parseErrs, opt)
		if bar != nil {
			_ = bar.Finish()
		}
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
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d of %d users\n", rep.Imported, rep.Total)
		}
		if len(rep.Errors) > 0 {
			if rep.Imported == 0 && !opt.ContinueOnError {
				return apperr.Invalidf("%d of %d rows are invalid; nothing was imported (fix them, or use --continue-on-error)", len(rep.Errors), rep.Total)
			}
			return apperr.Invalidf("%d of %d rows were not imported", len(rep.Errors), rep.Total)
		}
		return nil
	})

	revoke := &cobra.Command{Use: "revoke-sessions --tenant T --upn UPN", Short: "Sign a user out of every session", Args: cobra.NoArgs}
	tenantFlag(revoke)
	revoke.Flags().String("upn", "", "user principal name or id")
	_ = revoke.MarkFlagRequired("upn")
	dataCmd(revoke, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		u, t, err := findUser(ctx, a, cmd)
		if err != nil {
			return err
		}
		n, err := a.Admin.RevokeSessions(ctx, operator(), t.ID, u.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%d sessions of %s revoked\n", n, u.UPN)
		return nil
	})
	c.AddCommand(revoke)
	unlock := &cobra.Command{Use: "unlock --tenant T --upn UPN", Short: "Lift a user's sign-in lockout, including a hard lock", Args: cobra.NoArgs}
	tenantFlag(unlock)
	unlock.Flags().String("upn", "", "user principal name or id")
	_ = unlock.MarkFlagRequired("upn")
	dataCmd(unlock, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		u, t, err := findUser(ctx, a, cmd)
		if err != nil {
			return err
		}
		if err := a.SignIn.Unlock(ctx, operator(), t.ID, u); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s is unlocked\n", u.UPN)
		return nil
	})
	c.AddCommand(unlock)
	c.AddCommand(create, list, show, setEnabled("disable", "Disable a user's account", false),
		setEnabled("enable", "Enable a user's account", true), del, mfa, imp, userMethodsCmd())
	return c
}

func userOut(u store.User) map[string]any {
	return map[string]any{"id": u.ID, "userPrincipalName": u.UPN, "displayName": u.DisplayName, "mail": u.Mail,
		"mobilePhone": u.MobilePhone, "accountEnabled": u.AccountEnabled, "perUserMfaState": string(u.PerUserMFA),
		"createdDateTime": u.CreatedAt}
}

func findUser(ctx context.Context, a *app.App, cmd *cobra.Command) (store.User, store.Tenant, error) {
	t, err := resolveTenant(ctx, a, cmd)
	if err != nil {
		return store.User{}, t, err
	}
	ref, _ := cmd.Flags().GetString("upn")
	u, err := a.Admin.FindUser(ctx, t.ID, ref)
	return u, t, err
}

// findObject resolves a member or principal: a UPN, a user or group id,
// or a group's display name when it is unique.
func findObject(ctx context.Context, a *app.App, tenantID, ref string) (store.DirectoryObject, error) {
	if strings.Contains(ref, "@") {
		u, err := a.Admin.FindUser(ctx, tenantID, ref)
		if err != nil {
			return store.DirectoryObject{}, err
		}
		return store.DirectoryObject{ID: u.ID, Kind: store.KindUser, DisplayName: u.DisplayName, UPN: u.UPN}, nil
	}
	if o, err := a.Store.DirectoryObject(ctx, tenantID, ref); err == nil {
		return o, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return o, err
	}
	f := store.Filter{Op: store.FilterEq, Field: "displayName", Value: ref}
	p, err := a.Store.ListGroups(ctx, tenantID, store.ListQuery{Filter: &f, Limit: 2})
	if err != nil {
		return store.DirectoryObject{}, err
	}
	switch len(p.Items) {
	case 0:
		return store.DirectoryObject{}, apperr.NotFoundf("No user or group %q.", ref)
	case 1:
		g := p.Items[0]
		return store.DirectoryObject{ID: g.ID, Kind: store.KindGroup, DisplayName: g.DisplayName}, nil
	}
	return store.DirectoryObject{}, apperr.Invalidf("More than one group is named %q; use its id.", ref)
}

func groupCmd() *cobra.Command {
	c := groupCommand("group", "Manage groups and their members")
	create := &cobra.Command{Use: "create --tenant T --name NAME", Short: "Create a group; prints its id", Args: cobra.NoArgs}
	tenantFlag(create)
	create.Flags().String("name", "", "display name")
	create.Flags().String("description", "", "description")
	_ = create.MarkFlagRequired("name")
	dataCmd(create, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, err := resolveTenant(ctx, a, cmd)
		if err != nil {
			return err
		}
		n, _ := cmd.Flags().GetString("name")
		d, _ := cmd.Flags().GetString("description")
		g, err := a.Admin.CreateGroup(ctx, operator(), t.ID, admin.NewGroup{DisplayName: n, Description: d})
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), g.ID)
		return nil
	})
	list := &cobra.Command{Use: "list --tenant T", Short: "List groups", Args: cobra.NoArgs}
	tenantFlag(list)
	outputFlag(list)
	dataCmd(list, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, format, err := tenantAndFormat(ctx, a, cmd)
		if err != nil {
			return err
		}
		groups, err := store.All(store.ListQuery{Limit: 1000, OrderBy: "displayName"}, func(q store.ListQuery) (store.Page[store.Group], error) {
			return a.Store.ListGroups(ctx, t.ID, q)
		})
		if err != nil {
			return err
		}
		if format == "json" {
			out := make([]map[string]any, len(groups))
			for i, g := range groups {
				out[i] = map[string]any{"id": g.ID, "displayName": g.DisplayName, "description": g.Description, "createdDateTime": g.CreatedAt}
			}
			return writeJSON(cmd.OutOrStdout(), out)
		}
		rows := make([][]string, len(groups))
		for i, g := range groups {
			rows[i] = []string{g.ID, g.DisplayName, g.Description}
		}
		return table(cmd.OutOrStdout(), []string{"ID", "NAME", "DESCRIPTION"}, rows)
	})
	member := func(use, short string, add bool) *cobra.Command {
		mc := &cobra.Command{Use: use + " --tenant T --group G --member M", Short: short, Args: cobra.NoArgs}
		tenantFlag(mc)
		mc.Flags().String("group", "", "group id or unique name")
		mc.Flags().String("member", "", "member: a UPN, a user or group id, or a unique group name")
		_ = mc.MarkFlagRequired("group")
		_ = mc.MarkFlagRequired("member")
		return dataCmd(mc, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
			t, err := resolveTenant(ctx, a, cmd)
			if err != nil {
				return err
			}
			gref, _ := cmd.Flags().GetString("group")
			mref, _ := cmd.Flags().GetString("member")
			g, err := findObject(ctx, a, t.ID, gref)
			if err != nil {
				return err
			}
			if g.Kind != store.KindGroup {
				return apperr.Invalidf("%q is not a group.", gref)
			}
			m, err := findObject(ctx, a, t.ID, mref)
			if err != nil {
				return err
			}
			if add {
				return a.Admin.AddMember(ctx, operator(), t.ID, g.ID, m.ID)
			}
			return a.Admin.RemoveMember(ctx, operator(), t.ID, g.ID, m.ID)
		})
	}
	members := &cobra.Command{Use: "members --tenant T --group G", Short: "List a group's members", Args: cobra.NoArgs}
	tenantFlag(members)
	members.Flags().String("group", "", "group id or unique name")
	members.Flags().Bool("transitive", false, "include members of nested groups")
	_ = members.MarkFlagRequired("group")
	outputFlag(members)
	dataCmd(members, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, format, err := tenantAndFormat(ctx, a, cmd)
		if err != nil {
			return err
		}
		gref, _ := cmd.Flags().GetString("group")
		g, err := findObject(ctx, a, t.ID, gref)
		if err != nil {
			return err
		}
		var objs []store.DirectoryObject
		if tr, _ := cmd.Flags().GetBool("transitive"); tr {
			objs, err = a.Store.ListTransitiveMembers(ctx, t.ID, g.ID)
		} else {
			objs, err = a.Store.ListMembers(ctx, t.ID, g.ID)
		}
		if err != nil {
			return apperr.FromStore(err, "The group")
		}
		if format == "json" {
			out := make([]map[string]any, len(objs))
			for i, o := range objs {
				out[i] = map[string]any{"id": o.ID, "kind": o.Kind, "displayName": o.DisplayName, "userPrincipalName": o.UPN}
			}
			return writeJSON(cmd.OutOrStdout(), out)
		}
		rows := make([][]string, len(objs))
		for i, o := range objs {
			rows[i] = []string{o.ID, string(o.Kind), o.DisplayName, o.UPN}
		}
		return table(cmd.OutOrStdout(), []string{"ID", "KIND", "NAME", "UPN"}, rows)
	})
	c.AddCommand(create, list, member("add-member", "Add a user or group to a group", true),
		member("remove-member", "Remove a member from a group", false), members)
	return c
}

func roleCmd() *cobra.Command {
	c := groupCommand("role", "Directory roles")
	assign := &cobra.Command{Use: "assign --tenant T (--upn UPN | --group G) --role ROLE", Short: "Assign a directory role to a user or group", Args: cobra.NoArgs}
	tenantFlag(assign)
	assign.Flags().String("upn", "", "the user")
	assign.Flags().String("group", "", "the group (id or unique name)")
	assign.Flags().String("role", "", `role name or template id, e.g. "Security Administrator"`)
	_ = assign.MarkFlagRequired("role")
	assign.MarkFlagsMutuallyExclusive("upn", "group")
	assign.MarkFlagsOneRequired("upn", "group")
	dataCmd(assign, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, err := resolveTenant(ctx, a, cmd)
		if err != nil {
			return err
		}
		ref, _ := cmd.Flags().GetString("upn")
		if ref == "" {
			ref, _ = cmd.Flags().GetString("group")
		}
		p, err := findObject(ctx, a, t.ID, ref)
		if err != nil {
			return err
		}
		role, _ := cmd.Flags().GetString("role")
		ra, err := a.Admin.AssignRole(ctx, operator(), t.ID, p.ID, role)
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), ra.ID)
		return nil
	})
	list := &cobra.Command{Use: "list", Short: "List the built-in directory roles", Args: cobra.NoArgs}
	outputFlag(list)
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		format, err := outputFormat(cmd)
		if err != nil {
			return err
		}
		if format == "json" {
			out := make([]map[string]string, len(directory.Roles))
			for i, r := range directory.Roles {
				out[i] = map[string]string{"id": r.ID, "displayName": r.DisplayName, "description": r.Description}
			}
			return writeJSON(cmd.OutOrStdout(), out)
		}
		rows := make([][]string, len(directory.Roles))
		for i, r := range directory.Roles {
			rows[i] = []string{r.ID, r.DisplayName}
		}
		return table(cmd.OutOrStdout(), []string{"TEMPLATE ID", "NAME"}, rows)
	}
	c.AddCommand(assign, list)
	return c
}

func appCmd() *cobra.Command {
	c := groupCommand("app", "Application registrations")
	create := &cobra.Command{Use: "create --tenant T --name N", Short: `Register an app; prints {"appId", "clientSecret"} (the secret is shown once)`, Args: cobra.NoArgs}
	tenantFlag(create)
	create.Flags().String("name", "", "display name")
	create.Flags().StringArray("redirect-uri", nil, "redirect URI (repeatable)")
	create.Flags().StringArray("permission", nil, "application permission, e.g. User.ReadWrite.All (repeatable)")
	_ = create.MarkFlagRequired("name")
	dataCmd(create, func(ctx context.Context, a *app.App, cmd *cobra.Command, _ []string) error {
		t, err := resolveTenant(ctx, a, cmd)
		if err != nil {
			return err
		}
		in := admin.NewApp{}
		in.DisplayName, _ = cmd.Flags().GetString("name")
		in.RedirectURIs, _ = cmd.Flags().GetStringArray("redirect-uri")
		in.Permissions, _ = cmd.Flags().GetStringArray("permission")
		ap, secret, err := a.Admin.CreateApp(ctx, operator(), t.ID, in, tokens.NewClientSecret)
		if err != nil {
			return err
		}
		return writeJSON(cmd.OutOrStdout(), map[string]any{"appId": ap.AppID, "clientSecret": secret, "tenantId": t.ID,
			"displayName": ap.DisplayName, "permissions": ap.Permissions})
	})
	c.AddCommand(create)
	return c
}

// groupCommand is a command that only holds subcommands; an unknown
// subcommand is a usage error (exit 2), not a help page.
func groupCommand(use, short string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		}}
}
