package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
)

// CompareAndSwap gives Redis the TTL Set would: PX up to the token's expiry, none for a durable
// token (removing one the key had), and Redis itself drops the key at expiry, so a push memory
// written with it costs nothing once it has lapsed.
func TestCompareAndSwapTTL(t *testing.T) {
	t.Parallel()
	st, c, p := newStore(t)
	ctx := context.Background()
	pttl := func(k string) time.Duration {
		d, err := c.PTTL(ctx, p+k).Result()
		require.NoError(t, err)
		return d
	}
	cas := func(k, old string, tok tokenstore.Token) bool {
		ok, err := st.CompareAndSwap(ctx, k, old, tok)
		require.NoError(t, err)
		return ok
	}

	require.True(t, cas("k", "", tokenstore.Token{Value: "v", ExpiresAt: time.Now().Add(2 * time.Hour)}))
	d := pttl("k")
	assert.LessOrEqual(t, d, 2*time.Hour)
	assert.Greater(t, d, 2*time.Hour-5*time.Second)

	require.True(t, cas("k", "v", tokenstore.Token{Value: "refresh"}))
	assert.Equal(t, time.Duration(-1), pttl("k"), "a durable token has no TTL")

	require.True(t, cas("k", "refresh", tokenstore.Token{Value: "v2", ExpiresAt: time.Now().Add(90 * time.Second)}))
	d = pttl("k")
	assert.LessOrEqual(t, d, 90*time.Second)
	assert.Greater(t, d, 85*time.Second)

	// A refused swap leaves the TTL alone.
	require.False(t, cas("k", "other", tokenstore.Token{Value: "x"}))
	assert.Greater(t, pttl("k"), 85*time.Second)

	// Redis drops the key at the token's expiry.
	require.True(t, cas("push", "", tokenstore.Token{Value: "1", ExpiresAt: time.Now().Add(80 * time.Millisecond)}))
	time.Sleep(150 * time.Millisecond)
	n, err := c.Exists(ctx, p+"push").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(0), n, "Redis still holds an expired push memory")

	// Swapping to an already expired token deletes the key, as Set does.
	require.True(t, cas("k", "v2", tokenstore.Token{Value: "gone", ExpiresAt: time.Now().Add(-time.Second)}))
	n, err = c.Exists(ctx, p+"k").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(0), n)

	_, err = st.CompareAndSwap(ctx, "k", "", tokenstore.Token{Value: "v", ExpiresAt: time.Unix(1<<62, 0)})
	require.Error(t, err, "an expiry beyond what the encoding holds")
}

// A token that Redis still holds but which has expired by this process's clock counts as absent,
// as Get treats it.
func TestCompareAndSwapExpiredByLocalClock(t *testing.T) {
	t.Parallel()
	st, c, p := newStore(t)
	ctx := context.Background()
	past := time.Now().Add(-time.Minute).UnixNano()
	require.NoError(t, c.Set(ctx, p+"k", "1|"+itoa(past)+"|v", time.Minute).Err())
	ok, err := st.CompareAndSwap(ctx, "k", "v", tokenstore.Token{Value: "w"})
	require.NoError(t, err)
	assert.False(t, ok, "the value of an expired token matched")
	ok, err = st.CompareAndSwap(ctx, "k", "", tokenstore.Token{Value: "w"})
	require.NoError(t, err)
	assert.True(t, ok, "an expired token was not taken for absent")
	got, err := st.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "w", got.Value)

	// An expiry of a different length in digits compares as a number, not as text.
	require.NoError(t, c.Set(ctx, p+"k", "1|999|v", 0).Err())
	ok, err = st.CompareAndSwap(ctx, "k", "", tokenstore.Token{Value: "w"})
	require.NoError(t, err)
	assert.True(t, ok, "1970 is in the past")
	require.NoError(t, c.Set(ctx, p+"k", "1|-5|v", 0).Err())
	ok, err = st.CompareAndSwap(ctx, "k", "", tokenstore.Token{Value: "w"})
	require.NoError(t, err)
	assert.True(t, ok, "a negative expiry is in the past")
	require.NoError(t, c.Set(ctx, p+"k", "1|99999999999999999999|v", 0).Err())
	ok, err = st.CompareAndSwap(ctx, "k", "", tokenstore.Token{Value: "w"})
	require.NoError(t, err)
	assert.False(t, ok, "a longer expiry is in the future")
}

// The script is cached by SHA; after SCRIPT FLUSH it is loaded again, and a swap refused because
// the script was missing is not mistaken for a refusal.
func TestCompareAndSwapAfterScriptFlush(t *testing.T) {
	srv := startServer(t)
	c, _ := clientFor(t, srv.addr())
	st, err := redisstore.New(c)
	require.NoError(t, err)
	ctx := context.Background()
	ok, err := st.CompareAndSwap(ctx, "k", "", tokenstore.Token{Value: "v"})
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, c.ScriptFlush(ctx).Err())
	ok, err = st.CompareAndSwap(ctx, "k", "v", tokenstore.Token{Value: "w"})
	require.NoError(t, err)
	assert.True(t, ok)
	got, err := st.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "w", got.Value)
}

// A key that does not hold our encoding is an error, never overwritten, never printed.
func TestCompareAndSwapForeignValue(t *testing.T) {
	t.Parallel()
	st, c, p := newStore(t)
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, p+"k", "SECRETVALUE", 0).Err())
	for _, old := range []string{"", "SECRETVALUE"} {
		ok, err := st.CompareAndSwap(ctx, "k", old, tokenstore.Token{Value: "w"})
		require.Error(t, err)
		assert.False(t, ok)
		assert.NotContains(t, err.Error(), "SECRETVALUE")
	}
	raw, err := c.Get(ctx, p+"k").Result()
	require.NoError(t, err)
	assert.Equal(t, "SECRETVALUE", raw)
}
