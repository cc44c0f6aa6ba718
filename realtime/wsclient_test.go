package realtime_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsClient is a minimal socket.io client over one WebSocket, speaking Engine.IO 4 (socket.io v4) or
// Engine.IO 3 (socket.io v2): enough for the Go tests and the load figures; the node tests use the real
// npm clients.
type wsClient struct {
	tb     testing.TB
	ws     *websocket.Conn
	eio    int
	frames chan string // socket.io packets received (engine "4" message frames, without the 4)
	closed chan struct{}
	wmu    sync.Mutex
	nextID int
	queue  []string // packets read ahead by emitAck, returned first by next
	// closeErr is the error that ended the read loop (a *websocket.CloseError for a close frame).
	closeErr error
}

// packet types of socket.io, as the first character of a message.
const (
	pConnect      = '0'
	pDisconnect   = '1'
	pEvent        = '2'
	pAck          = '3'
	pConnectError = '4'
)

// dialWS opens the WebSocket to base (http://host) with eio 4 or 3 and the extra query; it reads the
// Engine.IO open packet. It fails the test on error.
func dialWS(tb testing.TB, base string, eio int, query url.Values) *wsClient {
	tb.Helper()
	c, err := tryDialWS(base, eio, query)
	if err != nil {
		tb.Fatalf("dial %s: %v", base, err)
	}
	c.tb = tb
	tb.Cleanup(c.close)
	return c
}

func tryDialWS(base string, eio int, query url.Values) (*wsClient, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("EIO", strconv.Itoa(eio))
	q.Set("transport", "websocket")
	u := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?" + q.Encode()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial(u, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, err
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, open, err := ws.ReadMessage()
	if err != nil || len(open) == 0 || open[0] != '0' {
		ws.Close()
		return nil, fmt.Errorf("no Engine.IO open packet: %q %v", open, err)
	}
	ws.SetReadDeadline(time.Time{})
	c := &wsClient{ws: ws, eio: eio, frames: make(chan string, 256), closed: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *wsClient) read() {
	defer close(c.closed)
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			c.closeErr = err
			return
		}
		s := string(b)
		switch {
		case s == "2": // Engine.IO 4 ping from the server
			c.write("3")
		case len(s) > 0 && s[0] == '4':
			select {
			case c.frames <- s[1:]:
			default: // a test that stopped reading; drop
			}
		}
	}
}

func (c *wsClient) write(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, []byte(s))
}

func (c *wsClient) close() { c.ws.Close(); <-c.closed }

// next returns the next socket.io packet, failing the test after d.
func (c *wsClient) next(d time.Duration) string {
	c.tb.Helper()
	if len(c.queue) > 0 {
		f := c.queue[0]
		c.queue = c.queue[1:]
		return f
	}
	select {
	case f := <-c.frames:
		return f
	case <-c.closed:
		c.tb.Fatalf("connection closed while waiting for a packet: %v", c.closeErr)
	case <-time.After(d):
		c.tb.Fatalf("no packet within %s", d)
	}
	return ""
}

// connect sends the socket.io CONNECT of namespace "/" with auth (v4; EIO 3 connects by itself) and
// returns nil on success or the refusal's data.
func (c *wsClient) connect(auth map[string]any) map[string]any {
	c.tb.Helper()
	if c.eio >= 4 {
		msg := "40"
		if auth != nil {
			b, _ := json.Marshal(auth)
			msg += string(b)
		}
		if err := c.write(msg); err != nil {
			c.tb.Fatal(err)
		}
	}
	p := c.next(5 * time.Second)
	switch p[0] {
	case pConnect:
		return nil
	case pConnectError:
		var data map[string]any
		if c.eio >= 4 {
			var e struct {
				Data map[string]any `json:"data"`
			}
			if err := json.Unmarshal([]byte(p[1:]), &e); err != nil {
				c.tb.Fatalf("connect error %q: %v", p, err)
			}
			data = e.Data
		} else if err := json.Unmarshal([]byte(p[1:]), &data); err != nil {
			c.tb.Fatalf("connect error %q: %v", p, err)
		}
		return data
	}
	c.tb.Fatalf("unexpected packet %q at connect", p)
	return nil
}

// mustConnect connects with token (auth on v4, the dial's query on EIO 3) and fails on refusal.
func (c *wsClient) mustConnect(token string) {
	c.tb.Helper()
	if refused := c.connect(map[string]any{"token": token}); refused != nil {
		c.tb.Fatalf("refused: %v", refused)
	}
}

// answer is an acknowledgement of the hub.
type answer struct {
	OK      bool   `json:"ok"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

// emitAck sends event(args…) with an acknowledgement id and returns the hub's answer. Events that
// arrive meanwhile are kept in order for nextEvent.
func (c *wsClient) emitAck(event string, args ...any) answer {
	c.tb.Helper()
	c.nextID++
	id := c.nextID
	b, _ := json.Marshal(append([]any{event}, args...))
	if err := c.write("42" + strconv.Itoa(id) + string(b)); err != nil {
		c.tb.Fatal(err)
	}
	var pending []string
	defer func() { c.queue = append(c.queue, pending...) }()
	prefix := string(pAck) + strconv.Itoa(id) + "["
	for {
		p := c.next(5 * time.Second)
		if strings.HasPrefix(p, prefix) {
			var a []answer
			if err := json.Unmarshal([]byte(p[len(prefix)-1:]), &a); err != nil || len(a) != 1 {
				c.tb.Fatalf("ack %q: %v", p, err)
			}
			return a[0]
		}
		pending = append(pending, p)
	}
}

// emit sends event(args…) without an acknowledgement.
func (c *wsClient) emit(event string, args ...any) {
	b, _ := json.Marshal(append([]any{event}, args...))
	if err := c.write("42" + string(b)); err != nil {
		c.tb.Fatal(err)
	}
}

// event is a server event: its name and raw arguments.
type event struct {
	Name string
	Args []json.RawMessage
}

// nextEvent returns the next server event.
func (c *wsClient) nextEvent(d time.Duration) event {
	c.tb.Helper()
	for {
		p := c.next(d)
		switch p[0] {
		case pEvent:
			var raw []json.RawMessage
			if err := json.Unmarshal([]byte(p[1:]), &raw); err != nil || len(raw) == 0 {
				c.tb.Fatalf("event %q: %v", p, err)
			}
			var ev event
			json.Unmarshal(raw[0], &ev.Name)
			ev.Args = raw[1:]
			return ev
		case pDisconnect:
			return event{Name: "(disconnect)"}
		}
	}
}

// noEvent checks that nothing arrives within d.
func (c *wsClient) noEvent(d time.Duration) {
	c.tb.Helper()
	if len(c.queue) > 0 {
		c.tb.Fatalf("unexpected packet %q", c.queue[0])
	}
	select {
	case p := <-c.frames:
		c.tb.Fatalf("unexpected packet %q", p)
	case <-time.After(d):
	}
}

// waitClosed waits for the server to close the WebSocket and returns the reason.
func (c *wsClient) waitClosed(d time.Duration) error {
	c.tb.Helper()
	for {
		select {
		case <-c.frames:
		case <-c.closed:
			return c.closeErr
		case <-time.After(d):
			c.tb.Fatalf("connection still open after %s", d)
			return nil
		}
	}
}
