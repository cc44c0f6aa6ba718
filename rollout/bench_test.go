package rollout_test

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/rollout"
	"github.com/wxopen-go/wxopen/wxtest"
)

// countingStore counts the round trips to the Store.
type countingStore struct {
	rollout.Store
	n atomic.Int64
}

func (c *countingStore) Claim(ctx context.Context, runID, owner string, now time.Time, lease time.Duration, n int) ([]rollout.Merchant, error) {
	c.n.Add(1)
	return c.Store.Claim(ctx, runID, owner, now, lease, n)
}

func (c *countingStore) Save(ctx context.Context, m rollout.Merchant, owner string, now time.Time, lease time.Duration, t *rollout.Transition, q rollout.QuotaOp) (rollout.Merchant, error) {
	c.n.Add(1)
	return c.Store.Save(ctx, m, owner, now, lease, t, q)
}

func (c *countingStore) Unclaim(ctx context.Context, m rollout.Merchant, owner string) error {
	c.n.Add(1)
	return c.Store.Unclaim(ctx, m, owner)
}

func (c *countingStore) Run(ctx context.Context, id string) (rollout.Run, error) {
	c.n.Add(1)
	return c.Store.Run(ctx, id)
}

func (c *countingStore) Counts(ctx context.Context, runID string, wave int) (map[rollout.State]int, error) {
	c.n.Add(1)
	return c.Store.Counts(ctx, runID, wave)
}

func (c *countingStore) Hint(ctx context.Context, appID, kind string, now time.Time) (int, error) {
	c.n.Add(1)
	return c.Store.Hint(ctx, appID, kind, now)
}

func (c *countingStore) AuditQuota(ctx context.Context, scope, month string) (rollout.Quota, error) {
	c.n.Add(1)
	return c.Store.AuditQuota(ctx, scope, month)
}

func (c *countingStore) RefillAudit(ctx context.Context, scope, month string, seen rollout.Quota, rest int) (bool, error) {
	c.n.Add(1)
	return c.Store.RefillAudit(ctx, scope, month, seen, rest)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRollout takes b.N merchants from planned to released (full release, audits approved
// and pushed) with one Runner of 8 workers, on each store. Reported per merchant: wall-clock
// (ns/op, which includes the waits for the emulator's reviewers), the process CPU (cpu-ns/merchant:
// the Runner, wxopen's HTTP client and the in-process emulator together), the Store round trips
// (store-ops/merchant) and WeChat calls (wechat-calls/merchant).
func BenchmarkRollout(b *testing.B) {
	b.Run("Memory", func(b *testing.B) { benchRollout(b, rollout.NewMemoryStore()) })
	for _, be := range sqlBackends {
		b.Run(be.name, func(b *testing.B) { benchRollout(b, be.store(b, "")) })
	}
}

func benchRollout(b *testing.B, s rollout.Store) {
	n := b.N
	f := newFleet(b, n, nil)
	f.emu.SetAuditQuota(n, 0)
	f.emu.SetAuditReview(wxtest.AuditReview{After: time.Minute})
	store := &countingStore{Store: s}
	ro := f.rollout(rollout.ReleaseFull)
	r := f.runner(b, store, "bench")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := r.Start(ctx, ro); err != nil {
		b.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	go f.reviewers(rctx, b)
	calls0 := totalCalls(f.emu)
	store.n.Store(0)
	cpu0 := cpuTime()
	b.ReportAllocs()
	b.ResetTimer()
	if err := r.Work(ctx, ro); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	stop()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(n), "cpu-ns/merchant")
	b.ReportMetric(float64(store.n.Load())/float64(n), "store-ops/merchant")
	b.ReportMetric(float64(totalCalls(f.emu)-calls0)/float64(n), "wechat-calls/merchant")
	if c, _ := s.Counts(ctx, ro.ID, -1); c[rollout.Released] != n {
		b.Fatalf("counts %v", c)
	}
}

// totalCalls sums the emulator's calls of the paths a rollout uses.
func totalCalls(emu *wxtest.Server) int {
	total := 0
	for _, p := range []string{"/wxa/commit", "/wxa/security/get_code_privacy_info", "/wxa/get_page", "/wxa/get_category",
		"/wxa/submit_audit", "/wxa/get_latest_auditstatus", "/wxa/release", "/wxa/queryquota",
		"/cgi-bin/component/api_authorizer_token", "/cgi-bin/component/api_component_token"} {
		total += emu.Calls(p)
	}
	return total
}
