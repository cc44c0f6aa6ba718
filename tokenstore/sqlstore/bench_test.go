package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/storetest"
)

// BenchmarkGet measures a warm read of one credential (one round trip to a loopback server).
func BenchmarkGet(b *testing.B) {
	forEachB(b, func(b *testing.B, s tokenstore.Store) {
		c := context.Background()
		if err := s.Set(c, "k", tokenstore.Token{Value: "refresh-token", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := s.Get(c, "k"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSet measures one upsert transaction (BEGIN, INSERT ... UPDATE, COMMIT).
func BenchmarkSet(b *testing.B) {
	forEachB(b, func(b *testing.B, s tokenstore.Store) {
		c := tokenstore.WithReason(context.Background(), "api_authorizer_token")
		tok := tokenstore.Token{Value: "refresh-token"}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := s.Set(c, "k", tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func forEachB(b *testing.B, f func(b *testing.B, s tokenstore.Store)) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			db := be.open(b)
			f(b, newStore(b, db))
		})
	}
}

// BenchmarkCompareAndSwap is one conditional statement on a connection of its own: a rotation (an
// UPDATE over the current value), a refused swap, and the push memory (an insert on a new key that
// would take over an expired row).
func BenchmarkCompareAndSwap(b *testing.B) {
	forEachB(b, func(b *testing.B, s tokenstore.Store) {
		storetest.BenchCompareAndSwap(tokenstore.WithReason(context.Background(), "api_authorizer_token"), b, s)
	})
}
