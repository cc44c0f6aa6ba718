// Package redisstore is a tokenstore.Store and tokenstore.Locker on Redis (github.com/redis/go-redis/v9),
// for platforms that run several instances: they share one copy of every token, and the lock lets one
// instance refresh a token while the others wait for it to appear.
//
// A Store takes any redis.UniversalClient (standalone, sentinel or cluster). Every operation touches a
// single key, so keys need no hash tags in a cluster.
//
// Each token is one Redis string, "1|<expiry>|<value>", where <expiry> is the expiry in Unix nanoseconds
// (empty for a durable credential), so a Token round-trips exactly and Get is one GET. A token with an
// expiry is written with a TTL (PX) that ends at its expiry; a durable one (zero ExpiresAt) without a
// TTL. Such a Redis may serve as the credential store (verify ticket, refresh tokens) only if it does
// not evict keys and persists them: see NewCredentialStore.
//
// The conditional writes (CompareAndSwap, CompareAndDelete) are Lua scripts that compare the decoded
// value, run inside MULTI/EXEC so that go-redis never resends one whose reply was lost: the caller
// gets the error and reads the key to learn the outcome.
//
// Locks (TryLock) are plain keys under the same prefix holding a random owner id with a PX lease; the
// Manager names them "<key>:lock".
//
// The audit reason carried by tokenstore.WithReason is ignored: Redis keeps no history of writes.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

// DefaultPrefix is the key prefix used unless WithKeyPrefix says otherwise.
const DefaultPrefix = "wxopen:"

// ErrEvictable is returned (wrapped) by CheckNoEviction when Redis is configured to evict keys under
// memory pressure.
var ErrEvictable = errors.New("redisstore: redis may evict keys (maxmemory-policy is not noeviction)")

// encoding version tag; the first two bytes of every stored value.
const tag = "1|"

// casDelete deletes KEYS[1] if the token value encoded in it equals ARGV[1]. It compares the value
// part, not the whole encoding, so the caller needs to know only the value.
const casDeleteLua = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local j = nil
if string.sub(v, 1, 2) == '1|' then j = string.find(v, '|', 3, true) end
if not j then return redis.error_reply('redisstore: key does not hold a redisstore token') end
if string.sub(v, j + 1) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

// casLua stores ARGV[2] (an encoded token) under KEYS[1] if the token stored there has the value
// ARGV[1], or, for an empty ARGV[1], if nothing live is stored. Like casDelete it compares the decoded
// value, not the encoding. A stored token whose expiry (Unix ns, no leading zeros) is not after ARGV[4]
// (the caller's clock, the one Get uses) counts as absent even if Redis has not dropped it yet; the
// numbers are compared as strings (length first) because Lua's doubles cannot hold 19 digits exactly.
// ARGV[3] is the TTL: empty for a durable token (no TTL, removing any), "0" for a token that has
// already expired (the key is deleted, as Set does), or milliseconds for PX.
const casLua = `
local v = redis.call('GET', KEYS[1])
local live = false
if v then
  local j = nil
  if string.sub(v, 1, 2) == '1|' then j = string.find(v, '|', 3, true) end
  if not j then return redis.error_reply('redisstore: key does not hold a redisstore token') end
  local exp, now = string.sub(v, 3, j - 1), ARGV[4]
  live = exp == '' or (string.sub(exp, 1, 1) ~= '-' and (#exp > #now or (#exp == #now and exp > now)))
  if live and ARGV[1] ~= '' and string.sub(v, j + 1) ~= ARGV[1] then return 0 end
end
if (ARGV[1] == '') == live then return 0 end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[2])
elseif ARGV[3] == '0' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`

// unlock deletes the lock KEYS[1] only if ARGV[1], this owner, still holds it.
const unlockLua = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

// Store is a tokenstore.Store and tokenstore.Locker on Redis. It is safe for concurrent use. It does not
// own the client: closing the client is the caller's business.
type Store struct {
	client    redis.UniversalClient
	prefix    string
	log       *slog.Logger
	casDelete *redis.Script
	cas       *redis.Script
	unlock    *redis.Script
}

// Option configures a Store. An option given an invalid value makes New return an error.
type Option func(*Store) error

// WithKeyPrefix sets the prefix put before every key (default DefaultPrefix, "wxopen:"). Instances that
// share tokens must use the same prefix; an empty prefix is allowed.
func WithKeyPrefix(prefix string) Option {
	return func(s *Store) error { s.prefix = prefix; return nil }
}

// WithLogger sets the logger for warnings (default slog.Default(), also when l is nil).
func WithLogger(l *slog.Logger) Option { return func(s *Store) error { s.log = l; return nil } }

// New returns a Store over client. It does no I/O.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, wxerr.Invalid("client", "a redis.UniversalClient is required")
	}
	s := &Store{
		client:    client,
		prefix:    DefaultPrefix,
		casDelete: redis.NewScript(casDeleteLua),
		cas:       redis.NewScript(casLua),
		unlock:    redis.NewScript(unlockLua),
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(s); err != nil {
			return nil, fmt.Errorf("redisstore: %w", err)
		}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// NewCredentialStore is New for a Store that will hold durable credentials (the verify ticket and the
// authorizers' refresh tokens). It then runs CheckNoEviction and logs a warning when Redis may evict
// keys or when its policy cannot be read (CONFIG is often disabled on managed Redis). The check never
// makes construction fail: a Redis that is unreachable at start-up may come up later. ctx bounds the
// check (an unreachable Redis costs the client's dial timeouts and retries).
func NewCredentialStore(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Store, error) {
	s, err := New(client, opts...)
	if err != nil {
		return nil, err
	}
	err = s.CheckNoEviction(ctx)
	switch {
	case err == nil:
	case errors.Is(err, ErrEvictable):
		s.log.WarnContext(ctx, "redisstore: Redis used as the credential store may evict keys; "+
			"set maxmemory-policy to noeviction and enable persistence. An evicted refresh token makes WeChat "+
			"answer 61023 and the merchant must authorise again; a lost verify ticket makes component token "+
			"requests fail (61006) until WeChat's next push",
			slog.String("error", err.Error()))
	default:
		s.log.WarnContext(ctx, "redisstore: could not check that Redis used as the credential store does not "+
			"evict keys (CONFIG GET maxmemory-policy failed; managed Redis often disables CONFIG). Make sure its "+
			"maxmemory-policy is noeviction: an evicted refresh token makes WeChat answer 61023 and the merchant "+
			"must authorise again; a lost verify ticket gives 61006",
			slog.String("error", err.Error()))
	}
	return s, nil
}

// CheckNoEviction reads maxmemory-policy (CONFIG GET) on every master and returns nil when all of them
// are "noeviction", an error wrapping ErrEvictable naming the policy when one is not, or another error
// when the policy cannot be read.
func (s *Store) CheckNoEviction(ctx context.Context) error {
	check := func(ctx context.Context, c redis.Cmdable) error {
		m, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
		if err != nil {
			return fmt.Errorf("redisstore: CONFIG GET maxmemory-policy: %w", err)
		}
		p, ok := m["maxmemory-policy"]
		if !ok {
			return errors.New("redisstore: CONFIG GET maxmemory-policy returned nothing")
		}
		if p != "noeviction" {
			return fmt.Errorf("%w: it is %q", ErrEvictable, p)
		}
		return nil
	}
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return check(ctx, n) })
	case *redis.Ring:
		return c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error { return check(ctx, n) })
	default:
		return check(ctx, c)
	}
}

func (s *Store) key(k string) string { return s.prefix + k }

// Get implements tokenstore.Store: tokenstore.ErrNotFound when the key is missing (or holds a token that
// has expired by this process's clock), a wrapped Redis error otherwise. One GET.
func (s *Store) Get(ctx context.Context, key string) (tokenstore.Token, error) {
	raw, err := s.client.Get(ctx, s.key(key)).Result()
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return tokenstore.Token{}, tokenstore.ErrNotFound
		}
		return tokenstore.Token{}, fmt.Errorf("redisstore: get %s: %w", key, err)
	}
	tok, ok := decode(raw)
	if !ok {
		// Never print raw: it may be a credential written by something else.
		return tokenstore.Token{}, fmt.Errorf("redisstore: get %s: key does not hold a redisstore token", key)
	}
	if tok.Expired(time.Now()) {
		return tokenstore.Token{}, tokenstore.ErrNotFound
	}
	return tok, nil
}

// Set implements tokenstore.Store. A token with an expiry gets a TTL up to it (rounded up to the
// millisecond); a durable token (zero ExpiresAt) is stored without TTL, removing any TTL the key had.
// A token that has already expired deletes the key, so Get then reports ErrNotFound.
func (s *Store) Set(ctx context.Context, key string, tok tokenstore.Token) error {
	var ttl time.Duration
	if !tok.ExpiresAt.IsZero() {
		ttl = time.Until(tok.ExpiresAt)
		if ttl <= 0 {
			if err := s.client.Del(ctx, s.key(key)).Err(); err != nil {
				return fmt.Errorf("redisstore: set %s (expired, deleting): %w", key, err)
			}
			return nil
		}
		if tok.ExpiresAt.After(time.Unix(0, math.MaxInt64)) { // beyond what UnixNano can hold
			return wxerr.Invalid("ExpiresAt", "before the year 2262")
		}
		ttl = ceilMillis(ttl)
	}
	if err := s.client.Set(ctx, s.key(key), encode(tok), ttl).Err(); err != nil {
		return fmt.Errorf("redisstore: set %s: %w", key, err)
	}
	return nil
}

// Delete implements tokenstore.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.client.Del(ctx, s.key(key)).Err(); err != nil {
		return fmt.Errorf("redisstore: delete %s: %w", key, err)
	}
	return nil
}

// CompareAndDelete implements tokenstore.Store atomically with a Lua script that compares the stored
// token's value (not its encoding) with value. Like CompareAndSwap it runs in MULTI/EXEC, so that a
// lost answer is an error rather than a resent delete that reports false.
func (s *Store) CompareAndDelete(ctx context.Context, key, value string) (bool, error) {
	n, err := s.runTx(ctx, s.casDelete, []string{s.key(key)}, []any{value})
	if err != nil {
		return false, fmt.Errorf("redisstore: compare-and-delete %s: %w", key, err)
	}
	return n == 1, nil
}

// CompareAndSwap implements tokenstore.Store with one Lua script, atomic in Redis: it compares the
// stored token's value (not its encoding) with old, treats a token expired by this process's clock as
// absent (as Get does), and writes tok with the TTL Set would give it. With an empty old and a TTL it
// is SET NX PX.
//
// The script runs inside MULTI/EXEC. go-redis resends a plain command whose reply was lost (an EOF
// after the write), and a resent swap would find its own write and report false: a lie. A
// transaction's lost reply is never resent, so the caller gets the error and settles it by reading.
func (s *Store) CompareAndSwap(ctx context.Context, key, old string, tok tokenstore.Token) (bool, error) {
	ttl := ""
	if !tok.ExpiresAt.IsZero() {
		if tok.ExpiresAt.After(time.Unix(0, math.MaxInt64)) {
			return false, wxerr.Invalid("ExpiresAt", "before the year 2262")
		}
		ttl = "0"
		if d := time.Until(tok.ExpiresAt); d > 0 {
			ttl = strconv.FormatInt(ceilMillis(d).Milliseconds(), 10)
		}
	}
	keys := []string{s.key(key)}
	args := []any{old, encode(tok), ttl, strconv.FormatInt(time.Now().UnixNano(), 10)}
	n, err := s.runTx(ctx, s.cas, keys, args)
	if err != nil {
		return false, fmt.Errorf("redisstore: compare-and-swap %s: %w", key, err)
	}
	return n == 1, nil
}

// runTx runs script in a MULTI/EXEC transaction (EVALSHA, then EVAL if Redis lost the script after
// SCRIPT FLUSH or a restart: NOSCRIPT means it did not run) and returns its integer result.
func (s *Store) runTx(ctx context.Context, script *redis.Script, keys []string, args []any) (int64, error) {
	var cmd *redis.Cmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		cmd = script.EvalSha(ctx, p, keys, args...)
		return nil
	})
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			cmd = script.Eval(ctx, p, keys, args...)
			return nil
		})
	}
	if err != nil {
		return 0, err
	}
	return cmd.Int64()
}

// TryLock implements tokenstore.Locker with SET key owner NX PX lease, where owner is 128 random bits.
// The lease is rounded up to the millisecond. The release function deletes the lock only if this owner
// still holds it (a Lua compare-and-delete); once the lease has lapsed, and possibly been taken by
// another owner, it does nothing and returns nil.
func (s *Store) TryLock(ctx context.Context, key string, lease time.Duration) (func(context.Context) error, error) {
	if lease <= 0 {
		return nil, wxerr.Invalid("lease", "a positive duration")
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("redisstore: lock %s: owner id: %w", key, err)
	}
	owner := hex.EncodeToString(b[:])
	k := s.key(key)
	ok, err := s.client.SetNX(ctx, k, owner, ceilMillis(lease)).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: lock %s: %w", key, err)
	}
	if !ok {
		return nil, tokenstore.ErrLocked
	}
	return func(ctx context.Context) error {
		if err := s.unlock.Run(ctx, s.client, []string{k}, owner).Err(); err != nil {
			return fmt.Errorf("redisstore: unlock %s: %w", key, err)
		}
		return nil
	}, nil
}

func ceilMillis(d time.Duration) time.Duration {
	if r := d % time.Millisecond; r != 0 {
		d += time.Millisecond - r
	}
	return d
}

func encode(tok tokenstore.Token) string {
	var b strings.Builder
	b.Grow(len(tag) + 20 + 1 + len(tok.Value))
	b.WriteString(tag)
	if !tok.ExpiresAt.IsZero() {
		b.WriteString(strconv.FormatInt(tok.ExpiresAt.UnixNano(), 10))
	}
	b.WriteByte('|')
	b.WriteString(tok.Value)
	return b.String()
}

func decode(raw string) (tokenstore.Token, bool) {
	if !strings.HasPrefix(raw, tag) {
		return tokenstore.Token{}, false
	}
	rest := raw[len(tag):]
	i := strings.IndexByte(rest, '|')
	if i < 0 {
		return tokenstore.Token{}, false
	}
	tok := tokenstore.Token{Value: rest[i+1:]}
	if i > 0 {
		ns, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return tokenstore.Token{}, false
		}
		tok.ExpiresAt = time.Unix(0, ns)
	}
	return tok, true
}

var (
	_ tokenstore.Store  = (*Store)(nil)
	_ tokenstore.Locker = (*Store)(nil)
)
