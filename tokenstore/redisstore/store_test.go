package redisstore_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestNewValidates(t *testing.T) {
	_, err := redisstore.New(nil)
	assert.True(t, wxerr.IsValidation(err), "got %v", err)
	_, err = redisstore.NewCredentialStore(context.Background(), nil)
	assert.True(t, wxerr.IsValidation(err), "got %v", err)
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	st, c, p := newStore(t)
	ctx := context.Background()

	_, err := st.Get(ctx, "missing")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)

	// Nanosecond precision, a value with the separator and non-ASCII bytes in it.
	exp := time.Now().Add(time.Hour).Round(0).Add(123456789 * time.Nanosecond)
	for _, tok := range []tokenstore.Token{
		{Value: "ACCESS_TOKEN_abc", ExpiresAt: exp},
		{Value: "a|b|1|", ExpiresAt: exp},
		{Value: "刷新令牌@@@x", ExpiresAt: time.Time{}},
		{Value: "", ExpiresAt: exp},
	} {
		require.NoError(t, st.Set(ctx, "k", tok))
		got, err := st.Get(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, tok.Value, got.Value)
		assert.True(t, tok.ExpiresAt.Equal(got.ExpiresAt), "expiry %v, want %v", got.ExpiresAt, tok.ExpiresAt)
		assert.Equal(t, tok.ExpiresAt.IsZero(), got.ExpiresAt.IsZero())
	}

	// The key lives under the prefix, and only there.
	n, err := c.Exists(ctx, p+"k").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	n, err = c.Exists(ctx, "k").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(0), n)

	require.NoError(t, st.Delete(ctx, "k"))
	_, err = st.Get(ctx, "k")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
	require.NoError(t, st.Delete(ctx, "k"), "deleting a missing key is not an error")
}

func TestPrefixesIsolate(t *testing.T) {
	t.Parallel()
	a, c, _ := newStore(t)
	pb := newPrefix(t, c)
	b, err := redisstore.New(c, redisstore.WithKeyPrefix(pb))
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, a.Set(ctx, "k", tokenstore.Token{Value: "A"}))
	_, err = b.Get(ctx, "k")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
	require.NoError(t, b.Set(ctx, "k", tokenstore.Token{Value: "B"}))
	got, err := a.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "A", got.Value)
}

func TestDefaultPrefix(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t)
	st, err := redisstore.New(c)
	require.NoError(t, err)
	ctx := context.Background()
	key := newPrefix(t, c) // unique, removed with its "wxopen:" form below
	t.Cleanup(func() { c.Del(context.Background(), redisstore.DefaultPrefix+key) })
	require.NoError(t, st.Set(ctx, key, tokenstore.Token{Value: "v"}))
	n, err := c.Exists(ctx, "wxopen:"+key).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
}

func TestTTL(t *testing.T) {
	t.Parallel()
	st, c, p := newStore(t)
	ctx := context.Background()
	pttl := func() time.Duration {
		d, err := c.PTTL(ctx, p+"k").Result()
		require.NoError(t, err)
		return d
	}

	require.NoError(t, st.Set(ctx, "k", tokenstore.Token{Value: "v", ExpiresAt: time.Now().Add(2 * time.Hour)}))
	d := pttl()
	assert.LessOrEqual(t, d, 2*time.Hour)
	assert.Greater(t, d, 2*time.Hour-5*time.Second)

	// A durable credential replacing an expiring token loses the TTL (PTTL -1: no expiry).
	require.NoError(t, st.Set(ctx, "k", tokenstore.Token{Value: "refresh"}))
	assert.Equal(t, time.Duration(-1), pttl())

	// And the other way round.
	require.NoError(t, st.Set(ctx, "k", tokenstore.Token{Value: "v2", ExpiresAt: time.Now().Add(90 * time.Second)}))
	d = pttl()
	assert.LessOrEqual(t, d, 90*time.Second)
	assert.Greater(t, d, 85*time.Second)

	// Redis drops the key at the token's expiry.
	require.NoError(t, st.Set(ctx, "short", tokenstore.Token{Value: "v", ExpiresAt: time.Now().Add(80 * time.Millisecond)}))
	_, err := st.Get(ctx, "short")
	require.NoError(t, err)
	time.Sleep(150 * time.Millisecond)
	_, err = st.Get(ctx, "short")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
	n, err := c.Exists(ctx, p+"short").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(0), n)
}

func TestSetExpiredTokenDeletes(t *testing.T) {
	t.Parallel()
	st, c, p := newStore(t)
	ctx := context.Background()
	require.NoError(t, st.Set(ctx, "k", tokenstore.Token{Value: "old"}))
	require.NoError(t, st.Set(ctx, "k", tokenstore.Token{Value: "v", ExpiresAt: time.Now().Add(-time.Second)}))
	_, err := st.Get(ctx, "k")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
	n, err := c.Exists(ctx, p+"k").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(0), n)
}

func TestSetRejectsUnrepresentableExpiry(t *testing.T) {
	t.Parallel()
	st, _, _ := newStore(t)
	err := st.Set(context.Background(), "k", tokenstore.Token{Value: "v", ExpiresAt: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)})
	assert.True(t, wxerr.IsValidation(err), "got %v", err)
}

// A token read back after its expiry by this process's clock is a miss even if Redis still has it
// (clocks of hosts differ by a little).
func TestGetDropsExpiredByLocalClock(t *testing.T) {
	t.Parallel()
	st, c, p := newStore(t)
	ctx := context.Background()
	past := time.Now().Add(-time.Minute).UnixNano()
	require.NoError(t, c.Set(ctx, p+"k", "1|"+itoa(past)+"|v", time.Minute).Err())
	_, err := st.Get(ctx, "k")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
}

func TestCompareAndDelete(t *testing.T) {
	t.Parallel()
	st, c, p := newStore(t)
	ctx := context.Background()
	tok := tokenstore.Token{Value: "x|abc", ExpiresAt: time.Now().Add(time.Hour)}
	require.NoError(t, st.Set(ctx, "k", tok))
	raw, err := c.Get(ctx, p+"k").Result()
	require.NoError(t, err)

	for _, other := range []string{"abc", "x|ab", "", "X|ABC", raw} {
		ok, err := st.CompareAndDelete(ctx, "k", other)
		require.NoError(t, err)
		assert.False(t, ok, "value %q must not match", other)
	}
	got, err := st.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, tok.Value, got.Value, "a non-matching compare-and-delete keeps the token")

	ok, err := st.CompareAndDelete(ctx, "k", "x|abc")
	require.NoError(t, err)
	assert.True(t, ok)
	_, err = st.Get(ctx, "k")
	require.ErrorIs(t, err, tokenstore.ErrNotFound)

	ok, err = st.CompareAndDelete(ctx, "k", "x|abc")
	require.NoError(t, err)
	assert.False(t, ok, "a missing key is not deleted")

	// Durable token.
	require.NoError(t, st.Set(ctx, "d", tokenstore.Token{Value: "refresh@@@1"}))
	ok, err = st.CompareAndDelete(ctx, "d", "refresh@@@1")
	require.NoError(t, err)
	assert.True(t, ok)
}

// The script is cached by SHA; after SCRIPT FLUSH it is loaded again.
func TestCompareAndDeleteAfterScriptFlush(t *testing.T) {
	srv := startServer(t)
	c, _ := clientFor(t, srv.addr())
	st, err := redisstore.New(c)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, st.Set(ctx, "k", tokenstore.Token{Value: "v"}))
	ok, err := st.CompareAndDelete(ctx, "k", "nope")
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, c.ScriptFlush(ctx).Err())
	require.NoError(t, st.Set(ctx, "k", tokenstore.Token{Value: "v"}))
	ok, err = st.CompareAndDelete(ctx, "k", "v")
	require.NoError(t, err)
	assert.True(t, ok)
}

// A key that does not hold our encoding is an error, not a miss, and its content is not printed.
func TestForeignValueIsAnError(t *testing.T) {
	t.Parallel()
	st, c, p := newStore(t)
	ctx := context.Background()
	for _, raw := range []string{"SECRETVALUE", "1|SECRETVALUE", "1|notanumber|SECRETVALUE", "2||SECRETVALUE"} {
		require.NoError(t, c.Set(ctx, p+"k", raw, 0).Err())
		_, err := st.Get(ctx, "k")
		require.Error(t, err, raw)
		assert.NotErrorIs(t, err, tokenstore.ErrNotFound)
		assert.NotContains(t, err.Error(), "SECRETVALUE")
	}
	_, err := st.CompareAndDelete(ctx, "k", "SECRETVALUE")
	require.Error(t, err)
	assert.NotErrorIs(t, err, tokenstore.ErrNotFound)
	raw, err := c.Get(ctx, p+"k").Result()
	require.NoError(t, err)
	assert.Equal(t, "2||SECRETVALUE", raw, "a foreign value is left alone")
}

func closedPortClient(t *testing.T) *redis.Client {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// assertFailures checks that every operation of st fails with a real error: never a miss, never
// "locked".
func assertFailures(t *testing.T, st *redisstore.Store, ctx context.Context, want error) {
	t.Helper()
	_, err := st.Get(ctx, "k")
	require.Error(t, err)
	assert.NotErrorIs(t, err, tokenstore.ErrNotFound, "a failure must not look like a miss")
	if want != nil {
		assert.ErrorIs(t, err, want)
	}
	err = st.Set(ctx, "k", tokenstore.Token{Value: "v", ExpiresAt: time.Now().Add(time.Hour)})
	require.Error(t, err)
	err = st.Set(ctx, "k", tokenstore.Token{Value: "v"})
	require.Error(t, err)
	require.Error(t, st.Delete(ctx, "k"))
	_, err = st.CompareAndDelete(ctx, "k", "v")
	require.Error(t, err)
	_, err = st.TryLock(ctx, "k:lock", time.Second)
	require.Error(t, err)
	assert.NotErrorIs(t, err, tokenstore.ErrLocked)
}

func TestFailureIsNotAMiss(t *testing.T) {
	t.Run("closed port", func(t *testing.T) {
		st, err := redisstore.New(closedPortClient(t))
		require.NoError(t, err)
		assertFailures(t, st, context.Background(), nil)
		err = st.CheckNoEviction(context.Background())
		require.Error(t, err)
		assert.NotErrorIs(t, err, redisstore.ErrEvictable)
	})
	t.Run("closed client", func(t *testing.T) {
		st, c, _ := newStore(t)
		require.NoError(t, c.Close())
		assertFailures(t, st, context.Background(), redis.ErrClosed)
	})
	t.Run("cancelled context", func(t *testing.T) {
		st, _, _ := newStore(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assertFailures(t, st, ctx, context.Canceled)
	})
}

// A Manager over a Redis that is down reports the failure and never calls WeChat: a failure taken for
// a miss would make every instance refresh at once.
func TestManagerDoesNotFetchWhenRedisFails(t *testing.T) {
	st, err := redisstore.New(closedPortClient(t))
	require.NoError(t, err)
	f := &seqFetcher{life: time.Hour}
	m := mustManager(tokenstore.NewManager(st, f.fetch))
	_, err = m.Token(context.Background(), "k")
	require.Error(t, err)
	assert.NotErrorIs(t, err, tokenstore.ErrNotFound)
	var op *net.OpError
	assert.True(t, errors.As(err, &op), "the network error is wrapped: %v", err)
	assert.Equal(t, int64(0), f.n.Load())
}
