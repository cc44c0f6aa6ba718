// Package wxhttp is wxopen's one HTTP caller: every request to WeChat goes through Client.Do. It owns
// the base URL, timeouts, the User-Agent, token injection, JSON encoding, the errcode check (WeChat
// answers HTTP 200 for failures too), the retry-once on token errors, the bounded retry of idempotent
// calls, redaction of secrets, and the logging and observation hooks. resty stays inside this package.
package wxhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// The types of a call are public, in wxcall; the names below keep this package's code short.
type (
	TokenSource = wxcall.TokenSource
	Request     = wxcall.Request
	Upload      = wxcall.Upload
	CallInfo    = wxcall.CallInfo
	Hook        = wxcall.Hook
	RetryPolicy = wxcall.RetryPolicy
	Config      = wxcall.Config
)

// DefaultBaseURL is WeChat's API host.
const DefaultBaseURL = wxcall.DefaultBaseURL

// maxBody caps what is read of a response (QR code images are the largest answers).
const maxBody = 16 << 20

// Client sends requests to WeChat. It is safe for concurrent use.
type Client struct {
	rc      *resty.Client
	base    string
	timeout time.Duration
	log     *slog.Logger
	hook    Hook
	retry   RetryPolicy
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, wxerr.Invalid("base URL", "an absolute http(s) URL")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	own := *hc // the caller's settings (Jar, redirects, timeout) on a transport that never replays a write
	own.Transport = sendOnce{user: hc}
	rc := resty.NewWithClient(&own)
	rc.SetLogger(quietLogger{})
	ua := cfg.UserAgent
	if ua == "" {
		ua = "wxopen"
	}
	rc.SetHeader("User-Agent", ua)
	rc.SetRetryCount(0)
	c := &Client{rc: rc, base: base, timeout: cfg.Timeout, log: cfg.Logger, hook: cfg.Hook, retry: cfg.Retry}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.retry.MaxAttempts <= 0 {
		c.retry.MaxAttempts = 3
	}
	if c.retry.BaseDelay <= 0 {
		c.retry.BaseDelay = 100 * time.Millisecond
	}
	if c.retry.MaxDelay <= 0 {
		c.retry.MaxDelay = 2 * time.Second
	}
	return c, nil
}

// BaseURL returns the base URL requests go to.
func (c *Client) BaseURL() string { return c.base }

// Do sends req and decodes the JSON answer into out (which may be nil). A non-zero errcode is returned
// as *wxerr.APIError. On a token error (40001, 40014, 42001) the token that was sent is invalidated
// and the call is sent once more with a fresh token.
func (c *Client) Do(ctx context.Context, req *Request, out any) error {
	body, _, err := c.do(ctx, req, false)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("wxopen: %s %s: decode response: %w", req.Method, req.Path, err)
	}
	return nil
}

// DoBytes sends req and returns the raw body and its content type, for endpoints that answer with a
// file (a QR code image). A JSON answer is checked for errcode: a failure is a *wxerr.APIError.
func (c *Client) DoBytes(ctx context.Context, req *Request) ([]byte, string, error) {
	return c.do(ctx, req, true)
}

func (c *Client) do(ctx context.Context, req *Request, binary bool) ([]byte, string, error) {
	if req.Method == "" || !strings.HasPrefix(req.Path, "/") {
		return nil, "", fmt.Errorf("wxopen: bad request %q %q", req.Method, req.Path)
	}
	payload, ctype, err := encode(req)
	if err != nil {
		return nil, "", fmt.Errorf("wxopen: %s %s: encode request: %w", req.Method, req.Path, err)
	}
	tokenRetried := false
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, "", fmt.Errorf("wxopen: %s %s: %w", req.Method, req.Path, err)
		}
		var sent string
		if req.Token != nil {
			tok, err := req.Token.Token(ctx)
			if err != nil {
				return nil, "", fmt.Errorf("wxopen: %s %s: %w", req.Method, req.Path, err)
			}
			sent = tok.Value
		}
		body, rtype, status, err := c.attempt(ctx, req, attempt, sent, payload, ctype, binary)
		if err == nil {
			return body, rtype, nil
		}
		if req.Token != nil && !tokenRetried && wxerr.IsTokenInvalid(err) {
			tokenRetried = true
			if ierr := req.Token.Invalidate(ctx, sent); ierr != nil {
				return nil, "", errors.Join(err, ierr)
			}
			continue
		}
		if attempt >= c.retry.MaxAttempts || !c.retryable(req, status, err) {
			return nil, "", err
		}
		if werr := c.backoff(ctx, attempt); werr != nil {
			return nil, "", err
		}
	}
}

// retryable reports whether a failed attempt may be sent again: idempotent calls after a network
// error, a 5xx or -1; any call whose connection was never established.
func (c *Client) retryable(req *Request, status int, err error) bool {
	switch {
	case errors.Is(err, context.Canceled):
		return false
	case notSent(err):
		return true // the connection was never made: the request did not reach WeChat
	case !req.Idempotent:
		return false
	case wxerr.IsTemporary(err):
		return true
	}
	var he *wxerr.HTTPError
	if errors.As(err, &he) {
		return he.StatusCode >= 500
	}
	var ae *wxerr.APIError
	return !errors.As(err, &ae) && status == 0 // a network error or a per-attempt timeout
}

// notSent reports errors raised before the request could reach the server (dial failures).
func notSent(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

func (c *Client) backoff(ctx context.Context, attempt int) error {
	d := c.retry.BaseDelay << (attempt - 1)
	if d > c.retry.MaxDelay || d <= 0 {
		d = c.retry.MaxDelay
	}
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func encode(req *Request) ([]byte, string, error) {
	if req.Upload != nil {
		return encodeMultipart(req.Upload)
	}
	switch b := req.Body.(type) {
	case nil:
		return nil, "", nil
	case json.RawMessage:
		return b, "application/json; charset=utf-8", nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req.Body); err != nil {
		return nil, "", err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), "application/json; charset=utf-8", nil
}

func (c *Client) attempt(ctx context.Context, req *Request, attempt int, token string, payload []byte, ctype string, binary bool) (body []byte, rtype string, status int, err error) {
	op := req.Method + " " + req.Path
	start := time.Now()
	var code wxerr.Code
	var apiErr *wxerr.APIError
	defer func() {
		d := time.Since(start)
		var rid string
		if apiErr != nil {
			rid = apiErr.RequestID
		}
		if c.hook != nil {
			c.hook(ctx, CallInfo{Method: req.Method, Path: req.Path, AppID: req.AppID, Attempt: attempt, HTTPStatus: status,
				ErrCode: code, RequestID: rid, Duration: d, Err: err})
		}
		if c.log != nil && c.log.Enabled(ctx, slog.LevelDebug) {
			attrs := []slog.Attr{slog.String("method", req.Method), slog.String("path", req.Path),
				slog.Int("attempt", attempt), slog.Int("status", status), slog.Int("errcode", int(code)), slog.Duration("duration", d)}
			if req.AppID != "" {
				attrs = append(attrs, slog.String("appid", req.AppID))
			}
			if rid != "" {
				attrs = append(attrs, slog.String("rid", rid))
			}
			if err != nil {
				attrs = append(attrs, slog.String("error", Redact(err.Error())))
			}
			c.log.LogAttrs(ctx, slog.LevelDebug, "wxopen call", attrs...)
		}
	}()

	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if !req.Idempotent {
		actx = context.WithValue(actx, onceKey{}, true)
	}
	r := c.rc.R().SetContext(actx).SetDoNotParseResponse(true)
	target := c.base + req.Path
	if qs := encodeQuery(req, token); qs != "" {
		target += "?" + qs
	}
	if payload != nil {
		r.SetHeader("Content-Type", ctype).SetBody(payload)
	}
	resp, err := r.Execute(req.Method, target)
	if err != nil {
		return nil, "", 0, fmt.Errorf("wxopen: %s: %w", op, redactErr(err))
	}
	raw := resp.RawBody()
	defer raw.Close()
	status = resp.StatusCode()
	body, err = io.ReadAll(io.LimitReader(raw, maxBody+1))
	if err != nil {
		return nil, "", status, fmt.Errorf("wxopen: %s: read response: %w", op, redactErr(err))
	}
	if len(body) > maxBody {
		return nil, "", status, fmt.Errorf("wxopen: %s: response larger than %d bytes", op, maxBody)
	}
	if status != http.StatusOK {
		return nil, "", status, &wxerr.HTTPError{StatusCode: status, Op: op}
	}
	rtype = resp.Header().Get("Content-Type")
	if binary && !looksJSON(rtype, body) {
		return body, rtype, status, nil
	}
	code, err = checkErrcode(op, body)
	if err != nil {
		apiErr, _ = err.(*wxerr.APIError)
		if req.ErrorBody != nil && apiErr != nil {
			*req.ErrorBody = body
		}
		return nil, "", status, err
	}
	if binary {
		return nil, "", status, fmt.Errorf("wxopen: %s: expected a file, WeChat answered JSON without an errcode", op)
	}
	return body, rtype, status, nil
}

func looksJSON(ctype string, body []byte) bool {
	if strings.Contains(ctype, "json") || strings.HasPrefix(ctype, "text/") {
		return true
	}
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && ctype == ""
}

// encodeQuery is the query string of req with the token added under its parameter name.
func encodeQuery(req *Request, token string) string {
	qs := req.Query.Encode()
	if req.Token == nil {
		return qs
	}
	param := req.TokenParam
	if param == "" {
		param = "access_token"
	}
	tq := url.QueryEscape(param) + "=" + url.QueryEscape(token)
	if qs == "" {
		return tq
	}
	return qs + "&" + tq
}

// quietLogger keeps resty from printing: wxopen logs through slog only.
type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}

// onceKey marks (in a request's context) a call that must reach WeChat at most once per attempt.
type onceKey struct{}

// sendOnce is the transport of every request. net/http's Transport sends a request again by itself
// when a reused keep-alive connection breaks before the answer, if it deems the request replayable:
// GET and HEAD without a body are. Some of WeChat's writes are GETs (revertcoderelease, undocodeaudit,
// revertgrayrelease): for a call marked onceKey, sendOnce gives the request an empty body that cannot
// be rewound, which makes it not replayable (the empty body is not sent: the GET goes out as before).
// The lost answer then comes back as an error, for the caller to settle by reading. The transport is
// looked up on each request (user.Transport, else http.DefaultTransport), so a transport set on the
// caller's client later, as test mocks do, is used.
type sendOnce struct{ user *http.Client }

func (t sendOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.user.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	if replayable(r) && r.Context().Value(onceKey{}) != nil {
		r = r.Clone(r.Context())
		r.Body, r.GetBody = unrewindable{}, nil
	}
	return base.RoundTrip(r)
}

// replayable reports the requests net/http's Transport would send again by itself (its
// Request.isReplayable, less the Idempotency-Key headers, which wxopen never sets): a body-less GET,
// HEAD, OPTIONS or TRACE. Other requests are left alone: a body-less POST given a body would go out
// chunked.
func replayable(r *http.Request) bool {
	switch r.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return r.Body == nil || r.Body == http.NoBody
	}
	return false
}

// unrewindable is an empty request body without GetBody.
type unrewindable struct{}

func (unrewindable) Read([]byte) (int, error) { return 0, io.EOF }
func (unrewindable) Close() error             { return nil }
