package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/sqlstore"
)

// CompareAndSwap keeps the audit trail like Set: a write records its time and reason, a refused one
// leaves the row's audit record alone, and taking over an expired row records the new write.
func TestCompareAndSwapAudit(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		s := newStore(t, b.open(t))
		c := ctx(t)
		with := func(reason string) context.Context { return tokenstore.WithReason(c, reason) }
		cas := func(ctx context.Context, key, old string, tok tokenstore.Token) bool {
			ok, err := s.CompareAndSwap(ctx, key, old, tok)
			require.NoError(t, err)
			return ok
		}
		audit := func(key string) sqlstore.AuditRecord {
			rec, err := s.Audit(c, key)
			require.NoError(t, err)
			return rec
		}

		before := time.Now().Truncate(time.Millisecond)
		require.True(t, cas(with("push:authorized"), "rt", "", tokenstore.Token{Value: "RT1"}))
		rec := audit("rt")
		assert.Equal(t, "push:authorized", rec.UpdatedBy)
		assert.False(t, rec.UpdatedAt.Before(before))
		assert.False(t, rec.HasExpiry())

		require.False(t, cas(with("push:stale"), "rt", "RT0", tokenstore.Token{Value: "RTx"}))
		require.False(t, cas(with("push:again"), "rt", "", tokenstore.Token{Value: "RTy"}))
		assert.Equal(t, rec, audit("rt"), "a refused swap changed the audit record")

		time.Sleep(2 * time.Millisecond)
		require.True(t, cas(with("api_authorizer_token"), "rt", "RT1", tokenstore.Token{Value: "RT2"}))
		rec2 := audit("rt")
		assert.Equal(t, "api_authorizer_token", rec2.UpdatedBy)
		assert.True(t, rec2.UpdatedAt.After(rec.UpdatedAt))

		require.NoError(t, s.Set(with("old"), "exp", tokenstore.Token{Value: "v", ExpiresAt: time.Now().Add(-time.Minute)}))
		exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		require.True(t, cas(with("push:memory"), "exp", "", tokenstore.Token{Value: "w", ExpiresAt: exp}))
		rec3 := audit("exp")
		assert.Equal(t, "push:memory", rec3.UpdatedBy)
		assert.True(t, rec3.ExpiresAt.Equal(exp))
	})
}
