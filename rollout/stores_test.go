package rollout_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/wxopen-go/wxopen/rollout"
	"github.com/wxopen-go/wxopen/rollout/sqlstore"
)

// backend is a Store to run the tests against.
type backend struct {
	name, env, driver string
	dialect           sqlstore.Dialect
}

var sqlBackends = []backend{
	{name: "MariaDB", env: "WXOPEN_MYSQL_DSN", driver: "mysql", dialect: sqlstore.MySQL},
	{name: "Postgres", env: "WXOPEN_POSTGRES_DSN", driver: "pgx", dialect: sqlstore.Postgres},
}

// open returns a *sql.DB on b's test server, skipping (failing in CI) without one.
func (b backend) open(t testing.TB) *sql.DB {
	t.Helper()
	dsn := os.Getenv(b.env)
	if dsn == "" {
		unavailable(t, b.env+" is not set")
	}
	db, err := sql.Open(b.driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		unavailable(t, b.env+" does not answer: "+err.Error())
	}
	db.SetMaxOpenConns(20)
	return db
}

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s; in CI the SQL servers must run (.ci/run sources .ci/sql.sh)", why)
	}
	t.Skipf("%s; source .ci/sql.sh to run the SQL tests", why)
}

// store returns a migrated SQL store on tables unique to this test (prefix, dropped at the end).
func (b backend) store(t testing.TB, prefix string) *sqlstore.Store {
	t.Helper()
	db := b.open(t)
	if prefix == "" {
		buf := make([]byte, 5)
		_, _ = rand.Read(buf)
		prefix = "ro_test_" + hex.EncodeToString(buf)
		t.Cleanup(func() { dropTables(db, prefix) })
	}
	s, err := sqlstore.New(db, b.dialect, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func dropTables(db *sql.DB, prefix string) {
	for _, tb := range []string{"runs", "merchants", "history", "quota", "counters"} {
		_, _ = db.Exec("DROP TABLE IF EXISTS " + prefix + "_" + tb)
	}
}

// forEachStore runs f on the memory store and on every SQL backend.
func forEachStore(t *testing.T, f func(t *testing.T, s rollout.Store)) {
	t.Run("Memory", func(t *testing.T) { f(t, rollout.NewMemoryStore()) })
	for _, b := range sqlBackends {
		t.Run(b.name, func(t *testing.T) { f(t, b.store(t, "")) })
	}
}

func TestStoreLeases(t *testing.T) {
	forEachStore(t, func(t *testing.T, s rollout.Store) {
		ctx := context.Background()
		now := time.Now().Truncate(time.Millisecond)
		if _, err := s.CreateRun(ctx, rollout.Run{ID: "r", Status: rollout.Running, Created: now}); err != nil {
			t.Fatal(err)
		}
		var ms []rollout.Merchant
		for _, id := range []string{"wxa", "wxb", "wxc", "wxd"} {
			ms = append(ms, rollout.Merchant{RunID: "r", AppID: id, State: rollout.Planned, NextAt: now, Priority: len(ms)})
		}
		if n, err := s.AddMerchants(ctx, ms); err != nil || n != 4 {
			t.Fatalf("AddMerchants = %d, %v", n, err)
		}
		if n, err := s.AddMerchants(ctx, ms); err != nil || n != 0 {
			t.Fatalf("AddMerchants again = %d, %v; want 0", n, err)
		}
		// Two claimers at once never get the same merchant; priority first.
		var mu sync.Mutex
		got := map[string]string{}
		var wg sync.WaitGroup
		for _, owner := range []string{"A", "B"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := s.Claim(ctx, "r", owner, now, time.Minute, 3)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				defer mu.Unlock()
				for _, m := range c {
					if prev, dup := got[m.AppID]; dup {
						t.Errorf("%s claimed by %s and %s", m.AppID, prev, owner)
					}
					got[m.AppID] = owner
				}
			}()
		}
		wg.Wait()
		// SKIP LOCKED may leave a concurrent claimer with fewer rows than are free (MariaDB skips
		// past locked index ranges): the next claim takes them.
		if rest, err := s.Claim(ctx, "r", "A", now, time.Minute, 4); err != nil {
			t.Fatal(err)
		} else {
			for _, m := range rest {
				if prev, dup := got[m.AppID]; dup {
					t.Errorf("%s claimed by %s and again", m.AppID, prev)
				}
				got[m.AppID] = "A"
			}
		}
		if len(got) != 4 {
			t.Fatalf("claimed %v, want all 4", got)
		}
		m, err := s.Merchant(ctx, "r", "wxd")
		if err != nil {
			t.Fatal(err)
		}
		owner := got["wxd"]
		other := map[string]string{"A": "B", "B": "A"}[owner]
		if _, err := s.Save(ctx, m, other, now, time.Minute, nil, rollout.QuotaOp{}); !errors.Is(err, rollout.ErrLeaseLost) {
			t.Fatalf("Save by non-owner: %v, want ErrLeaseLost", err)
		}
		m.State = rollout.Committed
		m2, err := s.Save(ctx, m, owner, now, time.Minute, &rollout.Transition{At: now, From: rollout.Planned, To: rollout.Committed}, rollout.QuotaOp{})
		if err != nil || m2.Version != m.Version+1 {
			t.Fatalf("Save by owner = %+v, %v", m2, err)
		}
		if _, err := s.Save(ctx, m, owner, now, time.Minute, nil, rollout.QuotaOp{}); !errors.Is(err, rollout.ErrLeaseLost) {
			t.Fatalf("Save at a stale version: %v, want ErrLeaseLost", err)
		}
		// The lease ends: another instance takes it over, and the old owner can no longer write.
		later := now.Add(2 * time.Minute)
		c, err := s.Claim(ctx, "r", "C", later, time.Minute, 10)
		if err != nil || len(c) != 4 {
			t.Fatalf("take-over claimed %d, %v; want 4", len(c), err)
		}
		if _, err := s.Save(ctx, m2, owner, later, time.Minute, nil, rollout.QuotaOp{}); !errors.Is(err, rollout.ErrLeaseLost) {
			t.Fatalf("Save after take-over: %v, want ErrLeaseLost", err)
		}
		// The quota: none until refilled; reservations stop at the ceiling; refill waits for
		// unsettled reservations.
		q := func(op rollout.QuotaChange) rollout.QuotaOp {
			return rollout.QuotaOp{Scope: "p", Month: "2026-12", Op: op}
		}
		cur, _ := s.Merchant(ctx, "r", "wxa")
		if _, err := s.Save(ctx, cur, "C", later, time.Minute, nil, q(rollout.QuotaReserve)); !errors.Is(err, rollout.ErrNoQuota) {
			t.Fatalf("reserve without quota: %v", err)
		}
		if ok, err := s.RefillAudit(ctx, "p", "2026-12", rollout.Quota{}, 1); !ok || err != nil {
			t.Fatalf("refill = %v, %v", ok, err)
		}
		cur, err = s.Save(ctx, cur, "C", later, time.Minute, nil, q(rollout.QuotaReserve))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Save(ctx, cur, "C", later, time.Minute, nil, q(rollout.QuotaReserve)); !errors.Is(err, rollout.ErrNoQuota) {
			t.Fatalf("reserve beyond the ceiling: %v", err)
		}
		if ok, _ := s.RefillAudit(ctx, "p", "2026-12", rollout.Quota{Used: 1, Ceiling: 1}, 5); ok {
			t.Fatal("refill with an unsettled reservation")
		}
		if cur, err = s.Save(ctx, cur, "C", later, time.Minute, nil, q(rollout.QuotaCount)); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.RefillAudit(ctx, "p", "2026-12", rollout.Quota{Used: 1, Settled: 0, Ceiling: 1}, 5); ok {
			t.Fatal("refill over an account that changed since it was read")
		}
		if ok, _ := s.RefillAudit(ctx, "p", "2026-12", rollout.Quota{Used: 1, Settled: 1, Ceiling: 1}, 5); !ok {
			t.Fatal("refill refused once settled")
		}
		if qa, _ := s.AuditQuota(ctx, "p", "2026-12"); qa != (rollout.Quota{Used: 1, Settled: 1, Ceiling: 6}) {
			t.Fatalf("quota = %+v", qa)
		}
		// Hints wake merchants under review; Retry plans failed ones again with a history line.
		cur.State = rollout.Submitted
		cur.NextAt = later.Add(time.Hour)
		if cur, err = s.Save(ctx, cur, "C", later, time.Minute, nil, rollout.QuotaOp{}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Hint(ctx, "wxa", "fail", later); n != 1 || err != nil {
			t.Fatalf("Hint = %d, %v", n, err)
		}
		if got, _ := s.Merchant(ctx, "r", "wxa"); got.Pushed != "fail" || !got.NextAt.Equal(later) {
			t.Fatalf("hinted merchant = %+v", got)
		}
		b, _ := s.Merchant(ctx, "r", "wxb")
		b.State, b.Error = rollout.Failed, "boom"
		if _, err := s.Save(ctx, b, "C", later, time.Minute, nil, rollout.QuotaOp{}); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Retry(ctx, "r", []rollout.State{rollout.Failed}, later); n != 0 {
			t.Fatal("Retry moved a leased merchant")
		}
		if n, _ := s.Retry(ctx, "r", []rollout.State{rollout.Failed}, later.Add(2*time.Minute)); n != 1 {
			t.Fatalf("Retry moved %d, want 1", n)
		}
		if got, _ := s.Merchant(ctx, "r", "wxb"); got.State != rollout.Planned || got.Attempt != 1 {
			t.Fatalf("retried merchant = %+v", got)
		}
		h, err := s.History(ctx, "r", "wxb")
		if err != nil || len(h) != 1 || h[0].From != rollout.Failed || h[0].To != rollout.Planned {
			t.Fatalf("history = %+v, %v", h, err)
		}
		counts, _ := s.Counts(ctx, "r", -1)
		if counts[rollout.Planned] != 2 || counts[rollout.Submitted] != 1 || counts[rollout.Committed] != 1 {
			t.Fatalf("counts = %v", counts)
		}
		if ok, _ := s.Reserve(ctx, "k", 1); !ok {
			t.Fatal("Reserve under the limit refused")
		}
		if ok, _ := s.Reserve(ctx, "k", 1); ok {
			t.Fatal("Reserve beyond the limit")
		}
		// A unit given back may be taken again; a counter never goes below 0.
		for range 2 {
			if err := s.Unreserve(ctx, "k"); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Unreserve(ctx, "never-reserved"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.Reserve(ctx, "k", 1); !ok {
			t.Fatal("Reserve of a unit given back refused")
		}
		if ok, _ := s.Reserve(ctx, "k", 1); ok {
			t.Fatal("Reserve beyond the limit after two give-backs of one unit")
		}
		run, _ := s.Run(ctx, "r")
		run.Status = rollout.Paused
		if _, err := s.UpdateRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateRun(ctx, run); !errors.Is(err, rollout.ErrLeaseLost) {
			t.Fatalf("UpdateRun at a stale version: %v", err)
		}
		if err := s.DeleteRun(ctx, "r"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Run(ctx, "r"); !errors.Is(err, rollout.ErrNotFound) {
			t.Fatalf("run after DeleteRun: %v", err)
		}
		if _, err := s.Merchant(ctx, "r", "wxa"); !errors.Is(err, rollout.ErrNotFound) {
			t.Fatalf("merchant after DeleteRun: %v", err)
		}
		if c, _ := s.Counts(ctx, "r", -1); len(c) != 0 {
			t.Fatalf("counts after DeleteRun: %v", c)
		}
	})
}

// A claim returns only the merchants it leased now, never those the same owner still holds from an
// earlier claim (they would be worked twice at once by one instance).
func TestStoreClaimReturnsOnlyNewLeases(t *testing.T) {
	forEachStore(t, func(t *testing.T, s rollout.Store) {
		ctx := context.Background()
		now := time.Now().Truncate(time.Millisecond)
		if _, err := s.CreateRun(ctx, rollout.Run{ID: "r", Status: rollout.Running, Created: now}); err != nil {
			t.Fatal(err)
		}
		var ms []rollout.Merchant
		for _, id := range []string{"wxa", "wxb", "wxc", "wxd"} {
			ms = append(ms, rollout.Merchant{RunID: "r", AppID: id, State: rollout.Planned, NextAt: now, Priority: len(ms)})
		}
		if _, err := s.AddMerchants(ctx, ms); err != nil {
			t.Fatal(err)
		}
		first, err := s.Claim(ctx, "r", "A", now, time.Minute, 2)
		if err != nil || len(first) != 2 {
			t.Fatalf("first claim = %d merchants, %v; want 2", len(first), err)
		}
		second, err := s.Claim(ctx, "r", "A", now, time.Minute, 4)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{first[0].AppID: true, first[1].AppID: true}
		for _, m := range second {
			if seen[m.AppID] {
				t.Errorf("%s returned again by the second claim of its owner", m.AppID)
			}
			seen[m.AppID] = true
		}
		if len(seen) != 4 {
			t.Errorf("claimed %v, want all 4", seen)
		}
	})
}
