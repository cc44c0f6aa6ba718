package wxtest

// Automatic audit review, for fleet tests: the emulator's reviewers decide every audit once it has
// been under review for a while on the emulator clock, reject a configurable share with reasons, and
// may drop a share of the result pushes (WeChat's pushes are sometimes lost), so a platform's polling
// fallback is exercised. ReviewDue runs them; nothing happens in the background.

import (
	"context"
	"errors"
	"hash/fnv"
	"strconv"
	"time"
)

// AuditReview is how the emulator's reviewers decide audits on their own (SetAuditReview).
type AuditReview struct {
	// After is how long an audit stays under review on the emulator clock before ReviewDue decides it.
	After time.Duration
	// RejectShare (0 to 1) is the share of audits rejected; which ones follows from a hash of the
	// appid and auditid, so a run is repeatable.
	RejectShare float64
	// Reasons are the rejection reasons, picked by the same hash; empty takes WeChat's generic one.
	Reasons []string
	// DropPushShare (0 to 1) is the share of result pushes that are never sent.
	DropPushShare float64
}

// CodeCounts are per-mini-program counters of the code pipeline, for tests that check a platform
// never submits or releases twice.
type CodeCounts struct {
	// Audits is the number of accepted submit_audit calls.
	Audits int
	// Releases is the number of successful release calls (grey releases are not counted).
	Releases int
	// GrayReleases is the number of successful grayrelease calls.
	GrayReleases int
	// SubmitCalls and ReleaseCalls count the submit_audit and release calls that passed the token
	// check, refused ones included: SubmitCalls - Audits were refused (85085, 85009, a gate...).
	SubmitCalls, ReleaseCalls int
}

// reviewState is this file's state, kept on the Server with groupState.
type reviewState struct {
	policy  AuditReview
	on      bool
	dropped int
}

func (s *Server) review() *reviewState {
	return groupState(s, func() *reviewState { return &reviewState{} })
}

// SetAuditReview turns automatic review on with r (After must be positive), or off with the zero
// AuditReview. Audit and DelayAudit keep working either way.
func (s *Server) SetAuditReview(r AuditReview) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.review()
	st.policy, st.on = r, r.After > 0
}

// DroppedPushes returns how many audit result pushes ReviewDue dropped.
func (s *Server) DroppedPushes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.review().dropped
}

// Counts returns the code pipeline counters of the mini program appID.
func (s *Server) Counts(appID string) CodeCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.mp().apps[appID]
	if app == nil {
		return CodeCounts{}
	}
	return CodeCounts{Audits: len(app.audits), Releases: int(app.nextAppVersion), GrayReleases: s.auditOps(appID).grays,
		SubmitCalls: app.submitCalls, ReleaseCalls: app.releaseCalls}
}

// share maps appID and auditID to [0, 1) for the salt.
func share(appID string, auditID int64, salt string) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(salt + "\x00" + appID + "\x00" + strconv.FormatInt(auditID, 10)))
	return float64(h.Sum64()%1_000_000) / 1_000_000
}

// ReviewDue decides, with the SetAuditReview policy, every audit that has been under review (or
// delayed) for at least After, and pushes the results except the dropped share. It returns how
// many audits it decided; push errors are joined.
func (s *Server) ReviewDue(ctx context.Context) (int, error) {
	now := s.Now()
	type due struct {
		appID   string
		approve bool
		reason  string
		drop    bool
	}
	var list []due
	s.mu.Lock()
	st := s.review()
	if !st.on {
		s.mu.Unlock()
		return 0, nil
	}
	p := st.policy
	for appID, app := range s.mp().apps {
		au := app.latest
		if au == nil || (au.status != auditReviewing && au.status != auditDelayed) || now.Before(au.submitTime.Add(p.After)) {
			continue
		}
		d := due{appID: appID, approve: share(appID, au.id, "reject") >= p.RejectShare,
			drop: share(appID, au.id, "drop") < p.DropPushShare}
		if !d.approve && len(p.Reasons) > 0 {
			d.reason = p.Reasons[int(share(appID, au.id, "reason")*float64(len(p.Reasons)))]
		}
		if d.drop {
			st.dropped++
		}
		list = append(list, d)
	}
	s.mu.Unlock()
	var errs []error
	for _, d := range list {
		msg, err := s.decideAudit(now, d.appID, d.approve, d.reason)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !d.drop {
			errs = append(errs, s.PushAuthorizerEvent(ctx, d.appID, msg))
		}
	}
	return len(list), errors.Join(errs...)
}
