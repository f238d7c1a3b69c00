package radius

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

// Why a request was dropped; the values label the drops counter.
const (
	dropMalformed     = "malformed"
	dropOversize      = "oversize"
	dropUnknownClient = "unknown_client"
	dropCode          = "unsupported_code"
	dropAuthenticator = "message_authenticator"
	dropDuplicate     = "duplicate_in_progress"
	dropOverload      = "overload"
	dropInternal      = "internal_error"
)

// errDrop is a request the server does not answer; reason labels it.
type errDrop struct {
	reason string
	detail string
}

func (e *errDrop) Error() string { return "radius: dropped (" + e.reason + "): " + e.detail }

func drop(reason, format string, args ...any) error {
	return &errDrop{reason: reason, detail: fmt.Sprintf(format, args...)}
}

// dropReason returns the reason of a dropped request, or dropInternal.
func dropReason(err error) string {
	var d *errDrop
	if errors.As(err, &d) {
		return d.reason
	}
	return dropInternal
}

// decodeRequest checks one datagram from a known client and parses it.
// Only Access-Request and Status-Server are served; both must carry a
// valid Message-Authenticator (RFC 3579 §3.2, RFC 5997 §3), which is what
// keeps a forged or tampered request (BlastRADIUS) from being answered.
// Anything else is an errDrop: RADIUS answers nothing to what it cannot
// trust.
func decodeRequest(raw, secret []byte) (*radius.Packet, error) {
	if len(raw) > radius.MaxPacketLength {
		return nil, drop(dropOversize, "%d bytes", len(raw))
	}
	if len(raw) < 20 {
		return nil, drop(dropMalformed, "%d bytes is shorter than a header", len(raw))
	}
	// RFC 2865 §3: octets beyond Length are padding and ignored; a
	// datagram shorter than Length is discarded.
	n := int(binary.BigEndian.Uint16(raw[2:4]))
	if n < 20 || n > len(raw) {
		return nil, drop(dropMalformed, "length field %d, datagram %d bytes", n, len(raw))
	}
	raw = raw[:n]
	switch radius.Code(raw[0]) {
	case radius.CodeAccessRequest, radius.CodeStatusServer:
	default:
		return nil, drop(dropCode, "code %d", raw[0])
	}
	p, err := radius.Parse(raw, secret)
	if err != nil {
		return nil, drop(dropMalformed, "%v", err)
	}
	if !validMessageAuthenticator(p, secret) {
		return nil, drop(dropAuthenticator, "missing or wrong Message-Authenticator")
	}
	return p, nil
}

// messageAuthenticator computes the HMAC-MD5 Message-Authenticator of p
// (RFC 2869 §5.14, RFC 3579 §3.2): over the whole packet as encoded, with
// the attribute's own value zeroed and, in a response, the request's
// authenticator in the header — which is what Packet.Response leaves there
// until Encode replaces it.
//
// Written here because layeh.com/radius (at the version we use) parses the
// attribute but neither computes nor checks it. Re-encoding a parsed
// packet gives back its bytes exactly (attributes are kept raw and in
// order), so the HMAC covers what the client sent.
func messageAuthenticator(p *radius.Packet, secret []byte) ([]byte, error) {
	q := *p
	q.Attributes = make(radius.Attributes, len(p.Attributes))
	zero := make(radius.Attribute, md5.Size)
	for i, a := range p.Attributes {
		if a.Type == rfc2869.MessageAuthenticator_Type {
			a = &radius.AVP{Type: a.Type, Attribute: zero}
		}
		q.Attributes[i] = a
	}
	b, err := q.MarshalBinary()
	if err != nil {
		return nil, err
	}
	mac := hmac.New(md5.New, secret)
	mac.Write(b)
	return mac.Sum(nil), nil
}

// validMessageAuthenticator: exactly one Message-Authenticator of 16
// octets, equal (in constant time) to the one computed.
func validMessageAuthenticator(p *radius.Packet, secret []byte) bool {
	var got radius.Attribute
	count := 0
	for _, a := range p.Attributes {
		if a.Type == rfc2869.MessageAuthenticator_Type {
			got = a.Attribute
			count++
		}
	}
	if count != 1 || len(got) != md5.Size {
		return false
	}
	want, err := messageAuthenticator(p, secret)
	return err == nil && hmac.Equal(got, want)
}

// encodeResponse signs a response: the Message-Authenticator first, then
// the Response Authenticator over everything (layeh's Encode).
func encodeResponse(resp *radius.Packet) ([]byte, error) {
	resp.Attributes.Del(rfc2869.MessageAuthenticator_Type)
	resp.Add(rfc2869.MessageAuthenticator_Type, make(radius.Attribute, md5.Size))
	mac, err := messageAuthenticator(resp, resp.Secret)
	if err != nil {
		return nil, err
	}
	resp.Set(rfc2869.MessageAuthenticator_Type, mac)
	return resp.Encode()
}

// newResponse starts the answer to req: Proxy-State attributes are copied
// back in order (RFC 2865 §5.33).
func newResponse(req *radius.Packet, code radius.Code) *radius.Packet {
	resp := req.Response(code)
	for _, a := range req.Attributes {
		if a.Type == rfc2865.ProxyState_Type {
			resp.Add(a.Type, a.Attribute)
		}
	}
	return resp
}

// addReplyMessage adds a text for the user, split over as many
// Reply-Message attributes as it needs (253 octets each, RFC 2865 §5.18).
func addReplyMessage(p *radius.Packet, msg string) {
	b := []byte(msg)
	for len(b) > 0 {
		n := min(len(b), 253)
		for n < len(b) && n > 0 && !utf8.RuneStart(b[n]) {
			n-- // never split a character between two attributes
		}
		p.Add(rfc2865.ReplyMessage_Type, radius.Attribute(b[:n]))
		b = b[n:]
	}
}
