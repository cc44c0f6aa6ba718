// Package rollout takes a template version to a fleet of merchants' mini programs: commit with each
// merchant's ext_json, privacy guide, readiness, submit_audit within the platform's audit quota,
// audit result (push, or polled status), then a full, grey or wave release.
//
// Every merchant has a durable state machine in a Store (memory, or SQL in rollout/sqlstore). Work
// is claimed by lease, so any number of instances run the same rollout and a dead instance's work is
// taken over when its lease ends; no goroutine owns the run. The work is leased rows in the Store
// rather than a job-queue library because the platform already runs that one store (next to its
// credentials), each merchant's step is a conditional write of its own row (with its quota change in
// the same transaction), and no other infrastructure is needed. Each step that calls WeChat first
// writes an intent state (submitting, releasing, promoting, reverting) under the lease; a call whose
// outcome is unknown is settled by reading WeChat (get_latest_auditstatus, getversioninfo,
// getgrayreleaseplan) before anything is sent again, so a merchant is never submitted or released
// twice for one attempt. A call that did not reach WeChat (system busy, a lost connection) is sent
// again after a wait that doubles from Config.RetryEvery, and the merchant fails with the error after
// Config.MaxRetries; a merchant with another version under review is skipped at the audit_pending
// gate (WeChat refuses its submit_audit with 85009 until that audit ends).
//
//	r := rollout.NewRunner(rollout.Config{Store: store, MiniProgram: p.MiniProgram, Component: p.Component()})
//	err := r.Start(ctx, ro)   // plan the merchants (idempotent: every instance may call it)
//	err = r.Work(ctx, ro)     // on every instance, until the rollout is finished
//
// Feed the message handler's audit pushes to Runner.OnAuditSuccess and Runner.OnAuditFail; a push
// that never comes is made up for by polling get_latest_auditstatus every PollEvery.
package rollout

import (
	"context"
	"errors"
	"time"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Rollout is one template version taken to a set of merchants. Every instance builds the same
// Rollout in code (its callbacks cannot be stored); the Store keeps its progress under ID.
type Rollout struct {
	// ID names the rollout in the Store ("tpl-42-v1.3.0").
	ID string
	// TemplateID is the code template to commit.
	TemplateID int64
	// UserVersion and UserDesc are the commit's version and description. UserVersion is also how
	// the rollout recognises its own audit and release when it settles an unknown outcome.
	UserVersion, UserDesc string
	// Targets are the merchants.
	Targets Targets
	// ExtJSON returns the ext_json of a merchant's commit (a miniprogram.ExtJSON, a map or a
	// json.RawMessage); nil commits the template as is.
	ExtJSON func(ctx context.Context, appID string) (any, error)
	// Priority orders the merchants: higher first, for the audit quota and the first wave. nil
	// gives every merchant 0 (then by appid).
	Priority func(appID string) int
	// Privacy, when not nil, declares each merchant's privacy guide after the commit.
	Privacy *PrivacyPolicy
	// Audit is how audits are submitted.
	Audit AuditPolicy
	// Release is how approved versions are released.
	Release ReleasePolicy
	// CheckReadiness reads the readiness gates (miniprogram.Readiness) before submitting and skips
	// a merchant whose submit gates (other than the quota) are closed, recording them.
	CheckReadiness bool
}

// Targets selects the merchants of a rollout: AppIDs when not empty, otherwise every authorizer of
// the platform (component.Client.AllAuthorizers) that Filter (when not nil) accepts.
type Targets struct {
	AppIDs []string
	Filter func(component.AuthorizerListItem) bool
}

// PrivacyPolicy declares a merchant's privacy guide from a platform-wide template
// (miniprogram.PrivacyService.DeclareGuide).
type PrivacyPolicy struct {
	Template miniprogram.PrivacyGuideTemplate
	// Owner returns the merchant's contacts; nil uses Template.Owner alone.
	Owner func(ctx context.Context, appID string) (miniprogram.PrivacyOwner, error)
}

// AuditPolicy is how audits are submitted.
type AuditPolicy struct {
	// Request builds a merchant's submit_audit (item list, preview media, version description);
	// nil is FirstPageRequest.
	Request func(ctx context.Context, mp *miniprogram.Client, appID string) (miniprogram.SubmitAuditRequest, error)
	// SpeedUps is how many audits of this rollout may be expedited (speedupaudit), in priority
	// order; 0 expedites none.
	SpeedUps int
}

// ReleaseMode is how an approved version goes live.
type ReleaseMode int

// Release modes.
const (
	// ReleaseFull releases each approved version at once.
	ReleaseFull ReleaseMode = iota
	// ReleaseGrey starts a grey release of GreyPercent, then releases fully after GreyFor (or when
	// the operator promotes the rollout, PromoteGrey).
	ReleaseGrey
)

// ReleasePolicy is how approved versions are released.
type ReleasePolicy struct {
	Mode ReleaseMode
	// GreyPercent is the grey share (1-100) of ReleaseGrey.
	GreyPercent int
	// GreyFor is how long a merchant stays grey before its full release; 0 waits for PromoteGrey.
	GreyFor time.Duration
	// FirstWave, when > 0, releases only the first FirstWave merchants (by Priority) at first; the
	// others wait, approved, until every merchant of the first wave is final and then WaveDelay has
	// passed, or until the operator opens the next wave (OpenWave). WaveDelay 0 waits for OpenWave.
	FirstWave int
	WaveDelay time.Duration
}

func (ro *Rollout) validate() error {
	switch {
	case ro.ID == "" || len(ro.ID) > 64:
		return wxerr.Invalid("ID", "1 to 64 characters")
	case ro.TemplateID <= 0:
		return wxerr.Invalid("TemplateID", "a template id")
	case ro.UserVersion == "":
		return wxerr.Invalid("UserVersion", "required")
	case ro.Release.Mode == ReleaseGrey && (ro.Release.GreyPercent < 1 || ro.Release.GreyPercent > 100):
		return wxerr.Invalid("Release.GreyPercent", "1 to 100")
	case ro.Release.FirstWave < 0 || ro.Audit.SpeedUps < 0:
		return wxerr.Invalid("Release.FirstWave", "not negative")
	}
	return nil
}

// State is where a merchant stands in a rollout.
type State string

// Merchant states. The -ing states are intents, written before the call they name.
const (
	Planned    State = "planned"     // to commit
	Committed  State = "committed"   // to declare the privacy guide
	PrivacySet State = "privacy_set" // to submit (waits here for audit quota)
	Submitting State = "submitting"  // submit_audit sent or about to be
	Submitted  State = "submitted"   // under review (AuditID)
	Approved   State = "approved"    // to release (waits here for its wave)
	Releasing  State = "releasing"   // release or grayrelease sent or about to be
	Grey       State = "grey"        // grey release running, to promote
	Promoting  State = "promoting"   // full release of a grey one sent or about to be
	Released   State = "released"    // live
	Rejected   State = "rejected"    // audit rejected (Reason, ScreenShots); Retry resubmits
	Skipped    State = "skipped"     // readiness gates closed (Gates)
	Failed     State = "failed"      // an error WeChat will not fix by itself (Error)
	Reverting  State = "reverting"   // revertcoderelease sent or about to be
	Reverted   State = "reverted"    // the release was reverted by the operator
)

// States lists every state in pipeline order.
var States = []State{Planned, Committed, PrivacySet, Submitting, Submitted, Approved, Releasing, Grey, Promoting,
	Released, Rejected, Skipped, Failed, Reverting, Reverted}

// Final reports whether no further step is taken without the operator.
func (s State) Final() bool {
	switch s {
	case Released, Rejected, Skipped, Failed, Reverted:
		return true
	}
	return false
}

// Merchant is the durable state of one merchant in one rollout.
type Merchant struct {
	RunID, AppID string
	State        State
	// Priority orders claims (higher first); Wave is 0 for the first wave, 1 for the rest.
	Priority, Wave int
	// Attempt counts submissions: Retry raises it.
	Attempt int
	// Retries counts the tries of the current step that met a temporary error or a lost answer
	// (Config.MaxRetries bounds them); it starts again at 0 when the merchant moves on.
	Retries int
	// AuditID is the current audit; PrevAuditID the one before this attempt's submit (so an
	// unknown submit is recognised by a new audit id).
	AuditID, PrevAuditID int64
	// QuotaMonth is the month whose audit quota the current submission reserved.
	QuotaMonth string
	// Reason and ScreenShots are WeChat's rejection.
	Reason      string
	ScreenShots []string
	// Gates are the closed readiness gates of a skipped merchant.
	Gates []string
	// Error is the last error (of a failed merchant, or the last one retried).
	Error string
	// NextAt is when the merchant is next due; Pushed notes an audit push seen ("success", "fail").
	NextAt time.Time
	Pushed string
	// Since is when the merchant entered State; Updated its last write.
	Since, Updated time.Time
	// Version is the row version the store checks on every write.
	Version int64
}

// Transition is one line of a merchant's history.
type Transition struct {
	At       time.Time
	From, To State
	Detail   string
	Instance string
}

// RunStatus is the operator's control of a rollout.
type RunStatus string

// Run statuses.
const (
	Running   RunStatus = "running"
	Paused    RunStatus = "paused"
	Cancelled RunStatus = "cancelled"
	Done      RunStatus = "done"
)

// Run is the durable run-level state of a rollout.
type Run struct {
	ID     string
	Status RunStatus
	// TemplateID and UserVersion are recorded for the operator page.
	TemplateID  int64
	UserVersion string
	Created     time.Time
	// WaveOpen is when the second wave may release (zero: not yet known).
	WaveOpen time.Time
	// Promote is set when the operator promotes every grey merchant to full.
	Promote bool
	// QuotaWaitUntil is when the audit quota is next read after it ran out (85085).
	QuotaWaitUntil time.Time
	Version        int64
}

// ErrLeaseLost is returned when a write finds the merchant's lease taken over (or the row changed
// under the writer): the writer must drop its work, the new owner settles it.
var ErrLeaseLost = errors.New("rollout: lease lost")

// ErrNotFound is returned for an unknown rollout or merchant.
var ErrNotFound = errors.New("rollout: not found")
