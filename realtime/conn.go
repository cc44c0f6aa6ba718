package realtime

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/wxopen-go/wxopen/session"
)

// What the hub answers. Every acknowledgement is {ok: true} or {ok: false, error: code, message}; a
// refused connection gets the same {code, message} as its connect_error data (v4) or error event (EIO 3).
const (
	codeUnauthorized   = "unauthorized"    // no token, or an invalid one: log in again
	codeSessionExpired = "session_expired" // the session expired: log in again
	codeUnavailable    = "unavailable"     // the server could not check: retry later
	codeShuttingDown   = "shutting_down"   // this instance is stopping: reconnect
	codeBadRequest     = "bad_request"     // the event's argument is not a valid name
	codeForbidden      = "forbidden"       // the Authorizer refused
	codeLimit          = "limit"           // too many topics and rooms on this connection
	codeRateLimited    = "rate_limited"    // too many events per second
	codeUnknownEvent   = "unknown_event"   // not subscribe, unsubscribe, join or leave
	codeReplaced       = "replaced"        // the user opened a newer connection (see Limits.ConnsPerUser)
	codeDisconnected   = "disconnected"    // the service ended the connection (Hub.Disconnect)
)

// Events the clients send, each with one name argument and an acknowledgement callback.
const (
	evSubscribe   = "subscribe"
	evUnsubscribe = "unsubscribe"
	evJoin        = "join"
	evLeave       = "leave"
	// evClosed is sent by the hub before it ends a connection for good: {code, message}.
	evClosed = "realtime:closed"
)

// maxTokenBytes bounds the token read at the handshake (session tokens are 43 characters).
const maxTokenBytes = 512

// answer is an acknowledgement's single argument.
type answer struct {
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
}

// refusal is the data of a refused connection.
func refusal(code, message string) *socket.ExtendedError {
	return socket.NewExtendedError(message, map[string]any{"code": code, "message": message})
}

// conn is the hub's state of one authenticated connection, kept as the socket's Data.
type conn struct {
	sess     *session.Session
	userRoom socket.Room
	since    time.Time
	ready    chan struct{} // closed once socket.io has registered the connection (see holdUntilReady)

	// Outgoing data (see watchOutbound): bytes created and not yet written, bytes of the batch being
	// written, and whether the connection is being closed as a slow consumer.
	queued   atomic.Int64
	inflight atomic.Int64
	slow     atomic.Bool

	mu      sync.Mutex
	members map[string]struct{} // room keys of the topics and rooms joined
	tokens  float64             // rate limiter bucket
	last    time.Time
	expiry  *time.Timer
	done    bool
}

// UserKey is the key User targets for s: its UserID, or its OpenID when the platform maps no user id.
func UserKey(s *session.Session) string {
	if s.UserID != "" {
		return s.UserID
	}
	return s.OpenID
}

// tokenOf reads the session token: the auth payload on socket.io v4 (Engine.IO 4), the token query
// parameter on Engine.IO 3, whose clients have no auth payload. A v4 client's query token is ignored, so
// that tokens stay out of URLs (and access logs) wherever the client allows it.
func tokenOf(s *socket.Socket) string {
	hs := s.Handshake()
	if s.Conn().Protocol() >= 4 {
		t, _ := hs.Auth["token"].(string)
		return t
	}
	switch v := hs.Query["token"].(type) {
	case []string:
		if len(v) > 0 {
			return v[0]
		}
	case string:
		return v
	}
	return ""
}

// authenticate is the namespace middleware: it validates the session before the connection is accepted.
func (h *Hub) authenticate(s *socket.Socket, next func(*socket.ExtendedError)) {
	if h.closing.Load() {
		next(refusal(codeShuttingDown, "this server is shutting down; reconnect"))
		return
	}
	token := tokenOf(s)
	if token == "" || len(token) > maxTokenBytes {
		next(refusal(codeUnauthorized, "no session token: send auth {token} (socket.io v4) or the query token= (Engine.IO 3)"))
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(h.ctx, h.limits.HandshakeTimeout)
		defer cancel()
		sess, err := h.sessions.Validate(ctx, token)
		switch {
		case err == nil && (sess == nil || !validAppID(sess.AppID) || !validName(UserKey(sess))):
			h.log.Error("realtime: session validator answered a session without a valid appid and user")
			next(refusal(codeUnavailable, "session check failed; retry later"))
		case err == nil:
			c := &conn{sess: sess, userRoom: socket.Room(roomKey(User(sess.AppID, UserKey(sess)))), since: time.Now(),
				ready: make(chan struct{}), tokens: float64(h.limits.EventBurst), last: time.Now()}
			s.SetData(c)
			h.holdUntilReady(s, c)
			h.watchOutbound(s, c)
			next(nil)
		case errors.Is(err, session.ErrExpired):
			next(refusal(codeSessionExpired, "session expired; log in again"))
		case errors.Is(err, session.ErrInvalid):
			next(refusal(codeUnauthorized, "invalid session; log in again"))
		default:
			h.log.Warn("realtime: session check failed", "err", err)
			next(refusal(codeUnavailable, "session check failed; retry later"))
		}
	}()
}

// holdUntilReady makes the connection's reader wait, before each packet, until the connection is set up.
//
// socket.io for Go writes the CONNECT answer before it registers the namespace of the connection, and a
// packet read in between is "invalid state" and closes the connection. socket.io clients emit as soon
// as the answer arrives (a page subscribes in on('connect')), so on a busy server they lose that race.
// The engine emits "packet" before it hands the packet to socket.io, on the reader's goroutine, so
// waiting there holds only this connection's reading, for at most HandshakeTimeout.
func (h *Hub) holdUntilReady(s *socket.Socket, c *conn) {
	_ = s.Conn().On("packet", func(...any) {
		select {
		case <-c.ready:
			return
		default:
		}
		t := time.NewTimer(h.limits.HandshakeTimeout)
		defer t.Stop()
		select {
		case <-c.ready:
		case <-t.C:
		}
	})
}

// onConnection sets up an authenticated connection. socket.io calls it after registering the
// connection, so the packets held by holdUntilReady are released here.
func (h *Hub) onConnection(args ...any) {
	s, _ := args[0].(*socket.Socket)
	if s == nil {
		return
	}
	c, _ := s.Data().(*conn)
	if c == nil {
		s.Disconnect(true)
		return
	}
	defer close(c.ready)
	s.Join(c.userRoom)
	s.Use(h.gate(c))
	_ = s.On(evSubscribe, func(a ...any) { h.member(s, c, KindTopic, true, a) })
	_ = s.On(evUnsubscribe, func(a ...any) { h.member(s, c, KindTopic, false, a) })
	_ = s.On(evJoin, func(a ...any) { h.member(s, c, KindRoom, true, a) })
	_ = s.On(evLeave, func(a ...any) { h.member(s, c, KindRoom, false, a) })
	_ = s.On("disconnect", func(...any) { c.stop() })
	h.armExpiry(s, c, c.sess.ExpiresAt)
	if !s.Connected() {
		c.stop()
		return
	}
	h.limitUser(c)
}

// gate refuses events other than the four the hub knows, and events over the rate limit, answering
// their acknowledgement at once so the client does not wait for a timeout.
func (h *Hub) gate(c *conn) socket.SocketMiddleware {
	return func(event []any, next func(error)) {
		name, _ := event[0].(string)
		ack := ackOf(event)
		switch {
		case name != evSubscribe && name != evUnsubscribe && name != evJoin && name != evLeave:
			reply(ack, codeUnknownEvent, "the hub knows subscribe, unsubscribe, join and leave")
			next(errRefused)
		case !c.allow(time.Now(), h.limits.EventsPerSecond, float64(h.limits.EventBurst)):
			reply(ack, codeRateLimited, "too many events; slow down")
			next(errRefused)
		default:
			next(nil)
		}
	}
}

var errRefused = errors.New("realtime: event refused")

// allow takes one token from the connection's bucket.
func (c *conn) allow(now time.Time, rate, burst float64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens = min(burst, c.tokens+now.Sub(c.last).Seconds()*rate)
	c.last = now
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

func ackOf(args []any) socket.Ack {
	if len(args) == 0 {
		return nil
	}
	ack, _ := args[len(args)-1].(socket.Ack)
	return ack
}

func reply(ack socket.Ack, code, message string) {
	if ack == nil {
		return
	}
	if code == "" {
		ack([]any{answer{OK: true}}, nil)
		return
	}
	ack([]any{answer{Error: code, Message: message}}, nil)
}

// member handles subscribe/unsubscribe (topics) and join/leave (rooms). The events of one connection
// run one after the other (socket.io queues them), so a subscribe and the unsubscribe that follows it
// take effect in that order.
func (h *Hub) member(s *socket.Socket, c *conn, kind Kind, add bool, args []any) {
	ack := ackOf(args)
	var name string
	if len(args) > 0 {
		name, _ = args[0].(string)
	}
	if !validName(name) {
		reply(ack, codeBadRequest, "the "+kind.String()+" name must be "+nameRule)
		return
	}
	t := Target{Kind: kind, AppID: c.sess.AppID, Name: name}
	key := roomKey(t)
	if !add {
		c.mu.Lock()
		delete(c.members, key)
		c.mu.Unlock()
		s.Leave(socket.Room(key))
		reply(ack, "", "")
		return
	}
	c.mu.Lock()
	_, already := c.members[key]
	full := len(c.members) >= h.limits.Memberships
	c.mu.Unlock()
	if already {
		reply(ack, "", "")
		return
	}
	if full {
		reply(ack, codeLimit, "too many topics and rooms on this connection; leave some first")
		return
	}
	if h.authorize != nil {
		ctx, cancel := context.WithTimeout(h.ctx, h.limits.HandshakeTimeout)
		err := h.authorize(ctx, c.sess, t)
		cancel()
		if errors.Is(err, ErrForbidden) {
			reply(ack, codeForbidden, "not allowed to "+verb(kind)+" this "+kind.String())
			return
		}
		if err != nil {
			h.log.Warn("realtime: authorizer failed", "target", t.String(), "err", err)
			reply(ack, codeUnavailable, "could not check access; retry later")
			return
		}
	}
	c.mu.Lock()
	if c.members == nil {
		c.members = make(map[string]struct{})
	}
	c.members[key] = struct{}{}
	c.mu.Unlock()
	s.Join(socket.Room(key))
	reply(ack, "", "")
}

func verb(k Kind) string {
	if k == KindTopic {
		return "subscribe to"
	}
	return "join"
}

// dismiss ends a connection for good: the client is told why, then gets a server disconnect (after
// which socket.io clients do not reconnect by themselves); its transport is closed shortly after in
// case the client keeps it open. That close discards what is still queued: a client that has not read
// it in dismissGrace never will (a frozen phone), and a close that waited for the queue to drain would
// hold the connection until the heartbeat times out.
func dismiss(s *socket.Socket, code, message string) {
	_ = s.Emit(evClosed, map[string]any{"code": code, "message": message})
	s.Disconnect(false)
	time.AfterFunc(dismissGrace, func() { s.Conn().Close(true) })
}

// dismissGrace is how long a dismissed client has to read the reason and close its side.
const dismissGrace = 2 * time.Second

// limitUser closes the oldest connections of the user beyond Limits.ConnsPerUser on this instance.
func (h *Hub) limitUser(c *conn) {
	ids, ok := h.nsp.Adapter().Rooms().Load(c.userRoom)
	if !ok || ids.Len() <= h.limits.ConnsPerUser {
		return
	}
	type held struct {
		s     *socket.Socket
		since time.Time
	}
	var all []held
	for _, id := range ids.Keys() {
		if s, ok := h.nsp.Sockets().Load(id); ok {
			if sc, _ := s.Data().(*conn); sc != nil {
				all = append(all, held{s, sc.since})
			}
		}
	}
	if len(all) <= h.limits.ConnsPerUser {
		return
	}
	slices.SortFunc(all, func(a, b held) int { return a.since.Compare(b.since) })
	for _, o := range all[:len(all)-h.limits.ConnsPerUser] {
		dismiss(o.s, codeReplaced, "a newer connection of this user replaced this one")
	}
}

// armExpiry schedules a check of the session at its expiry: a session extended meanwhile keeps the
// connection, an expired or revoked one ends it.
func (h *Hub) armExpiry(s *socket.Socket, c *conn, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done || at.IsZero() {
		return
	}
	c.expiry = time.AfterFunc(max(time.Until(at), 0), func() { h.recheck(s, c) })
}

// recheckRetry is when a session check that failed for a reason other than the session is retried.
const recheckRetry = time.Minute

func (h *Hub) recheck(s *socket.Socket, c *conn) {
	if !s.Connected() {
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, h.limits.HandshakeTimeout)
	defer cancel()
	sess, err := h.sessions.Validate(ctx, c.sess.Token)
	switch {
	case err == nil && sess != nil && sess.ExpiresAt.After(time.Now()):
		h.armExpiry(s, c, sess.ExpiresAt)
	case err == nil || errors.Is(err, session.ErrInvalid):
		dismiss(s, codeSessionExpired, "session expired; log in again")
	case h.ctx.Err() != nil:
	default:
		h.log.Warn("realtime: session recheck failed", "err", err)
		h.armExpiry(s, c, time.Now().Add(recheckRetry))
	}
}

func (c *conn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = true
	if c.expiry != nil {
		c.expiry.Stop()
	}
}
