package redisstore_test

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

// process is one simulated instance: its own client and Store over the shared server, same prefix.
func process(t *testing.T, prefix string) *redisstore.Store {
	t.Helper()
	c, _ := newClient(t)
	st, err := redisstore.New(c, redisstore.WithKeyPrefix(prefix))
	require.NoError(t, err)
	return st
}

func TestLockOwnership(t *testing.T) {
	t.Parallel()
	st, c, p := newStore(t)
	other := process(t, p)
	ctx := context.Background()

	rel1, err := st.TryLock(ctx, "l", 100*time.Millisecond)
	require.NoError(t, err)
	owner1, err := c.Get(ctx, p+"l").Result()
	require.NoError(t, err)
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), owner1, "a random 128-bit owner")
	d, err := c.PTTL(ctx, p+"l").Result()
	require.NoError(t, err)
	assert.Greater(t, d, time.Duration(0))
	assert.LessOrEqual(t, d, 100*time.Millisecond)

	_, err = other.TryLock(ctx, "l", time.Second)
	require.ErrorIs(t, err, tokenstore.ErrLocked)
	_, err = st.TryLock(ctx, "l", time.Second)
	require.ErrorIs(t, err, tokenstore.ErrLocked, "not re-entrant either")

	time.Sleep(150 * time.Millisecond)
	rel2, err := other.TryLock(ctx, "l", time.Second)
	require.NoError(t, err, "a lapsed lease is taken over")
	owner2, err := c.Get(ctx, p+"l").Result()
	require.NoError(t, err)
	assert.NotEqual(t, owner1, owner2)

	// The first owner's late release must not free the second owner's lock.
	require.NoError(t, rel1(ctx))
	got, err := c.Get(ctx, p+"l").Result()
	require.NoError(t, err)
	assert.Equal(t, owner2, got)
	_, err = st.TryLock(ctx, "l", time.Second)
	require.ErrorIs(t, err, tokenstore.ErrLocked)

	require.NoError(t, rel2(ctx))
	n, err := c.Exists(ctx, p+"l").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(0), n, "release deletes the owner's own lock")
	require.NoError(t, rel2(ctx), "releasing twice is harmless")

	rel3, err := st.TryLock(ctx, "l", time.Second)
	require.NoError(t, err)
	require.NoError(t, rel2(ctx), "a stale release after a new acquisition")
	_, err = other.TryLock(ctx, "l", time.Second)
	require.ErrorIs(t, err, tokenstore.ErrLocked)
	require.NoError(t, rel3(ctx))
}

func TestLockLeaseValidated(t *testing.T) {
	t.Parallel()
	st, _, _ := newStore(t)
	for _, d := range []time.Duration{0, -time.Second} {
		_, err := st.TryLock(context.Background(), "l", d)
		assert.True(t, wxerr.IsValidation(err), "lease %v: %v", d, err)
	}
	// A sub-millisecond lease is rounded up, not sent as 0.
	rel, err := st.TryLock(context.Background(), "l", time.Microsecond)
	require.NoError(t, err)
	require.NoError(t, rel(context.Background()))
}

// A holder that is slow but alive keeps the lock for its whole lease.
func TestSlowHolderIsNotPreempted(t *testing.T) {
	t.Parallel()
	st, _, p := newStore(t)
	other := process(t, p)
	ctx := context.Background()
	start := time.Now()
	rel, err := st.TryLock(ctx, "l", 400*time.Millisecond)
	require.NoError(t, err)
	defer rel(ctx)
	tries := 0
	for time.Since(start) < 300*time.Millisecond {
		_, err := other.TryLock(ctx, "l", time.Second)
		require.ErrorIs(t, err, tokenstore.ErrLocked, "pre-empted after %s", time.Since(start))
		tries++
		time.Sleep(10 * time.Millisecond)
	}
	assert.Greater(t, tries, 5)
}

// Through Managers: one process refreshes slowly; another asking meanwhile waits for its token instead
// of fetching its own.
func TestSlowRefreshIsWaitedFor(t *testing.T) {
	t.Parallel()
	st1, _, p := newStore(t)
	st2 := process(t, p)
	f1 := &seqFetcher{life: time.Hour, delay: 300 * time.Millisecond}
	f2 := &seqFetcher{life: time.Hour}
	m1 := mustManager(tokenstore.NewManager(st1, f1.fetch, tokenstore.WithLockLease(2*time.Second)))
	m2 := mustManager(tokenstore.NewManager(st2, f2.fetch, tokenstore.WithLockLease(2*time.Second)))
	ctx := context.Background()

	var tok1 tokenstore.Token
	var err1 error
	done := make(chan struct{})
	go func() {
		defer close(done)
		tok1, err1 = m1.Token(ctx, "k")
	}()
	require.Eventually(t, func() bool { return f1.n.Load() == 1 }, 2*time.Second, time.Millisecond)
	tok2, err := m2.Token(ctx, "k")
	require.NoError(t, err)
	<-done
	require.NoError(t, err1)
	assert.Equal(t, "k-tok-1", tok1.Value)
	assert.Equal(t, tok1.Value, tok2.Value)
	assert.Equal(t, int64(0), f2.n.Load(), "the waiting process must not fetch")
}

// A process that died holding the lock is taken over once its lease lapses, not before.
func TestDeadHolderIsTakenOver(t *testing.T) {
	t.Parallel()
	st, c, p := newStore(t)
	ctx := context.Background()
	_, err := process(t, p).TryLock(ctx, "k:lock", 200*time.Millisecond) // never released
	require.NoError(t, err)
	f := &seqFetcher{life: time.Hour}
	m := mustManager(tokenstore.NewManager(st, f.fetch, tokenstore.WithLockWait(3*time.Second)))
	start := time.Now()
	tok, err := m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "k-tok-1", tok.Value)
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "taken over before the lease ran out")
	assert.Equal(t, int64(1), f.n.Load())
	n, err := c.Exists(ctx, p+"k:lock").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(0), n, "the new holder released its lock")
}

// Four Managers with a Store each stand for four processes; 50 goroutines in each ask for one cold key:
// exactly one fetch, everyone gets its token.
func TestOneFetchAcrossProcesses(t *testing.T) {
	t.Parallel()
	st, c, p := newStore(t)
	f := &seqFetcher{life: time.Hour, delay: 50 * time.Millisecond}
	stores := []*redisstore.Store{st, process(t, p), process(t, p), process(t, p)}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, s := range stores {
		m := mustManager(tokenstore.NewManager(s, f.fetch))
		for g := 0; g < 50; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				tok, err := m.Token(context.Background(), "component")
				if assert.NoError(t, err) {
					assert.Equal(t, "component-tok-1", tok.Value)
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int64(1), f.n.Load(), "fetches across 4 processes")
	ctx := context.Background()
	got, err := st.Get(ctx, "component")
	require.NoError(t, err)
	assert.Equal(t, "component-tok-1", got.Value)
	n, err := c.Exists(ctx, p+"component:lock").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(0), n, "lock released")
}

// A token that WeChat refused is invalidated by one process and refreshed once; another process that
// then hits the same token error re-reads the new token from Redis instead of fetching again.
func TestInvalidationAcrossProcesses(t *testing.T) {
	t.Parallel()
	st1, _, p := newStore(t)
	st2 := process(t, p)
	f := &seqFetcher{life: time.Hour}
	m1 := mustManager(tokenstore.NewManager(st1, f.fetch))
	m2 := mustManager(tokenstore.NewManager(st2, f.fetch))
	ctx := context.Background()

	t1, err := m1.Token(ctx, "k")
	require.NoError(t, err)
	t2, err := m2.Token(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, t1.Value, t2.Value)
	require.Equal(t, int64(1), f.n.Load())

	require.NoError(t, m1.Invalidate(ctx, "k", t1.Value))
	n1, err := m1.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "k-tok-2", n1.Value)

	// m2 still serves its in-process copy until it meets the token error itself.
	stale, err := m2.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, t1.Value, stale.Value)
	require.NoError(t, m2.Invalidate(ctx, "k", stale.Value)) // compare-and-delete leaves tok-2 alone
	n2, err := m2.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "k-tok-2", n2.Value)
	assert.Equal(t, int64(2), f.n.Load(), "the second process re-read, it did not fetch")
}
