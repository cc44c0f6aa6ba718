package sqlstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/tokenstore"
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
		c := tokenstore.WithReason(context.Background(), "api_authorizer_token")
		vals := [2]string{"refresh-token-a", "refresh-token-b"}
		if err := s.Set(c, "rt", tokenstore.Token{Value: vals[0]}); err != nil {
			b.Fatal(err)
		}
		cur := 0 // the index of the stored value, across the benchmark's runs
		b.Run("swap", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				ok, err := s.CompareAndSwap(c, "rt", vals[cur], tokenstore.Token{Value: vals[1-cur]})
				if err != nil || !ok {
					b.Fatal(ok, err)
				}
				cur = 1 - cur
			}
		})
		b.Run("refused", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if ok, err := s.CompareAndSwap(c, "rt", "stale", tokenstore.Token{Value: "x"}); err != nil || ok {
					b.Fatal(ok, err)
				}
			}
		})
		run := 0
		b.Run("remember", func(b *testing.B) {
			run++ // b.N grows over several runs: new keys each time
			prefix := "push:" + strconv.Itoa(run) + ":"
			exp := time.Now().Add(time.Minute)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				ok, err := s.CompareAndSwap(c, prefix+strconv.Itoa(i), "", tokenstore.Token{Value: "1", ExpiresAt: exp})
				if err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
	})
}
