package tokenstore

import (
	"context"
	"sync"
	"time"
)

// MemoryStore is a Store (and a Locker) held in this process's memory. It is the default for both kinds
// of state: good for tests and single-instance deployments, lost on restart. The zero value is ready.
//
// Expired tokens go by age, without a goroutine: besides being dropped when read, every write removes
// a few tokens whose expiry has passed (at most sweepBudget), oldest first, so that keys written with
// a TTL and never read again (one per handled push) do not pile up. A live token is never removed.
// Each write costs O(1) amortised whatever the store's size.
type MemoryStore struct {
	now func() time.Time // nil: time.Now

	mu    sync.Mutex
	m     map[string]Token
	peak  int // len(m) at its largest since m was made; see shrink
	locks map[string]memLock

	// The expiry index: every key of m whose token expires is in exactly one of these sets, the one
	// of the second its ExpiresAt falls in (Unix seconds, floored), and seconds is a min-heap of the
	// seconds that have a set. Once a second has passed, every key in its set has expired.
	bySecond map[int64]map[string]struct{}
	seconds  []int64
}

// sweepBudget is how many expired keys a write removes at most. More than one, so that the backlog
// left by a burst of writes drains while later writes arrive.
const sweepBudget = 16

type memLock struct {
	owner *int // a unique pointer per acquisition
	until time.Time
}

// MemoryOption configures a MemoryStore. Unlike the Manager's options it returns no error: no value
// of a MemoryOption is invalid, so NewMemoryStore cannot fail.
type MemoryOption func(*MemoryStore)

// WithStoreClock makes the store judge expiry (of tokens and lock leases) by now instead of
// time.Now, for tests that run on another clock, such as the wxtest emulator's. A nil now means
// time.Now.
func WithStoreClock(now func() time.Time) MemoryOption {
	return func(s *MemoryStore) { s.now = now }
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(opts ...MemoryOption) *MemoryStore {
	s := &MemoryStore{}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	return s
}

func (s *MemoryStore) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// Get implements Store. Expired tokens are reported as ErrNotFound.
func (s *MemoryStore) Get(ctx context.Context, key string) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[key]
	if !ok {
		return Token{}, ErrNotFound
	}
	if t.Expired(s.clock()) {
		s.remove(key, t)
		return Token{}, ErrNotFound
	}
	return t, nil
}

// Set implements Store.
func (s *MemoryStore) Set(ctx context.Context, key string, tok Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, had := s.m[key]
	s.put(key, tok, cur, had)
	s.sweep(s.clock())
	return nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.m[key]; ok {
		s.remove(key, t)
	}
	return nil
}

// CompareAndDelete implements Store.
func (s *MemoryStore) CompareAndDelete(ctx context.Context, key, value string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.m[key]; ok && t.Value == value {
		s.remove(key, t)
		return true, nil
	}
	return false, nil
}

// CompareAndSwap implements Store.
func (s *MemoryStore) CompareAndSwap(ctx context.Context, key, old string, tok Token) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	defer s.sweep(now)
	cur, ok := s.m[key]
	if ok && cur.Expired(now) {
		s.remove(key, cur)
		ok = false
	}
	if old == "" && ok || old != "" && (!ok || cur.Value != old) {
		return false, nil
	}
	s.put(key, tok, cur, ok)
	return true, nil
}

// put stores tok under key, which holds cur if had, and keeps the expiry index in step. s.mu is held.
func (s *MemoryStore) put(key string, tok Token, cur Token, had bool) {
	if s.m == nil {
		s.m = make(map[string]Token)
	}
	if had && !cur.ExpiresAt.IsZero() {
		if !tok.ExpiresAt.IsZero() && cur.ExpiresAt.Unix() == tok.ExpiresAt.Unix() {
			s.m[key] = tok // same second: the index already has it
			return
		}
		s.unindex(key, cur.ExpiresAt)
	}
	s.m[key] = tok
	if len(s.m) > s.peak {
		s.peak = len(s.m)
	}
	if !tok.ExpiresAt.IsZero() {
		sec := tok.ExpiresAt.Unix()
		set, ok := s.bySecond[sec]
		if !ok {
			if s.bySecond == nil {
				s.bySecond = make(map[int64]map[string]struct{})
			}
			set = make(map[string]struct{})
			s.bySecond[sec] = set
			heapPush(&s.seconds, sec)
		}
		set[key] = struct{}{}
	}
}

// remove deletes key, which holds cur, and its index entry. s.mu is held.
func (s *MemoryStore) remove(key string, cur Token) {
	if !cur.ExpiresAt.IsZero() {
		s.unindex(key, cur.ExpiresAt)
	}
	delete(s.m, key)
	s.shrink()
}

// unindex takes key out of the set of exp's second. An emptied set stays (with its place in the
// heap) until its second has passed, so that a second is never in the heap twice.
func (s *MemoryStore) unindex(key string, exp time.Time) {
	delete(s.bySecond[exp.Unix()], key)
}

// sweep removes up to sweepBudget keys whose second has passed at now, oldest second first, and
// forgets the seconds it empties. s.mu is held.
func (s *MemoryStore) sweep(now time.Time) {
	budget := sweepBudget
	nowSec := now.Unix() // a second sec has passed when nowSec >= sec+1
	for len(s.seconds) > 0 && s.seconds[0] < nowSec {
		sec := s.seconds[0]
		set := s.bySecond[sec]
		for key := range set {
			if budget == 0 {
				s.shrink()
				return
			}
			budget--
			delete(set, key)
			delete(s.m, key) // it expired before now: sec+1 <= now
		}
		delete(s.bySecond, sec)
		heapPop(&s.seconds)
	}
	s.shrink()
}

// shrink rebuilds m once it holds a quarter of its peak: a Go map keeps the memory of its largest
// size, and a burst of pushes would otherwise hold it for good. The copy is paid for by the deletions
// since the peak, so it is O(1) amortised per write. s.mu is held.
func (s *MemoryStore) shrink() {
	if s.peak < 1024 || len(s.m) > s.peak/4 {
		return
	}
	m := make(map[string]Token, len(s.m))
	for k, v := range s.m {
		m[k] = v
	}
	s.m, s.peak = m, len(m)
}

// heapPush and heapPop keep h a min-heap of seconds (container/heap without its interface calls).
func heapPush(h *[]int64, v int64) {
	*h = append(*h, v)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if a[p] <= a[i] {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func heapPop(h *[]int64) {
	a := *h
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	for i := 0; ; {
		l, small := 2*i+1, i
		if l < n && a[l] < a[small] {
			small = l
		}
		if r := l + 1; r < n && a[r] < a[small] {
			small = r
		}
		if small == i {
			break
		}
		a[i], a[small] = a[small], a[i]
		i = small
	}
	*h = a
}

// TryLock implements Locker within this process (a lease that lapses, like Redis's).
func (s *MemoryStore) TryLock(ctx context.Context, key string, lease time.Duration) (func(context.Context) error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	if l, ok := s.locks[key]; ok && now.Before(l.until) {
		return nil, ErrLocked
	}
	if s.locks == nil {
		s.locks = make(map[string]memLock)
	}
	owner := new(int)
	s.locks[key] = memLock{owner: owner, until: now.Add(lease)}
	return func(context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if l, ok := s.locks[key]; ok && l.owner == owner {
			delete(s.locks, key)
		}
		return nil
	}, nil
}

var (
	_ Store  = (*MemoryStore)(nil)
	_ Locker = (*MemoryStore)(nil)
)
