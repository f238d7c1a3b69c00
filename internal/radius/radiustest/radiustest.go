// Package radiustest builds and checks RADIUS packets in tests as a
// gateway would: signed Access-Requests and the verification of the
// answer's Message-Authenticator, computed here independently of the
// server's own code.
package radiustest

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

// Request builds a signed PAP Access-Request; state, when set, answers
// an Access-Challenge.
func Request(t testing.TB, secret []byte, user, pw string, state []byte) *radius.Packet {
	t.Helper()
	p := radius.New(radius.CodeAccessRequest, secret)
	rfc2865.UserName_SetString(p, user)
	if err := rfc2865.UserPassword_SetString(p, pw); err != nil {
		t.Fatal(err)
	}
	rfc2865.NASIdentifier_SetString(p, "vpn-1")
	if state != nil {
		rfc2865.State_Set(p, state)
	}
	Sign(p)
	return p
}

// Sign adds the Message-Authenticator (RFC 3579 §3.2).
func Sign(p *radius.Packet) {
	rfc2869.MessageAuthenticator_Set(p, make([]byte, 16))
	b, _ := p.MarshalBinary()
	mac := hmac.New(md5.New, p.Secret)
	mac.Write(b)
	rfc2869.MessageAuthenticator_Set(p, mac.Sum(nil))
}

// CheckResponse verifies an answer's Message-Authenticator: the HMAC
// over the answer with the request's authenticator in its header.
func CheckResponse(t testing.TB, raw []byte, req *radius.Packet) {
	t.Helper()
	resp, err := radius.Parse(raw, req.Secret)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rfc2869.MessageAuthenticator_Lookup(resp)
	if err != nil || len(got) != 16 {
		t.Fatalf("response without Message-Authenticator: %v", err)
	}
	rfc2869.MessageAuthenticator_Set(resp, make([]byte, 16))
	resp.Authenticator = req.Authenticator
	b, _ := resp.MarshalBinary()
	mac := hmac.New(md5.New, req.Secret)
	mac.Write(b)
	if !hmac.Equal(mac.Sum(nil), got) {
		t.Fatal("the response's Message-Authenticator is wrong")
	}
}

// Exchange sends p to addr with layeh's client — retransmitting the same
// packet every retry when retry is set, as a gateway does — and returns
// the checked answer; it fails the test when none comes within wait.
func Exchange(t testing.TB, addr string, p *radius.Packet, retry, wait time.Duration) *radius.Packet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c := radius.Client{Retry: retry, MaxPacketErrors: 1}
	resp, err := c.Exchange(ctx, p, addr)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, err := resp.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// Encode recomputes the response authenticator over the same bytes,
	// so raw is what the server sent.
	CheckResponse(t, raw, p)
	return resp
}

// Reply is the answer's Reply-Message.
func Reply(p *radius.Packet) string {
	ms, _ := rfc2865.ReplyMessage_GetStrings(p)
	return strings.Join(ms, "")
}

// Counter reads a counter from g: the first series of name whose labels
// include the given name/value pairs, 0 when there is none.
func Counter(t testing.TB, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}
				if !found {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
