package securityinfo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"math/big"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/store"
)

// TAPPolicy is the Temporary Access Pass method configuration
// (graph-api.md §1).
type TAPPolicy struct {
	Enabled                bool `json:"enabled"`
	DefaultLifetimeMinutes int  `json:"defaultLifetimeInMinutes"`
	MinimumLifetimeMinutes int  `json:"minimumLifetimeInMinutes"`
	MaximumLifetimeMinutes int  `json:"maximumLifetimeInMinutes"`
	DefaultLength          int  `json:"defaultLength"`
	IsUsableOnce           bool `json:"isUsableOnce"`
}

// Bounds every TAP policy must keep (graph-api.md §1 and §4).
const (
	TAPMinLifetime = 10
	TAPMaxLifetime = 43200 // 30 days
	TAPMinLength   = 8
	TAPMaxLength   = 48
)

// TAPPolicySetting is the tenant setting holding the policy; the
// authentication-methods policy writes it.
const TAPPolicySetting = "authenticationMethods.temporaryAccessPass"

// DefaultTAPPolicy is the policy of a new tenant.
func DefaultTAPPolicy() TAPPolicy {
	return TAPPolicy{Enabled: true, DefaultLifetimeMinutes: 60, MinimumLifetimeMinutes: 60, MaximumLifetimeMinutes: 480,
		DefaultLength: 8, IsUsableOnce: false}
}

// Validate checks the policy's own bounds.
func (p TAPPolicy) Validate() error {
	in := func(v, lo, hi int) bool { return v >= lo && v <= hi }
	switch {
	case !in(p.MinimumLifetimeMinutes, TAPMinLifetime, TAPMaxLifetime) || !in(p.MaximumLifetimeMinutes, TAPMinLifetime, TAPMaxLifetime):
		return apperr.Invalidf("TAP lifetimes must be between %d and %d minutes.", TAPMinLifetime, TAPMaxLifetime)
	case p.MinimumLifetimeMinutes > p.MaximumLifetimeMinutes:
		return apperr.Invalidf("The minimum TAP lifetime cannot exceed the maximum.")
	case !in(p.DefaultLifetimeMinutes, p.MinimumLifetimeMinutes, p.MaximumLifetimeMinutes):
		return apperr.Invalidf("The default TAP lifetime must lie between the minimum and the maximum.")
	case !in(p.DefaultLength, TAPMinLength, TAPMaxLength):
		return apperr.Invalidf("The TAP length must be between %d and %d characters.", TAPMinLength, TAPMaxLength)
	}
	return nil
}

// TAPPolicyFor reads the tenant's policy, or the default.
func (s *Service) TAPPolicyFor(ctx context.Context, tenantID string) (TAPPolicy, error) {
	raw, err := s.Store.GetSetting(ctx, tenantID, TAPPolicySetting)
	if errors.Is(err, store.ErrNotFound) {
		return DefaultTAPPolicy(), nil
	}
	if err != nil {
		return TAPPolicy{}, err
	}
	p := DefaultTAPPolicy()
	if err := json.Unmarshal(raw, &p); err != nil {
		return TAPPolicy{}, err
	}
	return p, nil
}

// Usability reasons of a TAP (methodUsabilityReason).
const (
	ReasonEnabled    = "EnabledByPolicy"
	ReasonDisabled   = "DisabledByPolicy"
	ReasonExpired    = "Expired"
	ReasonNotYet     = "NotYetValid"
	ReasonOneTimeUse = "OneTimeUsed"
)

// tapReason says whether a TAP can be used at now, policy aside.
func tapReason(m store.Method, now time.Time) string {
	start := m.CreatedAt
	if m.Props.StartsAt != nil {
		start = *m.Props.StartsAt
	}
	switch {
	case m.Props.UsableOnce && m.Props.Used:
		return ReasonOneTimeUse
	case now.Before(start):
		return ReasonNotYet
	case !now.Before(start.Add(time.Duration(m.Props.LifetimeMinutes) * time.Minute)):
		return ReasonExpired
	}
	return ReasonEnabled
}

// TAPReason reports a TAP's methodUsabilityReason under the tenant policy.
func (s *Service) TAPReason(ctx context.Context, m store.Method) (string, error) {
	p, err := s.TAPPolicyFor(ctx, m.TenantID)
	if err != nil {
		return "", err
	}
	if !p.Enabled {
		return ReasonDisabled, nil
	}
	return tapReason(m, s.now()), nil
}

// TAPRequest is what an administrator asks for; zero values take the
// policy's defaults.
type TAPRequest struct {
	StartsAt        *time.Time
	LifetimeMinutes int
	UsableOnce      *bool
}

// tapAlphabet leaves out characters that are easily confused when read out
// or typed from a screen (0/O, 1/l/I).
const tapAlphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func newTAP(n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(tapAlphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b[i] = tapAlphabet[v.Int64()]
	}
	return string(b), nil
}

// IssueTAP issues a Temporary Access Pass within the policy's bounds and
// returns it in clear text once; only its hash is stored. A user has one
// TAP: an unusable (expired or used) one is replaced, a usable one must be
// deleted first.
func (s *Service) IssueTAP(ctx context.Context, actor directory.Actor, tenantID, userID string, req TAPRequest) (store.Method, string, error) {
	if !directory.Allowed(actor, directory.ActionUserMethodsWrite) {
		return store.Method{}, "", apperr.Forbiddenf("Insufficient privileges to complete the operation.")
	}
	u, err := s.user(ctx, tenantID, userID)
	if err != nil {
		return store.Method{}, "", err
	}
	p, err := s.TAPPolicyFor(ctx, tenantID)
	if err != nil {
		return store.Method{}, "", err
	}
	if !p.Enabled {
		return store.Method{}, "", apperr.Invalidf("The Temporary Access Pass method is disabled by the authentication methods policy.")
	}
	if err := s.checkAllowed(ctx, tenantID, userID, method.KindTAP); err != nil {
		return store.Method{}, "", apperr.Invalidf("The authentication methods policy does not allow a Temporary Access Pass for this user.").WithCause(err)
	}
	life := req.LifetimeMinutes
	if life == 0 {
		life = p.DefaultLifetimeMinutes
	}
	if life < p.MinimumLifetimeMinutes || life > p.MaximumLifetimeMinutes {
		return store.Method{}, "", apperr.Invalidf("The lifetime must be between %d and %d minutes under the tenant's policy.",
			p.MinimumLifetimeMinutes, p.MaximumLifetimeMinutes).WithTarget("lifetimeInMinutes")
	}
	once := p.IsUsableOnce
	if req.UsableOnce != nil {
		if p.IsUsableOnce && !*req.UsableOnce {
			return store.Method{}, "", apperr.Invalidf("The tenant's policy allows only one-time Temporary Access Passes.").WithTarget("isUsableOnce")
		}
		once = *req.UsableOnce
	}
	now := s.now()
	start := now
	if req.StartsAt != nil {
		start = req.StartsAt.UTC().Truncate(time.Microsecond)
		if start.Before(now.Add(-5*time.Minute)) || start.After(now.Add(time.Duration(TAPMaxLifetime)*time.Minute)) {
			return store.Method{}, "", apperr.Invalidf("The start time must be now or within the next 30 days.").WithTarget("startDateTime")
		}
	}
	pass, err := newTAP(p.DefaultLength)
	if err != nil {
		return store.Method{}, "", err
	}
	hash, err := s.Hasher.Hash(ctx, pass)
	if err != nil {
		return store.Method{}, "", err
	}
	m := store.Method{ID: newID(), TenantID: tenantID, UserID: userID, Kind: string(method.KindTAP), State: store.MethodActive,
		DisplayName: "Temporary Access Pass", Secret: hash, UniqueKey: "tap:" + userID, CreatedAt: now,
		Props: store.MethodProps{StartsAt: &start, LifetimeMinutes: life, UsableOnce: once}}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.LockUser(ctx, tenantID, userID); err != nil {
			return err
		}
		if old, err := tx.MethodByUniqueKey(ctx, tenantID, m.UniqueKey); err == nil {
			if tapReason(old, now) == ReasonEnabled || tapReason(old, now) == ReasonNotYet {
				return apperr.Conflictf("The user already has a Temporary Access Pass. Delete it before issuing a new one.")
			}
			if err := tx.DeleteMethod(ctx, tenantID, old.ID); err != nil {
				return err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.CreateMethod(ctx, m); err != nil {
			return apperr.FromStore(err, "A Temporary Access Pass for the user")
		}
		return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "Admin registered temporary access pass method for user",
			Operation: "Add", Targets: []store.AuditTarget{audit.UserTarget(u, audit.Prop("LifetimeInMinutes", nil, life),
				audit.Prop("IsUsableOnce", nil, once), audit.Prop("StartDateTime", nil, start))}})
	})
	if err != nil {
		return store.Method{}, "", err
	}
	return m, pass, nil
}

// VerifyTAP checks a user's Temporary Access Pass; a one-time pass is used
// up by a successful check, exactly once.
func (s *Service) VerifyTAP(ctx context.Context, tenantID, userID, pass string) (store.Method, error) {
	if err := s.checkFailures(ctx, tenantID, userID); err != nil {
		return store.Method{}, err
	}
	m, err := s.Store.MethodByUniqueKey(ctx, tenantID, "tap:"+userID)
	if errors.Is(err, store.ErrNotFound) {
		// The same work as a real check, so timing reveals nothing.
		if err := s.Hasher.DummyVerify(ctx, pass); err != nil {
			return store.Method{}, err
		}
		return store.Method{}, s.failed(ctx, tenantID, userID, errInvalidCode())
	}
	if err != nil {
		return store.Method{}, err
	}
	ok, _, err := s.Hasher.Verify(ctx, pass, m.Secret)
	if err != nil {
		return store.Method{}, err
	}
	if !ok {
		return store.Method{}, s.failed(ctx, tenantID, userID, errInvalidCode())
	}
	reason, err := s.TAPReason(ctx, m)
	if err != nil {
		return store.Method{}, err
	}
	if reason != ReasonEnabled {
		return store.Method{}, apperr.Invalidf("The Temporary Access Pass cannot be used: %s.", reason).WithCode("tap" + reason)
	}
	now := s.now()
	return s.Store.UpdateMethod(ctx, tenantID, m.ID, func(cur *store.Method) error {
		if cur.Props.UsableOnce {
			if cur.Props.Used {
				return apperr.Invalidf("The Temporary Access Pass cannot be used: %s.", ReasonOneTimeUse).WithCode("tap" + ReasonOneTimeUse)
			}
			cur.Props.Used = true
		}
		cur.LastUsedAt = &now
		return nil
	})
}
