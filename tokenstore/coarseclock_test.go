package tokenstore

import (
	"math"
	"sync"
	"testing"
	"time"
)

func TestCoarseClockFollowsTimeWhileReadAndStopsWhenIdle(t *testing.T) {
	var c coarseClock
	before := time.Now().UnixNano()
	if got := c.now(); got < before || got > time.Now().UnixNano() {
		t.Fatalf("first read %d: not the current time", got)
	}
	// Read for a while: the clock never lags by more than a tick or so (timers may fire late on a
	// loaded machine: allow a few).
	for end := time.Now().Add(5 * coarseTick); time.Now().Before(end); time.Sleep(coarseTick / 10) {
		if lag := time.Now().UnixNano() - c.now(); lag < 0 || lag > int64(5*coarseTick) {
			t.Fatalf("coarse clock lags %s", time.Duration(lag))
		}
	}
	// Nobody reads: after a tick without reads it stops, and reads as "everything is due".
	deadline := time.Now().Add(5 * time.Second)
	for c.running.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the clock kept running with nobody reading it")
		}
		time.Sleep(coarseTick)
	}
	if got := c.nanos.Load(); got != math.MaxInt64 {
		t.Fatalf("a stopped clock reads %d, want MaxInt64", got)
	}
	// The next read restarts it at the current time.
	before = time.Now().UnixNano()
	if got := c.now(); got < before {
		t.Fatalf("restarted clock reads %d, before %d", got, before)
	}
	if !c.running.Load() {
		t.Fatal("not restarted")
	}
}

func TestCoarseClockConcurrentReaders(t *testing.T) {
	var c coarseClock
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for end := time.Now().Add(3 * coarseTick); time.Now().Before(end); {
				if n := c.now(); n != math.MaxInt64 && (n <= 0 || n > time.Now().UnixNano()) {
					t.Errorf("coarse time %d is not a past time", n)
					return
				}
				if g%2 == 0 {
					time.Sleep(coarseTick / 3)
				}
			}
		}()
	}
	wg.Wait()
}
