package authlink

import (
	"testing"
	"time"
)

func TestAllowOpensANewWindowEachMinute(t *testing.T) {
	now := time.Unix(1700000000, 0)
	h := &Handler{now: func() time.Time { return now }, perMinute: 2}
	if !h.allow() || !h.allow() || h.allow() {
		t.Fatal("two per minute, then refused")
	}
	now = now.Add(59 * time.Second)
	if h.allow() {
		t.Fatal("still the same minute")
	}
	now = now.Add(time.Second)
	if !h.allow() || !h.allow() || h.allow() {
		t.Fatal("a new minute allows two again")
	}
}
