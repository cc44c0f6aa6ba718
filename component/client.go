package component

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// VerifyTicketTTL is how long a component_verify_ticket stays valid after WeChat pushed it.
const VerifyTicketTTL = 12 * time.Hour

// Config identifies a third-party platform. Every field is required. Printing a Config with any fmt
// verb shows only AppID; the secret, token and key never appear.
type Config struct {
	// AppID is the component appid.
	AppID string
	// AppSecret is the component appsecret.
	AppSecret string
	// Token is the message-check token configured on the platform (for push signatures).
	Token string
	// EncodingAESKey is the 43-character message encryption key configured on the platform.
	EncodingAESKey string
}

// String describes c without its secrets.
func (c Config) String() string {
	return fmt.Sprintf("component.Config{AppID: %s, AppSecret: %s, Token: %s, EncodingAESKey: %s}",
		c.AppID, redacted(c.AppSecret), redacted(c.Token), redacted(c.EncodingAESKey))
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (c Config) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

func redacted(s string) string {
	if s == "" {
		return "<empty>"
	}
	return "<redacted>"
}

// Option configures a Client. An option given an invalid value makes New return an error.
type Option func(*Client) error

// WithTokenOptions passes options (margin, jitter, locker, fetch timeout…) to the two token managers
// of the Client: the component access token's and the authorizers'.
func WithTokenOptions(opts ...tokenstore.Option) Option {
	return func(c *Client) error { c.managerOpts = append(c.managerOpts, opts...); return nil }
}

// WithClock sets the platform's clock (default time.Now; not nil): the expiry of its tokens (its token
// managers get tokenstore.WithClock), the verify ticket's lifetime, the times of authorisation
// records, and the push handlers' timestamp window unless their config sets Now. A test gives it the
// emulator's clock (wxtest.Server.Now), so that the emulator's Advance behaves as real time would.
// Leases and memories kept in the stores keep the stores' own clock.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error {
		if now == nil {
			return wxerr.Invalid("clock", "not nil")
		}
		c.now = now
		c.managerOpts = append(c.managerOpts, tokenstore.WithClock(now))
		return nil
	}
}

// WithLogger sets the logger the push handlers use when their config names none (nil: none).
func WithLogger(l *slog.Logger) Option { return func(c *Client) error { c.log = l; return nil } }

// Client is a third-party platform: its verify ticket, component access token, authorisations and the
// tokens of the accounts that authorised it. It is safe for concurrent use; create one per platform
// (wxopen.Platform does) and share it.
type Client struct {
	appID  string
	secret func() string // the AppSecret, behind a func so that fmt never prints it
	crypt  *crypto.MsgCrypt
	caller *authorizer.Caller
	tokens tokenstore.Store
	creds  tokenstore.Store
	log    *slog.Logger

	managerOpts []tokenstore.Option
	compTokens  *tokenstore.Manager
	compSource  *tokenstore.Source
	authzTokens *tokenstore.Manager

	// pending holds, by authorizer appid, a refresh-token write whose outcome the store could not
	// settle (it failed, and could not be read back): the refresh token WeChat issued and the one it
	// replaces. WeChat may already have retired the old one, so the next refresh of that appid settles
	// it first, by a CompareAndSwap over the old value (never a plain write; an authorisation is applied
	// again as its event, under the event lock, so that a revocation since wins). It is dropped once
	// settled, and when the authorizer is forgotten.
	pending sync.Map // appID -> *pendingWrite

	now func() time.Time
}

// New returns a Client for cfg that sends requests through caller and keeps expiring tokens in tokens
// and durable credentials in creds. A nil caller is a default client for api.weixin.qq.com; a nil store
// is a new tokenstore.MemoryStore. It is wired by wxopen.New; most users do not call it.
func New(cfg Config, caller *authorizer.Caller, tokens, creds tokenstore.Store, opts ...Option) (*Client, error) {
	if cfg.AppID == "" {
		return nil, wxerr.Invalid("component_appid", "required")
	}
	if cfg.AppSecret == "" {
		return nil, wxerr.Invalid("component_appsecret", "required")
	}
	crypt, err := crypto.NewMsgCrypt(cfg.Token, cfg.EncodingAESKey, cfg.AppID)
	if err != nil {
		return nil, fmt.Errorf("component: %w", err)
	}
	if caller == nil {
		if caller, err = authorizer.NewCaller(wxcall.Config{}); err != nil {
			return nil, err
		}
	}
	if tokens == nil {
		tokens = tokenstore.NewMemoryStore()
	}
	if creds == nil {
		creds = tokenstore.NewMemoryStore()
	}
	secret := cfg.AppSecret
	c := &Client{
		appID:  cfg.AppID,
		secret: func() string { return secret },
		crypt:  crypt,
		caller: caller,
		tokens: tokens,
		creds:  creds,
		now:    time.Now,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.compTokens, err = tokenstore.NewManager(tokens, c.fetchComponentToken, c.managerOpts...); err != nil {
		return nil, fmt.Errorf("component: %w", err)
	}
	c.compSource = c.compTokens.Source(c.componentTokenKey())
	if c.authzTokens, err = tokenstore.NewManager(tokens, c.fetchAuthorizerToken, c.managerOpts...); err != nil {
		return nil, fmt.Errorf("component: %w", err)
	}
	return c, nil
}

// AppID returns the component appid.
func (c *Client) AppID() string { return c.appID }

// MsgCrypt returns the platform's message crypto (Token, EncodingAESKey, component appid), for callers
// that decrypt or sign pushes themselves.
func (c *Client) MsgCrypt() *crypto.MsgCrypt { return c.crypt }

// String describes c without its secrets.
func (c *Client) String() string {
	if c == nil {
		return "component.Client(nil)"
	}
	return "component.Client{AppID: " + c.appID + "}"
}

// GoString is String, for %#v.
func (c *Client) GoString() string { return c.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

func (c *Client) componentTokenKey() string { return c.appID + ":component_access_token" }
func (c *Client) verifyTicketKey() string   { return c.appID + ":verify_ticket" }

func (c *Client) authorizerKey(appID, name string) string {
	return authorizer.Key(c.appID, appID, name)
}

// appIDFromAccessTokenKey recovers the authorizer appid from the key of its access token, whatever
// the layout of authorizer.Key.
func (c *Client) appIDFromAccessTokenKey(key string) string {
	prefix, suffix, _ := strings.Cut(c.authorizerKey("\x00", "access_token"), "\x00")
	s, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return ""
	}
	s, ok = strings.CutSuffix(s, suffix)
	if !ok {
		return ""
	}
	return s
}

// withReason annotates ctx with reason unless it already carries one (a push that triggers a call
// keeps naming the push).
func withReason(ctx context.Context, reason string) context.Context {
	if tokenstore.Reason(ctx) != "" {
		return ctx
	}
	return tokenstore.WithReason(ctx, reason)
}

// --- verify ticket -------------------------------------------------------------------------------

// VerifyTicket returns the stored component_verify_ticket and when it expires, or an error wrapping
// wxerr.ErrNoVerifyTicket when none is stored (or it has expired).
func (c *Client) VerifyTicket(ctx context.Context) (tokenstore.Token, error) {
	tok, err := c.creds.Get(ctx, c.verifyTicketKey())
	switch {
	case errors.Is(err, tokenstore.ErrNotFound), err == nil && (tok.IsZero() || tok.Expired(c.now())):
		return tokenstore.Token{}, fmt.Errorf("component %s: %w", c.appID, wxerr.ErrNoVerifyTicket)
	case err != nil:
		return tokenstore.Token{}, fmt.Errorf("component %s: read verify ticket: %w", c.appID, err)
	}
	return tok, nil
}

// SetVerifyTicket stores ticket as the platform's component_verify_ticket, valid for VerifyTicketTTL
// from now, unless the stored ticket is valid for longer (a newer push). Handler stores pushed tickets
// itself; this is for tickets obtained another way (a migration, or a push received by other
// software).
func (c *Client) SetVerifyTicket(ctx context.Context, ticket string) error {
	if ticket == "" {
		return wxerr.Invalid("component_verify_ticket", "required")
	}
	_, err := c.storeVerifyTicket(withReason(ctx, "manual:set_verify_ticket"), ticket, c.now().Add(VerifyTicketTTL))
	return err
}

// StartPushTicket asks WeChat to push a component_verify_ticket to the authorisation event URL now,
// for a platform that lost its ticket. The ticket arrives through Handler.
//
// WeChat: POST /cgi-bin/component/api_start_push_ticket
func (c *Client) StartPushTicket(ctx context.Context) error {
	return c.caller.Do(ctx, &wxcall.Request{
		Method: "POST", Path: "/cgi-bin/component/api_start_push_ticket",
		Body:       map[string]string{"component_appid": c.appID, "component_secret": c.secret()},
		Idempotent: true,
	}, nil)
}

// --- component access token ------------------------------------------------------------------------

// ComponentToken returns the component_access_token, fetching it with the stored verify ticket when
// it is missing or due. Without a stored ticket the error wraps wxerr.ErrNoVerifyTicket and no request
// is sent; 61004/61005/61006 answers are *wxerr.APIError with an operator hint.
//
// WeChat: POST /cgi-bin/component/api_component_token
func (c *Client) ComponentToken(ctx context.Context) (tokenstore.Token, error) {
	return c.compSource.Token(ctx)
}

// TokenSource returns the component access token's source: what authorizer.Component.Token and
// every component-token call use.
func (c *Client) TokenSource() *tokenstore.Source { return c.compSource }

func (c *Client) fetchComponentToken(ctx context.Context, _ string) (tokenstore.Token, error) {
	ticket, err := c.VerifyTicket(ctx)
	if err != nil {
		return tokenstore.Token{}, err
	}
	var out struct {
		Token     string `json:"component_access_token"`
		ExpiresIn int64  `json:"expires_in"`
	}
	err = c.caller.Do(ctx, &wxcall.Request{
		Method: "POST", Path: "/cgi-bin/component/api_component_token",
		Body: map[string]string{
			"component_appid":         c.appID,
			"component_appsecret":     c.secret(),
			"component_verify_ticket": ticket.Value,
		},
		Idempotent: true,
	}, &out)
	if err != nil {
		return tokenstore.Token{}, err
	}
	if out.Token == "" {
		return tokenstore.Token{}, errors.New("wxopen: POST /cgi-bin/component/api_component_token: answer has no component_access_token")
	}
	return tokenstore.Token{Value: out.Token, ExpiresAt: c.expiresAt(out.ExpiresIn)}, nil
}

// expiresAt turns WeChat's expires_in into a time; a missing value counts as WeChat's usual 7200 s.
func (c *Client) expiresAt(expiresIn int64) time.Time {
	if expiresIn <= 0 {
		expiresIn = 7200
	}
	return c.now().Add(time.Duration(expiresIn) * time.Second)
}

// componentCall sends req with the component access token in the query parameter
// component_access_token (or param when set).
func (c *Client) componentCall(ctx context.Context, req *wxcall.Request, param string, out any) error {
	req.Token = c.compSource
	req.TokenParam = param
	if req.TokenParam == "" {
		req.TokenParam = "component_access_token"
	}
	return c.caller.Do(ctx, req, out)
}

// ClearQuota resets the platform's own API call counters after a 45009 (the number of resets per
// month is limited).
//
// WeChat: POST /cgi-bin/component/clear_quota
func (c *Client) ClearQuota(ctx context.Context) error {
	return c.componentCall(ctx, &wxcall.Request{
		Method: "POST", Path: "/cgi-bin/component/clear_quota",
		Body: map[string]string{"component_appid": c.appID},
	}, "", nil)
}
