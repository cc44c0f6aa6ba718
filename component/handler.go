package component

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Defaults of the push handlers.
const (
	// DefaultMaxBodyBytes caps a push body; WeChat's pushes are a few KiB.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultMaxClockSkew is how far a push's timestamp may be from the handler's clock.
	DefaultMaxClockSkew = 10 * time.Minute
)

// recentTTL is how long, at least, a handled push (and an exchanged authorisation code) is
// remembered, so that a replay is answered without acting twice. With a timestamp window the memory
// lasts twice the window and a minute more: a push whose timestamp runs up to MaxClockSkew ahead of
// the handler's clock is accepted for up to twice MaxClockSkew after it first arrives.
const recentTTL = 15 * time.Minute

// recentMax bounds the memory of handled pushes.
const recentMax = 4096

// dispatchTimeout bounds the handling of one push (store writes, api_query_auth, the callback).
const dispatchTimeout = time.Minute

// HandlerConfig configures Handler. Every callback is optional. A callback that returns an error
// makes the handler answer HTTP 500, so that WeChat pushes the event again (it retries a few times);
// automatic steps already done (a stored ticket, exchanged tokens, dropped tokens) are not undone, and
// a retried authorisation reuses the exchange already made.
type HandlerConfig struct {
	// OnVerifyTicket runs after the ticket is stored.
	OnVerifyTicket func(context.Context, *VerifyTicketEvent) error
	// OnAuthorized runs after the authorisation code was exchanged and the tokens stored (unless
	// ManualQueryAuth).
	OnAuthorized func(context.Context, *AuthorizedEvent) error
	// OnUpdateAuthorized is OnAuthorized for updateauthorized.
	OnUpdateAuthorized func(context.Context, *UpdateAuthorizedEvent) error
	// OnUnauthorized runs after the account's tokens and record were dropped.
	OnUnauthorized func(context.Context, *UnauthorizedEvent) error
	// OnFastRegister runs after a successful registration's code was exchanged (unless
	// ManualQueryAuth).
	OnFastRegister func(context.Context, *FastRegisterEvent) error
	// OnOther receives every push whose InfoType wxopen does not type.
	OnOther func(context.Context, *PlatformEvent) error

	// ManualQueryAuth turns off the automatic exchange of authorisation codes (authorized,
	// updateauthorized, successful notify_third_fasteregister). By default the handler calls
	// QueryAuth before the callback, so the refresh token is stored even if no callback is set:
	// a refresh token that is never stored means the merchant must authorise again.
	ManualQueryAuth bool

	// MaxBodyBytes caps the request body (default DefaultMaxBodyBytes); larger bodies get 413.
	MaxBodyBytes int64
	// MaxClockSkew is how far the timestamp query parameter may be from Now (default
	// DefaultMaxClockSkew); further pushes get 400. A negative value turns the check off, and with it
	// the protection against replays more than 15 minutes old.
	MaxClockSkew time.Duration
	// Now is WeChat's clock as the handler sees it (default time.Now). Set it to the emulator's clock
	// (wxtest Server.Now) when its clock does not follow real time.
	Now func() time.Time
	// Logger receives one line per refused or failed push (default: the Client's logger, if any).
	Logger *slog.Logger
}

// Handler is the http.Handler for the platform's authorisation event URL. It answers a POST push
// only after checking the body size, the timestamp window and msg_signature (constant time), and
// decrypting it (appid checked); it then stores what the push carries and calls the configured
// callback, and answers "success". Handling runs with the request's context values but not its
// cancellation (WeChat hangs up after about 5 seconds; a credential write must not be cut short), for
// at most a minute; concurrent deliveries of the same push share one handling. GET requests with signature and echostr (URL verification) are
// answered with echostr. Status codes:
//
//	200 success  handled, or a replay of a push already handled
//	400          missing parameters, stale timestamp, malformed or undecryptable body
//	401          bad signature
//	405          a method other than GET and POST
//	413          body larger than MaxBodyBytes
//	500          a store or WeChat call failed, or a callback returned an error: WeChat will retry
//
// Nothing is stored when a push is refused with a 4xx.
type Handler struct {
	rcv receiver
	cfg HandlerConfig
}

// NewHandler returns the Handler for c's authorisation event URL.
func NewHandler(c *Client, cfg HandlerConfig) (*Handler, error) {
	rcv, err := newReceiver(c, cfg.MaxBodyBytes, cfg.MaxClockSkew, cfg.Now, cfg.Logger)
	if err != nil {
		return nil, err
	}
	return &Handler{rcv: rcv, cfg: cfg}, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.rcv.serve(w, r, h.dispatch)
}

func (h *Handler) dispatch(ctx context.Context, plain []byte) error {
	var x platformXML
	if err := decodeXML(plain, &x); err != nil {
		return badRequest("malformed event XML: " + err.Error())
	}
	c := h.rcv.c
	if x.AppID != "" && x.AppID != c.appID {
		return badRequest("event AppId is not this platform's")
	}
	if x.InfoType == "" {
		return badRequest("event has no InfoType")
	}
	base := PlatformEvent{AppID: x.AppID, CreateTime: unixTime(x.CreateTime), InfoType: x.InfoType, Raw: plain}
	ctx = tokenstore.WithReason(ctx, "push:"+x.InfoType)
	switch x.InfoType {
	case InfoTypeVerifyTicket:
		if x.ComponentVerifyTicket == "" {
			return badRequest("component_verify_ticket push without ComponentVerifyTicket")
		}
		ev := &VerifyTicketEvent{PlatformEvent: base, Ticket: x.ComponentVerifyTicket}
		age := time.Duration(0)
		if x.CreateTime > 0 {
			age = max(h.rcv.now().Sub(base.CreateTime), 0)
		}
		if age < VerifyTicketTTL {
			if err := c.storeVerifyTicket(ctx, ev.Ticket, c.now().Add(VerifyTicketTTL-age)); err != nil {
				return err
			}
			ev.Stored = true
		} else {
			h.rcv.warn(ctx, "component_verify_ticket push older than its lifetime; not stored", slog.Duration("age", age))
		}
		return call(ctx, h.cfg.OnVerifyTicket, ev)

	case InfoTypeAuthorized, InfoTypeUpdateAuthorized:
		if x.AuthorizerAppid == "" {
			return badRequest(x.InfoType + " push without AuthorizerAppid")
		}
		ev := &AuthorizedEvent{
			PlatformEvent: base, AuthorizerAppID: x.AuthorizerAppid, AuthorizationCode: x.AuthorizationCode,
			AuthorizationCodeExpiredTime: x.AuthorizationCodeExpiredTime, PreAuthCode: x.PreAuthCode,
		}
		if !h.cfg.ManualQueryAuth && x.AuthorizationCode != "" {
			a, err := h.rcv.exchange(ctx, x.AuthorizationCode)
			if err != nil {
				return err
			}
			ev.Authorization = a
		}
		if x.InfoType == InfoTypeAuthorized {
			return call(ctx, h.cfg.OnAuthorized, ev)
		}
		return call(ctx, h.cfg.OnUpdateAuthorized, (*UpdateAuthorizedEvent)(ev))

	case InfoTypeUnauthorized:
		if x.AuthorizerAppid == "" {
			return badRequest("unauthorized push without AuthorizerAppid")
		}
		if err := c.ForgetAuthorizer(ctx, x.AuthorizerAppid); err != nil {
			return err
		}
		return call(ctx, h.cfg.OnUnauthorized, &UnauthorizedEvent{PlatformEvent: base, AuthorizerAppID: x.AuthorizerAppid})

	case InfoTypeFastRegister:
		ev := &FastRegisterEvent{
			PlatformEvent: base, MiniProgramAppID: x.RegAppID, Status: x.Status, AuthCode: x.AuthCode,
			Msg: x.Msg, Info: x.Info, TaskID: x.TaskID,
		}
		if !h.cfg.ManualQueryAuth && ev.Succeeded() && ev.AuthCode != "" {
			a, err := h.rcv.exchange(ctx, ev.AuthCode)
			if err != nil {
				return err
			}
			ev.Authorization = a
		}
		return call(ctx, h.cfg.OnFastRegister, ev)
	}
	return call(ctx, h.cfg.OnOther, &base)
}

// MessageHandlerConfig configures MessageHandler. Every callback is optional; a callback error makes
// the handler answer HTTP 500 so that WeChat pushes the message again.
type MessageHandlerConfig struct {
	// OnAuditSuccess receives weapp_audit_success.
	OnAuditSuccess func(context.Context, *AuditSuccessEvent) error
	// OnAuditFail receives weapp_audit_fail.
	OnAuditFail func(context.Context, *AuditFailEvent) error
	// OnAuditDelay receives weapp_audit_delay.
	OnAuditDelay func(context.Context, *AuditDelayEvent) error
	// OnMessage receives every other message and event.
	OnMessage func(context.Context, *Message) error

	// AppIDFromRequest returns the authorizer appid of a request, for routers that keep it elsewhere.
	// By default it is r.PathValue("appid") (a ServeMux pattern such as "/wechat/{appid}/callback"),
	// or else the last path segment, either only when it looks like an appid ("wx" and letters or
	// digits; "" otherwise); the last segment fits a message URL configured as ".../$APPID$".
	AppIDFromRequest func(r *http.Request) string

	// MaxBodyBytes, MaxClockSkew, Now and Logger are as in HandlerConfig.
	MaxBodyBytes int64
	MaxClockSkew time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
}

// MessageHandler is the http.Handler for the authorizers' message and event URL (configured on the
// platform with a $APPID$ segment). It checks and decrypts pushes like Handler (same status codes),
// dispatches the mini-program audit events to typed callbacks and everything else to OnMessage, and
// answers "success". It sends no passive replies.
type MessageHandler struct {
	rcv receiver
	cfg MessageHandlerConfig
}

// NewMessageHandler returns the MessageHandler for c's message/event URL.
func NewMessageHandler(c *Client, cfg MessageHandlerConfig) (*MessageHandler, error) {
	rcv, err := newReceiver(c, cfg.MaxBodyBytes, cfg.MaxClockSkew, cfg.Now, cfg.Logger)
	if err != nil {
		return nil, err
	}
	if cfg.AppIDFromRequest == nil {
		cfg.AppIDFromRequest = defaultAppID
	}
	return &MessageHandler{rcv: rcv, cfg: cfg}, nil
}

// ServeHTTP implements http.Handler.
func (h *MessageHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	appID := ""
	if r.Method == http.MethodPost {
		appID = h.cfg.AppIDFromRequest(r)
	}
	h.rcv.serve(w, r, func(ctx context.Context, plain []byte) error {
		return h.dispatch(ctx, appID, plain)
	})
}

func (h *MessageHandler) dispatch(ctx context.Context, appID string, plain []byte) error {
	var x messageXML
	if err := decodeXML(plain, &x); err != nil {
		return badRequest("malformed message XML: " + err.Error())
	}
	if x.MsgType == "" {
		return badRequest("message has no MsgType")
	}
	m := Message{
		AuthorizerAppID: appID, ToUserName: x.ToUserName, FromUserName: x.FromUserName,
		CreateTime: unixTime(x.CreateTime), MsgType: x.MsgType, Event: x.Event, Raw: plain,
	}
	if x.MsgType == "event" {
		switch x.Event {
		case EventAuditSuccess:
			return call(ctx, h.cfg.OnAuditSuccess, &AuditSuccessEvent{Message: m, SuccTime: unixTime(x.SuccTime)})
		case EventAuditFail:
			return call(ctx, h.cfg.OnAuditFail, &AuditFailEvent{Message: m, FailTime: unixTime(x.FailTime),
				Reason: x.Reason, ScreenShots: splitScreenShots(x.ScreenShot)})
		case EventAuditDelay:
			return call(ctx, h.cfg.OnAuditDelay, &AuditDelayEvent{Message: m, DelayTime: unixTime(x.DelayTime), Reason: x.Reason})
		}
	}
	return call(ctx, h.cfg.OnMessage, &m)
}

// defaultAppID is MessageHandlerConfig.AppIDFromRequest's default.
func defaultAppID(r *http.Request) string {
	if v := r.PathValue("appid"); v != "" {
		if looksLikeAppID(v) {
			return v
		}
		return ""
	}
	p := r.URL.Path
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	seg := p
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			seg = p[i+1:]
			break
		}
	}
	if looksLikeAppID(seg) {
		return seg
	}
	return ""
}

func looksLikeAppID(s string) bool {
	if len(s) < 3 || len(s) > 64 || s[0] != 'w' || s[1] != 'x' {
		return false
	}
	for i := 2; i < len(s); i++ {
		ch := s[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9') {
			return false
		}
	}
	return true
}

// call runs an optional callback.
func call[E any](ctx context.Context, f func(context.Context, *E) error, ev *E) error {
	if f == nil {
		return nil
	}
	if err := f(ctx, ev); err != nil {
		return &callbackError{err}
	}
	return nil
}

type callbackError struct{ err error }

func (e *callbackError) Error() string { return "callback: " + e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

// statusError is a push refused with a 4xx status.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func badRequest(msg string) error { return &statusError{http.StatusBadRequest, msg} }

// receiver is the HTTP side shared by Handler and MessageHandler.
type receiver struct {
	c       *Client
	maxBody int64
	skew    time.Duration
	now     func() time.Time
	log     *slog.Logger
	recent  *recent
	flight  *singleflight.Group
}

func newReceiver(c *Client, maxBody int64, skew time.Duration, now func() time.Time, log *slog.Logger) (receiver, error) {
	if c == nil {
		return receiver{}, wxerr.Invalid("client", "required")
	}
	if maxBody < 0 {
		return receiver{}, wxerr.Invalid("MaxBodyBytes", "0 (default) or more")
	}
	if maxBody == 0 {
		maxBody = DefaultMaxBodyBytes
	}
	if skew == 0 {
		skew = DefaultMaxClockSkew
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = c.log
	}
	ttl := recentTTL
	if skew > 0 && 2*skew+time.Minute > ttl {
		ttl = 2*skew + time.Minute
	}
	return receiver{c: c, maxBody: maxBody, skew: skew, now: now, log: log, recent: newRecent(now, ttl), flight: new(singleflight.Group)}, nil
}

func (rc *receiver) warn(ctx context.Context, msg string, attrs ...slog.Attr) {
	if rc.log != nil {
		rc.log.LogAttrs(ctx, slog.LevelWarn, "wxopen push: "+msg, attrs...)
	}
}

func (rc *receiver) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	rc.warn(r.Context(), msg, slog.Int("status", status), slog.String("method", r.Method), slog.String("path", r.URL.Path))
	http.Error(w, http.StatusText(status), status)
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request, dispatch func(context.Context, []byte) error) {
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet:
		rc.verifyURL(w, r)
		return
	default:
		w.Header().Set("Allow", "GET, POST")
		rc.refuse(w, r, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	q := r.URL.Query()
	ts, nonce, sig := q.Get("timestamp"), q.Get("nonce"), q.Get("msg_signature")
	if ts == "" || nonce == "" || sig == "" {
		rc.refuse(w, r, http.StatusBadRequest, "missing timestamp, nonce or msg_signature")
		return
	}
	if !rc.fresh(ts) {
		rc.refuse(w, r, http.StatusBadRequest, "timestamp outside the allowed window")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rc.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			rc.refuse(w, r, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		rc.refuse(w, r, http.StatusBadRequest, "cannot read body")
		return
	}
	plain, err := rc.c.crypt.DecryptMessage(sig, ts, nonce, body)
	if err != nil {
		if errors.Is(err, crypto.ErrSignature) {
			rc.refuse(w, r, http.StatusUnauthorized, "bad msg_signature")
			return
		}
		rc.refuse(w, r, http.StatusBadRequest, "cannot decrypt: "+err.Error())
		return
	}
	key := pushKey(plain)
	if rc.recent.seen(key) {
		replySuccess(w)
		return
	}
	// Concurrent deliveries of one push (WeChat retries after about 5 seconds) share one dispatch.
	// It runs detached from the request: WeChat hanging up must not cut a credential write short.
	_, err, _ = rc.flight.Do(key, func() (any, error) {
		if rc.recent.seen(key) {
			return nil, nil // handled by a flight that ended after the check above
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), dispatchTimeout)
		defer cancel()
		if err := dispatch(ctx, plain); err != nil {
			return nil, err
		}
		rc.recent.add(key, nil, true)
		return nil, nil
	})
	if err != nil {
		var se *statusError
		if errors.As(err, &se) {
			rc.refuse(w, r, se.status, se.msg)
			return
		}
		rc.warn(r.Context(), "handling failed; answering 500 so that WeChat retries", slog.String("error", err.Error()))
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	replySuccess(w)
}

func replySuccess(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "success")
}

// fresh reports whether the push timestamp ts is within the allowed window.
func (rc *receiver) fresh(ts string) bool {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 {
		return false
	}
	if rc.skew < 0 {
		return true
	}
	d := rc.now().Sub(time.Unix(sec, 0))
	return d <= rc.skew && d >= -rc.skew
}

// verifyURL answers WeChat's URL verification: GET ?signature&timestamp&nonce&echostr.
func (rc *receiver) verifyURL(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sig, ts, nonce, echo := q.Get("signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr")
	if sig == "" || ts == "" || nonce == "" || echo == "" {
		rc.refuse(w, r, http.StatusBadRequest, "URL verification without signature, timestamp, nonce or echostr")
		return
	}
	if !rc.c.crypt.VerifyURLSignature(sig, ts, nonce) {
		rc.refuse(w, r, http.StatusUnauthorized, "bad URL signature")
		return
	}
	if !plainEcho(echo) {
		rc.refuse(w, r, http.StatusBadRequest, "echostr is not plain text")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = io.WriteString(w, echo)
}

// plainEcho accepts the echostr values WeChat sends (digits, or base64-like text), never markup.
func plainEcho(s string) bool {
	if len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '+' || ch == '/' || ch == '=' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

// exchange is QueryAuth for a pushed code. A code exchanged by an earlier delivery of the same push
// (WeChat retries after a 500, and codes may be single-use) is not exchanged again: its result is
// reused, and stored again if storing failed the first time, so a store outage never loses the
// refresh token of a code WeChat has already consumed.
func (rc *receiver) exchange(ctx context.Context, code string) (*Authorization, error) {
	key := "code:" + pushKey([]byte(code))
	if e, ok := rc.recent.get(key); ok && e.auth != nil {
		if !e.stored {
			if err := rc.c.storeAuthorization(ctx, e.auth); err != nil {
				return nil, err
			}
			rc.recent.add(key, e.auth, true)
		}
		return e.auth, nil
	}
	a, err := rc.c.QueryAuth(ctx, code)
	if a != nil {
		rc.recent.add(key, a, err == nil)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

func pushKey(b []byte) string {
	sum := sha256.Sum256(b)
	return string(sum[:16])
}

// recent remembers handled pushes and exchanged codes for ttl by the handler's clock, at most
// recentMax of them.
type recent struct {
	mu  sync.Mutex
	m   map[string]recentEntry
	now func() time.Time
	ttl time.Duration
}

type recentEntry struct {
	at     time.Time
	auth   *Authorization // an exchanged code's result
	stored bool           // auth was stored
}

func newRecent(now func() time.Time, ttl time.Duration) *recent {
	return &recent{m: make(map[string]recentEntry), now: now, ttl: ttl}
}

func (r *recent) get(key string) (recentEntry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[key]
	if ok && r.now().Sub(e.at) > r.ttl {
		delete(r.m, key)
		return recentEntry{}, false
	}
	return e, ok
}

func (r *recent) seen(key string) bool {
	_, ok := r.get(key)
	return ok
}

func (r *recent) add(key string, a *Authorization, stored bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if len(r.m) >= recentMax {
		for k, e := range r.m {
			if now.Sub(e.at) > r.ttl {
				delete(r.m, k)
			}
		}
		if len(r.m) >= recentMax {
			clear(r.m) // a burst: forget rather than grow without bound
		}
	}
	r.m[key] = recentEntry{at: now, auth: a, stored: stored}
}
