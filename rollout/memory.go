package rollout

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a Store in one process's memory, for tests and single-instance platforms.
type MemoryStore struct {
	mu    sync.Mutex
	runs  map[string]Run
	ms    map[string]map[string]*memMerchant // run → appid → merchant
	order map[string][]*memMerchant          // run → its open merchants, highest priority first
	// unsorted holds the runs whose order has merchants appended since it was last sorted: a plan adds
	// its merchants in batches, and sorting once, at the next claim, keeps planning linear.
	unsorted map[string]bool
	quota    map[string]*Quota // scope + "\x00" + month
	counters map[string]int
}

type memMerchant struct {
	m          Merchant
	owner      string
	leaseUntil time.Time
	history    []Transition
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{runs: map[string]Run{}, ms: map[string]map[string]*memMerchant{}, quota: map[string]*Quota{},
		counters: map[string]int{}, order: map[string][]*memMerchant{}, unsorted: map[string]bool{}}
}

var _ Store = (*MemoryStore)(nil)

// CreateRun implements Store.
func (s *MemoryStore) CreateRun(_ context.Context, r Run) (Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.runs[r.ID]; ok {
		return old, nil
	}
	r.Version = 1
	s.runs[r.ID] = r
	return r, nil
}

// Run implements Store.
func (s *MemoryStore) Run(_ context.Context, id string) (Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok {
		return Run{}, ErrNotFound
	}
	return r, nil
}

// UpdateRun implements Store.
func (s *MemoryStore) UpdateRun(_ context.Context, r Run) (Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.runs[r.ID]
	if !ok {
		return Run{}, ErrNotFound
	}
	if old.Version != r.Version {
		return Run{}, ErrLeaseLost
	}
	r.Version++
	s.runs[r.ID] = r
	return r, nil
}

// DeleteRun implements Store.
func (s *MemoryStore) DeleteRun(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.runs, id)
	delete(s.ms, id)
	delete(s.order, id)
	delete(s.unsorted, id)
	return nil
}

// AddMerchants implements Store.
func (s *MemoryStore) AddMerchants(_ context.Context, ms []Merchant) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range ms {
		run := s.ms[m.RunID]
		if run == nil {
			run = map[string]*memMerchant{}
			s.ms[m.RunID] = run
		}
		if run[m.AppID] != nil {
			continue
		}
		m.Version = 1
		mm := &memMerchant{m: cloneMerchant(m)}
		run[m.AppID] = mm
		s.order[m.RunID] = append(s.order[m.RunID], mm)
		s.unsorted[m.RunID] = true
		n++
	}
	return n, nil
}

// orderOf returns the claim order of run, sorted first if merchants were added since the last sort.
func (s *MemoryStore) orderOf(runID string) []*memMerchant {
	if s.unsorted[runID] {
		slices.SortFunc(s.order[runID], claimOrder)
		delete(s.unsorted, runID)
	}
	return s.order[runID]
}

// claimOrder is the order of claims: higher priority first, then by appid.
func claimOrder(a, b *memMerchant) int {
	if c := cmp.Compare(b.m.Priority, a.m.Priority); c != 0 {
		return c
	}
	return cmp.Compare(a.m.AppID, b.m.AppID)
}

func cloneMerchant(m Merchant) Merchant {
	m.ScreenShots = slices.Clone(m.ScreenShots)
	m.Gates = slices.Clone(m.Gates)
	return m
}

// Claim implements Store. It walks the run's open merchants in claim order (no sort, no
// allocation but the answer) and drops the final ones it meets from that order; a merchant made open
// again (Retry) is put back.
func (s *MemoryStore) Claim(_ context.Context, runID, owner string, now time.Time, lease time.Duration, n int) ([]Merchant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	order := s.orderOf(runID)
	var out []Merchant
	kept := order[:0]
	for i, mm := range order {
		if mm.m.State.Final() {
			continue
		}
		kept = append(kept, mm)
		if len(out) < n && !mm.m.NextAt.After(now) && !mm.leaseUntil.After(now) {
			mm.owner, mm.leaseUntil = owner, now.Add(lease)
			out = append(out, cloneMerchant(mm.m))
			if len(out) == n {
				kept = append(kept, order[i+1:]...)
				break
			}
		}
	}
	clear(order[len(kept):])
	s.order[runID] = kept
	return out, nil
}

// ClaimApp implements Store.
func (s *MemoryStore) ClaimApp(_ context.Context, runID, appID, owner string, now time.Time, lease time.Duration) (Merchant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mm := s.ms[runID][appID]
	if mm == nil {
		return Merchant{}, ErrNotFound
	}
	if mm.leaseUntil.After(now) && mm.owner != owner {
		return Merchant{}, ErrLeaseLost
	}
	mm.owner, mm.leaseUntil = owner, now.Add(lease)
	return cloneMerchant(mm.m), nil
}

// Save implements Store.
func (s *MemoryStore) Save(_ context.Context, m Merchant, owner string, now time.Time, lease time.Duration, t *Transition, q QuotaOp) (Merchant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mm := s.ms[m.RunID][m.AppID]
	if mm == nil {
		return Merchant{}, ErrNotFound
	}
	if mm.owner != owner || !mm.leaseUntil.After(now) || mm.m.Version != m.Version {
		return Merchant{}, ErrLeaseLost
	}
	if err := s.quotaOp(q); err != nil {
		return Merchant{}, err
	}
	m.Version++
	m.Updated = now
	reopened := mm.m.State.Final() && !m.State.Final() // a revert: back into the claim order
	mm.m = cloneMerchant(m)
	if reopened {
		order := s.orderOf(m.RunID)
		i, _ := slices.BinarySearchFunc(order, mm, claimOrder)
		s.order[m.RunID] = slices.Insert(order, i, mm)
	}
	mm.leaseUntil = now.Add(lease)
	if t != nil {
		mm.history = append(mm.history, *t)
	}
	return m, nil
}

// Unclaim implements Store.
func (s *MemoryStore) Unclaim(_ context.Context, m Merchant, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mm := s.ms[m.RunID][m.AppID]; mm != nil && mm.owner == owner {
		mm.owner, mm.leaseUntil = "", time.Time{}
	}
	return nil
}

// Hint implements Store.
func (s *MemoryStore) Hint(_ context.Context, appID, kind string, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, run := range s.ms {
		if mm := run[appID]; mm != nil && mm.m.State == Submitted {
			mm.m.Pushed, mm.m.NextAt = kind, now
			n++
		}
	}
	return n, nil
}

// Retry implements Store.
func (s *MemoryStore) Retry(_ context.Context, runID string, states []State, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, mm := range s.ms[runID] {
		if slices.Contains(states, mm.m.State) && !mm.leaseUntil.After(now) {
			mm.history = append(mm.history, Transition{At: now, From: mm.m.State, To: Planned, Detail: "retry"})
			mm.m.State, mm.m.Attempt, mm.m.Retries, mm.m.NextAt, mm.m.Since = Planned, mm.m.Attempt+1, 0, now, now
			mm.m.Version++
			n++
		}
	}
	if n > 0 { // back into the claim order, once
		order := s.order[runID][:0:0]
		for _, mm := range s.ms[runID] {
			if !mm.m.State.Final() {
				order = append(order, mm)
			}
		}
		slices.SortFunc(order, claimOrder)
		s.order[runID] = order
		delete(s.unsorted, runID)
	}
	return n, nil
}

// Merchant implements Store.
func (s *MemoryStore) Merchant(_ context.Context, runID, appID string) (Merchant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mm := s.ms[runID][appID]
	if mm == nil {
		return Merchant{}, ErrNotFound
	}
	return cloneMerchant(mm.m), nil
}

// Merchants implements Store.
func (s *MemoryStore) Merchants(_ context.Context, runID string, state State, after string, limit int) ([]Merchant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Merchant
	for _, mm := range s.ms[runID] {
		if (state == "" || mm.m.State == state) && mm.m.AppID > after {
			out = append(out, cloneMerchant(mm.m))
		}
	}
	slices.SortFunc(out, func(a, b Merchant) int { return cmp.Compare(a.AppID, b.AppID) })
	return out[:min(limit, len(out))], nil
}

// History implements Store.
func (s *MemoryStore) History(_ context.Context, runID, appID string) ([]Transition, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mm := s.ms[runID][appID]
	if mm == nil {
		return nil, ErrNotFound
	}
	return slices.Clone(mm.history), nil
}

// Counts implements Store.
func (s *MemoryStore) Counts(_ context.Context, runID string, wave int) (map[State]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := map[State]int{}
	for _, mm := range s.ms[runID] {
		if wave < 0 || mm.m.Wave == wave {
			c[mm.m.State]++
		}
	}
	return c, nil
}

func quotaKey(scope, month string) string { return scope + "\x00" + month }

// quotaOp applies q. Call with s.mu held.
func (s *MemoryStore) quotaOp(q QuotaOp) error {
	if q.Op == QuotaNone {
		return nil
	}
	a := s.quota[quotaKey(q.Scope, q.Month)]
	if a == nil {
		if q.Op == QuotaReserve {
			return ErrNoQuota
		}
		return nil
	}
	switch q.Op {
	case QuotaReserve:
		if a.Used >= a.Ceiling {
			return ErrNoQuota
		}
		a.Used++
	case QuotaCount:
		a.Settled++
	case QuotaGiveBack:
		a.Used = max(a.Used-1, 0)
	}
	return nil
}

// RefillAudit implements Store.
func (s *MemoryStore) RefillAudit(_ context.Context, scope, month string, seen Quota, rest int) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.quota[quotaKey(scope, month)]
	if q == nil {
		if seen != (Quota{}) {
			return false, nil
		}
		s.quota[quotaKey(scope, month)] = &Quota{Ceiling: rest}
		return true, nil
	}
	if *q != seen || q.Used != q.Settled {
		return false, nil
	}
	q.Ceiling = q.Used + rest
	return true, nil
}

// AuditQuota implements Store.
func (s *MemoryStore) AuditQuota(_ context.Context, scope, month string) (Quota, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.quota[quotaKey(scope, month)]; q != nil {
		return *q, nil
	}
	return Quota{}, nil
}

// Reserve implements Store.
func (s *MemoryStore) Reserve(_ context.Context, key string, limit int) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counters[key] >= limit {
		return false, nil
	}
	s.counters[key]++
	return true, nil
}

// Unreserve implements Store.
func (s *MemoryStore) Unreserve(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counters[key] > 0 {
		s.counters[key]--
	}
	return nil
}
