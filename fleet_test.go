package wxopen_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxtest"
)

// TestFleetOfAuthorizers is a platform with 100,000 authorised accounts against the emulator: every
// account's first access token (the warm-up), then the emulator clock moves into the refresh margin
// of every token and each account is asked for its token until the refresh has landed: WeChat sees
// exactly one api_authorizer_token call per account for the warm-up and one for the refresh, and
// nobody is handed a token the emulator refuses. Under the race detector and in -short it runs with
// 2,000 accounts.
func TestFleetOfAuthorizers(t *testing.T) {
	n := 100_000
	if raceEnabled || testing.Short() {
		n = 2_000
	}
	emu := wxtest.NewServer() // not NewTestServer: the verify-ticket push below has nowhere to go, by design
	t.Cleanup(emu.Close)
	app := emu.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token, EncodingAESKey: app.EncodingAESKey},
		wxopen.WithBaseURL(emu.URL), wxopen.WithClock(emu.Now))
	require.NoError(t, err)
	ctx := context.Background()
	ticket, _ := emu.PushVerifyTicket(ctx) // no event URL: the push fails, the ticket is issued
	require.NoError(t, p.Component().SetVerifyTicket(ctx, ticket))

	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("wx%016x", i)
	}
	start := time.Now()
	for i, rt := range emu.AuthorizeAccounts(ids) {
		require.NoError(t, p.Component().SetRefreshToken(ctx, ids[i], rt))
	}
	t.Logf("%d accounts authorised in %s", n, time.Since(start).Round(time.Millisecond))
	emu.ResetCalls()

	// Warm-up: one access token per account, 8 at a time.
	heapBefore := heapAlloc()
	first := make([]string, n)
	start = time.Now()
	each(n, 8, func(i int) {
		tok, err := p.Authorizer(ids[i]).Token(ctx)
		if assert.NoError(t, err) {
			first[i] = tok.Value
		}
	})
	warm := time.Since(start)
	heapAfter := heapAlloc()
	require.Equal(t, n, emu.Calls(pathAuthorizerToken), "one api_authorizer_token per account")
	t.Logf("warm-up of %d accounts: %s (%s per account); heap %d B per account (the whole SDK: tokens, refresh tokens, entries)",
		n, warm.Round(time.Millisecond), warm/time.Duration(n), (int64(heapAfter)-int64(heapBefore))/int64(n))

	// Into every token's refresh margin (5 minutes): due, still valid for 4 minutes.
	emu.Advance(2*time.Hour - 4*time.Minute)
	refreshed := make([]string, n)
	remaining := n
	start = time.Now()
	var stale atomic.Int64
	for pass := 0; remaining > 0; pass++ {
		require.Less(t, time.Since(start), 5*time.Minute, "%d accounts still unrefreshed after %d passes", remaining, pass)
		var mu sync.Mutex
		each(n, 4, func(i int) {
			if refreshed[i] != "" {
				return // asked no more: a call could start another refresh once the new token is due
			}
			tok, err := p.Authorizer(ids[i]).Token(ctx)
			if !assert.NoError(t, err) {
				return
			}
			if tok.Value == first[i] {
				stale.Add(1) // the valid token, served while its refresh runs in the background
				return
			}
			mu.Lock()
			refreshed[i] = tok.Value
			remaining--
			mu.Unlock()
		})
		time.Sleep(20 * time.Millisecond) // the background refreshes, not this loop, need the CPU
	}
	t.Logf("refresh of %d due tokens: %s; %d calls served the due token while it was refreshed", n,
		time.Since(start).Round(time.Millisecond), stale.Load())
	assert.Equal(t, 2*n, emu.Calls(pathAuthorizerToken), "exactly one refresh per account")
	for i := range ids {
		if !emu.AuthorizerAccessTokenValid(ids[i], refreshed[i]) {
			t.Fatalf("account %s holds a token the emulator refuses", ids[i])
		}
	}
}

// each runs f(0..n-1) on workers goroutines.
func each(n, workers int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		}()
	}
	wg.Wait()
}

func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// An unauthorized push drops the account's card api_ticket with its tokens (store and memory).
func TestUnauthorizedPushForgetsTheCardTicket(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.emu.PushVerifyTicket(ctx)
	require.NoError(t, err)
	const oa = "wx9999000011112222"
	e.emu.AddAuthorizer(wxtest.Authorizer{AppID: oa, Business: wxtest.BusinessInfo{OpenCard: 1}})
	_, err = e.emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: oa})
	require.NoError(t, err)
	ticket, err := e.p.Card(oa).APITicket(ctx)
	require.NoError(t, err)
	key := authorizer.Key(e.p.ComponentAppID(), oa, card.TicketName)
	stored, err := e.tokens.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, ticket, stored.Value)

	require.NoError(t, e.emu.Unauthorize(ctx, oa))
	_, err = e.tokens.Get(ctx, key)
	require.ErrorIs(t, err, tokenstore.ErrNotFound, "the ticket left the store with the account")
	assert.Contains(t, e.recorded(), "unauthorized "+oa, "the application's callback still runs")
}
