package rollout_test

import (
	"context"
	"errors"
	"strconv"
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

// clockRunner is a Runner on the emulator's clock with the default waits (RetryEvery 1 minute,
// PollEvery 10 minutes) and maxRetries; f.reviewers moves that clock at every turn.
func (f *fleet) clockRunner(store rollout.Store, name string, maxRetries int) *rollout.Runner {
	r := rollout.NewRunner(rollout.Config{Store: store, MiniProgram: f.p.MiniProgram, Component: f.p.Component(),
		QuotaScope: f.app.AppID, Instance: name, Now: f.emu.Now, Lease: 24 * time.Hour, MaxRetries: maxRetries,
		Idle: 2 * time.Millisecond, Logger: testLogger()})
	f.mu.Lock()
	f.feed = append(f.feed, r)
	f.mu.Unlock()
	return r
}

// clockTurn is how far workOnClock moves the emulator's clock at each turn.
const clockTurn = 30 * time.Second

// workOnClock starts ro and works it with r while the emulator's clock moves 30 s per turn,
// until the rollout is done; it fails the test after 20 s with WeChat's call counts of paths.
func workOnClock(t *testing.T, f *fleet, r *rollout.Runner, ro *rollout.Rollout, paths ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := r.Start(ctx, ro); err != nil {
		t.Fatal(err)
	}
	// The clock and the reviewers, as f.reviewers, stopped between two turns: a push under way
	// is delivered.
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			f.emu.Advance(clockTurn)
			if _, err := f.emu.ReviewDue(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("ReviewDue: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	err := r.Work(ctx, ro)
	close(stop)
	<-done
	if err != nil {
		calls := map[string]int{}
		for _, p := range paths {
			calls[p] = f.emu.Calls(p)
		}
		t.Fatalf("Work: %v; WeChat received %v", err, calls)
	}
}

// TestSettleForeignPendingAudit: a merchant has an audit of another version under review, so
// submit_audit answers 85009 and get_latest_auditstatus shows the other version. The merchant is
// skipped with the audit_pending gate after that one refused call, not submitted again and again.
func TestSettleForeignPendingAudit(t *testing.T) {
	ctx := context.Background()
	f := newFleet(t, 1, nil)
	app := f.apps[0]
	mp := f.p.MiniProgram(app)
	if err := mp.Commit(ctx, miniprogram.CommitRequest{TemplateID: f.tpl, UserVersion: "1.9.0", UserDesc: "old",
		ExtJSON: map[string]any{"extAppid": app}}); err != nil {
		t.Fatal(err)
	}
	f.emu.Advance(2 * time.Minute) // the privacy scan of the commit
	req, err := rollout.FirstPageRequest(ctx, mp, app)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := mp.SubmitAudit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	store := rollout.NewMemoryStore()
	ro := f.rollout(rollout.ReleaseFull)
	workOnClock(t, f, f.clockRunner(store, "a", 4), ro, "/wxa/submit_audit")
	m, err := store.Merchant(ctx, ro.ID, app)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != rollout.Skipped || len(m.Gates) != 1 || !strings.Contains(m.Gates[0], "audit_pending") ||
		!strings.Contains(m.Gates[0], strconv.FormatInt(foreign, 10)) {
		t.Errorf("merchant %s, gates %q; want skipped at audit_pending naming audit %d", m.State, m.Gates, foreign)
	}
	if got := f.emu.Calls("/wxa/submit_audit"); got != 2 {
		t.Errorf("%d submit_audit calls, want 2 (the other version's, and the rollout's refused with 85009)", got)
	}
	if c := f.emu.Counts(app); c.Audits != 1 || c.SubmitCalls != 2 {
		t.Errorf("counts %+v, want 1 audit of 2 calls", c)
	}
	month := chinaMonth(f.emu.Now())
	if q, _ := store.AuditQuota(ctx, f.app.AppID, month); q.Used != 0 || q.Settled != 0 {
		t.Errorf("quota account %+v, want the refused submission given back", q)
	}
}

func chinaMonth(t time.Time) string { return t.In(time.FixedZone("CST", 8*3600)).Format("2006-01") }

// TestSettleSystemBusy: WeChat answers -1 (system busy) to submit_audit or release, for a while or
// for good, or drops the connection before it reads submit_audit. Each answer is settled by
// reading, then the call is tried again after a growing wait: after MaxRetries (4) the merchant
// fails with the error; WeChat never receives more than 1 + MaxRetries calls, and a merchant whose
// calls went through in the end is released once. On every store (Retries is stored).
func TestSettleSystemBusy(t *testing.T) {
	const maxRetries = 4
	busy := func(n int) wxtest.Fault { return wxtest.Fault{ErrCode: -1, Times: n} }
	for _, tc := range []struct {
		name, path string
		mode       rollout.ReleaseMode
		fault      wxtest.Fault
		want       rollout.State
		intent     rollout.State // the state written before each call of path
		errText    string        // in the error of a failed merchant
	}{
		{"SubmitRecovers", "/wxa/submit_audit", rollout.ReleaseFull, busy(3), rollout.Released, rollout.Submitting, ""},
		{"SubmitBusy", "/wxa/submit_audit", rollout.ReleaseFull, busy(1000), rollout.Failed, rollout.Submitting, "-1"},
		{"SubmitUnanswered", "/wxa/submit_audit", rollout.ReleaseFull, wxtest.Fault{Drop: true, Times: 1000}, rollout.Failed,
			rollout.Submitting, "EOF"},
		{"ReleaseRecovers", "/wxa/release", rollout.ReleaseFull, busy(2), rollout.Released, rollout.Releasing, ""},
		{"ReleaseBusy", "/wxa/release", rollout.ReleaseFull, busy(1000), rollout.Failed, rollout.Releasing, "-1"},
		{"GreyBusy", "/wxa/grayrelease", rollout.ReleaseGrey, busy(1000), rollout.Failed, rollout.Releasing, "-1"},
		{"PromoteBusy", "/wxa/release", rollout.ReleaseGrey, busy(1000), rollout.Failed, rollout.Promoting, "-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, store rollout.Store) {
				ctx := context.Background()
				f := newFleet(t, 1, nil)
				f.emu.SetAuditReview(auditReview(0, 0))
				f.emu.InjectFault(tc.path, tc.fault)
				ro := f.rollout(tc.mode)
				ro.Release.GreyFor = 30 * time.Minute
				workOnClock(t, f, f.clockRunner(store, "a", maxRetries), ro, tc.path)
				app := f.apps[0]
				m, _ := store.Merchant(ctx, ro.ID, app)
				wantCalls := min(tc.fault.Times+1, 1+maxRetries)
				if m.State != tc.want {
					t.Errorf("merchant %s (%q), want %s", m.State, m.Error, tc.want)
				}
				if m.State == rollout.Failed && !strings.Contains(m.Error, tc.errText) {
					t.Errorf("failed with %q, want %q in it", m.Error, tc.errText)
				}
				if got := f.emu.Calls(tc.path); got != wantCalls {
					t.Errorf("%d calls of %s, want %d", got, tc.path, wantCalls)
				}
				c := f.emu.Counts(app)
				wantAudits := 1
				if tc.intent == rollout.Submitting && tc.want == rollout.Failed {
					wantAudits = 0 // -1 is answered before WeChat's handler
				}
				if c.SubmitCalls != c.Audits || c.Audits != wantAudits {
					t.Errorf("counts %+v: want %d submit_audit, accepted", c, wantAudits)
				}
				if wantRel := map[bool]int{true: 1}[m.State == rollout.Released]; c.Releases != wantRel {
					t.Errorf("%d releases, want %d", c.Releases, wantRel)
				}
				// Try i+1 waited backoff(i) after the retry was written: 1, 2, 4, 8 minutes (less
				// at most one clock turn, which may pass between the two readings of the clock).
				h, _ := store.History(ctx, ro.ID, app)
				var tries int
				var waits []time.Duration
				var retried time.Time
				for _, tr := range h {
					switch {
					case tr.To == tc.intent:
						tries++
						if !retried.IsZero() {
							waits = append(waits, tr.At.Sub(retried).Truncate(time.Second))
						}
						retried = time.Time{}
					case strings.Contains(tr.Detail, "; retry "):
						retried = tr.At
					}
				}
				t.Logf("waits before the tries: %v", waits)
				if tries != wantCalls || len(waits) != wantCalls-1 {
					t.Errorf("%d %s transitions after %d retries, want %d", tries, tc.intent, len(waits), wantCalls)
				}
				for i, wait := range waits {
					if want := time.Minute<<i - clockTurn; wait < want {
						t.Errorf("try %d came %v after the retry was written, want ≥ %v", i+2, wait, want)
					}
				}
				if t.Failed() {
					for _, tr := range h {
						t.Logf("%v %s→%s %s", tr.At.Format("15:04:05.000"), tr.From, tr.To, tr.Detail)
					}
				}
			})
		})
	}
}

// TestSpeedUpRefused: speedupaudit refused for now (89401) gives its unit of the rollout's
// speed-up budget back, so the budget (2) is spent on two accepted speed-ups; refused because the
// platform's month is used up (89405), no other speedupaudit is sent.
func TestSpeedUpRefused(t *testing.T) {
	for _, tc := range []struct {
		name              string
		platform, budget  int
		fault             int // errcode of the first speedupaudit, 0 for none
		wantCalls, wantOK int
	}{
		{"Unstable", 10, 2, 89401, 3, 2},
		{"MonthUsedUp", 1, 3, 0, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 4
			f := newFleet(t, n, nil)
			f.emu.SetAuditReview(auditReview(0, 0))
			f.speedUps = tc.platform
			if tc.fault != 0 {
				f.emu.InjectFault("/wxa/speedupaudit", wxtest.Fault{ErrCode: tc.fault})
			}
			store := rollout.NewMemoryStore()
			ro := f.rollout(rollout.ReleaseFull)
			ro.Audit.SpeedUps = tc.budget
			// One worker: the merchants are submitted one after the other.
			r := rollout.NewRunner(rollout.Config{Store: store, MiniProgram: f.p.MiniProgram, Component: f.p.Component(),
				QuotaScope: f.app.AppID,
				Instance:   "s", PollEvery: 2 * time.Second, RetryEvery: 200 * time.Millisecond, Idle: 20 * time.Millisecond,
				Workers: 1, Logger: testLogger()})
			runFleet(t, f, ro, n, r)
			checkFleet(t, f, store, ro.ID)
			if got := f.emu.Calls("/wxa/speedupaudit"); got != tc.wantCalls {
				t.Errorf("%d speedupaudit calls, want %d", got, tc.wantCalls)
			}
			q, err := f.p.MiniProgram(f.apps[0]).AuditQuota(context.Background())
			if err != nil || q.SpeedUpRest != tc.platform-tc.wantOK {
				t.Errorf("speed-ups left %+v, %v; want %d", q, err, tc.platform-tc.wantOK)
			}
		})
	}
}
