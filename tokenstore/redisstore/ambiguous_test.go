package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/internal/faultproxy"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
)

// A CompareAndSwap whose answer is lost (Redis ran the script, the connection broke before the reply
// arrived) returns an error, never a false "not swapped": go-redis resends a plain command after such
// an EOF (MaxRetries, 3 by default), and the resent swap would find its own write. A read settles it;
// the rotation of issue 14 then goes on: a peer rotates RT2 → RT3, the stale RT1 → RT2 is refused.
func TestCompareAndSwapAnswerLost(t *testing.T) {
	addr := redisAddr(t)
	px := faultproxy.New(t, addr)
	cA, _ := clientFor(t, px.Addr()) // go-redis's default retries
	p := newPrefix(t, cA)
	a, err := redisstore.New(cA, redisstore.WithKeyPrefix(p))
	require.NoError(t, err)
	cB, _ := clientFor(t, addr)
	b, err := redisstore.New(cB, redisstore.WithKeyPrefix(p))
	require.NoError(t, err)
	ctx := context.Background()
	warmScripts(t, a)

	for _, tc := range []struct {
		name string
		old  string
		tok  tokenstore.Token
	}{
		{"rotation", "RT1", tokenstore.Token{Value: "RT2"}},
		{"push memory", "", tokenstore.Token{Value: "handled", ExpiresAt: time.Now().Add(time.Hour)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "k:" + tc.name
			if tc.old != "" {
				require.NoError(t, a.Set(ctx, key, tokenstore.Token{Value: tc.old}))
			}
			cut := px.LoseReply(tc.tok.Value)
			ok, err := a.CompareAndSwap(ctx, key, tc.old, tc.tok)
			select {
			case <-cut.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("the swap never reached Redis")
			}
			require.Error(t, err, "a swap whose answer was lost reported ok=%v", ok)
			assert.False(t, ok)
			assert.NotErrorIs(t, err, tokenstore.ErrNotFound)
			t.Logf("A's error: %v", err)
			for name, s := range map[string]*redisstore.Store{"A": a, "B": b} {
				got, err := s.Get(ctx, key)
				require.NoError(t, err, name)
				assert.Equal(t, tc.tok.Value, got.Value, "%s reads what Redis holds", name)
			}
		})
	}

	ok, err := b.CompareAndSwap(ctx, "k:rotation", "RT2", tokenstore.Token{Value: "RT3"})
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = a.CompareAndSwap(ctx, "k:rotation", "RT1", tokenstore.Token{Value: "RT2"})
	require.NoError(t, err)
	assert.False(t, ok, "the stale write went through")
	got, err := b.Get(ctx, "k:rotation")
	require.NoError(t, err)
	assert.Equal(t, "RT3", got.Value)
}

// CompareAndDelete runs the same way: a lost answer is an error, not a resent delete reporting false.
func TestCompareAndDeleteAnswerLost(t *testing.T) {
	px := faultproxy.New(t, redisAddr(t))
	c, _ := clientFor(t, px.Addr())
	st, err := redisstore.New(c, redisstore.WithKeyPrefix(newPrefix(t, c)))
	require.NoError(t, err)
	ctx := context.Background()
	warmScripts(t, st)
	require.NoError(t, st.Set(ctx, "k", tokenstore.Token{Value: "doomed-value"}))
	cut := px.LoseReply("doomed-value")
	ok, err := st.CompareAndDelete(ctx, "k", "doomed-value")
	<-cut.Done()
	require.Error(t, err, "ok=%v", ok)
	_, err = st.Get(ctx, "k")
	require.ErrorIs(t, err, tokenstore.ErrNotFound, "Redis deleted the key")
}

// warmScripts has Redis cache the store's Lua scripts, so that the request carrying a test's marker is
// the one Redis applies. On a Redis that has not seen them (a fresh server, SCRIPT FLUSH) the first
// attempt is an EVALSHA answered NOSCRIPT: it carries the marker too, and losing its answer loses a
// write that never happened (the store still reports an error and a read settles it, but the test
// would assert the wrong outcome).
func warmScripts(t *testing.T, st *redisstore.Store) {
	t.Helper()
	ctx := context.Background()
	_, err := st.CompareAndSwap(ctx, "warm", "", tokenstore.Token{Value: "w", ExpiresAt: time.Now().Add(time.Minute)})
	require.NoError(t, err)
	_, err = st.CompareAndSwap(ctx, "warm", "w", tokenstore.Token{Value: "w2"})
	require.NoError(t, err)
	_, err = st.CompareAndDelete(ctx, "warm", "w2")
	require.NoError(t, err)
}
