package rollout

import (
	"context"
	"strconv"
	"time"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

// The release steps: release or grey release, promotion, revert, and the settling of each by
// reading WeChat.

func (s *job) release(cctx, ctx context.Context, m Merchant) (Merchant, error) {
	now := s.r.cfg.Now()
	if m.Wave > 0 {
		open := s.run.WaveOpen
		if open.IsZero() || now.Before(open) {
			wait := s.r.cfg.PollEvery
			if !open.IsZero() {
				wait = min(wait, open.Sub(now))
			}
			return s.park(ctx, m, max(wait, time.Second), "waiting for the next wave")
		}
	}
	m.Error = ""
	intent, err := s.move(ctx, m, Releasing, "", QuotaOp{})
	if err != nil {
		return m, err
	}
	m = intent
	if s.ro.Release.Mode == ReleaseGrey {
		err = s.mp.GrayRelease(cctx, miniprogram.GrayReleaseRequest{Percentage: s.ro.Release.GreyPercent})
	} else {
		err = s.mp.Release(cctx)
	}
	return s.released(cctx, ctx, m, err)
}

// released records the answer of release or grayrelease.
func (s *job) released(cctx, ctx context.Context, m Merchant, err error) (Merchant, error) {
	switch {
	case err == nil && m.State == Releasing && s.ro.Release.Mode == ReleaseGrey:
		m.NextAt = s.r.cfg.Now().Add(s.greyWait())
		return s.move(ctx, m, Grey, strconv.Itoa(s.ro.Release.GreyPercent)+"%", QuotaOp{})
	case err == nil, wxerr.CodeOf(err) == wxerr.CodeAlreadyReleased:
		return s.move(ctx, m, Released, "", QuotaOp{})
	case permanent(err):
		m.Error = "release: " + err.Error()
		return s.move(ctx, m, Failed, m.Error, QuotaOp{})
	}
	m.Error = "release: " + err.Error() // unknown outcome: read before sending again
	if m.State == Promoting {
		return s.settlePromote(cctx, ctx, m)
	}
	return s.settleRelease(cctx, ctx, m)
}

func (s *job) greyWait() time.Duration {
	if s.ro.Release.GreyFor > 0 {
		return s.ro.Release.GreyFor
	}
	return s.r.cfg.PollEvery
}

// settleRelease reads WeChat to learn whether this merchant's release (or grey release) happened.
func (s *job) settleRelease(cctx, ctx context.Context, m Merchant) (Merchant, error) {
	plan, err := s.mp.GrayReleasePlan(cctx)
	if err != nil {
		return s.retry(ctx, m, m.State, "settling release: "+err.Error())
	}
	vi, err := s.mp.VersionInfo(cctx)
	if err != nil {
		return s.retry(ctx, m, m.State, "settling release: "+err.Error())
	}
	live := vi.Release != nil && vi.Release.Version == s.ro.UserVersion
	switch {
	case live && plan.Status == miniprogram.GrayRunning:
		m.NextAt = s.r.cfg.Now().Add(s.greyWait())
		return s.move(ctx, m, Grey, "settled by reading", QuotaOp{})
	case live:
		return s.move(ctx, m, Released, "settled by reading", QuotaOp{})
	}
	return s.retry(ctx, m, Approved, unsent(m, "release"))
}

// unsent is why a call whose outcome was settled by reading is sent again: its error, or the
// answer its instance never got.
func unsent(m Merchant, call string) string {
	why := m.Error
	if why == "" {
		why = call + ": no answer"
	}
	return why + "; it did not reach WeChat"
}

func (s *job) promote(cctx, ctx context.Context, m Merchant) (Merchant, error) {
	now := s.r.cfg.Now()
	// A promotion tried again (Retries) was due already.
	due := s.ro.Release.GreyFor > 0 && !now.Before(m.Since.Add(s.ro.Release.GreyFor)) || m.Retries > 0
	if !due && !s.run.Promote {
		return s.park(ctx, m, s.greyWait(), "")
	}
	intent, err := s.move(ctx, m, Promoting, "", QuotaOp{})
	if err != nil {
		return m, err
	}
	return s.released(cctx, ctx, intent, s.mp.Release(cctx))
}

// settlePromote reads the grey plan: finished means the full release happened.
func (s *job) settlePromote(cctx, ctx context.Context, m Merchant) (Merchant, error) {
	plan, err := s.mp.GrayReleasePlan(cctx)
	if err != nil {
		return s.retry(ctx, m, m.State, "settling release: "+err.Error())
	}
	if plan.Status == miniprogram.GrayFinished {
		return s.move(ctx, m, Released, "settled by reading", QuotaOp{})
	}
	return s.retry(ctx, m, Grey, unsent(m, "release"))
}

// revert reads whether this version is still live, and reverts it if so. A revert whose answer
// is an error is settled by reading getversioninfo again: the call may have been acted on (its
// answer lost, or net/http sent the GET again on a broken keep-alive connection and WeChat
// refused the second one with 87012).
func (s *job) revert(cctx, ctx context.Context, m Merchant) (Merchant, error) {
	vi, err := s.mp.VersionInfo(cctx)
	if err != nil {
		return s.park(ctx, m, s.r.cfg.RetryEvery, "settling revert: "+err.Error())
	}
	if !s.live(vi) { // reverted by an earlier try whose answer was lost, or by someone else
		return s.move(ctx, m, Reverted, "settled by reading", QuotaOp{})
	}
	err = s.mp.RevertRelease(cctx)
	if err == nil {
		return s.move(ctx, m, Reverted, "", QuotaOp{})
	}
	vi, rerr := s.mp.VersionInfo(cctx)
	switch {
	case rerr != nil:
		return s.park(ctx, m, s.r.cfg.RetryEvery, "settling revert: "+rerr.Error())
	case !s.live(vi):
		return s.move(ctx, m, Reverted, "settled by reading", QuotaOp{})
	case permanent(err): // still live: back to Released, with WeChat's refusal
		m.Error = "revert refused: " + err.Error()
		return s.move(ctx, m, Released, m.Error, QuotaOp{})
	}
	return s.park(ctx, m, s.r.cfg.RetryEvery, "revert: "+err.Error())
}

// live reports whether the rollout's version is the live release.
func (s *job) live(vi *miniprogram.VersionInfo) bool {
	return vi.Release != nil && vi.Release.Version == s.ro.UserVersion
}
