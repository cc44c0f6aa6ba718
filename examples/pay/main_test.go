package main

import "testing"

// TestRun walks the whole example (both payment modes, notifications, queries, refunds) against the
// in-process WeChat Pay emulator, so CI proves `go run ./examples/pay` works.
func TestRun(t *testing.T) {
	if err := run(); err != nil {
		t.Fatal(err)
	}
}
