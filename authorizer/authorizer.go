// Package authorizer is one account (official account or mini program) that has authorised the
// platform: its access-token source, refreshed from the stored refresh token by the component package,
// and Do, the escape hatch for any endpoint wxopen has not typed yet. The miniprogram, openplatform and
// card packages build on it.
package authorizer

import (
	"context"
	"net/url"
	"strings"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// TokenSource supplies an access token and drops one WeChat refused, if it is still the current
// one. *tokenstore.Source implements it (component.Client.AuthorizerTokenSource, TokenSource).
type TokenSource interface {
	Token(ctx context.Context) (tokenstore.Token, error)
	Invalidate(ctx context.Context, stale string) error
}

// Component is the platform side an authorizer client may need: the component appid and its access
// token, for the few calls made with the component token on an authorizer's behalf
// (component jscode2session).
type Component struct {
	AppID string
	Token TokenSource
}

// Client calls WeChat on behalf of one authorizer appid. It is a cheap value over the platform's shared
// HTTP caller and token stores; get one from wxopen.Platform.Authorizer.
type Client struct {
	appID     string
	caller    *Caller
	tokens    TokenSource
	component Component
}

// New returns a Client for appID that sends requests through caller with tokens from tokens. It is
// wired by wxopen.Platform (Platform.Authorizer); a test may build one over NewCaller.
func New(appID string, caller *Caller, tokens TokenSource, component Component) *Client {
	return &Client{appID: appID, caller: caller, tokens: tokens, component: component}
}

// Key returns the store key under which state called name of authorizer appID is kept, for the
// platform componentAppID: "COMPONENT:authorizer:APPID:NAME". Namespacing by component appid lets
// several platforms share one store. Names in use: "access_token", "refresh_token", "authorization",
// "wx_card_ticket".
func Key(componentAppID, appID, name string) string {
	return componentAppID + ":authorizer:" + appID + ":" + name
}

// AppendKey appends Key(componentAppID, appID, name) to dst and returns the extended buffer, for
// lookups that build the key in a buffer of their own instead of allocating a string per call.
func AppendKey(dst []byte, componentAppID, appID, name string) []byte {
	dst = append(dst, componentAppID...)
	dst = append(dst, ":authorizer:"...)
	dst = append(dst, appID...)
	dst = append(dst, ':')
	return append(dst, name...)
}

// ParseKey splits a key made by Key into its parts; ok is false for a key of another layout.
func ParseKey(key string) (componentAppID, appID, name string, ok bool) {
	componentAppID, rest, ok := strings.Cut(key, ":authorizer:")
	if !ok {
		return "", "", "", false
	}
	appID, name, ok = strings.Cut(rest, ":")
	if !ok || componentAppID == "" || appID == "" || name == "" {
		return "", "", "", false
	}
	return componentAppID, appID, name, true
}

// Key returns Key(component appid, this appid, name).
func (c *Client) Key(name string) string { return Key(c.component.AppID, c.appID, name) }

// AppID returns the authorizer's appid.
func (c *Client) AppID() string { return c.appID }

// Component returns the platform side of this client.
func (c *Client) Component() Component { return c.component }

// Token returns the authorizer's current access token, refreshing it if needed.
func (c *Client) Token(ctx context.Context) (tokenstore.Token, error) {
	return c.tokens.Token(ctx)
}

// Request is a call to any WeChat endpoint with the authorizer's access token, for Do.
type Request struct {
	// Method is GET or POST.
	Method string
	// Path is the API path ("/wxa/get_category").
	Path string
	// Query holds query parameters; access_token is added by Do.
	Query url.Values
	// Body is sent as JSON; nil sends none.
	Body any
	// File, when set, sends the request as multipart/form-data instead of JSON: the file, and its
	// other form fields. It needs Method POST and no Body.
	File *File
	// Idempotent allows retries after network errors, 5xx and -1. Leave it false for writes.
	Idempotent bool
}

// File is a file Do uploads as multipart/form-data, for endpoints that take one (media uploads).
type File struct {
	// Field is the form field that carries the file ("media", "buffer"...). Required.
	Field string
	// Name is the file name sent. Required.
	Name string
	// ContentType is the file's content type (default application/octet-stream).
	ContentType string
	// Data is the file's content.
	Data []byte
	// Fields are other form fields sent with the file ("description"...).
	Fields map[string]string
}

// Do calls an endpoint with the authorizer's access token and decodes the JSON answer into out: the
// escape hatch for endpoints wxopen does not type yet, including those that take a file
// (Request.File). It checks errcode, retries once on a token error and redacts the token from errors
// like every typed call.
func (c *Client) Do(ctx context.Context, r Request, out any) error {
	if r.Method != "GET" && r.Method != "POST" {
		return wxerr.Invalid("method", "GET or POST")
	}
	req := &wxcall.Request{Method: r.Method, Path: r.Path, Query: r.Query, Body: r.Body, Idempotent: r.Idempotent}
	if f := r.File; f != nil {
		switch {
		case r.Method != "POST":
			return wxerr.Invalid("method", "POST to send a file")
		case r.Body != nil:
			return wxerr.Invalid("body", "a JSON body or a file, not both")
		case f.Field == "":
			return wxerr.Invalid("file.field", "required")
		case f.Name == "":
			return wxerr.Invalid("file.name", "required")
		}
		req.Upload = &wxcall.Upload{Field: f.Field, FileName: f.Name, ContentType: f.ContentType, Data: f.Data, Fields: f.Fields}
	}
	return c.Call(ctx, req, out)
}

// Call sends req with the authorizer's access token (query access_token) unless req already names a
// token source. It is for the packages of this module that build typed calls on Client.
func (c *Client) Call(ctx context.Context, req *RawRequest, out any) error {
	c.withToken(req)
	return c.caller.Do(ctx, req, out)
}

// CallBytes is Call for endpoints that answer with a file; it returns the body and its content type.
func (c *Client) CallBytes(ctx context.Context, req *RawRequest) ([]byte, string, error) {
	c.withToken(req)
	return c.caller.DoBytes(ctx, req)
}

// CallComponent sends req with the component access token in the query parameter param, for the calls
// WeChat makes with the platform's token on an authorizer's behalf.
func (c *Client) CallComponent(ctx context.Context, req *RawRequest, param string, out any) error {
	if c.component.Token == nil {
		return wxerr.Invalid("component", "this client was built without the component token")
	}
	req.Token, req.TokenParam = c.component.Token, param
	if req.AppID == "" {
		req.AppID = c.appID
	}
	return c.caller.Do(ctx, req, out)
}

// withToken names this authorizer in req (for the hook and the logs) and gives it the authorizer's
// access token unless req names another token source.
func (c *Client) withToken(req *wxcall.Request) {
	if req.AppID == "" {
		req.AppID = c.appID
	}
	if req.Token == nil {
		req.Token = c.tokens
		if req.TokenParam == "" {
			req.TokenParam = "access_token"
		}
	}
}
