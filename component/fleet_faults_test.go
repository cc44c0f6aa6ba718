package component_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

// An instance died holding an account's event lock (it lapses with its lease). An unauthorized push
// arriving meanwhile, at a live instance, waits for the lease to lapse and is applied: answering 500
// until then would lose the revocation once WeChat's few retries, seconds apart, are spent.
func TestEventLockOfDeadInstanceDelaysButDoesNotLoseThePush(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a lock lease to lapse")
	}
	creds := newFailingStore(nil)
	wx := newRotatingWeChat("")
	a := newNode(t, creds, wx)
	t0 := time.Now().Add(-time.Minute)
	require.Equal(t, http.StatusOK, authorizedPush(t, t0, wx.issueCode("wxA")).to(a.h))
	require.Equal(t, "SECRET-RT-2", storedRefreshToken(t, creds))

	// The dead instance's lock, taken a little before its lease ran out.
	require.NoError(t, creds.Set(context.Background(), authKey("wxA", "event_lock"),
		tokenstore.Token{Value: "dead-instance", ExpiresAt: time.Now().Add(7 * time.Second)}))
	require.Equal(t, http.StatusOK, unauthorizedPush(t, t0.Add(30*time.Second)).to(a.h))
	assert.Equal(t, "", storedRefreshToken(t, creds), "the revocation is applied once the lease lapsed")
	assert.Equal(t, []string{"authorized", "unauthorized"}, a.seen())
}

// An authorisation whose refresh-token write the store refused is kept in memory at its instance; the
// account then revokes, handled at another instance. The first instance's next refresh must not write
// the revoked authorisation's refresh token back (nor send it to WeChat).
func TestPendingAuthorisationNotResurrectedAfterRevocation(t *testing.T) {
	creds := newFailingStore(nil)
	wx := newRotatingWeChat("")
	a, b := newNode(t, creds, wx), newNode(t, creds, wx)
	rtKey := authKey("wxA", "refresh_token")
	t0 := time.Now().Add(-time.Minute)
	creds.failSet = func(key string) bool { return key == rtKey }
	require.Equal(t, http.StatusInternalServerError, authorizedPush(t, t0, wx.issueCode("wxA")).to(a.h))
	creds.failSet = nil
	require.Equal(t, "", storedRefreshToken(t, creds))

	require.Equal(t, http.StatusOK, unauthorizedPush(t, t0.Add(30*time.Second)).to(b.h))

	_, err := a.c.AuthorizerToken(context.Background(), "wxA")
	require.ErrorIs(t, err, wxerr.ErrNotAuthorized)
	assert.Equal(t, "", storedRefreshToken(t, creds), "the revoked authorisation's refresh token is not written back")
	assert.Empty(t, wx.sentTokens())
	rec, err := creds.Get(context.Background(), authKey("wxA", "authorization"))
	require.NoError(t, err)
	assert.True(t, strings.Contains(rec.Value, `"revoked":true`))
}

// Without a revocation, the kept authorisation is applied by the next refresh: its refresh token and
// its record are stored.
func TestPendingAuthorisationAppliedByNextRefresh(t *testing.T) {
	creds := newFailingStore(nil)
	wx := newRotatingWeChat("")
	a := newNode(t, creds, wx)
	rtKey := authKey("wxA", "refresh_token")
	creds.failSet = func(key string) bool { return key == rtKey }
	require.Equal(t, http.StatusInternalServerError, authorizedPush(t, time.Now(), wx.issueCode("wxA")).to(a.h))
	creds.failSet = nil

	_, err := a.c.AuthorizerToken(context.Background(), "wxA")
	require.NoError(t, err)
	assert.Equal(t, []string{"SECRET-RT-2"}, wx.sentTokens())
	rec, err := a.c.StoredAuthorization(context.Background(), "wxA")
	require.NoError(t, err)
	assert.Equal(t, []int{17}, rec.FuncScopes)
}

// The release of the event lock is refused once (a store blip): it is tried again, so that the
// account's next event does not wait for the lease to lapse.
func TestEventLockReleaseRetried(t *testing.T) {
	creds := newFailingStore(nil)
	e := setup(t, nil, creds).withComponentToken(t)
	e.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer)
	lockKey := authKey("wxauthorizer01", "event_lock")
	creds.failDelete = onceFor(lockKey)
	_, err := e.c.QueryAuth(context.Background(), "code")
	require.NoError(t, err)
	_, err = get(t, creds, lockKey)
	assert.ErrorIs(t, err, tokenstore.ErrNotFound, "the lock is released")
}

// The authorized push arrived first, at another instance, and exchanged the code; the redirect page's
// QueryAuth of the same code (WeChat refuses a used code, 61009) gets the authorisation that push
// exchanged and stored, not an error.
func TestRedirectExchangeAfterAuthorizedPush(t *testing.T) {
	creds := newFailingStore(nil)
	wx := newRotatingWeChat("")
	a, b := newNode(t, creds, wx), newNode(t, creds, wx)
	code := wx.issueCode("wxA")
	require.Equal(t, http.StatusOK, authorizedPush(t, time.Now(), code).to(b.h))
	require.Equal(t, "SECRET-RT-2", storedRefreshToken(t, creds))

	auth, err := a.c.QueryAuth(context.Background(), code)
	require.NoError(t, err)
	assert.Equal(t, "wxA", auth.AuthorizerAppID)
	assert.Equal(t, "SECRET-RT-2", auth.RefreshToken)
	assert.Equal(t, []int{17}, auth.FuncScopes())
	assert.Equal(t, 2, wx.exchanges(), "tried once; WeChat refused the used code")
	assert.Equal(t, "SECRET-RT-2", storedRefreshToken(t, creds))

	// A code nobody exchanged here is still an error.
	_, err = a.c.QueryAuth(context.Background(), "queryauthcode@@@unknown")
	assert.Equal(t, wxerr.CodeAuthCodeInvalid, wxerr.CodeOf(err))
}

// A refresh at instance A waits for WeChat while instance B handles the account's revocation; WeChat
// answers with the refresh token unchanged (its usual answer). A must not hand out, nor cache in the
// shared token store, the access token of the revoked account.
func TestRevocationAtAnotherInstanceDuringRefresh(t *testing.T) {
	tokens, creds := tokenstore.NewMemoryStore(), newFailingStore(nil)
	wx := newRotatingWeChat("")
	a := setup(t, tokens, creds).withComponentToken(t)
	b := newNode(t, creds, wx)
	storeRefresh(t, creds, "wxA", "SECRET-RT-A")
	entered, release := make(chan struct{}), make(chan struct{})
	a.onFunc(t, "POST", "/cgi-bin/component/api_authorizer_token", func(c call) (int, string) {
		close(entered)
		<-release
		return 200, `{"authorizer_access_token":"SECRET-AT-A","expires_in":7200,"authorizer_refresh_token":"SECRET-RT-A"}`
	})
	refreshed := make(chan error, 1)
	go func() {
		_, err := a.c.AuthorizerToken(context.Background(), "wxA")
		refreshed <- err
	}()
	<-entered
	require.Equal(t, http.StatusOK, unauthorizedPush(t, time.Now()).to(b.h))
	close(release)
	assert.ErrorIs(t, <-refreshed, wxerr.ErrNotAuthorized)
	_, err := tokens.Get(context.Background(), authKey("wxA", "access_token"))
	assert.ErrorIs(t, err, tokenstore.ErrNotFound, "no access token cached for the revoked account")
}
