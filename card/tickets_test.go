package card_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"net/http"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestAPITicketFetchedOnceCachedAndStored(t *testing.T) {
	e := setup(t)
	tr := e.serveTickets(t)
	c := e.card(oaAppID)
	ctx := context.Background()

	before := time.Now()
	tk, err := c.APITicket(ctx)
	require.NoError(t, err)
	assert.Equal(t, "TICKET-wxOA-1", tk)
	tk2, err := c.APITicket(ctx)
	require.NoError(t, err)
	assert.Equal(t, tk, tk2)
	assert.EqualValues(t, 1, tr.count(oaAppID))

	stored, err := e.store.Get(ctx, "wxCOMP:authorizer:wxOA:wx_card_ticket")
	require.NoError(t, err)
	assert.Equal(t, "TICKET-wxOA-1", stored.Value)
	assert.WithinDuration(t, before.Add(7200*time.Second), stored.ExpiresAt, 5*time.Second)
	assert.Equal(t, []string{"wxCOMP:authorizer:wxOA:wx_card_ticket=getticket:wx_card"}, e.store.Reasons())
	assert.Equal(t, oaAppID, c.AppID())
}

func TestAPITicketSharedByClientsPerAccount(t *testing.T) {
	e := setup(t)
	tr := e.serveTickets(t)
	ctx := context.Background()
	for i := 0; i < 3; i++ { // a new Client per request, as a Platform hands them out
		tk, err := e.card(oaAppID).APITicket(ctx)
		require.NoError(t, err)
		assert.Equal(t, "TICKET-wxOA-1", tk)
	}
	other, err := e.card("wxOTHER").APITicket(ctx)
	require.NoError(t, err)
	assert.Equal(t, "TICKET-wxOTHER-1", other, "each account has its own ticket, fetched with its own token")
	assert.EqualValues(t, 1, tr.count(oaAppID))
	assert.EqualValues(t, 1, tr.count("wxOTHER"))

	byApp, err := e.tickets.Ticket(ctx, oaAppID)
	require.NoError(t, err)
	assert.Equal(t, "TICKET-wxOA-1", byApp.Value)
	assert.EqualValues(t, 1, tr.count(oaAppID))
}

func TestAPITicketServedFromStoreWithoutFetch(t *testing.T) {
	e := setup(t)
	tr := e.serveTickets(t)
	ctx := context.Background()
	require.NoError(t, e.store.Set(ctx, "wxCOMP:authorizer:wxOA:wx_card_ticket",
		tokenstore.Token{Value: "FROM-ANOTHER-INSTANCE", ExpiresAt: time.Now().Add(time.Hour)}))
	tk, err := e.card(oaAppID).APITicket(ctx)
	require.NoError(t, err)
	assert.Equal(t, "FROM-ANOTHER-INSTANCE", tk)
	assert.EqualValues(t, 0, tr.count(oaAppID))
}

func TestAPITicketRefreshedAheadOfExpiry(t *testing.T) {
	var now atomic.Pointer[time.Time]
	t0 := time.Now()
	now.Store(&t0)
	clock := func() time.Time { return *now.Load() }
	e := setup(t, tokenstore.WithClock(clock), tokenstore.WithJitter(0), tokenstore.WithMargin(5*time.Minute))
	tr := e.serveTickets(t)
	c := e.card(oaAppID)
	ctx := context.Background()

	_, err := c.APITicket(ctx)
	require.NoError(t, err)
	t1 := t0.Add(7200*time.Second - 6*time.Minute) // before the margin: still cached
	now.Store(&t1)
	tk, err := c.APITicket(ctx)
	require.NoError(t, err)
	assert.Equal(t, "TICKET-wxOA-1", tk)
	assert.EqualValues(t, 1, tr.count(oaAppID))

	t2 := t0.Add(7200*time.Second - 4*time.Minute) // inside the margin: refreshed before it expires
	now.Store(&t2)
	tk, err = c.APITicket(ctx)
	require.NoError(t, err)
	assert.Equal(t, "TICKET-wxOA-1", tk, "due but valid: served while the refresh runs in the background")
	require.Eventually(t, func() bool {
		tk, err := c.APITicket(ctx)
		return err == nil && tk == "TICKET-wxOA-2"
	}, 5*time.Second, time.Millisecond)
	assert.EqualValues(t, 2, tr.count(oaAppID))
}

func TestInvalidateAPITicket(t *testing.T) {
	e := setup(t)
	tr := e.serveTickets(t)
	c := e.card(oaAppID)
	ctx := context.Background()
	tk, err := c.APITicket(ctx)
	require.NoError(t, err)
	require.NoError(t, c.InvalidateAPITicket(ctx, "NOT-THE-CURRENT-ONE"))
	same, err := c.APITicket(ctx)
	require.NoError(t, err)
	assert.Equal(t, tk, same, "a newer ticket is kept")
	require.NoError(t, c.InvalidateAPITicket(ctx, tk))
	fresh, err := c.APITicket(ctx)
	require.NoError(t, err)
	assert.Equal(t, "TICKET-wxOA-2", fresh)
	assert.EqualValues(t, 2, tr.count(oaAppID))
}

func TestAPITicketErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("errcode", func(t *testing.T) {
		e := setup(t)
		e.mt.RegisterResponder("GET", base+"/cgi-bin/ticket/getticket",
			httpmock.NewStringResponder(200, `{"errcode":45009,"errmsg":"reach max api daily quota limit"}`))
		_, err := e.card(oaAppID).APITicket(ctx)
		var ae *wxerr.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, wxerr.CodeDailyQuota, ae.Code)
		assert.Equal(t, "GET /cgi-bin/ticket/getticket", ae.Op)
		assert.Equal(t, 1, e.mt.GetTotalCallCount(), "quota errors are not retried")
	})
	t.Run("no ticket in answer", func(t *testing.T) {
		e := setup(t)
		e.mt.RegisterResponder("GET", base+"/cgi-bin/ticket/getticket", httpmock.NewStringResponder(200, `{"errcode":0,"errmsg":"ok"}`))
		_, err := e.card(oaAppID).APITicket(ctx)
		require.ErrorContains(t, err, "no ticket")
	})
	t.Run("busy is retried (idempotent)", func(t *testing.T) {
		e := setup(t)
		var n atomic.Int64
		e.mt.RegisterResponder("GET", base+"/cgi-bin/ticket/getticket", func(*http.Request) (*http.Response, error) {
			if n.Add(1) == 1 {
				return httpmock.NewStringResponse(200, `{"errcode":-1,"errmsg":"system error"}`), nil
			}
			return httpmock.NewStringResponse(200, `{"errcode":0,"ticket":"T","expires_in":7200}`), nil
		})
		tk, err := e.card(oaAppID).APITicket(ctx)
		require.NoError(t, err)
		assert.Equal(t, "T", tk)
		assert.EqualValues(t, 2, n.Load())
	})
	t.Run("store failure", func(t *testing.T) {
		e := setup(t)
		e.serveTickets(t)
		boom := errors.New("redis down")
		tickets := mustTickets(card.NewTickets(failingStore{err: boom}, e.authorizer))
		_, err := card.New(e.authorizer(oaAppID), tickets).APITicket(ctx)
		require.ErrorIs(t, err, boom)
	})
	t.Run("no tickets, no authorizer", func(t *testing.T) {
		_, err := card.New(nil, nil).APITicket(ctx)
		require.Error(t, err)
		e := setup(t)
		_, err = card.New(e.authorizer(oaAppID), nil).APITicket(ctx)
		require.ErrorContains(t, err, "without Tickets")
		require.Error(t, card.New(e.authorizer(oaAppID), nil).InvalidateAPITicket(ctx, "x"))
		_, err = card.New(nil, e.tickets).DecryptCode(ctx, "abc")
		require.ErrorContains(t, err, "without an authorizer")
		assert.Equal(t, "", card.New(nil, nil).AppID())
	})
	t.Run("nil client function", func(t *testing.T) {
		e := setup(t)
		tickets := mustTickets(card.NewTickets(tokenstore.NewMemoryStore(), nil))
		_, err := tickets.Ticket(ctx, oaAppID)
		require.Error(t, err)
		_, err = card.New(e.authorizer(oaAppID), tickets).APITicket(ctx)
		require.ErrorContains(t, err, "without an authorizer client function")
		nilClients := mustTickets(card.NewTickets(tokenstore.NewMemoryStore(), func(string) *authorizer.Client { return nil }))
		_, err = nilClients.Ticket(ctx, oaAppID)
		require.ErrorContains(t, err, "no authorizer client")
		_, err = card.New(e.authorizer(oaAppID), nilClients).APITicket(ctx)
		require.ErrorContains(t, err, "no authorizer client")
	})
}

// failingStore fails every operation.
type failingStore struct{ err error }

func (s failingStore) Get(context.Context, string) (tokenstore.Token, error) {
	return tokenstore.Token{}, s.err
}
func (s failingStore) Set(context.Context, string, tokenstore.Token) error { return s.err }
func (s failingStore) Delete(context.Context, string) error                { return s.err }
func (s failingStore) CompareAndDelete(context.Context, string, string) (bool, error) {
	return false, s.err
}
func (s failingStore) CompareAndSwap(context.Context, string, string, tokenstore.Token) (bool, error) {
	return false, s.err
}

// lockCountingStore is a MemoryStore whose locks are counted: NewTickets must keep the store's Locker.
type lockCountingStore struct {
	*tokenstore.MemoryStore
	locks atomic.Int64
}

func (s *lockCountingStore) TryLock(ctx context.Context, key string, lease time.Duration) (func(context.Context) error, error) {
	s.locks.Add(1)
	return s.MemoryStore.TryLock(ctx, key, lease)
}

func TestTicketsUseTheStoresLocker(t *testing.T) {
	e := setup(t)
	e.serveTickets(t)
	s := &lockCountingStore{MemoryStore: tokenstore.NewMemoryStore()}
	tickets := mustTickets(card.NewTickets(s, e.authorizer))
	_, err := card.New(e.authorizer(oaAppID), tickets).APITicket(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 1, s.locks.Load())

	off := &lockCountingStore{MemoryStore: tokenstore.NewMemoryStore()}
	_, err = card.New(e.authorizer(oaAppID), mustTickets(card.NewTickets(off, e.authorizer, tokenstore.WithLocker(nil)))).APITicket(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 0, off.locks.Load(), "WithLocker(nil) from the caller wins")
}

func TestConcurrentCardExtFetchesTicketOnce(t *testing.T) {
	e := setup(t)
	tr := e.serveTickets(t)
	ctx := context.Background()
	const n = 100
	exts := make([]card.CardExt, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			exts[i], errs[i] = e.card(oaAppID).CardExt(ctx, card.CardExtRequest{CardID: "pCARD"})
		}(i)
	}
	close(start)
	wg.Wait()
	assert.EqualValues(t, 1, tr.count(oaAppID), "100 concurrent signings, one getticket")
	nonces := map[string]bool{}
	for i := 0; i < n; i++ {
		require.NoError(t, errs[i])
		m := decodeExt(t, exts[i].Ext)
		nonces[m["nonce_str"].(string)] = true
		assertSignedWith(t, "TICKET-wxOA-1", card.CardExtRequest{CardID: "pCARD"}, exts[i])
	}
	assert.Len(t, nonces, n, "every cardExt has its own nonce_str")
}

func TestNewTicketsNilStoreKeepsTicketsInMemory(t *testing.T) {
	e := setup(t)
	tr := e.serveTickets(t)
	tickets := mustTickets(card.NewTickets(nil, e.authorizer))
	for i := 0; i < 2; i++ {
		tk, err := card.New(e.authorizer(oaAppID), tickets).APITicket(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "TICKET-wxOA-1", tk)
	}
	assert.EqualValues(t, 1, tr.count(oaAppID))
}

// Forget drops an account's ticket from the store and from memory; a Client built before goes on
// working (with a new ticket) if the account authorises again.
func TestForgetDropsTheTicket(t *testing.T) {
	e := setup(t)
	tr := e.serveTickets(t)
	c := e.card(oaAppID)
	ctx := context.Background()
	_, err := c.APITicket(ctx)
	require.NoError(t, err)

	require.NoError(t, e.tickets.Forget(ctx, oaAppID))
	_, err = e.store.Get(ctx, "wxCOMP:authorizer:wxOA:wx_card_ticket")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
	tk, err := c.APITicket(ctx)
	require.NoError(t, err)
	assert.Equal(t, "TICKET-wxOA-2", tk, "a new ticket, not the forgotten one")
	assert.EqualValues(t, 2, tr.count(oaAppID))

	require.Error(t, (&card.Tickets{}).Forget(ctx, oaAppID))
	require.Error(t, mustTickets(card.NewTickets(nil, func(string) *authorizer.Client { return nil })).Forget(ctx, oaAppID))
}

// Finding the ticket handle of a known account allocates nothing (a card Client per request).
func TestCardClientOfKnownAccountDoesNotAllocate(t *testing.T) {
	e := setup(t)
	a := e.authorizer(oaAppID)
	card.New(a, e.tickets)
	allocs := testing.AllocsPerRun(100, func() { card.New(a, e.tickets) })
	assert.LessOrEqual(t, allocs, 1.0, "the Client itself at most")
}
