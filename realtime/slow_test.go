package realtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wxopen-go/wxopen/realtime"
	"github.com/wxopen-go/wxopen/wxerr"
)

// lockedBuffer is a log destination the test reads while the hub writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// dialStalled connects an Engine.IO 4 client with a 4 KiB socket receive buffer, authenticates it and
// subscribes it to topic, reading only what that handshake needs. Nothing reads the connection
// afterwards: it is a frozen phone, whose kernel buffers fill after a few frames.
func dialStalled(t *testing.T, base, token, topic string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{
		HandshakeTimeout: 5 * time.Second,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				err = c.(*net.TCPConn).SetReadBuffer(4 << 10)
			}
			return c, err
		},
	}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	tok, _ := json.Marshal(map[string]string{"token": token})
	name, _ := json.Marshal(topic)
	for _, step := range []struct{ send, want string }{
		{"", "0{"},
		{"40" + string(tok), "40{"},
		{`421["subscribe",` + string(name) + `]`, `431[{"ok":true}]`},
	} {
		if step.send != "" {
			if err := ws.WriteMessage(websocket.TextMessage, []byte(step.send)); err != nil {
				t.Fatal(err)
			}
		}
		ws.SetReadDeadline(time.Now().Add(wait))
		_, m, err := ws.ReadMessage()
		if err != nil || !strings.HasPrefix(string(m), step.want) {
			t.Fatalf("handshake: got %q %v, want %s…", m, err, step.want)
		}
	}
	ws.SetReadDeadline(time.Time{})
	return ws
}

// smallSendBuffers gives every accepted connection a 16 KiB socket send buffer, so that what the kernel
// holds for a stalled client does not depend on the machine's TCP autotuning (up to 4 MiB).
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		err = c.(*net.TCPConn).SetWriteBuffer(16 << 10)
	}
	return c, err
}

// startHubSmallBuffers is startHub behind a listener of smallSendBuffers.
func startHubSmallBuffers(t *testing.T, sessions realtime.Validator, opts ...realtime.Option) (*realtime.Hub, string) {
	t.Helper()
	hub, err := realtime.New(sessions, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(hub)
	srv.Listener = smallSendBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hub.Shutdown(ctx)
		srv.Close()
	})
	return hub, srv.URL
}

// tick is the data of the test's publishes.
type tick struct {
	N   int    `json:"n"`
	Pad string `json:"pad"`
}

// TestSlowConsumerIsClosed publishes to a topic with two subscribers, one of which stopped reading. The
// hub must close the stalled one once more than Limits.OutboundBytes waits for it, count and log it,
// and go on delivering every message, in order, to the other.
func TestSlowConsumerIsClosed(t *testing.T) {
	ss := newFakeSessions()
	logs := &lockedBuffer{}
	const limit = 64 << 10
	hub, base := startHubSmallBuffers(t, ss, realtime.WithLogger(slog.New(slog.NewTextHandler(logs, nil))),
		realtime.WithLimits(realtime.Limits{OutboundBytes: limit, MessageBytes: 2 << 10, DrainPeriod: 20 * time.Millisecond}))
	fast := connectV4(t, base, ss.add(appA, "o-fast", time.Hour))
	if a := fast.emitAck("subscribe", "orders"); !a.OK {
		t.Fatalf("subscribe: %+v", a)
	}
	stalled := dialStalled(t, base, ss.add(appA, "o-stalled", time.Hour), "orders")

	ctx := context.Background()
	pad := strings.Repeat("x", 1000)
	expectTick := func(c *wsClient, n int) {
		t.Helper()
		ev := c.nextEvent(wait)
		if ev.Name != "tick" || len(ev.Args) != 2 {
			t.Fatalf("publish %d: got %s %s", n, ev.Name, ev.Args)
		}
		if got := decode[tick](t, ev.Args[0]).N; got != n {
			t.Fatalf("got publish %d, want %d", got, n)
		}
	}
	// Far more than the limit and the kernel buffers: a guard, not a figure.
	const maxPublishes = 5000
	sent := 0
	for hub.Stats().SlowConsumers == 0 {
		if sent == maxPublishes {
			t.Fatalf("%d publishes of 1 KB to a client that reads nothing, and it is still open", sent)
		}
		if err := hub.Publish(ctx, realtime.Topic(appA, "orders"), "tick", tick{N: sent, Pad: pad}); err != nil {
			t.Fatal(err)
		}
		expectTick(fast, sent)
		sent++
	}
	t.Logf("the stalled client was closed after %d publishes of about 1 KB", sent)
	waitFor(t, wait, "the stalled connection to go", func() bool { return hub.Stats().Connections == 1 })
	for range 20 {
		if err := hub.Publish(ctx, realtime.Topic(appA, "orders"), "tick", tick{N: sent, Pad: pad}); err != nil {
			t.Fatal(err)
		}
		expectTick(fast, sent)
		sent++
	}
	if got := hub.Stats().SlowConsumers; got != 1 {
		t.Fatalf("SlowConsumers = %d, want 1", got)
	}
	if !strings.Contains(logs.String(), "slow consumer") || !strings.Contains(logs.String(), "o-stalled") {
		t.Fatalf("no log line about the slow consumer:\n%s", logs)
	}

	// The stalled client reads again: what the kernel held arrives, in order from the first publish,
	// then the end of the connection (the close frame if the hub could write it, else the TCP end).
	stalled.SetReadDeadline(time.Now().Add(10 * time.Second)) // failure guard
	next := 0
	for {
		_, m, err := stalled.ReadMessage()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the stalled connection is still open after %d messages", next)
			}
			var ce *websocket.CloseError
			if errors.As(err, &ce) && (ce.Code != websocket.ClosePolicyViolation || ce.Text != "slow_consumer") {
				t.Fatalf("closed with %v, want 1008 slow_consumer", err)
			}
			t.Logf("the stalled client read %d messages, then %v", next, err)
			break
		}
		s := string(m)
		if s == "2" { // an Engine.IO ping
			continue
		}
		var args []json.RawMessage
		if !strings.HasPrefix(s, "42") || json.Unmarshal(m[2:], &args) != nil || len(args) != 3 {
			t.Fatalf("unexpected message %.80q", s)
		}
		if got := decode[tick](t, args[1]).N; got != next {
			t.Fatalf("stalled client got publish %d, want %d", got, next)
		}
		next++
	}
	if next >= sent {
		t.Fatalf("the stalled client read all %d publishes: it was not behind", sent)
	}
}

func TestOutboundLimitValidation(t *testing.T) {
	ss := newFakeSessions()
	for name, l := range map[string]realtime.Limits{
		"negative":                             {OutboundBytes: -1},
		"under twice the message size":         {OutboundBytes: 100 << 10, MessageBytes: 64 << 10},
		"under twice the default message size": {OutboundBytes: 100 << 10},
	} {
		if _, err := realtime.New(ss, realtime.WithLimits(l)); !wxerr.IsValidation(err) {
			t.Errorf("%s: %v, want a validation error", name, err)
		}
	}
	if _, err := realtime.New(ss, realtime.WithLimits(realtime.Limits{OutboundBytes: 128 << 10})); err != nil {
		t.Errorf("a limit of twice the largest message: %v", err)
	}
}

// closeTracking wraps accepted connections to count those the server has closed.
type closeTracking struct {
	net.Listener
	mu     sync.Mutex
	open   int
	closed int
}

type trackedConn struct {
	net.Conn
	l    *closeTracking
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.l.mu.Lock(); c.l.open--; c.l.closed++; c.l.mu.Unlock() })
	return c.Conn.Close()
}

func (l *closeTracking) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := c.(*net.TCPConn).SetWriteBuffer(16 << 10); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.open++
	l.mu.Unlock()
	return &trackedConn{Conn: c, l: l}, nil
}

func (l *closeTracking) openConns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// A connection the hub ends itself (Disconnect, a replaced or expired session) while its client reads
// nothing is closed by the fallback shortly after, not kept until the heartbeat times out (about 45 s)
// because the data queued ahead of the disconnect can never be written.
func TestDismissedFrozenClientIsClosed(t *testing.T) {
	ss := newFakeSessions()
	hub, err := realtime.New(ss, realtime.WithLimits(realtime.Limits{OutboundBytes: 64 << 20, MessageBytes: 2 << 10, DrainPeriod: 20 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(hub)
	tracking := &closeTracking{Listener: srv.Listener}
	srv.Listener = tracking
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hub.Shutdown(ctx)
		srv.Close()
	})
	dialStalled(t, srv.URL, ss.add(appA, "o-frozen", time.Hour), "orders")
	ctx := context.Background()
	pad := strings.Repeat("x", 1000)
	for n := range 300 { // ~300 KB: far more than the client's and the server's socket buffers
		if err := hub.Publish(ctx, realtime.Topic(appA, "orders"), "tick", tick{N: n, Pad: pad}); err != nil {
			t.Fatal(err)
		}
	}
	if err := hub.Disconnect(ctx, realtime.User(appA, "o-frozen")); err != nil {
		t.Fatal(err)
	}
	// The fallback closes after 2 s; 15 s is a failure guard well short of the heartbeat's timeout.
	waitFor(t, 15*time.Second, "the server to close the frozen client's connection", func() bool { return tracking.openConns() == 0 })
}
