package rollout_test

import (
	"context"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/rollout"
	"github.com/wxopen-go/wxopen/wxtest"
)

// waitFor polls cond (the store) until it holds, failing the test when ctx ends first.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("never %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOpenWave: with WaveDelay 0 the second wave waits, approved, after the first wave is
// released, until the operator opens it; then it is released and the rollout finishes.
func TestOpenWave(t *testing.T) {
	const n, first = 6, 2
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := newFleet(t, n, nil)
	f.emu.SetAuditReview(auditReview(0, 0))
	store := rollout.NewMemoryStore()
	ro := f.rollout(rollout.ReleaseFull)
	ro.Release.FirstWave = first
	r := f.runner(t, store, "w")
	if _, err := r.Start(ctx, ro); err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	go f.reviewers(rctx, t)
	worked := make(chan error, 1)
	go func() { worked <- r.Work(ctx, ro) }()

	waitFor(ctx, t, "reached the wave gate", func() bool {
		w0, _ := store.Counts(ctx, ro.ID, 0)
		w1, _ := store.Counts(ctx, ro.ID, 1)
		return w0[rollout.Released] == first && w1[rollout.Approved] == n-first
	})
	if got := f.emu.Calls("/wxa/release"); got != first {
		t.Fatalf("%d release calls before the wave was opened, want %d", got, first)
	}
	if run, _ := store.Run(ctx, ro.ID); run.Status != rollout.Running || !run.WaveOpen.IsZero() {
		t.Fatalf("run %s, wave open at %v: want running, the wave closed", run.Status, run.WaveOpen)
	}
	select {
	case err := <-worked:
		t.Fatalf("Work returned %v with the second wave waiting", err)
	default:
	}

	if err := r.OpenWave(ctx, ro.ID); err != nil {
		t.Fatal(err)
	}
	if err := <-worked; err != nil {
		t.Fatal(err)
	}
	if counts := checkFleet(t, f, store, ro.ID); counts[rollout.Released] != n {
		t.Fatalf("counts %v, want all released", counts)
	}
	if run, _ := store.Run(ctx, ro.ID); run.Status != rollout.Done {
		t.Errorf("run %s, want done", run.Status)
	}
}

// releasedBefore releases version 1.9.0 of app outside the rollout, so that a revert of the
// rollout's release has a version to go back to.
func releasedBefore(ctx context.Context, t *testing.T, f *fleet, app string) {
	t.Helper()
	mp := f.p.MiniProgram(app)
	if err := mp.Commit(ctx, miniprogram.CommitRequest{TemplateID: f.tpl, UserVersion: "1.9.0", UserDesc: "old",
		ExtJSON: map[string]any{"extAppid": app}}); err != nil {
		t.Fatal(err)
	}
	f.emu.Advance(2 * time.Minute) // the privacy scan
	req, err := rollout.FirstPageRequest(ctx, mp, app)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mp.SubmitAudit(ctx, req); err != nil {
		t.Fatal(err)
	}
	f.emu.Advance(11 * time.Minute)
	if n, err := f.emu.ReviewDue(ctx); err != nil || n != 1 {
		t.Fatalf("ReviewDue = %d, %v", n, err)
	}
	if err := mp.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRevert reverts the rollout's release of a merchant that had an earlier release: WeChat
// goes back to 1.9.0 in one revertcoderelease. When the answer to it is lost and getversioninfo
// fails just then, the merchant stays reverting, and the operator's second Revert settles it by
// reading getversioninfo without sending revertcoderelease again. (net/http sends the lost GET
// again on a reused connection: WeChat answers that one 87012, so the first Revert may see 2 calls.)
func TestRevert(t *testing.T) {
	for _, lost := range []bool{false, true} {
		t.Run(map[bool]string{false: "Answered", true: "AnswerLost"}[lost], func(t *testing.T) {
			ctx := context.Background()
			f := newFleet(t, 1, nil)
			app := f.apps[0]
			f.emu.SetAuditReview(auditReview(0, 0))
			releasedBefore(ctx, t, f, app)
			store := rollout.NewMemoryStore()
			ro := f.rollout(rollout.ReleaseFull)
			r := f.runner(t, store, "rv")
			before := f.emu.Counts(app)
			runFleet(t, f, ro, 2, r) // 1.9.0 took one audit of the month
			if c := f.emu.Counts(app); c.SubmitCalls != before.SubmitCalls+1 || c.Audits != before.Audits+1 ||
				c.ReleaseCalls != before.ReleaseCalls+1 || c.Releases != before.Releases+1 {
				t.Errorf("the rollout took WeChat from %+v to %+v: want one more submit_audit and release", before, c)
			}
			if m, _ := store.Merchant(ctx, ro.ID, app); m.State != rollout.Released {
				h, _ := store.History(ctx, ro.ID, app)
				t.Fatalf("merchant %s (%q), want released; history %+v", m.State, m.Error, h)
			}
			mp := f.p.MiniProgram(app)
			live := func() string {
				t.Helper()
				vi, err := mp.VersionInfo(ctx)
				if err != nil || vi.Release == nil {
					t.Fatalf("version info %+v, %v", vi, err)
				}
				return vi.Release.Version
			}
			if v := live(); v != "2.0.0" {
				t.Fatalf("live %s before the revert, want 2.0.0", v)
			}

			if lost {
				f.emu.InjectFault("/wxa/revertcoderelease", wxtest.Fault{Drop: true, AfterHandler: true})
				// The read before the revert answers; the one after it is refused (45009).
				f.emu.InjectFault("/wxa/getversioninfo", wxtest.Fault{Delay: time.Millisecond})
				f.emu.InjectFault("/wxa/getversioninfo", wxtest.Fault{ErrCode: 45009})
				if err := r.Revert(ctx, ro, app); err == nil {
					t.Fatal("Revert succeeded without WeChat's answer")
				}
				if m, _ := store.Merchant(ctx, ro.ID, app); m.State != rollout.Reverting {
					t.Fatalf("after a lost answer: %s (%q), want reverting", m.State, m.Error)
				}
			}
			calls := f.emu.Calls("/wxa/revertcoderelease")
			if err := r.Revert(ctx, ro, app); err != nil {
				t.Fatal(err)
			}
			m, _ := store.Merchant(ctx, ro.ID, app)
			if m.State != rollout.Reverted {
				t.Fatalf("merchant %s (%q), want reverted", m.State, m.Error)
			}
			if v := live(); v != "1.9.0" {
				t.Errorf("live %s after the revert, want 1.9.0", v)
			}
			switch got := f.emu.Calls("/wxa/revertcoderelease"); {
			case !lost && got != 1:
				t.Errorf("%d revertcoderelease calls, want 1", got)
			case lost && got != calls:
				t.Errorf("the Revert that settled sent %d revertcoderelease, want none", got-calls)
			}
			h, _ := store.History(ctx, ro.ID, app)
			last := h[len(h)-1]
			wantDetail := map[bool]string{false: "", true: "settled by reading"}[lost]
			if last.From != rollout.Reverting || last.To != rollout.Reverted || last.Detail != wantDetail {
				t.Errorf("last transition %+v, want reverting → reverted %q", last, wantDetail)
			}
			if err := r.Revert(ctx, ro, app); err == nil {
				t.Error("Revert of a reverted merchant succeeded")
			}
		})
	}
}
