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

	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/wxerr"
	"golang.org/x/sync/singleflight"
)

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
