package tokenstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
)

func TestMemoryLockOwnership(t *testing.T) {
	st := tokenstore.NewMemoryStore()
	ctx := context.Background()
	rel1, err := st.TryLock(ctx, "l", 50*time.Millisecond)
	require.NoError(t, err)
	_, err = st.TryLock(ctx, "l", time.Second)
	require.ErrorIs(t, err, tokenstore.ErrLocked, "a held lease is not pre-empted")

	time.Sleep(60 * time.Millisecond)
	rel2, err := st.TryLock(ctx, "l", time.Second)
	require.NoError(t, err, "an expired lease is taken over")
	require.NoError(t, rel1(ctx)) // the first owner's late release must not free the second's lock
	_, err = st.TryLock(ctx, "l", time.Second)
	require.ErrorIs(t, err, tokenstore.ErrLocked)
	require.NoError(t, rel2(ctx))
	_, err = st.TryLock(ctx, "l", time.Second)
	require.NoError(t, err)
}

// Several Managers over one shared Store stand for several processes: with the Store's lock only one
// of them fetches, the others wait for the token to appear in the Store.
func TestLockerOneFetchAcrossManagers(t *testing.T) {
	shared := tokenstore.NewMemoryStore()
	f := &seqFetcher{life: time.Hour, delay: 30 * time.Millisecond}
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ {
		m := mustManager(tokenstore.NewManager(shared, f.fetch))
		for g := 0; g < 50; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok, err := m.Token(context.Background(), "k")
				if assert.NoError(t, err) {
					assert.Equal(t, "k-tok-1", tok.Value)
				}
			}()
		}
	}
	wg.Wait()
	assert.Equal(t, int64(1), f.n.Load())
}

func TestLockHolderThatDiesIsTakenOver(t *testing.T) {
	shared := tokenstore.NewMemoryStore()
	ctx := context.Background()
	// A "dead process" holds the lock and never releases it.
	_, err := shared.TryLock(ctx, "k:lock", 100*time.Millisecond)
	require.NoError(t, err)
	f := &seqFetcher{life: time.Hour}
	m := mustManager(tokenstore.NewManager(shared, f.fetch, tokenstore.WithLockWait(2*time.Second)))
	start := time.Now()
	tok, err := m.Token(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "k-tok-1", tok.Value)
	assert.GreaterOrEqual(t, time.Since(start), 90*time.Millisecond, "the lease must run out before takeover")
}

func TestLockWaitIsBounded(t *testing.T) {
	shared := tokenstore.NewMemoryStore()
	ctx := context.Background()
	_, err := shared.TryLock(ctx, "k:lock", time.Hour)
	require.NoError(t, err)
	f := &seqFetcher{life: time.Hour}
	m := mustManager(tokenstore.NewManager(shared, f.fetch, tokenstore.WithLockWait(50*time.Millisecond)))
	_, err = m.Token(ctx, "k")
	require.ErrorContains(t, err, "waited")
	assert.Zero(t, f.n.Load(), "a waiter never calls upstream while the lease is held")
}
