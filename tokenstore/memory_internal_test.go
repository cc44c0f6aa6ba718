package tokenstore

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (s *MemoryStore) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// The push memory writes one key per push, with a TTL, and never reads it again. Expired keys must go
// by age, as later writes arrive, never by wiping live ones.
func TestMemoryStoreForgetsExpiredKeys(t *testing.T) {
	ctx := context.Background()
	clk := &testClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := NewMemoryStore(WithStoreClock(clk.Now))
	const n = 20000
	// A durable credential and a long-lived token live through everything below.
	if err := s.Set(ctx, "refresh", Token{Value: "rt"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "access", Token{Value: "at", ExpiresAt: clk.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	remember := func(round int) {
		for i := 0; i < n; i++ {
			ok, err := s.CompareAndSwap(ctx, fmt.Sprintf("push:%d:%d", round, i), "", Token{Value: "1", ExpiresAt: clk.Now().Add(time.Minute)})
			if err != nil || !ok {
				t.Fatalf("round %d push %d: %v, %v", round, i, ok, err)
			}
			if i%100 == 0 {
				clk.Advance(time.Second) // pushes arrive over time
			}
		}
	}
	for round := 0; round < 10; round++ {
		remember(round)
		// Everything of earlier rounds has expired (each round spans 200 s, the TTL is 60 s); what is
		// left is at most this round's keys and the two long-lived ones.
		if got, max := s.size(), n+2; got > max {
			t.Fatalf("after round %d the store holds %d keys, want at most %d: expired keys are kept", round, got, max)
		}
		// Live keys were never wiped: the last minute of pushes is remembered.
		for i := n - 1; i >= n-5000; i-- {
			if _, err := s.Get(ctx, fmt.Sprintf("push:%d:%d", round, i)); err != nil {
				t.Fatalf("round %d: a live key (push %d) was dropped: %v", round, i, err)
			}
		}
	}
	for _, k := range []string{"refresh", "access"} {
		if _, err := s.Get(ctx, k); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
}

// checkIndex verifies the expiry index: every expiring key is in the set of its second and nowhere
// else, every set member is such a key, and the heap holds each indexed second once.
func (s *MemoryStore) checkIndex(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, tok := range s.m {
		if tok.ExpiresAt.IsZero() {
			continue
		}
		if _, ok := s.bySecond[tok.ExpiresAt.Unix()][k]; !ok {
			t.Fatalf("key %q (expires %s) is not in its second's set", k, tok.ExpiresAt)
		}
	}
	for sec, set := range s.bySecond {
		for k := range set {
			tok, ok := s.m[k]
			if !ok || tok.ExpiresAt.IsZero() || tok.ExpiresAt.Unix() != sec {
				t.Fatalf("second %d holds key %q, which is %v (present %v)", sec, k, tok, ok)
			}
		}
	}
	seen := map[int64]bool{}
	for i, sec := range s.seconds {
		if seen[sec] {
			t.Fatalf("second %d is twice in the heap", sec)
		}
		seen[sec] = true
		if _, ok := s.bySecond[sec]; !ok {
			t.Fatalf("second %d is in the heap without a set", sec)
		}
		if i > 0 && s.seconds[(i-1)/2] > sec {
			t.Fatalf("heap order broken at %d", i)
		}
	}
	if len(seen) != len(s.bySecond) {
		t.Fatalf("%d seconds in the heap, %d sets", len(seen), len(s.bySecond))
	}
}

// Every operation keeps the index exact, whatever the mix of keys, expiries and clock moves.
func TestMemoryStoreIndexInvariant(t *testing.T) {
	ctx := context.Background()
	clk := &testClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := NewMemoryStore(WithStoreClock(clk.Now))
	rng := uint64(42)
	next := func(n int) int { // xorshift: deterministic, no import
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return int(rng % uint64(n))
	}
	tok := func() Token {
		switch next(4) {
		case 0:
			return Token{Value: strconv.Itoa(next(3))} // durable
		case 1:
			return Token{Value: strconv.Itoa(next(3)), ExpiresAt: clk.Now().Add(-time.Duration(next(3000)) * time.Millisecond)}
		default:
			return Token{Value: strconv.Itoa(next(3)), ExpiresAt: clk.Now().Add(time.Duration(next(5000)) * time.Millisecond)}
		}
	}
	for i := 0; i < 20000; i++ {
		k := "k" + strconv.Itoa(next(50))
		switch next(6) {
		case 0:
			_ = s.Set(ctx, k, tok())
		case 1:
			old := ""
			if next(2) == 0 {
				old = strconv.Itoa(next(3))
			}
			_, _ = s.CompareAndSwap(ctx, k, old, tok())
		case 2:
			_ = s.Delete(ctx, k)
		case 3:
			_, _ = s.CompareAndDelete(ctx, k, strconv.Itoa(next(3)))
		case 4:
			_, _ = s.Get(ctx, k)
		case 5:
			clk.Advance(time.Duration(next(700)) * time.Millisecond)
		}
		s.checkIndex(t)
	}
}

// A burst of keys that then expire gives back the map's memory: the map is rebuilt once it holds a
// quarter of its peak.
func TestMemoryStoreShrinksAfterBurst(t *testing.T) {
	ctx := context.Background()
	clk := &testClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := NewMemoryStore(WithStoreClock(clk.Now))
	for i := 0; i < 100000; i++ {
		_ = s.Set(ctx, "burst:"+strconv.Itoa(i), Token{Value: "1", ExpiresAt: clk.Now().Add(time.Minute)})
	}
	clk.Advance(2 * time.Minute)
	for i := 0; i < 100000/sweepBudget+10; i++ {
		_ = s.Set(ctx, "live:"+strconv.Itoa(i%100), Token{Value: "1", ExpiresAt: clk.Now().Add(time.Hour)})
	}
	if n := s.size(); n != 100 {
		t.Fatalf("store holds %d keys, want the 100 live ones", n)
	}
	s.mu.Lock()
	peak := s.peak
	s.mu.Unlock()
	if peak > 400 {
		t.Errorf("peak %d: the map was not rebuilt after the burst expired", peak)
	}
	s.checkIndex(t)
}
