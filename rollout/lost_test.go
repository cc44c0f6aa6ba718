package rollout_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/rollout"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// TestLostAnswers loses WeChat's answers to submit_audit, release and grayrelease after WeChat
// acted on them, and drops one submit_audit before WeChat saw it: each is settled by reading
// (get_latest_auditstatus, getgrayreleaseplan, getversioninfo) before anything is sent again, so
// no merchant is submitted or released twice, and the unsent one is sent again.
func TestLostAnswers(t *testing.T) {
	for _, mode := range []rollout.ReleaseMode{rollout.ReleaseFull, rollout.ReleaseGrey} {
		t.Run([]string{"Full", "Grey"}[mode], func(t *testing.T) {
			const n = 6
			f := newFleet(t, n, nil)
			f.emu.SetAuditReview(auditReview(0, 0.5))
			f.emu.InjectFault("/wxa/submit_audit", wxtest.Fault{Drop: true, Times: 1})
			f.emu.InjectFault("/wxa/submit_audit", wxtest.Fault{Drop: true, AfterHandler: true, Times: 2})
			f.emu.InjectFault("/wxa/release", wxtest.Fault{Drop: true, AfterHandler: true, Times: 2})
			f.emu.InjectFault("/wxa/grayrelease", wxtest.Fault{Drop: true, AfterHandler: true, Times: 2})
			store := rollout.NewMemoryStore()
			ro := f.rollout(mode)
			runFleet(t, f, ro, n, f.runner(t, store, "a"))
			counts := checkFleet(t, f, store, ro.ID)
			if counts[rollout.Released] != n {
				t.Fatalf("counts = %v, want all released", counts)
			}
			settled := 0
			for _, app := range f.apps {
				h, err := store.History(context.Background(), ro.ID, app)
				if err != nil {
					t.Fatal(err)
				}
				for _, tr := range h {
					if tr.Detail == "settled by reading" || tr.From == rollout.Submitting && tr.To == rollout.PrivacySet {
						settled++
					}
				}
			}
			if settled == 0 {
				t.Error("no outcome was settled by reading")
			}
		})
	}
}

// TestOperator pauses, resumes, retries the rejected and reverts a release.
func TestOperator(t *testing.T) {
	const n = 8
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := newFleet(t, n, nil)
	f.emu.SetAuditReview(auditReview(0.3, 0))
	store := rollout.NewMemoryStore()
	ro := f.rollout(rollout.ReleaseFull)
	r := f.runner(t, store, "op")
	if _, err := r.Start(ctx, ro); err != nil {
		t.Fatal(err)
	}
	if err := r.Pause(ctx, ro.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Pause(ctx, ro.ID); err == nil {
		t.Error("Pause of a paused rollout succeeded")
	}
	if err := r.Delete(ctx, ro.ID); err == nil {
		t.Error("Delete of an unfinished rollout succeeded")
	}
	wctx, wcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	if err := r.Work(wctx, ro); err == nil {
		t.Error("Work on a paused rollout returned nil before the deadline")
	}
	wcancel()
	if got := f.emu.Calls("/wxa/commit"); got != 0 {
		t.Fatalf("%d commits while paused", got)
	}
	if err := r.Resume(ctx, ro.ID); err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	go f.reviewers(rctx, t)
	if err := r.Work(ctx, ro); err != nil {
		t.Fatal(err)
	}
	counts, _ := store.Counts(ctx, ro.ID, -1)
	if counts[rollout.Rejected] == 0 || counts[rollout.Released]+counts[rollout.Rejected] != n {
		t.Fatalf("counts = %v", counts)
	}
	// The rejected get another attempt: this time the reviewers approve everything.
	f.emu.SetAuditReview(auditReview(0, 0))
	moved, err := r.RetryFailed(ctx, ro.ID)
	if err != nil || moved != counts[rollout.Rejected] {
		t.Fatalf("RetryFailed = %d, %v", moved, err)
	}
	if err := r.Work(ctx, ro); err != nil {
		t.Fatal(err)
	}
	checkFleet(t, f, store, ro.ID)
	if counts, _ := store.Counts(ctx, ro.ID, -1); counts[rollout.Released] != n {
		t.Fatalf("after retry: %v", counts)
	}
	// A first release has nothing to revert to: WeChat refuses (87012), the merchant stays released.
	app := f.apps[0]
	if err := r.Revert(ctx, ro, app); err == nil {
		t.Fatal("revert of a first release succeeded: WeChat has no earlier version (87012)")
	}
	if m, _ := store.Merchant(ctx, ro.ID, app); m.State != rollout.Released || m.Error == "" {
		t.Fatalf("after a refused revert: %s %q", m.State, m.Error)
	}
	if err := r.Revert(ctx, ro, "wxunknown"); err == nil {
		t.Error("revert of an unknown merchant succeeded")
	}
	unknown := *ro
	unknown.ID = "never-started"
	if err := r.Work(ctx, &unknown); !errors.Is(err, rollout.ErrNotFound) {
		t.Errorf("Work on an unknown rollout: %v, want ErrNotFound", err)
	}
	bad := *ro
	bad.TemplateID = 0
	if err := r.Work(ctx, &bad); !wxerr.IsValidation(err) {
		t.Errorf("Work on an invalid rollout: %v, want a validation error", err)
	}
	if err := r.Cancel(ctx, ro.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Work(ctx, ro); err != nil {
		t.Fatalf("Work on a cancelled rollout: %v", err)
	}
	if err := r.Delete(ctx, ro.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Merchant(ctx, ro.ID, f.apps[0]); !errors.Is(err, rollout.ErrNotFound) {
		t.Errorf("merchant of a deleted rollout: %v", err)
	}
}

// TestWaves releases the first wave (3 merchants by priority) before the rest, which wait until the
// first wave is final and WaveDelay has passed.
func TestWaves(t *testing.T) {
	const n, first, delay = 8, 3, 400 * time.Millisecond
	f := newFleet(t, n, nil)
	f.emu.SetAuditReview(auditReview(0, 0))
	store := rollout.NewMemoryStore()
	ro := f.rollout(rollout.ReleaseFull)
	ro.Priority = func(appID string) int { // the last merchants first
		for i, a := range f.apps {
			if a == appID {
				return i
			}
		}
		return 0
	}
	ro.Release.FirstWave, ro.Release.WaveDelay = first, delay
	runFleet(t, f, ro, n, f.runner(t, store, "w"))
	checkFleet(t, f, store, ro.ID)
	ctx := context.Background()
	var lastFirst, firstRest time.Time
	for i, app := range f.apps {
		m, _ := store.Merchant(ctx, ro.ID, app)
		if wantWave := map[bool]int{true: 0, false: 1}[i >= n-first]; m.Wave != wantWave {
			t.Errorf("%s (priority %d) in wave %d, want %d", app, i, m.Wave, wantWave)
		}
		h, _ := store.History(ctx, ro.ID, app)
		at := h[len(h)-1].At
		if m.Wave == 0 && at.After(lastFirst) {
			lastFirst = at
		}
		if m.Wave == 1 && (firstRest.IsZero() || at.Before(firstRest)) {
			firstRest = at
		}
	}
	if gap := firstRest.Sub(lastFirst); gap < delay {
		t.Errorf("the second wave released %v after the first was final, want ≥ %v", gap, delay)
	}
}

// TestQuota85085 answers one submit_audit with 85085 (the quota used elsewhere): the merchant goes
// back to privacy_set with its reservation given back, the rollout waits QuotaRecheck before
// reading queryquota again, and then finishes.
func TestQuota85085(t *testing.T) {
	const n = 5
	f := newFleet(t, n, nil)
	f.emu.SetAuditReview(auditReview(0, 0))
	f.emu.InjectFault("/wxa/submit_audit", wxtest.Fault{ErrCode: 85085})
	store := rollout.NewMemoryStore()
	ro := f.rollout(rollout.ReleaseFull)
	runFleet(t, f, ro, n, f.runner(t, store, "q"))
	checkFleet(t, f, store, ro.ID)
	ctx := context.Background()
	run, _ := store.Run(ctx, ro.ID)
	if run.QuotaWaitUntil.IsZero() {
		t.Error("85085 did not make the rollout wait for the quota")
	}
	paused := 0
	for _, app := range f.apps {
		h, _ := store.History(ctx, ro.ID, app)
		for _, tr := range h {
			if tr.From == rollout.Submitting && tr.To == rollout.PrivacySet && tr.Detail == "audit quota used up (85085)" {
				paused++
			}
		}
	}
	if paused != 1 {
		t.Errorf("%d merchants saw 85085, want 1", paused)
	}
	month := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")
	if q, _ := store.AuditQuota(ctx, f.app.AppID, month); q.Used != n || q.Settled != n {
		t.Errorf("quota account %+v, want %d used and settled (the refused one given back)", q, n)
	}
}

// TestReadinessAndSpeedUp: a template whose code uses the user's location, rolled out without a
// privacy guide, is skipped at the readiness check with the closed gate (no submit_audit sent);
// with the guide every merchant is released, and the speed-up budget (2) is spent exactly.
func TestReadinessAndSpeedUp(t *testing.T) {
	ctx := context.Background()
	const n = 4
	f := newFleet(t, n, nil)
	f.emu.SetAuditReview(auditReview(0, 0))
	draft := f.emu.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "2.0.0", UserDesc: "ordering 2.0", PrivacyKeys: []string{"Location"}})
	if err := f.p.Component().AddToTemplate(ctx, int64(draft), component.TemplateNormal); err != nil {
		t.Fatal(err)
	}
	tpls, err := f.p.Component().Templates(ctx, component.TemplateNormal)
	if err != nil {
		t.Fatal(err)
	}
	store := rollout.NewMemoryStore()
	ro := f.rollout(rollout.ReleaseFull)
	ro.TemplateID, ro.CheckReadiness = tpls[len(tpls)-1].TemplateID, true
	runFleet(t, f, ro, n, f.runner(t, store, "r"))
	for _, app := range f.apps {
		m, _ := store.Merchant(ctx, ro.ID, app)
		if m.State != rollout.Skipped || len(m.Gates) == 0 || !strings.Contains(m.Gates[0], "privacy_guide") {
			t.Errorf("%s: %s, gates %q; want skipped at privacy_guide", app, m.State, m.Gates)
		}
	}
	if got := f.emu.Calls("/wxa/submit_audit"); got != 0 {
		t.Fatalf("%d submit_audit calls for skipped merchants", got)
	}

	f.speedUps = 10
	ro2 := f.rollout(rollout.ReleaseFull)
	ro2.ID, ro2.TemplateID, ro2.CheckReadiness = "tpl-v2-guide", ro.TemplateID, true
	ro2.Privacy = &rollout.PrivacyPolicy{Template: miniprogram.PrivacyGuideTemplate{Texts: map[string]string{"Location": "推荐附近门店"},
		Owner: miniprogram.PrivacyOwner{ContactEmail: "privacy@example.com", NoticeMethod: "弹窗"}}}
	ro2.Audit.SpeedUps = 2
	runFleet(t, f, ro2, n, f.runner(t, store, "r2"))
	checkFleet(t, f, store, ro2.ID)
	if got := f.emu.Calls("/wxa/speedupaudit"); got != 2 {
		t.Errorf("%d speedupaudit calls, want the budget of 2", got)
	}
	if q, err := f.p.MiniProgram(f.apps[0]).AuditQuota(ctx); err != nil || q.SpeedUpRest != 8 {
		t.Errorf("speed-ups left %+v, %v; want 8 of 10 (both accepted)", q, err)
	}
}
