package component

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/tokenstore"
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
	ttl     time.Duration // how long handled pushes and exchanged codes are remembered
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
		now = c.now // the platform's clock (WithClock), time.Now by default
	}
	if log == nil {
		log = c.log
	}
	ttl := recentTTL
	if skew > 0 && 2*skew+time.Minute > ttl {
		ttl = 2*skew + time.Minute
	}
	return receiver{c: c, maxBody: maxBody, skew: skew, now: now, log: log, ttl: ttl, flight: new(singleflight.Group)}, nil
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
	ts, nonce, sig := pushParams(r.URL)
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
	mkey := rc.memoryKey("", key)
	// Concurrent deliveries of one push (WeChat retries after about 5 seconds) share one dispatch.
	// It runs detached from the request: WeChat hanging up must not cut a credential write short.
	_, err, _ = rc.flight.Do(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), dispatchTimeout)
		defer cancel()
		claim, handled, err := rc.claim(ctx, mkey)
		if err != nil || handled {
			return nil, err // handled before (here or at another instance: a retry or a replay), or waited too long
		}
		if err := dispatch(ctx, plain); err != nil {
			rc.release(ctx, mkey, claim)
			return nil, err
		}
		rc.markHandled(ctx, mkey, claim)
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

// textPlain is the Content-Type of "success", shared by every answer (never modified).
var textPlain = []string{"text/plain; charset=utf-8"}

func replySuccess(w http.ResponseWriter) {
	w.Header()["Content-Type"] = textPlain
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

func pushKey(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// The handled-push memory and the exchanged-code memory live in the credential store (the shared
// store of a fleet, or the MemoryStore, which drops entries by age), for ttl, so that a retry or a
// replay at any instance is recognised and nothing is ever wiped. They are written by a
// compare-and-swap over nothing with a TTL (Redis SET NX PX).

func (rc *receiver) memoryKey(kind, key string) string { return rc.c.appID + ":push:" + kind + key }

// The handled-push memory of a push holds, under memoryKey("", pushKey(…)), either a claim
// (claimPrefix and a random owner, for pushClaimLease) while one delivery handles the push, or
// handledMark once it was handled.
const (
	handledMark = "1"
	claimPrefix = "pending:"
	// pushClaimLease is how long a delivery holds a push while it handles it: WeChat's answer window.
	// A delivery of the same push at another instance meanwhile waits for the holder's outcome. Once
	// the lease lapses (the holder died, or took longer than WeChat waits, and WeChat has retried),
	// the next delivery takes the push over.
	pushClaimLease = 5 * time.Second
	// pushClaimPoll is how often a waiting delivery reads the memory again.
	pushClaimPoll = 25 * time.Millisecond
)

// claim takes the push of memory key mkey for this delivery, by a compare-and-swap over nothing. It
// reports handled when the push was handled before, by any instance. While another delivery holds
// the push it waits (reading every pushClaimPoll) until that one marks it handled, releases it
// (failed) or its lease lapses. A store failure is logged and the push is handled without a claim
// (claim ""): handling a push twice beats dropping it. It returns an error only when ctx ends while
// it waits.
func (rc *receiver) claim(ctx context.Context, mkey string) (claim string, handled bool, err error) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	own := claimPrefix + hex.EncodeToString(b[:])
	for {
		ok, err := rc.c.creds.CompareAndSwap(ctx, mkey, "", tokenstore.Token{Value: own, ExpiresAt: time.Now().Add(pushClaimLease)})
		if err != nil {
			rc.warn(ctx, "cannot write the handled-push memory; handling the push without it", slog.String("error", err.Error()))
			return "", false, nil
		}
		if ok {
			return own, false, nil
		}
		held, err := rc.c.creds.Get(ctx, mkey)
		switch {
		case errors.Is(err, tokenstore.ErrNotFound):
			continue // released or lapsed since: take it
		case err != nil:
			rc.warn(ctx, "cannot read the handled-push memory; handling the push without it", slog.String("error", err.Error()))
			return "", false, nil
		case !strings.HasPrefix(held.Value, claimPrefix):
			return "", true, nil
		}
		t := time.NewTimer(pushClaimPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", false, fmt.Errorf("waiting for another delivery of the push: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// markHandled remembers the push of memory key mkey as handled (for ttl), over this delivery's claim
// (or over nothing when claim is ""). A failure is logged: a replay would then be handled again.
func (rc *receiver) markHandled(ctx context.Context, mkey, claim string) {
	ok, err := rc.c.creds.CompareAndSwap(ctx, mkey, claim, tokenstore.Token{Value: handledMark, ExpiresAt: time.Now().Add(rc.ttl)})
	switch {
	case err != nil:
		rc.warn(ctx, "cannot write the handled-push memory", slog.String("error", err.Error()))
	case !ok && claim != "":
		// The claim lapsed while the push was handled, and another delivery took it over: that one
		// writes the memory.
		rc.warn(ctx, "the push was handled after its claim lapsed; another delivery may handle it too")
	}
}

// release gives up this delivery's claim on a push it failed to handle, so that WeChat's retry, at
// any instance, handles it without waiting for the lease. A failure is logged: the claim lapses.
func (rc *receiver) release(ctx context.Context, mkey, claim string) {
	if claim == "" {
		return
	}
	if _, err := rc.c.creds.CompareAndDelete(ctx, mkey, claim); err != nil {
		rc.warn(ctx, "cannot release the push's claim; it lapses after "+pushClaimLease.String(), slog.String("error", err.Error()))
	}
}

// exchangeMemo is an exchanged authorisation code's result, remembered in the credential store (it
// holds tokens: never log it), and the refresh token stored before the exchange, which the result
// replaces.
type exchangeMemo struct {
	AppID        string     `json:"authorizer_appid"`
	AccessToken  string     `json:"access_token"`
	ExpiresAt    time.Time  `json:"expires_at"`
	RefreshToken string     `json:"refresh_token"`
	FuncInfo     []FuncInfo `json:"func_info"`
	Replaces     string     `json:"replaces"`
}

func (m *exchangeMemo) authorization() *Authorization {
	return &Authorization{AuthorizerAppID: m.AppID, AccessToken: m.AccessToken, ExpiresAt: m.ExpiresAt, RefreshToken: m.RefreshToken, FuncInfo: m.FuncInfo}
}

// exchangeMemoKey is the key of code's exchanged-code memory.
func (c *Client) exchangeMemoKey(code string) string {
	return c.appID + ":push:code:" + pushKey([]byte(code))
}

// recallExchange returns the remembered result of an exchanged code, or nil.
func (c *Client) recallExchange(ctx context.Context, key string) (*exchangeMemo, error) {
	s, err := c.readCred(ctx, key)
	if err != nil || s == "" {
		return nil, err
	}
	var m exchangeMemo
	if err := json.Unmarshal([]byte(s), &m); err != nil || m.AppID == "" || m.RefreshToken == "" {
		return nil, errors.New("component: undecodable exchanged-code memory") // never echo the value
	}
	return &m, nil
}

// rememberExchange remembers m under key, unless an exchange of the same code is remembered already
// (by another instance). A write whose outcome is unknown is settled by reading; a failure is logged
// (a retry would then try the code again, which WeChat refuses once it is used).
func (rc *receiver) rememberExchange(ctx context.Context, key string, m *exchangeMemo) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	for range casRounds {
		ok, err := rc.c.creds.CompareAndSwap(ctx, key, "", tokenstore.Token{Value: string(b), ExpiresAt: time.Now().Add(rc.ttl)})
		if err == nil && ok {
			return
		}
		cur, rerr := rc.c.readCred(ctx, key)
		if rerr != nil {
			rc.warn(ctx, "cannot write the exchanged-code memory", slog.String("error", cmp.Or(err, rerr).Error()))
			return
		}
		if cur != "" {
			return // ours landed, or another instance's exchange is remembered
		}
	}
}

// exchange is QueryAuth for a pushed code, as an authorisation event at at for the account appID (""
// when the push does not name it). A code already exchanged by an earlier delivery of the push, at any
// instance (WeChat retries after a 500, and codes may be single-use), is not exchanged again: its
// remembered result is applied again, which settles an earlier write whose outcome was unknown by
// reading the store (a remembered refresh token does not replace a rotation of itself: see
// putAuthorizedRefreshToken). A push older than the stored record is not exchanged: errSuperseded.
func (rc *receiver) exchange(ctx context.Context, code, appID string, at time.Time) (*Authorization, error) {
	c := rc.c
	key := c.exchangeMemoKey(code)
	m, err := c.recallExchange(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("component: read the exchanged-code memory: %w", err)
	}
	if m == nil {
		if appID != "" {
			newer, err := c.storedIsNewer(ctx, appID, at)
			if err != nil {
				return nil, err
			}
			if newer {
				return nil, errSuperseded
			}
		}
		var old string
		if appID != "" {
			if old, err = c.readCred(ctx, c.authorizerKey(appID, "refresh_token")); err != nil {
				return nil, fmt.Errorf("component: read refresh token of %s: %w", appID, err)
			}
		}
		a, err := c.queryAuth(ctx, code)
		if err != nil {
			if wxerr.CodeOf(err) == wxerr.CodeAuthCodeInvalid && appID != "" && c.authorisedSince(ctx, appID, at.Add(-authCodeTTL)) {
				// The code was consumed by a direct QueryAuth (the redirect page) within the code's
				// lifetime, whose authorisation is stored: this push changes nothing, and answering
				// 500 would only repeat it (WeChat refuses the code for good).
				return nil, errSuperseded
			}
			return nil, err
		}
		if a.AuthorizerAppID != appID {
			if old, err = c.readCred(ctx, c.authorizerKey(a.AuthorizerAppID, "refresh_token")); err != nil {
				return nil, fmt.Errorf("component: read refresh token of %s: %w", a.AuthorizerAppID, err)
			}
		}
		// Applied before it is remembered: until then no other delivery can write this refresh
		// token, so it may replace whatever is stored (fresh). Remembered whatever the outcome, so
		// that a retry applies it again (settling an unknown outcome) instead of exchanging again.
		err = c.storeAuthorization(ctx, a, old, at, true)
		rc.rememberExchange(ctx, key, &exchangeMemo{AppID: a.AuthorizerAppID, AccessToken: a.AccessToken,
			ExpiresAt: a.ExpiresAt, RefreshToken: a.RefreshToken, FuncInfo: a.FuncInfo, Replaces: old})
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	a := m.authorization()
	if err := c.storeAuthorization(ctx, a, m.Replaces, at, false); err != nil {
		return nil, err
	}
	return a, nil
}
