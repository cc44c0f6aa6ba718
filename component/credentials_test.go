package component_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/tokenstore"
)

// onceFor returns a predicate true for the first call with key only.
func onceFor(key string) func(string) bool {
	var done atomic.Bool
	return func(k string) bool { return k == key && done.CompareAndSwap(false, true) }
}

func TestSetRefreshTokenIsConditional(t *testing.T) {
	ctx := context.Background()
	rtKey := authKey("wxA", "refresh_token")

	t.Run("another instance replaces it meanwhile", func(t *testing.T) {
		creds := newFailingStore(nil)
		e := setup(t, nil, creds)
		storeRefresh(t, creds, "wxA", "SECRET-RT-A")
		first := onceFor(rtKey)
		creds.beforeSet = func(key string) {
			if first(key) { // a rotation by another instance lands between the read and the write
				require.NoError(t, creds.Store.Set(ctx, rtKey, tokenstoreToken("SECRET-RT-X")))
			}
		}
		err := e.c.SetRefreshToken(ctx, "wxA", "SECRET-RT-B")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "another instance replaced it")
		assert.NotContains(t, err.Error(), "SECRET")
		assert.Equal(t, "SECRET-RT-X", storedRefreshToken(t, creds), "the other instance's token stands")
	})
	t.Run("answer lost, settled by reading", func(t *testing.T) {
		creds := newFailingStore(nil)
		e := setup(t, nil, creds)
		creds.lostReply = onceFor(rtKey)
		require.NoError(t, e.c.SetRefreshToken(ctx, "wxA", "SECRET-RT-B"))
		assert.Equal(t, "SECRET-RT-B", storedRefreshToken(t, creds))
	})
	t.Run("store unreadable", func(t *testing.T) {
		creds := newFailingStore(nil)
		e := setup(t, nil, creds)
		creds.failGet = func(string) bool { return true }
		err := e.c.SetRefreshToken(ctx, "wxA", "SECRET-RT-B")
		require.ErrorIs(t, err, errStore)
		assert.Contains(t, err.Error(), "read refresh token of wxA")
	})
	t.Run("store refuses writes", func(t *testing.T) {
		creds := newFailingStore(nil)
		e := setup(t, nil, creds)
		creds.failSet = func(string) bool { return true }
		err := e.c.SetRefreshToken(ctx, "wxA", "SECRET-RT-B")
		require.ErrorIs(t, err, errStore)
		assert.NotContains(t, err.Error(), "SECRET")
		assert.Equal(t, "", storedRefreshToken(t, creds))
	})
}

func TestVerifyTicketWrites(t *testing.T) {
	ctx := context.Background()
	key := compAppID + ":verify_ticket"
	t.Run("answer lost, settled by reading", func(t *testing.T) {
		creds := newFailingStore(nil)
		e := setup(t, nil, creds)
		creds.lostReply = onceFor(key)
		require.NoError(t, e.c.SetVerifyTicket(ctx, "ticket@@@a"))
		tok, err := e.c.VerifyTicket(ctx)
		require.NoError(t, err)
		assert.Equal(t, "ticket@@@a", tok.Value)
	})
	t.Run("store unreadable", func(t *testing.T) {
		creds := newFailingStore(nil)
		e := setup(t, nil, creds)
		creds.failGet = func(string) bool { return true }
		err := e.c.SetVerifyTicket(ctx, "ticket@@@a")
		require.ErrorIs(t, err, errStore)
		assert.NotContains(t, err.Error(), "ticket@@@a")
	})
	t.Run("a newer ticket is kept", func(t *testing.T) {
		creds := newFailingStore(nil)
		e := setup(t, nil, creds)
		require.NoError(t, creds.Set(ctx, key, tokenstore.Token{Value: "ticket@@@newer", ExpiresAt: time.Now().Add(13 * time.Hour)}))
		require.NoError(t, e.c.SetVerifyTicket(ctx, "ticket@@@a"))
		tok, err := e.c.VerifyTicket(ctx)
		require.NoError(t, err)
		assert.Equal(t, "ticket@@@newer", tok.Value)
	})
}

// An authorisation event waits for another instance's event on the same account (the event lock in
// the credential store), and gives up with the context.
func TestAuthorisationEventsOfOneAccountOneAtATime(t *testing.T) {
	creds := newFailingStore(nil)
	e := setup(t, nil, creds).withComponentToken(t)
	e.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer)
	lockKey := authKey("wxauthorizer01", "event_lock")
	require.NoError(t, creds.Set(context.Background(), lockKey, tokenstore.Token{Value: "another-instance", ExpiresAt: time.Now().Add(time.Minute)}))

	// The deadline leaves room for the exchange itself on a loaded machine; the lock holds a minute.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a, err := e.c.QueryAuth(ctx, "code")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotNil(t, a, "the exchanged authorisation is returned with the error")
	assert.Equal(t, "", storedRefreshToken(t, creds), "nothing written while another instance holds the lock")

	// The other instance finishes: the event goes through.
	go func() {
		time.Sleep(30 * time.Millisecond)
		_, _ = creds.CompareAndDelete(context.Background(), lockKey, "another-instance")
	}()
	_, err = e.c.QueryAuth(context.Background(), "code")
	require.NoError(t, err)
	rt, err := get(t, creds, authKey("wxauthorizer01", "refresh_token"))
	require.NoError(t, err)
	assert.Equal(t, "SECRET-RT-1", rt.Value)
	_, err = get(t, creds, lockKey)
	assert.ErrorIs(t, err, tokenstore.ErrNotFound, "the lock is released")
}

func TestForgetStoreFailures(t *testing.T) {
	ctx := context.Background()
	creds := newFailingStore(nil)
	e := setup(t, nil, creds).withComponentToken(t)
	storeRefresh(t, creds, "wxA", "SECRET-RT-A")
	creds.failGet = func(key string) bool { return strings.HasSuffix(key, ":authorization") }
	err := e.c.ForgetAuthorizer(ctx, "wxA")
	require.ErrorIs(t, err, errStore)
	assert.Contains(t, err.Error(), "read authorisation record of wxA")
	assert.Equal(t, "", storedRefreshToken(t, creds), "the refresh token is deleted all the same")

	creds.failGet = nil
	storeRefresh(t, creds, "wxA", "SECRET-RT-A")
	creds.failDelete = func(key string) bool { return strings.HasSuffix(key, ":refresh_token") }
	err = e.c.ForgetAuthorizer(ctx, "wxA")
	require.ErrorIs(t, err, errStore)
	assert.Contains(t, err.Error(), "delete refresh_token of wxA")
	_, err = e.c.StoredAuthorization(ctx, "wxA")
	assert.Error(t, err, "the revocation record is written all the same")

	// The event lock cannot be taken: nothing is done.
	creds.failDelete = nil
	creds.failSet = func(key string) bool { return strings.HasSuffix(key, ":event_lock") }
	creds.failGet = func(key string) bool { return strings.HasSuffix(key, ":event_lock") }
	err = e.c.ForgetAuthorizer(ctx, "wxA")
	require.ErrorIs(t, err, errStore)
	assert.Contains(t, err.Error(), "event lock of wxA")
	assert.Equal(t, "SECRET-RT-A", storedRefreshToken(t, creds))
}

// The handled-push memory failing does not fail the push: it is handled (and logged); a replay is
// then handled again, which beats dropping pushes while the store is down.
func TestHandledPushMemoryFailures(t *testing.T) {
	h := hsetup(t)
	var logs bytes.Buffer
	n := 0
	hd := h.handler(t, component.HandlerConfig{
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
		OnOther: func(context.Context, *component.PlatformEvent) error { n++; return nil },
	})
	h.creds.failGet = func(key string) bool { return strings.Contains(key, ":push:") }
	h.creds.failSet = func(key string) bool { return strings.Contains(key, ":push:") }
	d := newDelivery(t, event("x_event", time.Now()))
	require.Equal(t, http.StatusOK, d.to(hd))
	require.Equal(t, http.StatusOK, d.to(hd))
	assert.Equal(t, 2, n)
	assert.Contains(t, logs.String(), "cannot write the handled-push memory; handling the push without it")
	assert.Contains(t, logs.String(), "cannot write the handled-push memory\"")

	// Back: remembered.
	h.creds.failGet, h.creds.failSet = nil, nil
	require.Equal(t, http.StatusOK, d.to(hd))
	require.Equal(t, http.StatusOK, d.to(hd))
	assert.Equal(t, 3, n)

	// Writes work but reads fail: the memory is held, and what holds it cannot be read (a claim of
	// another delivery, or the handled mark): the push is handled again rather than dropped.
	h.creds.failGet = func(key string) bool { return strings.Contains(key, ":push:") }
	require.Equal(t, http.StatusOK, d.to(hd))
	assert.Equal(t, 4, n)
	assert.Contains(t, logs.String(), "cannot read the handled-push memory; handling the push without it")
}

// An exchanged-code memory that cannot be decoded is not taken for "no exchange": the code (maybe
// consumed) is not exchanged again, the push is answered 500, and the value is never echoed.
func TestUndecodableExchangeMemory(t *testing.T) {
	h := hsetup(t)
	qa := h.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer)
	var logs bytes.Buffer
	hd := h.handler(t, component.HandlerConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	d := newDelivery(t, event("authorized", time.Now(), "AuthorizerAppid", "wxauthorizer01", "AuthorizationCode", "code1"))
	// What the handler writes under the code's key, seen from the outside: a key with ":push:code:".
	var memKey string
	h.creds.beforeSet = func(key string) {
		if strings.Contains(key, ":push:code:") && memKey == "" {
			memKey = key
		}
	}
	require.Equal(t, http.StatusOK, d.to(hd))
	require.NotEmpty(t, memKey)
	require.NoError(t, h.creds.Store.Set(context.Background(), memKey, tokenstore.Token{Value: "SECRET-garbage", ExpiresAt: time.Now().Add(time.Hour)}))
	// The same code in another push (not the same push, which is remembered as handled).
	d2 := newDelivery(t, event("authorized", time.Now().Add(time.Second), "AuthorizerAppid", "wxauthorizer01", "AuthorizationCode", "code1"))
	assert.Equal(t, http.StatusInternalServerError, d2.to(hd))
	assert.Len(t, qa.list(), 1)
	assert.NotContains(t, logs.String(), "SECRET")
}

// Two instances exchanged the same code (WeChat answered both): each applies its own, the first
// memory of the exchange stays. A lost answer to the memory's write is settled by reading.
func TestExchangeMemoryRaces(t *testing.T) {
	for _, tc := range []string{"another instance remembered first", "answer lost"} {
		t.Run(tc, func(t *testing.T) {
			h := hsetup(t)
			h.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer)
			var got *component.Authorization
			hd := h.handler(t, component.HandlerConfig{OnAuthorized: func(_ context.Context, ev *component.AuthorizedEvent) error {
				got = ev.Authorization
				return nil
			}})
			var memKey atomic.Value
			h.creds.beforeSet = func(key string) {
				if !strings.Contains(key, ":push:code:") || memKey.Load() != nil {
					return
				}
				memKey.Store(key)
				if tc == "another instance remembered first" {
					theirs := `{"authorizer_appid":"wxauthorizer01","access_token":"SECRET-AT-THEIRS","expires_at":"` +
						time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `","refresh_token":"SECRET-RT-1","func_info":[{"ID":17}],"replaces":""}`
					require.NoError(t, h.creds.Store.Set(context.Background(), key, tokenstore.Token{Value: theirs, ExpiresAt: time.Now().Add(time.Hour)}))
				}
			}
			if tc == "answer lost" {
				h.creds.lostReply = func(key string) bool { return strings.Contains(key, ":push:code:") }
			}
			d := newDelivery(t, event("authorized", time.Now(), "AuthorizerAppid", "wxauthorizer01", "AuthorizationCode", "code1"))
			require.Equal(t, http.StatusOK, d.to(hd))
			require.NotNil(t, got)
			assert.Equal(t, "SECRET-AT-1", got.AccessToken, "this delivery's exchange is applied")
			assert.Equal(t, "SECRET-RT-1", refreshTokenOf(t, h.creds, "wxauthorizer01"))
			want := "SECRET-AT-1"
			if tc == "another instance remembered first" {
				want = "SECRET-AT-THEIRS"
			}
			mem, err := h.creds.Store.Get(context.Background(), memKey.Load().(string))
			require.NoError(t, err)
			assert.Contains(t, mem.Value, want, "one memory of the exchange: the first")
		})
	}
}

func refreshTokenOf(t *testing.T, s tokenstore.Store, appID string) string {
	t.Helper()
	rt, err := s.Get(context.Background(), authKey(appID, "refresh_token"))
	require.NoError(t, err)
	return rt.Value
}
