package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vakt-id/vakt/internal/authenticator/device"
	"github.com/vakt-id/vakt/internal/method/push"
	"github.com/vakt-id/vakt/internal/method/totp"
)

// The companion keeps its accounts (device keys, TOTP seeds) in one JSON
// file, mode 0600, under the user's configuration directory.
type companionFile struct {
	Accounts []companionAccount `json:"accounts"`
}

type companionAccount struct {
	Server            string    `json:"server"`
	TenantID          string    `json:"tenantId"`
	UserPrincipalName string    `json:"userPrincipalName"`
	DeviceID          string    `json:"deviceId"`
	DisplayName       string    `json:"displayName"`
	PrivateKey        string    `json:"privateKey"`
	TOTPSecret        string    `json:"totpSecret,omitempty"`
	TOTPAlgorithm     string    `json:"totpAlgorithm,omitempty"`
	TOTPDigits        int       `json:"totpDigits,omitempty"`
	TOTPPeriod        int       `json:"totpPeriod,omitempty"`
	EnrolledAt        time.Time `json:"enrolledAt"`
}

const companionEnv = "VAKT_AUTHENTICATOR_FILE"

func companionPath(cmd *cobra.Command) (string, error) {
	if f := cmd.Flags().Lookup("file"); f != nil && f.Changed {
		return f.Value.String(), nil
	}
	if p := os.Getenv(companionEnv); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no configuration directory (%v); use --file or %s", err, companionEnv)
	}
	return filepath.Join(dir, "vakt", "authenticator.json"), nil
}

func loadCompanion(path string) (companionFile, error) {
	var f companionFile
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("%s is not a vakt authenticator file: %v", path, err)
	}
	return f, nil
}

// saveCompanion writes the file atomically with mode 0600: it holds
// private keys and seeds.
func saveCompanion(path string, f companionFile) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".authenticator-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func authenticatorCmd() *cobra.Command {
	c := &cobra.Command{Use: "authenticator", Short: "the command-line authenticator: approve sign-ins with number matching, show codes"}
	c.PersistentFlags().String("file", "", "accounts file (default: the user's config dir/vakt/authenticator.json; also "+companionEnv+")")
	c.AddCommand(companionEnrollCmd(), companionListCmd(), companionCodeCmd(), companionWatchCmd())
	return c
}

func companionEnrollCmd() *cobra.Command {
	c := &cobra.Command{Use: "enroll URL", Short: "register this device with an enrolment link from the sign-in page", Args: cobra.ExactArgs(1)}
	c.Flags().String("name", "", "device name shown to administrators (default: this computer's host name)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		link, err := device.ParseLink(args[0])
		if err != nil {
			return usageError{err}
		}
		path, err := companionPath(cmd)
		if err != nil {
			return err
		}
		file, err := loadCompanion(path)
		if err != nil {
			return err
		}
		name, _ := cmd.Flags().GetString("name")
		if name == "" {
			name, _ = os.Hostname()
			if name == "" {
				name = "vakt authenticator"
			}
		}
		en, err := device.Enroll(cmd.Context(), &http.Client{Timeout: 30 * time.Second}, link, name, "cli", version())
		if err != nil {
			return fmt.Errorf("enrolment refused: %w", err)
		}
		key, err := device.EncodeKey(en.Client.Key)
		if err != nil {
			return err
		}
		acc := companionAccount{Server: link.Server, TenantID: en.Response.TenantID, UserPrincipalName: en.Response.UserPrincipalName,
			DeviceID: en.Response.DeviceID, DisplayName: name, PrivateKey: key, EnrolledAt: time.Now().UTC()}
		if t := en.Response.TOTP; t != nil {
			acc.TOTPSecret, acc.TOTPAlgorithm, acc.TOTPDigits, acc.TOTPPeriod = t.Secret, t.Algorithm, t.Digits, t.Period
		}
		file.Accounts = append(file.Accounts, acc)
		if err := saveCompanion(path, file); err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		fmt.Fprintf(out, "Registered this device for %s (device %s).\n", acc.UserPrincipalName, acc.DeviceID)
		if acc.TOTPSecret != "" {
			fmt.Fprintln(out, "This app also shows verification codes: run 'vakt authenticator code'.")
		}
		fmt.Fprintln(out, "Now approve the test notification: run 'vakt authenticator watch' and type the number shown on the sign-in page.")
		return nil
	}
	return c
}

func companionListCmd() *cobra.Command {
	c := &cobra.Command{Use: "list", Short: "list the accounts on this device", Args: cobra.NoArgs}
	c.Flags().String("output", "table", "table or json")
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		path, err := companionPath(cmd)
		if err != nil {
			return err
		}
		file, err := loadCompanion(path)
		if err != nil {
			return err
		}
		switch o, _ := cmd.Flags().GetString("output"); o {
		case "json":
			type item struct {
				UserPrincipalName string    `json:"userPrincipalName"`
				Server            string    `json:"server"`
				TenantID          string    `json:"tenantId"`
				DeviceID          string    `json:"deviceId"`
				Codes             bool      `json:"codes"`
				EnrolledAt        time.Time `json:"enrolledAt"`
			}
			items := []item{}
			for _, a := range file.Accounts {
				items = append(items, item{a.UserPrincipalName, a.Server, a.TenantID, a.DeviceID, a.TOTPSecret != "", a.EnrolledAt})
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(items)
		case "table":
		default:
			return usagef("--output must be table or json")
		}
		if len(file.Accounts) == 0 {
			fmt.Fprintln(cmd.OutOrStdout(), "No accounts yet. Enrol with: vakt authenticator enroll URL")
			return nil
		}
		tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ACCOUNT\tSERVER\tDEVICE\tCODES\tENROLLED")
		for _, a := range file.Accounts {
			codes := "no"
			if a.TOTPSecret != "" {
				codes = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.UserPrincipalName, a.Server, a.DeviceID, codes, a.EnrolledAt.Format(time.RFC3339))
		}
		return tw.Flush()
	}
	return c
}

func companionCodeCmd() *cobra.Command {
	c := &cobra.Command{Use: "code", Short: "show the current verification codes", Args: cobra.NoArgs}
	c.Flags().String("account", "", "only this account (user principal name)")
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		accs, err := companionAccounts(cmd)
		if err != nil {
			return err
		}
		now := time.Now()
		n := 0
		for _, a := range accs {
			if a.TOTPSecret == "" {
				continue
			}
			seed, err := totp.DecodeSecret(a.TOTPSecret)
			if err != nil {
				return fmt.Errorf("%s: %w", a.UserPrincipalName, err)
			}
			p := totp.Params{Algorithm: a.TOTPAlgorithm, Digits: a.TOTPDigits, Period: a.TOTPPeriod}
			left := p.Period - int(now.Unix()%int64(p.Period))
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t(%d s left)\n", a.UserPrincipalName, totp.Code(seed, totp.Step(now, p), p), left)
			n++
		}
		if n == 0 {
			return errors.New("no account on this device shows codes (your organisation may not allow codes from this app)")
		}
		return nil
	}
	return c
}

// companionAccounts loads the accounts, narrowed by --account.
func companionAccounts(cmd *cobra.Command) ([]companionAccount, error) {
	path, err := companionPath(cmd)
	if err != nil {
		return nil, err
	}
	file, err := loadCompanion(path)
	if err != nil {
		return nil, err
	}
	want, _ := cmd.Flags().GetString("account")
	var out []companionAccount
	for _, a := range file.Accounts {
		if want == "" || strings.EqualFold(want, a.UserPrincipalName) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		if want != "" {
			return nil, fmt.Errorf("no account %s on this device", want)
		}
		return nil, errors.New("no accounts yet; enrol with: vakt authenticator enroll URL")
	}
	return out, nil
}

type incoming struct {
	acc    companionAccount
	client *device.Client
	ch     push.Challenge
}

func companionWatchCmd() *cobra.Command {
	c := &cobra.Command{Use: "watch", Short: "wait for sign-in requests and approve, deny or report them", Args: cobra.NoArgs}
	c.Flags().String("account", "", "only this account (user principal name)")
	c.Flags().Bool("once", false, "exit after answering one request")
	c.Flags().Duration("timeout", 0, "give up (exit 1) when no request arrives within this time")
	c.Flags().Int("auto-approve-number", 0, "FOR TESTS ONLY: approve every request with this number (none where the request has no number) without asking")
	c.Flags().Bool("deny", false, "FOR TESTS ONLY: deny every request without asking")
	c.Flags().Bool("report", false, "FOR TESTS ONLY: report every request as not yours without asking")
	c.MarkFlagsMutuallyExclusive("auto-approve-number", "deny", "report")
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		auto, _ := cmd.Flags().GetInt("auto-approve-number")
		if cmd.Flags().Changed("auto-approve-number") && !push.ValidNumber(auto) {
			return usagef("--auto-approve-number must be a 2-digit number")
		}
		deny, _ := cmd.Flags().GetBool("deny")
		report, _ := cmd.Flags().GetBool("report")
		once, _ := cmd.Flags().GetBool("once")
		timeout, _ := cmd.Flags().GetDuration("timeout")
		accs, err := companionAccounts(cmd)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(cmd.Context())
		defer cancel()
		if timeout > 0 {
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
		in := make(chan incoming)
		fatal := make(chan error, len(accs))
		for _, a := range accs {
			k, err := device.DecodeKey(a.PrivateKey)
			if err != nil {
				return fmt.Errorf("%s: %w", a.UserPrincipalName, err)
			}
			cl := &device.Client{Server: a.Server, Tenant: a.TenantID, DeviceID: a.DeviceID, Key: k}
			go watchAccount(ctx, a, cl, in, fatal, errOut)
		}
		fmt.Fprintf(out, "Waiting for sign-in requests for %s. Press Ctrl-C to stop.\n", accountNames(accs))
		lines := bufio.NewScanner(cmd.InOrStdin())
		seen := map[string]bool{}
		for {
			var m incoming
			select {
			case <-ctx.Done():
				if cmd.Context().Err() != nil {
					fmt.Fprintln(out, "Stopped.")
					return nil
				}
				return errors.New("no sign-in request arrived before the timeout")
			case err := <-fatal:
				return err
			case m = <-in:
			}
			if seen[m.ch.ID] {
				continue
			}
			seen[m.ch.ID] = true
			describe(out, m)
			d, number := push.Approve, auto
			switch {
			case deny:
				d = push.Deny
			case report:
				d = push.Report
			case auto != 0:
				if !m.ch.NumberMatching {
					number = push.NoNumber
				}
			default:
				var ok bool
				if d, number, ok = ask(ctx, out, lines, m.ch.NumberMatching); !ok {
					fmt.Fprintln(out, "Stopped.")
					return nil
				}
			}
			st, err := m.client.Answer(ctx, m.ch, d, number)
			if err != nil {
				fmt.Fprintf(out, "The answer was not accepted: %v\n", err)
			} else {
				fmt.Fprintln(out, outcomeText(st))
			}
			if once {
				if err != nil {
					return err
				}
				return nil
			}
		}
	}
	return c
}

func accountNames(accs []companionAccount) string {
	var ns []string
	for _, a := range accs {
		ns = append(ns, a.UserPrincipalName)
	}
	return strings.Join(ns, ", ")
}

func describe(w io.Writer, m incoming) {
	title := "Sign-in request"
	if m.ch.Purpose == "test" {
		title = "Test notification (finishing the setup of this app)"
	}
	fmt.Fprintf(w, "\n%s for %s\n", title, m.ch.User)
	if m.ch.App != "" {
		fmt.Fprintf(w, "  App:      %s\n", m.ch.App)
	}
	if m.ch.Location != "" || m.ch.IP != "" {
		loc := m.ch.Location
		if loc == "" {
			loc = "unknown location"
		}
		if m.ch.IP != "" {
			loc += " (" + m.ch.IP + ")"
		}
		fmt.Fprintf(w, "  Location: %s\n", loc)
	}
	fmt.Fprintf(w, "  Time:     %s (expires %s)\n", m.ch.CreatedAt.Local().Format("15:04:05"), m.ch.ExpiresAt.Local().Format("15:04:05"))
	if !m.ch.NumberMatching {
		fmt.Fprintln(w, "  No number: a VPN or other network sign-in. Approve only if you are connecting right now.")
	}
}

// ask reads the user's answer: the number (or 'a' for a request without
// one) approves, d denies, r reports.
func ask(ctx context.Context, w io.Writer, lines *bufio.Scanner, numbered bool) (push.Decision, int, bool) {
	for {
		if numbered {
			fmt.Fprint(w, "Enter the number shown on the sign-in screen to approve, 'd' to deny, or 'r' if this wasn't you: ")
		} else {
			fmt.Fprint(w, "Type 'a' to approve, 'd' to deny, or 'r' if this wasn't you: ")
		}
		got := make(chan bool, 1)
		go func() { got <- lines.Scan() }()
		select {
		case <-ctx.Done():
			return "", 0, false
		case ok := <-got:
			if !ok {
				return "", 0, false
			}
		}
		s := strings.ToLower(strings.TrimSpace(lines.Text()))
		switch s {
		case "d", "deny":
			return push.Deny, 0, true
		case "r", "report":
			return push.Report, 0, true
		case "a", "approve":
			if !numbered {
				return push.Approve, push.NoNumber, true
			}
		}
		if n, err := strconv.Atoi(s); err == nil && push.ValidNumber(n) && numbered {
			return push.Approve, n, true
		}
		if !numbered {
			fmt.Fprintln(w, "That is not 'a', 'd' or 'r'.")
			continue
		}
		fmt.Fprintln(w, "That is not a 2-digit number, 'd' or 'r'.")
	}
}

func outcomeText(s push.Status) string {
	switch s {
	case push.Approved:
		return "Approved."
	case push.Denied:
		return "Denied."
	case push.Reported:
		return "Reported: the sign-in was blocked and your administrator was told."
	case push.WrongNumber:
		return "The number did not match, so the sign-in was stopped."
	case push.Expired:
		return "The request had expired."
	}
	return string(s)
}

// watchAccount streams one account's requests, reconnecting after
// network errors; a removed device or a refused signature ends the watch.
func watchAccount(ctx context.Context, a companionAccount, cl *device.Client, in chan<- incoming, fatal chan<- error, errOut io.Writer) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := cl.Stream(ctx, func(ch push.Challenge) {
			select {
			case in <- incoming{acc: a, client: cl, ch: ch}:
			case <-ctx.Done():
			}
		})
		if ctx.Err() != nil {
			return
		}
		var se *device.Error
		if errors.Is(err, device.ErrRevoked) || errors.As(err, &se) && se.Status >= 400 && se.Status < 500 {
			fatal <- fmt.Errorf("%s: %w", a.UserPrincipalName, err)
			return
		}
		fmt.Fprintf(errOut, "vakt: %s: connection lost (%v); reconnecting\n", a.UserPrincipalName, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}
