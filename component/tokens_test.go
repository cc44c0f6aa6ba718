package component_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

func storeRefresh(t *testing.T, s tokenstore.Store, appID, rt string) {
	t.Helper()
	require.NoError(t, s.Set(context.Background(), authKey(appID, "refresh_token"), tokenstore.Token{Value: rt}))
}

func TestAuthorizerTokenRefresh(t *testing.T) {
	e := setup(t).withComponentToken(t)
	storeRefresh(t, e.creds, "wxA", "SECRET-RT-A")
	r := e.on(t, "POST", "/cgi-bin/component/api_authorizer_token",
		`{"authorizer_access_token":"SECRET-AT-A","expires_in":7200,"authorizer_refresh_token":"SECRET-RT-A"}`)
	ctx := context.Background()
	tok, err := e.c.AuthorizerToken(ctx, "wxA")
	require.NoError(t, err)
	assert.Equal(t, "SECRET-AT-A", tok.Value)
	assert.WithinDuration(t, time.Now().Add(2*time.Hour), tok.ExpiresAt, time.Minute)
	calls := r.list()
	require.Len(t, calls, 1)
	assertCall(t, calls[0], "POST", "/cgi-bin/component/api_authorizer_token", compQuery(), map[string]any{
		"component_appid": compAppID, "authorizer_appid": "wxA", "authorizer_refresh_token": "SECRET-RT-A",
	})
	stored, err := get(t, e.tokens, authKey("wxA", "access_token"))
	require.NoError(t, err)
	assert.Equal(t, "SECRET-AT-A", stored.Value)

	// Warm: the source serves it without a request.
	tok2, err := e.c.AuthorizerTokenSource("wxA").Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, tok, tok2)
	assert.Len(t, r.list(), 1)
}

func TestAuthorizerTokenNotAuthorized(t *testing.T) {
	e := setup(t).withComponentToken(t)
	_, err := e.c.AuthorizerToken(context.Background(), "wxnobody")
	require.ErrorIs(t, err, wxerr.ErrNotAuthorized)
	assert.Contains(t, err.Error(), "wxnobody")
	assert.Zero(t, e.mt.GetTotalCallCount())

	_, err = e.c.AuthorizerToken(context.Background(), "")
	assert.True(t, wxerr.IsValidation(err))
}

func TestAuthorizerTokenStoreErrorNotSwallowed(t *testing.T) {
	creds := newFailingStore(nil)
	creds.failGet = func(key string) bool { return strings.HasSuffix(key, ":refresh_token") }
	e := setup(t, nil, creds).withComponentToken(t)
	_, err := e.c.AuthorizerToken(context.Background(), "wxA")
	require.ErrorIs(t, err, errStore)
	assert.NotErrorIs(t, err, wxerr.ErrNotAuthorized, "a store failure is not a missing authorisation")
	assert.Zero(t, e.mt.GetTotalCallCount())
}

func TestAuthorizerTokenRefreshTokenInvalid(t *testing.T) {
	e := setup(t).withComponentToken(t)
	storeRefresh(t, e.creds, "wxA", "SECRET-RT-A")
	e.on(t, "POST", "/cgi-bin/component/api_authorizer_token", `{"errcode":61023,"errmsg":"refresh_token is invalid"}`)
	_, err := e.c.AuthorizerToken(context.Background(), "wxA")
	require.ErrorIs(t, err, wxerr.ErrRefreshTokenInvalid)
	assert.Contains(t, err.Error(), "authorise the platform again")
	assert.Contains(t, err.Error(), "wxA")
	assert.NotContains(t, err.Error(), "SECRET")
	assert.Equal(t, 1, e.mt.GetTotalCallCount(), "61023 is not retried")
	rt, gerr := get(t, e.creds, authKey("wxA", "refresh_token"))
	require.NoError(t, gerr)
	assert.Equal(t, "SECRET-RT-A", rt.Value, "the refresh token is not deleted behind the user's back")
}

func TestAuthorizerTokenTransportFailure(t *testing.T) {
	e := setup(t).withComponentToken(t)
	storeRefresh(t, e.creds, "wxA", "SECRET-RT-A")
	e.mt.RegisterResponder("POST", base+"/cgi-bin/component/api_authorizer_token", httpmock.NewErrorResponder(errors.New("reset by peer")))
	_, err := e.c.AuthorizerToken(context.Background(), "wxA")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reset by peer")
	assert.NotContains(t, err.Error(), "SECRET")
	_, gerr := get(t, e.tokens, authKey("wxA", "access_token"))
	assert.ErrorIs(t, gerr, tokenstore.ErrNotFound)
}

func TestRotatedRefreshTokenStoredBeforeUse(t *testing.T) {
	log := &writeLog{}
	tokens, creds := newFailingStore(log), newFailingStore(log)
	e := setup(t, tokens, creds).withComponentToken(t)
	storeRefresh(t, creds, "wxA", "SECRET-RT-OLD")
	e.on(t, "POST", "/cgi-bin/component/api_authorizer_token",
		`{"authorizer_access_token":"SECRET-AT-NEW","expires_in":7200,"authorizer_refresh_token":"SECRET-RT-NEW"}`)
	tok, err := e.c.AuthorizerToken(context.Background(), "wxA")
	require.NoError(t, err)
	log.add("returned " + tok.Value)

	entries := log.list()
	idx := func(s string) int {
		for i, e := range entries {
			if e == s {
				return i
			}
		}
		return -1
	}
	rotated := idx("set " + authKey("wxA", "refresh_token") + " SECRET-RT-NEW")
	cached := idx("set " + authKey("wxA", "access_token") + " SECRET-AT-NEW")
	returned := idx("returned SECRET-AT-NEW")
	require.NotEqual(t, -1, rotated, "%v", entries)
	require.NotEqual(t, -1, cached, "%v", entries)
	assert.Less(t, rotated, cached, "the rotated refresh token is durable before the access token is stored: %v", entries)
	assert.Less(t, cached, returned)
	assert.Equal(t, "api_authorizer_token", creds.reason(authKey("wxA", "refresh_token")))

	// The next refresh uses the rotated token.
	rt, err := get(t, creds, authKey("wxA", "refresh_token"))
	require.NoError(t, err)
	assert.Equal(t, "SECRET-RT-NEW", rt.Value)
}

func TestUnchangedRefreshTokenNotRewritten(t *testing.T) {
	log := &writeLog{}
	creds := newFailingStore(log)
	e := setup(t, nil, creds).withComponentToken(t)
	storeRefresh(t, creds, "wxA", "SECRET-RT-A")
	e.on(t, "POST", "/cgi-bin/component/api_authorizer_token",
		`{"authorizer_access_token":"SECRET-AT","expires_in":7200,"authorizer_refresh_token":"SECRET-RT-A"}`)
	_, err := e.c.AuthorizerToken(context.Background(), "wxA")
	require.NoError(t, err)
	assert.Equal(t, []string{"set " + authKey("wxA", "refresh_token") + " SECRET-RT-A"}, log.list(), "only the test's own write")
}

func TestRotationStoreFailureKeepsOldRefreshToken(t *testing.T) {
	creds := newFailingStore(nil)
	e := setup(t, nil, creds).withComponentToken(t)
	storeRefresh(t, creds, "wxA", "SECRET-RT-OLD")
	creds.failSet = func(key string) bool { return strings.HasSuffix(key, ":refresh_token") }
	r := e.on(t, "POST", "/cgi-bin/component/api_authorizer_token",
		`{"authorizer_access_token":"SECRET-AT-NEW","expires_in":7200,"authorizer_refresh_token":"SECRET-RT-NEW"}`)
	tok, err := e.c.AuthorizerToken(context.Background(), "wxA")
	require.ErrorIs(t, err, errStore)
	assert.Contains(t, err.Error(), "rotated refresh token of wxA")
	assert.NotContains(t, err.Error(), "SECRET")
	assert.True(t, tok.IsZero(), "no access token is handed out when its refresh token could not be kept")
	rt, gerr := get(t, creds, authKey("wxA", "refresh_token"))
	require.NoError(t, gerr)
	assert.Equal(t, "SECRET-RT-OLD", rt.Value)
	_, gerr = get(t, e.tokens, authKey("wxA", "access_token"))
	assert.ErrorIs(t, gerr, tokenstore.ErrNotFound)

	// While the store still refuses writes, nothing is sent to WeChat: the rotated token WeChat gave
	// must be saved first.
	_, err = e.c.AuthorizerToken(context.Background(), "wxA")
	require.ErrorIs(t, err, errStore)
	assert.Contains(t, err.Error(), "kept in memory")
	assert.Len(t, r.list(), 1)

	// Once the store recovers, the rotated token WeChat issued (which may be the only one it still
	// honours) is written first and used for the refresh: no re-authorisation needed.
	creds.failSet = nil
	tok, err = e.c.AuthorizerToken(context.Background(), "wxA")
	require.NoError(t, err)
	assert.Equal(t, "SECRET-AT-NEW", tok.Value)
	calls := r.list()
	require.Len(t, calls, 2)
	assert.Equal(t, "SECRET-RT-NEW", calls[1].Body["authorizer_refresh_token"], "the unsaved rotation is used, not the stale stored token")
	rt, _ = get(t, creds, authKey("wxA", "refresh_token"))
	assert.Equal(t, "SECRET-RT-NEW", rt.Value)
}

func TestConcurrentRequestsOneRefresh(t *testing.T) {
	e := setup(t).withComponentToken(t)
	storeRefresh(t, e.creds, "wxA", "SECRET-RT-A")
	var calls atomic.Int32
	release := make(chan struct{})
	e.mt.RegisterResponder("POST", base+"/cgi-bin/component/api_authorizer_token", func(*http.Request) (*http.Response, error) {
		calls.Add(1)
		<-release
		return httpmock.NewStringResponse(200, `{"authorizer_access_token":"SECRET-AT-A","expires_in":7200,"authorizer_refresh_token":"SECRET-RT-A"}`), nil
	})
	const n = 50
	var wg sync.WaitGroup
	results := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := e.c.AuthorizerToken(context.Background(), "wxA")
			results[i], errs[i] = tok.Value, err
		}()
	}
	require.Eventually(t, func() bool { return calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond) // let the other callers pile up on the flight
	close(release)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, "SECRET-AT-A", results[i])
	}
	assert.Equal(t, int32(1), calls.Load(), "one refresh for all concurrent callers")
}

func TestDifferentAppIDsRefreshIndependently(t *testing.T) {
	e := setup(t).withComponentToken(t)
	storeRefresh(t, e.creds, "wxA", "SECRET-RT-A")
	storeRefresh(t, e.creds, "wxB", "SECRET-RT-B")
	blockA := make(chan struct{})
	var mu sync.Mutex
	perApp := map[string]int{}
	e.onFunc(t, "POST", "/cgi-bin/component/api_authorizer_token", func(c call) (int, string) {
		app := c.Body["authorizer_appid"].(string)
		mu.Lock()
		perApp[app]++
		mu.Unlock()
		if app == "wxA" {
			<-blockA
		}
		rt := c.Body["authorizer_refresh_token"].(string)
		return 200, fmt.Sprintf(`{"authorizer_access_token":"SECRET-AT-%s","expires_in":7200,"authorizer_refresh_token":%q}`, app, rt)
	})
	doneA := make(chan error, 1)
	go func() {
		tok, err := e.c.AuthorizerToken(context.Background(), "wxA")
		if err == nil && tok.Value != "SECRET-AT-wxA" {
			err = fmt.Errorf("wrong token %s", tok.Value)
		}
		doneA <- err
	}()
	// wxA's refresh is stuck; wxB's goes through regardless.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tok, err := e.c.AuthorizerToken(ctx, "wxB")
	require.NoError(t, err)
	assert.Equal(t, "SECRET-AT-wxB", tok.Value)
	close(blockA)
	require.NoError(t, <-doneA)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, map[string]int{"wxA": 1, "wxB": 1}, perApp)
}

func TestSetRefreshTokenAndForget(t *testing.T) {
	tokens, creds := newFailingStore(nil), newFailingStore(nil)
	e := setup(t, tokens, creds).withComponentToken(t)
	ctx := context.Background()
	assert.True(t, wxerr.IsValidation(e.c.SetRefreshToken(ctx, "", "x")))
	assert.True(t, wxerr.IsValidation(e.c.SetRefreshToken(ctx, "wxA", "")))
	require.NoError(t, e.c.SetRefreshToken(ctx, "wxA", "SECRET-RT-A"))
	assert.Equal(t, "manual:set_refresh_token", creds.reason(authKey("wxA", "refresh_token")))

	e.on(t, "POST", "/cgi-bin/component/api_authorizer_token",
		`{"authorizer_access_token":"SECRET-AT-A","expires_in":7200,"authorizer_refresh_token":"SECRET-RT-A"}`)
	_, err := e.c.AuthorizerToken(ctx, "wxA")
	require.NoError(t, err)

	require.NoError(t, e.c.ForgetAuthorizer(ctx, "wxA"))
	_, err = get(t, creds, authKey("wxA", "refresh_token"))
	assert.ErrorIs(t, err, tokenstore.ErrNotFound)
	_, err = e.c.StoredAuthorization(ctx, "wxA")
	assert.ErrorIs(t, err, wxerr.ErrNotAuthorized, "the record is a revocation record")
	_, err = get(t, tokens, authKey("wxA", "access_token"))
	assert.ErrorIs(t, err, tokenstore.ErrNotFound)
	// The in-process copy is gone too: the next call needs the (now missing) refresh token.
	_, err = e.c.AuthorizerToken(ctx, "wxA")
	assert.ErrorIs(t, err, wxerr.ErrNotAuthorized)

	// Errors are joined, and every deletion is attempted.
	require.NoError(t, e.c.SetRefreshToken(ctx, "wxB", "SECRET-RT-B"))
	creds.failSet = func(key string) bool { return strings.HasSuffix(key, ":authorization") }
	err = e.c.ForgetAuthorizer(ctx, "wxB")
	require.ErrorIs(t, err, errStore)
	_, gerr := get(t, creds, authKey("wxB", "refresh_token"))
	assert.ErrorIs(t, gerr, tokenstore.ErrNotFound)
	assert.True(t, wxerr.IsValidation(e.c.ForgetAuthorizer(ctx, "")))
}

// A refresh that is waiting for WeChat when the account revokes its authorisation (the unauthorized
// push runs ForgetAuthorizer) must not bring back what Forget dropped: neither the refresh token
// (rotated or kept in memory after a failed write) nor the access token WeChat answered with.
func TestRefreshDuringForgetResurrectsNothing(t *testing.T) {
	for _, storeDown := range []bool{false, true} {
		t.Run(fmt.Sprintf("rotation write fails=%t", storeDown), func(t *testing.T) {
			creds := newFailingStore(nil)
			e := setup(t, nil, creds).withComponentToken(t)
			storeRefresh(t, creds, "wxA", "SECRET-RT-OLD")
			entered := make(chan struct{})
			release := make(chan struct{})
			var calls atomic.Int32
			e.onFunc(t, "POST", "/cgi-bin/component/api_authorizer_token", func(call) (int, string) {
				if calls.Add(1) == 1 {
					close(entered)
					<-release // WeChat answers after the revocation was handled
				}
				return 200, `{"authorizer_access_token":"SECRET-AT-NEW","expires_in":7200,"authorizer_refresh_token":"SECRET-RT-NEW"}`
			})
			refreshed := make(chan error, 1)
			go func() {
				_, err := e.c.AuthorizerToken(context.Background(), "wxA")
				refreshed <- err
			}()
			<-entered
			if storeDown { // read by the refresh only after release
				creds.failSet = func(key string) bool { return strings.HasSuffix(key, ":refresh_token") }
			}
			forgot := make(chan error, 1)
			go func() { forgot <- e.c.ForgetAuthorizer(context.Background(), "wxA") }()
			require.Eventually(t, func() bool {
				_, err := creds.Store.Get(context.Background(), authKey("wxA", "refresh_token"))
				return errors.Is(err, tokenstore.ErrNotFound)
			}, 5*time.Second, time.Millisecond, "Forget deletes the refresh token")
			close(release)
			require.NoError(t, <-forgot)
			err := <-refreshed
			require.ErrorIs(t, err, wxerr.ErrNotAuthorized, "the answer to a revoked refresh token is not handed out")

			creds.failSet = nil
			_, gerr := get(t, creds, authKey("wxA", "refresh_token"))
			assert.ErrorIs(t, gerr, tokenstore.ErrNotFound, "the rotated refresh token is not written back")
			_, gerr = get(t, e.tokens, authKey("wxA", "access_token"))
			assert.ErrorIs(t, gerr, tokenstore.ErrNotFound, "the access token is not stored")
			_, err = e.c.AuthorizerToken(context.Background(), "wxA")
			assert.ErrorIs(t, err, wxerr.ErrNotAuthorized)
			_, gerr = get(t, creds, authKey("wxA", "refresh_token"))
			assert.ErrorIs(t, gerr, tokenstore.ErrNotFound, "no refresh token kept in memory comes back")
			assert.Equal(t, int32(1), calls.Load(), "nothing more is sent to WeChat for the revoked account")
		})
	}
}

// A refresh with the old refresh token that is still waiting for WeChat when a new authorisation is
// stored (an authorized/updateauthorized push, or SetRefreshToken) must not overwrite the new refresh
// token with the old one's rotation.
func TestRefreshDuringNewAuthorisationKeepsTheNewRefreshToken(t *testing.T) {
	e := setup(t).withComponentToken(t)
	storeRefresh(t, e.creds, "wxauthorizer01", "SECRET-RT-OLD")
	e.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer) // stores SECRET-RT-1
	entered := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	var used []string
	e.onFunc(t, "POST", "/cgi-bin/component/api_authorizer_token", func(c call) (int, string) {
		rt := c.Body["authorizer_refresh_token"].(string)
		mu.Lock()
		used = append(used, rt)
		first := len(used) == 1
		mu.Unlock()
		if first {
			close(entered)
			<-release
		}
		return 200, fmt.Sprintf(`{"authorizer_access_token":"SECRET-AT-FROM-%s","expires_in":7200,"authorizer_refresh_token":"%s-ROTATED"}`, rt, rt)
	})
	refreshed := make(chan error, 1)
	go func() {
		_, err := e.c.AuthorizerToken(context.Background(), "wxauthorizer01")
		refreshed <- err
	}()
	<-entered
	_, err := e.c.QueryAuth(context.Background(), "code")
	require.NoError(t, err)
	close(release)
	<-refreshed

	rt, err := get(t, e.creds, authKey("wxauthorizer01", "refresh_token"))
	require.NoError(t, err)
	assert.NotEqual(t, "SECRET-RT-OLD-ROTATED", rt.Value, "the old authorisation's rotation does not replace the new refresh token")
	mu.Lock()
	defer mu.Unlock()
	for _, u := range used[1:] {
		assert.NotEqual(t, "SECRET-RT-OLD", u)
	}
}

// A refresh that got WeChat's answer just before the revocation and is still storing the access
// token when ForgetAuthorizer runs: Forget waits for it, so the access token does not survive.
func TestForgetWaitsForARefreshStoringItsToken(t *testing.T) {
	tokens := newFailingStore(nil)
	e := setup(t, tokens, nil).withComponentToken(t)
	storeRefresh(t, e.creds, "wxA", "SECRET-RT-A")
	e.on(t, "POST", "/cgi-bin/component/api_authorizer_token",
		`{"authorizer_access_token":"SECRET-AT-A","expires_in":7200,"authorizer_refresh_token":"SECRET-RT-A"}`)
	entered := make(chan struct{})
	release := make(chan struct{})
	tokens.beforeSet = func(key string) {
		if key == authKey("wxA", "access_token") {
			close(entered)
			<-release
		}
	}
	refreshed := make(chan error, 1)
	go func() {
		_, err := e.c.AuthorizerToken(context.Background(), "wxA")
		refreshed <- err
	}()
	<-entered
	forgot := make(chan error, 1)
	go func() { forgot <- e.c.ForgetAuthorizer(context.Background(), "wxA") }()
	require.Eventually(t, func() bool {
		_, err := e.creds.Get(context.Background(), authKey("wxA", "refresh_token"))
		return errors.Is(err, tokenstore.ErrNotFound)
	}, 5*time.Second, time.Millisecond)
	time.Sleep(10 * time.Millisecond) // Forget would finish here if it did not wait
	close(release)
	require.NoError(t, <-forgot)
	require.NoError(t, <-refreshed, "WeChat answered before the revocation: that caller gets its token")

	_, err := get(t, tokens, authKey("wxA", "access_token"))
	assert.ErrorIs(t, err, tokenstore.ErrNotFound, "the access token stored by the refresh is dropped")
	_, err = e.c.AuthorizerToken(context.Background(), "wxA")
	assert.ErrorIs(t, err, wxerr.ErrNotAuthorized, "and so is the in-process copy")
}

func TestQueryAuthStoreFailureKeepsRefreshTokenForNextRefresh(t *testing.T) {
	creds := newFailingStore(nil)
	e := setup(t, nil, creds).withComponentToken(t)
	e.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer)
	ctx := context.Background()
	creds.failSet = func(key string) bool { return strings.HasSuffix(key, ":refresh_token") }
	a, err := e.c.QueryAuth(ctx, "queryauthcode@@@1")
	require.ErrorIs(t, err, errStore)
	require.NotNil(t, a, "the exchanged authorisation is returned with the storage error")
	assert.Contains(t, err.Error(), "kept in memory")

	// The store is back: the next refresh writes the kept token first and uses it; the merchant does
	// not have to authorise again.
	creds.failSet = nil
	r := e.on(t, "POST", "/cgi-bin/component/api_authorizer_token",
		`{"authorizer_access_token":"SECRET-AT-2","expires_in":7200,"authorizer_refresh_token":"SECRET-RT-1"}`)
	tok, err := e.c.AuthorizerToken(ctx, "wxauthorizer01")
	require.NoError(t, err)
	assert.Equal(t, "SECRET-AT-2", tok.Value)
	calls := r.list()
	require.Len(t, calls, 1)
	assert.Equal(t, "SECRET-RT-1", calls[0].Body["authorizer_refresh_token"])
	rt, err := get(t, creds, authKey("wxauthorizer01", "refresh_token"))
	require.NoError(t, err)
	assert.Equal(t, "SECRET-RT-1", rt.Value)
}
