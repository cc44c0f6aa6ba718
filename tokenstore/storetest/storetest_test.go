package storetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tokenstore.Store { return tokenstore.NewMemoryStore() })
}

// TestSharedMemoryStore runs the suite against one store shared by every subtest: the suite's keys
// must not collide.
func TestSharedMemoryStore(t *testing.T) {
	s := tokenstore.NewMemoryStore()
	storetest.Run(t, func(t *testing.T) tokenstore.Store { return s })
	storetest.Run(t, func(t *testing.T) tokenstore.Store { return s })
}

func TestRunFailure(t *testing.T) {
	storetest.RunFailure(t, failing{err: errors.New("connection refused")})
}

// The suite must fail on stores that break the contract. Each case reruns this test binary with
// TestBrokenStoreHelper selecting one broken store, and expects a failure in the named subtest.
func TestSuiteCatchesBrokenStores(t *testing.T) {
	if os.Getenv("STORETEST_BROKEN") != "" {
		t.Skip("inside a helper process")
	}
	cases := map[string]string{
		"miss-is-generic-error":   "--- FAIL: TestBrokenStoreHelper/GetMissing",
		"seconds-precision":       "--- FAIL: TestBrokenStoreHelper/RoundTrip",
		"durable-gets-expiry":     "--- FAIL: TestBrokenStoreHelper/DurableStaysZero",
		"returns-expired":         "--- FAIL: TestBrokenStoreHelper/Expired",
		"skips-expired-write":     "--- FAIL: TestBrokenStoreHelper/Expired",
		"cad-ignores-value":       "--- FAIL: TestBrokenStoreHelper/CompareAndDelete",
		"cad-not-atomic":          "--- FAIL: TestBrokenStoreHelper/ConcurrentCompareAndDelete",
		"case-insensitive-keys":   "--- FAIL: TestBrokenStoreHelper/Keys",
		"truncates-values":        "--- FAIL: TestBrokenStoreHelper/LongAndUnicodeValues",
		"ignores-cancel":          "--- FAIL: TestBrokenStoreHelper/CancelledContext",
		"torn-writes":             "--- FAIL: TestBrokenStoreHelper/ConcurrentWriters",
		"cas-ignores-old":         "--- FAIL: TestBrokenStoreHelper/CompareAndSwap",
		"cas-ignores-expiry":      "--- FAIL: TestBrokenStoreHelper/CompareAndSwapAbsent",
		"cas-drops-ttl":           "--- FAIL: TestBrokenStoreHelper/CompareAndSwapExpiry",
		"cas-not-atomic":          "--- FAIL: TestBrokenStoreHelper/ConcurrentCompareAndSwap",
		"cas-ignores-cancel":      "--- FAIL: TestBrokenStoreHelper/CancelledContext",
		"failure-looks-like-miss": "--- FAIL: TestBrokenStoreHelper",
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenStoreHelper$", "-test.v")
			cmd.Env = append(os.Environ(), "STORETEST_BROKEN="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store that breaks the contract (%s):\n%s", name, out)
			}
			if !strings.Contains(string(out), want) {
				t.Errorf("want %q in the output:\n%s", want, out)
			}
		})
	}
}

func TestBrokenStoreHelper(t *testing.T) {
	mode := os.Getenv("STORETEST_BROKEN")
	if mode == "" {
		t.Skip("run by TestSuiteCatchesBrokenStores")
	}
	if mode == "failure-looks-like-miss" {
		storetest.RunFailure(t, failing{err: tokenstore.ErrNotFound})
		return
	}
	storetest.Run(t, func(t *testing.T) tokenstore.Store {
		return &broken{mode: mode, m: map[string]tokenstore.Token{}}
	})
}

type failing struct{ err error }

func (f failing) Get(context.Context, string) (tokenstore.Token, error) {
	return tokenstore.Token{}, f.err
}
func (f failing) Set(context.Context, string, tokenstore.Token) error { return f.err }
func (f failing) Delete(context.Context, string) error                { return f.err }
func (f failing) CompareAndDelete(context.Context, string, string) (bool, error) {
	return false, f.err
}
func (f failing) CompareAndSwap(context.Context, string, string, tokenstore.Token) (bool, error) {
	return false, f.err
}

// broken is a map store with one deliberate contract violation, chosen by mode.
type broken struct {
	mode string
	mu   sync.Mutex
	m    map[string]tokenstore.Token
}

func (b *broken) key(k string) string {
	if b.mode == "case-insensitive-keys" {
		return strings.ToLower(k)
	}
	return k
}

func (b *broken) Get(ctx context.Context, key string) (tokenstore.Token, error) {
	if err := ctx.Err(); err != nil && b.mode != "ignores-cancel" {
		return tokenstore.Token{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.m[b.key(key)]
	if !ok {
		if b.mode == "miss-is-generic-error" {
			return tokenstore.Token{}, errors.New("no such key")
		}
		return tokenstore.Token{}, tokenstore.ErrNotFound
	}
	if t.Expired(time.Now()) && b.mode != "returns-expired" {
		return tokenstore.Token{}, tokenstore.ErrNotFound
	}
	if b.mode == "torn-writes" && strings.HasPrefix(t.Value, "g") {
		t.ExpiresAt = t.ExpiresAt.Add(time.Second)
	}
	return t, nil
}

func (b *broken) Set(ctx context.Context, key string, tok tokenstore.Token) error {
	if err := ctx.Err(); err != nil && b.mode != "ignores-cancel" {
		return err
	}
	switch b.mode {
	case "seconds-precision":
		tok.ExpiresAt = tok.ExpiresAt.Truncate(time.Second)
	case "durable-gets-expiry":
		if tok.ExpiresAt.IsZero() {
			tok.ExpiresAt = time.Now().Add(24 * time.Hour)
		}
	case "skips-expired-write":
		if tok.Expired(time.Now()) {
			return nil
		}
	case "truncates-values":
		if len(tok.Value) > 1024 {
			tok.Value = tok.Value[:1024]
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[b.key(key)] = tok
	return nil
}

func (b *broken) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil && b.mode != "ignores-cancel" {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, b.key(key))
	return nil
}

func (b *broken) CompareAndSwap(ctx context.Context, key, old string, tok tokenstore.Token) (bool, error) {
	if err := ctx.Err(); err != nil && b.mode != "ignores-cancel" && b.mode != "cas-ignores-cancel" {
		return false, err
	}
	if b.mode == "cas-drops-ttl" {
		tok.ExpiresAt = time.Time{}
	}
	match := func(cur tokenstore.Token, ok bool) bool {
		if ok && cur.Expired(time.Now()) && b.mode != "cas-ignores-expiry" {
			ok = false
		}
		switch {
		case old == "":
			return !ok
		case b.mode == "cas-ignores-old":
			return ok
		default:
			return ok && cur.Value == old
		}
	}
	if b.mode == "cas-not-atomic" {
		// Compare, then write under a separate lock: racing callers all see the old value.
		b.mu.Lock()
		cur, ok := b.m[key]
		b.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		if !match(cur, ok) {
			return false, nil
		}
		b.mu.Lock()
		b.m[key] = tok
		b.mu.Unlock()
		return true, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, ok := b.m[b.key(key)]
	if !match(cur, ok) {
		return false, nil
	}
	b.m[b.key(key)] = tok
	return true, nil
}

func (b *broken) CompareAndDelete(ctx context.Context, key, value string) (bool, error) {
	if err := ctx.Err(); err != nil && b.mode != "ignores-cancel" {
		return false, err
	}
	if b.mode == "cad-not-atomic" {
		// Read, then delete under a separate lock: racing callers all see the value.
		b.mu.Lock()
		t, ok := b.m[key]
		b.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		if !ok || t.Value != value {
			return false, nil
		}
		b.mu.Lock()
		delete(b.m, key)
		b.mu.Unlock()
		return true, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.m[b.key(key)]
	if ok && (t.Value == value || b.mode == "cad-ignores-value") {
		delete(b.m, b.key(key))
		return true, nil
	}
	return false, nil
}

// A correct store that answers slowly (a loaded CI machine under -race, a distant database) passes:
// the subtests that let tokens expire do not depend on a few calls fitting in a short lifetime.
func TestSlowStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) tokenstore.Store {
		return &slow{Store: tokenstore.NewMemoryStore(), delay: 160 * time.Millisecond}
	})
}

// slow is a Store whose calls on short-lived tokens (written to expire within a few seconds, and
// every later call on their keys) take delay before the store acts, as over a busy network. Other
// calls are not slowed, to keep the test short.
type slow struct {
	tokenstore.Store
	delay time.Duration
	short sync.Map // keys written with a short lifetime
}

func (s *slow) wait(key string, tok *tokenstore.Token) {
	if tok != nil && !tok.ExpiresAt.IsZero() && time.Until(tok.ExpiresAt) > 0 && time.Until(tok.ExpiresAt) < 5*time.Second {
		s.short.Store(key, true)
	}
	if _, ok := s.short.Load(key); ok {
		time.Sleep(s.delay)
	}
}

func (s *slow) Get(ctx context.Context, key string) (tokenstore.Token, error) {
	s.wait(key, nil)
	return s.Store.Get(ctx, key)
}

func (s *slow) Set(ctx context.Context, key string, tok tokenstore.Token) error {
	s.wait(key, &tok)
	return s.Store.Set(ctx, key, tok)
}

func (s *slow) CompareAndSwap(ctx context.Context, key, old string, tok tokenstore.Token) (bool, error) {
	s.wait(key, &tok)
	return s.Store.CompareAndSwap(ctx, key, old, tok)
}
