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

// storeClock is a clock that moves only when told.
type storeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newStoreClock() *storeClock {
	return &storeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *storeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *storeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// With WithStoreClock, expiry follows that clock, not the wall clock: tokens, CompareAndSwap's
// "absent" and lock leases.
func TestMemoryStoreClock(t *testing.T) {
	ctx := context.Background()
	clk := newStoreClock()
	s := tokenstore.NewMemoryStore(tokenstore.WithStoreClock(clk.Now))

	// Valid by the store's clock although long past by the wall clock's, and the other way round.
	require.NoError(t, s.Set(ctx, "k", tokenstore.Token{Value: "v", ExpiresAt: clk.Now().Add(time.Hour)}))
	got, err := s.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "v", got.Value)
	ok, err := s.CompareAndSwap(ctx, "k", "", tokenstore.Token{Value: "w"})
	require.NoError(t, err)
	assert.False(t, ok, "a live token (by the store's clock) is not absent")

	clk.Advance(time.Hour)
	_, err = s.Get(ctx, "k")
	assert.ErrorIs(t, err, tokenstore.ErrNotFound, "expired by the store's clock")
	ok, err = s.CompareAndSwap(ctx, "k", "", tokenstore.Token{Value: "w", ExpiresAt: clk.Now().Add(time.Minute)})
	require.NoError(t, err)
	assert.True(t, ok, "an expired token (by the store's clock) counts as absent")

	release, err := s.TryLock(ctx, "lock", time.Minute)
	require.NoError(t, err)
	_, err = s.TryLock(ctx, "lock", time.Minute)
	require.ErrorIs(t, err, tokenstore.ErrLocked)
	clk.Advance(time.Minute)
	release2, err := s.TryLock(ctx, "lock", time.Minute)
	require.NoError(t, err, "the lease lapsed on the store's clock")
	require.NoError(t, release(ctx), "a lapsed owner's release does nothing")
	_, err = s.TryLock(ctx, "lock", time.Minute)
	require.ErrorIs(t, err, tokenstore.ErrLocked, "the lapsed owner released the new owner's lock")
	require.NoError(t, release2(ctx))
}

// The zero value is ready and runs on the wall clock.
func TestMemoryStoreZeroValue(t *testing.T) {
	ctx := context.Background()
	var s tokenstore.MemoryStore
	ok, err := s.CompareAndSwap(ctx, "k", "", tokenstore.Token{Value: "v", ExpiresAt: time.Now().Add(-time.Second)})
	require.NoError(t, err)
	assert.True(t, ok)
	_, err = s.Get(ctx, "k")
	assert.ErrorIs(t, err, tokenstore.ErrNotFound)
	require.NoError(t, s.Set(ctx, "k", tokenstore.Token{Value: "v", ExpiresAt: time.Now().Add(time.Hour)}))
	got, err := s.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "v", got.Value)
}
