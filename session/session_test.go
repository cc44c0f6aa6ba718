package session_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/session"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

type env struct {
	st  tokenstore.Store
	wx  *fakeWeChat
	clk *clock
	m   *session.Manager
	log *bytes.Buffer
}

func newEnv(t *testing.T, st tokenstore.Store, opts ...session.Option) *env {
	t.Helper()
	e := &env{st: st, wx: newFakeWeChat(), clk: newClock(), log: &bytes.Buffer{}}
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, e.log}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := session.New(st, e.wx, append([]session.Option{session.WithClock(e.clk.Now), session.WithLogger(logger),
		session.WithTTL(time.Hour), session.WithMaxAge(3 * time.Hour)}, opts...)...)
	require.NoError(t, err)
	e.m = m
	return e
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (e *env) login(t *testing.T, appID, openID string) *session.Session {
	t.Helper()
	s, err := e.m.Login(context.Background(), appID, e.wx.code(appID, openID, ""))
	require.NoError(t, err)
	return s
}

// eachStore runs f on the memory store and on Redis.
func eachStore(t *testing.T, f func(t *testing.T, st tokenstore.Store)) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) { f(t, s.new(t)) })
	}
}

func TestLoginValidate(t *testing.T) {
	eachStore(t, func(t *testing.T, st tokenstore.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		s, err := e.m.Login(ctx, appA, e.wx.code(appA, "oUSER", "uUNION"))
		require.NoError(t, err)
		assert.Len(t, s.Token, 43)
		assert.Equal(t, appA, s.AppID)
		assert.Equal(t, "oUSER", s.OpenID)
		assert.Equal(t, "uUNION", s.UnionID)
		assert.Equal(t, e.clk.Now(), s.CreatedAt)
		assert.Equal(t, e.clk.Now().Add(time.Hour), s.ExpiresAt)

		got, err := e.m.Validate(ctx, s.Token)
		require.NoError(t, err)
		assert.Equal(t, s.Token, got.Token)
		assert.Equal(t, s.String(), got.String())
		assert.Equal(t, s.ExpiresAt, got.ExpiresAt)

		// Two logins: two different tokens.
		s2 := e.login(t, appA, "oUSER")
		assert.NotEqual(t, s.Token, s2.Token)

		// The store never holds the token itself.
		_, err = st.Get(ctx, session.DefaultKeyPrefix+s.Token)
		assert.ErrorIs(t, err, tokenstore.ErrNotFound)
	})
}

func TestLoginErrors(t *testing.T) {
	e := newEnv(t, tokenstore.NewMemoryStore())
	ctx := context.Background()
	_, err := e.m.Login(ctx, "", "code")
	assert.True(t, wxerr.IsValidation(err))
	_, err = e.m.Login(ctx, appA, "")
	assert.True(t, wxerr.IsValidation(err))
	assert.Zero(t, e.wx.calls, "bad input is refused before WeChat is asked")

	_, err = e.m.Login(ctx, appA, "unknown")
	assert.Equal(t, wxerr.CodeInvalidCode, wxerr.CodeOf(err))
	// A code of merchant B does not log in at merchant A.
	_, err = e.m.Login(ctx, appA, e.wx.code(appB, "oUSER", ""))
	assert.Equal(t, wxerr.CodeInvalidCode, wxerr.CodeOf(err))

	// A store failure is reported, and no session exists.
	m, err := session.New(failingStore{}, e.wx)
	require.NoError(t, err)
	_, err = m.Login(ctx, appA, e.wx.code(appA, "o", ""))
	require.ErrorIs(t, err, errStore)
	_, err = m.Validate(ctx, strings.Repeat("a", 43))
	require.ErrorIs(t, err, errStore)
	assert.NotErrorIs(t, err, session.ErrInvalid, "an outage is not an invalid token")
	require.ErrorIs(t, m.Revoke(ctx, strings.Repeat("a", 43)), errStore)

	// An Identities error fails the login.
	m, err = session.New(tokenstore.NewMemoryStore(), e.wx, session.WithIdentities(identitiesFunc(func(context.Context, session.Identity) (string, error) {
		return "", errors.New("db down")
	})))
	require.NoError(t, err)
	_, err = m.Login(ctx, appA, e.wx.code(appA, "o", ""))
	require.ErrorContains(t, err, "db down")

	// A Loginer answering nothing.
	m, err = session.New(tokenstore.NewMemoryStore(), session.LoginFunc(func(context.Context, string, string) (*miniprogram.Session, error) { return nil, nil }))
	require.NoError(t, err)
	_, err = m.Login(ctx, appA, "c")
	require.Error(t, err)
}

func TestNewValidates(t *testing.T) {
	wx := newFakeWeChat()
	for name, f := range map[string]func() (*session.Manager, error){
		"nil store": func() (*session.Manager, error) { return session.New(nil, wx) },
		"nil login": func() (*session.Manager, error) { return session.New(tokenstore.NewMemoryStore(), nil) },
		"zero ttl": func() (*session.Manager, error) {
			return session.New(tokenstore.NewMemoryStore(), wx, session.WithTTL(0))
		},
		"zero maxage": func() (*session.Manager, error) {
			return session.New(tokenstore.NewMemoryStore(), wx, session.WithMaxAge(0))
		},
		"ttl > max": func() (*session.Manager, error) {
			return session.New(tokenstore.NewMemoryStore(), wx, session.WithTTL(2*time.Hour), session.WithMaxAge(time.Hour))
		},
		"nil clock": func() (*session.Manager, error) {
			return session.New(tokenstore.NewMemoryStore(), wx, session.WithClock(nil))
		},
	} {
		_, err := f()
		assert.True(t, wxerr.IsValidation(err), name)
	}
	m, err := session.New(tokenstore.NewMemoryStore(), wx, session.WithLogger(nil))
	require.NoError(t, err)
	assert.Contains(t, m.String(), "TTL:24h0m0s")
	_, err = m.Login(context.Background(), appA, "unknown") // logs to nothing, without panicking
	assert.Equal(t, wxerr.CodeInvalidCode, wxerr.CodeOf(err))
}

func TestValidateRefusesBadTokens(t *testing.T) {
	eachStore(t, func(t *testing.T, st tokenstore.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		s := e.login(t, appA, "oUSER")
		for _, tok := range []string{"", "short", s.Token + "x", strings.Repeat("!", 43), strings.Repeat("a", 43), s.Token[:42] + "."} {
			_, err := e.m.Validate(ctx, tok)
			assert.ErrorIs(t, err, session.ErrInvalid, "%q", tok)
			assert.NotErrorIs(t, err, session.ErrExpired, "%q", tok)
		}
		// A key holding something else than a session record: an error that prints nothing of it.
		tok := strings.Repeat("b", 43)
		sum := sha256.Sum256([]byte(tok))
		require.NoError(t, st.Set(ctx, session.DefaultKeyPrefix+"t:"+base64.RawURLEncoding.EncodeToString(sum[:]),
			tokenstore.Token{Value: "SECRET-VALUE", ExpiresAt: time.Now().Add(time.Minute)}))
		_, err := e.m.Validate(ctx, tok)
		require.Error(t, err)
		assert.NotErrorIs(t, err, session.ErrInvalid)
		assert.NotContains(t, err.Error(), "SECRET-VALUE")
	})
}

func TestTokenOfOneMerchantIsNotValidForAnother(t *testing.T) {
	eachStore(t, func(t *testing.T, st tokenstore.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		s := e.login(t, appA, "oUSER")
		got, err := e.m.ValidateFor(ctx, appA, s.Token)
		require.NoError(t, err)
		assert.Equal(t, appA, got.AppID)
		_, err = e.m.ValidateFor(ctx, appB, s.Token)
		require.ErrorIs(t, err, session.ErrInvalid)
	})
}

func TestExpiryOnAClock(t *testing.T) {
	eachStore(t, func(t *testing.T, st tokenstore.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		s := e.login(t, appA, "oUSER")
		e.clk.Advance(time.Hour - time.Millisecond)
		_, err := e.m.Validate(ctx, s.Token)
		require.NoError(t, err, "valid until ExpiresAt")
		e.clk.Advance(time.Millisecond)
		_, err = e.m.Validate(ctx, s.Token)
		require.ErrorIs(t, err, session.ErrExpired)
		require.ErrorIs(t, err, session.ErrInvalid, "ErrExpired is an ErrInvalid")
		_, err = e.m.Refresh(ctx, s.Token)
		require.ErrorIs(t, err, session.ErrExpired, "an expired session cannot be refreshed")
	})
}

func TestRefreshSlides(t *testing.T) {
	eachStore(t, func(t *testing.T, st tokenstore.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		s := e.login(t, appA, "oUSER")
		created := s.CreatedAt
		e.clk.Advance(50 * time.Minute)
		r, err := e.m.Refresh(ctx, s.Token)
		require.NoError(t, err)
		assert.Equal(t, s.Token, r.Token, "the token stays")
		assert.Equal(t, e.clk.Now().Add(time.Hour), r.ExpiresAt)
		assert.Equal(t, created, r.CreatedAt)
		e.clk.Advance(50 * time.Minute) // 100 min after login: alive thanks to the refresh
		v, err := e.m.Validate(ctx, s.Token)
		require.NoError(t, err)
		assert.Equal(t, r.ExpiresAt, v.ExpiresAt)
		_, err = e.m.Refresh(ctx, s.Token) // now until 160 min
		require.NoError(t, err)

		// Max age 3h: refreshes stop extending at login+3h.
		e.clk.Advance(55 * time.Minute) // 155 min
		r, err = e.m.Refresh(ctx, s.Token)
		require.NoError(t, err)
		assert.Equal(t, created.Add(3*time.Hour), r.ExpiresAt, "capped at the max age")
		e.clk.Advance(25 * time.Minute) // 180 min
		_, err = e.m.Refresh(ctx, s.Token)
		require.ErrorIs(t, err, session.ErrExpired)
		_, err = e.m.Validate(ctx, s.Token)
		require.ErrorIs(t, err, session.ErrExpired)
	})
}

func TestRevoke(t *testing.T) {
	eachStore(t, func(t *testing.T, st tokenstore.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		s := e.login(t, appA, "oUSER")
		other := e.login(t, appA, "oUSER")
		require.NoError(t, e.m.Revoke(ctx, s.Token))
		_, err := e.m.Validate(ctx, s.Token)
		require.ErrorIs(t, err, session.ErrInvalid)
		_, err = e.m.Refresh(ctx, s.Token)
		require.ErrorIs(t, err, session.ErrInvalid)
		require.NoError(t, e.m.Revoke(ctx, s.Token), "revoking twice is fine")
		require.ErrorIs(t, e.m.Revoke(ctx, "garbage"), session.ErrInvalid)
		_, err = e.m.Validate(ctx, other.Token)
		require.NoError(t, err, "other sessions stay")
	})
}

// Concurrent Refresh and Revoke under the race detector; the ordering that would undo a Revoke is
// forced in TestRevokeBetweenReadAndWriteIsNeverUndone (here it is left to the scheduler).
func TestRevokeIsNeverUndoneByAConcurrentRefresh(t *testing.T) {
	eachStore(t, func(t *testing.T, st tokenstore.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		for range 20 {
			s := e.login(t, appA, "oUSER")
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _ = e.m.Refresh(ctx, s.Token)
				}()
			}
			require.NoError(t, e.m.Revoke(ctx, s.Token))
			wg.Wait()
			_, err := e.m.Validate(ctx, s.Token)
			require.ErrorIs(t, err, session.ErrInvalid)
		}
	})
}

// A Revoke that lands between an update's read and its write (at another instance) is never undone:
// the write is conditional on the record read, so the update finds the session gone. Deterministic:
// the store deletes the record right after the update has read it.
func TestRevokeBetweenReadAndWriteIsNeverUndone(t *testing.T) {
	eachStore(t, func(t *testing.T, st tokenstore.Store) {
		rs := &revokeAfterRead{Store: st}
		e := newEnv(t, rs)
		ctx := context.Background()
		for name, update := range map[string]func(token string) error{
			"Refresh": func(token string) error { _, err := e.m.Refresh(ctx, token); return err },
			"SetUnionID": func(token string) error {
				_, err := e.m.SetUnionID(ctx, token, "uUNION")
				return err
			},
		} {
			s := e.login(t, appA, "oUSER")
			rs.armed.Store(true)
			err := update(s.Token)
			require.False(t, rs.armed.Load(), "%s did not read the session", name)
			require.ErrorIs(t, err, session.ErrInvalid, "%s over a revoked session", name)
			_, err = e.m.Validate(ctx, s.Token)
			require.ErrorIs(t, err, session.ErrInvalid, "%s brought a revoked session back", name)
		}
	})
}

// revokeAfterRead is a store whose next Get, once armed, deletes the key after reading it, as a
// Revoke at another instance would between an update's read and its write.
type revokeAfterRead struct {
	tokenstore.Store
	armed atomic.Bool
}

func (s *revokeAfterRead) Get(ctx context.Context, key string) (tokenstore.Token, error) {
	tok, err := s.Store.Get(ctx, key)
	if err == nil && s.armed.CompareAndSwap(true, false) {
		if derr := s.Store.Delete(ctx, key); derr != nil {
			return tokenstore.Token{}, derr
		}
	}
	return tok, err
}

func TestReloginRotatesTheKeyAndDecrypts(t *testing.T) {
	eachStore(t, func(t *testing.T, st tokenstore.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		first := e.login(t, appA, "oUSER")
		key1 := e.wx.key(appA, "oUSER")
		second := e.login(t, appA, "oUSER")
		key2 := e.wx.key(appA, "oUSER")
		require.NotEqual(t, key1, key2, "WeChat issued a new key")

		// Data encrypted under the newest key decrypts with the newest session only.
		data, iv := encrypt(t, key2, appA, map[string]any{"openId": "oUSER", "nickName": "Band"})
		s2, err := e.m.Validate(ctx, second.Token)
		require.NoError(t, err)
		u, err := e.m.DecryptUserInfo(ctx, s2, session.UserData{EncryptedData: data, IV: iv})
		require.NoError(t, err)
		assert.Equal(t, "Band", u.NickName)
		s1, err := e.m.Validate(ctx, first.Token)
		require.NoError(t, err)
		_, err = e.m.DecryptUserInfo(ctx, s1, session.UserData{EncryptedData: data, IV: iv})
		var ce *crypto.Error
		require.ErrorAs(t, err, &ce, "the old session holds the old key")
		require.ErrorIs(t, err, wxerr.ErrBadUserData, "a bad client request, like every decryption failure")

		// Phone number with the stored key.
		data, iv = encrypt(t, key2, appA, map[string]any{"phoneNumber": "+86 13800000000", "purePhoneNumber": "13800000000", "countryCode": "86"})
		p, err := e.m.DecryptPhoneNumber(ctx, s2, session.UserData{EncryptedData: data, IV: iv})
		require.NoError(t, err)
		assert.Equal(t, "13800000000", p.PurePhoneNumber)

		// Data of another mini program (watermark) is refused.
		data, iv = encrypt(t, key2, appB, map[string]any{"openId": "oUSER"})
		_, err = e.m.DecryptUserInfo(ctx, s2, session.UserData{EncryptedData: data, IV: iv})
		require.ErrorIs(t, err, crypto.ErrWatermark)
		require.ErrorIs(t, err, wxerr.ErrBadUserData)
		// Data of another user is refused.
		data, iv = encrypt(t, key2, appA, map[string]any{"openId": "oOTHER"})
		_, err = e.m.DecryptUserInfo(ctx, s2, session.UserData{EncryptedData: data, IV: iv})
		require.ErrorIs(t, err, session.ErrInvalid)
		// Input errors, and a Session not made by the Manager.
		_, err = e.m.DecryptUserInfo(ctx, s2, session.UserData{EncryptedData: "", IV: iv})
		assert.True(t, wxerr.IsValidation(err))
		_, err = e.m.DecryptPhoneNumber(ctx, s2, session.UserData{EncryptedData: data, IV: ""})
		assert.True(t, wxerr.IsValidation(err))
		_, err = e.m.DecryptUserInfo(ctx, &session.Session{AppID: appA, OpenID: "oUSER"}, session.UserData{EncryptedData: data, IV: iv})
		require.ErrorIs(t, err, session.ErrInvalid)
		_, err = e.m.DecryptPhoneNumber(ctx, nil, session.UserData{EncryptedData: data, IV: iv})
		require.ErrorIs(t, err, session.ErrInvalid)
	})
}

func TestUnionIDLearntFromUserData(t *testing.T) {
	eachStore(t, func(t *testing.T, st tokenstore.Store) {
		var mu sync.Mutex
		var seen []session.Identity
		ids := identitiesFunc(func(_ context.Context, id session.Identity) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, id)
			if id.UnionID != "" {
				return "user-" + id.UnionID, nil
			}
			return "user-" + id.OpenID, nil
		})
		e := newEnv(t, st, session.WithIdentities(ids))
		ctx := context.Background()
		s := e.login(t, appA, "oUSER")
		assert.Equal(t, "user-oUSER", s.UserID)
		assert.Empty(t, s.UnionID)

		data, iv := encrypt(t, e.wx.key(appA, "oUSER"), appA, map[string]any{"openId": "oUSER", "unionId": "uUNION"})
		_, err := e.m.DecryptUserInfo(ctx, s, session.UserData{EncryptedData: data, IV: iv})
		require.NoError(t, err)
		assert.Equal(t, "uUNION", s.UnionID)
		assert.Equal(t, "user-uUNION", s.UserID)
		v, err := e.m.Validate(ctx, s.Token)
		require.NoError(t, err)
		assert.Equal(t, "uUNION", v.UnionID, "stored")
		assert.Equal(t, "user-uUNION", v.UserID)
		assert.Equal(t, []session.Identity{{AppID: appA, OpenID: "oUSER"}, {AppID: appA, OpenID: "oUSER", UnionID: "uUNION"}}, seen)

		// A unionid never changes.
		_, err = e.m.SetUnionID(ctx, s.Token, "uOTHER")
		assert.True(t, wxerr.IsValidation(err))
		_, err = e.m.SetUnionID(ctx, s.Token, "")
		assert.True(t, wxerr.IsValidation(err))
		same, err := e.m.SetUnionID(ctx, s.Token, "uUNION")
		require.NoError(t, err)
		assert.Equal(t, "uUNION", same.UnionID)
	})
}

func TestSessionKeyNeverPrinted(t *testing.T) {
	eachStore(t, func(t *testing.T, st tokenstore.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		s := e.login(t, appA, "oUSER")
		key := e.wx.key(appA, "oUSER")
		v, err := e.m.Validate(ctx, s.Token)
		require.NoError(t, err)
		_, err = e.m.DecryptUserInfo(ctx, v, session.UserData{EncryptedData: "bm90IGRhdGE=", IV: "AAAAAAAAAAAAAAAAAAAAAA=="})
		require.Error(t, err)
		_, err = e.m.Login(ctx, appA, "bad")
		require.Error(t, err)

		var seen []string
		for _, x := range []any{s, *s, v, *v, e.m} {
			seen = append(seen, fmt.Sprintf("%v|%+v|%#v|%s", x, x, x, x))
		}
		seen = append(seen, err.Error(), e.log.String())
		var js bytes.Buffer
		slog.New(slog.NewJSONHandler(&js, nil)).Info("s", "session", s, "value", *v)
		seen = append(seen, js.String())
		all := strings.Join(seen, "\n")
		require.Contains(t, e.log.String(), "session: login", "debug logging was on")
		assert.NotContains(t, all, key)
		assert.NotContains(t, all, s.Token)
		assert.Contains(t, all, "oUSER")
	})
}

func TestConcurrentLogins(t *testing.T) {
	e := newEnv(t, tokenstore.NewMemoryStore())
	ctx := context.Background()
	var wg sync.WaitGroup
	tokens := make([]string, 32)
	for i := range tokens {
		code := e.wx.code(appA, fmt.Sprintf("o%d", i), "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := e.m.Login(ctx, appA, code)
			if assert.NoError(t, err) {
				tokens[i] = s.Token
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, tok := range tokens {
		s, err := e.m.Validate(ctx, tok)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("o%d", i), s.OpenID)
		assert.False(t, seen[tok])
		seen[tok] = true
	}
}

type identitiesFunc func(context.Context, session.Identity) (string, error)

func (f identitiesFunc) UserID(ctx context.Context, id session.Identity) (string, error) {
	return f(ctx, id)
}

var errStore = errors.New("store down")

// failingStore fails every call.
type failingStore struct{}

func (failingStore) Get(context.Context, string) (tokenstore.Token, error) {
	return tokenstore.Token{}, errStore
}
func (failingStore) Set(context.Context, string, tokenstore.Token) error { return errStore }
func (failingStore) Delete(context.Context, string) error                { return errStore }
func (failingStore) CompareAndDelete(context.Context, string, string) (bool, error) {
	return false, errStore
}
func (failingStore) CompareAndSwap(context.Context, string, string, tokenstore.Token) (bool, error) {
	return false, errStore
}
