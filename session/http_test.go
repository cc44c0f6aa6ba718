package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/session"
	"github.com/wxopen-go/wxopen/tokenstore"
)

// do sends a request to h and decodes the JSON answer.
func do(t *testing.T, h http.Handler, method, target, appID, token, body string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if appID != "" {
		r.Header.Set("Referer", "https://servicewechat.com/"+appID+"/12/page-frame.html")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var out map[string]any
	if w.Body.Len() > 0 {
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out), w.Body.String())
	}
	return w.Code, out
}

func TestMountedEndpoints(t *testing.T) {
	eachStore(t, func(t *testing.T, st tokenstore.Store) {
		e := newEnv(t, st)
		mux := http.NewServeMux()
		var saved []*miniprogram.UserInfo
		e.m.Mount(mux, "/api/wx/", func(_ context.Context, s *session.Session, u *miniprogram.UserInfo) error {
			assert.Equal(t, "oUSER", s.OpenID)
			saved = append(saved, u)
			return nil
		})

		// login/{code}
		code, out := do(t, mux, "POST", "/api/wx/login/"+e.wx.code(appA, "oUSER", ""), appA, "", "")
		require.Equal(t, http.StatusOK, code, out)
		token, _ := out["token"].(string)
		require.Len(t, token, 43)
		assert.Equal(t, "oUSER", out["openid"])
		assert.Equal(t, float64(e.clk.Now().Add(time.Hour).Unix()), out["expires_at"])
		assert.Len(t, out, 3, "token, expires_at and openid only: no session key")
		b, err := json.Marshal(out)
		require.NoError(t, err)
		var ans session.LoginAnswer
		require.NoError(t, json.Unmarshal(b, &ans), "a Go client reads the answer back")
		assert.Equal(t, session.LoginAnswer{Token: token, OpenID: "oUSER", ExpiresAt: time.Unix(e.clk.Now().Add(time.Hour).Unix(), 0)}, ans)
		key := e.wx.key(appA, "oUSER")

		// is_valid_token, sliding.
		e.clk.Advance(30 * time.Minute)
		code, out = do(t, mux, "GET", "/api/wx/is_valid_token", appA, token, "")
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, map[string]any{"valid": true, "expires_at": float64(e.clk.Now().Add(time.Hour).Unix())}, out)
		_, out = do(t, mux, "POST", "/api/wx/is_valid_token", appB, token, "")
		assert.Equal(t, false, out["valid"], "another merchant's token")
		_, out = do(t, mux, "GET", "/api/wx/is_valid_token", appA, "", "")
		assert.Equal(t, false, out["valid"])

		// up_user_info
		data, iv := encrypt(t, key, appA, map[string]any{"openId": "oUSER", "unionId": "uUNION", "nickName": "Band"})
		body, _ := json.Marshal(session.UpUserInfoRequest{EncryptedData: data, IV: iv})
		code, out = do(t, mux, "POST", "/api/wx/up_user_info", appA, token, string(body))
		require.Equal(t, http.StatusOK, code, out)
		assert.Equal(t, "Band", out["nickname"])
		assert.Equal(t, "uUNION", out["unionid"])
		require.Len(t, saved, 1)
		code, _ = do(t, mux, "POST", "/api/wx/up_user_info", appA, token, "{")
		assert.Equal(t, http.StatusBadRequest, code)
		code, out = do(t, mux, "POST", "/api/wx/up_user_info", appA, token, `{"encryptedData":"bm90IGRhdGE=","iv":"AAAAAAAAAAAAAAAAAAAAAA=="}`)
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Contains(t, out["errmsg"], "log in again")
		code, _ = do(t, mux, "POST", "/api/wx/up_user_info", appA, "", string(body))
		assert.Equal(t, http.StatusUnauthorized, code)

		// Expiry: 401 "session expired" and valid:false, expired:true.
		e.clk.Advance(2 * time.Hour)
		code, out = do(t, mux, "POST", "/api/wx/up_user_info", appA, token, string(body))
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.Equal(t, "session expired", out["errmsg"])
		_, out = do(t, mux, "GET", "/api/wx/is_valid_token", appA, token, "")
		assert.Equal(t, map[string]any{"valid": false, "expired": true}, out)

		// Login errors.
		code, out = do(t, mux, "POST", "/api/wx/login/used-or-bad", appA, "", "")
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Equal(t, float64(40029), out["errcode"])
		code, _ = do(t, mux, "POST", "/api/wx/login/"+e.wx.code(appA, "oUSER", ""), "", "", "")
		assert.Equal(t, http.StatusBadRequest, code, "no appid")
	})
}

func TestLoginHandlerCodeSources(t *testing.T) {
	e := newEnv(t, tokenstore.NewMemoryStore())
	h := e.m.LoginHandler()
	code, _ := do(t, h, "GET", "/wx/login/"+e.wx.code(appA, "o1", ""), appA, "", "")
	assert.Equal(t, http.StatusOK, code, "last path segment")
	code, _ = do(t, h, "GET", "/wx/login?appid="+appA+"&code="+e.wx.code(appA, "o1", ""), "", "", "")
	assert.Equal(t, http.StatusOK, code, "query")
	code, _ = do(t, h, "GET", "/wx/login", appA, "", "")
	assert.Equal(t, http.StatusBadRequest, code, "no code")

	m, err := session.New(tokenstore.NewMemoryStore(), session.LoginFunc(func(context.Context, string, string) (*miniprogram.Session, error) {
		return nil, errors.New("network down")
	}))
	require.NoError(t, err)
	code, _ = do(t, m.LoginHandler(), "GET", "/wx/login/c", appA, "", "")
	assert.Equal(t, http.StatusBadGateway, code)
}

func TestMiddleware(t *testing.T) {
	e := newEnv(t, tokenstore.NewMemoryStore())
	s := e.login(t, appA, "oUSER")
	h := e.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := session.FromContext(r.Context())
		require.True(t, ok)
		_ = json.NewEncoder(w).Encode(map[string]string{"openid": got.OpenID, "appid": got.AppID})
	}))
	code, out := do(t, h, "GET", "/x", appA, s.Token, "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, map[string]any{"openid": "oUSER", "appid": appA}, out)
	code, _ = do(t, h, "GET", "/x", "", s.Token, "")
	assert.Equal(t, http.StatusOK, code, "a request that names no mini program")
	code, _ = do(t, h, "GET", "/x?appid="+appB, "", s.Token, "")
	assert.Equal(t, http.StatusUnauthorized, code, "the query names another mini program")
	code, _ = do(t, h, "GET", "/x", appB, s.Token, "")
	assert.Equal(t, http.StatusUnauthorized, code, "the Referer names another mini program")
	code, _ = do(t, h, "GET", "/x", appA, "", "")
	assert.Equal(t, http.StatusUnauthorized, code)

	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Authorization", "bearer "+s.Token)
	assert.Equal(t, s.Token, session.TokenFromRequest(r), "scheme is case-insensitive")
	r.Header.Set("Authorization", "Basic abc")
	assert.Empty(t, session.TokenFromRequest(r))
	_, ok := session.FromContext(context.Background())
	assert.False(t, ok)

	// A store outage is 503, not 401.
	m, err := session.New(failingStore{}, e.wx)
	require.NoError(t, err)
	code, _ = do(t, m.Middleware(http.NotFoundHandler()), "GET", "/x", appA, s.Token, "")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	code, _ = do(t, m.IsValidTokenHandler(false), "GET", "/x", appA, s.Token, "")
	assert.Equal(t, http.StatusServiceUnavailable, code)
}

func TestMiddlewareSlidesActiveSessions(t *testing.T) {
	eachStore(t, func(t *testing.T, st tokenstore.Store) {
		e := newEnv(t, st) // TTL 1h, max age 3h
		s := e.login(t, appA, "oUSER")
		var seen []time.Time
		h := e.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ := session.FromContext(r.Context())
			seen = append(seen, got.ExpiresAt)
		}))
		e.clk.Advance(29 * time.Minute)
		code, _ := do(t, h, "GET", "/x", appA, s.Token, "")
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, s.ExpiresAt, seen[0], "more than half the TTL left: no write")

		e.clk.Advance(2 * time.Minute) // 31 min: less than half left
		code, _ = do(t, h, "GET", "/x", appA, s.Token, "")
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, e.clk.Now().Add(time.Hour), seen[1], "refreshed")
		v, err := e.m.Validate(context.Background(), s.Token)
		require.NoError(t, err)
		assert.Equal(t, seen[1], v.ExpiresAt, "stored")

		// An active user stays in for the max age, not longer.
		for range 6 {
			e.clk.Advance(31 * time.Minute)
			do(t, h, "GET", "/x", appA, s.Token, "")
		}
		code, _ = do(t, h, "GET", "/x", appA, s.Token, "")
		assert.Equal(t, http.StatusUnauthorized, code, "past login + 3h")
	})
}

// up_user_info over a store outage (recording the newly learnt unionid fails) answers 503 like the
// middleware, not 400 "log in again": the data decrypted, and an outage must not send users to log in.
func TestUpUserInfoStoreOutageIs503(t *testing.T) {
	st := &casFails{Store: tokenstore.NewMemoryStore()}
	e := newEnv(t, st)
	s := e.login(t, appA, "oUSER")
	data, iv := encrypt(t, e.wx.key(appA, "oUSER"), appA, map[string]any{"openId": "oUSER", "unionId": "uUNION", "nickName": "Band"})
	body, _ := json.Marshal(session.UpUserInfoRequest{EncryptedData: data, IV: iv})
	saved := false
	h := e.m.UpUserInfoHandler(func(context.Context, *session.Session, *miniprogram.UserInfo) error { saved = true; return nil })
	code, out := do(t, h, "POST", "/up_user_info", appA, s.Token, string(body))
	assert.Equal(t, http.StatusServiceUnavailable, code, out)
	assert.False(t, saved, "nothing saved when the session could not be updated")
}

// casFails is a store whose CompareAndSwap fails (an outage after the session was read).
type casFails struct{ tokenstore.Store }

func (casFails) CompareAndSwap(context.Context, string, string, tokenstore.Token) (bool, error) {
	return false, errors.New("store down")
}
