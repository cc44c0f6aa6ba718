package tokenstore_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/tokenstore"
)

// pushKey is a key shaped like the push memory's: a prefix and a message id.
func pushKey(buf []byte, i int) string {
	return string(strconv.AppendInt(append(buf[:0], "wx0123456789abcdef:push:"...), int64(i), 10))
}

// claimValue is shaped like the receiver's claim of a push: a prefix and 24 hex digits.
const claimValue = "pending:0123456789abcdef01234567"

// handlePush writes the push memory of key as the receiver does: the claim, then the handled mark
// over it. ok is false when either write found something else in place.
func handlePush(ctx context.Context, s *tokenstore.MemoryStore, key string, now time.Time, ttl time.Duration) (bool, error) {
	ok, err := s.CompareAndSwap(ctx, key, "", tokenstore.Token{Value: claimValue, ExpiresAt: now.Add(5 * time.Second)})
	if err != nil || !ok {
		return ok, err
	}
	return s.CompareAndSwap(ctx, key, claimValue, tokenstore.Token{Value: "1", ExpiresAt: now.Add(ttl)})
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkMemoryStoreRemember is the push memory at a steady state of size keys: every operation
// handles a new push as component's receiver does, a claim (CompareAndSwap over nothing, a 5-second
// lease) then the handled mark over the claim (with the memory's TTL), while the clock moves so that
// the oldest key expires; the store removes expired keys as it goes. It reports the time per write and
// the heap per resident key (B/key, measured after filling, the key strings included).
func BenchmarkMemoryStoreRemember(b *testing.B) {
	for _, size := range []int{10_000, 1_000_000} {
		b.Run("keys="+strconv.Itoa(size), func(b *testing.B) {
			ctx := context.Background()
			clk := newStoreClock()
			const ttl = 5 * time.Minute
			step := ttl / time.Duration(size) // one key expires per write
			before := heapInUse()
			s := tokenstore.NewMemoryStore(tokenstore.WithStoreClock(clk.Now))
			var buf []byte
			for i := 0; i < size; i++ {
				if ok, err := handlePush(ctx, s, pushKey(buf, i), clk.Now(), ttl); err != nil || !ok {
					b.Fatal(ok, err)
				}
				clk.Advance(step)
			}
			perKey := float64(heapInUse()-before) / float64(size)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ok, err := handlePush(ctx, s, pushKey(buf, size+i), clk.Now(), ttl)
				if err != nil || !ok {
					b.Fatal(ok, err)
				}
				clk.Advance(step)
			}
			b.StopTimer()
			b.ReportMetric(perKey, "B/key")
			runtime.KeepAlive(s)
		})
	}
}

// BenchmarkMemoryStoreCAS is a refresh-token rotation on a store of size durable keys: one swap over
// the current value.
func BenchmarkMemoryStoreCAS(b *testing.B) {
	for _, size := range []int{1, 1_000_000} {
		b.Run("keys="+strconv.Itoa(size), func(b *testing.B) {
			ctx := context.Background()
			s := tokenstore.NewMemoryStore()
			var buf []byte
			for i := 0; i < size; i++ {
				if err := s.Set(ctx, pushKey(buf, i), tokenstore.Token{Value: "rt"}); err != nil {
					b.Fatal(err)
				}
			}
			key := pushKey(buf, size/2)
			vals := [2]string{"rt", "rt2"}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ok, err := s.CompareAndSwap(ctx, key, vals[i%2], tokenstore.Token{Value: vals[(i+1)%2]})
				if err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
