package authorizer

import (
	"context"

	"github.com/wxopen-go/wxopen/internal/wxhttp"
	"github.com/wxopen-go/wxopen/wxcall"
)

// The HTTP side that every client of a platform shares. wxopen.New builds one Caller and hands it to
// every client it makes; the constructors that take one (New, component.New,
// miniprogram.NewFastRegistration) can be used, and tested, without the Platform.

// Caller is the one HTTP caller of a platform: base URL, timeouts, the User-Agent, token injection,
// JSON, the errcode check (*wxerr.APIError), the retry once after a token error, bounded retries of
// idempotent calls, redaction of secrets, logging and the Hook. It is safe for concurrent use; build
// one with NewCaller and share it.
type Caller struct {
	c *wxhttp.Client
}

// CallerConfig configures NewCaller; see wxcall.Config. Zero values take the defaults.
type CallerConfig = wxcall.Config

// NewCaller returns a Caller for cfg. It sends nothing.
func NewCaller(cfg CallerConfig) (*Caller, error) {
	c, err := wxhttp.New(cfg)
	if err != nil {
		return nil, err
	}
	return &Caller{c: c}, nil
}

// BaseURL returns the base URL requests go to.
func (c *Caller) BaseURL() string { return c.c.BaseURL() }

// Do sends req and decodes the JSON answer into out (which may be nil). A non-zero errcode is returned
// as *wxerr.APIError. On a token error (40001, 40014, 42001) the token that was sent is invalidated
// and the call is sent once more with a fresh token.
func (c *Caller) Do(ctx context.Context, req *RawRequest, out any) error {
	return c.c.Do(ctx, req, out)
}

// DoBytes sends req and returns the raw body and its content type, for endpoints that answer with a
// file (a QR code image). A JSON answer is checked for errcode: a failure is a *wxerr.APIError.
func (c *Caller) DoBytes(ctx context.Context, req *RawRequest) ([]byte, string, error) {
	return c.c.DoBytes(ctx, req)
}

// RawRequest is one call as Client.Call sends it; see wxcall.Request. Client.Call fills in the
// authorizer's token and appid.
type RawRequest = wxcall.Request

// Upload is a file a RawRequest sends as multipart/form-data; see wxcall.Upload.
type Upload = wxcall.Upload
