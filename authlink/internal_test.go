package authlink

import (
	"testing"
	"time"
)

func TestAllowOpensANewWindowEachMinute(t *testing.T) {
	now := time.Unix(1700000000, 0)
	h := &Handler{now: func() time.Time { return now }, perMinute: 2}
	expect := func(why string, want ...bool) {
		t.Helper()
		for i, w := range want {
			if got := h.allow(); got != w {
				t.Fatalf("%s: call %d allowed=%v, want %v", why, i+1, got, w)
			}
		}
	}
	expect("two per minute, then refused", true, true, false)
	now = now.Add(59 * time.Second)
	expect("still the same minute", false)
	now = now.Add(time.Second)
	expect("a new minute allows two again", true, true, false)
}
