package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
	"github.com/wxopen-go/wxopen/tokenstore/storetest"
)

const benchKey = "component:wx0123456789abcdef"

// The warm path stays in the process: once a token is cached, Token sends no command to Redis and
// dials nothing.
func TestWarmPathSendsNoCommand(t *testing.T) {
	t.Parallel()
	c, hook := newClient(t)
	st, err := redisstore.New(c, redisstore.WithKeyPrefix(newPrefix(t, c)))
	require.NoError(t, err)
	f := &seqFetcher{life: 2 * time.Hour}
	m := mustManager(tokenstore.NewManager(st, f.fetch))
	ctx := context.Background()
	before := hook.cmds.Load()
	first, err := m.Token(ctx, benchKey)
	require.NoError(t, err)
	cold := hook.cmds.Load() - before
	assert.GreaterOrEqual(t, cold, int64(4), "the cold path goes through Redis (GET, lock, SET, unlock)")

	cmds, dials := hook.cmds.Load(), hook.dials.Load()
	src := m.Source(benchKey)
	for i := 0; i < 1000; i++ {
		tok, err := m.Token(ctx, benchKey)
		require.NoError(t, err)
		require.Equal(t, first.Value, tok.Value)
		tok, err = src.Token(ctx)
		require.NoError(t, err)
		require.Equal(t, first.Value, tok.Value)
	}
	assert.Equal(t, cmds, hook.cmds.Load(), "commands sent on the warm path")
	assert.Equal(t, dials, hook.dials.Load(), "dials on the warm path")
	assert.Equal(t, int64(1), f.n.Load())
}

func warmRedisManager(b *testing.B) *tokenstore.Manager {
	st, _, _ := newStore(b)
	f := &seqFetcher{life: 2 * time.Hour}
	m := mustManager(tokenstore.NewManager(st, f.fetch))
	if _, err := m.Token(context.Background(), benchKey); err != nil {
		b.Fatal(err)
	}
	return m
}

func warmMemoryManager(b *testing.B) *tokenstore.Manager {
	f := &seqFetcher{life: 2 * time.Hour}
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), f.fetch))
	if _, err := m.Token(context.Background(), benchKey); err != nil {
		b.Fatal(err)
	}
	return m
}

func benchWarm(b *testing.B, m *tokenstore.Manager) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Token(ctx, benchKey); err != nil {
			b.Fatal(err)
		}
	}
}

func benchWarmParallel(b *testing.B, m *tokenstore.Manager) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Token(ctx, benchKey); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkWarmToken compares Manager.Token on a cached token over the Redis store with the memory
// store: the same in-process path, no network round trip.
func BenchmarkWarmToken(b *testing.B) {
	b.Run("redis", func(b *testing.B) { benchWarm(b, warmRedisManager(b)) })
	b.Run("memory", func(b *testing.B) { benchWarm(b, warmMemoryManager(b)) })
	b.Run("redis-parallel", func(b *testing.B) { benchWarmParallel(b, warmRedisManager(b)) })
	b.Run("memory-parallel", func(b *testing.B) { benchWarmParallel(b, warmMemoryManager(b)) })
}

// BenchmarkColdRefresh measures one refresh through the store: the Manager's clock runs two hours
// ahead, so every token it gets is already due and each call goes the whole cold path (GET, SET NX PX
// lock, GET, fetch, SET PX, unlock script). The fetch itself costs nothing.
func BenchmarkColdRefresh(b *testing.B) {
	ahead := func() time.Time { return time.Now().Add(2 * time.Hour) }
	run := func(b *testing.B, st tokenstore.Store) {
		f := &seqFetcher{life: time.Hour}
		m := mustManager(tokenstore.NewManager(st, f.fetch, tokenstore.WithClock(ahead)))
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := m.Token(ctx, benchKey); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if got := f.n.Load(); got != int64(b.N) {
			b.Fatalf("%d fetches for %d calls: not every call was cold", got, b.N)
		}
	}
	b.Run("redis", func(b *testing.B) {
		st, _, _ := newStore(b)
		run(b, st)
	})
	b.Run("memory", func(b *testing.B) { run(b, tokenstore.NewMemoryStore()) })
}

// BenchmarkStoreOps is one round trip per operation on the loopback server.
func BenchmarkStoreOps(b *testing.B) {
	st, _, _ := newStore(b)
	ctx := context.Background()
	tok := tokenstore.Token{Value: "ACCESS_TOKEN_0123456789abcdef0123456789abcdef", ExpiresAt: time.Now().Add(time.Hour)}
	if err := st.Set(ctx, "k", tok); err != nil {
		b.Fatal(err)
	}
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := st.Get(ctx, "k"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Set", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := st.Set(ctx, "k", tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CompareAndDelete-miss", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := st.CompareAndDelete(ctx, "k", "other"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("TryLock+release", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			rel, err := st.TryLock(ctx, "l", time.Second)
			if err != nil {
				b.Fatal(err)
			}
			if err := rel(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCompareAndSwap is one MULTI/EVALSHA/EXEC round trip: a rotation (a swap over the current
// value), a refused swap, and the push memory (an empty old with a TTL on a new key).
func BenchmarkCompareAndSwap(b *testing.B) {
	st, _, _ := newStore(b)
	storetest.BenchCompareAndSwap(context.Background(), b, st)
}
