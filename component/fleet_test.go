package component_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

// rotatingWeChat plays api_authorizer_token as WeChat does when it rotates refresh tokens: each
// refresh token works once, is then retired (61023), and the answer carries its successor.
type rotatingWeChat struct {
	mu        sync.Mutex
	live      map[string]bool // refresh token -> still accepted
	n         int
	sent      []string          // refresh tokens sent, in order
	codes     map[string]string // unused authorisation code -> the refresh token it issues
	appIDs    []string
	exchanged []string       // codes sent to api_query_auth
	gen       map[string]int // refresh token -> the authorisation (code) it descends from
}

// newRotatingWeChat returns a WeChat that honours first ("" for none).
func newRotatingWeChat(first string) *rotatingWeChat {
	w := &rotatingWeChat{live: map[string]bool{}, gen: map[string]int{}}
	if first != "" {
		w.live[first] = true
	}
	return w
}

func (w *rotatingWeChat) reply(c call) (int, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rt, _ := c.Body["authorizer_refresh_token"].(string)
	w.sent = append(w.sent, rt)
	if !w.live[rt] {
		return 200, `{"errcode":61023,"errmsg":"refresh_token is invalid"}`
	}
	delete(w.live, rt)
	w.n++
	next := fmt.Sprintf("SECRET-RT-%d", w.n+1)
	w.live[next] = true
	w.gen[next] = w.gen[rt]
	return 200, fmt.Sprintf(`{"authorizer_access_token":"SECRET-AT-%d","expires_in":7200,"authorizer_refresh_token":"%s"}`, w.n, next)
}

func (w *rotatingWeChat) sentTokens() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.sent...)
}

// instance is one process of a fleet: its own Client and token cache, the shared credential store.
func instance(t *testing.T, creds tokenstore.Store, wx *rotatingWeChat) *env {
	e := setup(t, nil, creds).withComponentToken(t)
	e.onFunc(t, "POST", "/cgi-bin/component/api_authorizer_token", wx.reply)
	return e
}

// Instance A rotates RT1 -> RT2 and its write lands, but A is told it failed (the database applied
// COMMIT, the answer was lost). Instance B reads RT2 and rotates it to RT3. A's next refresh must use
// RT3, not write its remembered RT2 over it (61023: the merchant would have to authorise again).
func TestAmbiguousRotationThenPeerRotation(t *testing.T) {
	for _, readFails := range []bool{false, true} {
		t.Run(fmt.Sprintf("settling read fails=%t", readFails), func(t *testing.T) {
			creds := newFailingStore(nil)
			wx := newRotatingWeChat("SECRET-RT-1")
			a, b := instance(t, creds, wx), instance(t, creds, wx)
			rtKey := authKey("wxA", "refresh_token")
			storeRefresh(t, creds, "wxA", "SECRET-RT-1")
			ctx := context.Background()

			var once sync.Once
			creds.lostReply = func(key string) bool {
				hit := false
				once.Do(func() { hit = key == rtKey })
				if hit && readFails { // and the store stays unreachable for a moment
					creds.failGet = func(key string) bool { return key == rtKey }
				}
				return hit
			}
			_, err := a.c.AuthorizerToken(ctx, "wxA")
			creds.failGet, creds.lostReply = nil, nil
			if err != nil {
				assert.NotContains(t, err.Error(), "SECRET")
			} else {
				require.NoError(t, a.c.AuthorizerTokenSource("wxA").Invalidate(ctx, "SECRET-AT-1"))
			}
			stored, gerr := get(t, creds, rtKey)
			require.NoError(t, gerr)
			require.Equal(t, "SECRET-RT-2", stored.Value, "A's write landed")

			tok, err := b.c.AuthorizerToken(ctx, "wxA")
			require.NoError(t, err)
			assert.Equal(t, "SECRET-AT-2", tok.Value)
			stored, _ = get(t, creds, rtKey)
			require.Equal(t, "SECRET-RT-3", stored.Value, "B rotated RT2 -> RT3")

			tok, err = a.c.AuthorizerToken(ctx, "wxA")
			require.NoError(t, err, "A refreshes with the live refresh token")
			assert.Equal(t, "SECRET-AT-3", tok.Value)
			assert.Equal(t, []string{"SECRET-RT-1", "SECRET-RT-2", "SECRET-RT-3"}, wx.sentTokens(), "no retired refresh token is sent")
			stored, _ = get(t, creds, rtKey)
			assert.Equal(t, "SECRET-RT-4", stored.Value)
		})
	}
}

// issueCode plays a merchant's consent: an authorisation code whose exchange issues a new refresh
// token (and which works once, like WeChat's).
func (w *rotatingWeChat) issueCode(appID string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	if w.codes == nil {
		w.codes = map[string]string{}
	}
	code := fmt.Sprintf("queryauthcode@@@%d", w.n)
	w.codes[code] = fmt.Sprintf("SECRET-RT-%d", w.n+1)
	w.gen[w.codes[code]] = w.n
	w.appIDs = append(w.appIDs, appID)
	return code
}

// queryAuth plays api_query_auth for the codes of issueCode.
func (w *rotatingWeChat) queryAuth(c call) (int, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	code, _ := c.Body["authorization_code"].(string)
	w.exchanged = append(w.exchanged, code)
	rt, ok := w.codes[code]
	if !ok {
		return 200, `{"errcode":61009,"errmsg":"code is invalid"}`
	}
	delete(w.codes, code)
	w.live[rt] = true
	return 200, fmt.Sprintf(`{"authorization_info":{"authorizer_appid":"wxA","authorizer_access_token":"SECRET-AT-Q%s","expires_in":7200,"authorizer_refresh_token":"%s","func_info":[{"funcscope_category":{"id":17}}]}}`, rt, rt)
}

func (w *rotatingWeChat) exchanges() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.exchanged)
}

// node is an instance with a push handler that counts its callbacks.
type node struct {
	*env
	h       *component.Handler
	mu      sync.Mutex
	events  []string
	failing map[string]int // InfoType -> callbacks still to fail
}

func (n *node) callback(kind string, superseded bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failing[kind] > 0 {
		n.failing[kind]--
		return errors.New("callback failed")
	}
	if superseded {
		kind += " (superseded)"
	}
	n.events = append(n.events, kind)
	return nil
}

func (n *node) seen() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.events...)
}

func newNode(t *testing.T, creds tokenstore.Store, wx *rotatingWeChat) *node {
	n := &node{env: instance(t, creds, wx), failing: map[string]int{}}
	n.onFunc(t, "POST", "/cgi-bin/component/api_query_auth", wx.queryAuth)
	var err error
	n.h, err = component.NewHandler(n.c, component.HandlerConfig{
		OnAuthorized: func(_ context.Context, ev *component.AuthorizedEvent) error {
			return n.callback("authorized", ev.Superseded)
		},
		OnUnauthorized: func(_ context.Context, ev *component.UnauthorizedEvent) error {
			return n.callback("unauthorized", ev.Superseded)
		},
		OnUpdateAuthorized: func(_ context.Context, ev *component.UpdateAuthorizedEvent) error {
			return n.callback("updateauthorized", ev.Superseded)
		},
		OnOther: func(_ context.Context, ev *component.PlatformEvent) error {
			return n.callback(string(ev.InfoType), false)
		},
	})
	require.NoError(t, err)
	return n
}

// delivery is a push as WeChat sends it, to deliver again (a retry or a replay carries the same
// message).
type delivery struct {
	url  string
	body []byte
}

func newDelivery(t testing.TB, plain string) delivery {
	r := newWeChat(t).push("/", "AppId", plain, time.Now())
	body, err := readAll(r)
	require.NoError(t, err)
	return delivery{r.URL.String(), body}
}

func (d delivery) to(h http.Handler) int {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, d.url, bytes.NewReader(d.body)))
	return w.Code
}

func authorizedPush(t testing.TB, created time.Time, code string) delivery {
	return newDelivery(t, event("authorized", created, "AuthorizerAppid", "wxA", "AuthorizationCode", code,
		"AuthorizationCodeExpiredTime", "0", "PreAuthCode", "preauthcode@@@x"))
}

func unauthorizedPush(t testing.TB, created time.Time) delivery {
	return newDelivery(t, event("unauthorized", created, "AuthorizerAppid", "wxA"))
}

func storedRefreshToken(t *testing.T, s tokenstore.Store) string {
	t.Helper()
	rt, err := s.Get(context.Background(), authKey("wxA", "refresh_token"))
	if errors.Is(err, tokenstore.ErrNotFound) {
		return ""
	}
	require.NoError(t, err)
	return rt.Value
}

// An authorized push whose refresh-token write landed but was reported failed (and could not be read
// back) is answered 500; meanwhile another instance rotates that token. WeChat's retry, at the same
// instance or another, must neither exchange the consumed code again nor put the rotated-away token
// back.
func TestRetriedAuthorizedPushAfterAmbiguousWrite(t *testing.T) {
	for _, retryAt := range []string{"same instance", "other instance"} {
		t.Run(retryAt, func(t *testing.T) {
			creds := newFailingStore(nil)
			wx := newRotatingWeChat("")
			a, b := newNode(t, creds, wx), newNode(t, creds, wx)
			rtKey := authKey("wxA", "refresh_token")
			push := authorizedPush(t, time.Now(), wx.issueCode("wxA"))

			var lost atomic.Bool
			creds.lostReply = func(key string) bool {
				hit := key == rtKey && lost.CompareAndSwap(false, true)
				if hit { // and the store cannot be read back at once
					var reads atomic.Int32
					creds.failGet = func(key string) bool { return key == rtKey && reads.Add(1) == 1 }
				}
				return hit
			}
			assert.Equal(t, http.StatusInternalServerError, push.to(a.h), "the outcome of the write is unknown: WeChat retries")
			creds.lostReply, creds.failGet = nil, nil
			require.Equal(t, "SECRET-RT-2", storedRefreshToken(t, creds), "the write landed")

			// Instance B refreshes with it: WeChat rotates it.
			_, err := b.c.AuthorizerToken(context.Background(), "wxA")
			require.NoError(t, err)
			require.Equal(t, "SECRET-RT-3", storedRefreshToken(t, creds))

			target := a
			if retryAt == "other instance" {
				target = b
			}
			assert.Equal(t, http.StatusOK, push.to(target.h))
			assert.Equal(t, 1, wx.exchanges(), "the consumed code is not exchanged again")
			assert.Equal(t, "SECRET-RT-3", storedRefreshToken(t, creds), "the rotated-away token is not put back")
			assert.Equal(t, []string{"authorized"}, append(a.seen(), b.seen()...))

			// Every instance refreshes with the live token.
			for _, n := range []*node{a, b} {
				src := n.c.AuthorizerTokenSource("wxA")
				tok, err := src.Token(context.Background())
				require.NoError(t, err)
				require.NoError(t, src.Invalidate(context.Background(), tok.Value))
				_, err = src.Token(context.Background())
				require.NoError(t, err, "no 61023")
			}
			n := 0
			for _, rt := range wx.sentTokens() {
				if rt == "SECRET-RT-2" {
					n++
				}
			}
			assert.Equal(t, 1, n, "the rotated-away token is sent once, by the rotation; never again")
		})
	}
}

// A merchant revokes and authorises again; the unauthorized push failed once (500) and WeChat's retry
// (or a replay) arrives after the new authorisation was handled, at the same instance or another
// sharing the credential store. The late push must not drop the new authorisation.
func TestLateUnauthorizedPush(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lateAt    string // "same" or "other" instance
		firstFail bool   // the first delivery of the unauthorized push failed
	}{
		{"retry at the same instance", "same", true},
		{"retry at another instance", "other", true},
		{"replay at another instance", "other", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			creds := newFailingStore(nil)
			wx := newRotatingWeChat("")
			a, b := newNode(t, creds, wx), newNode(t, creds, wx)
			t0 := time.Now().Add(-3 * time.Minute)
			require.Equal(t, http.StatusOK, authorizedPush(t, t0, wx.issueCode("wxA")).to(a.h))
			require.Equal(t, "SECRET-RT-2", storedRefreshToken(t, creds))

			revoke := unauthorizedPush(t, t0.Add(time.Minute))
			if tc.firstFail {
				a.failing["unauthorized"] = 1
				require.Equal(t, http.StatusInternalServerError, revoke.to(a.h))
			} else {
				require.Equal(t, http.StatusOK, revoke.to(a.h))
			}
			require.Equal(t, "", storedRefreshToken(t, creds), "the revocation dropped the refresh token")

			require.Equal(t, http.StatusOK, authorizedPush(t, t0.Add(2*time.Minute), wx.issueCode("wxA")).to(a.h))
			require.Equal(t, "SECRET-RT-3", storedRefreshToken(t, creds))

			late := a
			if tc.lateAt == "other" {
				late = b
			}
			require.Equal(t, http.StatusOK, revoke.to(late.h))
			assert.Equal(t, "SECRET-RT-3", storedRefreshToken(t, creds), "the late revocation does not drop the new authorisation")
			rec, err := late.c.StoredAuthorization(context.Background(), "wxA")
			require.NoError(t, err)
			assert.Equal(t, []int{17}, rec.FuncScopes)
			assert.True(t, t0.Add(2*time.Minute).Truncate(time.Second).Equal(rec.EventTime))
			_, err = late.c.AuthorizerToken(context.Background(), "wxA")
			require.NoError(t, err)
			want := []string{"authorized", "unauthorized", "authorized"}
			if tc.firstFail {
				want = []string{"authorized", "authorized", "unauthorized (superseded)"}
			}
			assert.Equal(t, want, append(a.seen(), b.seen()...))
		})
	}
}

// An authorized push older than a revocation that was handled (its first delivery failed before the
// code was exchanged) must not bring the revoked authorisation back, nor exchange its code.
func TestLateAuthorizedPushOlderThanRevocation(t *testing.T) {
	creds := newFailingStore(nil)
	wx := newRotatingWeChat("")
	a, b := newNode(t, creds, wx), newNode(t, creds, wx)
	t0 := time.Now().Add(-2 * time.Minute)
	grant := authorizedPush(t, t0, wx.issueCode("wxA"))
	creds.failGet = func(key string) bool { return strings.HasSuffix(key, ":authorization") }
	require.Equal(t, http.StatusInternalServerError, grant.to(a.h))
	creds.failGet = nil
	require.Zero(t, wx.exchanges())

	require.Equal(t, http.StatusOK, unauthorizedPush(t, t0.Add(time.Minute)).to(b.h))
	rec, err := creds.Get(context.Background(), authKey("wxA", "authorization"))
	require.NoError(t, err)
	assert.Contains(t, rec.Value, `"revoked":true`)

	require.Equal(t, http.StatusOK, grant.to(a.h))
	assert.Zero(t, wx.exchanges(), "the code of a superseded authorisation is not exchanged")
	assert.Equal(t, "", storedRefreshToken(t, creds))
	_, err = a.c.StoredAuthorization(context.Background(), "wxA")
	assert.ErrorIs(t, err, wxerr.ErrNotAuthorized)
	assert.Equal(t, []string{"authorized (superseded)", "unauthorized"}, append(a.seen(), b.seen()...))
}

// updateauthorized goes through the same ordering as authorized: one older than a revocation that was
// handled does not bring the authorisation back (its code is not exchanged), and a newer one applies.
func TestLateUpdateAuthorizedPush(t *testing.T) {
	creds := newFailingStore(nil)
	wx := newRotatingWeChat("")
	a, b := newNode(t, creds, wx), newNode(t, creds, wx)
	t0 := time.Now().Add(-3 * time.Minute)
	require.Equal(t, http.StatusOK, authorizedPush(t, t0, wx.issueCode("wxA")).to(a.h))
	require.Equal(t, 1, wx.exchanges())
	require.Equal(t, http.StatusOK, unauthorizedPush(t, t0.Add(time.Minute)).to(b.h))
	require.Equal(t, "", storedRefreshToken(t, creds))

	late := updateAuthorizedPush(t, t0.Add(30*time.Second), wx.issueCode("wxA"))
	require.Equal(t, http.StatusOK, late.to(a.h))
	assert.Equal(t, 1, wx.exchanges(), "the code of an update older than the revocation is not exchanged")
	assert.Equal(t, "", storedRefreshToken(t, creds))
	_, err := a.c.StoredAuthorization(context.Background(), "wxA")
	assert.ErrorIs(t, err, wxerr.ErrNotAuthorized)

	newer := updateAuthorizedPush(t, t0.Add(2*time.Minute), wx.issueCode("wxA"))
	require.Equal(t, http.StatusOK, newer.to(b.h))
	assert.Equal(t, 2, wx.exchanges())
	assert.NotEqual(t, "", storedRefreshToken(t, creds), "a newer update applies")
	rec, err := b.c.StoredAuthorization(context.Background(), "wxA")
	require.NoError(t, err)
	assert.True(t, t0.Add(2*time.Minute).Truncate(time.Second).Equal(rec.EventTime))
	assert.Equal(t, []string{"authorized", "updateauthorized (superseded)", "unauthorized", "updateauthorized"}, append(a.seen(), b.seen()...))
}

func updateAuthorizedPush(t testing.TB, created time.Time, code string) delivery {
	return newDelivery(t, event("updateauthorized", created, "AuthorizerAppid", "wxA", "AuthorizationCode", code,
		"AuthorizationCodeExpiredTime", "0", "PreAuthCode", "preauthcode@@@x"))
}

// A record stored by v0.1 (no event time, no revocation flag) is read, and ordered by its UpdatedAt.
func TestAuthorizationRecordFromV01(t *testing.T) {
	creds := newFailingStore(nil)
	wx := newRotatingWeChat("SECRET-RT-OLD")
	a := newNode(t, creds, wx)
	updated := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	require.NoError(t, creds.Set(context.Background(), authKey("wxA", "authorization"), tokenstore.Token{
		Value: `{"authorizer_appid":"wxA","func_scopes":[1,2],"updated_at":"` + updated.Format(time.RFC3339) + `"}`}))
	storeRefresh(t, creds, "wxA", "SECRET-RT-OLD")
	rec, err := a.c.StoredAuthorization(context.Background(), "wxA")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, rec.FuncScopes)
	assert.True(t, updated.Equal(rec.UpdatedAt))

	// A revocation older than the v0.1 authorisation is late; a newer one applies.
	require.Equal(t, http.StatusOK, unauthorizedPush(t, updated.Add(-time.Minute)).to(a.h))
	assert.Equal(t, "SECRET-RT-OLD", storedRefreshToken(t, creds))
	require.Equal(t, http.StatusOK, unauthorizedPush(t, updated.Add(time.Minute)).to(a.h))
	assert.Equal(t, "", storedRefreshToken(t, creds))
	assert.Equal(t, []string{"unauthorized (superseded)", "unauthorized"}, a.seen())
}

// More pushes inside the timestamp window than the old in-memory bound (4,096), then a replay of the
// first: its callback does not run again.
func TestReplayAfterManyPushes(t *testing.T) {
	creds := newFailingStore(nil)
	a := newNode(t, creds, newRotatingWeChat(""))
	first := newDelivery(t, event("x_event", time.Now(), "N", "0"))
	require.Equal(t, http.StatusOK, first.to(a.h))
	wx := newWeChat(t)
	for i := 1; i < 5000; i++ {
		r := wx.push("/", "AppId", event("x_event", time.Now(), "N", itoa(i)), time.Now())
		w := httptest.NewRecorder()
		a.h.ServeHTTP(w, r)
		require.Equal(t, http.StatusOK, w.Code)
	}
	require.Equal(t, 5000, len(a.seen()))
	require.Equal(t, http.StatusOK, first.to(a.h))
	assert.Equal(t, 5000, len(a.seen()), "the replay's callback does not run again")
}

// A late push of an older verify ticket does not replace the newer ticket.
func TestLateOlderVerifyTicketNotStored(t *testing.T) {
	h := hsetup(t)
	var stored []bool
	hd := h.handler(t, component.HandlerConfig{OnVerifyTicket: func(_ context.Context, ev *component.VerifyTicketEvent) error {
		stored = append(stored, ev.Stored)
		return nil
	}})
	now := time.Now()
	assertSuccess(t, serve(hd, h.wx.push("/", "AppId", event("component_verify_ticket", now, "ComponentVerifyTicket", "ticket@@@new"), now)))
	assertSuccess(t, serve(hd, h.wx.push("/", "AppId", event("component_verify_ticket", now.Add(-10*time.Minute), "ComponentVerifyTicket", "ticket@@@old"), now)))
	tok, err := h.c.VerifyTicket(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "ticket@@@new", tok.Value)
	assert.Equal(t, []bool{true, false}, stored)

	// A newer one replaces it.
	assertSuccess(t, serve(hd, h.wx.push("/", "AppId", event("component_verify_ticket", now.Add(10*time.Minute), "ComponentVerifyTicket", "ticket@@@newer"), now)))
	tok, err = h.c.VerifyTicket(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "ticket@@@newer", tok.Value)
}

// The redirect page exchanged the code (QueryAuth) before the authorized push of the same
// authorisation arrived: WeChat refuses the used code, and the push is answered success, not 500
// forever. The stored authorisation stands.
func TestAuthorizedPushAfterRedirectExchange(t *testing.T) {
	creds := newFailingStore(nil)
	wx := newRotatingWeChat("")
	a := newNode(t, creds, wx)
	code := wx.issueCode("wxA")
	_, err := a.c.QueryAuth(context.Background(), code)
	require.NoError(t, err)
	require.Equal(t, "SECRET-RT-2", storedRefreshToken(t, creds))

	// WeChat's clock runs a few seconds ahead of ours: the push looks newer than the exchange.
	assert.Equal(t, http.StatusOK, authorizedPush(t, time.Now().Add(3*time.Second), code).to(a.h))
	assert.Equal(t, 2, wx.exchanges(), "tried once more; WeChat refused the used code")
	assert.Equal(t, "SECRET-RT-2", storedRefreshToken(t, creds))
	assert.Equal(t, []string{"authorized (superseded)"}, a.seen())

	// A refused code for an account whose stored authorisation is older than the code's lifetime
	// is an error.
	assert.Equal(t, http.StatusInternalServerError, authorizedPush(t, time.Now().Add(11*time.Minute), "queryauthcode@@@unknown").to(a.h))
	assert.Equal(t, []string{"authorized (superseded)"}, a.seen())
}

// Authorisations and revocations of one account pushed at once, in any order, each delivered twice
// to two instances sharing the credential store: the outcome is the newest event's, whatever the
// order of arrival.
func TestConcurrentAuthorisationEventsConverge(t *testing.T) {
	for _, n := range []int{10, 11} { // the newest event: a revocation, an authorisation
		t.Run(fmt.Sprintf("%d events", n), func(t *testing.T) {
			creds := newFailingStore(nil)
			wx := newRotatingWeChat("")
			nodes := []*node{newNode(t, creds, wx), newNode(t, creds, wx)}
			t0 := time.Now().Add(-time.Hour)
			var pushes []delivery
			var lastRT string
			for i := range n {
				at := t0.Add(time.Duration(i) * time.Minute)
				if i%2 == 0 {
					code := wx.issueCode("wxA")
					lastRT = fmt.Sprintf("SECRET-RT-%d", wx.n+1)
					pushes = append(pushes, authorizedPush(t, at, code))
				} else {
					pushes = append(pushes, unauthorizedPush(t, at))
				}
			}
			// Meanwhile both instances keep refreshing (WeChat rotates the token each time).
			stop := make(chan struct{})
			var refreshers sync.WaitGroup
			for _, nd := range nodes {
				refreshers.Add(1)
				go func() {
					defer refreshers.Done()
					src := nd.c.AuthorizerTokenSource("wxA")
					for {
						select {
						case <-stop:
							return
						default:
						}
						if tok, err := src.Token(context.Background()); err == nil {
							_ = src.Invalidate(context.Background(), tok.Value)
						}
						time.Sleep(time.Millisecond)
					}
				}()
			}
			var wg sync.WaitGroup
			for i, p := range pushes {
				for j := range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range 200 { // WeChat retries until success, a little later
							if p.to(nodes[(i+j)%2].h) == http.StatusOK {
								return
							}
							time.Sleep(2 * time.Millisecond)
						}
						t.Errorf("push %d never succeeded", i)
					}()
				}
			}
			wg.Wait()
			close(stop)
			refreshers.Wait()
			rec, err := creds.Get(context.Background(), authKey("wxA", "authorization"))
			require.NoError(t, err)
			if n%2 == 0 { // the newest is the revocation
				assert.Equal(t, "", storedRefreshToken(t, creds))
				assert.Contains(t, rec.Value, `"revoked":true`)
			} else {
				// The newest authorisation's token, or its rotation by a refresh that ran meanwhile.
				rt := storedRefreshToken(t, creds)
				wx.mu.Lock()
				live, gen, lastGen := wx.live[rt], wx.gen[rt], wx.gen[lastRT]
				wx.mu.Unlock()
				assert.True(t, live, "WeChat honours the stored refresh token %s; sent %v; live %v; last %s", rt, wx.sentTokens(), wx.live, lastRT)
				assert.Equal(t, lastGen, gen, "the stored token %s descends from the newest authorisation's (%s)", rt, lastRT)
				assert.NotContains(t, rec.Value, `"revoked"`)
			}
			assert.Contains(t, rec.Value, t0.Add(time.Duration(n-1)*time.Minute).UTC().Format("2006-01-02T15:04:05"), "the record is the newest event's")
		})
	}
}
