// Package device is the device side of vakt's authenticator protocol
// (internal/method/push): enrolling with a one-time link, receiving
// pending challenges over Server-Sent Events or a long poll, and sending
// signed answers. The command-line companion (`vakt authenticator`) and
// the tests use it.
package device

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vakt-id/vakt/internal/method/push"
)

// Client is one enrolled device.
type Client struct {
	// Server is the scheme and host (and any path prefix) before
	// /{tenant}/api/authenticator/.
	Server   string
	Tenant   string
	DeviceID string
	Key      *ecdsa.PrivateKey
	HTTP     *http.Client
	// Now is the clock used for request timestamps (tests move it).
	Now func() time.Time
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Link is a parsed enrolment link.
type Link struct {
	Server, Tenant, Token string
}

// ParseLink reads an enrolment link: SERVER/{tenant}/api/authenticator/enroll#TOKEN.
func ParseLink(s string) (Link, error) {
	bad := errors.New("not an enrolment link: expected https://SERVER/TENANT/api/authenticator/enroll#TOKEN")
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !push.Token(u.Fragment, 64) {
		return Link{}, bad
	}
	const suffix = "/api/authenticator/enroll"
	if !strings.HasSuffix(u.Path, suffix) {
		return Link{}, bad
	}
	rest := strings.TrimSuffix(u.Path, suffix)
	i := strings.LastIndex(rest, "/")
	if i < 0 || rest[i+1:] == "" {
		return Link{}, bad
	}
	return Link{Server: u.Scheme + "://" + u.Host + rest[:i], Tenant: rest[i+1:], Token: u.Fragment}, nil
}

// Error is an error answer of the server.
type Error struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("server answered %d", e.Status)
	}
	return e.Message
}

func readError(resp *http.Response) error {
	var body struct {
		Error Error `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	body.Error.Status = resp.StatusCode
	return &body.Error
}

// Enrollment is the result of Enroll: the client and what the server
// told it.
type Enrollment struct {
	Client   *Client
	Response EnrollResponse
}

// EnrollResponse mirrors the server's answer (internal/authenticator).
type EnrollResponse struct {
	DeviceID          string `json:"deviceId"`
	TenantID          string `json:"tenantId"`
	UserPrincipalName string `json:"userPrincipalName"`
	TOTP              *struct {
		Secret    string `json:"secret"`
		Algorithm string `json:"algorithm"`
		Digits    int    `json:"digits"`
		Period    int    `json:"period"`
		Issuer    string `json:"issuer"`
	} `json:"totp,omitempty"`
	TestChallengeID string `json:"testChallengeId"`
}

// Enroll creates a key pair and registers it with the link.
func Enroll(ctx context.Context, hc *http.Client, link Link, name, platform, version string) (Enrollment, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Enrollment{}, err
	}
	pub, err := push.EncodePublicKey(&k.PublicKey)
	if err != nil {
		return Enrollment{}, err
	}
	body, _ := json.Marshal(map[string]string{"token": link.Token, "publicKey": pub, "displayName": name, "platform": platform, "appVersion": version})
	c := &Client{Server: link.Server, Tenant: link.Tenant, Key: k, HTTP: hc}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("enroll"), bytes.NewReader(body))
	if err != nil {
		return Enrollment{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http().Do(req)
	if err != nil {
		return Enrollment{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return Enrollment{}, readError(resp)
	}
	var out EnrollResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil {
		return Enrollment{}, fmt.Errorf("enrol: %w", err)
	}
	// Later requests name the tenant by id, whatever the link used.
	c.DeviceID, c.Tenant = out.DeviceID, out.TenantID
	return Enrollment{Client: c, Response: out}, nil
}

func (c *Client) path(endpoint string) string {
	u, _ := url.Parse(c.Server)
	p := ""
	if u != nil {
		p = u.Path
	}
	return p + "/" + c.Tenant + "/api/authenticator/" + endpoint
}

func (c *Client) url(endpoint string) string {
	return strings.TrimRight(c.Server, "/") + "/" + c.Tenant + "/api/authenticator/" + endpoint
}

// Sign returns the Authorization header for a request.
func (c *Client) Sign(method, path string, body []byte) (string, error) {
	nonce, err := push.NewNonce(rand.Reader)
	if err != nil {
		return "", err
	}
	ts := c.now().Unix()
	sig, err := push.Sign(rand.Reader, c.Key, push.RequestBytes(method, path, ts, nonce, body))
	if err != nil {
		return "", err
	}
	return push.Auth{DeviceID: c.DeviceID, Timestamp: ts, Nonce: nonce, Signature: sig}.Header(), nil
}

// NewRequest builds a signed request to an endpoint ("challenges",
// "stream", "answer"); query is appended unsigned.
func (c *Client) NewRequest(ctx context.Context, method, endpoint, query string, body []byte) (*http.Request, error) {
	auth, err := c.Sign(method, c.path(endpoint), body)
	if err != nil {
		return nil, err
	}
	u := c.url(endpoint)
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", auth)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// Pending asks for pending challenges, waiting up to wait for one.
func (c *Client) Pending(ctx context.Context, wait time.Duration) ([]push.Challenge, error) {
	req, err := c.NewRequest(ctx, http.MethodGet, "challenges", fmt.Sprintf("wait=%d", int(wait.Seconds())), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, readError(resp)
	}
	var out struct {
		Challenges []push.Challenge `json:"challenges"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, err
	}
	return out.Challenges, nil
}

// ErrRevoked: the server removed this device.
var ErrRevoked = errors.New("this device was removed from the account; enrol it again")

// Stream calls fn with each challenge the server streams, until ctx ends,
// the connection drops (an error) or the device is revoked (ErrRevoked).
func (c *Client) Stream(ctx context.Context, fn func(push.Challenge)) error {
	req, err := c.NewRequest(ctx, http.MethodGet, "stream", "", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return readError(resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 4096), 64<<10)
	var event, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			switch event {
			case "challenge":
				var ch push.Challenge
				if json.Unmarshal([]byte(data), &ch) == nil {
					fn(ch)
				}
			case "revoked":
				return ErrRevoked
			}
			event, data = "", ""
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data += strings.TrimPrefix(line, "data: ")
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

// AnswerBody builds the signed body of an answer.
func (c *Client) AnswerBody(ch push.Challenge, d push.Decision, number int) ([]byte, error) {
	if d != push.Approve {
		number = 0
	}
	sig, err := push.Sign(rand.Reader, c.Key, push.AnswerBytes(ch.ID, ch.Nonce, number, d))
	if err != nil {
		return nil, err
	}
	return json.Marshal(push.AnswerRequest{ChallengeID: ch.ID, Decision: d, Number: number, Signature: sig})
}

// Answer approves (with the number), denies or reports a challenge and
// returns the status the server recorded.
func (c *Client) Answer(ctx context.Context, ch push.Challenge, d push.Decision, number int) (push.Status, error) {
	body, err := c.AnswerBody(ch, d, number)
	if err != nil {
		return "", err
	}
	req, err := c.NewRequest(ctx, http.MethodPost, "answer", "", body)
	if err != nil {
		return "", err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", readError(resp)
	}
	var out struct {
		Status push.Status `json:"status"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil {
		return "", err
	}
	return out.Status, nil
}

// EncodeKey and DecodeKey keep the private key in the companion's file
// (PKCS #8, base64).
func EncodeKey(k *ecdsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// DecodeKey is the inverse of EncodeKey.
func DecodeKey(s string) (*ecdsa.PrivateKey, error) {
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, errors.New("device key: not an ECDSA P-256 key")
	}
	return ek, nil
}
