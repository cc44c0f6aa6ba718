// Package wxcall holds the types of one call to WeChat: request, upload, hook and call info, retry
// policy, and the configuration of the HTTP caller (authorizer.NewCaller) that sends them. It is a
// leaf: it imports only the standard library, wxerr and tokenstore, and sends nothing itself.
package wxcall

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

// DefaultBaseURL is WeChat's API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

// TokenSource supplies the access token a request carries, and drops it when WeChat refuses it.
// *tokenstore.Source implements it.
type TokenSource interface {
	Token(ctx context.Context) (tokenstore.Token, error)
	Invalidate(ctx context.Context, stale string) error
}

// Request describes one WeChat API call.
type Request struct {
	// Method is the HTTP method, GET or POST.
	Method string
	// Path is the API path, starting with "/" ("/cgi-bin/component/api_query_auth").
	Path string
	// Query holds the query parameters other than the token.
	Query url.Values
	// Body is encoded as JSON (without HTML escaping, non-ASCII as raw UTF-8); nil sends no body.
	// A json.RawMessage is sent as it is.
	Body any
	// Upload, when set, sends a multipart/form-data body instead of Body.
	Upload *Upload
	// Token, when set, supplies the token sent in the query parameter TokenParam.
	Token TokenSource
	// TokenParam is the query name of the token (default "access_token").
	TokenParam string
	// Idempotent marks calls that may be sent again after a network error, an HTTP 5xx or WeChat's -1.
	// Writes (commit, submit_audit, release, card/create…) must leave it false: they are sent once.
	Idempotent bool
	// AppID is the authorizer the call is made for (with its token, or with the component token on its
	// behalf); empty for the platform's own calls. It is reported to the Hook, never sent.
	AppID string
	// ErrorBody, when set, receives the body of an answer with a non-zero errcode, for the few calls
	// whose refusals carry details (apply_icp_filing's hints).
	ErrorBody *[]byte
}

// Upload is a file sent as multipart/form-data.
type Upload struct {
	Field       string // form field name ("media")
	FileName    string
	ContentType string
	Data        []byte
	Fields      map[string]string // other form fields
}

// CallInfo describes one attempt of a call, for Hook.
type CallInfo struct {
	Method     string
	Path       string // without the query string: never carries a token
	AppID      string // the authorizer the call is made for; empty for the platform's own calls
	Attempt    int    // 1 for the first attempt
	HTTPStatus int    // 0 when no answer came
	ErrCode    wxerr.Code
	RequestID  string // WeChat's request id ("rid") of a refused call, for a ticket to WeChat support
	Duration   time.Duration
	Err        error // the attempt's error, nil on success
}

// Hook observes every attempt of every call (metrics, tracing, logging). It must not block.
type Hook func(ctx context.Context, info CallInfo)

// RetryPolicy bounds the retries of idempotent calls after a network error, an HTTP 5xx or errcode -1.
type RetryPolicy struct {
	MaxAttempts int           // including the first; default 3; 1 turns retries off
	BaseDelay   time.Duration // default 100ms, doubled per attempt, with jitter
	MaxDelay    time.Duration // default 2s
}

// Config configures the HTTP caller (authorizer.NewCaller). Zero values take the defaults.
type Config struct {
	BaseURL    string        // default DefaultBaseURL
	HTTPClient *http.Client  // default: a new client; never modified
	Timeout    time.Duration // per attempt; default 30s
	Logger     *slog.Logger  // optional; debug line per attempt, secrets redacted
	Hook       Hook          // optional
	Retry      RetryPolicy
	UserAgent  string // default "wxopen"; wxopen.New sends "wxopen/" + wxopen.Version
}
