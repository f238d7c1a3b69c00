package securityinfo

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/audit"
	"github.com/vakt-id/vakt/internal/directory"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/store"
)

// Question is a security question in the user's language.
type Question struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// CustomQuestion is an administrator's question with its texts.
type CustomQuestion struct {
	ID string `json:"id"`
	EN string `json:"en"`
	SV string `json:"sv,omitempty"`
}

// QuestionsConfig is the tenant's security-questions setting.
type QuestionsConfig struct {
	// Required is how many questions a user registers (and answers at
	// reset).
	Required   int              `json:"required"`
	UseBuiltIn bool             `json:"useBuiltIn"`
	Custom     []CustomQuestion `json:"custom"`
}

// QuestionsSetting is the tenant setting key.
const QuestionsSetting = "securityQuestions"

// builtInQuestions are offered unless the tenant turns them off.
var builtInQuestions = []CustomQuestion{
	{"builtin-city-born", "In what city were you born?", "I vilken stad föddes du?"},
	{"builtin-first-pet", "What was the name of your first pet?", "Vad hette ditt första husdjur?"},
	{"builtin-first-school", "What was the name of your first school?", "Vad hette din första skola?"},
	{"builtin-childhood-friend", "What is the first name of your best childhood friend?", "Vad heter din bästa barndomsvän i förnamn?"},
	{"builtin-first-job", "In what town was your first job?", "I vilken ort hade du ditt första jobb?"},
	{"builtin-parents-met", "In what city did your parents meet?", "I vilken stad träffades dina föräldrar?"},
	{"builtin-favourite-teacher", "What was the last name of your favourite teacher?", "Vad hette din favoritlärare i efternamn?"},
	{"builtin-first-concert", "What was the first concert you went to?", "Vilken var den första konsert du gick på?"},
}

// DefaultQuestionsConfig is the setting of a new tenant.
func DefaultQuestionsConfig() QuestionsConfig {
	return QuestionsConfig{Required: 3, UseBuiltIn: true}
}

// QuestionsConfigFor reads the tenant's setting, or the default.
func (s *Service) QuestionsConfigFor(ctx context.Context, tenantID string) (QuestionsConfig, error) {
	raw, err := s.Store.GetSetting(ctx, tenantID, QuestionsSetting)
	if errors.Is(err, store.ErrNotFound) {
		return DefaultQuestionsConfig(), nil
	}
	if err != nil {
		return QuestionsConfig{}, err
	}
	var c QuestionsConfig
	return c, json.Unmarshal(raw, &c)
}

func (c QuestionsConfig) all() []CustomQuestion {
	var qs []CustomQuestion
	if c.UseBuiltIn {
		qs = append(qs, builtInQuestions...)
	}
	return append(qs, c.Custom...)
}

// SetQuestionsConfig replaces the tenant's setting (administrators).
func (s *Service) SetQuestionsConfig(ctx context.Context, actor directory.Actor, tenantID string, c QuestionsConfig) error {
	if !directory.Allowed(actor, directory.ActionMethodsPolicy) {
		return apperr.Forbiddenf("Insufficient privileges to complete the operation.")
	}
	seen := map[string]bool{}
	for _, q := range c.Custom {
		if q.ID == "" || len(q.ID) > 64 || strings.HasPrefix(q.ID, "builtin-") || seen[q.ID] {
			return apperr.Invalidf("Each custom question needs its own id (at most 64 characters, not starting with builtin-).")
		}
		if q.EN == "" || len(q.EN) > 200 || len(q.SV) > 200 {
			return apperr.Invalidf("Each custom question needs an English text of at most 200 characters.")
		}
		seen[q.ID] = true
	}
	if c.Required < 1 || c.Required > 5 || c.Required > len(c.all()) {
		return apperr.Invalidf("Between 1 and 5 questions can be required, and no more than are offered.")
	}
	raw, _ := json.Marshal(c)
	return s.Store.InTx(ctx, func(tx store.Store) error {
		var old []byte
		if _, err := tx.UpdateSetting(ctx, tenantID, QuestionsSetting, func(o []byte) ([]byte, error) { old = o; return raw, nil }); err != nil {
			return err
		}
		return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "Update security questions", Category: "Policy", Operation: "Update",
			Targets: []store.AuditTarget{{ID: tenantID, Type: "Tenant", ModifiedProperties: []store.ModifiedProperty{audit.Prop("SecurityQuestions", string(old), string(raw))}}}})
	})
}

// Questions lists the tenant's questions in the user's language.
func (s *Service) Questions(ctx context.Context, tenantID, lang string) ([]Question, int, error) {
	c, err := s.QuestionsConfigFor(ctx, tenantID)
	if err != nil {
		return nil, 0, err
	}
	var out []Question
	for _, q := range c.all() {
		text := q.EN
		if lang == "sv" && q.SV != "" {
			text = q.SV
		}
		out = append(out, Question{ID: q.ID, Text: text})
	}
	return out, c.Required, nil
}

// normalizeAnswer makes answers compare as people mean them: Unicode
// compatibility form, case folded, punctuation dropped, spaces collapsed.
func normalizeAnswer(a string) string {
	a = strings.ToLower(norm.NFKC.String(a))
	var b strings.Builder
	space := false
	for _, r := range a {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		case unicode.IsSpace(r) || unicode.IsPunct(r):
			space = true
		}
	}
	return b.String()
}

// RegisterAnswers stores the user's answers, hashed like passwords. The
// user answers at least the tenant's required number of questions, each
// differently.
func (s *Service) RegisterAnswers(ctx context.Context, actor directory.Actor, tenantID, userID string, answers map[string]string) (store.Method, error) {
	if err := s.canManage(ctx, actor, tenantID, userID); err != nil {
		return store.Method{}, err
	}
	c, err := s.QuestionsConfigFor(ctx, tenantID)
	if err != nil {
		return store.Method{}, err
	}
	if len(answers) < c.Required || len(answers) > len(c.all()) {
		return store.Method{}, apperr.Invalidf("Answer at least %d questions.", c.Required)
	}
	valid := map[string]bool{}
	for _, q := range c.all() {
		valid[q.ID] = true
	}
	hashes := map[string]string{}
	var seen []string
	for id, a := range answers {
		if !valid[id] {
			return store.Method{}, apperr.Invalidf("Unknown question %q.", id)
		}
		n := normalizeAnswer(a)
		if len([]rune(n)) < 3 || len(a) > 200 {
			return store.Method{}, apperr.Invalidf("Each answer must be at least 3 characters.")
		}
		if slices.Contains(seen, n) {
			return store.Method{}, apperr.Invalidf("Use a different answer for each question.")
		}
		seen = append(seen, n)
		if hashes[id], err = s.Hasher.Hash(ctx, n); err != nil {
			return store.Method{}, err
		}
	}
	ids := make([]string, 0, len(hashes))
	for id := range hashes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	secret, _ := json.Marshal(hashes)
	u, err := s.user(ctx, tenantID, userID)
	if err != nil {
		return store.Method{}, err
	}
	m := store.Method{ID: newID(), TenantID: tenantID, UserID: userID, Kind: string(method.KindSecurityQuestions),
		DisplayName: "Security questions", Secret: string(secret), UniqueKey: "questions:" + userID, CreatedAt: s.now(),
		Props: store.MethodProps{Questions: ids}}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if old, err := tx.MethodByUniqueKey(ctx, tenantID, m.UniqueKey); err == nil {
			if err := tx.DeleteMethod(ctx, tenantID, old.ID); err != nil {
				return err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if _, err := s.addActive(ctx, tx, m, false); err != nil {
			return err
		}
		return s.audited(ctx, tx, actor, tenantID, audit.Entry{Activity: "User registered security info", Operation: "Add",
			Targets: []store.AuditTarget{audit.UserTarget(u, audit.Prop("SecurityQuestions", nil, len(ids)))}})
	})
	return m, err
}

// VerifyAnswers checks answers to the user's registered questions; all
// given answers must be right, and at least the required number given.
func (s *Service) VerifyAnswers(ctx context.Context, tenantID, userID string, answers map[string]string) error {
	if err := s.checkFailures(ctx, tenantID, userID); err != nil {
		return err
	}
	c, err := s.QuestionsConfigFor(ctx, tenantID)
	if err != nil {
		return err
	}
	m, err := s.Store.MethodByUniqueKey(ctx, tenantID, "questions:"+userID)
	if errors.Is(err, store.ErrNotFound) {
		return s.failed(ctx, tenantID, userID, apperr.Invalidf("The answers are not correct."))
	}
	if err != nil {
		return err
	}
	var hashes map[string]string
	if err := json.Unmarshal([]byte(m.Secret), &hashes); err != nil {
		return err
	}
	if len(answers) < c.Required {
		return apperr.Invalidf("Answer %d questions.", c.Required)
	}
	ok := true
	for id, a := range answers {
		h, known := hashes[id]
		if !known {
			ok = false
			continue
		}
		// Every answer is checked, right or wrong, so timing does not say
		// which one was wrong.
		match, _, err := s.Hasher.Verify(ctx, normalizeAnswer(a), h)
		if err != nil {
			return err
		}
		ok = ok && match
	}
	if !ok {
		return s.failed(ctx, tenantID, userID, apperr.Invalidf("The answers are not correct."))
	}
	return nil
}
