// Package wxopen is a Go SDK for WeChat third-party platforms (开放平台第三方平台, the "component"):
// receive WeChat's pushes, keep every credential fresh, onboard merchants' official accounts and mini
// programs, publish template code to them, and issue membership cards.
//
// Start with New, which wires the configuration, the stores, the HTTP client and the logger into a
// Platform, and hands out the services:
//
//	p, err := wxopen.New(wxopen.Config{ComponentAppID: "wx…", AppSecret: "…", Token: "…", EncodingAESKey: "…"},
//		wxopen.WithCredentialStore(durable), wxopen.WithTokenStore(cache))
//	h, err := p.Handler(component.HandlerConfig{})       // serve at the authorisation event URL
//	code, err := p.Component().PreAuthCode(ctx)           // then AuthURL / MobileAuthURL
//	acct := p.Authorizer("wx_merchant_appid")             // calls on the merchant's behalf
//
// Package map:
//
//	component        the platform: verify ticket, component token, pre-auth code and auth URLs,
//	                 api_query_auth, authorizer tokens, info/options/list, code templates, push handlers
//	authorizer       one authorised account: its access-token source and Do, the escape hatch
//	miniprogram      code commit/audit/release, domains, basic info, fast registration, login
//	openplatform     open-platform account binding (UnionID)
//	card             membership cards: api_ticket, create, cardExt for wx.addCard, codes, activation
//	pay              WeChat Pay JSAPI for merchants' mini programs, direct or as service provider (standalone)
//	crypto           WXBizMsgCrypt and mini-program data decryption; no I/O
//	tokenstore       Store interface, memory store, Manager; redisstore and sqlstore backends
//	wxerr            *APIError, named errcodes, sentinels, validation errors
//	wxtest           an in-process WeChat emulator for tests; wxtest/paytest for WeChat Pay
//
// Two kinds of state are kept apart: expiring tokens (WithTokenStore; a cache is fine) and durable
// credentials — the verify ticket, every authorizer's refresh token and authorisation record
// (WithCredentialStore; must never evict). Both default to memory, which loses them on restart.
package wxopen

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Version is the version of wxopen, sent in the User-Agent of every request ("wxopen/VERSION"). It is
// the one place the version is written; CHANGELOG.md has a section for it (checked by a test).
const Version = "0.1.0"

// Hook observes every attempt of every call to WeChat (metrics, tracing). It must not block. Its
// signature is func(ctx context.Context, info CallInfo).
type Hook = wxcall.Hook

// CallInfo describes one attempt of a call, for a Hook. It never carries a token. Its fields:
//
//	Method     string        // GET or POST
//	Path       string        // the API path, without the query string
//	AppID      string        // the authorizer (merchant) the call is for; empty for the platform's own calls
//	Attempt    int           // 1 for the first attempt
//	HTTPStatus int           // 0 when no answer came
//	ErrCode    wxerr.Code    // WeChat's errcode, 0 on success
//	RequestID  string        // WeChat's request id ("rid") of a refused call, as in wxerr.APIError
//	Duration   time.Duration // of this attempt
//	Err        error         // the attempt's error, nil on success
type CallInfo = wxcall.CallInfo

// RetryPolicy bounds the retries of idempotent calls after a network error, an HTTP 5xx or WeChat's
// "system busy" (-1). Writes are never retried. Its fields, whose zero values take the defaults:
//
//	MaxAttempts int           // including the first; default 3; 1 turns retries off
//	BaseDelay   time.Duration // default 100ms, doubled per attempt, with jitter
//	MaxDelay    time.Duration // default 2s
type RetryPolicy = wxcall.RetryPolicy

// Config identifies the third-party platform. Every field is required. Printing a Config with any fmt
// verb never shows the secret, the token or the key.
type Config struct {
	// ComponentAppID is the platform's appid.
	ComponentAppID string
	// AppSecret is the platform's appsecret.
	AppSecret string
	// Token is the message-check token configured on the platform.
	Token string
	// EncodingAESKey is the 43-character message encryption key configured on the platform.
	EncodingAESKey string
}

func (c Config) component() component.Config {
	return component.Config{AppID: c.ComponentAppID, AppSecret: c.AppSecret, Token: c.Token, EncodingAESKey: c.EncodingAESKey}
}

// String describes c without its secrets.
func (c Config) String() string {
	return "wxopen.Config{ComponentAppID: " + c.ComponentAppID + ", AppSecret: " + redacted(c.AppSecret) +
		", Token: " + redacted(c.Token) + ", EncodingAESKey: " + redacted(c.EncodingAESKey) + "}"
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

// Option configures New.
type Option func(*options) error

type options struct {
	http      wxcall.Config
	tokens    tokenstore.Store
	creds     tokenstore.Store
	tokenOpts []tokenstore.Option
	logger    *slog.Logger
	clock     func() time.Time
}

// WithHTTPClient sends every request through hc (its transport, proxy and TLS settings); hc is never
// modified. The default is a new http.Client.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return wxerr.Invalid("http client", "non-nil")
		}
		o.http.HTTPClient = hc
		return nil
	}
}

// WithBaseURL sends requests to base instead of https://api.weixin.qq.com (a proxy, or the wxtest
// emulator).
func WithBaseURL(base string) Option {
	return func(o *options) error {
		if base == "" {
			return wxerr.Invalid("base URL", "an absolute http(s) URL")
		}
		o.http.BaseURL = base
		return nil
	}
}

// WithTokenStore keeps expiring tokens (component and authorizer access tokens…) in s. A cache such
// as Redis is fine. The default is a tokenstore.MemoryStore.
func WithTokenStore(s tokenstore.Store) Option {
	return func(o *options) error {
		if s == nil {
			return wxerr.Invalid("token store", "non-nil")
		}
		o.tokens = s
		return nil
	}
}

// WithCredentialStore keeps durable credentials (the verify ticket, refresh tokens, authorisation
// records) in s, which must never evict them: SQL, or Redis with persistence and no eviction. The
// default is a tokenstore.MemoryStore, lost on restart.
func WithCredentialStore(s tokenstore.Store) Option {
	return func(o *options) error {
		if s == nil {
			return wxerr.Invalid("credential store", "non-nil")
		}
		o.creds = s
		return nil
	}
}

// WithLogger logs one debug line per request attempt (secrets redacted) and one warning per refused
// or failed push. The default logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		o.logger = l
		o.http.Logger = l
		return nil
	}
}

// WithTimeout bounds each attempt of a request (default 30s).
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return wxerr.Invalid("timeout", "positive")
		}
		o.http.Timeout = d
		return nil
	}
}

// WithHook calls h for every attempt of every request.
func WithHook(h Hook) Option {
	return func(o *options) error {
		o.http.Hook = h
		return nil
	}
}

// WithRetry sets the retry policy of idempotent calls.
func WithRetry(p RetryPolicy) Option {
	return func(o *options) error {
		if p.MaxAttempts < 0 || p.BaseDelay < 0 || p.MaxDelay < 0 {
			return wxerr.Invalid("retry policy", "no negative values")
		}
		o.http.Retry = p
		return nil
	}
}

// WithTokenOptions tunes the token managers (refresh margin, jitter, fetch timeout, lock lease…).
func WithTokenOptions(opts ...tokenstore.Option) Option {
	return func(o *options) error {
		o.tokenOpts = append(o.tokenOpts, opts...)
		return nil
	}
}

// WithClock sets the clock of every part of the Platform (default time.Now): the token managers
// (component, authorizer and card api_ticket), the verify ticket's lifetime, the times of
// authorisation records, and the push handlers' timestamp window (unless their config sets Now). In a
// test give it the emulator's clock, wxopen.WithClock(emu.Now), and the emulator's Advance behaves as
// real time would: each token is refreshed once when it falls due, and pushes stamped with the
// emulator's time are accepted. Leases and push memories kept in the stores keep the stores' clock.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return wxerr.Invalid("clock", "non-nil")
		}
		o.clock = now
		return nil
	}
}

// Platform is a WeChat third-party platform: the entry point of wxopen. It is safe for concurrent use;
// create one per platform at start-up and share it.
type Platform struct {
	caller        *authorizer.Caller
	comp          *component.Client
	tokens, creds tokenstore.Store
	logger        *slog.Logger
	cardTickets   *card.Tickets // one wx_card api_ticket cache for every Card client
	side          authorizer.Component
	icpLookups    *miniprogram.ICPLookups // one cache of the ICP look-up tables for every mini program
}

// New validates cfg and the options and returns a Platform. It sends nothing.
func New(cfg Config, opts ...Option) (*Platform, error) {
	var o options
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	o.http.UserAgent = "wxopen/" + Version
	caller, err := authorizer.NewCaller(o.http)
	if err != nil {
		return nil, err
	}
	if o.tokens == nil {
		o.tokens = tokenstore.NewMemoryStore()
	}
	if o.creds == nil {
		o.creds = tokenstore.NewMemoryStore()
	}
	copts := []component.Option{component.WithTokenOptions(o.tokenOpts...)}
	cardOpts := o.tokenOpts
	if o.clock != nil {
		copts = append(copts, component.WithClock(o.clock))
		cardOpts = append(cardOpts[:len(cardOpts):len(cardOpts)], tokenstore.WithClock(o.clock))
	}
	if o.logger != nil {
		copts = append(copts, component.WithLogger(o.logger))
	}
	comp, err := component.New(cfg.component(), caller, o.tokens, o.creds, copts...)
	if err != nil {
		return nil, err
	}
	p := &Platform{caller: caller, comp: comp, tokens: o.tokens, creds: o.creds, logger: o.logger,
		side: authorizer.Component{AppID: comp.AppID(), Token: comp.TokenSource()}}
	if p.cardTickets, err = card.NewTickets(o.tokens, p.Authorizer, cardOpts...); err != nil {
		return nil, err
	}
	p.icpLookups = miniprogram.NewICPLookups(0, o.clock)
	return p, nil
}

// String describes p without secrets.
func (p *Platform) String() string {
	if p == nil {
		return "wxopen.Platform(nil)"
	}
	return "wxopen.Platform{ComponentAppID: " + p.comp.AppID() + "}"
}

// GoString is String, for %#v.
func (p *Platform) GoString() string { return p.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (p *Platform) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, p.String()) }

// ComponentAppID returns the platform's appid.
func (p *Platform) ComponentAppID() string { return p.comp.AppID() }

// Component returns the platform's component client: verify ticket, tokens, authorisation,
// authorizer management, code templates.
func (p *Platform) Component() *component.Client { return p.comp }

// Authorizer returns the client for the authorised account appID: its access token is refreshed from
// the stored refresh token. It is cheap; call it per request (it is small enough to be inlined, so
// that a client that does not outlive the request costs no allocation).
func (p *Platform) Authorizer(appID string) *authorizer.Client {
	c := p.authorizer(appID)
	return &c
}

// authorizer builds the client of appID by value, so that Authorizer stays small enough to inline.
func (p *Platform) authorizer(appID string) authorizer.Client {
	return *authorizer.New(appID, p.caller, p.comp.AuthorizerTokenSource(appID), p.side)
}

// Handler returns the http.Handler for the platform's authorisation event URL (see
// component.Handler). The Platform's logger is used unless cfg names one. On an unauthorized push the
// account's card api_ticket is forgotten too, before cfg.OnUnauthorized runs.
func (p *Platform) Handler(cfg component.HandlerConfig) (*component.Handler, error) {
	cfg.OnUnauthorized = p.forgetCardTicket(cfg.OnUnauthorized)
	return component.NewHandler(p.comp, cfg)
}

// MessageHandler returns the http.Handler for the authorizers' message/event URL (see
// component.MessageHandler).
func (p *Platform) MessageHandler(cfg component.MessageHandlerConfig) (*component.MessageHandler, error) {
	return component.NewMessageHandler(p.comp, cfg)
}
