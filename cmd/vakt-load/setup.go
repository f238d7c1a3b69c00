package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vakt-id/vakt/internal/method/totp"
)

// usersFile keeps what the set-up made, so that later runs against the
// same store skip it: the tenant, the test users' password and each
// user's TOTP secret. It holds secrets, so it is written with mode 0600.
type usersFile struct {
	TenantID string      `json:"tenantId"`
	Domain   string      `json:"domain"`
	Password string      `json:"password"`
	Users    []*loadUser `json:"users"`
}

func loadUsersFile(path string) (*usersFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f usersFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, u := range f.Users {
		if u.Secret == "" {
			continue
		}
		if u.secret, err = totp.DecodeSecret(u.Secret); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, u.UPN, err)
		}
	}
	return &f, nil
}

// save writes the file atomically: a crash leaves the old or the new one.
func (f *usersFile) save(path string) error {
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// admin runs the vakt command line against the store, as an operator does.
type admin struct {
	bin       string
	storeArgs []string
	dir       string // for the CSV and UPN files handed to it
}

func (a *admin) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, a.bin, append(args, a.storeArgs...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("vakt %s: %v: %s", args[0]+" "+args[1], err, oneLine(errb.String(), 300))
	}
	return out.String(), nil
}

// tenant returns the id of the tenant with domain, creating it if needed.
func (a *admin) tenant(ctx context.Context, domain string) (string, error) {
	out, err := a.run(ctx, "tenant", "list", "--output", "json")
	if err != nil {
		return "", err
	}
	var ts []struct {
		ID      string   `json:"id"`
		Domains []string `json:"domains"`
	}
	if err := json.Unmarshal([]byte(out), &ts); err != nil {
		return "", fmt.Errorf("vakt tenant list: %w", err)
	}
	for _, t := range ts {
		for _, d := range t.Domains {
			if strings.EqualFold(d, domain) {
				return t.ID, nil
			}
		}
	}
	out, err = a.run(ctx, "tenant", "create", "--domain", domain, "--display-name", "vakt-load")
	return strings.TrimSpace(out), err
}

// prepare makes sure the store holds want test users with per-user MFA
// turned on, through `vakt user import` and `vakt user mfa`; their
// authenticator apps are registered later, by signing in.
func prepare(ctx context.Context, a *admin, path, domain string, want int, log io.Writer) (*usersFile, error) {
	f, err := loadUsersFile(path)
	if err != nil {
		return nil, err
	}
	mismatch := func() error {
		return fmt.Errorf("%s was made for another store or tenant (%s); remove it or pass another --users-file", path, f.Domain)
	}
	if f != nil && !strings.EqualFold(f.Domain, domain) {
		return nil, mismatch()
	}
	tid, err := a.tenant(ctx, domain)
	if err != nil {
		return nil, err
	}
	if f == nil {
		f = &usersFile{TenantID: tid, Domain: domain, Password: newPassword()}
	} else if f.TenantID != tid {
		return nil, mismatch()
	}
	// Per-user MFA asks for the second factor at every sign-in. With
	// security defaults on as well, vakt logs a warning at each sign-in
	// that both apply; an operator who uses per-user MFA turns them off.
	if _, err := a.run(ctx, "policy", "security-defaults", "--tenant", tid, "--disable", "--reason", "vakt-load: per-user MFA asks every test user for a second factor"); err != nil {
		return nil, err
	}
	if len(f.Users) >= want {
		return f, nil
	}
	var csv, upns strings.Builder
	csv.WriteString("userPrincipalName,password\n")
	var added []*loadUser
	for i := len(f.Users); i < want; i++ {
		u := &loadUser{UPN: fmt.Sprintf("load%05d@%s", i+1, domain)}
		added = append(added, u)
		fmt.Fprintf(&csv, "%s,%s\n", u.UPN, f.Password)
		fmt.Fprintln(&upns, u.UPN)
	}
	csvPath, upnPath := filepath.Join(a.dir, "vakt-load-users.csv"), filepath.Join(a.dir, "vakt-load-upns.txt")
	if err := os.WriteFile(csvPath, []byte(csv.String()), 0o600); err != nil {
		return nil, err
	}
	defer os.Remove(csvPath)
	if err := os.WriteFile(upnPath, []byte(upns.String()), 0o600); err != nil {
		return nil, err
	}
	defer os.Remove(upnPath)
	fmt.Fprintf(log, "vakt-load: importing %d users (vakt user import hashes each password)\n", len(added))
	t0 := time.Now()
	if _, err := a.run(ctx, "user", "import", "--tenant", tid, csvPath); err != nil {
		return nil, err
	}
	if _, err := a.run(ctx, "user", "mfa", "--tenant", tid, "--file", upnPath, "--state", "enabled"); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "vakt-load: imported in %s\n", time.Since(t0).Round(100*time.Millisecond))
	f.Users = append(f.Users, added...)
	return f, f.save(path)
}

// newPassword makes the test users' password: random, so it is not on
// any banned list.
func newPassword() string {
	b := make([]byte, 15)
	rand.Read(b)
	return "Load-" + strings.ToLower(base32.StdEncoding.EncodeToString(b)) + "-7"
}

// register signs every user without an authenticator app in once,
// registering one in the sign-in's registration step as a user would
// (start, password, register/begin, register/finish), with c clients.
func register(ctx context.Context, f *usersFile, path string, apis []*api, c int, log io.Writer) error {
	var todo []*loadUser
	for _, u := range f.Users {
		if u.Secret == "" {
			todo = append(todo, u)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	fmt.Fprintf(log, "vakt-load: registering an authenticator app for %d users through the sign-in API\n", len(todo))
	t0 := time.Now()
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for w := range min(c, len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := apis[w%len(apis)]
			for {
				i := int(next.Add(1)) - 1
				if i >= len(todo) || ctx.Err() != nil {
					return
				}
				if err := registerOne(ctx, a, f.Password, todo[i]); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("registering %s: %w", todo[i].UPN, err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	// Save what was registered even after a failure: those secrets exist
	// only here now.
	if err := f.save(path); err != nil {
		return err
	}
	if firstErr != nil {
		return firstErr
	}
	fmt.Fprintf(log, "vakt-load: registered in %s\n", time.Since(t0).Round(100*time.Millisecond))
	return nil
}

func registerOne(ctx context.Context, a *api, password string, u *loadUser) error {
	v, err := a.call(ctx, "start", "", map[string]any{"username": u.UPN}, 201)
	if err != nil {
		return err
	}
	id := "/" + v.FlowID
	if v, err = a.call(ctx, "password", id+"/password", map[string]any{"password": password}, 200); err != nil {
		return err
	}
	if v.State == "mfa" {
		return errors.New("the user already has a method this tool does not know; use a new --users-file with a new --tenant, or delete the user")
	}
	if err := expect("password", v, "register"); err != nil {
		return err
	}
	if v, err = a.call(ctx, "register/begin", id+"/register/begin", nil, 200); err != nil {
		return err
	}
	if v.Register == nil || v.Register.Enrolment == nil {
		return errors.New("register/begin: no enrolment in the answer")
	}
	secret, err := totp.DecodeSecret(v.Register.Enrolment.SecretKey)
	if err != nil {
		return fmt.Errorf("register/begin: %w", err)
	}
	p := totp.AppParams()
	step := totp.Step(time.Now(), p)
	if v, err = a.call(ctx, "register/finish", id+"/register/finish", map[string]any{"code": totp.Code(secret, step, p)}, 200); err != nil {
		return err
	}
	if err := expect("register/finish", v, "done"); err != nil {
		return err
	}
	u.secret, u.Secret, u.LastStep = secret, totp.EncodeSecret(secret), step
	return nil
}
