package rollout_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/rollout"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxtest"
)

// fleet is N merchants on the emulator, authorised to a platform, and a template to roll out.
type fleet struct {
	emu   *wxtest.Server
	app   wxtest.ComponentApp
	p     *wxopen.Platform
	creds tokenstore.Store
	apps  []string
	tpl   int64
	step  time.Duration // emulator time per 10 ms of real time
	// speedUps is the platform's monthly speed-up allocation runFleet sets.
	speedUps int
	// feed receives the audit pushes the platform's message handler gets.
	mu   sync.Mutex
	feed []*rollout.Runner
}

// newFleet starts the emulator with n mini programs and the platform's handlers.
func newFleet(t testing.TB, n int, creds tokenstore.Store) *fleet {
	t.Helper()
	ctx := context.Background()
	f := &fleet{emu: wxtest.NewTestServer(t), creds: creds, step: 30 * time.Second}
	f.app = f.emu.Component()
	if f.creds == nil {
		f.creds = tokenstore.NewMemoryStore()
	}
	var err error
	f.p, err = wxopen.New(wxopen.Config{ComponentAppID: f.app.AppID, AppSecret: f.app.AppSecret, Token: f.app.Token,
		EncodingAESKey: f.app.EncodingAESKey}, wxopen.WithBaseURL(f.emu.URL), wxopen.WithCredentialStore(f.creds))
	if err != nil {
		t.Fatal(err)
	}
	h, err := f.p.Handler(component.HandlerConfig{Now: f.emu.Now})
	if err != nil {
		t.Fatal(err)
	}
	mh, err := f.p.MessageHandler(component.MessageHandlerConfig{Now: f.emu.Now,
		OnAuditSuccess: func(ctx context.Context, ev *component.AuditSuccessEvent) error {
			for _, r := range f.runners() {
				if err := r.OnAuditSuccess(ctx, ev); err != nil {
					return err
				}
			}
			return nil
		},
		OnAuditFail: func(ctx context.Context, ev *component.AuditFailEvent) error {
			for _, r := range f.runners() {
				if err := r.OnAuditFail(ctx, ev); err != nil {
					return err
				}
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	auth, msg := httptest.NewServer(h), httptest.NewServer(mh)
	t.Cleanup(auth.Close)
	t.Cleanup(msg.Close)
	f.emu.SetEventURLs(auth.URL, msg.URL+"/msg/$APPID$")
	if _, err := f.emu.PushVerifyTicket(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		f.apps = append(f.apps, fmt.Sprintf("wx%016x", 0xa0000000+i))
	}
	for i, tok := range f.emu.AuthorizeAccounts(f.apps) {
		if err := f.p.Component().SetRefreshToken(ctx, f.apps[i], tok); err != nil {
			t.Fatal(err)
		}
	}
	draft := f.emu.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "2.0.0", UserDesc: "ordering 2.0"})
	if err := f.p.Component().AddToTemplate(ctx, int64(draft), component.TemplateNormal); err != nil {
		t.Fatal(err)
	}
	tpls, err := f.p.Component().Templates(ctx, component.TemplateNormal)
	if err != nil {
		t.Fatal(err)
	}
	f.tpl = tpls[len(tpls)-1].TemplateID
	return f
}

// newTestRunner is a Runner with the short waits of the fleet tests.
func newTestRunner(p *wxopen.Platform, store rollout.Store, scope, name string, lease time.Duration) *rollout.Runner {
	return rollout.NewRunner(rollout.Config{Store: store, MiniProgram: p.MiniProgram, Component: p.Component(),
		QuotaScope: scope, Instance: name, Lease: lease, PollEvery: 2 * time.Second,
		RetryEvery: 200 * time.Millisecond, QuotaRecheck: time.Second, Idle: 20 * time.Millisecond, Workers: 8, Logger: testLogger()})
}

func testLogger() *slog.Logger {
	if os.Getenv("ROLLOUT_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (f *fleet) runners() []*rollout.Runner {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.feed)
}

func (f *fleet) runner(t testing.TB, store rollout.Store, name string) *rollout.Runner {
	r := newTestRunner(f.p, store, f.app.AppID, name, 10*time.Second)
	f.mu.Lock()
	f.feed = append(f.feed, r)
	f.mu.Unlock()
	return r
}

// reviewers plays WeChat's clock and reviewers until ctx ends: the privacy scan and the audits take
// emulator minutes, which pass fast here.
func (f *fleet) reviewers(ctx context.Context, t testing.TB) {
	for ctx.Err() == nil {
		f.emu.Advance(f.step)
		if _, err := f.emu.ReviewDue(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("ReviewDue: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *fleet) rollout(mode rollout.ReleaseMode) *rollout.Rollout { return fleetRollout(f.tpl, mode) }

// fleetRollout is the rollout of the fleet tests, built alike in every process.
func fleetRollout(tpl int64, mode rollout.ReleaseMode) *rollout.Rollout {
	return &rollout.Rollout{ID: "tpl-v2", TemplateID: tpl, UserVersion: "2.0.0", UserDesc: "ordering 2.0",
		ExtJSON: func(_ context.Context, appID string) (any, error) {
			return map[string]any{"extAppid": appID, "ext": map[string]any{"shop": appID}}, nil
		},
		Release: rollout.ReleasePolicy{Mode: mode, GreyPercent: 10, GreyFor: 300 * time.Millisecond}}
}

// TestRolloutFleet runs a grey rollout on two in-process instances sharing each store: the audit
// quota (half the fleet) runs out and is raised, 10% of the audits are rejected and 20% of the
// pushes are dropped.
func TestRolloutFleet(t *testing.T) {
	forEachStore(t, func(t *testing.T, store rollout.Store) {
		const n = 40
		f := newFleet(t, n, nil)
		f.emu.SetAuditReview(auditReview(0.1, 0.2))
		ro := f.rollout(rollout.ReleaseGrey)
		runFleet(t, f, ro, n/2, f.runner(t, store, "a"), f.runner(t, store, "b"))
		checkFleet(t, f, store, ro.ID)
	})
}

// auditReview: 10 emulator minutes of review, reject and drop shares as given.
func auditReview(reject, drop float64) wxtest.AuditReview {
	return wxtest.AuditReview{After: 10 * time.Minute, RejectShare: reject, DropPushShare: drop,
		Reasons: []string{"blurry screenshots", "the service category does not match the pages"}}
}

// runFleet runs ro on the runners with the audit quota at quota, raises it once it is used up, and
// waits for the rollout to finish.
func runFleet(t *testing.T, f *fleet, ro *rollout.Rollout, quota int, runners ...*rollout.Runner) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f.emu.SetAuditQuota(quota, f.speedUps)
	if _, err := runners[0].Start(ctx, ro); err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	go f.reviewers(rctx, t)
	var wg sync.WaitGroup
	errs := make(chan error, len(runners))
	for _, r := range runners {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- r.Work(ctx, ro) }()
	}
	if quota < len(f.apps) {
		f.raiseQuota(ctx, t, quota)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// raiseQuota waits until quota audits were submitted, checks that no more are, and raises the
// quota as an operator would after WeChat granted more.
func (f *fleet) raiseQuota(ctx context.Context, t testing.TB, quota int) {
	for f.emu.AuditsSubmitted() < quota {
		if ctx.Err() != nil {
			t.Fatal("quota never used up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if got := f.emu.AuditsSubmitted(); got != quota {
		t.Fatalf("submitted %d, quota %d", got, quota)
	}
	f.emu.SetAuditQuota(2*len(f.apps), 0)
}

// checkFleet asserts every merchant ended released, rejected, skipped or failed with a reason;
// at most one submit per attempt, exactly one release per released merchant, and no submit_audit
// refused (so none beyond the quota).
func checkFleet(t *testing.T, f *fleet, store rollout.Store, id string) map[rollout.State]int {
	t.Helper()
	ctx := context.Background()
	counts, err := store.Counts(ctx, id, -1)
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for _, app := range f.apps {
		m, err := store.Merchant(ctx, id, app)
		if err != nil {
			t.Fatal(err)
		}
		c := f.emu.Counts(app)
		accepted += c.Audits
		switch m.State {
		case rollout.Released:
			if c.Releases != 1 || c.ReleaseCalls != 1 {
				t.Errorf("%s released %d times in %d release calls", app, c.Releases, c.ReleaseCalls)
			}
		case rollout.Rejected:
			if m.Reason == "" || len(m.ScreenShots) == 0 {
				t.Errorf("%s rejected without reason/screenshots: %+v", app, m)
			}
		case rollout.Failed, rollout.Skipped:
			if m.Error == "" && len(m.Gates) == 0 {
				t.Errorf("%s %s without a reason", app, m.State)
			}
		default:
			t.Errorf("%s ended %s", app, m.State)
		}
		if c.Audits > m.Attempt+1 {
			t.Errorf("%s: %d audits in %d attempts", app, c.Audits, m.Attempt+1)
		}
		// No submit_audit refused: none beyond the quota (85085), none while one was under
		// review (85009).
		if c.SubmitCalls != c.Audits {
			t.Errorf("%s: %d submit_audit calls, %d accepted", app, c.SubmitCalls, c.Audits)
		}
	}
	t.Logf("states %v; submit_audit %d, release %d, grayrelease %d, dropped pushes %d", counts, accepted,
		f.emu.Calls("/wxa/release"), f.emu.Calls("/wxa/grayrelease"), f.emu.DroppedPushes())
	return counts
}
