package pay

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Hosts of WeChat Pay API v3; wechatpay-go's services always address the first one.
const (
	APIHost       = "api.mch.weixin.qq.com"
	APIHostBackup = "api2.mch.weixin.qq.com"
)

// DefaultTimeout bounds each WeChat Pay request when no *http.Client is given.
const DefaultTimeout = 30 * time.Second

// Config is the identity of the platform's payment setup.
type Config struct {
	// Merchants finds each merchant's configuration by authorizer appid. Required.
	Merchants MerchantSource
	// ServiceProvider is the platform's service-provider account; required only when some merchant
	// is in partner mode (ModePartner).
	ServiceProvider *ServiceProvider
}

// Option configures a Client.
type Option func(*options) error

type options struct {
	httpClient *http.Client
	baseURL    *url.URL
	logger     *slog.Logger
}

// WithHTTPClient makes the Client send every WeChat Pay request through hc (its Transport, Timeout
// and so on). The default is an http.Client with DefaultTimeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return wxerr.Invalid("http_client", "must not be nil")
		}
		o.httpClient = hc
		return nil
	}
}

// WithBaseURL sends the requests meant for https://api.mch.weixin.qq.com to base instead, e.g. the
// URL of a wxtest/paytest emulator. Request signatures cover the API path and query, not the host,
// so they stay valid. A path prefix in base is put in front of the API path on the wire but is not
// signed: use one only with a proxy that strips it before WeChat Pay (or the emulator) sees it.
func WithBaseURL(base string) Option {
	return func(o *options) error {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return wxerr.Invalid("base_url", "an absolute http or https URL")
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return wxerr.Invalid("base_url", "no query or fragment")
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath = ""
		o.baseURL = u
		return nil
	}
}

// WithLogger makes the Client log each call (operation, appid, mode, duration, error) at Debug level,
// and failures at Warn. Secrets are never logged. The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return wxerr.Invalid("logger", "must not be nil")
		}
		o.logger = l
		return nil
	}
}

// Client calls WeChat Pay API v3 for the merchants of a third-party platform, picking each merchant's
// configuration by authorizer appid and the direct or service-provider API by its mode. Request
// signing, response verification and notification decryption are wechatpay-go's. A Client is safe
// for concurrent use; create one per platform.
type Client struct {
	merchants  MerchantSource
	sp         *ServiceProvider
	spClient   *core.Client
	httpClient *http.Client
	logger     *slog.Logger
}

// New validates cfg and the options and returns a Client.
func New(cfg Config, opts ...Option) (*Client, error) {
	if cfg.Merchants == nil {
		return nil, wxerr.Invalid("merchants", "a MerchantSource is required")
	}
	o := options{}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	hc := o.httpClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	if o.baseURL != nil {
		redirected := *hc
		redirected.Transport = &redirectTransport{base: o.baseURL, next: hc.Transport}
		hc = &redirected
	}
	logger := o.logger
	if logger == nil {
		logger = slog.New(discardHandler{})
	}
	c := &Client{merchants: cfg.Merchants, httpClient: hc, logger: logger}
	if cfg.ServiceProvider != nil {
		if err := cfg.ServiceProvider.Validate(); err != nil {
			return nil, err
		}
		sp := *cfg.ServiceProvider
		sp.Account.PlatformCertificates = append([]*x509.Certificate(nil), sp.Account.PlatformCertificates...)
		c.sp = &sp
		sdk, err := c.sdkClient(&c.sp.Account)
		if err != nil {
			return nil, err
		}
		c.spClient = sdk
	}
	return c, nil
}

// String describes the Client without any configuration detail.
func (c *Client) String() string {
	if c.sp != nil {
		return "pay.Client{sp_mchid:" + c.sp.Account.MchID + "}"
	}
	return "pay.Client{}"
}

// Format writes String for every verb.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// sdkClient builds a wechatpay-go client that signs as acct and verifies answers with acct's
// WeChat Pay public key or platform certificates. Building one is cheap (no I/O, no key parsing).
func (c *Client) sdkClient(acct *Account) (*core.Client, error) {
	return core.NewClient(context.Background(),
		option.WithMerchantCredential(acct.MchID, acct.CertSerial, acct.PrivateKey),
		validatorOption{markedValidator{validators.NewWechatPayResponseValidator(acct.verifier())}},
		option.WithHTTPClient(c.httpClient),
	)
}

// target is one resolved merchant: its configuration and the wechatpay-go client that signs for it.
type target struct {
	appID   string
	m       Merchant
	acct    *Account // the signing account: the merchant's own, or the service provider's
	sdk     *core.Client
	partner bool
}

// resolve looks the merchant of appID up and prepares the client for its mode.
func (c *Client) resolve(ctx context.Context, appID string) (*target, error) {
	if strings.TrimSpace(appID) == "" {
		return nil, wxerr.Invalid("appid", "the authorizer appid is required")
	}
	m, err := c.merchants.Merchant(ctx, appID)
	if err != nil {
		return nil, fmt.Errorf("pay: merchant %q: %w", appID, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("pay: merchant %q: %w", appID, err)
	}
	if m.AppID != appID {
		return nil, fmt.Errorf("pay: merchant source returned appid %q for %q", m.AppID, appID)
	}
	t := &target{appID: appID, m: m}
	switch m.Mode() {
	case ModeDirect:
		t.acct = m.Direct
		if t.sdk, err = c.sdkClient(m.Direct); err != nil {
			return nil, fmt.Errorf("pay: merchant %q: %w", appID, err)
		}
	case ModePartner:
		if c.sp == nil {
			return nil, fmt.Errorf("pay: merchant %q: %w", appID, ErrNoServiceProvider)
		}
		t.acct, t.sdk, t.partner = &c.sp.Account, c.spClient, true
	}
	return t, nil
}

// fail converts an error of wechatpay-go into the SDK's: *APIError for WeChat Pay's error answers,
// ErrResponseNotVerified for an answer whose signature did not verify, else the error wrapped with
// the operation.
func fail(op string, err error) error {
	var ce *core.APIError
	if errors.As(err, &ce) {
		return &APIError{Op: op, StatusCode: ce.StatusCode, Code: ce.Code, Message: ce.Message,
			RequestID: ce.Header.Get("Request-Id"), cause: ce}
	}
	var ve *verifyError
	if errors.As(err, &ve) {
		return fmt.Errorf("wechatpay: %s: %w: %v", op, ErrResponseNotVerified, ve.err)
	}
	return fmt.Errorf("wechatpay: %s: %w", op, err)
}

// logCall records one call at Debug, or at Warn when it failed.
func (c *Client) logCall(ctx context.Context, op string, t *target, start time.Time, err error) {
	level := slog.LevelDebug
	if err != nil {
		level = slog.LevelWarn
	}
	if !c.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.String("op", op), slog.Duration("duration", time.Since(start))}
	if t != nil {
		attrs = append(attrs, slog.String("appid", t.appID), slog.String("mode", t.m.Mode().String()),
			slog.String("mchid", t.acct.MchID))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.logger.LogAttrs(ctx, level, "wechatpay call", attrs...)
}

// closeResult closes the body of an answer wechatpay-go did not consume.
func closeResult(r *core.APIResult) {
	if r != nil && r.Response != nil && r.Response.Body != nil {
		_ = r.Response.Body.Close()
	}
}

// verifyError marks an error of the response validator, so that fail can tell a signature that did
// not verify from a transport or decoding error (wechatpay-go returns all of them as plain errors).
type verifyError struct{ err error }

func (e *verifyError) Error() string { return e.err.Error() }
func (e *verifyError) Unwrap() error { return e.err }

// markedValidator is wechatpay-go's response validator with its errors marked as verifyError.
type markedValidator struct{ v auth.Validator }

func (m markedValidator) Validate(ctx context.Context, resp *http.Response) error {
	if err := m.v.Validate(ctx, resp); err != nil {
		return &verifyError{err: err}
	}
	return nil
}

func (m markedValidator) GetAcceptSerial(ctx context.Context) (string, error) {
	return m.v.GetAcceptSerial(ctx)
}

// validatorOption installs a validator in wechatpay-go's settings.
type validatorOption struct{ v auth.Validator }

func (o validatorOption) Apply(s *core.DialSettings) error {
	s.Validator = o.v
	return nil
}

// redirectTransport sends requests for WeChat Pay's hosts to base instead.
type redirectTransport struct {
	base *url.URL
	next http.RoundTripper
}

func (t *redirectTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	if req.URL.Host != APIHost && req.URL.Host != APIHostBackup {
		return next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	u := *req.URL
	u.Scheme, u.Host = t.base.Scheme, t.base.Host
	if t.base.Path != "" {
		u.Path = t.base.Path + req.URL.Path
		if req.URL.RawPath != "" {
			u.RawPath = t.base.Path + req.URL.RawPath
		}
	}
	r.URL, r.Host = &u, ""
	return next.RoundTrip(r)
}

// discardHandler is a slog.Handler that drops everything (slog.DiscardHandler needs Go 1.24).
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }
