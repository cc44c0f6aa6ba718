// Package session logs in the users of merchants' mini programs through the platform and keeps their
// sessions on the server: the code from wx.login becomes an opaque random token (not a JWT), stored in
// a tokenstore.Store (Redis or SQL in production) with the user's appid, openid, unionid and WeChat's
// session key. The token can be validated, refreshed (sliding expiry) and revoked; the session key
// never leaves the server and is never printed. Manager.Middleware puts the session of a request in
// its context, and Manager.Mount serves the three endpoints a mini program calls (login/{code},
// is_valid_token, up_user_info).
//
// A session belongs to one merchant's mini program: ValidateFor (and the middleware, when the request
// names its mini program) refuses a token issued for another appid.
//
// Tokens are 256 random bits. The store holds a record under the SHA-256 of the token, never the
// token itself: whoever reads the store (a replica, a backup, a debugging session) cannot use what
// they read to act as a user, and the lookup stays one Get because the hash is deterministic. The
// tokens carry enough entropy that a fast hash is as safe as a slow one.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

// ErrInvalid is returned for a token that is malformed, unknown, revoked, or issued for another
// mini program. Tell the client only to log in again.
var ErrInvalid = errors.New("session: invalid token")

// ErrExpired is returned for a token whose session has expired. errors.Is(ErrExpired, ErrInvalid) is
// true, so callers that need no distinction check ErrInvalid only.
var ErrExpired = fmt.Errorf("%w: session expired", ErrInvalid)

// Defaults of the session lifetimes.
const (
	// DefaultTTL is how long a session lives after login or after its last Refresh.
	DefaultTTL = 24 * time.Hour
	// DefaultMaxAge bounds sliding expiry: no session outlives its login by more than this.
	DefaultMaxAge = 30 * 24 * time.Hour
	// DefaultKeyPrefix is put before every store key the Manager writes.
	DefaultKeyPrefix = "wxopen:session:"
)

// expiredGrace is how long a store keeps a session record after it expired, so that Validate can
// answer ErrExpired (rather than ErrInvalid) to a client that comes back shortly after.
const expiredGrace = time.Hour

// tokenBytes is the number of random bytes in a token (256 bits), tokenLen its length in base64url.
const (
	tokenBytes = 32
	tokenLen   = 43
)

// Session is one logged-in user of one merchant's mini program. The session key is held unexported
// and never printed; the token is printed redacted too (String, Format, LogValue, JSON).
type Session struct {
	// Token is the opaque bearer token handed to the mini program.
	Token string `json:"-"`
	// AppID is the merchant's mini program appid.
	AppID  string `json:"appid"`
	OpenID string `json:"openid"`
	// UnionID may be empty until known (from jscode2session, or from decrypted user data).
	UnionID string `json:"unionid,omitempty"`
	// UserID is the platform's own user id, from the Manager's Identities (empty without one).
	UserID    string    `json:"user_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`

	sessionKey string
}

// String describes s without its token and session key.
func (s Session) String() string {
	return fmt.Sprintf("session.Session{AppID:%s OpenID:%s UnionID:%s UserID:%s CreatedAt:%s ExpiresAt:%s Token:[redacted] SessionKey:[redacted]}",
		s.AppID, s.OpenID, s.UnionID, s.UserID, s.CreatedAt.Format(time.RFC3339), s.ExpiresAt.Format(time.RFC3339))
}

// GoString is String, for %#v.
func (s Session) GoString() string { return s.String() }

// Format makes every fmt verb print String.
func (s Session) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue makes slog log the session without its token and key.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("appid", s.AppID), slog.String("openid", s.OpenID),
		slog.String("unionid", s.UnionID), slog.String("user_id", s.UserID), slog.Time("expires_at", s.ExpiresAt))
}

// Loginer exchanges a wx.login code of the mini program appID for the user's WeChat session
// (component jscode2session). PlatformLogin adapts a wxopen.Platform; LoginFunc adapts a function.
type Loginer interface {
	Login(ctx context.Context, appID, code string) (*miniprogram.Session, error)
}

// LoginFunc is a function that is a Loginer.
type LoginFunc func(ctx context.Context, appID, code string) (*miniprogram.Session, error)

// Login calls f.
func (f LoginFunc) Login(ctx context.Context, appID, code string) (*miniprogram.Session, error) {
	return f(ctx, appID, code)
}

// MiniPrograms hands out a client per mini program; *wxopen.Platform is one.
type MiniPrograms interface {
	MiniProgram(appID string) *miniprogram.Client
}

// SessionChecker asks WeChat whether r.SessionKey is still the current key of the user r.OpenID of
// the mini program appID (checksession). A Loginer that is also a SessionChecker (PlatformLogin's
// is) enables Manager.CheckSession.
type SessionChecker interface {
	CheckSession(ctx context.Context, appID string, r miniprogram.CheckSessionRequest) error
}

// PlatformLogin returns the Loginer that logs users in through p (component jscode2session with the
// platform's token): session.New(store, session.PlatformLogin(platform)). It is also a
// SessionChecker.
func PlatformLogin(p MiniPrograms) Loginer { return platformLogin{p} }

type platformLogin struct{ p MiniPrograms }

func (l platformLogin) Login(ctx context.Context, appID, code string) (*miniprogram.Session, error) {
	return l.p.MiniProgram(appID).Login(ctx, code)
}

func (l platformLogin) CheckSession(ctx context.Context, appID string, r miniprogram.CheckSessionRequest) error {
	return l.p.MiniProgram(appID).CheckSession(ctx, r)
}

// Identity names a merchant's user as WeChat knows them.
type Identity struct {
	AppID  string
	OpenID string
	// UnionID is empty while unknown.
	UnionID string
}

// Identities maps a WeChat identity to the platform's own user id: the application finds the user by
// unionid (across the merchant's apps) or by appid+openid, creating one when new. The Manager calls it
// at login and again when a session learns its unionid, possibly more than once for one identity
// (a retried update, several instances): it must be idempotent.
type Identities interface {
	UserID(ctx context.Context, id Identity) (string, error)
}

// Option configures a Manager.
type Option func(*Manager) error

// WithTTL sets how long a session lives after login or its last Refresh (DefaultTTL).
func WithTTL(d time.Duration) Option {
	return func(m *Manager) error {
		if d <= 0 {
			return wxerr.Invalid("ttl", "a positive duration")
		}
		m.ttl = d
		return nil
	}
}

// WithMaxAge bounds sliding expiry: a session ends at most d after its login (DefaultMaxAge).
func WithMaxAge(d time.Duration) Option {
	return func(m *Manager) error {
		if d <= 0 {
			return wxerr.Invalid("max_age", "a positive duration")
		}
		m.maxAge = d
		return nil
	}
}

// WithKeyPrefix sets the prefix of the Manager's store keys (DefaultKeyPrefix).
func WithKeyPrefix(p string) Option {
	return func(m *Manager) error { m.prefix = p; return nil }
}

// WithIdentities sets the mapping of WeChat identities to the platform's user ids.
func WithIdentities(ids Identities) Option {
	return func(m *Manager) error { m.ids = ids; return nil }
}

// WithClock sets the Manager's clock (time.Now), for tests.
func WithClock(now func() time.Time) Option {
	return func(m *Manager) error {
		if now == nil {
			return wxerr.Invalid("clock", "required")
		}
		m.now = now
		return nil
	}
}

// WithLogger makes the Manager log logins and refusals (never a token or key); nil logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(m *Manager) error {
		if l != nil {
			m.log = l
		}
		return nil
	}
}

// Manager issues, validates, refreshes and revokes sessions. It keeps no state of its own besides
// its configuration: every instance of a service sharing the store sees the same sessions. It is safe
// for concurrent use.
type Manager struct {
	store  tokenstore.Store
	login  Loginer
	ids    Identities
	ttl    time.Duration
	maxAge time.Duration
	prefix string
	now    func() time.Time
	log    *slog.Logger
}

// New returns a Manager keeping sessions in store and logging users in with login.
func New(store tokenstore.Store, login Loginer, opts ...Option) (*Manager, error) {
	if store == nil {
		return nil, wxerr.Invalid("store", "required")
	}
	if login == nil {
		return nil, wxerr.Invalid("login", "required")
	}
	m := &Manager{store: store, login: login, ttl: DefaultTTL, maxAge: DefaultMaxAge, prefix: DefaultKeyPrefix,
		now: time.Now, log: slog.New(discardHandler{})}
	for _, o := range opts {
		if err := o(m); err != nil {
			return nil, err
		}
	}
	if m.ttl > m.maxAge {
		return nil, wxerr.Invalid("ttl", "at most the max age")
	}
	return m, nil
}

// String describes the Manager's configuration.
func (m *Manager) String() string {
	return fmt.Sprintf("session.Manager{TTL:%s MaxAge:%s KeyPrefix:%q}", m.ttl, m.maxAge, m.prefix)
}

// record is what the store holds for a session, JSON-encoded in tokenstore.Token.Value.
type record struct {
	AppID      string `json:"a"`
	OpenID     string `json:"o"`
	UnionID    string `json:"u,omitempty"`
	UserID     string `json:"i,omitempty"`
	SessionKey string `json:"k"`
	Created    int64  `json:"c"` // unix milliseconds
	Expires    int64  `json:"e"` // unix milliseconds
}

func (r *record) session(token string) *Session {
	return &Session{Token: token, AppID: r.AppID, OpenID: r.OpenID, UnionID: r.UnionID, UserID: r.UserID,
		CreatedAt: time.UnixMilli(r.Created), ExpiresAt: time.UnixMilli(r.Expires), sessionKey: r.SessionKey}
}

func (m *Manager) encode(r *record) tokenstore.Token {
	b, _ := json.Marshal(r) // strings and integers: cannot fail
	return tokenstore.Token{Value: string(b), ExpiresAt: time.UnixMilli(r.Expires).Add(expiredGrace)}
}

// key returns the store key of token: the prefix and the token's SHA-256 in base64url.
func (m *Manager) key(token string) string {
	sum := sha256.Sum256([]byte(token))
	return m.prefix + "t:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// wellFormed reports whether token can be one of ours (43 base64url characters), so that garbage is
// refused without a store round trip.
func wellFormed(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func newToken() (string, error) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("session: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Login exchanges the wx.login code of the mini program appID for a new session: WeChat's session key
// is kept in the store, and the returned Session carries the token to hand to the mini program. Each
// login has its own token and WeChat's newest session key (WeChat issues a new key per login). With
// Identities, the session's UserID is the platform's user.
//
// Errors: a *wxerr.ValidationError for an empty appID or code (nothing sent); WeChat's refusal as a
// *wxerr.APIError (40029 invalid code, 40163 code used, 61003 not authorised); the Identities' error;
// a store error.
func (m *Manager) Login(ctx context.Context, appID, code string) (*Session, error) {
	if appID == "" {
		return nil, wxerr.Invalid("appid", "required")
	}
	if code == "" {
		return nil, wxerr.Invalid("code", "required")
	}
	ws, err := m.login.Login(ctx, appID, code)
	if err != nil {
		m.log.LogAttrs(ctx, slog.LevelInfo, "session: login refused", slog.String("appid", appID), slog.String("error", err.Error()))
		return nil, err
	}
	if ws == nil || ws.OpenID == "" || ws.SessionKey == "" {
		return nil, errors.New("session: login answered no openid or session key")
	}
	now := m.now()
	r := &record{AppID: appID, OpenID: ws.OpenID, UnionID: ws.UnionID, SessionKey: ws.SessionKey,
		Created: now.UnixMilli(), Expires: now.Add(m.ttl).UnixMilli()}
	if m.ids != nil {
		uid, err := m.ids.UserID(ctx, Identity{AppID: appID, OpenID: ws.OpenID, UnionID: ws.UnionID})
		if err != nil {
			return nil, fmt.Errorf("session: identities: %w", err)
		}
		r.UserID = uid
	}
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	if err := m.store.Set(tokenstore.WithReason(ctx, "session:login"), m.key(token), m.encode(r)); err != nil {
		return nil, fmt.Errorf("session: store: %w", err)
	}
	s := r.session(token)
	m.log.LogAttrs(ctx, slog.LevelDebug, "session: login", slog.Any("session", *s))
	return s, nil
}

// get reads the record of token: ErrInvalid when malformed or unknown, ErrExpired when expired.
func (m *Manager) get(ctx context.Context, token string) (*record, string, error) {
	if !wellFormed(token) {
		return nil, "", ErrInvalid
	}
	tok, err := m.store.Get(ctx, m.key(token))
	if errors.Is(err, tokenstore.ErrNotFound) {
		return nil, "", ErrInvalid
	}
	if err != nil {
		return nil, "", fmt.Errorf("session: store: %w", err)
	}
	var r record
	if err := json.Unmarshal([]byte(tok.Value), &r); err != nil || r.AppID == "" || r.OpenID == "" {
		// Never print the value: it holds a session key.
		return nil, "", fmt.Errorf("session: store: key does not hold a session record")
	}
	if !m.now().Before(time.UnixMilli(r.Expires)) {
		return nil, "", ErrExpired
	}
	return &r, tok.Value, nil
}

// Validate returns the session of token: ErrInvalid when the token is malformed, unknown or revoked,
// ErrExpired when it has expired, another error when the store failed (an outage is never reported
// as an invalid token). It does not extend the session (see Refresh). The returned session is the
// caller's copy.
func (m *Manager) Validate(ctx context.Context, token string) (*Session, error) {
	r, _, err := m.get(ctx, token)
	if err != nil {
		return nil, err
	}
	return r.session(token), nil
}

// ValidateFor is Validate for a request of the mini program appID: a token issued for another mini
// program is ErrInvalid.
func (m *Manager) ValidateFor(ctx context.Context, appID, token string) (*Session, error) {
	s, err := m.Validate(ctx, token)
	if err != nil {
		return nil, err
	}
	if s.AppID != appID {
		m.log.LogAttrs(ctx, slog.LevelInfo, "session: token of another mini program",
			slog.String("appid", appID), slog.String("token_appid", s.AppID))
		return nil, ErrInvalid
	}
	return s, nil
}

// casAttempts bounds the retries of a compare-and-swap lost to a concurrent update of one session.
const casAttempts = 4

// update applies f to the record of token with compare-and-swap, so that a concurrent Revoke is never
// undone: a revoked session stays revoked.
func (m *Manager) update(ctx context.Context, token, reason string, f func(r *record) error) (*Session, error) {
	ctx = tokenstore.WithReason(ctx, reason)
	for range casAttempts {
		r, old, err := m.get(ctx, token)
		if err != nil {
			return nil, err
		}
		if err := f(r); err != nil {
			return nil, err
		}
		ok, err := m.store.CompareAndSwap(ctx, m.key(token), old, m.encode(r))
		if err != nil {
			return nil, fmt.Errorf("session: store: %w", err)
		}
		if ok {
			return r.session(token), nil
		}
	}
	return nil, errors.New("session: the session changed concurrently too many times; try again")
}

// Refresh extends the session of token by the TTL from now (sliding expiry), but never past its
// login plus the max age, and returns it. The token stays the same. Errors as for Validate.
func (m *Manager) Refresh(ctx context.Context, token string) (*Session, error) {
	return m.update(ctx, token, "session:refresh", func(r *record) error {
		now := m.now()
		exp := now.Add(m.ttl)
		if limit := time.UnixMilli(r.Created).Add(m.maxAge); exp.After(limit) {
			exp = limit
		}
		if !now.Before(exp) {
			return ErrExpired
		}
		r.Expires = exp.UnixMilli()
		return nil
	})
}

// SetUnionID records the unionid of the session's user once it becomes known (a unionid never
// changes: setting another one is refused) and, with Identities, maps the user again with it.
func (m *Manager) SetUnionID(ctx context.Context, token, unionID string) (*Session, error) {
	if unionID == "" {
		return nil, wxerr.Invalid("unionid", "required")
	}
	return m.update(ctx, token, "session:unionid", func(r *record) error {
		if r.UnionID == unionID {
			return nil
		}
		if r.UnionID != "" {
			return wxerr.Invalid("unionid", "differs from the session's unionid")
		}
		r.UnionID = unionID
		if m.ids != nil {
			uid, err := m.ids.UserID(ctx, Identity{AppID: r.AppID, OpenID: r.OpenID, UnionID: unionID})
			if err != nil {
				return fmt.Errorf("session: identities: %w", err)
			}
			r.UserID = uid
		}
		return nil
	})
}

// Revoke ends the session of token at once, at every instance sharing the store. Revoking an
// unknown, expired or already revoked token is not an error; a malformed one is ErrInvalid.
func (m *Manager) Revoke(ctx context.Context, token string) error {
	if !wellFormed(token) {
		return ErrInvalid
	}
	if err := m.store.Delete(ctx, m.key(token)); err != nil {
		return fmt.Errorf("session: store: %w", err)
	}
	return nil
}

// discardHandler is a slog.Handler that drops everything (slog.DiscardHandler needs Go 1.24).
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }
