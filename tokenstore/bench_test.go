package tokenstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/tokenstore"
)

func warmManager(b *testing.B) *tokenstore.Manager {
	f := &seqFetcher{life: 2 * time.Hour}
	m := tokenstore.NewManager(tokenstore.NewMemoryStore(), f.fetch)
	if _, err := m.Token(context.Background(), "component:wx0123456789abcdef"); err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkSourceWarm is the path every API call takes: a Source held by the client.
func BenchmarkSourceWarm(b *testing.B) {
	s := warmManager(b).Source("component:wx0123456789abcdef")
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := s.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSourceWarmParallel(b *testing.B) {
	s := warmManager(b).Source("component:wx0123456789abcdef")
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Token(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkManagerTokenWarm includes the key lookup.
func BenchmarkManagerTokenWarm(b *testing.B) {
	m := warmManager(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := m.Token(ctx, "component:wx0123456789abcdef"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkManagerTokenWarmParallel(b *testing.B) {
	m := warmManager(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Token(ctx, "component:wx0123456789abcdef"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
