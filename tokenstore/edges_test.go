package tokenstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
)

func TestTokenNeverPrintsItsValue(t *testing.T) {
	tok := tokenstore.Token{Value: "SECRET-VALUE", ExpiresAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for _, v := range []any{tok, &tok, struct{ T tokenstore.Token }{tok}, tokenstore.Token{Value: "SECRET-VALUE"}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			assert.NotContains(t, fmt.Sprintf(verb, v), "SECRET-VALUE", verb)
		}
	}
	assert.Contains(t, tok.String(), "2026-01-02T03:04:05Z")
	assert.Contains(t, tokenstore.Token{Value: "x"}.String(), "no expiry")
	assert.True(t, tokenstore.Token{}.IsZero())
	assert.False(t, tokenstore.Token{Value: "x"}.Expired(time.Now()), "no expiry never expires")
}

func TestReason(t *testing.T) {
	ctx := context.Background()
	assert.Empty(t, tokenstore.Reason(ctx))
	assert.Equal(t, "api_authorizer_token", tokenstore.Reason(tokenstore.WithReason(ctx, "api_authorizer_token")))
}

func TestSetAndInvalidateReportStoreFailures(t *testing.T) {
	st := &countingStore{Store: tokenstore.NewMemoryStore()}
	m := mustManager(tokenstore.NewManager(st, (&seqFetcher{life: time.Hour}).fetch))
	ctx := context.Background()
	st.fail.Store(true)
	require.ErrorIs(t, m.Set(ctx, "k", tokenstore.Token{Value: "v"}), errDown)
	require.ErrorIs(t, m.Invalidate(ctx, "k", "v"), errDown)
	assert.Same(t, st, m.Store())
}

type brokenLocker struct{}

func (brokenLocker) TryLock(context.Context, string, time.Duration) (func(context.Context) error, error) {
	return nil, errDown
}

func TestLockBackendFailureIsAnError(t *testing.T) {
	f := &seqFetcher{life: time.Hour}
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), f.fetch, tokenstore.WithLocker(brokenLocker{})))
	_, err := m.Token(context.Background(), "k")
	require.ErrorIs(t, err, errDown)
	assert.Zero(t, f.n.Load(), "no fetch without the lock")
}

func TestCallerStopsWaitingForAnotherProcessLock(t *testing.T) {
	shared := tokenstore.NewMemoryStore()
	_, err := shared.TryLock(context.Background(), "k:lock", time.Hour)
	require.NoError(t, err)
	m := mustManager(tokenstore.NewManager(shared, (&seqFetcher{life: time.Hour}).fetch))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = m.Token(ctx, "k")
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestFetchTimeoutBoundsTheSharedFetch(t *testing.T) {
	fetch := func(ctx context.Context, _ string) (tokenstore.Token, error) {
		<-ctx.Done() // an upstream that never answers
		return tokenstore.Token{}, ctx.Err()
	}
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), fetch, tokenstore.WithFetchTimeout(30*time.Millisecond), tokenstore.WithLockLease(time.Second)))
	_, err := m.Token(context.Background(), "k")
	require.ErrorIs(t, err, context.DeadlineExceeded, "the detached fetch has its own timeout")
}

func TestMemoryStoreHonoursCancelledContexts(t *testing.T) {
	st := tokenstore.NewMemoryStore()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := st.Get(ctx, "k")
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, st.Set(ctx, "k", tokenstore.Token{Value: "v"}), context.Canceled)
	assert.ErrorIs(t, st.Delete(ctx, "k"), context.Canceled)
	_, err = st.CompareAndDelete(ctx, "k", "v")
	assert.ErrorIs(t, err, context.Canceled)
	_, err = st.TryLock(ctx, "k", time.Second)
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, errors.Is(err, tokenstore.ErrLocked))
}
