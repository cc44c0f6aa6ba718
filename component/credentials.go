package component

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Durable credentials (refresh tokens, authorisation records, the verify ticket) are written only by
// tokenstore.Store.CompareAndSwap: over the value they replace, or when newer than the stored one.
// A write whose outcome is unknown (the store failed after it may have applied it) is settled by
// reading the key again, never by writing a remembered value blindly, so that several instances
// sharing the credential store never put back a value another instance has replaced.

const (
	// casRounds bounds the read-and-compare-and-swap loops: each round that fails means that another
	// writer changed the key in between or that the store failed; a handful of rounds is plenty.
	casRounds = 8
	// revocationTTL is how long the record an unauthorized push leaves is kept: longer than WeChat
	// retries a push and than the push timestamp window, so that a late authorized push older than
	// the revocation is recognised, and short enough that revoked accounts do not pile up.
	revocationTTL = 24 * time.Hour
	// eventLockLease is how long an instance may hold an authorizer's event lock (a crashed holder
	// delays that authorizer's events by at most this); the work done under it (a few store calls) is
	// bounded by half.
	eventLockLease = 15 * time.Second
	// eventLockWait is how long an event waits for another instance's event on the same authorizer:
	// longer than the lease, so that a lock left by a dead instance (or whose release was lost) delays
	// the event instead of failing it. A push is handled detached from WeChat's request, and WeChat
	// retries only a few times, seconds apart: failing every delivery for a whole lease would lose it.
	// It fits in dispatchTimeout with the code exchange.
	eventLockWait = eventLockLease + 5*time.Second
	// authCodeTTL is how long an authorisation code lives (digest 1.4: the redirect's expires_in,
	// 600 in WeChat's sample; the emulator uses 600 s).
	authCodeTTL = 10 * time.Minute
)

// errSuperseded reports an authorisation event that is not applied because the credential store holds
// a newer one for the account (its CreateTime is older than the stored record's event time).
var errSuperseded = errors.New("the credential store holds a newer authorisation event")

// errContended ends a compare-and-swap loop that kept losing to other writers.
var errContended = errors.New("the value kept changing under the write")

// readCred returns the value stored under key, "" when there is none.
func (c *Client) readCred(ctx context.Context, key string) (string, error) {
	tok, err := c.creds.Get(ctx, key)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return "", nil
	}
	return tok.Value, err
}

// --- refresh tokens -------------------------------------------------------------------------------

// swapRefreshToken replaces appID's refresh token old ("" for none) by new and reports whether new is
// stored. A write whose outcome is unknown is settled by reading the key: it holds new → done; it
// holds old → compare-and-swap again; it holds anything else → another instance wrote after old was
// read (a rotation of new, or a new authorisation): ours is dropped and false is returned. An error
// means the outcome could not be settled.
func (c *Client) swapRefreshToken(ctx context.Context, appID, old, new string) (bool, error) {
	key := c.authorizerKey(appID, "refresh_token")
	ok, err := c.creds.CompareAndSwap(ctx, key, old, tokenstore.Token{Value: new})
	for range casRounds {
		if err == nil && ok {
			return true, nil
		}
		cur, rerr := c.readCred(ctx, key)
		if rerr != nil {
			return false, cmp.Or(err, rerr)
		}
		switch cur {
		case new:
			return true, nil
		case old:
		default:
			return false, nil
		}
		ok, err = c.creds.CompareAndSwap(ctx, key, old, tokenstore.Token{Value: new})
	}
	if err == nil && ok {
		return true, nil
	}
	return false, cmp.Or(err, errContended)
}

// pendingWrite is a refresh token WeChat issued whose write the store could not settle, and the
// refresh token it replaces; for an authorisation, also the authorisation and its event time.
type pendingWrite struct {
	old, new string
	auth     *Authorization // nil for a rotation
	at       time.Time
}

// keepPending remembers an unsettled rotation for the next refresh of appID.
func (c *Client) keepPending(appID, old, new string) {
	c.pending.Store(appID, &pendingWrite{old: old, new: new})
}

// settlePending settles the unsettled refresh-token write of appID, if there is one. A rotation is
// settled by a compare-and-swap over the value it replaces (swapRefreshToken): a store that holds
// something else by now means another instance wrote since, and ours is dropped. An authorisation is
// applied again as the event it is (storeAuthorization, under the event lock): a revocation or a newer
// authorisation stored since wins, and a compare-and-swap over "" cannot bring a revoked account's
// refresh token back. One kept longer than a revocation record lives is dropped (a revocation of it
// may have expired from the store).
func (c *Client) settlePending(ctx context.Context, appID string) error {
	v, ok := c.pending.Load(appID)
	if !ok {
		return nil
	}
	p := v.(*pendingWrite)
	ctx = tokenstore.WithReason(ctx, "api_authorizer_token:retry_store")
	var err error
	switch {
	case p.auth == nil:
		_, err = c.swapRefreshToken(ctx, appID, p.old, p.new)
	case c.now().Sub(p.at) < revocationTTL:
		if err = c.storeAuthorization(ctx, p.auth, p.old, p.at, false); errors.Is(err, errSuperseded) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("component: store refresh token of %s (kept in memory until the store accepts it): %w", appID, err)
	}
	c.pending.CompareAndDelete(appID, p)
	return nil
}

// SetRefreshToken stores refreshToken as appID's authorizer refresh token, for tokens obtained outside
// QueryAuth (a migration from other software, or RestoreRefreshTokens). It replaces the stored one by
// a compare-and-swap over the value read, so a rotation by another instance in between is not
// overwritten unseen: the call then fails and may be repeated. The cached access token is left alone.
func (c *Client) SetRefreshToken(ctx context.Context, appID, refreshToken string) error {
	if appID == "" {
		return wxerr.Invalid("authorizer_appid", "required")
	}
	if refreshToken == "" {
		return wxerr.Invalid("authorizer_refresh_token", "required")
	}
	ctx = withReason(ctx, "manual:set_refresh_token")
	old, err := c.readCred(ctx, c.authorizerKey(appID, "refresh_token"))
	if err != nil {
		return fmt.Errorf("component: read refresh token of %s: %w", appID, err)
	}
	ok, err := c.swapRefreshToken(ctx, appID, old, refreshToken)
	if err != nil {
		return fmt.Errorf("component: store refresh token of %s: %w", appID, err)
	}
	if !ok {
		return fmt.Errorf("component: store refresh token of %s: another instance replaced it meanwhile; not written", appID)
	}
	c.pending.Delete(appID) // superseded
	return nil
}

// --- authorisation records ------------------------------------------------------------------------

// AuthorizationRecord is what the credential store keeps about an account's authorisation, next to
// its refresh token. Records stored by wxopen v0.1 (without EventTime and Revoked) are read as
// authorisations whose event time is UpdatedAt.
type AuthorizationRecord struct {
	AuthorizerAppID string `json:"authorizer_appid"`
	// FuncScopes are the ids of the permission sets granted.
	FuncScopes []int `json:"func_scopes"`
	// UpdatedAt is when the record was written.
	UpdatedAt time.Time `json:"updated_at"`
	// EventTime is the time of the authorisation event the record reflects: the push's CreateTime,
	// or the time of the call for QueryAuth and ForgetAuthorizer called directly. An authorisation
	// event older than it is not applied.
	EventTime time.Time `json:"event_time"`
	// Revoked marks the record an unauthorized push (or ForgetAuthorizer) leaves for a day, so that
	// a late authorized push older than the revocation is not applied. StoredAuthorization reports
	// such an account as not authorised.
	Revoked bool `json:"revoked,omitempty"`
	// UserName is the account's original id (gh_…), which its message pushes carry in ToUserName.
	// AuthorizerInfo adds it to the record (binding.go), or MessageHandler at the account's first
	// push; empty until then.
	UserName string `json:"user_name,omitempty"`
}

// eventTime is EventTime, or UpdatedAt for a v0.1 record.
func (r AuthorizationRecord) eventTime() time.Time {
	if r.EventTime.IsZero() {
		return r.UpdatedAt
	}
	return r.EventTime
}

// supersedes reports whether r may replace old: its event is not older. Event times are in seconds
// (CreateTime); two events of one account within a second (a merchant does not revoke and authorise
// again that fast) are applied in the order they arrive.
func (r AuthorizationRecord) supersedes(old AuthorizationRecord) bool {
	return !r.eventTime().Before(old.eventTime())
}

// storedRecord is the record as stored: AuthorizationRecord and the id of the refresh token the
// authorisation installed.
type storedRecord struct {
	AuthorizationRecord
	// RefreshTokenID identifies the refresh token the authorisation wrote (tokenID; not the secret):
	// a later authorisation replaces that token, while a token the record does not name (a rotation)
	// is left to stand when its origin is unknown.
	RefreshTokenID string `json:"refresh_token_id,omitempty"`
}

// tokenID identifies a refresh token without revealing it: 64 bits of its SHA-256.
func tokenID(rt string) string {
	sum := sha256.Sum256([]byte(rt))
	return hex.EncodeToString(sum[:8])
}

// decodeRecord decodes a stored record; ok is false for "" or a value that is not a record.
func decodeRecord(s string) (rec storedRecord, ok bool) {
	if s == "" || json.Unmarshal([]byte(s), &rec) != nil {
		return storedRecord{}, false
	}
	return rec, true
}

// recordBefore reads appID's record and returns it (as stored, "" for none) when rec may replace it,
// or errSuperseded when the stored record is newer. With force, the order is not checked.
func (c *Client) recordBefore(ctx context.Context, appID string, rec AuthorizationRecord, force bool) (string, error) {
	cur, err := c.readCred(ctx, c.authorizerKey(appID, "authorization"))
	if err != nil {
		return "", fmt.Errorf("component: read authorisation record of %s: %w", appID, err)
	}
	if old, ok := decodeRecord(cur); ok && !force && !rec.supersedes(old.AuthorizationRecord) {
		return "", errSuperseded
	}
	return cur, nil
}

// putRecord writes rec as appID's record by a compare-and-swap over old (the value recordBefore
// returned), settling a failed or unknown write by reading: the record is rec → done; it is newer than
// rec → errSuperseded; otherwise compare-and-swap again over what is stored.
func (c *Client) putRecord(ctx context.Context, appID, old string, rec storedRecord) error {
	key := c.authorizerKey(appID, "authorization")
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("component: encode authorisation record of %s: %w", appID, err)
	}
	tok := tokenstore.Token{Value: string(b)}
	if rec.Revoked {
		tok.ExpiresAt = time.Now().Add(revocationTTL) // the store's clock
	}
	ok, err := c.creds.CompareAndSwap(ctx, key, old, tok)
	for range casRounds {
		if err == nil && ok {
			return nil
		}
		cur, rerr := c.readCred(ctx, key)
		if rerr != nil {
			return fmt.Errorf("component: store authorisation record of %s: %w", appID, cmp.Or(err, rerr))
		}
		if cur == tok.Value {
			return nil
		}
		if stored, ok := decodeRecord(cur); ok && !rec.supersedes(stored.AuthorizationRecord) {
			return errSuperseded
		}
		old = cur
		ok, err = c.creds.CompareAndSwap(ctx, key, old, tok)
	}
	if err == nil && ok {
		return nil
	}
	return fmt.Errorf("component: store authorisation record of %s: %w", appID, cmp.Or(err, errContended))
}

// StoredAuthorization returns the authorisation record kept for appID, or an error wrapping
// wxerr.ErrNotAuthorized when there is none or the account revoked its authorisation.
func (c *Client) StoredAuthorization(ctx context.Context, appID string) (*AuthorizationRecord, error) {
	if appID == "" {
		return nil, wxerr.Invalid("authorizer_appid", "required")
	}
	s, err := c.readCred(ctx, c.authorizerKey(appID, "authorization"))
	if err != nil {
		return nil, fmt.Errorf("component: read authorisation record of %s: %w", appID, err)
	}
	if s == "" {
		return nil, fmt.Errorf("authorizer %s: %w", appID, wxerr.ErrNotAuthorized)
	}
	var rec AuthorizationRecord
	if err := json.Unmarshal([]byte(s), &rec); err != nil {
		return nil, fmt.Errorf("component: decode authorisation record of %s: %w", appID, err)
	}
	if rec.Revoked {
		return nil, fmt.Errorf("authorizer %s (revoked %s): %w", appID, rec.eventTime().Format(time.RFC3339), wxerr.ErrNotAuthorized)
	}
	return &rec, nil
}

// storedIsNewer reports whether appID's stored record is newer than an authorisation event at at, so
// that an authorized push older than it is not even exchanged.
func (c *Client) storedIsNewer(ctx context.Context, appID string, at time.Time) (bool, error) {
	_, err := c.recordBefore(ctx, appID, AuthorizationRecord{EventTime: at}, false)
	if errors.Is(err, errSuperseded) {
		return true, nil
	}
	return false, err
}

// authorisedSince reports whether appID's stored record is an authorisation (not a revocation) of an
// event at since or later. A store failure counts as no.
func (c *Client) authorisedSince(ctx context.Context, appID string, since time.Time) bool {
	s, err := c.readCred(ctx, c.authorizerKey(appID, "authorization"))
	rec, ok := decodeRecord(s)
	return err == nil && ok && !rec.Revoked && !rec.eventTime().Before(since)
}

// --- authorisation events -------------------------------------------------------------------------

// lockEvents takes appID's event lock in the credential store (a compare-and-swap over nothing with a
// TTL, which every store supports), so that the authorisation events of one account are applied one at
// a time across instances: each reads the record, compares event times, and writes the refresh token
// and the record. Rotations do not take it (they are ordered by their compare-and-swap over the
// refresh token sent). The lock lapses after eventLockLease if its holder dies; the returned context
// ends before that.
func (c *Client) lockEvents(ctx context.Context, appID string) (context.Context, func(), error) {
	key := c.authorizerKey(appID, "event_lock")
	var b [16]byte
	_, _ = rand.Read(b[:])
	owner := hex.EncodeToString(b[:])
	deadline := time.Now().Add(eventLockWait)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		ok, err := c.creds.CompareAndSwap(ctx, key, "", tokenstore.Token{Value: owner, ExpiresAt: time.Now().Add(eventLockLease)})
		if err != nil { // unknown outcome: read it back
			cur, rerr := c.readCred(ctx, key)
			if rerr != nil {
				return nil, nil, fmt.Errorf("component: take the event lock of %s: %w", appID, err)
			}
			ok = cur == owner
		}
		if ok {
			lctx, cancel := context.WithTimeout(ctx, eventLockLease/2)
			return lctx, func() {
				cancel()
				uctx := context.WithoutCancel(ctx)
				// A release whose answer is lost or refused is tried once more while the lock is still
				// ours, so that a store blip does not hold the account's next event for a whole lease.
				if _, err := c.creds.CompareAndDelete(uctx, key, owner); err != nil {
					if cur, rerr := c.readCred(uctx, key); rerr == nil && cur == owner {
						_, _ = c.creds.CompareAndDelete(uctx, key, owner)
					}
				}
			}, nil
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("component: the event lock of %s is held by another instance", appID)
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// storeAuthorization applies an exchanged authorisation as an event at at, under the account's event
// lock: unless the stored record is newer (errSuperseded), the refresh token is written
// (putAuthorizedRefreshToken) and then the record; then the access token is cached. old is the refresh
// token stored before the exchange ("" for none); fresh means that no earlier attempt can have written
// a.RefreshToken (this call exchanged the code). A write that cannot be settled is kept in memory and
// settled on the next refresh.
func (c *Client) storeAuthorization(ctx context.Context, a *Authorization, old string, at time.Time, fresh bool) error {
	appID := a.AuthorizerAppID
	ctx, unlock, err := c.lockEvents(ctx, appID)
	if err != nil {
		return err
	}
	defer unlock()
	rec := storedRecord{AuthorizationRecord{AuthorizerAppID: appID, FuncScopes: a.FuncScopes(), UpdatedAt: c.now().UTC(), EventTime: at.UTC()},
		tokenID(a.RefreshToken)}
	recOld, err := c.recordBefore(ctx, appID, rec.AuthorizationRecord, false)
	if err != nil {
		return err
	}
	prev, _ := decodeRecord(recOld)
	rec.UserName = prev.UserName // the account's original id does not change
	applied, err := c.putAuthorizedRefreshToken(ctx, appID, old, a.RefreshToken, prev.RefreshTokenID, fresh)
	if err != nil {
		kept := *a
		kept.AccessToken = "" // stale by the time it is settled: that refresh fetches its own
		c.pending.Store(appID, &pendingWrite{old: old, new: a.RefreshToken, auth: &kept, at: at})
		return fmt.Errorf("component: store refresh token of %s (kept in memory until the store accepts it): %w", appID, err)
	}
	c.pending.Delete(appID) // superseded by this authorisation
	if err := c.putRecord(ctx, appID, recOld, rec); err != nil {
		return err
	}
	if applied && a.AccessToken != "" {
		if err := c.authzTokens.Set(ctx, c.authorizerKey(appID, "access_token"), tokenstore.Token{Value: a.AccessToken, ExpiresAt: a.ExpiresAt}); err != nil {
			return fmt.Errorf("component: store access token of %s: %w", appID, err)
		}
	}
	return nil
}

// putAuthorizedRefreshToken writes the refresh token new of the newest authorisation (the caller holds
// the event lock and checked the record) by a compare-and-swap over the token read, and reports whether
// new is stored. While no write of new can have landed (fresh, and no write failed yet), any stored
// token is replaced: it belongs to an older authorisation or is a rotation of one. Once one may have
// landed (a retried delivery, or a write whose answer was lost), a stored token other than old, nothing
// or the one the stored record installed (prevID) may be a rotation of new by another instance: it
// stands (false), and new is dropped.
func (c *Client) putAuthorizedRefreshToken(ctx context.Context, appID, old, new, prevID string, fresh bool) (bool, error) {
	key := c.authorizerKey(appID, "refresh_token")
	var err error
	for range casRounds {
		cur, rerr := c.readCred(ctx, key)
		if rerr != nil {
			return false, cmp.Or(err, rerr)
		}
		if cur == new {
			return true, nil
		}
		if !fresh && cur != old && cur != "" && (prevID == "" || tokenID(cur) != prevID) {
			return false, nil
		}
		var ok bool
		if ok, err = c.creds.CompareAndSwap(ctx, key, cur, tokenstore.Token{Value: new}); err == nil && ok {
			return true, nil
		}
		if err != nil {
			fresh = false // the write may have landed
		}
	}
	return false, cmp.Or(err, errContended)
}

// ForgetAuthorizer drops what is kept for appID: its refresh token, its access token (store and
// in-process copy) and its authorisation record, which becomes a revocation record for a day (so that
// a late authorized push older than now is not applied). Handler does the same on an unauthorized push
// unless a newer authorisation is stored. A refresh of the account's access token that is waiting for
// WeChat meanwhile writes no refresh token back. Every deletion is attempted; the errors are joined.
func (c *Client) ForgetAuthorizer(ctx context.Context, appID string) error {
	if appID == "" {
		return wxerr.Invalid("authorizer_appid", "required")
	}
	_, err := c.forget(withReason(ctx, "manual:forget_authorizer"), appID, c.now().Truncate(time.Second), true)
	return err
}

// forget applies a revocation at at (unless force, only if newer than the stored record): the record
// becomes a revocation record, the refresh token is deleted by compare-and-delete of the value read,
// and the access token is dropped. It reports whether the revocation was applied.
func (c *Client) forget(ctx context.Context, appID string, at time.Time, force bool) (bool, error) {
	var errs []error
	lctx, unlock, err := c.lockEvents(ctx, appID)
	if err != nil {
		return false, err
	}
	tomb := storedRecord{AuthorizationRecord: AuthorizationRecord{AuthorizerAppID: appID, UpdatedAt: c.now().UTC(), EventTime: at.UTC(), Revoked: true}}
	old, err := c.recordBefore(lctx, appID, tomb.AuthorizationRecord, force)
	if errors.Is(err, errSuperseded) {
		unlock()
		return false, nil
	}
	if err == nil {
		if stored, ok := decodeRecord(old); ok {
			tomb.UserName = stored.UserName
			if force && stored.eventTime().After(at) {
				tomb.EventTime = stored.eventTime() // a manual revocation wins over a record from WeChat's clock
			}
		}
		err = c.putRecord(lctx, appID, old, tomb)
	}
	if err != nil {
		errs = append(errs, err)
	}
	if err := c.dropRefreshToken(lctx, appID); err != nil {
		errs = append(errs, err)
	}
	c.pending.Delete(appID)
	unlock()
	if cur, err := c.readCred(ctx, c.authorizerKey(appID, "authorization")); err == nil {
		if rec, ok := decodeRecord(cur); ok && !rec.Revoked {
			// A newer authorisation took over since the lock was released: its access token stays.
			return true, errors.Join(errs...)
		}
	}
	key := c.authorizerKey(appID, "access_token")
	if len(errs) == 0 {
		// A refresh that passed its write-back just before may still be storing its access token:
		// wait for it (joining it costs nothing; a new one finds no refresh token and sends nothing).
		_, _ = c.authzTokens.Token(ctx, key)
	}
	if err := c.authzTokens.Delete(ctx, key); err != nil {
		errs = append(errs, fmt.Errorf("component: delete access token of %s: %w", appID, err))
	}
	return true, errors.Join(errs...)
}

// dropRefreshToken deletes appID's refresh token by compare-and-delete of the value read, again while
// a rotation replaces it in between.
func (c *Client) dropRefreshToken(ctx context.Context, appID string) error {
	key := c.authorizerKey(appID, "refresh_token")
	var err error
	for range casRounds {
		cur, rerr := c.readCred(ctx, key)
		if rerr != nil {
			return fmt.Errorf("component: delete refresh_token of %s: %w", appID, cmp.Or(err, rerr))
		}
		if cur == "" {
			return nil
		}
		var ok bool
		if ok, err = c.creds.CompareAndDelete(ctx, key, cur); err == nil && ok {
			return nil
		}
	}
	return fmt.Errorf("component: delete refresh_token of %s: %w", appID, cmp.Or(err, errContended))
}

// --- verify ticket --------------------------------------------------------------------------------

// storeVerifyTicket stores ticket, valid until expires, unless the stored ticket is newer (it expires
// in a later second: a late push of an older ticket must not replace a newer one; within a second the
// later arrival wins). It reports whether ticket is now stored. The compare-and-swap is over the stored
// ticket; a failed or unknown write is settled by reading again.
func (c *Client) storeVerifyTicket(ctx context.Context, ticket string, expires time.Time) (bool, error) {
	key := c.verifyTicketKey()
	var err error
	for range casRounds {
		cur, rerr := c.creds.Get(ctx, key)
		if rerr != nil && !errors.Is(rerr, tokenstore.ErrNotFound) {
			return false, fmt.Errorf("component %s: store verify ticket: %w", c.appID, cmp.Or(err, rerr))
		}
		if cur.Value == ticket {
			return true, nil
		}
		if !cur.IsZero() && !cur.Expired(c.now()) && cur.ExpiresAt.Unix() > expires.Unix() {
			return false, nil
		}
		var ok bool
		if ok, err = c.creds.CompareAndSwap(ctx, key, cur.Value, tokenstore.Token{Value: ticket, ExpiresAt: expires}); err == nil && ok {
			return true, nil
		}
	}
	return false, fmt.Errorf("component %s: store verify ticket: %w", c.appID, cmp.Or(err, errContended))
}
