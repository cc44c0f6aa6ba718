package component_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
)

// rotatingWeChat plays api_authorizer_token as WeChat does when it rotates refresh tokens: each
// refresh token works once, is then retired (61023), and the answer carries its successor.
type rotatingWeChat struct {
	mu   sync.Mutex
	live map[string]bool // refresh token -> still accepted
	n    int
	sent []string // refresh tokens sent, in order
}

func newRotatingWeChat(first string) *rotatingWeChat {
	return &rotatingWeChat{live: map[string]bool{first: true}}
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
