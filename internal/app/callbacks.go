package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/config"
	"github.com/vakt-id/vakt/internal/delivery"
	"github.com/vakt-id/vakt/internal/store"
)

// voiceCallback receives a voice provider's report of what the user
// answered in a call: POST {"id": "<message id>", "outcome":
// "approved|denied|fraud"}, signed like vakt's own webhook requests
// (X-Vakt-Timestamp and X-Vakt-Signature with the voice secret).
func (a *App) voiceCallback(w http.ResponseWriter, r *http.Request, t store.Tenant) {
	reply := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": msg})
	}
	if a.Config.Delivery.Voice.SecretFile == "" {
		reply(http.StatusNotFound, "not_configured", "No voice provider is configured.")
		return
	}
	secret, err := config.ReadSecretFile(a.Config.Delivery.Voice.SecretFile)
	if err != nil {
		a.Log.ErrorContext(r.Context(), "voice callback secret", "err", err)
		reply(http.StatusServiceUnavailable, "unavailable", "The callback cannot be checked now.")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10))
	if err != nil {
		reply(http.StatusRequestEntityTooLarge, "invalid_request", "The body is too large.")
		return
	}
	if err := delivery.VerifyCallback([]byte(secret), r, body, time.Now()); err != nil {
		reply(http.StatusUnauthorized, "invalid_signature", "The signature is missing, wrong or too old.")
		return
	}
	var cb struct {
		ID      string `json:"id"`
		Outcome string `json:"outcome"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cb); err != nil || cb.ID == "" {
		reply(http.StatusBadRequest, "invalid_request", `Expected {"id", "outcome"}.`)
		return
	}
	if err := a.SecurityInfo.RecordCallOutcome(r.Context(), t.ID, cb.ID, cb.Outcome); err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) {
			status := map[apperr.Kind]int{apperr.Invalid: 400, apperr.NotFound: 404, apperr.Conflict: 409}[ae.Kind]
			if status == 0 {
				status = 400
			}
			reply(status, "rejected", ae.Message)
			return
		}
		a.Log.ErrorContext(r.Context(), "voice callback", "err", err)
		reply(http.StatusInternalServerError, "server_error", "The outcome could not be recorded.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
