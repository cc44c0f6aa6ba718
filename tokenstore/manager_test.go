package tokenstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
)

// countingStore wraps a Store and counts calls; fail makes every call fail.
type countingStore struct {
	tokenstore.Store
	gets, sets, cads atomic.Int64
	fail             atomic.Bool
}

var errDown = errors.New("store down")

func (s *countingStore) Get(ctx context.Context, k string) (tokenstore.Token, error) {
	s.gets.Add(1)
	if s.fail.Load() {
		return tokenstore.Token{}, errDown
	}
	return s.Store.Get(ctx, k)
}

func (s *countingStore) Set(ctx context.Context, k string, t tokenstore.Token) error {
	s.sets.Add(1)
	if s.fail.Load() {
		return errDown
	}
	return s.Store.Set(ctx, k, t)
}

func (s *countingStore) CompareAndDelete(ctx context.Context, k, v string) (bool, error) {
	s.cads.Add(1)
	if s.fail.Load() {
		return false, errDown
	}
	return s.Store.CompareAndDelete(ctx, k, v)
}

// seqFetcher issues tok-1, tok-2, … valid for life, counting calls.
type seqFetcher struct {
	n     atomic.Int64
	life  time.Duration
	delay time.Duration
	now   func() time.Time
	err   error
}

func (f *seqFetcher) fetch(ctx context.Context, key string) (tokenstore.Token, error) {
	n := f.n.Add(1)
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	if f.err != nil {
		return tokenstore.Token{}, f.err
	}
	now := time.Now
	if f.now != nil {
		now = f.now
	}
	return tokenstore.Token{Value: fmt.Sprintf("%s-tok-%d", key, n), ExpiresAt: now().Add(f.life)}, nil
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestTokenFetchesOnceThenServesWarm(t *testing.T) {
	st := &countingStore{Store: tokenstore.NewMemoryStore()}
	f := &seqFetcher{life: 2 * time.Hour}
	m := mustManager(tokenstore.NewManager(st, f.fetch, tokenstore.WithLocker(nil)))
	ctx := context.Background()

	tok, err := m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "k-tok-1", tok.Value)
	gets, sets := st.gets.Load(), st.sets.Load()
	assert.Equal(t, int64(1), gets, "a cold key is looked up in the store once")
	assert.Equal(t, int64(1), sets, "the fetched token is stored")

	for i := 0; i < 100; i++ {
		tok, err = m.Token(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, "k-tok-1", tok.Value)
	}
	assert.Equal(t, gets, st.gets.Load(), "the warm path must not touch the store")
	assert.Equal(t, int64(1), f.n.Load())

	stored, err := st.Store.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, tok, stored)
}

func TestTokenReadsStoreBeforeFetching(t *testing.T) {
	st := tokenstore.NewMemoryStore()
	ctx := context.Background()
	require.NoError(t, st.Set(ctx, "k", tokenstore.Token{Value: "from-store", ExpiresAt: time.Now().Add(time.Hour)}))
	f := &seqFetcher{life: time.Hour}
	m := mustManager(tokenstore.NewManager(st, f.fetch))
	tok, err := m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "from-store", tok.Value)
	assert.Zero(t, f.n.Load())
}

func TestTokenIgnoresStoredTokenDueForRefresh(t *testing.T) {
	st := tokenstore.NewMemoryStore()
	ctx := context.Background()
	require.NoError(t, st.Set(ctx, "k", tokenstore.Token{Value: "old", ExpiresAt: time.Now().Add(time.Minute)}))
	f := &seqFetcher{life: 2 * time.Hour}
	m := mustManager(tokenstore.NewManager(st, f.fetch, tokenstore.WithMargin(5*time.Minute), tokenstore.WithJitter(0)))
	tok, err := m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "k-tok-1", tok.Value)
}

func TestStampedeColdKeyFetchesOnce(t *testing.T) {
	f := &seqFetcher{life: 2 * time.Hour, delay: 20 * time.Millisecond}
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), f.fetch))
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 500)
	for i := 0; i < 500; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tok, err := m.Token(context.Background(), "cold")
			if err == nil && tok.Value != "cold-tok-1" {
				err = fmt.Errorf("got %q", tok.Value)
			}
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int64(1), f.n.Load(), "500 goroutines on a cold key must fetch exactly once")
}

func TestStampedeAtMarginFetchesOnce(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	f := &seqFetcher{life: 2 * time.Hour, delay: 20 * time.Millisecond, now: clk.Now}
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), f.fetch,
		tokenstore.WithClock(clk.Now), tokenstore.WithMargin(5*time.Minute), tokenstore.WithJitter(time.Minute)))
	ctx := context.Background()
	tok, err := m.Token(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "k-tok-1", tok.Value)

	clk.Advance(2*time.Hour - 5*time.Minute) // inside the margin, still valid
	var wg sync.WaitGroup
	for i := 0; i < 500; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := m.Token(ctx, "k")
			if assert.NoError(t, err) {
				// The due but valid token, served at once, or the new one once it has landed.
				assert.Contains(t, []string{"k-tok-1", "k-tok-2"}, tok.Value)
			}
		}()
	}
	wg.Wait()
	// Stale-while-revalidate (this test asserted the old blocking refresh): the refresh runs in
	// the background, exactly once, and its token is served from then on.
	awaitToken(t, m, "k", "k-tok-2")
	assert.Equal(t, int64(2), f.n.Load(), "the token at the margin is refreshed exactly once")
}

// awaitToken calls m.Token until it returns want (a background refresh has landed).
func awaitToken(t *testing.T, m *tokenstore.Manager, key, want string) {
	t.Helper()
	require.Eventually(t, func() bool {
		tok, err := m.Token(context.Background(), key)
		return err == nil && tok.Value == want
	}, 5*time.Second, time.Millisecond, "waiting for %s", want)
}

func TestRefreshAheadWithoutClockUsesTimer(t *testing.T) {
	// Without an injected clock the warm path reads the coarse clock: a token with a 2s lifetime is
	// due after half of it, and is replaced well before it expires.
	f := &seqFetcher{life: 2 * time.Second}
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), f.fetch, tokenstore.WithJitter(0)))
	ctx := context.Background()
	first, err := m.Token(ctx, "k")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		tok, err := m.Token(ctx, "k")
		return err == nil && tok.Value == "k-tok-2"
	}, 1800*time.Millisecond, 10*time.Millisecond, "refreshed ahead of expiry")
	assert.True(t, time.Now().Before(first.ExpiresAt))
}

func TestCancelledCallerStopsWaitingSharedFetchContinues(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int64
	fetch := func(ctx context.Context, key string) (tokenstore.Token, error) {
		calls.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
			return tokenstore.Token{}, ctx.Err()
		}
		return tokenstore.Token{Value: "v", ExpiresAt: time.Now().Add(time.Hour)}, nil
	}
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), fetch))

	impatient, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := m.Token(impatient, "k"); done <- err }()
	patient := make(chan tokenstore.Token, 1)
	go func() {
		for calls.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		tok, _ := m.Token(context.Background(), "k")
		patient <- tok
	}()
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(2 * time.Second):
		t.Fatal("cancelled caller kept waiting")
	}
	close(release)
	select {
	case tok := <-patient:
		assert.Equal(t, "v", tok.Value, "the shared fetch must survive the first caller's cancellation")
	case <-time.After(2 * time.Second):
		t.Fatal("patient caller got nothing")
	}
	assert.Equal(t, int64(1), calls.Load())
}

func TestInvalidateDropsOnlyStaleValue(t *testing.T) {
	st := &countingStore{Store: tokenstore.NewMemoryStore()}
	f := &seqFetcher{life: time.Hour}
	m := mustManager(tokenstore.NewManager(st, f.fetch))
	ctx := context.Background()

	tok1, err := m.Token(ctx, "k")
	require.NoError(t, err)
	require.NoError(t, m.Invalidate(ctx, "k", "some-other-value"))
	tok, err := m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, tok1, tok, "invalidating a value that is not current changes nothing")

	require.NoError(t, m.Invalidate(ctx, "k", tok1.Value))
	tok2, err := m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "k-tok-2", tok2.Value)

	// A second holder of the stale value (another instance) must not delete the fresh one.
	require.NoError(t, m.Invalidate(ctx, "k", tok1.Value))
	stored, err := st.Store.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, tok2.Value, stored.Value)
	tok, err = m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, tok2.Value, tok.Value)
	assert.Equal(t, int64(2), f.n.Load())
}

func TestInvalidatedByAnotherInstanceIsReReadFromStore(t *testing.T) {
	shared := tokenstore.NewMemoryStore()
	f := &seqFetcher{life: time.Hour}
	a := mustManager(tokenstore.NewManager(shared, f.fetch))
	b := mustManager(tokenstore.NewManager(shared, f.fetch))
	ctx := context.Background()
	t1, err := a.Token(ctx, "k")
	require.NoError(t, err)
	tb, err := b.Token(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, t1, tb)

	require.NoError(t, a.Invalidate(ctx, "k", t1.Value))
	t2, err := a.Token(ctx, "k")
	require.NoError(t, err)
	require.NotEqual(t, t1.Value, t2.Value)

	// b still holds t1; WeChat refuses it, b invalidates and gets a's token from the store.
	require.NoError(t, b.Invalidate(ctx, "k", t1.Value))
	tb, err = b.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, t2.Value, tb.Value)
	assert.Equal(t, int64(2), f.n.Load())
}

func TestStoreFailureIsAnErrorNotAMiss(t *testing.T) {
	st := &countingStore{Store: tokenstore.NewMemoryStore()}
	st.fail.Store(true)
	f := &seqFetcher{life: time.Hour}
	m := mustManager(tokenstore.NewManager(st, f.fetch))
	_, err := m.Token(context.Background(), "k")
	require.ErrorIs(t, err, errDown)
	assert.Zero(t, f.n.Load(), "a store outage must not trigger a fetch")

	st.fail.Store(false)
	tok, err := m.Token(context.Background(), "k")
	require.NoError(t, err)
	assert.Equal(t, "k-tok-1", tok.Value)
}

func TestStoreWriteFailureIsReturned(t *testing.T) {
	st := &failingSetStore{Store: tokenstore.NewMemoryStore()}
	f := &seqFetcher{life: time.Hour}
	m := mustManager(tokenstore.NewManager(st, f.fetch))
	_, err := m.Token(context.Background(), "k")
	require.ErrorIs(t, err, errDown)
}

type failingSetStore struct{ tokenstore.Store }

func (s *failingSetStore) Set(context.Context, string, tokenstore.Token) error { return errDown }

func TestFetchErrorReturnedWithNoValidToken(t *testing.T) {
	boom := errors.New("wechat says no")
	f := &seqFetcher{life: time.Hour, err: boom}
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), f.fetch))
	_, err := m.Token(context.Background(), "k")
	require.ErrorIs(t, err, boom)
}

func TestEmptyFetchedTokenIsAnError(t *testing.T) {
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), func(context.Context, string) (tokenstore.Token, error) {
		return tokenstore.Token{}, nil
	}))
	_, err := m.Token(context.Background(), "k")
	require.ErrorContains(t, err, "empty token")
}

func TestFailedRefreshKeepsServingValidTokenThenRetries(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	f := &seqFetcher{life: 2 * time.Hour, now: clk.Now}
	var failing atomic.Bool
	fetch := func(ctx context.Context, k string) (tokenstore.Token, error) {
		if failing.Load() {
			f.n.Add(1)
			return tokenstore.Token{}, errors.New("upstream down")
		}
		return f.fetch(ctx, k)
	}
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), fetch, tokenstore.WithClock(clk.Now), tokenstore.WithJitter(0)))
	ctx := context.Background()
	tok1, err := m.Token(ctx, "k")
	require.NoError(t, err)

	clk.Advance(2*time.Hour - time.Minute) // due, still valid
	failing.Store(true)
	tok, err := m.Token(ctx, "k")
	require.NoError(t, err, "a still-valid token is served when its refresh fails")
	assert.Equal(t, tok1, tok)
	require.Eventually(t, func() bool { return f.n.Load() == 2 }, 5*time.Second, time.Millisecond, "the background refresh ran")
	time.Sleep(10 * time.Millisecond) // let it schedule its retry
	for i := 0; i < 10; i++ {
		tok, err = m.Token(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, tok1, tok)
	}
	time.Sleep(10 * time.Millisecond)
	assert.Equal(t, int64(2), f.n.Load(), "a failed refresh is not retried on every call")

	clk.Advance(6 * time.Second) // past the first retry delay (5s, jittered down to at least 2.5s)
	failing.Store(false)
	tok, err = m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, tok1, tok, "still served while the retry runs in the background")
	awaitToken(t, m, "k", "k-tok-3")

	clk.Advance(3 * time.Hour) // expired: a failing refresh is now an error
	failing.Store(true)
	_, err = m.Token(ctx, "k")
	require.Error(t, err)
}

func TestNilFetcherServesStoreOnly(t *testing.T) {
	st := tokenstore.NewMemoryStore()
	m := mustManager(tokenstore.NewManager(st, nil))
	ctx := context.Background()
	_, err := m.Token(ctx, "k")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
	require.NoError(t, st.Set(ctx, "k", tokenstore.Token{Value: "durable"}))
	tok, err := m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "durable", tok.Value)
}

func TestSetAndDelete(t *testing.T) {
	st := tokenstore.NewMemoryStore()
	f := &seqFetcher{life: time.Hour}
	m := mustManager(tokenstore.NewManager(st, f.fetch))
	ctx := context.Background()
	require.NoError(t, m.Set(ctx, "k", tokenstore.Token{Value: "given", ExpiresAt: time.Now().Add(time.Hour)}))
	tok, err := m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "given", tok.Value)
	require.NoError(t, m.Delete(ctx, "k"))
	_, err = st.Get(ctx, "k")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
	tok, err = m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "k-tok-1", tok.Value)

}

func TestDueTokenIsNotReacceptedFromStore(t *testing.T) {
	// The token falls due inside the jitter window (between margin+jitter and margin before expiry).
	// The Store still holds that same token, which by the margin alone looks fresh: it must not be
	// installed again, or the refresh slips to half the remaining life.
	start := time.Now() // MemoryStore drops entries by the real clock
	clk := &fakeClock{t: start}
	f := &seqFetcher{life: 2 * time.Hour, now: clk.Now}
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), f.fetch, tokenstore.WithClock(clk.Now),
		tokenstore.WithMargin(5*time.Minute), tokenstore.WithJitter(time.Minute)))
	ctx := context.Background()
	first, err := m.Token(ctx, "k")
	require.NoError(t, err)

	clk.Advance(2*time.Hour - 5*time.Minute - time.Nanosecond) // due whatever the jitter drew, not yet at the bare margin
	tok, err := m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, first.Value, tok.Value, "due but valid: served while the refresh runs")
	awaitToken(t, m, "k", "k-tok-2") // refreshed at margin+jitter, not later
	assert.Equal(t, int64(2), f.n.Load())
}

func TestDeleteDuringRefreshResurrectsNothing(t *testing.T) {
	st := tokenstore.NewMemoryStore()
	fetching := make(chan struct{})
	release := make(chan struct{})
	fetch := func(ctx context.Context, key string) (tokenstore.Token, error) {
		close(fetching)
		<-release
		return tokenstore.Token{Value: "fetched-before-delete", ExpiresAt: time.Now().Add(time.Hour)}, nil
	}
	m := mustManager(tokenstore.NewManager(st, fetch))
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { _, err := m.Token(ctx, "k"); done <- err }()
	<-fetching
	require.NoError(t, m.Delete(ctx, "k")) // the account revoked its consent while WeChat answered
	close(release)
	err := <-done
	require.Error(t, err, "a token fetched for a deleted key is not handed out")
	_, err = st.Get(ctx, "k")
	require.ErrorIs(t, err, tokenstore.ErrNotFound, "nor stored")
	m2 := mustManager(tokenstore.NewManager(st, nil))
	_, err = m2.Token(ctx, "k")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
}
