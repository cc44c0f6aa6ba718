package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sync/singleflight"
)

// Fetcher obtains a new token for key from WeChat. Manager calls it at most once at a time per key in
// this process (and, with a Locker, across processes). The context it receives is not cancelled when
// the caller that triggered the fetch gives up, but has its own timeout (see WithFetchTimeout).
type Fetcher func(ctx context.Context, key string) (Token, error)

// Manager hands out expiring tokens by key. The warm path (a cached token that is not due for refresh)
// touches neither the Store nor the real clock and does not allocate. A token is refreshed ahead of its
// expiry, by a margin minus a random jitter:
//   - a token that is due but still valid is handed out at once while one refresh runs for it in the
//     background (stale-while-revalidate); a refresh that fails, or finds another process holding the
//     Locker's lock, leaves it in service and is tried again later, with a growing, jittered delay;
//   - callers wait only when no valid token exists, and then share one fetch (singleflight); with a
//     Locker one process fetches while the others wait for the Store.
//
// Per key a Manager keeps a small entry (the key's Source and its current token) in a concurrent map:
// finding and adding a key cost the same at one key and at a million, and Delete releases the entry.
// No goroutine runs in the background: a refresh runs only because a caller came for a due token, and
// the coarse clock the warm path reads is one runtime timer that stops when nobody reads it.
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
	now          func() time.Time // nil: time.Now, with the coarse clock on the warm path

	sf      singleflight.Group
	entries sync.Map     // key → *Source
	n       atomic.Int64 // entries
	bg      atomic.Int64 // background refreshes running
}

// Limits of the background refreshes of due-but-valid tokens.
const (
	// maxBackground bounds the background refreshes a Manager runs at once. When that many run, a
	// due token is served without starting another; a later caller starts it. A fleet whose tokens
	// fall due together (after an outage) is thus refreshed at a steady pace, not all at once.
	maxBackground = 64
	// maxRetryDelay bounds the delay between two attempts to refresh a due-but-valid token.
	maxRetryDelay = time.Minute
)

// Option configures a Manager. An option given an invalid value makes NewManager return an error.
type Option func(*Manager) error

// WithMargin sets how long before expiry a token is refreshed (default 5 minutes; not negative). For
// tokens whose lifetime is short, at most half the lifetime is used.
func WithMargin(d time.Duration) Option {
	return func(m *Manager) error {
		if d < 0 {
			return invalidOption("margin", "not negative")
		}
		m.margin = d
		return nil
	}
}

// WithJitter sets the largest random amount by which a refresh is brought forward beyond the margin
// (default 1 minute; 0 for none), so that instances started together do not refresh together.
func WithJitter(d time.Duration) Option {
	return func(m *Manager) error {
		if d < 0 {
			return invalidOption("jitter", "not negative")
		}
		m.jitter = d
		return nil
	}
}

// WithFetchTimeout bounds one refresh (Store reads, lock, fetch, Store write), which runs detached from
// the caller's cancellation (default 20s; positive).
func WithFetchTimeout(d time.Duration) Option {
	return func(m *Manager) error {
		if d <= 0 {
			return invalidOption("fetch timeout", "positive")
		}
		m.fetchTimeout = d
		return nil
	}
}

// WithLocker makes the Manager take l's lock around each fetch. By default a Store that implements
// Locker is used as one; WithLocker(nil) turns that off.
func WithLocker(l Locker) Option {
	return func(m *Manager) error { m.locker, m.lockerSet = l, true; return nil }
}

// WithLockLease sets how long a distributed lock is held at most (default: the fetch timeout plus 5s;
// positive). A holder that dies is taken over when its lease ends.
func WithLockLease(d time.Duration) Option {
	return func(m *Manager) error {
		if d <= 0 {
			return invalidOption("lock lease", "positive")
		}
		m.lockLease = d
		return nil
	}
}

// WithLockWait bounds how long a caller without a valid token waits for another process's refresh
// before giving up (default: the lock lease plus 5s, so that a dead holder's lease can run out and be
// taken over; positive). A process that holds a valid token never waits for the lock: it serves its
// token and looks at the Store again later.
func WithLockWait(d time.Duration) Option {
	return func(m *Manager) error {
		if d <= 0 {
			return invalidOption("lock wait", "positive")
		}
		m.lockWait = d
		return nil
	}
}

// WithClock sets the clock (not nil), for tests. With a clock the warm path reads it on every call
// instead of the coarse clock.
func WithClock(now func() time.Time) Option {
	return func(m *Manager) error {
		if now == nil {
			return invalidOption("clock", "not nil")
		}
		m.now = now
		return nil
	}
}

// NewManager returns a Manager over store that obtains tokens with fetch. A nil fetch makes a
// read-through Manager that serves only what the Store holds. It returns an error for a nil store or
// an option given an invalid value.
func NewManager(store Store, fetch Fetcher, opts ...Option) (*Manager, error) {
	if store == nil {
		return nil, errors.New("tokenstore: NewManager needs a store")
	}
	m := &Manager{
		store:        store,
		fetch:        fetch,
		margin:       5 * time.Minute,
		jitter:       time.Minute,
		fetchTimeout: 20 * time.Second,
		retryDelay:   5 * time.Second,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(m); err != nil {
			return nil, fmt.Errorf("tokenstore: %w", err)
		}
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
	return m, nil
}

// Store returns the Store the Manager reads and writes.
func (m *Manager) Store() Store { return m.store }

// Len returns how many keys the Manager holds in memory (each with its Source and current token).
func (m *Manager) Len() int { return int(m.n.Load()) }

// Now returns the time on the Manager's clock (WithClock; time.Now by default). A Fetcher computes
// the expiry of what it fetches with it, so that tokens and their expiry share one clock.
func (m *Manager) Now() time.Time { return m.clock() }

func (m *Manager) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

// warmNow is the time the warm path compares refresh times with, in unix nanoseconds: the injected
// clock, or the coarse clock (which may read math.MaxInt64, sending the caller to the real clock).
func (m *Manager) warmNow() int64 {
	if m.now != nil {
		return m.now().UnixNano()
	}
	return coarse.now()
}

// Source returns the handle for key. Holding a Source saves the key lookup of Manager.Token on every
// call; Sources are cheap, shared and safe for concurrent use. A Source whose key is deleted (Delete)
// goes on working: it hands its callers over to the key's new Source.
func (m *Manager) Source(key string) *Source {
	if v, ok := m.entries.Load(key); ok {
		if s := v.(*Source); !s.deleted() {
			return s
		}
	}
	return m.add(key)
}

// SourceBytes is Source for a key held in a byte slice, for callers that build keys in a buffer of
// their own: finding an existing key does not allocate, and the key is copied when it is added.
func (m *Manager) SourceBytes(key []byte) *Source {
	// The string aliases key only for the lookup, which keeps nothing of it.
	if v, ok := m.entries.Load(unsafe.String(unsafe.SliceData(key), len(key))); ok {
		if s := v.(*Source); !s.deleted() {
			return s
		}
	}
	return m.add(string(key))
}

// add returns the live Source of key, adding one (or replacing a deleted one) when there is none.
func (m *Manager) add(key string) *Source {
	s := &Source{m: m, key: key}
	for {
		v, loaded := m.entries.LoadOrStore(key, s)
		if !loaded {
			m.n.Add(1)
			return s
		}
		old := v.(*Source)
		if !old.deleted() {
			return old
		}
		if m.entries.CompareAndSwap(key, old, s) {
			return s
		}
	}
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

// Delete drops key from the Store and from memory (an authorizer that revoked its consent): the key's
// entry is released. A refresh of key already under way does not bring the token back: it ends with
// ErrDeleted. A Source of key still held somewhere goes on working through the key's new Source.
func (m *Manager) Delete(ctx context.Context, key string) error {
	if v, ok := m.entries.Load(key); ok {
		s := v.(*Source)
		s.cur.Store(deleted)
		if m.entries.CompareAndDelete(key, s) {
			m.n.Add(-1)
		}
	}
	return m.store.Delete(ctx, key)
}

// Source hands out the token of one key of a Manager.
type Source struct {
	m   *Manager
	key string
	cur atomic.Pointer[cached] // nil: none; deleted: the key was deleted, see Manager.Source

	revalidating atomic.Bool  // a background refresh runs
	fails        atomic.Int32 // refreshes of the current token that failed in a row
}

// cached is a token and when it falls due. It is immutable once installed.
type cached struct {
	tok       Token
	refreshAt int64 // unix nanoseconds; math.MaxInt64: never
}

// deleted marks a Source whose key was deleted. It is never warm (refreshAt is the smallest time).
var deleted = &cached{refreshAt: math.MinInt64}

func (s *Source) deleted() bool { return s.cur.Load() == deleted }

// live returns the Source that serves s's key now: s, or after a Delete the key's new Source.
func (s *Source) live() *Source {
	if !s.deleted() {
		return s
	}
	return s.m.Source(s.key)
}

// Key returns the key the Source serves.
func (s *Source) Key() string { return s.key }

// Token returns a valid token, refreshing it if it is missing or due. A token that is due but still
// valid is returned at once and refreshed in the background. A caller without a valid token waits
// for the shared refresh; when its ctx ends it stops waiting at once and the refresh goes on for the
// others.
func (s *Source) Token(ctx context.Context) (Token, error) {
	c := s.cur.Load()
	if c != nil && s.m.warmNow() < c.refreshAt {
		return c.tok, nil
	}
	return s.due(ctx, c)
}

// due serves a token that the warm path did not: missing, due, or past the coarse clock.
func (s *Source) due(ctx context.Context, c *cached) (Token, error) {
	if c == deleted {
		return s.live().Token(ctx)
	}
	if c != nil {
		now := s.m.clock()
		if now.UnixNano() < c.refreshAt {
			return c.tok, nil // the coarse clock was (re)starting
		}
		if !c.tok.Expired(now) {
			s.revalidate(ctx)
			return c.tok, nil
		}
	}
	return s.wait(ctx)
}

// revalidate starts the background refresh of a due-but-valid token unless one runs already or the
// Manager runs maxBackground of them.
func (s *Source) revalidate(ctx context.Context) {
	if !s.revalidating.CompareAndSwap(false, true) {
		return
	}
	if s.m.bg.Add(1) > maxBackground {
		s.m.bg.Add(-1)
		s.revalidating.Store(false)
		return
	}
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer func() {
			s.m.bg.Add(-1)
			s.revalidating.Store(false)
		}()
		_, _, _ = s.m.sf.Do(s.key, func() (any, error) { return s.flight(ctx) })
	}()
}

// Invalidate is Manager.Invalidate for this key.
func (s *Source) Invalidate(ctx context.Context, stale string) error {
	s = s.live()
	if c := s.cur.Load(); c != nil && c != deleted && c.tok.Value == stale {
		s.cur.CompareAndSwap(c, nil)
	}
	if _, err := s.m.store.CompareAndDelete(ctx, s.key, stale); err != nil {
		return fmt.Errorf("tokenstore: invalidate %s: %w", s.key, err)
	}
	return nil
}

// Set is Manager.Set for this key.
func (s *Source) Set(ctx context.Context, tok Token) error {
	s = s.live()
	if err := s.m.store.Set(ctx, s.key, tok); err != nil {
		return fmt.Errorf("tokenstore: store %s: %w", s.key, err)
	}
	s.install(s.newCached(tok, s.m.clock()))
	return nil
}

// wait runs the refresh, or joins the one under way, and waits for it within ctx.
func (s *Source) wait(ctx context.Context) (Token, error) {
	fn := func() (any, error) { return s.flight(ctx) }
	for retried := false; ; retried = true {
		var r singleflight.Result
		if ctx.Done() == nil {
			// A caller that cannot give up waits in place: no goroutine and no channel.
			r.Val, r.Err, _ = s.m.sf.Do(s.key, fn)
		} else {
			select {
			case r = <-s.m.sf.DoChan(s.key, fn):
			case <-ctx.Done():
				return Token{}, ctx.Err()
			}
		}
		if r.Err != nil && !retried {
			// The flight this caller joined was not one that waits for it: a flight of a Source
			// deleted since (the key's previous one), or a background refresh that left the lock to
			// another process while its token was still valid, which it no longer is. This caller
			// runs its own once.
			if errors.Is(r.Err, ErrDeleted) && !s.deleted() || errors.Is(r.Err, errBusy) {
				continue
			}
		}
		if r.Err != nil {
			return Token{}, r.Err
		}
		return r.Val.(Token), nil
	}
}

// flight is one refresh, detached from the caller's cancellation and bounded by the fetch timeout.
func (s *Source) flight(ctx context.Context) (Token, error) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.m.fetchTimeout)
	defer cancel()
	return s.refresh(fctx)
}

// fresh reports whether tok, read from the Store, can be served without a refresh at now: it is valid
// for longer than the margin. (Its lifetime is unknown here, so the margin is not shortened.)
func (s *Source) fresh(tok Token, now time.Time) bool {
	if tok.IsZero() || tok.Expired(now) {
		return false
	}
	return tok.ExpiresAt.IsZero() || now.Before(tok.ExpiresAt.Add(-s.m.margin))
}

// errBusy ends a refresh that found another process holding the lock while this one still holds a
// valid token: that token stays in service and the Store is looked at again later.
var errBusy = errors.New("tokenstore: another process is refreshing")

func (s *Source) refresh(ctx context.Context) (Token, error) {
	old := s.cur.Load()
	if old == deleted {
		return Token{}, fmt.Errorf("tokenstore: %s: %w", s.key, ErrDeleted)
	}
	if old != nil && s.m.clock().UnixNano() < old.refreshAt {
		return old.tok, nil // refreshed by the flight that just ended
	}
	var due string // the value that fell due here, which the Store may still hold
	if old != nil {
		due = old.tok.Value
	}
	tok, err := s.fromStore(ctx, due)
	if err == nil {
		return tok, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return s.fallback(old, err)
	}
	if s.m.fetch == nil {
		return Token{}, fmt.Errorf("tokenstore: %s: %w", s.key, ErrNotFound)
	}
	if s.m.locker != nil {
		release, tok, err := s.lock(ctx, due, old)
		if err != nil {
			return s.fallback(old, err)
		}
		if release == nil {
			return tok, nil // another process refreshed
		}
		defer release(context.WithoutCancel(ctx))
	}
	tok, err = s.m.fetch(ctx, s.key)
	if err != nil {
		return s.fallback(old, err)
	}
	if tok.IsZero() {
		return s.fallback(old, fmt.Errorf("tokenstore: fetch %s returned an empty token", s.key))
	}
	if s.deleted() {
		return Token{}, fmt.Errorf("tokenstore: %s: %w", s.key, ErrDeleted)
	}
	if err := s.m.store.Set(ctx, s.key, tok); err != nil {
		return s.fallback(old, fmt.Errorf("tokenstore: store %s: %w", s.key, err))
	}
	if !s.install(s.newCached(tok, s.m.clock())) {
		// Deleted while the token was being stored: take it back out of the Store.
		_, _ = s.m.store.CompareAndDelete(context.WithoutCancel(ctx), s.key, tok.Value)
		return Token{}, fmt.Errorf("tokenstore: %s: %w", s.key, ErrDeleted)
	}
	return tok, nil
}

// install makes c the current token unless the key was deleted, and reports whether it did. A new
// token clears the count of failed refreshes.
func (s *Source) install(c *cached) bool {
	for {
		cur := s.cur.Load()
		if cur == deleted {
			return false
		}
		if s.cur.CompareAndSwap(cur, c) {
			s.fails.Store(0)
			return true
		}
	}
}

// fromStore serves a fresh token from the Store, installing it locally; ErrNotFound when the Store has
// none that is fresh. A token whose value is reject — the one that just fell due here — is not fresh
// whatever its expiry says: it is due, and only a token another process stored in its place is taken.
func (s *Source) fromStore(ctx context.Context, reject string) (Token, error) {
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
	if !s.install(s.newCached(tok, now)) {
		return Token{}, fmt.Errorf("tokenstore: %s: %w", s.key, ErrDeleted)
	}
	return tok, nil
}

// lock takes the distributed lock and returns its release function when this process must fetch, or
// the token another process stored. A caller that still holds a valid token (old) never waits for
// another holder: it gets errBusy. One without waits, with backoff, for the holder's token to reach
// the Store, at most the lock wait.
func (s *Source) lock(ctx context.Context, due string, old *cached) (func(context.Context) error, Token, error) {
	deadline := time.Now().Add(s.m.lockWait)
	backoff := 10 * time.Millisecond
	lockKey := s.key + ":lock"
	for {
		release, err := s.m.locker.TryLock(ctx, lockKey, s.m.lockLease)
		if err == nil {
			// The previous holder may have stored a token just before releasing.
			if tok, err := s.fromStore(ctx, due); err == nil {
				release(context.WithoutCancel(ctx))
				return nil, tok, nil
			}
			return release, Token{}, nil
		}
		if !errors.Is(err, ErrLocked) {
			return nil, Token{}, fmt.Errorf("tokenstore: lock %s: %w", s.key, err)
		}
		if old != nil && !old.tok.Expired(s.m.clock()) {
			if tok, err := s.fromStore(ctx, due); err == nil {
				return nil, tok, nil
			}
			return nil, Token{}, errBusy
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
		if tok, err := s.fromStore(ctx, due); err == nil {
			return nil, tok, nil
		} else if !errors.Is(err, ErrNotFound) {
			return nil, Token{}, err
		}
	}
}

// fallback keeps serving a token that is due for refresh but still valid when the refresh failed (or
// another process holds the lock), and schedules the next attempt; with no valid token the error is
// returned. After a failure the delay doubles from the retry delay up to maxRetryDelay; when another
// process holds the lock the Store is looked at again after a short delay. Both are jittered, and
// never later than the token's expiry.
func (s *Source) fallback(old *cached, err error) (Token, error) {
	now := s.m.clock() // after the failed call, which may have taken long: never serve an expired token
	if old == nil || old == deleted || old.tok.Expired(now) {
		if errors.Is(err, errBusy) {
			return Token{}, fmt.Errorf("tokenstore: %s: %w", s.key, err)
		}
		s.release(old)
		return Token{}, err
	}
	var d time.Duration
	if errors.Is(err, errBusy) {
		d = min(s.m.retryDelay, s.m.lockLease/4)
	} else {
		d = s.m.retryDelay << min(s.fails.Add(1)-1, 16)
		d = min(d, maxRetryDelay)
	}
	d = d/2 + rand.N(d/2+1) // between half and all of it
	retry := now.Add(d)
	if !old.tok.ExpiresAt.IsZero() && retry.After(old.tok.ExpiresAt) {
		retry = old.tok.ExpiresAt
	}
	// Only over the token this refresh started from: a token installed meanwhile (Set) stays.
	if !s.cur.CompareAndSwap(old, &cached{tok: old.tok, refreshAt: retry.UnixNano()}) {
		if c := s.cur.Load(); c != nil && c != deleted && !c.tok.Expired(now) {
			return c.tok, nil
		}
		return Token{}, err
	}
	return old.tok, nil
}

// release drops the key's entry after a refresh that left it without a valid token (an account
// revoked at another instance, an appid never authorised, WeChat or the Store down), so that the
// Manager keeps no memory for keys that have no token: the next call adds the entry again. It does
// nothing if a token was installed meanwhile (Set). A Source still held goes on working through the
// key's new entry, as after Delete.
func (s *Source) release(old *cached) {
	if old == deleted || !s.cur.CompareAndSwap(old, deleted) {
		return
	}
	if s.m.entries.CompareAndDelete(s.key, s) {
		s.m.n.Add(-1)
	}
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
		return &cached{tok: tok, refreshAt: math.MaxInt64}
	}
	return &cached{tok: tok, refreshAt: s.m.refreshTime(tok, now).UnixNano()}
}

// invalidOption is the error of an option given an invalid value.
func invalidOption(name, want string) error { return fmt.Errorf("invalid %s: want %s", name, want) }
