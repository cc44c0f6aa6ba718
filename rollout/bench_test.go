package rollout_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
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

// BenchmarkStoreScale measures one claim, one state write and the unclaim (a merchant's step, seen
// from the store) in a rollout of 10,000 and 1,000,000 merchants (100,000 on SQL), and the memory
// store's bytes per merchant.
func BenchmarkStoreScale(b *testing.B) {
	type store struct {
		name  string
		open  func(b *testing.B) rollout.Store
		sizes []int
	}
	// The memory store is measured up to a million merchants; the SQL stores to 100,000 (filling a
	// million rows takes minutes per run).
	stores := []store{{"Memory", func(*testing.B) rollout.Store { return rollout.NewMemoryStore() }, []int{10_000, 1_000_000}}}
	for _, be := range sqlBackends {
		stores = append(stores, store{be.name, func(b *testing.B) rollout.Store { return be.store(b, "") }, []int{10_000, 100_000}})
	}
	for _, st := range stores {
		for _, size := range st.sizes {
			b.Run(fmt.Sprintf("%s/%dk", st.name, size/1000), func(b *testing.B) {
				ctx := context.Background()
				s := st.open(b)
				now := time.Now()
				if _, err := s.CreateRun(ctx, rollout.Run{ID: "r", Status: rollout.Running}); err != nil {
					b.Fatal(err)
				}
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				batch := make([]rollout.Merchant, 0, 1000)
				for i := range size {
					batch = append(batch, rollout.Merchant{RunID: "r", AppID: fmt.Sprintf("wx%016x", i), State: rollout.Planned,
						NextAt: now, Priority: i % 7})
					if len(batch) == cap(batch) {
						if _, err := s.AddMerchants(ctx, batch); err != nil {
							b.Fatal(err)
						}
						batch = batch[:0]
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				// A first claim outside the timer: the memory store sorts a plan's merchants once, at the
				// claim that follows it.
				if _, err := s.Claim(ctx, "r", "warm-up", now, time.Minute, 0); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					owner := "o" + strconv.Itoa(i)
					ms, err := s.Claim(ctx, "r", owner, now, time.Minute, 1)
					if err != nil || len(ms) != 1 {
						b.Fatalf("claim %d: %v", len(ms), err)
					}
					m := ms[0]
					m.State, m.NextAt = rollout.Committed, now.Add(time.Hour) // not due again
					if _, err := s.Save(ctx, m, owner, now, time.Minute, &rollout.Transition{At: now, From: rollout.Planned, To: rollout.Committed}, rollout.QuotaOp{}); err != nil {
						b.Fatal(err)
					}
					if err := s.Unclaim(ctx, m, owner); err != nil {
						b.Fatal(err)
					}
				}
				if st.name == "Memory" {
					b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(size), "heap-B/merchant")
				}
			})
		}
	}
}
