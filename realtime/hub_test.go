package realtime_test

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wxopen-go/wxopen/realtime"
	"github.com/wxopen-go/wxopen/session"
	"github.com/wxopen-go/wxopen/wxerr"
)

const wait = 3 * time.Second

// connectV4 dials with Engine.IO 4 and connects with token.
func connectV4(t *testing.T, base, token string) *wsClient {
	t.Helper()
	c := dialWS(t, base, 4, nil)
	c.mustConnect(token)
	return c
}

// connectV3 dials with Engine.IO 3 and the token in the query (the hub connects "/" by itself).
func connectV3(t *testing.T, base, token string) *wsClient {
	t.Helper()
	c := dialWS(t, base, 3, url.Values{"token": {token}})
	if refused := c.connect(nil); refused != nil {
		t.Fatalf("refused: %v", refused)
	}
	return c
}

func TestHandshakeAuthentication(t *testing.T) {
	ss := newFakeSessions()
	good := ss.add(appA, "o-alice", time.Hour)
	expired := ss.add(appA, "o-old", -time.Minute)
	_, base := startHub(t, ss)

	for _, eio := range []int{4, 3} {
		refusedWith := func(token string) string {
			t.Helper()
			q := url.Values{}
			if eio == 3 && token != "" {
				q.Set("token", token)
			}
			c := dialWS(t, base, eio, q)
			var auth map[string]any
			if token != "" {
				auth = map[string]any{"token": token}
			}
			data := c.connect(auth)
			if data == nil {
				return ""
			}
			code, _ := data["code"].(string)
			return code
		}
		if code := refusedWith(good); code != "" {
			t.Errorf("EIO %d: valid session refused with %q", eio, code)
		}
		for token, want := range map[string]string{"": "unauthorized", "nope": "unauthorized", expired: "session_expired",
			strings.Repeat("x", 600): "unauthorized"} {
			if code := refusedWith(token); code != want {
				t.Errorf("EIO %d token %.10q: refused with %q, want %q", eio, token, code, want)
			}
		}
	}

	// On socket.io v4 the token is read from the auth payload only: a token in the URL is ignored.
	c := dialWS(t, base, 4, url.Values{"token": {good}})
	if data := c.connect(map[string]any{}); data == nil || data["code"] != "unauthorized" {
		t.Errorf("v4 with the token in the query: %v, want unauthorized", data)
	}
}

func TestValidatorOutageIsUnavailableNotUnauthorized(t *testing.T) {
	ss := newFakeSessions()
	tok := ss.add(appA, "o-alice", time.Hour)
	ss.err = errors.New("store down")
	_, base := startHub(t, ss)
	c := dialWS(t, base, 4, nil)
	if data := c.connect(map[string]any{"token": tok}); data == nil || data["code"] != "unavailable" {
		t.Fatalf("refusal %v, want unavailable", data)
	}
}

func TestSubscribePublishAndChangeRoomsOnOneConnection(t *testing.T) {
	ss := newFakeSessions()
	hub, base := startHub(t, ss)
	ctx := context.Background()
	for _, eio := range []int{4, 3} {
		tok := ss.add(appA, "o-alice", time.Hour)
		var c *wsClient
		if eio == 4 {
			c = connectV4(t, base, tok)
		} else {
			c = connectV3(t, base, tok)
		}
		if a := c.emitAck("subscribe", "orders"); !a.OK {
			t.Fatalf("EIO %d subscribe: %+v", eio, a)
		}
		if err := hub.Publish(ctx, realtime.Topic(appA, "orders"), "order.paid", map[string]any{"id": 7}); err != nil {
			t.Fatal(err)
		}
		ev := c.nextEvent(wait)
		if ev.Name != "order.paid" || len(ev.Args) != 2 || string(ev.Args[0]) != `{"id":7}` || string(ev.Args[1]) != `{"topic":"orders"}` {
			t.Fatalf("EIO %d event %s %s", eio, ev.Name, ev.Args)
		}

		// a page changes: leave one room, enter another, same connection
		if a := c.emitAck("join", "table:1"); !a.OK {
			t.Fatal(a)
		}
		if a := c.emitAck("leave", "table:1"); !a.OK {
			t.Fatal(a)
		}
		if a := c.emitAck("join", "table:2"); !a.OK {
			t.Fatal(a)
		}
		hub.Publish(ctx, realtime.Room(appA, "table:1"), "call", "one")
		hub.Publish(ctx, realtime.Room(appA, "table:2"), "call", "two")
		if ev := c.nextEvent(wait); ev.Name != "call" || string(ev.Args[0]) != `"two"` || string(ev.Args[1]) != `{"room":"table:2"}` {
			t.Fatalf("EIO %d after changing rooms got %s %s, want call two from table:2", eio, ev.Name, ev.Args)
		}

		// unsubscribe stops the topic; the user target still reaches the connection
		if a := c.emitAck("unsubscribe", "orders"); !a.OK {
			t.Fatal(a)
		}
		hub.Publish(ctx, realtime.Topic(appA, "orders"), "order.paid", 8)
		hub.Publish(ctx, realtime.User(appA, "o-alice"), "note", "hi")
		if ev := c.nextEvent(wait); ev.Name != "note" || string(ev.Args[1]) != `{"user":"o-alice"}` {
			t.Fatalf("EIO %d got %s %s, want the user note only", eio, ev.Name, ev.Args)
		}
		c.close()
	}
}

func TestMerchantsAreIsolated(t *testing.T) {
	ss := newFakeSessions()
	hub, base := startHub(t, ss)
	ctx := context.Background()
	a := connectV4(t, base, ss.add(appA, "o-same", time.Hour))
	b := connectV4(t, base, ss.add(appB, "o-same", time.Hour)) // same openid and names, other merchant
	for _, c := range []*wsClient{a, b} {
		c.emitAck("subscribe", "orders")
		c.emitAck("join", "kitchen")
	}
	hub.Publish(ctx, realtime.Topic(appA, "orders"), "x", "A-topic")
	hub.Publish(ctx, realtime.Room(appA, "kitchen"), "x", "A-room")
	hub.Publish(ctx, realtime.User(appA, "o-same"), "x", "A-user")
	hub.Publish(ctx, realtime.Topic(appB, "orders"), "x", "B-marker")
	for _, want := range []string{`"A-topic"`, `"A-room"`, `"A-user"`} {
		if ev := a.nextEvent(wait); string(ev.Args[0]) != want {
			t.Fatalf("merchant A got %s, want %s", ev.Args[0], want)
		}
	}
	if ev := b.nextEvent(wait); string(ev.Args[0]) != `"B-marker"` {
		t.Fatalf("merchant B received %s of merchant A", ev.Args[0])
	}
	a.noEvent(50 * time.Millisecond)
}

func TestRefusalsAreAcknowledged(t *testing.T) {
	ss := newFakeSessions()
	_, base := startHub(t, ss, realtime.WithLimits(realtime.Limits{Memberships: 2, EventsPerSecond: 1, EventBurst: 6}))
	c := connectV4(t, base, ss.add(appA, "o-alice", time.Hour))
	check := func(a answer, code string) {
		t.Helper()
		if a.OK || a.Error != code || a.Message == "" {
			t.Errorf("answer %+v, want refusal %q with a message", a, code)
		}
	}
	check(c.emitAck("subscribe", ""), "bad_request")
	check(c.emitAck("join", 42), "bad_request")
	check(c.emitAck("subscribe", "a\x00b"), "bad_request")
	check(c.emitAck("publish", "orders"), "unknown_event")
	if a := c.emitAck("subscribe", "t1"); !a.OK {
		t.Fatal(a)
	}
	if a := c.emitAck("join", "r1"); !a.OK {
		t.Fatal(a)
	}
	check(c.emitAck("subscribe", "t2"), "limit") // topics and rooms count together
	// the burst of 6 is spent: the next event is over the rate
	check(c.emitAck("leave", "r1"), "rate_limited")
}

func TestInboundFrameLimitClosesTheConnection(t *testing.T) {
	ss := newFakeSessions()
	_, base := startHub(t, ss, realtime.WithLimits(realtime.Limits{InboundBytes: 1024}))
	c := connectV4(t, base, ss.add(appA, "o-alice", time.Hour))
	c.emit("subscribe", strings.Repeat("x", 2000))
	err := c.waitClosed(wait)
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("closed with %v, want close code 1009 (message too big)", err)
	}
}

func TestPublishValidation(t *testing.T) {
	ss := newFakeSessions()
	hub, _ := startHub(t, ss, realtime.WithLimits(realtime.Limits{MessageBytes: 100}))
	ctx := context.Background()
	for name, tc := range map[string]struct {
		to    realtime.Target
		event string
		data  any
	}{
		"no appid":       {realtime.Topic("", "orders"), "e", 1},
		"bad appid":      {realtime.Topic("wx/../x", "orders"), "e", 1},
		"no name":        {realtime.Room(appA, ""), "e", 1},
		"long name":      {realtime.Topic(appA, strings.Repeat("n", 129)), "e", 1},
		"control char":   {realtime.User(appA, "a\nb"), "e", 1},
		"zero target":    {realtime.Target{}, "e", 1},
		"reserved event": {realtime.Topic(appA, "orders"), "connect", 1},
		"error event":    {realtime.Topic(appA, "orders"), "error", 1},
		"bad event":      {realtime.Topic(appA, "orders"), "a b", 1},
		"too large":      {realtime.Topic(appA, "orders"), "e", strings.Repeat("x", 120)},
	} {
		if err := hub.Publish(ctx, tc.to, tc.event, tc.data); !wxerr.IsValidation(err) {
			t.Errorf("%s: %v, want a validation error", name, err)
		}
	}
	if err := hub.Publish(ctx, realtime.Topic(appA, "orders"), "e", func() {}); err == nil {
		t.Error("unencodable data accepted")
	}
}

func TestAuthorizer(t *testing.T) {
	ss := newFakeSessions()
	var mu sync.Mutex
	var seen []realtime.Target
	authz := func(ctx context.Context, s *session.Session, tg realtime.Target) error {
		mu.Lock()
		seen = append(seen, tg)
		mu.Unlock()
		switch {
		case strings.HasPrefix(tg.Name, "order:") && tg.Name != "order:"+s.OpenID:
			return ErrNotYours
		case tg.Name == "broken":
			return errors.New("db down")
		}
		return nil
	}
	_, base := startHub(t, ss, realtime.WithAuthorizer(authz))
	c := connectV4(t, base, ss.add(appA, "alice", time.Hour))
	if a := c.emitAck("subscribe", "order:alice"); !a.OK {
		t.Errorf("own order: %+v", a)
	}
	if a := c.emitAck("subscribe", "order:bob"); a.OK || a.Error != "forbidden" {
		t.Errorf("other's order: %+v, want forbidden", a)
	}
	if a := c.emitAck("join", "broken"); a.OK || a.Error != "unavailable" {
		t.Errorf("failing authorizer: %+v, want unavailable", a)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []realtime.Target{realtime.Topic(appA, "order:alice"), realtime.Topic(appA, "order:bob"), realtime.Room(appA, "broken")}
	if len(seen) != len(want) {
		t.Fatalf("authorizer saw %v", seen)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("authorizer call %d: %v, want %v", i, seen[i], want[i])
		}
	}
}

// ErrNotYours is an application's refusal wrapping realtime.ErrForbidden.
var ErrNotYours = errors.Join(realtime.ErrForbidden, errors.New("not your order"))

func TestNewestConnectionsOfAUserWin(t *testing.T) {
	ss := newFakeSessions()
	hub, base := startHub(t, ss, realtime.WithLimits(realtime.Limits{ConnsPerUser: 2}))
	old := connectV4(t, base, ss.add(appA, "o-alice", time.Hour))
	mid := connectV4(t, base, ss.add(appA, "o-alice", time.Hour))
	other := connectV4(t, base, ss.add(appA, "o-bob", time.Hour))
	newest := connectV4(t, base, ss.add(appA, "o-alice", time.Hour))
	ev := old.nextEvent(wait)
	if ev.Name != "realtime:closed" || decode[map[string]string](t, ev.Args[0])["code"] != "replaced" {
		t.Fatalf("oldest got %s %s, want realtime:closed replaced", ev.Name, ev.Args)
	}
	if ev := old.nextEvent(wait); ev.Name != "(disconnect)" {
		t.Fatalf("oldest got %s, want a server disconnect", ev.Name)
	}
	old.waitClosed(wait) // a client that keeps its transport open has it closed
	waitFor(t, wait, "3 connections", func() bool { return hub.Stats().Connections == 3 })
	hub.Publish(context.Background(), realtime.User(appA, "o-alice"), "n", 1)
	for _, c := range []*wsClient{mid, newest} {
		if ev := c.nextEvent(wait); ev.Name != "n" {
			t.Fatalf("got %s", ev.Name)
		}
	}
	other.noEvent(20 * time.Millisecond)
}

func TestSessionExpiryEndsTheConnectionUnlessExtended(t *testing.T) {
	ss := newFakeSessions()
	_, base := startHub(t, ss)
	short := ss.add(appA, "o-short", time.Second)
	extended := ss.add(appA, "o-ext", time.Second)
	a := connectV4(t, base, short)
	b := connectV4(t, base, extended)
	ss.extend(extended, time.Hour)
	ev := a.nextEvent(wait)
	if ev.Name != "realtime:closed" || decode[map[string]string](t, ev.Args[0])["code"] != "session_expired" {
		t.Fatalf("got %s %s, want realtime:closed session_expired", ev.Name, ev.Args)
	}
	b.noEvent(1500 * time.Millisecond)
	if a := b.emitAck("subscribe", "still-here"); !a.OK {
		t.Fatal(a)
	}
}

// TestConcurrentMembership has many connections subscribe and unsubscribe one topic at once; every
// connection that ends subscribed must receive the publish (the stock adapter loses joins here).
func TestConcurrentMembership(t *testing.T) {
	ss := newFakeSessions()
	hub, base := startHub(t, ss, realtime.WithLimits(realtime.Limits{EventsPerSecond: 1e6, EventBurst: 1e6}))
	const n, rounds = 16, 30
	clients := make([]*wsClient, n)
	for i := range clients {
		clients[i] = connectV4(t, base, ss.add(appA, "o-"+string(rune('a'+i)), time.Hour))
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				c.emitAck("subscribe", "hot")
				c.emitAck("unsubscribe", "hot")
			}
			c.emitAck("subscribe", "hot")
		}()
	}
	wg.Wait()
	hub.Publish(context.Background(), realtime.Topic(appA, "hot"), "e", 1)
	for i, c := range clients {
		if ev := c.nextEvent(wait); ev.Name != "e" {
			t.Fatalf("client %d: %s", i, ev.Name)
		}
	}
}

func TestShutdownDrains(t *testing.T) {
	ss := newFakeSessions()
	hub, base := startHub(t, ss, realtime.WithLimits(realtime.Limits{DrainPeriod: 200 * time.Millisecond}))
	var cs []*wsClient
	for i := range 5 {
		cs = append(cs, connectV4(t, base, ss.add(appA, "o-"+string(rune('a'+i)), time.Hour)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Errorf("shutdown took %s: the disconnects were not spread over the drain period", took)
	}
	for _, c := range cs {
		c.waitClosed(wait) // transport closed, so the clients reconnect elsewhere
	}
	if _, err := tryDialWS(base, 4, nil); err == nil {
		t.Error("a new connection was accepted after Shutdown")
	}
	if err := hub.Publish(ctx, realtime.Topic(appA, "t"), "e", 1); !errors.Is(err, realtime.ErrClosed) {
		t.Errorf("publish after shutdown: %v, want ErrClosed", err)
	}
	if st := hub.Stats(); st.Connections != 0 {
		t.Errorf("stats after shutdown: %+v", st)
	}
}

func TestNewValidation(t *testing.T) {
	ss := newFakeSessions()
	for name, tc := range map[string]struct {
		v    realtime.Validator
		opts []realtime.Option
	}{
		"no validator":   {nil, nil},
		"nil redis":      {ss, []realtime.Option{realtime.WithRedis(nil)}},
		"empty channel":  {ss, []realtime.Option{realtime.WithChannel("")}},
		"nil logger":     {ss, []realtime.Option{realtime.WithLogger(nil)}},
		"negative limit": {ss, []realtime.Option{realtime.WithLimits(realtime.Limits{Memberships: -1})}},
	} {
		if _, err := realtime.New(tc.v, tc.opts...); !wxerr.IsValidation(err) {
			t.Errorf("%s: %v, want a validation error", name, err)
		}
	}
}

// TestEventRightAfterConnect sends an event the moment the CONNECT answer arrives, as socket.io clients
// do when a page subscribes in on('connect'). socket.io for Go writes that answer before it registers the
// connection's namespace, so an event read in between closed the connection ("invalid state"); the hub
// holds the connection's packets until the namespace is registered.
func TestEventRightAfterConnect(t *testing.T) {
	ss := newFakeSessions()
	_, base := startHub(t, ss)
	for i := range 60 {
		c := dialWS(t, base, 4, nil)
		c.mustConnect(ss.add(appA, "o-fast", time.Hour))
		if a := c.emitAck("subscribe", "orders"); !a.OK {
			t.Fatalf("connection %d: %+v", i, a)
		}
		c.close()
	}
}

// TestRealSessions connects with a session of session.Manager (logged in through the emulator) and
// is refused once the session is revoked, on both protocols.
func TestRealSessions(t *testing.T) {
	ss := newRealSessions(t)
	hub, base := startHub(t, ss)
	tok := ss.login(t, appA, "oREAL")
	c := connectV4(t, base, tok)
	c.emitAck("subscribe", "orders")
	hub.Publish(context.Background(), realtime.User(appA, "oREAL"), "hello", 1)
	if ev := c.nextEvent(wait); ev.Name != "hello" {
		t.Fatalf("got %s", ev.Name)
	}
	if err := ss.Revoke(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	for _, eio := range []int{4, 3} {
		d := dialWS(t, base, eio, url.Values{"token": {tok}})
		auth := map[string]any{"token": tok}
		if eio == 3 {
			auth = nil
		}
		if data := d.connect(auth); data == nil || data["code"] != "unauthorized" {
			t.Errorf("EIO %d revoked token: %v, want unauthorized", eio, data)
		}
	}
}

// TestDefaultLimitsLetAClientResubscribeAtOnce: a client coming back asks again for everything it
// held, in one burst; the default rate limit lets the whole of Memberships through, the limit on
// memberships refuses the one too many.
func TestDefaultLimitsLetAClientResubscribeAtOnce(t *testing.T) {
	ss := newFakeSessions()
	_, base := startHub(t, ss)
	c := connectV4(t, base, ss.add(appA, "o-back", time.Hour))
	for i := range realtime.DefaultMemberships {
		if a := c.emitAck("subscribe", "t"+strconv.Itoa(i)); !a.OK {
			t.Fatalf("subscribe %d: %+v", i, a)
		}
	}
	if a := c.emitAck("join", "one-too-many"); a.Error != "limit" {
		t.Fatalf("membership %d: %+v, want limit", realtime.DefaultMemberships+1, a)
	}
}

// TestSessionRecheckOutageKeepsTheConnection: when the session store cannot be read at the session's
// expiry, the connection stays (it is checked again later) rather than being ended for an outage.
func TestSessionRecheckOutageKeepsTheConnection(t *testing.T) {
	ss := newFakeSessions()
	_, base := startHub(t, ss)
	c := connectV4(t, base, ss.add(appA, "o-outage", time.Second))
	ss.mu.Lock()
	ss.err = errors.New("store down")
	ss.mu.Unlock()
	calls := ss.calls.Load()
	waitFor(t, wait, "the recheck at expiry", func() bool { return ss.calls.Load() > calls })
	c.noEvent(200 * time.Millisecond)
	ss.mu.Lock()
	ss.err = nil
	ss.mu.Unlock()
	if a := c.emitAck("subscribe", "still"); !a.OK {
		t.Fatal(a)
	}
}

// TestShutdownDeadline: a Shutdown whose context ends first says so, and the connections are closed
// all the same.
func TestShutdownDeadline(t *testing.T) {
	ss := newFakeSessions()
	hub, base := startHub(t, ss, realtime.WithLimits(realtime.Limits{DrainPeriod: time.Minute}))
	var cs []*wsClient
	for i := range 4 {
		cs = append(cs, connectV4(t, base, ss.add(appA, "o-"+strconv.Itoa(i), time.Hour)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := hub.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("shutdown: %v, want context.Canceled", err)
	}
	for _, c := range cs {
		c.waitClosed(wait)
	}
}
