package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRun runs the example with 1,000 merchants and checks its summary adds up.
func TestRun(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, n); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := out.String()
	m := regexp.MustCompile(`(\d+) released, (\d+) rejected, (\d+) skipped, (\d+) failed of (\d+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no summary:\n%s", text)
	}
	atoi := func(s string) int { v, _ := strconv.Atoi(s); return v }
	if atoi(m[1])+atoi(m[2]) != n || atoi(m[5]) != n || atoi(m[2]) == 0 {
		t.Errorf("summary %q: want every merchant released or rejected, some rejected", m[0])
	}
	for _, want := range []string{"grey at 10%: promoting to a full release", "audit quota left"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	t.Log(text)
}
