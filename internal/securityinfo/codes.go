package securityinfo

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/store"
)

// CodeRequest asks for a one-time code to be sent.
type CodeRequest struct {
	UserID      string
	MethodID    string // the phone or email method, when there is one
	Channel     delivery.Channel
	Destination string // E.164 number or email address
	Purpose     string // mfa, sspr, register
	Locale      string // en or sv
	// CallbackURL is where a voice provider reports the user's answer.
	CallbackURL string
}

// Voice call outcomes reported by the provider.
const (
	OutcomeApproved = "approved"
	OutcomeDenied   = "denied"
	OutcomeFraud    = "fraud"
)

func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// codeHash binds a code to its challenge. A six-digit code cannot be
// protected by hashing alone; what protects it is the attempt limit, and
// the hash only keeps codes out of database dumps and logs.
func codeHash(challengeID, code string) string {
	m := hmac.New(sha256.New, []byte(challengeID))
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

var codeTexts = map[string]map[delivery.Channel]string{
	"en": {
		delivery.ChannelSMS:   "Your verification code is %s. It expires in %d minutes. Never share it with anyone.",
		delivery.ChannelEmail: "Your verification code is %s.\n\nIt expires in %d minutes. If you did not ask for it, you can ignore this message; nobody can sign in with the code alone.",
		delivery.ChannelVoice: "Hello. This is a sign-in verification call. If you are signing in now, press the pound key. Your code is %s. It expires in %d minutes.",
	},
	"sv": {
		delivery.ChannelSMS:   "Din verifieringskod är %s. Den gäller i %d minuter. Dela den aldrig med någon.",
		delivery.ChannelEmail: "Din verifieringskod är %s.\n\nDen gäller i %d minuter. Om du inte har bett om den kan du bortse från meddelandet; ingen kan logga in med enbart koden.",
		delivery.ChannelVoice: "Hej. Det här är ett verifieringssamtal för inloggning. Om du loggar in nu, tryck på fyrkant. Din kod är %s. Den gäller i %d minuter.",
	},
}

var codeSubjects = map[string]string{"en": "Your verification code", "sv": "Din verifieringskod"}

// SendCode creates a challenge and sends its code. Sends are limited per
// user, per destination and per tenant; over a limit the error says how
// long to wait.
func (s *Service) SendCode(ctx context.Context, tenantID string, req CodeRequest) (string, error) {
	switch req.Channel {
	case delivery.ChannelSMS, delivery.ChannelVoice:
		e164, _, err := NormalizePhone(req.Destination, req.Channel == delivery.ChannelVoice)
		if err != nil {
			return "", err
		}
		// A provider dials the number; an office extension (";ext=") is
		// not something it can dial, so the call goes to the switchboard.
		req.Destination, _, _ = strings.Cut(e164, ";ext=")
	case delivery.ChannelEmail:
		if err := validateEmail(req.Destination); err != nil {
			return "", err
		}
	default:
		return "", apperr.Invalidf("Unknown delivery channel %q.", req.Channel)
	}
	if req.Locale != "sv" {
		req.Locale = "en"
	}
	now := s.now()
	for _, lim := range []struct {
		key   string
		limit int
	}{
		{"send-user:" + req.UserID, s.Config.SendPerUser},
		{"send-dest:" + strings.ToLower(req.Destination), s.Config.SendPerDestination},
		{"send-tenant", s.Config.SendPerTenant},
	} {
		n, reset, err := s.Store.Hit(ctx, tenantID, lim.key, s.Config.SendWindow, now, 1)
		if err != nil {
			return "", err
		}
		if n > lim.limit {
			return "", throttled(reset.Sub(now))
		}
	}
	code, err := newCode()
	if err != nil {
		return "", err
	}
	c := store.OTPChallenge{ID: newID(), TenantID: tenantID, UserID: req.UserID, MethodID: req.MethodID,
		Channel: string(req.Channel), Purpose: req.Purpose, Destination: req.Destination, CreatedAt: now,
		ExpiresAt: now.Add(s.Config.CodeTTL)}
	c.CodeHash = codeHash(c.ID, code)
	if err := s.Store.CreateOTP(ctx, c); err != nil {
		return "", err
	}
	minutes := int(s.Config.CodeTTL.Minutes())
	msg := delivery.Message{ID: c.ID, TenantID: tenantID, Channel: req.Channel, To: req.Destination, Locale: req.Locale,
		Text: fmt.Sprintf(codeTexts[req.Locale][req.Channel], code, minutes), Code: code, CreatedAt: now}
	if req.Channel == delivery.ChannelEmail {
		msg.Subject = codeSubjects[req.Locale]
	}
	if req.Channel == delivery.ChannelVoice {
		msg.CallbackURL = req.CallbackURL
		if msg.CallbackURL == "" && s.PublicURL != "" {
			msg.CallbackURL = s.PublicURL + "/" + tenantID + "/api/callbacks/voice"
		}
	}
	if err := s.Sender.Send(ctx, msg); err != nil {
		s.Log.WarnContext(ctx, "sending a code failed", "message", msg, "err", err)
		return "", &apperr.Error{Kind: apperr.Internal, Code: "serviceNotAvailable",
			Message: "The code could not be sent. Try again, or choose another method.", Err: err}
	}
	return c.ID, nil
}

// VerifyCode checks a code against its challenge. A challenge allows
// CodeAttempts tries; wrong codes also count against the user across
// challenges, so asking for a new code does not buy new guesses.
func (s *Service) VerifyCode(ctx context.Context, tenantID, challengeID, code string) (store.OTPChallenge, error) {
	c, err := s.Store.GetOTP(ctx, tenantID, challengeID)
	if errors.Is(err, store.ErrNotFound) {
		return c, apperr.NotFoundf("The code has expired or does not exist. Request a new code.").WithCode("codeExpired")
	}
	if err != nil {
		return c, err
	}
	if err := s.checkFailures(ctx, tenantID, c.UserID); err != nil {
		return c, err
	}
	code = strings.TrimSpace(code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return c, apperr.Invalidf("The code must be 6 digits.").WithCode(CodeFormat)
	}
	c, err = s.Store.AttemptOTP(ctx, tenantID, challengeID, s.now(), s.Config.CodeAttempts)
	switch {
	case errors.Is(err, store.ErrExhausted):
		return c, apperr.Invalidf("Too many wrong codes. Request a new code.").WithCode("codeAttemptsExhausted")
	case errors.Is(err, store.ErrNotFound):
		return c, apperr.NotFoundf("The code has expired or does not exist. Request a new code.").WithCode("codeExpired")
	case err != nil:
		return c, err
	}
	if !hmac.Equal([]byte(codeHash(c.ID, code)), []byte(c.CodeHash)) {
		return c, s.failed(ctx, tenantID, c.UserID, errInvalidCode())
	}
	ok, err := s.Store.ConsumeOTP(ctx, tenantID, challengeID, s.now())
	if err != nil {
		return c, err
	}
	if !ok {
		return c, errReplayed()
	}
	return c, nil
}

// RecordCallOutcome stores what the user answered in a voice call, as
// reported by the provider's (already signature-checked) callback.
func (s *Service) RecordCallOutcome(ctx context.Context, tenantID, challengeID, outcome string) error {
	switch outcome {
	case OutcomeApproved, OutcomeDenied, OutcomeFraud:
	default:
		return apperr.Invalidf("Unknown call outcome %q.", outcome)
	}
	c, err := s.Store.GetOTP(ctx, tenantID, challengeID)
	if err != nil || c.Channel != string(delivery.ChannelVoice) {
		return apperr.NotFoundf("No such call.")
	}
	ok, err := s.Store.SetOTPOutcome(ctx, tenantID, challengeID, outcome, s.now())
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Conflictf("The call has already been answered or has expired.")
	}
	return nil
}

// CallOutcome reads a call's outcome ("" while unanswered).
func (s *Service) CallOutcome(ctx context.Context, tenantID, challengeID string) (string, error) {
	c, err := s.Store.GetOTP(ctx, tenantID, challengeID)
	if err != nil {
		return "", apperr.FromStore(err, "The call")
	}
	return c.Outcome, nil
}
