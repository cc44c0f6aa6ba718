package authorizer

import "github.com/wxopen-go/wxopen/internal/wxhttp"

// The HTTP side that every client of a platform shares. wxopen.New builds one Caller and hands it to
// every client it makes; the names below make those types public, so that the constructors that take
// them (New, component.New, miniprogram.NewFastRegistration) can be used, and tested, without the
// Platform.

// Caller is the one HTTP caller of a platform: base URL, timeouts, the User-Agent, token injection,
// JSON, the errcode check (*wxerr.APIError), the retry once after a token error, bounded retries of
// idempotent calls, redaction of secrets, logging and the Hook. It is safe for concurrent use; build
// one with NewCaller and share it.
type Caller = wxhttp.Client

// CallerConfig configures NewCaller. Its fields, whose zero values take the defaults:
//
//	BaseURL    string             // default https://api.weixin.qq.com
//	HTTPClient *http.Client       // default: a new client; never modified
//	Timeout    time.Duration      // per attempt; default 30s
//	Logger     *slog.Logger       // optional; a debug line per attempt, secrets redacted
//	Hook       wxopen.Hook        // optional; func(ctx, wxopen.CallInfo), every attempt of every call
//	Retry      wxopen.RetryPolicy // retries of idempotent calls
//	UserAgent  string             // default "wxopen"
type CallerConfig = wxhttp.Config

// NewCaller returns a Caller for cfg. It sends nothing.
func NewCaller(cfg CallerConfig) (*Caller, error) { return wxhttp.New(cfg) }

// RawRequest is one call as Client.Call sends it: Request with the token made explicit. Its fields:
//
//	Method     string      // GET or POST
//	Path       string      // the API path, starting with "/"
//	Query      url.Values  // query parameters other than the token
//	Body       any         // encoded as JSON (json.RawMessage as it is); nil sends none
//	Upload     *Upload     // a multipart/form-data file instead of Body
//	Token      TokenSource // the token sent in TokenParam; Client.Call fills in the authorizer's
//	TokenParam string      // default "access_token"
//	Idempotent bool        // may be sent again after a network error, an HTTP 5xx or -1
//	AppID      string      // the authorizer the call is for, reported to the Hook; never sent
type RawRequest = wxhttp.Request

// Upload is a file a RawRequest sends as multipart/form-data. Its fields: Field (the form field,
// "media"), FileName, ContentType, Data []byte, and Fields map[string]string (other form fields).
type Upload = wxhttp.Upload
