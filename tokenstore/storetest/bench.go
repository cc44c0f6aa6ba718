package storetest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/tokenstore"
)

// BenchCompareAndSwap measures s's CompareAndSwap in the three uses the credential core makes of it,
// as sub-benchmarks: "swap", a refresh-token rotation (a swap over the current value); "refused", a
// stale writer's swap; "remember", the push memory (an empty old with a TTL on a new key). It writes
// the keys "rt" and "push:…" of s; ctx is passed to every call (give it a tokenstore.WithReason to
// measure an audited store as it runs).
func BenchCompareAndSwap(ctx context.Context, b *testing.B, s tokenstore.Store) {
	vals := [2]string{"REFRESH_TOKEN_0123456789abcdef-a", "REFRESH_TOKEN_0123456789abcdef-b"}
	if err := s.Set(ctx, "rt", tokenstore.Token{Value: vals[0]}); err != nil {
		b.Fatal(err)
	}
	cur := 0 // the index of the stored value, across the benchmark's runs
	b.Run("swap", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			ok, err := s.CompareAndSwap(ctx, "rt", vals[cur], tokenstore.Token{Value: vals[1-cur]})
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
			cur = 1 - cur
		}
	})
	b.Run("refused", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if ok, err := s.CompareAndSwap(ctx, "rt", "stale", tokenstore.Token{Value: "x"}); err != nil || ok {
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
			ok, err := s.CompareAndSwap(ctx, prefix+strconv.Itoa(i), "", tokenstore.Token{Value: "1", ExpiresAt: exp})
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}
