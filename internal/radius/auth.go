package radius

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/vakt-id/vakt/internal/apperr"
	"github.com/vakt-id/vakt/internal/method"
	"github.com/vakt-id/vakt/internal/policy"
	"github.com/vakt-id/vakt/internal/signin"
)

// Engine is the part of the sign-in engine (internal/signin) RADIUS drives.
type Engine interface {
	Start(ctx context.Context, tenantID, username string, c signin.Client) (signin.View, error)
	Password(ctx context.Context, tenantID, flowID, pw string, staySignedIn bool) (signin.View, error)
	Select(ctx context.Context, tenantID, flowID string, o method.Option) (signin.View, error)
	Verify(ctx context.Context, tenantID, flowID, code string) (signin.View, error)
	Skip(ctx context.Context, tenantID, flowID string) (signin.View, error)
	SignOut(ctx context.Context, tenantID, token string) error
}

// Pusher sends a push approval to the user's authenticator for a flow
// whose selected option is push, and waits for the answer. The request
// from the gateway is held meanwhile (the gateway's RADIUS timeout must
// exceed Server.PushTimeout); retransmissions of it are not evaluated
// again. PushAndWait returns the flow's view once the user answered —
// done, blocked, or still at MFA if the push was refused in favour of a
// code — or an error: an apperr error's message is shown to the user,
// and ctx ending means no answer came in time.
type Pusher interface {
	PushAndWait(ctx context.Context, tenantID, flowID string) (signin.View, error)
}

// Messages shown to the user (Reply-Message). The engine's own messages
// (a wrong password, a block by policy) are passed through as they are.
const (
	msgNoUser        = "Enter your user name."
	msgOnlyPAP       = "This server accepts only PAP (user name and password)."
	msgExpired       = "This sign-in has expired. Connect again."
	msgChangePW      = "Your password must be changed before you connect. Sign in to your account in a browser to change it."
	msgRegister      = "Set up a verification method in your security info before you connect."
	msgNoCodeMethod  = "None of your verification methods can be used to connect. Set up an authenticator app in your security info."
	msgPushTimedOut  = "The sign-in was not approved in time. Connect again."
	msgAppCode       = "Enter the code shown in your authenticator app."
	msgHardwareToken = "Enter the code shown on your hardware token."
	msgSMS           = "We sent a code by text message to %s. Enter the code."
)

// stateAAD binds a sealed State to its use.
var stateAAD = []byte("vakt radius state v1")

// respond evaluates an authenticated request and returns the answer; an
// error means no answer (the gateway retries or fails over).
func (s *Server) respond(ctx context.Context, c client, req *radius.Packet, src netip.Addr) (*radius.Packet, error) {
	if req.Code == radius.CodeStatusServer {
		// RFC 5997: a liveness check, answered with an Access-Accept.
		return newResponse(req, radius.CodeAccessAccept), nil
	}
	user, err := rfc2865.UserName_LookupString(req)
	user = strings.TrimSpace(user)
	if err != nil || user == "" {
		return reject(req, msgNoUser), nil
	}
	pw, err := rfc2865.UserPassword_LookupString(req)
	if errors.Is(err, radius.ErrNoAttribute) {
		return reject(req, msgOnlyPAP), nil // CHAP, MS-CHAP, EAP
	}
	if err != nil {
		return reject(req, msgOnlyPAP), nil // a User-Password of a bad length
	}
	var resp *radius.Packet
	if st, ok := req.Lookup(rfc2865.State_Type); ok {
		resp, err = s.answerChallenge(ctx, c, req, user, st, pw)
	} else {
		resp, err = s.signIn(ctx, c, req, user, pw, s.clientIP(req, src))
	}
	if err != nil {
		return nil, err
	}
	s.Log.InfoContext(ctx, "radius: answered", "client", c.name, "tenant", c.tenantID, "user", user, "answer", resp.Code.String())
	return resp, nil
}

// clientIP is where the user connects from: the Calling-Station-Id when
// the gateway puts an address there (the client's public address), else
// the gateway's own.
func (s *Server) clientIP(req *radius.Packet, src netip.Addr) netip.Addr {
	if v, err := rfc2865.CallingStationID_LookupString(req); err == nil {
		if a, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil && a.Zone() == "" {
			return a.Unmap()
		}
	}
	return src
}

// signIn is the first round: the user name and password.
func (s *Server) signIn(ctx context.Context, c client, req *radius.Packet, user, pw string, ip netip.Addr) (*radius.Packet, error) {
	v, err := s.Engine.Start(ctx, c.tenantID, user, signin.Client{RADIUS: true, Kind: policy.ClientOther, IP: ip, AppName: c.name})
	if err == nil {
		v, err = s.Engine.Password(ctx, c.tenantID, v.FlowID, pw, false)
	}
	if err != nil {
		return fromError(req, err)
	}
	return s.outcome(ctx, c, req, user, v)
}

// answerChallenge is a later round: the State of our challenge and the
// one-time code in User-Password.
func (s *Server) answerChallenge(ctx context.Context, c client, req *radius.Packet, user string, st []byte, code string) (*radius.Packet, error) {
	flowID, ok := s.openState(st, c, user)
	if !ok {
		return reject(req, msgExpired), nil
	}
	code = strings.Join(strings.Fields(code), "") // "123 456" as typed
	v, err := s.Engine.Verify(ctx, c.tenantID, flowID, code)
	if err != nil {
		return fromError(req, err)
	}
	return s.outcome(ctx, c, req, user, v)
}

// outcome maps where the flow stands to the answer.
func (s *Server) outcome(ctx context.Context, c client, req *radius.Packet, user string, v signin.View) (*radius.Packet, error) {
	for range 3 { // a skipped registration leads on; never loop for ever
		switch v.State {
		case signin.StateDone:
			// The exchange is the whole sign-in: no session outlives it.
			if v.Session != nil {
				if err := s.Engine.SignOut(ctx, c.tenantID, v.Session.Token); err != nil {
					s.Log.WarnContext(ctx, "radius: cannot end the sign-in's session", "err", err)
				}
			}
			return newResponse(req, radius.CodeAccessAccept), nil
		case signin.StateBlocked:
			return reject(req, v.Blocked.Message), nil
		case signin.StateChangePassword:
			return reject(req, msgChangePW), nil
		case signin.StateRegister:
			// The engine never asks a RADIUS sign-in to register when it
			// must (it blocks instead); an optional nudge is skipped.
			if v.Register == nil || !v.Register.Skippable {
				return reject(req, msgRegister), nil
			}
			var err error
			if v, err = s.Engine.Skip(ctx, c.tenantID, v.FlowID); err != nil {
				return fromError(req, err)
			}
			continue
		case signin.StateMFA:
			return s.secondFactor(ctx, c, req, user, v)
		}
		break
	}
	return nil, fmt.Errorf("radius: sign-in flow in unexpected state %q", v.State)
}

// secondFactor asks for the second factor: a push held until answered
// when a Pusher is configured and push comes first, otherwise an
// Access-Challenge for a code.
func (s *Server) secondFactor(ctx context.Context, c client, req *radius.Packet, user string, v signin.View) (*radius.Packet, error) {
	sel := v.MFA.Selected
	if sel == method.OptionPush && s.Push != nil {
		pctx, cancel := context.WithTimeout(ctx, s.PushTimeout)
		after, err := s.Push.PushAndWait(pctx, c.tenantID, v.FlowID)
		cancel()
		switch {
		case err == nil && after.State != signin.StateMFA:
			return s.outcome(ctx, c, req, user, after)
		case err == nil:
			v = after // still at MFA: continue with a code
			sel = v.MFA.Selected
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			return reject(req, msgPushTimedOut), nil
		default:
			return fromError(req, err)
		}
	}
	if !challengeable(sel) {
		alt, ok := codeOption(v.MFA.Options)
		if !ok {
			return reject(req, msgNoCodeMethod), nil
		}
		var err error
		if v, err = s.Engine.Select(ctx, c.tenantID, v.FlowID, alt); err != nil {
			return fromError(req, err)
		}
		sel = alt
	}
	if sel == method.OptionSMS && !v.MFA.CodeSent {
		var err error
		if v, err = s.Engine.Select(ctx, c.tenantID, v.FlowID, sel); err != nil {
			return fromError(req, err)
		}
	}
	st, err := s.sealState(c, user, v.FlowID)
	if err != nil {
		return nil, err
	}
	resp := newResponse(req, radius.CodeAccessChallenge)
	resp.Add(rfc2865.State_Type, st)
	addReplyMessage(resp, prompt(sel, v.MFA.Destination))
	return resp, nil
}

// challengeable: an option answered by typing a code.
func challengeable(o method.Option) bool {
	switch o {
	case method.OptionAppCode, method.OptionSoftwareOath, method.OptionHardwareOath, method.OptionSMS:
		return true
	}
	return false
}

// codeOption picks the first offered option answered by a code; the
// engine lists the options strongest first.
func codeOption(opts []method.Option) (method.Option, bool) {
	for _, o := range opts {
		if challengeable(o) {
			return o, true
		}
	}
	return "", false
}

func prompt(o method.Option, destination string) string {
	switch o {
	case method.OptionHardwareOath:
		return msgHardwareToken
	case method.OptionSMS:
		if destination == "" {
			destination = "your phone"
		}
		return fmt.Sprintf(msgSMS, destination)
	}
	return msgAppCode
}

func reject(req *radius.Packet, msg string) *radius.Packet {
	resp := newResponse(req, radius.CodeAccessReject)
	if msg != "" {
		addReplyMessage(resp, msg)
	}
	return resp
}

// fromError rejects with the engine's message when it is one meant for
// the user; anything else (the store is down) is not answered, so the
// gateway retries or tries another server.
func fromError(req *radius.Packet, err error) (*radius.Packet, error) {
	if ae, ok := apperr.As(err); ok {
		return reject(req, ae.Message), nil
	}
	return nil, err
}

// sealState makes the State of a challenge: the flow id, the client and
// the user name, sealed with the master key so the gateway (and anyone
// who sees the packet) holds an opaque token, while any node can open it.
// A State from another client or for another user name does not open.
func (s *Server) sealState(c client, user, flowID string) ([]byte, error) {
	sealed, err := s.Keys.Seal([]byte(flowID+"\n"+c.id+"\n"+userTag(user)), stateAAD)
	if err != nil {
		return nil, fmt.Errorf("seal state: %w", err)
	}
	if len(sealed) > 253 {
		return nil, fmt.Errorf("seal state: %d octets do not fit an attribute", len(sealed))
	}
	return []byte(sealed), nil
}

func (s *Server) openState(st []byte, c client, user string) (string, bool) {
	pt, err := s.Keys.Open(string(st), stateAAD)
	if err != nil {
		return "", false
	}
	parts := strings.Split(string(pt), "\n")
	if len(parts) != 3 || parts[1] != c.id || subtle.ConstantTimeCompare([]byte(parts[2]), []byte(userTag(user))) != 1 {
		return "", false
	}
	return parts[0], true
}

// userTag is a short digest of the user name as the gateway sends it,
// enough to bind a State to it.
func userTag(user string) string {
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(user))))
	return hex.EncodeToString(h[:8])
}
