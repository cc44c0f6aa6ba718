package tokenstore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/tokenstore"
)

func warmManager(b *testing.B) *tokenstore.Manager {
	f := &seqFetcher{life: 2 * time.Hour}
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), f.fetch))
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

// warmStore returns a Store holding a token, valid for two hours, for each of the keys.
func warmStore(b *testing.B, keys []string) tokenstore.Store {
	st := tokenstore.NewMemoryStore()
	exp := time.Now().Add(2 * time.Hour)
	ctx := context.Background()
	for _, k := range keys {
		if err := st.Set(ctx, k, tokenstore.Token{Value: "v-" + k, ExpiresAt: exp}); err != nil {
			b.Fatal(err)
		}
	}
	return st
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("wx0123456789abcdef:authorizer:wx%016x:access_token", i)
	}
	return keys
}

// BenchmarkWarmUp warms a Manager with N authorizers on a warm Store (one Manager.Token each), the
// start-up of a platform instance. ns/key is the time per authorizer, cpu-ns/key the CPU time the
// process spent per authorizer (GC included; the figure that holds on a shared machine); B/key is the heap the Manager
// holds per authorizer after GC (keys and token values excluded: the Store and the caller hold them
// too), the figure to set against silenceper/wechat's 294 B.
func BenchmarkWarmUp(b *testing.B) {
	for _, n := range []int{5_000, 10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			if n > 10_000 && testing.Short() {
				b.Skip("large sizes skipped in -short")
			}
			keys := benchKeys(n)
			st := warmStore(b, keys)
			ctx := context.Background()
			var perKeyNS, perKeyCPU, perKeyB float64
			for i := 0; i < b.N; i++ {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				start, cpu := time.Now(), cpuTime()
				m := mustManager(tokenstore.NewManager(st, nil))
				for _, k := range keys {
					if _, err := m.Token(ctx, k); err != nil {
						b.Fatal(err)
					}
				}
				perKeyNS += float64(time.Since(start).Nanoseconds()) / float64(n)
				perKeyCPU += float64((cpuTime() - cpu).Nanoseconds()) / float64(n)
				runtime.GC()
				runtime.ReadMemStats(&after)
				perKeyB += float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
				runtime.KeepAlive(m)
			}
			b.ReportMetric(perKeyNS/float64(b.N), "ns/key")
			b.ReportMetric(perKeyCPU/float64(b.N), "cpu-ns/key")
			b.ReportMetric(perKeyB/float64(b.N), "B/key")
		})
	}
}

// warmed caches warmKeys's Managers across the runs of -count.
var warmed sync.Map // n → *warmedManager

type warmedManager struct {
	m    *tokenstore.Manager
	keys []string
}

// warmKeys returns a Manager warmed with n keys on a warm store, and its keys.
func warmKeys(b *testing.B, n int) (*tokenstore.Manager, []string) {
	if w, ok := warmed.Load(n); ok {
		return w.(*warmedManager).m, w.(*warmedManager).keys
	}
	keys := benchKeys(n)
	m := mustManager(tokenstore.NewManager(warmStore(b, keys), nil))
	ctx := context.Background()
	for _, k := range keys {
		if _, err := m.Token(ctx, k); err != nil {
			b.Fatal(err)
		}
	}
	warmed.Store(n, &warmedManager{m, keys})
	return m, keys
}

// BenchmarkWarmPath is Manager.Token on a warm key of a Manager holding 1 or 1M keys: the same key
// every time (the lookup's cost, which must not grow with the map), and spread over every key (each
// call then misses the CPU caches: memory latency, not the lookup, dominates).
func BenchmarkWarmPath(b *testing.B) {
	for _, n := range []int{1, 1_000_000} {
		m, keys := warmKeys(b, n)
		ctx := context.Background()
		key := keys[n/2]
		b.Run(fmt.Sprintf("%d/same-key", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := m.Token(ctx, key); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%d/same-key-parallel", n), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := m.Token(ctx, key); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		b.Run(fmt.Sprintf("%d/held-source", n), func(b *testing.B) {
			s := m.Source(key)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := s.Token(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		if n > 1 {
			b.Run(fmt.Sprintf("%d/every-key", n), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, err := m.Token(ctx, keys[(i*7919)%n]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDueButValid is a token inside its refresh margin, still valid, while WeChat does not answer
// its refresh: every call is served at once with the valid token (the refresh runs, once, in the
// background). The old Manager made each such call wait for the refresh.
func BenchmarkDueButValid(b *testing.B) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	release := make(chan struct{})
	defer close(release)
	fetch := func(ctx context.Context, key string) (tokenstore.Token, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return tokenstore.Token{}, errors.New("no answer")
	}
	st := tokenstore.NewMemoryStore()
	ctx := context.Background()
	if err := st.Set(ctx, "k", tokenstore.Token{Value: "valid", ExpiresAt: clock().Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	m := mustManager(tokenstore.NewManager(st, fetch, tokenstore.WithClock(clock), tokenstore.WithFetchTimeout(time.Hour)))
	s := m.Source("k")
	if _, err := s.Token(ctx); err != nil {
		b.Fatal(err)
	}
	now.Add(int64(58 * time.Minute)) // due, two minutes left
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tok, err := s.Token(ctx)
		if err != nil || tok.Value != "valid" {
			b.Fatal(tok, err)
		}
	}
}
