package oidc

import (
	"slices"
	"testing"
	"time"
)

func TestAMRAndACR(t *testing.T) {
	tests := []struct {
		methods []string
		mfa     bool
		amr     []string
		acr     string
	}{
		{nil, false, []string{}, ACRSingleFactor},
		{[]string{"pwd"}, false, []string{"pwd"}, ACRSingleFactor},
		{[]string{"pwd", "otp", "mfa"}, true, []string{"pwd", "otp", "mfa"}, ACRMFA},
		{[]string{"pwd", "sms"}, true, []string{"pwd", "sms", "mfa"}, ACRMFA},
		{[]string{"hwk", "pin", "mfa"}, true, []string{"hwk", "pin", "mfa"}, ACRPhishingResistant},
		{[]string{"pwd", "hwk"}, false, []string{"pwd", "hwk"}, ACRSingleFactor},
		{[]string{"pwd", "pwd", "made-up", "tel"}, false, []string{"pwd", "tel"}, ACRSingleFactor},
	}
	for _, tt := range tests {
		got := AMR(tt.methods, tt.mfa)
		if !slices.Equal(got, tt.amr) || ACR(got) != tt.acr {
			t.Errorf("AMR(%v, %v) = %v (%s), want %v (%s)", tt.methods, tt.mfa, got, ACR(got), tt.amr, tt.acr)
		}
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	created := now.Add(-time.Minute)
	u := func(n uint) *uint { return &n }
	fresh := SessionFacts{Present: true, AuthAt: now.Add(-30 * time.Second)}
	old := SessionFacts{Present: true, AuthAt: now.Add(-2 * time.Hour)}
	mfa := SessionFacts{Present: true, AuthAt: now.Add(-2 * time.Hour), MFA: true}
	tests := []struct {
		name string
		s    SessionFacts
		r    RequestFacts
		want Next
	}{
		{"no session", SessionFacts{}, RequestFacts{}, SignIn},
		{"no session, prompt=none", SessionFacts{}, RequestFacts{PromptNone: true}, LoginRequired},
		{"session", old, RequestFacts{}, Complete},
		{"prompt=login, signed in before the request", old, RequestFacts{CreatedAt: created, PromptLogin: true}, ReAuthenticate},
		{"prompt=login, signed in after the request", fresh, RequestFacts{CreatedAt: created, PromptLogin: true, MaxAge: u(0)}, Complete},
		{"max_age passed", old, RequestFacts{CreatedAt: created, MaxAge: u(3600)}, ReAuthenticate},
		{"max_age=0, signed in after the request", fresh, RequestFacts{CreatedAt: created, MaxAge: u(0)}, Complete},
		{"max_age=0, signed in before", old, RequestFacts{CreatedAt: created, MaxAge: u(0)}, ReAuthenticate},
		{"max_age not passed", old, RequestFacts{CreatedAt: created, MaxAge: u(3 * 3600)}, Complete},
		{"acr mfa without mfa", old, RequestFacts{ACRValues: []string{ACRMFA}}, StepUp},
		{"acr phr without mfa", old, RequestFacts{ACRValues: []string{"x", ACRPhishingResistant}}, StepUp},
		{"acr mfa with mfa", mfa, RequestFacts{ACRValues: []string{ACRMFA}}, Complete},
		{"acr single factor", old, RequestFacts{ACRValues: []string{ACRSingleFactor}}, Complete},
		{"unknown acr", old, RequestFacts{ACRValues: []string{"urn:other"}}, Complete},
		{"step-up with prompt=none", old, RequestFacts{ACRValues: []string{ACRMFA}, PromptNone: true}, LoginRequired},
	}
	for _, tt := range tests {
		if got := Decide(tt.s, tt.r, now); got != tt.want {
			t.Errorf("%s: Decide = %d, want %d", tt.name, got, tt.want)
		}
	}
}
