package tokenstore

import (
	"context"
	"sync"
	"time"
)

// MemoryStore is a Store (and a Locker) held in this process's memory. It is the default for both kinds
// of state: good for tests and single-instance deployments, lost on restart. The zero value is ready.
type MemoryStore struct {
	now func() time.Time // nil: time.Now

	mu    sync.Mutex
	m     map[string]Token
	locks map[string]memLock
}

type memLock struct {
	owner *int // a unique pointer per acquisition
	until time.Time
}

// MemoryOption configures a MemoryStore.
type MemoryOption func(*MemoryStore)

// WithStoreClock makes the store judge expiry (of tokens and lock leases) by now instead of
// time.Now, for tests that run on another clock, such as the wxtest emulator's.
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
		delete(s.m, key)
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
	if s.m == nil {
		s.m = make(map[string]Token)
	}
	s.m[key] = tok
	return nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
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
		delete(s.m, key)
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
	cur, ok := s.m[key]
	if ok && cur.Expired(s.clock()) {
		delete(s.m, key)
		ok = false
	}
	if old == "" && ok || old != "" && (!ok || cur.Value != old) {
		return false, nil
	}
	if s.m == nil {
		s.m = make(map[string]Token)
	}
	s.m[key] = tok
	return true, nil
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
