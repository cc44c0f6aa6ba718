package rollout

import (
	"context"
	"errors"
	"time"
)

// Store keeps rollouts durably and hands out merchants by lease. Implementations: NewMemoryStore
// (one process) and rollout/sqlstore (MySQL/MariaDB, PostgreSQL; many instances). Every merchant
// write is conditional on the writer's lease and the row version it read, so an instance whose lease
// was taken over cannot write.
type Store interface {
	// CreateRun stores r unless a run with its ID exists, and returns the stored run.
	CreateRun(ctx context.Context, r Run) (Run, error)
	// Run returns the run id (ErrNotFound).
	Run(ctx context.Context, id string) (Run, error)
	// UpdateRun writes r if the stored version is still r.Version (ErrLeaseLost otherwise).
	UpdateRun(ctx context.Context, r Run) (Run, error)

	// DeleteRun deletes the run id with its merchants and their history (the quota account and
	// counters of other runs stay).
	DeleteRun(ctx context.Context, id string) error

	// AddMerchants stores the merchants that are not stored yet and returns how many it added.
	AddMerchants(ctx context.Context, ms []Merchant) (int, error)
	// Claim leases to owner, until now+lease, up to n merchants of the run that are due (NextAt
	// reached), not final, and not leased (or whose lease ended), highest Priority first.
	Claim(ctx context.Context, runID, owner string, now time.Time, lease time.Duration, n int) ([]Merchant, error)
	// ClaimApp leases one merchant whatever its state (ErrLeaseLost when another lease holds it).
	ClaimApp(ctx context.Context, runID, appID, owner string, now time.Time, lease time.Duration) (Merchant, error)
	// Save writes m (and appends t to its history when t is not nil) if owner still holds its
	// lease at now and the row is at m.Version, extends the lease to now+lease and returns m at its
	// new version; otherwise ErrLeaseLost. q, when not zero, changes the audit quota account in
	// the same transaction: a reservation that finds no quota left fails the whole write with
	// ErrNoQuota.
	Save(ctx context.Context, m Merchant, owner string, now time.Time, lease time.Duration, t *Transition, q QuotaOp) (Merchant, error)
	// Unclaim ends owner's lease on m (a no-op when owner no longer holds it).
	Unclaim(ctx context.Context, m Merchant, owner string) error
	// Hint marks the merchants of appID under review in any run as pushed (kind) and due at now.
	// It does not need a lease: it touches only Pushed and NextAt.
	Hint(ctx context.Context, appID, kind string, now time.Time) (int, error)
	// Retry moves the unleased merchants of the run in one of states back to Planned with the
	// next attempt (Retries 0), due at now, and returns how many it moved.
	Retry(ctx context.Context, runID string, states []State, now time.Time) (int, error)

	// Merchant returns one merchant (ErrNotFound).
	Merchant(ctx context.Context, runID, appID string) (Merchant, error)
	// Merchants lists up to limit merchants of the run in state (any when ""), by appid after after.
	Merchants(ctx context.Context, runID string, state State, after string, limit int) ([]Merchant, error)
	// History returns the transitions of one merchant, oldest first.
	History(ctx context.Context, runID, appID string) ([]Transition, error)
	// Counts returns the number of merchants per state; wave >= 0 counts that wave only.
	Counts(ctx context.Context, runID string, wave int) (map[State]int, error)

	// RefillAudit sets the ceiling to seen.Used + rest (rest from a queryquota read after seen was
	// read with AuditQuota) if the account is still exactly seen and has no unsettled
	// reservation, so a submission made between the two reads is not counted twice; with no
	// account yet (seen zero) it creates one. It reports whether it wrote.
	RefillAudit(ctx context.Context, scope, month string, seen Quota, rest int) (bool, error)
	// AuditQuota returns the quota row of scope in month (zero when none).
	AuditQuota(ctx context.Context, scope, month string) (Quota, error)
	// Reserve takes one unit of the counter key while it is below limit (speed-up budgets).
	Reserve(ctx context.Context, key string, limit int) (bool, error)
	// Unreserve gives back one unit of the counter key taken by Reserve (a call WeChat refused
	// without spending it); the counter never goes below 0.
	Unreserve(ctx context.Context, key string) error
}

// Quota is the shared audit quota account of a platform for a month: Used reservations, of which
// Settled are known to WeChat, under Ceiling (the last queryquota rest plus what was used then).
type Quota struct {
	Used, Settled, Ceiling int
}

// Left is how many submissions may still be reserved.
func (q Quota) Left() int { return max(q.Ceiling-q.Used, 0) }

// QuotaOp is a change of the audit quota account of Scope (the platform) in Month, made with a
// merchant's state change.
type QuotaOp struct {
	Scope, Month string
	Op           QuotaChange
}

// QuotaChange is what a QuotaOp does.
type QuotaChange int

// Quota changes.
const (
	// QuotaNone changes nothing.
	QuotaNone QuotaChange = iota
	// QuotaReserve takes one submission while Used < Ceiling (entering Submitting).
	QuotaReserve
	// QuotaCount settles a reservation WeChat counted (Submitting → Submitted).
	QuotaCount
	// QuotaGiveBack settles a reservation WeChat did not count (Submitting → anything else).
	QuotaGiveBack
)

// ErrNoQuota is Save's error when a reservation finds the audit quota used up.
var ErrNoQuota = errors.New("rollout: audit quota used up")
