package realtime_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/realtime"
)

// The npm clients the tests drive, pinned in testdata/node/package-lock.json.
var nodeClients = []string{"v4", "weapp", "mp"}

const nodeHowTo = "the node tests need node and the pinned npm clients: run `npm ci` in realtime/testdata/node " +
	"(.ci/run installs Debian's nodejs and npm and does this)"

// nodeDir returns the folder of driver.js: skipped without node or the packages outside CI, fatal in CI.
func nodeDir(tb testing.TB) string {
	tb.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "node"))
	if err != nil {
		tb.Fatal(err)
	}
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	}
	for _, pkg := range []string{"socket.io-client", "weapp.socket.io", "socket.io-mp-client", "ws"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil && missing == "" {
			missing = "node_modules/" + pkg + " is missing"
		}
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s; %s", missing, nodeHowTo)
		}
		tb.Skipf("%s; %s", missing, nodeHowTo)
	}
	return dir
}

// nodeClient is one real npm client run by driver.js.
type nodeClient struct {
	tb      testing.TB
	kind    string
	stdin   io.WriteCloser
	lines   chan map[string]any
	pending []map[string]any
	nextID  int
}

func startNode(tb testing.TB, kind, base string) *nodeClient {
	tb.Helper()
	return startNodeScript(tb, "driver.js", kind, base)
}

// startNodeScript runs a script of testdata/node with the client kind and more arguments.
func startNodeScript(tb testing.TB, script, kind string, args ...string) *nodeClient {
	tb.Helper()
	dir := nodeDir(tb)
	cmd := exec.Command("node", append([]string{script, kind}, args...)...)
	cmd.Dir = dir
	cmd.Stderr = &tbWriter{tb: tb, prefix: kind + " stderr: "}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	n := &nodeClient{tb: tb, kind: kind, stdin: stdin, lines: make(chan map[string]any, 64)}
	go func() {
		defer close(n.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"type": "fatal", "message": "bad line " + sc.Text()}
			}
			n.lines <- m
		}
	}()
	tb.Cleanup(func() {
		stdin.Close() // the driver exits when its input ends
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return n
}

// tbWriter logs what the driver writes on stderr.
type tbWriter struct {
	tb     testing.TB
	prefix string
}

func (w *tbWriter) Write(p []byte) (int, error) {
	w.tb.Logf("%s%s", w.prefix, strings.TrimSpace(string(p)))
	return len(p), nil
}

func (n *nodeClient) send(cmd map[string]any) {
	n.tb.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := n.stdin.Write(append(b, '\n')); err != nil {
		n.tb.Fatalf("%s: write to driver: %v", n.kind, err)
	}
}

// expect returns the next line for which match is true; the others are kept for later, in order.
func (n *nodeClient) expect(what string, match func(map[string]any) bool) map[string]any {
	n.tb.Helper()
	for i, m := range n.pending {
		if match(m) {
			n.pending = append(n.pending[:i:i], n.pending[i+1:]...)
			return m
		}
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-n.lines:
			if !ok {
				n.tb.Fatalf("%s: driver exited while waiting for %s", n.kind, what)
			}
			if m["type"] == "fatal" {
				n.tb.Fatalf("%s: driver: %v", n.kind, m["message"])
			}
			if match(m) {
				return m
			}
			n.pending = append(n.pending, m)
		case <-timeout:
			n.tb.Fatalf("%s: no %s within 10s (seen %v)", n.kind, what, n.pending)
		}
	}
}

func ofType(types ...string) func(map[string]any) bool {
	return func(m map[string]any) bool {
		for _, t := range types {
			if m["type"] == t {
				return true
			}
		}
		return false
	}
}

// connect connects with token and returns nil, or the refusal's data.
func (n *nodeClient) connect(token string) map[string]any {
	n.tb.Helper()
	n.send(map[string]any{"op": "connect", "token": token})
	m := n.expect("connect or refusal", ofType("connect", "refused"))
	if m["type"] == "connect" {
		return nil
	}
	data, _ := m["data"].(map[string]any)
	if data == nil {
		n.tb.Fatalf("%s: refusal without data: %v", n.kind, m)
	}
	return data
}

func (n *nodeClient) mustConnect(token string) {
	n.tb.Helper()
	if refused := n.connect(token); refused != nil {
		n.tb.Fatalf("%s: refused: %v", n.kind, refused)
	}
}

// emit sends event(arg) and returns the hub's acknowledgement.
func (n *nodeClient) emit(event string, arg any) map[string]any {
	n.tb.Helper()
	n.nextID++
	id := float64(n.nextID)
	n.send(map[string]any{"op": "emit", "id": id, "event": event, "arg": arg})
	m := n.expect("ack of "+event, func(m map[string]any) bool { return m["type"] == "ack" && m["id"] == id })
	data, _ := m["data"].(map[string]any)
	return data
}

func (n *nodeClient) mustEmit(event string, arg any) {
	n.tb.Helper()
	if a := n.emit(event, arg); a["ok"] != true {
		n.tb.Fatalf("%s: %s %v: %v", n.kind, event, arg, a)
	}
}

// nextEvent returns the next server event as JSON of its arguments.
func (n *nodeClient) nextEvent() (string, string) {
	n.tb.Helper()
	m := n.expect("event", ofType("event"))
	args, _ := json.Marshal(m["args"])
	name, _ := m["event"].(string)
	return name, string(args)
}

// TestNodeClients drives the hub with each real client: refused without a valid session, connected
// with one; subscribe, receive, change rooms on the same connection, receive as a user; merchants
// isolated from each other.
func TestNodeClients(t *testing.T) {
	nodeDir(t)
	ss := newRealSessions(t) // session.Manager, users logged in through the WeChat emulator
	hub, base := startHub(t, ss)
	ctx := context.Background()
	for _, kind := range nodeClients {
		t.Run(kind, func(t *testing.T) {
			bad := startNode(t, kind, base)
			if refused := bad.connect("not-a-session"); refused == nil || refused["code"] != "unauthorized" {
				t.Fatalf("bad session: %v, want refused unauthorized", refused)
			}

			user := "o-" + kind
			a := startNode(t, kind, base)
			a.mustConnect(ss.login(t, appA, user))
			b := startNode(t, kind, base)
			b.mustConnect(ss.login(t, appB, user)) // same openid, other merchant

			a.mustEmit("subscribe", "orders")
			b.mustEmit("subscribe", "orders")
			if err := hub.Publish(ctx, realtime.Topic(appA, "orders"), "order.paid", map[string]any{"id": 1}); err != nil {
				t.Fatal(err)
			}
			if ev, args := a.nextEvent(); ev != "order.paid" || args != `[{"id":1},{"topic":"orders"}]` {
				t.Fatalf("topic publish: %s %s", ev, args)
			}

			// one connection, pages changing: leave a room and enter another
			a.mustEmit("join", "table:1")
			a.mustEmit("leave", "table:1")
			a.mustEmit("join", "table:2")
			hub.Publish(ctx, realtime.Room(appA, "table:1"), "call", "left")
			hub.Publish(ctx, realtime.Room(appA, "table:2"), "call", "here")
			if ev, args := a.nextEvent(); ev != "call" || args != `["here",{"room":"table:2"}]` {
				t.Fatalf("after changing rooms: %s %s, want the table:2 call only", ev, args)
			}

			hub.Publish(ctx, realtime.User(appA, user), "note", "for you")
			if ev, args := a.nextEvent(); ev != "note" || args != `["for you",{"user":"`+user+`"}]` {
				t.Fatalf("user publish: %s %s", ev, args)
			}

			// merchant B saw none of merchant A's messages: its first event is its own
			hub.Publish(ctx, realtime.Topic(appB, "orders"), "order.paid", "B")
			if ev, args := b.nextEvent(); args != `["B",{"topic":"orders"}]` {
				t.Fatalf("merchant B got %s %s first", ev, args)
			}

			if a := a.emit("subscribe", ""); a["ok"] != false || a["error"] != "bad_request" {
				t.Fatalf("empty topic: %v", a)
			}
		})
	}
}

// TestNodeClientsAcrossInstances connects each client to one hub and publishes on another hub that
// shares the Redis server.
func TestNodeClientsAcrossInstances(t *testing.T) {
	nodeDir(t)
	rdb := redisClient(t)
	channel := testChannel(t)
	ss := newFakeSessions()
	one, base := startHub(t, ss, realtime.WithRedis(rdb), realtime.WithChannel(channel))
	two, _ := startHub(t, ss, realtime.WithRedis(rdb), realtime.WithChannel(channel))
	waitFor(t, 5*time.Second, "both hubs subscribed", func() bool { return one.Stats().Redis && two.Stats().Redis })
	for _, kind := range nodeClients {
		t.Run(kind, func(t *testing.T) {
			c := startNode(t, kind, base)
			c.mustConnect(ss.add(appA, "o-"+kind, time.Hour))
			c.mustEmit("subscribe", "kitchen:"+kind)
			if err := two.Publish(context.Background(), realtime.Topic(appA, "kitchen:"+kind), "ready", 42); err != nil {
				t.Fatal(err)
			}
			if ev, args := c.nextEvent(); ev != "ready" || args != `[42,{"topic":"kitchen:`+kind+`"}]` {
				t.Fatalf("%s %s", ev, args)
			}
		})
	}
}

// TestMiniProgramHelper runs the mini program helper with two pages over one connection: a page
// subscribes when it shows and lets go when it hides, and the next page's room is entered on the same
// connection.
func TestMiniProgramHelper(t *testing.T) {
	nodeDir(t)
	ss := newFakeSessions()
	ctx := context.Background()
	for _, kind := range []string{"weapp", "mp"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			hub, base := startHub(t, ss) // one hub each: Stats counts this mini program only
			user := "o-helper-" + kind
			// the first session ends during the test: the helper logs in again and re-subscribes
			n := startNodeScript(t, "helper.js", kind, base, ss.add(appA, user, 6*time.Second), ss.add(appA, user, time.Hour))
			answered := func(event, name string) {
				t.Helper()
				m := n.expect(event+" "+name, func(m map[string]any) bool {
					return m["type"] == "answer" && m["event"] == event && m["name"] == name
				})
				if ans, _ := m["ans"].(map[string]any); ans["ok"] != true {
					t.Fatalf("%s %s: %v", event, name, m["ans"])
				}
			}
			n.expect("connect", ofType("connect"))

			n.send(map[string]any{"op": "show", "page": "order"})
			answered("subscribe", "order:42")
			hub.Publish(ctx, realtime.Topic(appA, "order:42"), "status", "cooking")
			if m := n.expect("order event", ofType("event")); m["page"] != "order" || m["data"] != "cooking" {
				t.Fatalf("order page: %v", m)
			}

			// the user moves to the table page: the order page hides, the table page shows
			n.send(map[string]any{"op": "hide", "page": "order"})
			n.send(map[string]any{"op": "show", "page": "table"})
			answered("unsubscribe", "order:42")
			answered("join", "table:5")
			hub.Publish(ctx, realtime.Topic(appA, "order:42"), "status", "served")
			hub.Publish(ctx, realtime.Room(appA, "table:5"), "call", "waiter")
			hub.Publish(ctx, realtime.User(appA, user), "coupon", "10%")
			if m := n.expect("table event", ofType("event")); m["page"] != "table" || m["data"] != "waiter" {
				t.Fatalf("after the page change: %v, want the table call only", m)
			}
			if m := n.expect("user event", ofType("event")); m["page"] != "user" || m["data"] != "10%" {
				t.Fatalf("user event: %v", m)
			}
			if st := hub.Stats(); st.Connections != 1 {
				t.Fatalf("%d connections for one mini program, want 1", st.Connections)
			}

			// the session expires: the hub ends the connection, the helper logs in again, reconnects
			// and asks again for what the shown page holds
			n.expect("a new login", ofType("login"))
			n.expect("reconnection", ofType("connect"))
			answered("join", "table:5")
			hub.Publish(ctx, realtime.Room(appA, "table:5"), "call", "again")
			if m := n.expect("table event", ofType("event")); m["page"] != "table" || m["data"] != "again" {
				t.Fatalf("after reconnecting: %v", m)
			}
			waitFor(t, wait, "the old connection gone", func() bool { return hub.Stats().Connections == 1 })

			n.send(map[string]any{"op": "hide", "page": "table"})
			answered("leave", "table:5")
		})
	}
}
