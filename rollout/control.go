package rollout

import (
	"context"
	"errors"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxerr"
)

// updateRun applies f to the stored run, again on a concurrent change.
func (r *Runner) updateRun(ctx context.Context, id string, f func(*Run) error) (Run, error) {
	for {
		run, err := r.cfg.Store.Run(ctx, id)
		if err != nil {
			return Run{}, err
		}
		if err := f(&run); err != nil {
			return run, err
		}
		run, err = r.cfg.Store.UpdateRun(ctx, run)
		if !errors.Is(err, ErrLeaseLost) {
			if err == nil {
				r.log.Info("rollout run", "rollout", id, "status", run.Status, "instance", r.cfg.Instance)
			}
			return run, err
		}
	}
}

// errRunStatus is the error of an operator action the run's status does not allow.
func errRunStatus(s RunStatus) error {
	return wxerr.Invalid("rollout", "not allowed while "+string(s))
}

// Pause stops every instance from claiming merchants of the rollout id; calls in flight finish.
func (r *Runner) Pause(ctx context.Context, id string) error {
	_, err := r.updateRun(ctx, id, func(run *Run) error {
		if run.Status != Running {
			return errRunStatus(run.Status)
		}
		run.Status = Paused
		return nil
	})
	return err
}

// Resume lets a paused rollout run again.
func (r *Runner) Resume(ctx context.Context, id string) error {
	_, err := r.updateRun(ctx, id, func(run *Run) error {
		if run.Status != Paused {
			return errRunStatus(run.Status)
		}
		run.Status = Running
		return nil
	})
	return err
}

// Cancel ends the rollout id: Work returns on every instance, merchants keep their states.
func (r *Runner) Cancel(ctx context.Context, id string) error {
	_, err := r.updateRun(ctx, id, func(run *Run) error {
		run.Status = Cancelled
		return nil
	})
	return err
}

// Delete forgets the rollout id: its run, merchants and history leave the store. Only a finished
// or cancelled rollout may be deleted.
func (r *Runner) Delete(ctx context.Context, id string) error {
	run, err := r.cfg.Store.Run(ctx, id)
	if err != nil {
		return err
	}
	if run.Status != Done && run.Status != Cancelled {
		return errRunStatus(run.Status)
	}
	return r.cfg.Store.DeleteRun(ctx, id)
}

// OpenWave lets the second wave release now.
func (r *Runner) OpenWave(ctx context.Context, id string) error {
	_, err := r.updateRun(ctx, id, func(run *Run) error {
		run.WaveOpen = r.cfg.Now()
		return nil
	})
	return err
}

// PromoteGrey releases every grey merchant fully at its next step.
func (r *Runner) PromoteGrey(ctx context.Context, id string) error {
	_, err := r.updateRun(ctx, id, func(run *Run) error {
		run.Promote = true
		return nil
	})
	return err
}

// RetryFailed plans the failed, rejected and skipped merchants again (next attempt: commit,
// privacy, submit) and runs a finished rollout again. It returns how many merchants it moved.
func (r *Runner) RetryFailed(ctx context.Context, id string) (int, error) {
	n, err := r.cfg.Store.Retry(ctx, id, []State{Failed, Rejected, Skipped}, r.cfg.Now())
	if err != nil || n == 0 {
		return n, err
	}
	_, err = r.updateRun(ctx, id, func(run *Run) error {
		if run.Status == Done {
			run.Status = Running
		}
		return nil
	})
	return n, err
}

// Revert reverts the release of one released merchant (revertcoderelease), through the Reverting
// intent. A merchant left reverting (an error, a lost answer) is settled by calling Revert again:
// it reads getversioninfo and sends revertcoderelease only while the rollout's version is live.
func (r *Runner) Revert(ctx context.Context, ro *Rollout, appID string) error {
	owner := r.cfg.Instance + "/revert"
	m, err := r.cfg.Store.ClaimApp(ctx, ro.ID, appID, owner, r.cfg.Now(), r.cfg.Lease)
	if err != nil {
		return err
	}
	defer func() { _ = r.cfg.Store.Unclaim(context.WithoutCancel(ctx), m, owner) }()
	if m.State != Released && m.State != Reverting {
		return wxerr.Invalid("appID", "not released by this rollout (state "+string(m.State)+")")
	}
	run, err := r.cfg.Store.Run(ctx, ro.ID)
	if err != nil {
		return err
	}
	if m.State == Released {
		s := &job{r: r, ro: ro, run: run, owner: owner, mp: r.cfg.MiniProgram(appID)}
		if m, err = s.move(ctx, m, Reverting, "operator", QuotaOp{}); err != nil {
			return err
		}
	}
	m, err = r.step(ctx, ro, run, m, owner)
	if err == nil && m.State != Reverted {
		return errors.New("rollout: revert of " + appID + " not finished: " + m.Error)
	}
	return err
}

// OnAuditSuccess feeds a weapp_audit_success push into every rollout that has the merchant under
// review: it becomes due at once, and its next step reads the result (the push carries no audit
// id, so get_latest_auditstatus confirms which audit passed). Set it as
// component.MessageConfig.OnAuditSuccess, or call it from yours.
func (r *Runner) OnAuditSuccess(ctx context.Context, ev *component.AuditSuccessEvent) error {
	return r.hint(ctx, ev.AuthorizerAppID, "success")
}

// OnAuditFail feeds a weapp_audit_fail push like OnAuditSuccess; the reason and screenshots are
// recorded from get_latest_auditstatus.
func (r *Runner) OnAuditFail(ctx context.Context, ev *component.AuditFailEvent) error {
	return r.hint(ctx, ev.AuthorizerAppID, "fail")
}

func (r *Runner) hint(ctx context.Context, appID, kind string) error {
	if appID == "" {
		return wxerr.Invalid("AuthorizerAppID", "the message URL must carry $APPID$")
	}
	n, err := r.cfg.Store.Hint(ctx, appID, kind, r.cfg.Now())
	if err == nil && n > 0 {
		r.log.Debug("rollout audit push", "appid", appID, "result", kind, "instance", r.cfg.Instance)
	}
	return err
}
