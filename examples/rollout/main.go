// Command rollout takes a new template version to 1,000 merchants' mini programs on the in-process
// WeChat emulator: commit with each merchant's ext_json, wait for the privacy scan, submit for
// audit within the platform's audit quota, follow the audit pushes (some are lost: polling makes up
// for them), grey-release 10% and, once every approved merchant is grey, release fully. It prints a
// progress line every second and a summary.
//
//	go run ./examples/rollout
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/rollout"
	"github.com/wxopen-go/wxopen/wxtest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, 1000); err != nil {
		log.Fatal(err)
	}
}

// run rolls a template out to n merchants on the emulator, printing to out.
func run(ctx context.Context, out io.Writer, n int) error {
	emu := wxtest.NewServer()
	defer emu.Close()
	app := emu.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token,
		EncodingAESKey: app.EncodingAESKey}, wxopen.WithBaseURL(emu.URL))
	if err != nil {
		return err
	}
	// The rollout runner: a memory store here; give every instance the same rollout/sqlstore in
	// production.
	var r *rollout.Runner
	r = rollout.NewRunner(rollout.Config{Store: rollout.NewMemoryStore(), MiniProgram: p.MiniProgram,
		Component: p.Component(), QuotaScope: app.AppID, Workers: 16, Lease: 30 * time.Second,
		PollEvery: 2 * time.Second, RetryEvery: 100 * time.Millisecond, Idle: 20 * time.Millisecond})

	// The platform's push handlers: the audit pushes go to the runner.
	h, err := p.Handler(component.HandlerConfig{Now: emu.Now})
	if err != nil {
		return err
	}
	mh, err := p.MessageHandler(component.MessageHandlerConfig{Now: emu.Now, OnAuditSuccess: r.OnAuditSuccess,
		OnAuditFail: r.OnAuditFail})
	if err != nil {
		return err
	}
	auth, msg := httptest.NewServer(h), httptest.NewServer(mh)
	defer auth.Close()
	defer msg.Close()
	emu.SetEventURLs(auth.URL, msg.URL+"/message/$APPID$")
	if _, err := emu.PushVerifyTicket(ctx); err != nil {
		return err
	}

	// n merchants authorised the platform (a migration hands their refresh tokens to the SDK).
	apps := make([]string, n)
	for i := range apps {
		apps[i] = fmt.Sprintf("wx%016x", 0x5eed0000+i)
	}
	for i, tok := range emu.AuthorizeAccounts(apps) {
		if err := p.Component().SetRefreshToken(ctx, apps[i], tok); err != nil {
			return err
		}
	}
	// The platform's developers made version 3.1.0 a template; it asks for the user's location.
	draft := emu.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "3.1.0", UserDesc: "ordering 3.1",
		PrivacyKeys: []string{"Location"}})
	if err := p.Component().AddToTemplate(ctx, int64(draft), component.TemplateNormal); err != nil {
		return err
	}
	tpls, err := p.Component().Templates(ctx, component.TemplateNormal)
	if err != nil {
		return err
	}
	tpl := tpls[len(tpls)-1].TemplateID

	// WeChat's side: the audit quota, reviewers who take 10 minutes and reject 3%, 1% of the pushes
	// lost. The emulator clock runs fast so that the example finishes in seconds.
	emu.SetAuditQuota(n, 0)
	emu.SetAuditReview(wxtest.AuditReview{After: 10 * time.Minute, RejectShare: 0.03, DropPushShare: 0.01,
		Reasons: []string{"the pages do not match the service category", "the screenshots are unreadable"}})
	wechat, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for wechat.Err() == nil {
			emu.Advance(20 * time.Second)
			_, _ = emu.ReviewDue(wechat)
			time.Sleep(10 * time.Millisecond)
		}
	}()

	ro := &rollout.Rollout{ID: "ordering-3.1.0", TemplateID: tpl, UserVersion: "3.1.0", UserDesc: "ordering 3.1",
		Targets: rollout.Targets{AppIDs: apps},
		ExtJSON: func(_ context.Context, appID string) (any, error) {
			return miniprogram.ExtJSON{ExtAppID: appID, Ext: map[string]any{"shop": appID}}, nil
		},
		Privacy: &rollout.PrivacyPolicy{Template: miniprogram.PrivacyGuideTemplate{
			Texts: map[string]string{"Location": "推荐附近门店"},
			Owner: miniprogram.PrivacyOwner{ContactEmail: "privacy@dinehub.example", NoticeMethod: "弹窗提示"}}},
		Release: rollout.ReleasePolicy{Mode: rollout.ReleaseGrey, GreyPercent: 10}}
	start := time.Now()
	if _, err := r.Start(ctx, ro); err != nil {
		return err
	}
	fmt.Fprintf(out, "Rolling template %d (v%s) out to %d merchants, grey 10%% first.\n", tpl, ro.UserVersion, n)
	done := make(chan error, 1)
	go func() { done <- r.Work(ctx, ro) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	promoted := false
	for {
		select {
		case err := <-done:
			if err != nil {
				return err
			}
			return summary(ctx, out, r, ro, emu, time.Since(start))
		case <-tick.C:
			st, err := r.Status(ctx, ro.ID)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, progress(st))
			// Every approved merchant is grey: the operator checks the grey metrics and goes full.
			waiting := st.Total - st.Counts[rollout.Grey] - st.Counts[rollout.Released] - st.Counts[rollout.Rejected] -
				st.Counts[rollout.Skipped] - st.Counts[rollout.Failed]
			if !promoted && waiting == 0 && st.Counts[rollout.Grey] > 0 {
				fmt.Fprintf(out, "All %d approved merchants are grey at 10%%: promoting to a full release.\n", st.Counts[rollout.Grey])
				if err := r.PromoteGrey(ctx, ro.ID); err != nil {
					return err
				}
				promoted = true
			}
		}
	}
}

// progress is one line: the count of every state that has merchants.
func progress(st *rollout.Status) string {
	var parts []string
	for _, s := range rollout.States {
		if n := st.Counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, n))
		}
	}
	return fmt.Sprintf("[%s] %s | audit quota left %d", st.Run.Status, strings.Join(parts, ", "), st.Quota.Left())
}

func summary(ctx context.Context, out io.Writer, r *rollout.Runner, ro *rollout.Rollout, emu *wxtest.Server, took time.Duration) error {
	st, err := r.Status(ctx, ro.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Done in %s: %d released, %d rejected, %d skipped, %d failed of %d.\n", took.Round(100*time.Millisecond),
		st.Counts[rollout.Released], st.Counts[rollout.Rejected], st.Counts[rollout.Skipped], st.Counts[rollout.Failed], st.Total)
	fmt.Fprintf(out, "WeChat saw %d audits submitted (quota %d used), %d audit pushes lost and made up for by polling.\n",
		emu.AuditsSubmitted(), st.Quota.Used, emu.DroppedPushes())
	for i, m := range st.Problems {
		if i == 3 {
			fmt.Fprintf(out, "  … %d more in the operator page (rollout.Runner.Handler)\n", len(st.Problems)-3)
			break
		}
		fmt.Fprintf(out, "  %s %s: %s\n", m.AppID, m.State, m.Reason)
	}
	return nil
}
