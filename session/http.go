package session

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

type ctxKey struct{}

// NewContext returns a context carrying s.
func NewContext(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// FromContext returns the session Middleware put in ctx.
func FromContext(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(ctxKey{}).(*Session)
	return s, ok && s != nil
}

// TokenFromRequest returns the token a request carries in "Authorization: Bearer TOKEN", or "". It
// is the token source of Middleware and of the ready handlers. Tokens are never read from the query
// string, which ends up in access logs.
func TokenFromRequest(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const bearer = "Bearer "
	if len(h) > len(bearer) && strings.EqualFold(h[:len(bearer)], bearer) {
		return strings.TrimSpace(h[len(bearer):])
	}
	return ""
}

// AppIDFromRequest returns the appid of the mini program a request comes from, as WeChat states it
// in the Referer of every wx.request: https://servicewechat.com/{appid}/{version}/page-frame.html.
// Without such a Referer it returns the query parameter appid, or "". A Referer can be forged outside
// WeChat, so the appid only selects the merchant: a token still has to be valid for it.
func AppIDFromRequest(r *http.Request) string {
	const prefix = "https://servicewechat.com/"
	if ref := r.Header.Get("Referer"); strings.HasPrefix(ref, prefix) {
		rest := ref[len(prefix):]
		if i := strings.IndexByte(rest, '/'); i > 0 {
			return rest[:i]
		}
	}
	return r.URL.Query().Get("appid")
}

// Middleware validates the bearer token of each request and serves next with the session in the
// request's context (FromContext). When the request names its mini program (AppIDFromRequest), a
// token of another mini program is refused. A session with less than half of its TTL left is
// refreshed (sliding expiry for active users, bounded by the max age). A request without a valid
// session gets 401 with {"errcode":401,...}; a store failure gets 503, so that an outage does not log
// every user out.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.fromRequest(r)
		if err != nil {
			m.writeSessionError(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), m.slide(r, s))))
	})
}

func (m *Manager) fromRequest(r *http.Request) (*Session, error) {
	token := TokenFromRequest(r)
	if token == "" {
		return nil, ErrInvalid
	}
	if appID := AppIDFromRequest(r); appID != "" {
		return m.ValidateFor(r.Context(), appID, token)
	}
	return m.Validate(r.Context(), token)
}

// slide refreshes s when less than half of the TTL is left, so that an active user stays logged in
// (at most one store write per session and half TTL). A failed refresh keeps s: the request goes on.
func (m *Manager) slide(r *http.Request, s *Session) *Session {
	if s.ExpiresAt.Sub(m.now()) >= m.ttl/2 {
		return s
	}
	ns, err := m.Refresh(r.Context(), s.Token)
	if err != nil {
		m.log.LogAttrs(r.Context(), slog.LevelWarn, "session: sliding refresh failed", slog.Any("session", *s), slogErr(err))
		return s
	}
	return ns
}

func (m *Manager) writeSessionError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrExpired):
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errcode": http.StatusUnauthorized, "errmsg": "session expired"})
	case errors.Is(err, ErrInvalid):
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errcode": http.StatusUnauthorized, "errmsg": "invalid token"})
	default:
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"errcode": http.StatusServiceUnavailable, "errmsg": "session store unavailable"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// LoginAnswer is the login handler's answer to the mini program. It holds no session key.
type LoginAnswer struct {
	Token string `json:"token"`
	// ExpiresAt is when the session expires (expires_at, unix seconds on the wire).
	ExpiresAt time.Time `json:"-"`
	OpenID    string    `json:"openid"`
	UserID    string    `json:"user_id,omitempty"`
}

// MarshalJSON encodes the answer the mini program reads, expires_at in unix seconds.
func (a LoginAnswer) MarshalJSON() ([]byte, error) {
	type plain LoginAnswer
	var exp int64
	if !a.ExpiresAt.IsZero() {
		exp = a.ExpiresAt.Unix()
	}
	return json.Marshal(struct {
		plain
		ExpiresAt int64 `json:"expires_at"`
	}{plain(a), exp})
}

// UnmarshalJSON reads the answer back (a Go client of the login handler, a test), expires_at in
// unix seconds; 0 or absent is the zero time.
func (a *LoginAnswer) UnmarshalJSON(b []byte) error {
	type plain LoginAnswer
	var w struct {
		plain
		ExpiresAt int64 `json:"expires_at"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*a = LoginAnswer(w.plain)
	if w.ExpiresAt != 0 {
		a.ExpiresAt = time.Unix(w.ExpiresAt, 0)
	}
	return nil
}

// LoginHandler serves login/{code}: the mini program sends the code of wx.login (as the path value
// "code" of a Go 1.22 pattern, else the last path segment, else the query parameter code) and gets a
// LoginAnswer. The mini program is AppIDFromRequest. WeChat's refusal of the code is answered 400
// with its errcode; a missing appid or code 400; other failures 502.
func (m *Manager) LoginHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := r.PathValue("code")
		if code == "" {
			if i := strings.LastIndexByte(r.URL.Path, '/'); i >= 0 && !strings.HasSuffix(r.URL.Path, "/login") {
				code = r.URL.Path[i+1:]
			}
		}
		if code == "" {
			code = r.URL.Query().Get("code")
		}
		s, err := m.Login(r.Context(), AppIDFromRequest(r), code)
		if err != nil {
			var apiErr *wxerr.APIError
			switch {
			case wxerr.IsValidation(err):
				writeJSON(w, http.StatusBadRequest, map[string]any{"errcode": http.StatusBadRequest, "errmsg": err.Error()})
			case errors.As(err, &apiErr):
				writeJSON(w, http.StatusBadRequest, map[string]any{"errcode": apiErr.Code, "errmsg": "login code refused by WeChat"})
			default:
				writeJSON(w, http.StatusBadGateway, map[string]any{"errcode": http.StatusBadGateway, "errmsg": "login failed"})
			}
			return
		}
		writeJSON(w, http.StatusOK, LoginAnswer{Token: s.Token, ExpiresAt: s.ExpiresAt, OpenID: s.OpenID, UserID: s.UserID})
	})
}

// IsValidTokenHandler serves is_valid_token: it answers {"valid":true,"expires_at":…} for a valid
// bearer token (for the requesting mini program) and {"valid":false} otherwise, always with 200 (a
// store failure is 503). With slide set, a valid session is also refreshed.
func (m *Manager) IsValidTokenHandler(slide bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.fromRequest(r)
		if err == nil && slide {
			s, err = m.Refresh(r.Context(), s.Token)
		}
		switch {
		case err == nil:
			writeJSON(w, http.StatusOK, map[string]any{"valid": true, "expires_at": s.ExpiresAt.Unix()})
		case errors.Is(err, ErrInvalid):
			writeJSON(w, http.StatusOK, map[string]any{"valid": false, "expired": errors.Is(err, ErrExpired)})
		default:
			m.writeSessionError(w, err)
		}
	})
}

// maxUserInfoBody bounds the up_user_info request body (encryptedData of a profile is about 1 KB).
const maxUserInfoBody = 64 << 10

// UpUserInfoRequest is what the mini program posts to up_user_info: the encryptedData and iv of
// wx.getUserInfo (or wx.getUserProfile) as WeChat hands them over.
type UpUserInfoRequest struct {
	EncryptedData string `json:"encryptedData"`
	IV            string `json:"iv"`
}

// UpUserInfoHandler serves up_user_info behind Middleware: it decrypts the posted UpUserInfoRequest
// with the session key kept for the session, records a newly learnt unionid, calls save (when not
// nil) to keep the profile, and answers the profile without its watermark. Data that does not decrypt
// with the session's key (the mini program logged in again and must use its new token) is 400; a
// failure to record the unionid (the store, Identities) is 503, as in Middleware.
func (m *Manager) UpUserInfoHandler(save func(ctx context.Context, s *Session, u *miniprogram.UserInfo) error) http.Handler {
	return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := FromContext(r.Context())
		var req UpUserInfoRequest
		body, err := io.ReadAll(io.LimitReader(r.Body, maxUserInfoBody+1))
		if err != nil || len(body) > maxUserInfoBody || json.Unmarshal(body, &req) != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"errcode": http.StatusBadRequest, "errmsg": "body must be JSON {encryptedData, iv}"})
			return
		}
		u, err := m.DecryptUserInfo(r.Context(), s, UserData(req))
		switch {
		case err == nil:
		case errors.Is(err, wxerr.ErrBadUserData) || errors.Is(err, ErrInvalid) || wxerr.IsValidation(err):
			m.log.LogAttrs(r.Context(), 0, "session: up_user_info refused", slogErr(err))
			writeJSON(w, http.StatusBadRequest, map[string]any{"errcode": http.StatusBadRequest, "errmsg": "user data does not decrypt with this session; log in again"})
			return
		default: // the data decrypted, but recording the unionid failed (store, Identities): not the client's fault
			m.log.LogAttrs(r.Context(), slog.LevelError, "session: up_user_info: cannot update the session", slogErr(err))
			m.writeSessionError(w, err)
			return
		}
		if save != nil {
			if err := save(r.Context(), s, u); err != nil {
				writeJSON(w, http.StatusInternalServerError, map[string]any{"errcode": http.StatusInternalServerError, "errmsg": "cannot save the profile"})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"openid": s.OpenID, "unionid": s.UnionID, "user_id": s.UserID,
			"nickname": u.NickName, "avatar_url": u.AvatarURL, "gender": u.Gender,
			"country": u.Country, "province": u.Province, "city": u.City, "language": u.Language})
	}))
}

// Mount registers the three ready handlers on mux under prefix (say "/api/wx"): POST
// prefix/login/{code}, GET and POST prefix/is_valid_token (sliding), POST prefix/up_user_info (save
// may be nil). Copy them instead when your answers must look different.
func (m *Manager) Mount(mux *http.ServeMux, prefix string, save func(ctx context.Context, s *Session, u *miniprogram.UserInfo) error) {
	prefix = strings.TrimRight(prefix, "/")
	mux.Handle("POST "+prefix+"/login/{code}", m.LoginHandler())
	valid := m.IsValidTokenHandler(true)
	mux.Handle("GET "+prefix+"/is_valid_token", valid)
	mux.Handle("POST "+prefix+"/is_valid_token", valid)
	mux.Handle("POST "+prefix+"/up_user_info", m.UpUserInfoHandler(save))
}

func slogErr(err error) slog.Attr { return slog.String("error", err.Error()) }
