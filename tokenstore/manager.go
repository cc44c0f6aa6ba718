package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Fetcher obtains a new token for key from WeChat. Manager calls it at most once at a time per key in
// this process (and, with a Locker, across processes). The context it receives is not cancelled when
// the caller that triggered the fetch gives up, but has its own timeout (see WithFetchTimeout).
type Fetcher func(ctx context.Context, key string) (Token, error)

// Manager hands out expiring tokens by key. The warm path (a cached token that is not due for refresh)
// touches neither the Store nor the clock and does not allocate. A token is refreshed ahead of its
// expiry, by a margin minus a random jitter, through singleflight so that one fetch serves every
// concurrent caller; with a Locker one process fetches while the others wait for the Store.
//
// A Manager keeps, per key, an in-process copy of the token and a runtime timer that marks it due at
// its refresh time; no goroutine runs in the background.
type Manager struct {
	store     Store
	fetch     Fetcher
	locker    Locker
	lockerSet bool

	margin       time.Duration
	jitter       time.Duration
	fetchTimeout time.Duration
	lockLease    time.Duration
	lockWait     time.Duration
	retryDelay   time.Duration
	now          func() time.Time // nil: time.Now, with timers marking refresh times

	sf      singleflight.Group
	mu      sync.Mutex                         // serialises writers of entries
	entries atomic.Pointer[map[string]*Source] // copy-on-write: readers never lock
}

// Option configures a Manager.
type Option func(*Manager)

// WithMargin sets how long before expiry a token is refreshed (default 5 minutes). For tokens whose
// lifetime is short, at most half the lifetime is used.
func WithMargin(d time.Duration) Option { return func(m *Manager) { m.margin = d } }

// WithJitter sets the largest random amount by which a refresh is brought forward beyond the margin
// (default 1 minute), so that instances started together do not refresh together.
func WithJitter(d time.Duration) Option { return func(m *Manager) { m.jitter = d } }

// WithFetchTimeout bounds one fetch, which runs detached from the caller's cancellation (default 20s).
func WithFetchTimeout(d time.Duration) Option { return func(m *Manager) { m.fetchTimeout = d } }

// WithLocker makes the Manager take l's lock around each fetch. By default a Store that implements
// Locker is used as one; WithLocker(nil) turns that off.
func WithLocker(l Locker) Option { return func(m *Manager) { m.locker = l; m.lockerSet = true } }

// WithLockLease sets how long a distributed lock is held at most (default: the fetch timeout plus 5s).
// A holder that dies is taken over when its lease ends.
func WithLockLease(d time.Duration) Option { return func(m *Manager) { m.lockLease = d } }

// WithLockWait bounds how long a process waits for another's refresh before giving up (default: the
// lock lease plus 5s, so that a dead holder's lease can run out and be taken over).
func WithLockWait(d time.Duration) Option { return func(m *Manager) { m.lockWait = d } }

// WithClock sets the clock, for tests. With a clock the warm path reads it on every call instead of
// relying on timers.
func WithClock(now func() time.Time) Option { return func(m *Manager) { m.now = now } }

// NewManager returns a Manager over store that obtains tokens with fetch. A nil fetch makes a
// read-through Manager that serves only what the Store holds.
func NewManager(store Store, fetch Fetcher, opts ...Option) *Manager {
	m := &Manager{
		store:        store,
		fetch:        fetch,
		margin:       5 * time.Minute,
		jitter:       time.Minute,
		fetchTimeout: 20 * time.Second,
		retryDelay:   5 * time.Second,
	}
	for _, o := range opts {
		o(m)
	}
	if !m.lockerSet {
		m.locker, _ = store.(Locker)
	}
	if m.lockLease <= 0 {
		m.lockLease = m.fetchTimeout + 5*time.Second
	}
	if m.lockWait <= 0 {
		m.lockWait = m.lockLease + 5*time.Second
	}
	empty := map[string]*Source{}
	m.entries.Store(&empty)
	return m
}

// Store returns the Store the Manager reads and writes.
func (m *Manager) Store() Store { return m.store }

func (m *Manager) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

// Source returns the handle for key. Holding a Source saves the key lookup of Manager.Token on every
// call; Sources are cheap, shared and safe for concurrent use.
func (m *Manager) Source(key string) *Source {
	if s, ok := (*m.entries.Load())[key]; ok {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.entries.Load()
	if s, ok := old[key]; ok {
		return s
	}
	s := &Source{m: m, key: key}
	next := make(map[string]*Source, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[key] = s
	m.entries.Store(&next)
	return s
}

// Token returns a valid token for key, refreshing it if it is missing or due.
func (m *Manager) Token(ctx context.Context, key string) (Token, error) {
	return m.Source(key).Token(ctx)
}

// Invalidate drops the token for key if it is still stale, the value WeChat just refused, both from
// the in-process copy and (compare-and-delete) from the Store. A newer token is left alone.
func (m *Manager) Invalidate(ctx context.Context, key, stale string) error {
	return m.Source(key).Invalidate(ctx, stale)
}

// Set stores tok for key, in the Store first and then in the in-process copy, for tokens obtained
// outside the Fetcher (api_query_auth returns an authorizer's first access token).
func (m *Manager) Set(ctx context.Context, key string, tok Token) error {
	return m.Source(key).Set(ctx, tok)
}

// ErrDeleted is returned to callers whose refresh was overtaken by Delete of the same key: the token
// it fetched is neither stored nor handed out.
var ErrDeleted = errors.New("tokenstore: key deleted during refresh")

// Delete drops key from the Store and the in-process copy (an authorizer that revoked its consent). A
// refresh of key already under way does not bring the token back: it ends with ErrDeleted.
func (m *Manager) Delete(ctx context.Context, key string) error {
	s := m.Source(key)
	s.mu.Lock()
	s.gen.Add(1)
	s.install(nil)
	s.mu.Unlock()
	return m.store.Delete(ctx, key)
}

// Source hands out the token of one key of a Manager.
type Source struct {
	m   *Manager
	key string
	cur atomic.Pointer[cached]

	// gen counts Deletes; a refresh installs or stores its token only if no Delete came in between.
	// mu orders a refresh's install against Delete.
	gen atomic.Uint64
	mu  sync.Mutex
}

type cached struct {
	tok       Token
	refreshAt time.Time // zero: never
	due       atomic.Bool
	timer     *time.Timer
}

// Key returns the key the Source serves.
func (s *Source) Key() string { return s.key }

// Token returns a valid token, refreshing it if it is missing or due. A caller whose ctx ends stops
// waiting at once; the shared refresh goes on for the others.
func (s *Source) Token(ctx context.Context) (Token, error) {
	if c := s.cur.Load(); c != nil && !c.due.Load() {
		if s.m.now == nil || c.refreshAt.IsZero() || s.m.now().Before(c.refreshAt) {
			return c.tok, nil
		}
	}
	return s.slow(ctx)
}

// Invalidate is Manager.Invalidate for this key.
func (s *Source) Invalidate(ctx context.Context, stale string) error {
	if c := s.cur.Load(); c != nil && c.tok.Value == stale {
		if s.cur.CompareAndSwap(c, nil) && c.timer != nil {
			c.timer.Stop()
		}
	}
	if _, err := s.m.store.CompareAndDelete(ctx, s.key, stale); err != nil {
		return fmt.Errorf("tokenstore: invalidate %s: %w", s.key, err)
	}
	return nil
}

// Set is Manager.Set for this key.
func (s *Source) Set(ctx context.Context, tok Token) error {
	if err := s.m.store.Set(ctx, s.key, tok); err != nil {
		return fmt.Errorf("tokenstore: store %s: %w", s.key, err)
	}
	s.install(s.newCached(tok, s.m.clock()))
	return nil
}

func (s *Source) slow(ctx context.Context) (Token, error) {
	ch := s.m.sf.DoChan(s.key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.m.fetchTimeout)
		defer cancel()
		return s.refresh(fctx)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Token{}, r.Err
		}
		return r.Val.(Token), nil
	case <-ctx.Done():
		return Token{}, ctx.Err()
	}
}

// fresh reports whether tok, read from the Store, can be served without a refresh at now: it is valid
// for longer than the margin. (Its lifetime is unknown here, so the margin is not shortened.)
func (s *Source) fresh(tok Token, now time.Time) bool {
	if tok.IsZero() || tok.Expired(now) {
		return false
	}
	return tok.ExpiresAt.IsZero() || now.Before(tok.ExpiresAt.Add(-s.m.margin))
}

func (s *Source) refresh(ctx context.Context) (Token, error) {
	gen := s.gen.Load()
	now := s.m.clock()
	old := s.cur.Load()
	if old != nil && !old.due.Load() && (old.refreshAt.IsZero() || now.Before(old.refreshAt)) {
		return old.tok, nil // refreshed by the flight that just ended
	}
	var due string // the value that fell due here, which the Store may still hold
	if old != nil {
		due = old.tok.Value
	}
	tok, err := s.fromStore(ctx, due, gen)
	if err == nil {
		return tok, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return s.fallback(old, gen, err)
	}
	if s.m.fetch == nil {
		return Token{}, fmt.Errorf("tokenstore: %s: %w", s.key, ErrNotFound)
	}
	if s.m.locker != nil {
		release, tok, err := s.lock(ctx, due, gen)
		if err != nil {
			return s.fallback(old, gen, err)
		}
		if release == nil {
			return tok, nil // another process refreshed while we waited
		}
		defer release(context.WithoutCancel(ctx))
	}
	tok, err = s.m.fetch(ctx, s.key)
	if err != nil {
		return s.fallback(old, gen, err)
	}
	if tok.IsZero() {
		return Token{}, fmt.Errorf("tokenstore: fetch %s returned an empty token", s.key)
	}
	if s.gen.Load() != gen {
		return Token{}, fmt.Errorf("tokenstore: %s: %w", s.key, ErrDeleted)
	}
	if err := s.m.store.Set(ctx, s.key, tok); err != nil {
		return Token{}, fmt.Errorf("tokenstore: store %s: %w", s.key, err)
	}
	if !s.installIf(gen, s.newCached(tok, s.m.clock())) {
		// Deleted while the token was being stored: take it back out of the Store.
		_, _ = s.m.store.CompareAndDelete(context.WithoutCancel(ctx), s.key, tok.Value)
		return Token{}, fmt.Errorf("tokenstore: %s: %w", s.key, ErrDeleted)
	}
	return tok, nil
}

// installIf installs c unless a Delete came since generation gen.
func (s *Source) installIf(gen uint64, c *cached) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen.Load() != gen {
		return false
	}
	s.install(c)
	return true
}

// fromStore serves a fresh token from the Store, installing it locally; ErrNotFound when the Store has
// none that is fresh. A token whose value is reject — the one that just fell due here — is not fresh
// whatever its expiry says: it is due, and only a token another process stored in its place is taken.
func (s *Source) fromStore(ctx context.Context, reject string, gen uint64) (Token, error) {
	tok, err := s.m.store.Get(ctx, s.key)
	now := s.m.clock() // after the read, which may have been slow
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Token{}, ErrNotFound
		}
		return Token{}, fmt.Errorf("tokenstore: read %s: %w", s.key, err)
	}
	if !s.fresh(tok, now) || (reject != "" && tok.Value == reject) {
		return Token{}, ErrNotFound
	}
	if !s.installIf(gen, s.newCached(tok, now)) {
		return Token{}, fmt.Errorf("tokenstore: %s: %w", s.key, ErrDeleted)
	}
	return tok, nil
}

// lock takes the distributed lock, or waits, with backoff, for the holder's token to reach the Store.
// It returns a release function when this process must fetch, or the token another process stored.
func (s *Source) lock(ctx context.Context, due string, gen uint64) (func(context.Context) error, Token, error) {
	deadline := time.Now().Add(s.m.lockWait)
	backoff := 10 * time.Millisecond
	lockKey := s.key + ":lock"
	for {
		release, err := s.m.locker.TryLock(ctx, lockKey, s.m.lockLease)
		if err == nil {
			// The previous holder may have stored a token just before releasing.
			if tok, err := s.fromStore(ctx, due, gen); err == nil {
				release(context.WithoutCancel(ctx))
				return nil, tok, nil
			}
			return release, Token{}, nil
		}
		if !errors.Is(err, ErrLocked) {
			return nil, Token{}, fmt.Errorf("tokenstore: lock %s: %w", s.key, err)
		}
		if time.Now().After(deadline) {
			return nil, Token{}, fmt.Errorf("tokenstore: %s: waited %s for another process's refresh", s.key, s.m.lockWait)
		}
		t := time.NewTimer(backoff + rand.N(backoff/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, Token{}, ctx.Err()
		case <-t.C:
		}
		if backoff < 200*time.Millisecond {
			backoff *= 2
		}
		if tok, err := s.fromStore(ctx, due, gen); err == nil {
			return nil, tok, nil
		} else if !errors.Is(err, ErrNotFound) {
			return nil, Token{}, err
		}
	}
}

// fallback keeps serving a token that is due for refresh but still valid when the refresh failed, and
// retries the refresh after a short delay; with no valid token the error is returned.
func (s *Source) fallback(old *cached, gen uint64, err error) (Token, error) {
	now := s.m.clock() // after the failed call, which may have taken long: never serve an expired token
	if old == nil || old.tok.Expired(now) || s.gen.Load() != gen {
		return Token{}, err
	}
	retry := now.Add(s.m.retryDelay)
	if !old.tok.ExpiresAt.IsZero() && retry.After(old.tok.ExpiresAt) {
		retry = old.tok.ExpiresAt
	}
	if !s.installIf(gen, s.cachedUntil(old.tok, retry, now)) {
		return Token{}, err
	}
	return old.tok, nil
}

// refreshTime is when a token fetched (or read) at now is due: its expiry less the margin, less up to
// the jitter. The margin is at most half the token's remaining life, so that a token whose lifetime is
// shorter than twice the margin is still used for a while.
func (m *Manager) refreshTime(tok Token, now time.Time) time.Time {
	life := tok.ExpiresAt.Sub(now)
	margin := m.margin
	if margin > life/2 {
		margin = life / 2
	}
	at := tok.ExpiresAt.Add(-margin)
	if m.jitter > 0 && life-margin > 0 {
		j := m.jitter
		if j > (life-margin)/2 {
			j = (life - margin) / 2
		}
		if j > 0 {
			at = at.Add(-rand.N(j))
		}
	}
	return at
}

func (s *Source) newCached(tok Token, now time.Time) *cached {
	if tok.ExpiresAt.IsZero() {
		return &cached{tok: tok}
	}
	return s.cachedUntil(tok, s.m.refreshTime(tok, now), now)
}

func (s *Source) cachedUntil(tok Token, refreshAt, now time.Time) *cached {
	c := &cached{tok: tok, refreshAt: refreshAt}
	if s.m.now == nil {
		d := refreshAt.Sub(now)
		if d <= 0 {
			c.due.Store(true)
		} else {
			c.timer = time.AfterFunc(d, func() { c.due.Store(true) })
		}
	}
	return c
}

func (s *Source) install(c *cached) {
	if old := s.cur.Swap(c); old != nil && old.timer != nil {
		old.timer.Stop()
	}
}
