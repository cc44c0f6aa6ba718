package realtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/realtime"
	"github.com/wxopen-go/wxopen/session"
)

// Two merchants' mini programs.
const (
	appA = "wx00000000000000aa"
	appB = "wx00000000000000bb"
)

// fakeSessions is a Validator over a map of tokens, until the tests move to session.Manager.
type fakeSessions struct {
	mu    sync.Mutex
	byTok map[string]*session.Session
	err   error // answered for every token when set
	calls atomic.Int64
}

func newFakeSessions() *fakeSessions { return &fakeSessions{byTok: map[string]*session.Session{}} }

var tokenSeq atomic.Int64

// add creates a session of openID at appID valid for life and returns its token.
func (f *fakeSessions) add(appID, openID string, life time.Duration) string {
	tok := fmt.Sprintf("tok-%d-%s", tokenSeq.Add(1), openID)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byTok[tok] = &session.Session{Token: tok, AppID: appID, OpenID: openID, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(life)}
	return tok
}

// extend moves the expiry of tok.
func (f *fakeSessions) extend(tok string, life time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byTok[tok].ExpiresAt = time.Now().Add(life)
}

func (f *fakeSessions) Validate(ctx context.Context, token string) (*session.Session, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	s, ok := f.byTok[token]
	if !ok {
		return nil, session.ErrInvalid
	}
	if !s.ExpiresAt.After(time.Now()) {
		return nil, session.ErrExpired
	}
	cp := *s
	return &cp, nil
}

// quietLogger discards the hub's logs (the tests check behaviour, not log lines).
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startHub starts a hub over sessions behind an httptest server and returns both; both stop at the end.
func startHub(tb testing.TB, sessions realtime.Validator, opts ...realtime.Option) (*realtime.Hub, string) {
	tb.Helper()
	hub, err := realtime.New(sessions, append([]realtime.Option{realtime.WithLogger(quietLogger()),
		realtime.WithLimits(realtime.Limits{DrainPeriod: 20 * time.Millisecond})}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(hub)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hub.Shutdown(ctx)
		srv.Close()
	})
	return hub, srv.URL
}

// decode unmarshals raw into a new T, failing the test on error.
func decode[T any](tb testing.TB, raw json.RawMessage) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// waitFor polls cond every 5ms up to d.
func waitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
