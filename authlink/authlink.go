// Package authlink hands a merchant the platform's authorisation page as a link and a QR image that
// never expire. A pre-auth code lives 10 to 30 minutes, so an authorisation URL cannot be printed or
// saved; and inside the merchant-admin mini program the URL cannot be opened at all, so the merchant
// saves a QR code and scans it. Handler serves a short landing URL on the platform's authorisation
// domain: every open creates a fresh pre-auth code and sends the browser on to WeChat's PC page or,
// inside WeChat on a phone, to the mobile page. QRCodePNG draws that landing URL as a PNG (with an
// optional logo). TrialQRCode serves a mini program's trial-version QR code the same way: fetched
// fresh on every open.
//
// The package sits above component (and miniprogram) and below the application: component keeps to
// WeChat's API, and the image drawing (github.com/skip2/go-qrcode) and the HTTP pages live here.
package authlink

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Component is what Handler needs of the platform: *component.Client is one.
type Component interface {
	PreAuthCode(ctx context.Context) (*component.PreAuthCode, error)
	AuthURL(preAuthCode, redirectURI string, opts component.AuthURLOptions) (string, error)
	MobileAuthURL(preAuthCode, redirectURI string, opts component.AuthURLOptions) (string, error)
}

// Page chooses WeChat's authorisation page.
type Page int

// Values of Page.
const (
	// PageAuto takes the mobile page inside WeChat on a phone (IsWeChatMobile) and the PC page
	// elsewhere. A request may force one with the query parameter page=pc or page=mobile.
	PageAuto Page = iota
	// PagePC is the PC page, where the merchant's administrator scans a QR code.
	PagePC
	// PageMobile is the mobile page (bindcomponent), which works only inside WeChat.
	PageMobile
)

// Config configures a Handler.
type Config struct {
	// Component creates the pre-auth codes and builds the URLs. Required.
	Component Component
	// RedirectURI is where WeChat sends the merchant after consent: an absolute URL on the
	// platform's authorisation initiation domain. Required.
	RedirectURI string
	// Options restrict the accounts listed. A request may narrow them with the query parameters
	// auth_type (1 to 6) and biz_appid, so one handler serves links for every merchant
	// (https://auth.example.com/wx/authorize?biz_appid=wx…).
	Options component.AuthURLOptions
	// Page forces one page; PageAuto (the zero value) chooses by User-Agent.
	Page Page
	// MaxPerMinute bounds the pre-auth codes the handler asks WeChat for, per minute and per
	// instance (0 takes DefaultMaxPerMinute): each open costs a call of the platform's daily API
	// quota, and the landing URL is public. Opens beyond it answer 429.
	MaxPerMinute int
	// Logger receives the failures (no secret is logged); nil logs nothing.
	Logger *slog.Logger
}

// DefaultMaxPerMinute is Config.MaxPerMinute's default.
const DefaultMaxPerMinute = 60

// Handler serves the landing URL of the authorisation link. See New.
type Handler struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	mu        sync.Mutex
	window    time.Time // start of the current minute
	opened    int       // codes asked for in it
	perMinute int
}

// New returns the Handler of cfg, after checking it.
func New(cfg Config) (*Handler, error) {
	if cfg.Component == nil {
		return nil, wxerr.Invalid("Component", "required")
	}
	u, err := url.Parse(cfg.RedirectURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, wxerr.Invalid("RedirectURI", "an absolute http(s) URL on the authorisation domain")
	}
	if cfg.Page < PageAuto || cfg.Page > PageMobile {
		return nil, wxerr.Invalid("Page", "PageAuto, PagePC or PageMobile")
	}
	if cfg.MaxPerMinute < 0 {
		return nil, wxerr.Invalid("MaxPerMinute", "not negative")
	}
	if cfg.MaxPerMinute == 0 {
		cfg.MaxPerMinute = DefaultMaxPerMinute
	}
	l := cfg.Logger
	if l == nil {
		l = slog.New(discard{})
	}
	return &Handler{cfg: cfg, log: l, now: time.Now, perMinute: cfg.MaxPerMinute}, nil
}

// allow takes one of the minute's pre-auth codes (a fixed one-minute window).
func (h *Handler) allow() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if now.Sub(h.window) >= time.Minute {
		h.window, h.opened = now, 0
	}
	if h.opened >= h.perMinute {
		return false
	}
	h.opened++
	return true
}

// IsWeChatMobile reports whether userAgent is WeChat's in-app browser on a phone (MicroMessenger,
// but not the Windows or macOS desktop client), where the mobile authorisation page works.
func IsWeChatMobile(userAgent string) bool {
	return strings.Contains(userAgent, "MicroMessenger") &&
		!strings.Contains(userAgent, "WindowsWechat") && !strings.Contains(userAgent, "MacWechat")
}

// page returns the page to send r to.
func (h *Handler) page(r *http.Request) Page {
	switch r.URL.Query().Get("page") {
	case "pc":
		return PagePC
	case "mobile":
		return PageMobile
	}
	if h.cfg.Page != PageAuto {
		return h.cfg.Page
	}
	if IsWeChatMobile(r.UserAgent()) {
		return PageMobile
	}
	return PagePC
}

// options returns the handler's options narrowed by the request's query.
func (h *Handler) options(r *http.Request) (component.AuthURLOptions, error) {
	o := h.cfg.Options
	q := r.URL.Query()
	if s := q.Get("auth_type"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 6 {
			return o, wxerr.Invalid("auth_type", "1 to 6")
		}
		o.AuthType = component.AuthType(n)
	}
	if s := q.Get("biz_appid"); s != "" {
		if !validAppID(s) {
			return o, wxerr.Invalid("biz_appid", "an appid")
		}
		o.BizAppID = s
	}
	return o, nil
}

func validAppID(s string) bool {
	if len(s) < 3 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// URL creates a fresh pre-auth code and returns WeChat's authorisation URL for page (PagePC or
// PageMobile; PageAuto is PagePC).
func (h *Handler) URL(ctx context.Context, page Page, opts component.AuthURLOptions) (string, error) {
	code, err := h.cfg.Component.PreAuthCode(ctx)
	if err != nil {
		return "", err
	}
	if page == PageMobile {
		return h.cfg.Component.MobileAuthURL(code.Code, h.cfg.RedirectURI, opts)
	}
	return h.cfg.Component.AuthURL(code.Code, h.cfg.RedirectURI, opts)
}

// landing is the page the handler answers. WeChat's authorisation pages check that the browser comes
// from a page on the platform's authorisation domain (its Referer), and a 302 would pass on the
// Referer of whatever page linked to the landing URL (none for a scanned QR code); so the landing URL
// answers this small page on the domain, which moves on at once by script, with a link as fallback.
var landing = template.Must(template.New("landing").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="origin"><title>授权 / Authorise</title></head>
<body><p><a id="go" href="{{.}}">前往微信授权 / Continue to WeChat</a></p>
<script>location.replace(document.getElementById("go").href)</script></body></html>
`))

// ServeHTTP creates a fresh pre-auth code and answers a page that sends the browser on to WeChat's
// authorisation page (PC or mobile, see Page). The answer is never cached. A WeChat failure answers
// 502; a bad auth_type or biz_appid in the query 400.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	opts, err := h.options(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodHead {
		// Link previews probe with HEAD: answer without spending a pre-auth code.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		return
	}
	if !h.allow() {
		w.Header().Set("Retry-After", "60")
		http.Error(w, "too many authorisation requests; try again in a minute", http.StatusTooManyRequests)
		return
	}
	target, err := h.URL(r.Context(), h.page(r), opts)
	if err != nil {
		h.log.LogAttrs(r.Context(), slog.LevelError, "authlink: cannot build the authorisation URL", slog.String("error", err.Error()))
		var apiErr *wxerr.APIError
		msg := "WeChat is unavailable; try again in a minute"
		if errors.As(err, &apiErr) {
			msg = fmt.Sprintf("WeChat refused (errcode %d); try again later", apiErr.Code)
		}
		http.Error(w, msg, http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Referrer-Policy", "origin")
	_ = landing.Execute(w, target)
}

type discard struct{}

func (discard) Enabled(context.Context, slog.Level) bool  { return false }
func (discard) Handle(context.Context, slog.Record) error { return nil }
func (d discard) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discard) WithGroup(string) slog.Handler           { return d }
