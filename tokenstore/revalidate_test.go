package tokenstore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
)

// gateFetcher blocks every fetch until the test releases it (or the fetch's context ends), counting
// calls: a WeChat that takes as long as the test wants, without sleeping.
type gateFetcher struct {
	calls   atomic.Int64
	started chan struct{} // one send per fetch that started
	release chan struct{} // closed by the test
	now     func() time.Time
}

func newGateFetcher(now func() time.Time) *gateFetcher {
	return &gateFetcher{started: make(chan struct{}, 100), release: make(chan struct{}), now: now}
}

func (f *gateFetcher) fetch(ctx context.Context, key string) (tokenstore.Token, error) {
	n := f.calls.Add(1)
	f.started <- struct{}{}
	select {
	case <-f.release:
	case <-ctx.Done():
		return tokenstore.Token{}, ctx.Err()
	}
	return tokenstore.Token{Value: fmt.Sprintf("%s-tok-%d", key, n), ExpiresAt: f.now().Add(2 * time.Hour)}, nil
}

// settled waits until the goroutines started by the test are gone: the background refreshes ended.
func settled(t *testing.T, before int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines left behind: %d, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
	}
}

// WeChat answers in 8 s (here: when the test says so) while the cached token is due but has minutes
// left: 50 callers with a 2 s deadline are all served at once with that token, and WeChat is asked
// once.
func TestDueTokenServedAtOnceWhileWeChatIsSlow(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	clk := &fakeClock{t: time.Now()}
	f := newGateFetcher(clk.Now)
	st := tokenstore.NewMemoryStore()
	ctx := context.Background()
	require.NoError(t, st.Set(ctx, "k", tokenstore.Token{Value: "valid", ExpiresAt: clk.Now().Add(2 * time.Hour)}))
	m := mustManager(tokenstore.NewManager(st, f.fetch, tokenstore.WithClock(clk.Now), tokenstore.WithJitter(0)))
	tok, err := m.Token(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "valid", tok.Value)

	clk.Advance(2*time.Hour - 3*time.Minute) // due (5-minute margin), valid for 3 more minutes
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			tok, err := m.Token(cctx, "k")
			if err == nil && tok.Value != "valid" {
				err = fmt.Errorf("got %q", tok.Value)
			}
			errs <- err
		}()
	}
	wg.Wait() // returns while WeChat still has not answered
	close(errs)
	for err := range errs {
		require.NoError(t, err, "a caller holding a valid token waited for WeChat")
	}
	<-f.started
	assert.Equal(t, int64(1), f.calls.Load(), "one refresh for 50 callers")

	close(f.release) // WeChat answers
	awaitToken(t, m, "k", "k-tok-1")
	assert.Equal(t, int64(1), f.calls.Load())
	settled(t, goroutines)
}

// A refresh that keeps failing leaves the valid token in service and is retried with a delay that
// doubles (jittered between half and all of it), not on every call and not at a fixed pace.
func TestFailedBackgroundRefreshBacksOff(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	clk := &fakeClock{t: time.Now()}
	var attempts []time.Time
	var mu sync.Mutex
	fetch := func(ctx context.Context, key string) (tokenstore.Token, error) {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, clk.Now())
		if len(attempts) == 1 {
			return tokenstore.Token{Value: "first", ExpiresAt: clk.Now().Add(2 * time.Hour)}, nil
		}
		return tokenstore.Token{}, errors.New("WeChat: system busy")
	}
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), fetch, tokenstore.WithClock(clk.Now),
		tokenstore.WithJitter(0), tokenstore.WithMargin(30*time.Minute)))
	ctx := context.Background()
	_, err := m.Token(ctx, "k")
	require.NoError(t, err)

	clk.Advance(2*time.Hour - 30*time.Minute) // due; valid for 30 more minutes
	const step = 250 * time.Millisecond
	for elapsed := time.Duration(0); elapsed < 10*time.Minute; elapsed += step {
		g := runtime.NumGoroutine()
		tok, err := m.Token(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, "first", tok.Value, "the valid token stays in service")
		settled(t, g) // the attempt this call may have started has ended
		clk.Advance(step)
	}
	settled(t, goroutines)
	mu.Lock()
	defer mu.Unlock()
	failed := attempts[1:]
	// Base 5 s, doubling, capped at 1 minute, each delay jittered to [d/2, d]: over 10 minutes that is
	// at most 5 s/2 + 10/2 + 20/2 + 40/2 + 60/2... ≈ 17 attempts; a fixed 5 s pace would make 120.
	assert.GreaterOrEqual(t, len(failed), 5)
	assert.LessOrEqual(t, len(failed), 22, "retried at a fixed pace or on every call")
	for i := 1; i < len(failed); i++ {
		d := min(5*time.Second<<(i-1), time.Minute)
		gap := failed[i].Sub(failed[i-1])
		assert.GreaterOrEqual(t, gap, d/2, "attempt %d came %s after the previous one", i+1, gap)
		// (An attempt may land a step or two late: the loop does not wait for the previous
		// attempt's retry time to be installed before it moves the clock.)
		assert.LessOrEqual(t, gap, d+4*step, "attempt %d came %s after the previous one", i+1, gap)
	}
}

// The background refresh is bounded by the fetch timeout: a WeChat that never answers leaves the
// valid token in service and no goroutine behind.
func TestBackgroundRefreshBoundedByFetchTimeout(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	clk := &fakeClock{t: time.Now()}
	f := newGateFetcher(clk.Now) // never released
	st := tokenstore.NewMemoryStore()
	ctx := context.Background()
	require.NoError(t, st.Set(ctx, "k", tokenstore.Token{Value: "valid", ExpiresAt: clk.Now().Add(time.Hour)}))
	m := mustManager(tokenstore.NewManager(st, f.fetch, tokenstore.WithClock(clk.Now), tokenstore.WithFetchTimeout(50*time.Millisecond)))
	_, err := m.Token(ctx, "k")
	require.NoError(t, err)
	clk.Advance(58 * time.Minute)
	tok, err := m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "valid", tok.Value)
	<-f.started
	settled(t, goroutines)
	tok, err = m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "valid", tok.Value)
	assert.Equal(t, int64(1), f.calls.Load(), "the timed-out attempt is retried later, not at once")
}

// Another process holds the lock (it may be dead): a process with a valid token keeps serving it,
// never waiting, and refreshes once the lease has lapsed.
func TestLockHeldElsewhereDelaysNobodyWithAValidToken(t *testing.T) {
	shared := tokenstore.NewMemoryStore()
	ctx := context.Background()
	clk := &fakeClock{t: time.Now()}
	f := &seqFetcher{life: 2 * time.Hour, now: clk.Now}
	m := mustManager(tokenstore.NewManager(shared, f.fetch, tokenstore.WithClock(clk.Now), tokenstore.WithJitter(0),
		tokenstore.WithLockLease(2*time.Second)))
	first, err := m.Token(ctx, "k")
	require.NoError(t, err)
	_, err = shared.TryLock(ctx, "k:lock", 2*time.Second) // a process that then dies
	require.NoError(t, err)
	locked := time.Now()

	clk.Advance(2*time.Hour - time.Minute)
	for i := 0; i < 20; i++ {
		// Half the lease: a caller that waited for the lock would miss it, even on a loaded machine.
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		tok, err := m.Token(cctx, "k")
		cancel()
		require.NoError(t, err)
		require.Equal(t, first.Value, tok.Value)
	}
	require.Eventually(t, func() bool {
		clk.Advance(100 * time.Millisecond) // the retry delay runs on the Manager's clock
		tok, err := m.Token(ctx, "k")
		return err == nil && tok.Value == "k-tok-2"
	}, 15*time.Second, 10*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(locked), 2*time.Second, "fetched only after the lease lapsed")
	assert.Equal(t, int64(2), f.n.Load())
}

// Delete releases the key's entry: the Manager holds no memory for forgotten keys.
func TestDeleteReleasesEntries(t *testing.T) {
	const n = 100_000
	st := &nullStore{Store: tokenstore.NewMemoryStore()} // keeps nothing: the heap measured is the Manager's
	m := mustManager(tokenstore.NewManager(st, nil))
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("wxcomponent:authorizer:wx%016x:access_token", i)
	}
	empty := heapInUse()
	for _, k := range keys {
		require.NoError(t, m.Set(ctx, k, tokenstore.Token{Value: "v", ExpiresAt: exp}))
	}
	assert.Equal(t, n, m.Len())
	held := m.Source(keys[0])
	full := heapInUse()
	for _, k := range keys {
		require.NoError(t, m.Delete(ctx, k))
	}
	assert.Zero(t, m.Len(), "every entry is released")
	after := heapInUse()
	t.Logf("%d keys: heap %d B per key with them, %d B per key left after deleting them", n,
		(int64(full)-int64(empty))/n, (int64(after)-int64(empty))/n)
	assert.Less(t, int64(after)-int64(empty), int64(n*8), "less than 8 B per deleted key is left")

	// A Source held across the Delete still works, through the key's new entry.
	st.keep.Store(true)
	require.NoError(t, st.Set(ctx, keys[0], tokenstore.Token{Value: "again", ExpiresAt: exp}))
	tok, err := held.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, "again", tok.Value)
	assert.Equal(t, 1, m.Len())
	assert.NotSame(t, held, m.Source(keys[0]))
	require.NoError(t, held.Set(ctx, tokenstore.Token{Value: "set", ExpiresAt: exp}))
	tok, err = m.Token(ctx, keys[0])
	require.NoError(t, err)
	assert.Equal(t, "set", tok.Value, "Set on the held Source reaches the live entry")
	require.NoError(t, held.Invalidate(ctx, "set"))
	_, err = m.Token(ctx, keys[0])
	require.ErrorIs(t, err, tokenstore.ErrNotFound, "Invalidate on the held Source reaches the live entry")
	m.Source(keys[1]) // a key used again after its Delete gets a new entry
	assert.Equal(t, 2, m.Len())
}

// A caller without a valid token still waits for the shared refresh and gets the new token.
func TestExpiredTokenWaitsForRefresh(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	f := &seqFetcher{life: 2 * time.Hour, now: clk.Now}
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), f.fetch, tokenstore.WithClock(clk.Now)))
	ctx := context.Background()
	_, err := m.Token(ctx, "k")
	require.NoError(t, err)
	clk.Advance(3 * time.Hour)
	tok, err := m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "k-tok-2", tok.Value, "an expired token is never served")
}

// nullStore drops every write until keep is set, then behaves as its Store.
type nullStore struct {
	tokenstore.Store
	keep atomic.Bool
}

func (s *nullStore) Set(ctx context.Context, k string, t tokenstore.Token) error {
	if !s.keep.Load() {
		return nil
	}
	return s.Store.Set(ctx, k, t)
}

func (s *nullStore) Delete(ctx context.Context, k string) error {
	if !s.keep.Load() {
		return nil
	}
	return s.Store.Delete(ctx, k)
}

// SourceBytes finds the same Source as Source, and a key it adds is its own copy.
func TestSourceBytes(t *testing.T) {
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), nil))
	buf := []byte("wxCOMP:authorizer:wxA:access_token")
	s := m.SourceBytes(buf)
	assert.Same(t, s, m.Source("wxCOMP:authorizer:wxA:access_token"))
	copy(buf, "XX")
	assert.Equal(t, "wxCOMP:authorizer:wxA:access_token", s.Key(), "the key was copied")
	assert.Same(t, s, m.SourceBytes([]byte("wxCOMP:authorizer:wxA:access_token")))
	assert.Equal(t, 1, m.Len())
}

// When a whole fleet falls due at once, at most 64 refreshes run in the background; every caller is
// served its valid token meanwhile, and the others are refreshed by later callers.
func TestBackgroundRefreshesAreBounded(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	clk := &fakeClock{t: time.Now()}
	f := newGateFetcher(clk.Now)
	f.started = make(chan struct{}, 1000)
	st := tokenstore.NewMemoryStore()
	ctx := context.Background()
	m := mustManager(tokenstore.NewManager(st, f.fetch, tokenstore.WithClock(clk.Now), tokenstore.WithJitter(0)))
	const n = 200
	for i := 0; i < n; i++ {
		require.NoError(t, m.Set(ctx, fmt.Sprint("k", i), tokenstore.Token{Value: "valid", ExpiresAt: clk.Now().Add(time.Hour)}))
	}
	clk.Advance(58 * time.Minute)
	for i := 0; i < n; i++ {
		tok, err := m.Token(ctx, fmt.Sprint("k", i))
		require.NoError(t, err)
		require.Equal(t, "valid", tok.Value)
	}
	for i := 0; i < 64; i++ {
		<-f.started
	}
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, int64(64), f.calls.Load(), "background refreshes beyond the bound were started")
	close(f.release)
	require.Eventually(t, func() bool {
		for i := 0; i < n; i++ {
			_, _ = m.Token(ctx, fmt.Sprint("k", i))
		}
		return f.calls.Load() == n
	}, 10*time.Second, 10*time.Millisecond)
	settled(t, goroutines)
}

// A key whose refresh fails with no valid token (an account revoked at another instance, an appid
// never authorised) leaves no entry behind; a Source held across it goes on working.
func TestFailedRefreshWithoutTokenReleasesEntry(t *testing.T) {
	errRevoked := errors.New("not authorised")
	var ok atomic.Bool
	fetch := func(_ context.Context, key string) (tokenstore.Token, error) {
		if !ok.Load() {
			return tokenstore.Token{}, errRevoked
		}
		return tokenstore.Token{Value: key + "-tok", ExpiresAt: time.Now().Add(time.Hour)}, nil
	}
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), fetch))
	ctx := context.Background()
	held := m.Source("held")
	for i := range 1000 {
		_, err := m.Token(ctx, fmt.Sprintf("k%d", i))
		require.ErrorIs(t, err, errRevoked)
	}
	_, err := held.Token(ctx)
	require.ErrorIs(t, err, errRevoked)
	assert.Zero(t, m.Len(), "no entry kept for keys without a token")

	ok.Store(true)
	tok, err := held.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, "held-tok", tok.Value)
	assert.Equal(t, 1, m.Len())
	tok, err = m.Token(ctx, "held")
	require.NoError(t, err)
	assert.Equal(t, "held-tok", tok.Value, "the held Source and the Manager serve the same entry")
}
