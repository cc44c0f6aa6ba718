package tokenstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
)

// An option given an invalid value is an error from NewManager, not silently ignored or clamped.
func TestNewManagerRejectsInvalidOptions(t *testing.T) {
	fetch := func(context.Context, string) (tokenstore.Token, error) { return tokenstore.Token{Value: "t"}, nil }
	for name, tc := range map[string]struct {
		opt  tokenstore.Option
		want string
	}{
		"negative margin":    {tokenstore.WithMargin(-time.Second), "margin"},
		"negative jitter":    {tokenstore.WithJitter(-time.Second), "jitter"},
		"zero fetch timeout": {tokenstore.WithFetchTimeout(0), "fetch timeout"},
		"zero lock lease":    {tokenstore.WithLockLease(0), "lock lease"},
		"negative wait":      {tokenstore.WithLockWait(-time.Second), "lock wait"},
		"nil clock":          {tokenstore.WithClock(nil), "clock"},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := tokenstore.NewManager(tokenstore.NewMemoryStore(), fetch, tc.opt)
			require.Error(t, err)
			assert.Nil(t, m)
			assert.Contains(t, err.Error(), "tokenstore: invalid "+tc.want)
		})
	}
	_, err := tokenstore.NewManager(nil, fetch)
	assert.ErrorContains(t, err, "needs a store")

	// Valid edge values are accepted: no margin, no jitter; a nil option is skipped.
	m, err := tokenstore.NewManager(tokenstore.NewMemoryStore(), fetch, tokenstore.WithMargin(0), tokenstore.WithJitter(0), nil)
	require.NoError(t, err)
	tok, err := m.Token(context.Background(), "k")
	require.NoError(t, err)
	assert.Equal(t, "t", tok.Value)
}
