package rollout

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Config configures a Runner. Store and MiniProgram are required.
type Config struct {
	// Store keeps the rollouts; share one SQL store between instances.
	Store Store
	// MiniProgram returns the client of a merchant (wxopen.Platform.MiniProgram).
	MiniProgram func(appID string) *miniprogram.Client
	// Component lists the authorizers of Targets without AppIDs.
	Component *component.Client
	// QuotaScope names the audit quota account in the Store: the platform's component appid.
	// "" is "platform".
	QuotaScope string
	// Instance names this instance in leases and history; "" generates one.
	Instance string
	// Logger receives one line per transition; nil discards them.
	Logger *slog.Logger
	// Now is the clock (time.Now when nil). Every instance must use the same one.
	Now func() time.Time
	// Lease is how long a claim lasts (2 minutes when 0); a WeChat call is given at most half of it.
	Lease time.Duration
	// PollEvery is how often an audit under review is polled when no push comes (10 minutes).
	PollEvery time.Duration
	// RetryEvery is the wait after a transient error or an unfinished privacy scan (1 minute).
	RetryEvery time.Duration
	// MaxRetries is how many times a step that met a temporary error (system busy, a lost answer
	// that reading WeChat could not settle) is tried again, after waits that double from
	// RetryEvery up to 32 RetryEvery, before the merchant fails with the error (10).
	MaxRetries int
	// QuotaRecheck is how long to wait before reading queryquota again after the quota ran out
	// (10 minutes).
	QuotaRecheck time.Duration
	// Workers is how many merchants this instance works on at once (8).
	Workers int
	// Idle is the wait when nothing is due (1 second).
	Idle time.Duration
}

// Runner works on rollouts: any number of Runners, in any number of processes, may share a Store.
type Runner struct {
	cfg      Config
	log      *slog.Logger
	seq      atomic.Int64
	mu       sync.Mutex
	refilled time.Time // last queryquota read of this instance
	// speedUpsOut is the China month in which speedupaudit answered 89405 (none left).
	speedUpsOut string
}

// NewRunner returns a Runner with cfg's defaults filled in.
func NewRunner(cfg Config) *Runner {
	if cfg.QuotaScope == "" {
		cfg.QuotaScope = "platform"
	}
	if cfg.Instance == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.Instance = "i-" + hex.EncodeToString(b[:])
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Lease, 2*time.Minute)
	def(&cfg.PollEvery, 10*time.Minute)
	def(&cfg.RetryEvery, time.Minute)
	def(&cfg.QuotaRecheck, 10*time.Minute)
	def(&cfg.Idle, time.Second)
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 10
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Runner{cfg: cfg, log: log}
}

// Instance returns the name of this instance.
func (r *Runner) Instance() string { return r.cfg.Instance }

// chinaMonth is the month in China of t: WeChat's audit quota counts per China month.
func chinaMonth(t time.Time) string {
	return t.In(time.FixedZone("CST", 8*3600)).Format("2006-01")
}

// Start plans the rollout: it records the run and one Planned merchant per target, ordered by
// Priority (the first Release.FirstWave form the first wave). It is idempotent, so every instance
// may call it; merchants already planned are left as they are. It returns how many it added.
func (r *Runner) Start(ctx context.Context, ro *Rollout) (int, error) {
	if err := ro.validate(); err != nil {
		return 0, err
	}
	now := r.cfg.Now()
	if _, err := r.cfg.Store.CreateRun(ctx, Run{ID: ro.ID, Status: Running, TemplateID: ro.TemplateID,
		UserVersion: ro.UserVersion, Created: now}); err != nil {
		return 0, err
	}
	ids, err := r.targets(ctx, ro)
	if err != nil {
		return 0, err
	}
	prio := func(id string) int {
		if ro.Priority == nil {
			return 0
		}
		return ro.Priority(id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		if pa, pb := prio(a), prio(b); pa != pb {
			return pb - pa
		}
		if a < b {
			return -1
		}
		return 1
	})
	ms := make([]Merchant, 0, len(ids))
	for i, id := range ids {
		wave := 0
		if ro.Release.FirstWave > 0 && i >= ro.Release.FirstWave {
			wave = 1
		}
		ms = append(ms, Merchant{RunID: ro.ID, AppID: id, State: Planned, Priority: prio(id), Wave: wave, NextAt: now,
			Since: now, Updated: now})
	}
	added := 0
	for len(ms) > 0 {
		n := min(len(ms), 500)
		k, err := r.cfg.Store.AddMerchants(ctx, ms[:n])
		if err != nil {
			return added, err
		}
		added += k
		ms = ms[n:]
	}
	r.log.Info("rollout planned", "rollout", ro.ID, "merchants", len(ids), "added", added, "instance", r.cfg.Instance)
	return added, nil
}

func (r *Runner) targets(ctx context.Context, ro *Rollout) ([]string, error) {
	if len(ro.Targets.AppIDs) > 0 {
		return slices.Compact(slices.Sorted(slices.Values(ro.Targets.AppIDs))), nil
	}
	if r.cfg.Component == nil {
		return nil, wxerr.Invalid("Config.Component", "required for a rollout to every authorizer")
	}
	var ids []string
	for it, err := range r.cfg.Component.AllAuthorizers(ctx) {
		if err != nil {
			return nil, err
		}
		if ro.Targets.Filter == nil || ro.Targets.Filter(it) {
			ids = append(ids, it.AuthorizerAppID)
		}
	}
	return ids, nil
}

// Work claims due merchants of the rollout and takes each as far as it can go now, until every
// merchant is final (it then marks the run Done and returns nil), the run is cancelled, or ctx
// ends (ctx.Err()). Run it on every instance; a paused run is waited on, and store errors are
// logged and retried (an unknown rollout, ErrNotFound, is returned).
func (r *Runner) Work(ctx context.Context, ro *Rollout) error {
	if err := ro.validate(); err != nil {
		return err
	}
	sem := make(chan struct{}, r.cfg.Workers)
	for {
		run, err := r.cfg.Store.Run(ctx, ro.ID)
		if err != nil {
			if errors.Is(err, ErrNotFound) || ctx.Err() != nil {
				return err
			}
			r.log.Error("rollout store", "rollout", ro.ID, "err", err, "instance", r.cfg.Instance)
			if err := sleep(ctx, r.cfg.Idle); err != nil { // a store outage: wait, then read again
				return err
			}
			continue
		}
		switch run.Status {
		case Done, Cancelled:
			return nil
		case Paused:
			if err := sleep(ctx, r.cfg.Idle); err != nil {
				return err
			}
			continue
		}
		owner := r.cfg.Instance + "/" + strconv.FormatInt(r.seq.Add(1), 10)
		ms, err := r.cfg.Store.Claim(ctx, ro.ID, owner, r.cfg.Now(), r.cfg.Lease, 4*r.cfg.Workers)
		if err != nil && ctx.Err() != nil {
			return err
		}
		if err != nil {
			r.log.Error("rollout claim", "rollout", ro.ID, "err", err, "instance", r.cfg.Instance)
		}
		if len(ms) == 0 {
			done, err := r.tend(ctx, ro, run)
			if done {
				return nil
			}
			if err != nil {
				r.log.Error("rollout store", "rollout", ro.ID, "err", err, "instance", r.cfg.Instance)
			}
			if err := sleep(ctx, r.cfg.Idle); err != nil {
				return err
			}
			continue
		}
		var wg sync.WaitGroup
		for _, m := range ms {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				r.advance(ctx, ro, run, m, owner)
			}()
		}
		wg.Wait()
	}
}

// tend does the run-level bookkeeping when nothing is due: it opens the next wave and marks a run
// whose merchants are all final as Done.
func (r *Runner) tend(ctx context.Context, ro *Rollout, run Run) (bool, error) {
	counts, err := r.cfg.Store.Counts(ctx, ro.ID, -1)
	if err != nil {
		return false, err
	}
	open := 0
	for st, n := range counts {
		if !st.Final() {
			open += n
		}
	}
	if open == 0 {
		run.Status = Done
		if _, err := r.cfg.Store.UpdateRun(ctx, run); err != nil && !errors.Is(err, ErrLeaseLost) {
			return false, err
		}
		r.log.Info("rollout done", "rollout", ro.ID, "instance", r.cfg.Instance)
		return true, nil
	}
	if ro.Release.FirstWave > 0 && ro.Release.WaveDelay > 0 && run.WaveOpen.IsZero() {
		first, err := r.cfg.Store.Counts(ctx, ro.ID, 0)
		if err != nil {
			return false, err
		}
		for st, n := range first {
			if !st.Final() && n > 0 {
				return false, nil
			}
		}
		run.WaveOpen = r.cfg.Now().Add(ro.Release.WaveDelay)
		if _, err := r.cfg.Store.UpdateRun(ctx, run); err != nil && !errors.Is(err, ErrLeaseLost) {
			return false, err
		}
		r.log.Info("rollout first wave final", "rollout", ro.ID, "next_wave_at", run.WaveOpen)
	}
	return false, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// maxSteps bounds the steps one claim takes a merchant through.
const maxSteps = 12

// advance takes the claimed merchant m through its steps until it is final or waits.
func (r *Runner) advance(ctx context.Context, ro *Rollout, run Run, m Merchant, owner string) {
	defer func() { _ = r.cfg.Store.Unclaim(context.WithoutCancel(ctx), m, owner) }()
	for range maxSteps {
		next, err := r.step(ctx, ro, run, m, owner)
		if err != nil {
			if errors.Is(err, ErrLeaseLost) {
				r.log.Warn("rollout lease lost", "rollout", ro.ID, "appid", m.AppID, "state", m.State, "instance", r.cfg.Instance)
			} else if ctx.Err() == nil {
				r.log.Error("rollout store", "rollout", ro.ID, "appid", m.AppID, "err", err)
			}
			return
		}
		m = next
		if m.State.Final() || m.NextAt.After(r.cfg.Now()) {
			return
		}
	}
}

// job is one step's work on a merchant.
type job struct {
	r     *Runner
	ro    *Rollout
	run   Run
	owner string
	mp    *miniprogram.Client
}

// move writes m in state to (with detail in its history) and q, under the lease.
func (s *job) move(ctx context.Context, m Merchant, to State, detail string, q QuotaOp) (Merchant, error) {
	now := s.r.cfg.Now()
	var t *Transition
	if m.State != to {
		t = &Transition{At: now, From: m.State, To: to, Detail: detail, Instance: s.r.cfg.Instance}
		m.Since = now
	}
	from := m.State
	if progress(from, to) {
		m.Retries = 0
	}
	m.State = to
	saved, err := s.r.cfg.Store.Save(ctx, m, s.owner, now, s.r.cfg.Lease, t, q)
	if err == nil && t != nil {
		lvl := slog.LevelInfo
		if to == Failed || to == Rejected || to == Skipped {
			lvl = slog.LevelWarn
		}
		s.r.log.Log(ctx, lvl, "rollout transition", "rollout", s.ro.ID, "appid", m.AppID, "from", from, "to", to,
			"detail", detail, "attempt", m.Attempt, "instance", s.r.cfg.Instance)
	}
	return saved, err
}

// progress reports whether a move from one state to another ends the tries of a step: a move
// forward in the pipeline to a state that is not an intent.
func progress(from, to State) bool {
	switch to {
	case Submitting, Releasing, Promoting, Reverting:
		return false
	}
	return slices.Index(States, to) > slices.Index(States, from)
}

// maxBackoff bounds the wait between two tries of a step, in RetryEvery.
const maxBackoff = 32

// backoff is the wait before try n+1 of a step (n ≥ 1): RetryEvery, doubling, at most 32 RetryEvery.
func (r *Runner) backoff(n int) time.Duration {
	return r.cfg.RetryEvery * time.Duration(min(1<<min(n-1, 6), maxBackoff))
}

// retry moves m to state to (its own state, or the state before the intent whose call did not
// reach WeChat), due again after backoff(m.Retries+1), noting why; after MaxRetries tries the
// merchant fails with why instead. A merchant leaving Submitting gives its quota reservation back.
func (s *job) retry(ctx context.Context, m Merchant, to State, why string) (Merchant, error) {
	var q QuotaOp
	if m.State == Submitting {
		q = QuotaOp{s.r.cfg.QuotaScope, m.QuotaMonth, QuotaGiveBack}
	}
	if m.Retries >= s.r.cfg.MaxRetries {
		m.Error = fmt.Sprintf("%s (%d tries)", why, m.Retries+1)
		return s.move(ctx, m, Failed, m.Error, q)
	}
	if to == m.State {
		q = QuotaOp{}
	}
	m.Retries++
	wait := s.r.backoff(m.Retries)
	m.NextAt, m.Error = s.r.cfg.Now().Add(wait), why
	return s.move(ctx, m, to, fmt.Sprintf("%s; retry %d in %v", why, m.Retries, wait), q)
}

// park keeps m in its state, due again after d, noting why.
func (s *job) park(ctx context.Context, m Merchant, d time.Duration, why string) (Merchant, error) {
	m.NextAt = s.r.cfg.Now().Add(d)
	m.Error = why
	return s.move(ctx, m, m.State, "", QuotaOp{})
}

// permanent reports whether err will not go away by itself.
func permanent(err error) bool {
	var ae *wxerr.APIError
	var mt *miniprogram.MissingTextError
	switch {
	case errors.As(err, &ae):
		return !ae.Temporary() && ae.Code != wxerr.CodePrivacyScanPending
	case wxerr.IsValidation(err), errors.As(err, &mt):
		return true
	}
	return false
}

// failOrRetry fails m on a permanent error and tries its step again later otherwise (retry).
func (s *job) failOrRetry(ctx context.Context, m Merchant, what string, err error) (Merchant, error) {
	if permanent(err) {
		m.Error = what + ": " + err.Error()
		return s.move(ctx, m, Failed, m.Error, QuotaOp{})
	}
	return s.retry(ctx, m, m.State, what+": "+err.Error())
}

// step takes m one state further, or parks it.
func (r *Runner) step(ctx context.Context, ro *Rollout, run Run, m Merchant, owner string) (Merchant, error) {
	s := &job{r: r, ro: ro, run: run, owner: owner, mp: r.cfg.MiniProgram(m.AppID)}
	cctx, cancel := context.WithTimeout(ctx, r.cfg.Lease/2) // WeChat calls end well before the lease
	defer cancel()
	switch m.State {
	case Planned:
		return s.commit(cctx, ctx, m)
	case Committed:
		return s.privacy(cctx, ctx, m)
	case PrivacySet:
		return s.submit(cctx, ctx, m)
	case Submitting:
		return s.settleSubmit(cctx, ctx, m)
	case Submitted:
		return s.poll(cctx, ctx, m)
	case Approved:
		return s.release(cctx, ctx, m)
	case Releasing:
		return s.settleRelease(cctx, ctx, m)
	case Grey:
		return s.promote(cctx, ctx, m)
	case Promoting:
		return s.settlePromote(cctx, ctx, m)
	case Reverting:
		return s.revert(cctx, ctx, m)
	}
	return m, nil
}

func (s *job) commit(cctx, ctx context.Context, m Merchant) (Merchant, error) {
	var ext any
	if s.ro.ExtJSON != nil {
		var err error
		if ext, err = s.ro.ExtJSON(cctx, m.AppID); err != nil {
			m.Error = "ext_json: " + err.Error()
			return s.move(ctx, m, Failed, m.Error, QuotaOp{})
		}
	}
	// A commit replaces the trial version: sending it again is harmless, so it has no intent state.
	err := s.mp.Commit(cctx, miniprogram.CommitRequest{TemplateID: s.ro.TemplateID, ExtJSON: ext,
		UserVersion: s.ro.UserVersion, UserDesc: s.ro.UserDesc})
	if err != nil {
		return s.failOrRetry(ctx, m, "commit", err)
	}
	m.Error = ""
	return s.move(ctx, m, Committed, "template "+strconv.FormatInt(s.ro.TemplateID, 10), QuotaOp{})
}

func (s *job) privacy(cctx, ctx context.Context, m Merchant) (Merchant, error) {
	// The privacy scan of the commit must finish before the guide is built and before
	// submit_audit (61039 otherwise, a wasted call).
	if _, err := s.mp.Privacy().CodePrivacyInfo(cctx); err != nil {
		var pending *miniprogram.ScanPendingError
		if errors.As(err, &pending) {
			return s.park(ctx, m, s.r.cfg.RetryEvery, "privacy scan running") // RetryEvery: about ScanRetryAfter
		}
		return s.failOrRetry(ctx, m, "privacy scan", err)
	}
	if p := s.ro.Privacy; p != nil {
		owner := p.Template.Owner
		if p.Owner != nil {
			var err error
			if owner, err = p.Owner(cctx, m.AppID); err != nil {
				return s.failOrRetry(ctx, m, "privacy owner", err)
			}
		}
		// Setting the same guide again is harmless: no intent state.
		if _, err := s.mp.Privacy().DeclareGuide(cctx, p.Template, owner); err != nil {
			return s.failOrRetry(ctx, m, "privacy guide", err)
		}
	}
	m.Error = ""
	return s.move(ctx, m, PrivacySet, "", QuotaOp{})
}

// skipCodes are submit_audit's answers for a closed readiness gate: the merchant is skipped.
var skipCodes = []wxerr.Code{wxerr.CodeBasicInfoMissing, wxerr.CodeCategoryNotApproved, wxerr.CodePrivacyConfigMissing,
	wxerr.CodeCommitFirst, 85007}

func (s *job) submit(cctx, ctx context.Context, m Merchant) (Merchant, error) {
	if s.ro.CheckReadiness {
		rd, err := s.mp.Readiness(cctx)
		if err != nil {
			return s.failOrRetry(ctx, m, "readiness", err)
		}
		var gates []string
		scan := false
		for _, g := range rd.Closed {
			switch {
			case g.Stage != miniprogram.StageSubmit || g.Gate == miniprogram.GateAuditQuota:
			case g.Gate == miniprogram.GatePrivacyScan:
				scan = true
			default:
				gates = append(gates, fmt.Sprintf("%s (%d): %s", g.Gate, g.Code, g.Detail))
			}
		}
		if len(gates) > 0 {
			m.Gates = gates
			return s.move(ctx, m, Skipped, fmt.Sprintf("%d gates closed", len(gates)), QuotaOp{})
		}
		if scan {
			return s.park(ctx, m, s.r.cfg.RetryEvery, "privacy scan running")
		}
	}
	build := s.ro.Audit.Request
	if build == nil {
		build = FirstPageRequest
	}
	req, err := build(cctx, s.mp, m.AppID)
	if err != nil {
		return s.failOrRetry(ctx, m, "audit request", err)
	}
	now := s.r.cfg.Now()
	month := chinaMonth(now)
	m.PrevAuditID, m.QuotaMonth, m.Error = m.AuditID, month, ""
	intent, err := s.move(ctx, m, Submitting, "attempt "+strconv.Itoa(m.Attempt), QuotaOp{s.r.cfg.QuotaScope, month, QuotaReserve})
	if errors.Is(err, ErrNoQuota) {
		s.r.refill(cctx, ctx, s, month)
		q, err := s.r.cfg.Store.AuditQuota(ctx, s.r.cfg.QuotaScope, month)
		if err != nil {
			return m, err
		}
		if q.Left() > 0 {
			return m, nil // due now: the next step reserves again
		}
		wait := s.r.cfg.RetryEvery
		if run, err := s.r.cfg.Store.Run(ctx, s.ro.ID); err == nil && run.QuotaWaitUntil.After(now) {
			wait = max(wait, run.QuotaWaitUntil.Sub(now))
		}
		return s.park(ctx, m, wait, "waiting for audit quota")
	}
	if err != nil {
		return m, err
	}
	m = intent
	id, err := s.mp.SubmitAudit(cctx, req)
	giveBack := QuotaOp{s.r.cfg.QuotaScope, m.QuotaMonth, QuotaGiveBack}
	code := wxerr.CodeOf(err)
	switch {
	case err == nil:
		return s.submitted(cctx, ctx, m, id)
	case code == wxerr.CodeAuditQuota:
		s.r.exhausted(ctx, s, m.QuotaMonth)
		m.NextAt = now.Add(s.r.cfg.QuotaRecheck)
		m.Error = "audit quota used up (85085)"
		return s.move(ctx, m, PrivacySet, m.Error, giveBack)
	case code == wxerr.CodePrivacyScanPending:
		m.NextAt, m.Error = now.Add(s.r.cfg.RetryEvery), "privacy scan running (61039)"
		return s.move(ctx, m, PrivacySet, m.Error, giveBack)
	case slices.Contains(skipCodes, code):
		m.Gates = []string{err.Error()}
		return s.move(ctx, m, Skipped, "submit_audit refused", giveBack)
	case code == wxerr.CodeAuditPending || !permanent(err):
		// Maybe ours, sent by an earlier attempt whose answer was lost: settle by reading.
		m.Error = "submit_audit: " + err.Error()
		return s.settleSubmit(cctx, ctx, m)
	default:
		m.Error = "submit_audit: " + err.Error()
		return s.move(ctx, m, Failed, m.Error, giveBack)
	}
}

// FirstPageRequest is the default AuditPolicy.Request: one item, the first page of the committed
// code (get_page) under the merchant's first approved category (get_category).
func FirstPageRequest(ctx context.Context, mp *miniprogram.Client, _ string) (miniprogram.SubmitAuditRequest, error) {
	pages, err := mp.Pages(ctx)
	if err != nil {
		return miniprogram.SubmitAuditRequest{}, err
	}
	cats, err := mp.Categories(ctx)
	if err != nil {
		return miniprogram.SubmitAuditRequest{}, err
	}
	if len(pages) == 0 || len(cats) == 0 {
		return miniprogram.SubmitAuditRequest{}, wxerr.Invalid("item_list", "a page and an approved category")
	}
	c := cats[0]
	return miniprogram.SubmitAuditRequest{ItemList: []miniprogram.AuditItem{{Address: pages[0], FirstClass: c.FirstClass,
		SecondClass: c.SecondClass, ThirdClass: c.ThirdClass, FirstID: c.FirstID, SecondID: c.SecondID, ThirdID: c.ThirdID}}}, nil
}

// submitted records the audit id (the quota reservation counted) and expedites within budget.
func (s *job) submitted(cctx, ctx context.Context, m Merchant, id int64) (Merchant, error) {
	m.AuditID, m.Pushed, m.Reason, m.ScreenShots, m.Error = id, "", "", nil, ""
	m.NextAt = s.r.cfg.Now().Add(s.r.cfg.PollEvery)
	saved, err := s.move(ctx, m, Submitted, "auditid "+strconv.FormatInt(id, 10),
		QuotaOp{s.r.cfg.QuotaScope, m.QuotaMonth, QuotaCount})
	if err != nil || s.ro.Audit.SpeedUps == 0 {
		return saved, err
	}
	s.speedUp(cctx, ctx, m.AppID, id)
	return saved, nil
}

// speedUp expedites audit id within the rollout's budget (a counter in the Store, reserved before
// the call). A refusal WeChat did not spend an expedite on (89401 unstable, -1 busy, 89405 none
// left) gives the unit back; after 89405 this instance sends no speedupaudit until the next
// China month.
func (s *job) speedUp(cctx, ctx context.Context, appID string, id int64) {
	month := chinaMonth(s.r.cfg.Now())
	s.r.mu.Lock()
	out := s.r.speedUpsOut == month
	s.r.mu.Unlock()
	key := "speedup/" + s.ro.ID
	if out {
		return
	}
	if ok, err := s.r.cfg.Store.Reserve(ctx, key, s.ro.Audit.SpeedUps); err != nil || !ok {
		return
	}
	err := s.mp.SpeedUpAudit(cctx, id)
	if err == nil {
		return
	}
	s.r.log.Warn("rollout speedupaudit", "rollout", s.ro.ID, "appid", appID, "err", err)
	code := wxerr.CodeOf(err)
	if code == wxerr.CodeSpeedUpQuotaUsedUp {
		s.r.mu.Lock()
		s.r.speedUpsOut = month
		s.r.mu.Unlock()
	}
	if code == wxerr.CodeSpeedUpQuotaUsedUp || wxerr.IsRetryLater(err) {
		if err := s.r.cfg.Store.Unreserve(ctx, key); err != nil {
			s.r.log.Warn("rollout speed-up budget", "rollout", s.ro.ID, "err", err)
		}
	}
}

// settleSubmit finds out whether the submit_audit of this attempt reached WeChat: a latest audit
// other than the one before it, of this version, is ours. Another audit under review (85009) skips
// the merchant at the audit_pending gate: WeChat refuses every submit_audit until it ends. When
// nothing was sent, the merchant submits again after a growing wait (retry), so that a WeChat
// answering -1 or a lost connection is not met with a stream of submit_audit calls.
func (s *job) settleSubmit(cctx, ctx context.Context, m Merchant) (Merchant, error) {
	st, err := s.mp.LatestAuditStatus(cctx)
	if err != nil && wxerr.CodeOf(err) != wxerr.CodeInvalidAuditID {
		return s.retry(ctx, m, Submitting, "settling submit_audit: "+err.Error())
	}
	if err == nil && st.AuditID != m.PrevAuditID && st.UserVersion == s.ro.UserVersion {
		return s.submitted(cctx, ctx, m, st.AuditID)
	}
	if err == nil && (st.Status == miniprogram.AuditReviewing || st.Status == miniprogram.AuditDelayed) {
		m.Gates = []string{fmt.Sprintf("%s (%d): audit %d of version %s is %s", miniprogram.GateAuditPending,
			wxerr.CodeAuditPending, st.AuditID, st.UserVersion, st.Status)}
		return s.move(ctx, m, Skipped, "another audit under review", QuotaOp{s.r.cfg.QuotaScope, m.QuotaMonth, QuotaGiveBack})
	}
	return s.retry(ctx, m, PrivacySet, unsent(m, "submit_audit"))
}

func (s *job) poll(cctx, ctx context.Context, m Merchant) (Merchant, error) {
	st, err := s.mp.LatestAuditStatus(cctx)
	if err != nil {
		return s.park(ctx, m, s.r.cfg.RetryEvery, "get_latest_auditstatus: "+err.Error())
	}
	if st.AuditID != m.AuditID {
		m.Error = fmt.Sprintf("audit %d was replaced by audit %d outside the rollout", m.AuditID, st.AuditID)
		return s.move(ctx, m, Failed, m.Error, QuotaOp{})
	}
	via := "polled"
	if m.Pushed != "" {
		via = "pushed"
	}
	switch st.Status {
	case miniprogram.AuditApproved:
		m.NextAt = s.r.cfg.Now()
		return s.move(ctx, m, Approved, via, QuotaOp{})
	case miniprogram.AuditRejected, miniprogram.AuditWithdrawn:
		m.Reason, m.ScreenShots = st.Reason, st.ScreenShots
		if st.Status == miniprogram.AuditWithdrawn {
			m.Reason = "withdrawn (undocodeaudit)"
		}
		return s.move(ctx, m, Rejected, via+": "+m.Reason, QuotaOp{})
	}
	m.Pushed = ""
	return s.park(ctx, m, s.r.cfg.PollEvery, "")
}

// refill reads queryquota (at most once per RetryEvery per instance, and not before the run's
// QuotaWaitUntil) and raises the shared ceiling when no reservation is unsettled. It reports
// whether quota is now available.
func (r *Runner) refill(cctx, ctx context.Context, s *job, month string) bool {
	now := r.cfg.Now()
	r.mu.Lock()
	if now.Sub(r.refilled) < r.cfg.RetryEvery/4 {
		r.mu.Unlock()
		return false
	}
	r.refilled = now
	r.mu.Unlock()
	if run, err := r.cfg.Store.Run(ctx, s.ro.ID); err != nil || run.QuotaWaitUntil.After(now) {
		return false
	}
	seen, err := r.cfg.Store.AuditQuota(ctx, r.cfg.QuotaScope, month)
	if err != nil || seen.Used != seen.Settled {
		return false // submissions in flight: WeChat's rest would not be comparable
	}
	q, err := s.mp.AuditQuota(cctx)
	if err != nil {
		r.log.Warn("rollout queryquota", "rollout", s.ro.ID, "err", err)
		return false
	}
	ok, err := r.cfg.Store.RefillAudit(ctx, r.cfg.QuotaScope, month, seen, q.Rest)
	if err != nil || !ok {
		return false
	}
	if q.Rest == 0 {
		r.exhausted(ctx, s, month)
		return false
	}
	r.log.Info("rollout audit quota read", "rollout", s.ro.ID, "rest", q.Rest, "limit", q.Limit, "instance", r.cfg.Instance)
	return true
}

// exhausted notes that the quota ran out: nobody reads queryquota again before QuotaRecheck.
func (r *Runner) exhausted(ctx context.Context, s *job, month string) {
	if seen, err := r.cfg.Store.AuditQuota(ctx, r.cfg.QuotaScope, month); err == nil {
		_, _ = r.cfg.Store.RefillAudit(ctx, r.cfg.QuotaScope, month, seen, 0)
	}
	run, err := r.cfg.Store.Run(ctx, s.ro.ID)
	if err != nil {
		return
	}
	until := r.cfg.Now().Add(r.cfg.QuotaRecheck)
	if run.QuotaWaitUntil.Before(until) {
		run.QuotaWaitUntil = until
		_, _ = r.cfg.Store.UpdateRun(ctx, run)
	}
	r.log.Warn("rollout audit quota used up", "rollout", s.ro.ID, "recheck_at", until, "instance", r.cfg.Instance)
}
