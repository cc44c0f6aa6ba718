package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/tokenstore"
)

// runCompareAndSwap is the CompareAndSwap part of the contract.
func runCompareAndSwap(t *testing.T, h func(t *testing.T) (tokenstore.Store, func(string) string)) {
	t.Run("CompareAndSwap", func(t *testing.T) {
		s, key := h(t)
		// A refresh-token rotation: RT1 → RT2 succeeds once; a stale writer still holding RT1 is refused.
		mustSet(t, s, key("rt"), tokenstore.Token{Value: "RT1"})
		if ok := mustCAS(t, s, key("rt"), "RT1", tokenstore.Token{Value: "RT2"}); !ok {
			t.Fatal("CompareAndSwap(RT1 → RT2) over RT1 = false, want true")
		}
		if got := mustGet(t, s, key("rt")); got.Value != "RT2" || !got.ExpiresAt.IsZero() {
			t.Fatalf("after the swap Get = %q (expiry %s), want %q, durable", got.Value, got.ExpiresAt, "RT2")
		}
		if ok := mustCAS(t, s, key("rt"), "RT1", tokenstore.Token{Value: "RT-stale"}); ok {
			t.Error("CompareAndSwap(RT1 → …) over RT2 = true: a stale writer overwrote the live value")
		}
		for _, near := range []string{"RT", "RT2 ", "rt2", "RT22", ""} {
			if ok := mustCAS(t, s, key("rt"), near, tokenstore.Token{Value: "RT-near"}); ok {
				t.Errorf("CompareAndSwap(old %q) over %q = true", near, "RT2")
			}
		}
		if got := mustGet(t, s, key("rt")); got.Value != "RT2" {
			t.Fatalf("refused swaps changed the store: Get = %q, want %q", got.Value, "RT2")
		}
		// From a durable value to an expiring one and back.
		exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		if ok := mustCAS(t, s, key("rt"), "RT2", tokenstore.Token{Value: "RT3", ExpiresAt: exp}); !ok {
			t.Fatal("CompareAndSwap(RT2 → RT3) = false, want true")
		}
		if got := mustGet(t, s, key("rt")); got.Value != "RT3" || !got.ExpiresAt.Equal(exp) {
			t.Errorf("after the swap Get = %q, expiry %s; want %q, %s", got.Value, got.ExpiresAt, "RT3", exp)
		}
		// A swap to what is already stored is a swap (true), however soon it follows the last write.
		for i := 0; i < 3; i++ {
			if ok := mustCAS(t, s, key("rt"), "RT3", tokenstore.Token{Value: "RT3", ExpiresAt: exp}); !ok {
				t.Fatalf("CompareAndSwap(RT3 → RT3, same expiry) #%d = false, want true", i+1)
			}
		}
		// A non-empty old on a key that holds nothing: refused, and the key stays empty.
		if ok := mustCAS(t, s, key("missing"), "RT1", tokenstore.Token{Value: "x"}); ok {
			t.Error("CompareAndSwap(old RT1) on a missing key = true, want false")
		}
		mustMiss(t, s, key("missing"))
		// Values of every shape compare exactly.
		long := strings.Repeat("0123456789abcdef", 256) + "令"
		mustSet(t, s, key("long"), tokenstore.Token{Value: long})
		if ok := mustCAS(t, s, key("long"), long[:len(long)-1], tokenstore.Token{Value: "x"}); ok {
			t.Error("CompareAndSwap with a truncated long value = true")
		}
		if ok := mustCAS(t, s, key("long"), long, tokenstore.Token{Value: "刷新令牌-🔑"}); !ok {
			t.Error("CompareAndSwap with the stored long value = false")
		}
		if got := mustGet(t, s, key("long")); got.Value != "刷新令牌-🔑" {
			t.Errorf("Get after swapping a long value = %.40q, want %q", got.Value, "刷新令牌-🔑")
		}
		// Keys compare exactly: a swap on "k" leaves "K" alone.
		mustSet(t, s, key("K"), tokenstore.Token{Value: "same"})
		if ok := mustCAS(t, s, key("k"), "same", tokenstore.Token{Value: "x"}); ok {
			t.Error(`CompareAndSwap on "k" matched the value stored under "K"`)
		}
		mustMiss(t, s, key("k"))
	})

	t.Run("CompareAndSwapAbsent", func(t *testing.T) {
		s, key := h(t)
		// Nothing stored: an empty old writes.
		exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		if ok := mustCAS(t, s, key("a"), "", tokenstore.Token{Value: "first", ExpiresAt: exp}); !ok {
			t.Fatal(`CompareAndSwap(old "") on a missing key = false, want true`)
		}
		if got := mustGet(t, s, key("a")); got.Value != "first" || !got.ExpiresAt.Equal(exp) {
			t.Errorf("Get = %q, expiry %s; want %q, %s", got.Value, got.ExpiresAt, "first", exp)
		}
		// Something live stored: refused, store unchanged.
		if ok := mustCAS(t, s, key("a"), "", tokenstore.Token{Value: "second"}); ok {
			t.Error(`CompareAndSwap(old "") over a live value = true, want false`)
		}
		if got := mustGet(t, s, key("a")); got.Value != "first" || !got.ExpiresAt.Equal(exp) {
			t.Errorf("a refused swap changed the store: Get = %q, expiry %s", got.Value, got.ExpiresAt)
		}
		mustSet(t, s, key("durable"), tokenstore.Token{Value: "forever"})
		if ok := mustCAS(t, s, key("durable"), "", tokenstore.Token{Value: "second"}); ok {
			t.Error(`CompareAndSwap(old "") over a durable value = true, want false`)
		}
		// Expired (written already expired): absent for an empty old, matching nothing otherwise.
		mustSet(t, s, key("past"), tokenstore.Token{Value: "old", ExpiresAt: time.Now().Add(-time.Hour)})
		if ok := mustCAS(t, s, key("past"), "old", tokenstore.Token{Value: "revived"}); ok {
			t.Error("CompareAndSwap over the value of an expired token = true: an expired token counts as absent")
		}
		mustMiss(t, s, key("past"))
		if ok := mustCAS(t, s, key("past"), "", tokenstore.Token{Value: "taken"}); !ok {
			t.Error(`CompareAndSwap(old "") over an expired token = false: an expired token counts as absent`)
		}
		if got := mustGet(t, s, key("past")); got.Value != "taken" || !got.ExpiresAt.IsZero() {
			t.Errorf("Get = %q, expiry %s; want %q, durable", got.Value, got.ExpiresAt, "taken")
		}
		// Expired while stored.
		shortLived(t, func(life time.Duration, attempt int) bool {
			k := key(fmt.Sprintf("soon%d", attempt))
			soon := time.Now().Add(life)
			mustSet(t, s, k, tokenstore.Token{Value: "v", ExpiresAt: soon})
			ok := mustCAS(t, s, k, "", tokenstore.Token{Value: "w"})
			if !time.Now().Before(soon) {
				return false // the swap may have run after the expiry, where it is right to write
			}
			if ok {
				t.Fatal(`CompareAndSwap(old "") before the stored token expired = true, want false`)
			}
			time.Sleep(time.Until(soon) + 50*time.Millisecond)
			if ok := mustCAS(t, s, k, "v", tokenstore.Token{Value: "w"}); ok {
				t.Error("CompareAndSwap over the value of a token that expired while stored = true, want false")
			}
			if ok := mustCAS(t, s, k, "", tokenstore.Token{Value: "w"}); !ok {
				t.Error(`CompareAndSwap(old "") over a token that expired while stored = false, want true`)
			}
			if got := mustGet(t, s, k); got.Value != "w" {
				t.Errorf("Get = %q, want %q", got.Value, "w")
			}
			return true
		})
	})

	t.Run("CompareAndSwapExpiry", func(t *testing.T) {
		s, key := h(t)
		// The push memory: remember a key for a while unless it is remembered; once it has expired
		// it can be remembered again.
		shortLived(t, func(life time.Duration, attempt int) bool {
			k := key(fmt.Sprintf("push%d", attempt))
			exp := time.Now().Add(life)
			if ok := mustCAS(t, s, k, "", tokenstore.Token{Value: "1", ExpiresAt: exp}); !ok {
				t.Fatal(`CompareAndSwap(old "") with a TTL on a missing key = false`)
			}
			ok := mustCAS(t, s, k, "", tokenstore.Token{Value: "1", ExpiresAt: exp})
			if !time.Now().Before(exp) {
				return false // the second swap may have run after the TTL
			}
			if ok {
				t.Fatal(`a second CompareAndSwap(old "") within the TTL = true: the key was not remembered`)
			}
			time.Sleep(time.Until(exp) + 50*time.Millisecond)
			mustMiss(t, s, k)
			if ok := mustCAS(t, s, k, "", tokenstore.Token{Value: "1", ExpiresAt: time.Now().Add(time.Hour)}); !ok {
				t.Error(`CompareAndSwap(old "") after the TTL = false: the key did not expire`)
			}
			return true
		})

		// ExpiresAt comes back like Set's: a whole millisecond exactly (in any zone), any other
		// within one millisecond.
		whole := time.Now().Add(2 * time.Hour).Truncate(time.Millisecond).In(time.FixedZone("CST", 8*3600))
		if ok := mustCAS(t, s, key("rt"), "", tokenstore.Token{Value: "a", ExpiresAt: whole}); !ok {
			t.Fatal("CompareAndSwap on a missing key = false")
		}
		if got := mustGet(t, s, key("rt")); !got.ExpiresAt.Equal(whole) {
			t.Errorf("ExpiresAt = %s, want %s (a whole millisecond must round-trip exactly)",
				got.ExpiresAt.Format(time.RFC3339Nano), whole.Format(time.RFC3339Nano))
		}
		sub := time.Now().Add(time.Hour).Truncate(time.Millisecond).Add(987654 * time.Nanosecond)
		if ok := mustCAS(t, s, key("rt"), "a", tokenstore.Token{Value: "b", ExpiresAt: sub}); !ok {
			t.Fatal("CompareAndSwap(a → b) = false")
		}
		if got := mustGet(t, s, key("rt")); got.Value != "b" || got.ExpiresAt.Sub(sub) <= -time.Millisecond || got.ExpiresAt.Sub(sub) >= time.Millisecond {
			t.Errorf("Get = %q, expiry %s; want %q, %s within 1ms", got.Value,
				got.ExpiresAt.Format(time.RFC3339Nano), "b", sub.Format(time.RFC3339Nano))
		}

		// A swap to an expiring token expires like a Set; a swap to a durable token drops the
		// expiry the key had.
		shortLived(t, func(life time.Duration, attempt int) bool {
			dur, exp := key(fmt.Sprintf("dur%d", attempt)), key(fmt.Sprintf("exp%d", attempt))
			mustSet(t, s, dur, tokenstore.Token{Value: "v"})
			short := time.Now().Add(life)
			okDur := mustCAS(t, s, dur, "v", tokenstore.Token{Value: "w", ExpiresAt: short})
			mustSet(t, s, exp, tokenstore.Token{Value: "v", ExpiresAt: short})
			okExp := mustCAS(t, s, exp, "v", tokenstore.Token{Value: "forever"})
			if !time.Now().Before(short) {
				return false // the swaps may have run after the expiry, where they are right to fail
			}
			if !okDur {
				t.Fatal("CompareAndSwap(v → w) = false")
			}
			if !okExp {
				t.Fatal("CompareAndSwap(v → forever) = false")
			}
			time.Sleep(time.Until(short) + 50*time.Millisecond)
			mustMiss(t, s, dur)
			if got := mustGet(t, s, exp); got.Value != "forever" || !got.ExpiresAt.IsZero() {
				t.Errorf("a durable token swapped over an expiring one: Get = %q, expiry %s; want it durable", got.Value, got.ExpiresAt)
			}
			return true
		})

		// A swap to a token that has already expired succeeds and leaves nothing readable.
		mustSet(t, s, key("gone"), tokenstore.Token{Value: "v"})
		if ok := mustCAS(t, s, key("gone"), "v", tokenstore.Token{Value: "w", ExpiresAt: time.Now().Add(-time.Second)}); !ok {
			t.Fatal("CompareAndSwap(v → expired) = false")
		}
		mustMiss(t, s, key("gone"))
	})

	t.Run("ConcurrentCompareAndSwap", func(t *testing.T) {
		s, key := h(t)
		race := func(round int, old string, exp time.Time) {
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				winner = -1
				wins   int
				errs   []error
			)
			start := make(chan struct{})
			for i := 0; i < Concurrency; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					tok := tokenstore.Token{Value: fmt.Sprintf("r%d-w%02d", round, i), ExpiresAt: exp}
					ok, err := s.CompareAndSwap(context.Background(), key("cas"), old, tok)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, err)
					} else if ok {
						wins++
						winner = i
					}
				}()
			}
			close(start)
			wg.Wait()
			for _, err := range errs {
				t.Errorf("round %d: CompareAndSwap: %v", round, err)
			}
			if wins != 1 {
				t.Fatalf("round %d: %d of %d racing CompareAndSwap calls from %q won, want exactly 1", round, wins, Concurrency, old)
			}
			if got, want := mustGet(t, s, key("cas")).Value, fmt.Sprintf("r%d-w%02d", round, winner); got != want {
				t.Errorf("round %d: Get = %q, want the winner's %q", round, got, want)
			}
		}
		// From nothing (the push memory), then from one value to the next three times (rotations).
		race(0, "", time.Now().Add(time.Hour))
		for round := 1; round <= 3; round++ {
			race(round, mustGet(t, s, key("cas")).Value, time.Time{})
		}
	})
}
