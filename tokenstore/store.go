// Package tokenstore keeps WeChat credentials: the Store interface that every backend implements, an
// in-memory Store, and Manager, which hands out expiring tokens and refreshes each of them once however
// many goroutines (and, with a Locker, processes) ask at the same time.
//
// wxopen keeps two kinds of state apart (see README, "Credentials: two kinds of state"):
//   - expiring tokens (component access token, authorizer access tokens, card api_ticket), which a
//     Manager refreshes on demand and which may live in a cache;
//   - durable credentials (the verify ticket, each authorizer's refresh token), which cannot be
//     re-created and must live in a Store that never evicts (SQL, or Redis without eviction).
//
// Both go through the same Store interface; a Token with a zero ExpiresAt never expires.
package tokenstore

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned by Store.Get when the key holds nothing. A Store must return it only for a
// miss: a failure (a Redis outage, a lost database connection) is a different error, or every instance
// would take the outage for a miss and refresh at once.
var ErrNotFound = errors.New("tokenstore: not found")

// ErrLocked is returned by Locker.TryLock when another owner holds the lock.
var ErrLocked = errors.New("tokenstore: lock held by another owner")

// Token is a credential and the time it stops being valid.
type Token struct {
	// Value is the credential itself. It is a secret: Token's String method never prints it.
	Value string
	// ExpiresAt is when WeChat stops accepting Value. The zero time means it never expires
	// (durable credentials such as refresh tokens).
	ExpiresAt time.Time
}

// IsZero reports whether t holds no value.
func (t Token) IsZero() bool { return t.Value == "" }

// Expired reports whether t is no longer valid at now. A token without an expiry never expires.
func (t Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// String describes t without its value, so that a Token printed with %v or %+v leaks nothing.
func (t Token) String() string {
	if t.ExpiresAt.IsZero() {
		return fmt.Sprintf("Token{Value: <redacted %d bytes>, no expiry}", len(t.Value))
	}
	return fmt.Sprintf("Token{Value: <redacted %d bytes>, ExpiresAt: %s}", len(t.Value), t.ExpiresAt.Format(time.RFC3339))
}

// GoString is String, for %#v.
func (t Token) GoString() string { return t.String() }

// Store keeps tokens by key. Implementations must be safe for concurrent use.
type Store interface {
	// Get returns the token stored under key, ErrNotFound when there is none (or it has expired and
	// the store drops expired entries), or another error when the store failed.
	Get(ctx context.Context, key string) (Token, error)
	// Set stores tok under key, replacing what was there. A store with expiry (Redis) keeps the token
	// until tok.ExpiresAt; a zero ExpiresAt means forever.
	Set(ctx context.Context, key string, tok Token) error
	// Delete removes key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// CompareAndDelete removes key only if it still holds value, atomically, and reports whether it
	// did. A token error thus never deletes a token that another caller has just refreshed.
	CompareAndDelete(ctx context.Context, key, value string) (bool, error)
	// CompareAndSwap stores tok under key only if key holds old, atomically, and reports whether it
	// did. An empty old means "only if key holds nothing": absent, or expired (a token past its
	// ExpiresAt counts as absent everywhere). A false result with a nil error means another value is
	// stored (or, for a non-empty old, nothing is). A non-nil error means the outcome is unknown: the
	// write may or may not have happened, and the caller settles it by reading the key (Get), never by
	// writing a remembered value again.
	//
	// Durable credentials are written only through CompareAndSwap (over the value they replace, or
	// newer than what is stored), so that a stale writer in another instance never overwrites the
	// live refresh token. With a TTL and an empty old it is also "remember this key unless it is
	// already remembered" (Redis SET NX PX), which the push handlers use to recognise a push that
	// another instance has handled.
	CompareAndSwap(ctx context.Context, key, old string, tok Token) (bool, error)
}

// Locker is implemented by stores that can serialise a refresh across processes (Redis). Manager uses
// it, when it has one, so that one process fetches a token while the others wait for it to appear in
// the Store.
type Locker interface {
	// TryLock tries once to take the lock for key for at most lease. It returns a release function on
	// success, ErrLocked when another owner holds the lock, or another error when the backend failed.
	// Release must delete the lock only if this owner still holds it.
	TryLock(ctx context.Context, key string, lease time.Duration) (release func(context.Context) error, err error)
}

type reasonKey struct{}

// WithReason returns a context that tells the Store which event or refresh writes a credential
// (for example "api_authorizer_token" or "push:component_verify_ticket"). Stores that keep an audit
// trail (sqlstore) record it; others ignore it.
func WithReason(ctx context.Context, reason string) context.Context {
	return context.WithValue(ctx, reasonKey{}, reason)
}

// Reason returns the reason set by WithReason, or "".
func Reason(ctx context.Context) string {
	r, _ := ctx.Value(reasonKey{}).(string)
	return r
}
