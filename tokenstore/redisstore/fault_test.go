package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
)

// hammer calls Token from several goroutines for d and returns how many calls succeeded and failed.
// Every token returned must have been valid when it was asked for, and every failure must be a real
// error, not a miss.
func hammer(t *testing.T, m *tokenstore.Manager, d time.Duration) (ok, failed int64) {
	t.Helper()
	var okN, failN, expiredN, missN atomic.Int64
	var worst atomic.Int64 // how long after its expiry an expired token was asked for, at worst
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				asked := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				tok, err := m.Token(ctx, "k")
				cancel()
				switch {
				case errors.Is(err, tokenstore.ErrNotFound):
					missN.Add(1)
				case err != nil:
					failN.Add(1)
				case !tok.ExpiresAt.After(asked):
					expiredN.Add(1)
					late := int64(asked.Sub(tok.ExpiresAt))
					for w := worst.Load(); late > w && !worst.CompareAndSwap(w, late); w = worst.Load() {
					}
				default:
					okN.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, missN.Load(), "calls that reported an outage as a miss")
	assert.Zero(t, expiredN.Load(), "calls served a token that had expired when asked for (up to %s after its expiry)",
		time.Duration(worst.Load()))
	return okN.Load(), failN.Load()
}

// Redis stopped mid-run: Token returns errors (never an expired token), no panic, no goroutine left
// behind; Redis back on the same port: Token recovers.
func TestRedisStoppedMidRun(t *testing.T) {
	srv := startServer(t)
	base := runtime.NumGoroutine()

	c := redis.NewClient(&redis.Options{
		Addr: srv.addr(), DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond,
		WriteTimeout: 200 * time.Millisecond, PoolTimeout: 200 * time.Millisecond, MaxRetries: -1,
	})
	st, err := redisstore.New(c)
	require.NoError(t, err)
	f := &seqFetcher{life: 400 * time.Millisecond}
	m := mustManager(tokenstore.NewManager(st, f.fetch, tokenstore.WithMargin(100*time.Millisecond), tokenstore.WithJitter(0),
		tokenstore.WithFetchTimeout(time.Second), tokenstore.WithLockWait(time.Second)))

	ok, failed := hammer(t, m, 600*time.Millisecond)
	assert.Positive(t, ok)
	assert.Zero(t, failed, "Redis up")
	assert.GreaterOrEqual(t, f.n.Load(), int64(2), "tokens were refreshed through Redis")

	srv.stop()
	fetchedAtStop := f.n.Load()
	// Longer than a token's life: the cached token runs out while Redis is down.
	ok, failed = hammer(t, m, 800*time.Millisecond)
	t.Logf("while Redis was down: %d served (still valid), %d errors", ok, failed)
	assert.Positive(t, failed)
	_, err = m.Token(context.Background(), "k")
	require.Error(t, err, "no valid token is left and Redis is down")
	assert.NotErrorIs(t, err, tokenstore.ErrNotFound)
	assert.LessOrEqual(t, f.n.Load()-fetchedAtStop, int64(1),
		"at most a refresh already under way when Redis stopped may fetch; none afterwards")

	srv.start()
	var tok tokenstore.Token
	require.Eventually(t, func() bool {
		tok, err = m.Token(context.Background(), "k")
		return err == nil
	}, 5*time.Second, 20*time.Millisecond, "recovers once Redis is back")
	assert.False(t, tok.Expired(time.Now()))
	ok, failed = hammer(t, m, 300*time.Millisecond)
	assert.Positive(t, ok)
	assert.Zero(t, failed, "Redis back")

	require.NoError(t, c.Close())
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after\n%s", base, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestEvictionCheck(t *testing.T) {
	srv := startServer(t)
	c, _ := clientFor(t, srv.addr())
	ctx := context.Background()
	newCred := func(client redis.UniversalClient) (*redisstore.Store, string) {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		st, err := redisstore.NewCredentialStore(ctx, client, redisstore.WithLogger(log))
		require.NoError(t, err, "the check never fails construction")
		require.NotNil(t, st)
		return st, buf.String()
	}

	require.NoError(t, c.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err())
	st, logged := newCred(c)
	assert.Empty(t, logged)
	require.NoError(t, st.CheckNoEviction(ctx))

	for _, policy := range []string{"allkeys-lru", "volatile-ttl"} {
		require.NoError(t, c.ConfigSet(ctx, "maxmemory-policy", policy).Err())
		st, logged = newCred(c)
		assert.Contains(t, logged, "level=WARN")
		assert.Contains(t, logged, policy)
		assert.Contains(t, logged, "61023")
		assert.Contains(t, logged, "61006")
		assert.Contains(t, logged, "noeviction")
		err := st.CheckNoEviction(ctx)
		require.ErrorIs(t, err, redisstore.ErrEvictable)
		assert.Contains(t, err.Error(), policy)
	}

	// New (token cache use) does not check.
	var buf bytes.Buffer
	_, err := redisstore.New(c, redisstore.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	require.NoError(t, err)
	assert.Empty(t, buf.String())

	// Unreachable at start-up: a warning that the policy could not be checked.
	_, logged = newCred(closedPortClient(t))
	assert.Contains(t, logged, "level=WARN")
	assert.Contains(t, logged, "could not check")
}

// Managed Redis often disables CONFIG: the policy cannot be read, which is said, not fatal.
func TestEvictionCheckWithoutConfigCommand(t *testing.T) {
	srv := startServer(t, "--rename-command", "CONFIG", "")
	c, _ := clientFor(t, srv.addr())
	ctx := context.Background()
	var buf bytes.Buffer
	st, err := redisstore.NewCredentialStore(ctx, c, redisstore.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	require.NoError(t, err)
	assert.Contains(t, buf.String(), "level=WARN")
	assert.Contains(t, buf.String(), "could not check")
	assert.Contains(t, buf.String(), "61023")
	err = st.CheckNoEviction(ctx)
	require.Error(t, err)
	assert.NotErrorIs(t, err, redisstore.ErrEvictable)
	// The store itself works.
	require.NoError(t, st.Set(ctx, "k", tokenstore.Token{Value: "v"}))
}
