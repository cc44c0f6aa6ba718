package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/wxopen-go/wxopen/session"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Errors of the hub.
var (
	// ErrClosed is returned by Publish after Shutdown.
	ErrClosed = errors.New("realtime: hub is shut down")
	// ErrLocalOnly wraps the Redis error of a Publish that reached this instance's subscribers but not
	// the other instances'. Pub/sub keeps nothing: the others miss this message.
	ErrLocalOnly = errors.New("realtime: delivered on this instance only (Redis fan-out failed)")
	// ErrForbidden is what an Authorizer returns (or wraps) to refuse a subscription; the client is told
	// "forbidden". Any other error is logged and the client is told "unavailable".
	ErrForbidden = errors.New("realtime: forbidden")
)

// Authorizer decides whether the user of session s may subscribe to a topic or enter a room (t.Kind is
// KindTopic or KindRoom; t.AppID is always the session's). It is called once per subscribe or join,
// with the HandshakeTimeout; return nil to allow, ErrForbidden to refuse.
type Authorizer func(ctx context.Context, s *session.Session, t Target) error

// Validator checks a session token at the handshake; *session.Manager is one. It must answer an error
// wrapping session.ErrInvalid (or session.ErrExpired) for a token that is not a valid session, and
// another error for a failure to check (the client is then told to retry, not to log in again).
type Validator interface {
	Validate(ctx context.Context, token string) (*session.Session, error)
}

// Limits bound what one connection may hold and send. A zero field takes its default.
type Limits struct {
	// Memberships is how many topics and rooms one connection may be in at once (default 64).
	Memberships int
	// MessageBytes bounds the JSON of one published payload (default 64 KiB).
	MessageBytes int
	// InboundBytes bounds one frame from a client (default 8 KiB); a larger frame closes the connection
	// with WebSocket close code 1009 (message too big).
	InboundBytes int
	// EventsPerSecond and EventBurst rate-limit what a client sends (defaults 10 per second, and a burst
	// of Memberships+16, so that a client coming back re-subscribes everything it held at once); events
	// over the rate are refused with "rate_limited".
	EventsPerSecond float64
	EventBurst      int
	// ConnsPerUser is how many connections one user may hold on one instance (default 4); a new one
	// closes the oldest with "replaced" (the one-socket pattern: a stale page must not pile up sockets).
	ConnsPerUser int
	// OutboundBytes bounds the data waiting to be written to one connection (default 1 MiB; at least
	// twice MessageBytes). A client that stops reading (a frozen phone, a half-open TCP connection)
	// makes publishes to it wait in the server's memory; beyond this the hub closes the connection,
	// with the WebSocket close code 1008 and the reason "slow_consumer" when the close frame can still
	// be written, and counts it in Stats.SlowConsumers. Other connections are not affected and Publish
	// never waits for a slow client. Each waiting frame counts its bytes plus about 160 bytes of
	// bookkeeping; what the kernel's socket buffers already hold is not counted.
	OutboundBytes int
	// HandshakeTimeout bounds the session validation at connect and each Authorizer call (default 5s).
	HandshakeTimeout time.Duration
	// DrainPeriod is the time Shutdown spreads its disconnects over so that the clients do not all
	// reconnect to the other instances in the same instant (default 5s, shortened to half of the time
	// left before Shutdown's deadline).
	DrainPeriod time.Duration
}

// Defaults of Limits.
const (
	DefaultMemberships      = 64
	DefaultMessageBytes     = 64 << 10
	DefaultInboundBytes     = 8 << 10
	DefaultOutboundBytes    = 1 << 20
	DefaultEventsPerSecond  = 10
	DefaultConnsPerUser     = 4
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultDrainPeriod      = 5 * time.Second
	// DefaultChannel is the Redis pub/sub channel of the fan-out.
	DefaultChannel = "wxopen:realtime"
	// DefaultPath is where the socket.io clients connect (their default path).
	DefaultPath = "/socket.io/"
)

func (l Limits) withDefaults() Limits {
	if l.Memberships <= 0 {
		l.Memberships = DefaultMemberships
	}
	if l.MessageBytes <= 0 {
		l.MessageBytes = DefaultMessageBytes
	}
	if l.InboundBytes <= 0 {
		l.InboundBytes = DefaultInboundBytes
	}
	if l.OutboundBytes <= 0 {
		l.OutboundBytes = DefaultOutboundBytes
	}
	if l.EventsPerSecond <= 0 {
		l.EventsPerSecond = DefaultEventsPerSecond
	}
	if l.EventBurst <= 0 {
		l.EventBurst = l.Memberships + 16
	}
	if l.ConnsPerUser <= 0 {
		l.ConnsPerUser = DefaultConnsPerUser
	}
	if l.HandshakeTimeout <= 0 {
		l.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if l.DrainPeriod <= 0 {
		l.DrainPeriod = DefaultDrainPeriod
	}
	return l
}

// Option configures a Hub.
type Option func(*Hub) error

// WithRedis fans every Publish out to the other instances through Redis pub/sub on client. Without it
// the hub serves one instance.
func WithRedis(client redis.UniversalClient) Option {
	return func(h *Hub) error {
		if client == nil {
			return wxerr.Invalid("redis", "a client (omit the option for one instance)")
		}
		h.rdb = client
		return nil
	}
}

// WithChannel sets the Redis pub/sub channel (default DefaultChannel); instances of one deployment
// share it, and separate deployments on one Redis use separate channels.
func WithChannel(name string) Option {
	return func(h *Hub) error {
		if name == "" {
			return wxerr.Invalid("channel", "a non-empty Redis channel name")
		}
		h.channel = name
		return nil
	}
}

// WithAuthorizer checks every subscribe and join (by default every topic and room of the user's own
// merchant is allowed).
func WithAuthorizer(a Authorizer) Option {
	return func(h *Hub) error {
		h.authorize = a
		return nil
	}
}

// WithLimits sets the limits (zero fields keep their defaults).
func WithLimits(l Limits) Option {
	return func(h *Hub) error {
		if l.Memberships < 0 || l.MessageBytes < 0 || l.InboundBytes < 0 || l.OutboundBytes < 0 || l.EventsPerSecond < 0 ||
			l.EventBurst < 0 || l.ConnsPerUser < 0 || l.HandshakeTimeout < 0 || l.DrainPeriod < 0 {
			return wxerr.Invalid("limits", "zero (default) or positive values")
		}
		l = l.withDefaults()
		if l.OutboundBytes < 2*l.MessageBytes {
			return wxerr.Invalid("limits", fmt.Sprintf("OutboundBytes of at least twice MessageBytes (%d)", 2*l.MessageBytes))
		}
		h.limits = l
		return nil
	}
}

// WithLogger sets the logger (default slog.Default()). Tokens are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(h *Hub) error {
		if l == nil {
			return wxerr.Invalid("logger", "a non-nil *slog.Logger")
		}
		h.log = l
		return nil
	}
}

// Hub is the socket.io server of the merchants' mini programs: each user holds one connection,
// authenticated by their session, on which pages subscribe to topics and enter rooms. Serve it at
// DefaultPath (Hub is an http.Handler); publish with Publish; stop with Shutdown.
type Hub struct {
	sessions  Validator
	authorize Authorizer
	limits    Limits
	log       *slog.Logger
	rdb       redis.UniversalClient
	channel   string

	io      *socket.Server
	nsp     socket.Namespace
	handler http.Handler
	fan     *fanout

	slowConsumers atomic.Int64 // connections closed for Limits.OutboundBytes

	ctx      context.Context // canceled at the end of Shutdown: stops validations and the fan-out
	cancel   context.CancelFunc
	closing  atomic.Bool
	shutOnce sync.Once
}

// New returns a Hub that authenticates connections with sessions (a *session.Manager). With WithRedis
// it starts listening to the other instances at once.
func New(sessions Validator, opts ...Option) (*Hub, error) {
	if sessions == nil {
		return nil, wxerr.Invalid("sessions", "a Validator (*session.Manager)")
	}
	h := &Hub{sessions: sessions, limits: Limits{}.withDefaults(), log: slog.Default(), channel: DefaultChannel}
	for _, o := range opts {
		if err := o(h); err != nil {
			return nil, err
		}
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())

	so := socket.DefaultServerOptions()
	so.SetAllowEIO3(true) // socket.io-mp-client speaks Engine.IO 3
	so.SetTransports(types.NewSet(engine.WebSocket))
	so.SetAllowUpgrades(false)
	so.SetServeClient(false)
	so.SetMaxHttpBufferSize(int64(h.limits.InboundBytes))
	so.SetConnectTimeout(10 * time.Second)
	so.SetAdapter(lockedAdapterBuilder{})
	// Any origin: connections authenticate with a bearer token, never a cookie, so a foreign page gains
	// nothing; mini programs send an origin of WeChat's own.
	so.SetCors(&types.Cors{Origin: true})
	so.SetAllowRequest(func(*types.HttpContext) error {
		if h.closing.Load() {
			return errors.New("shutting down")
		}
		return nil
	})
	h.io = socket.NewServer(nil, so)
	h.nsp = h.io.Sockets()
	h.handler = h.io.ServeHandler(nil)
	h.nsp.Use(h.authenticate)
	_ = h.nsp.On("connection", h.onConnection)

	if h.rdb != nil {
		var id [8]byte
		_, _ = rand.Read(id[:])
		h.fan = &fanout{hub: h, rdb: h.rdb, channel: h.channel, origin: hex.EncodeToString(id[:]), done: make(chan struct{})}
		go h.fan.run(h.ctx)
	}
	return h, nil
}

// ServeHTTP serves the socket.io clients; mount the hub at DefaultPath:
// mux.Handle(realtime.DefaultPath, hub).
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.handler.ServeHTTP(w, r) }

// meta is the second argument of every event a publish delivers: where it was published.
type meta struct {
	Topic string `json:"topic,omitempty"`
	Room  string `json:"room,omitempty"`
	User  string `json:"user,omitempty"`
}

// Publish sends event with data (anything encoding/json encodes, at most Limits.MessageBytes) to the
// connections of target on every instance. The clients receive it as socket.on(event, (data, meta)),
// meta being {topic}, {room} or {user}. Delivery is at most once: a client that is reconnecting
// misses it, so clients refetch state when they reconnect. An error wrapping ErrLocalOnly means the
// local subscribers got it and the other instances did not; while Redis is unreachable that answer
// takes as long as the Redis client's dial and retries allow, so give ctx a deadline.
func (h *Hub) Publish(ctx context.Context, to Target, event string, data any) error {
	if err := to.validate(); err != nil {
		return err
	}
	if err := validEvent(event); err != nil {
		return err
	}
	payload, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("realtime: encode data: %w", err)
	}
	if len(payload) > h.limits.MessageBytes {
		return wxerr.Invalid("data", fmt.Sprintf("at most %d bytes as JSON (Limits.MessageBytes), got %d", h.limits.MessageBytes, len(payload)))
	}
	if h.ctx.Err() != nil {
		return ErrClosed
	}
	h.deliver(to, event, payload)
	if h.fan == nil {
		return nil
	}
	if err := h.fan.publish(ctx, to, event, payload); err != nil {
		return fmt.Errorf("%w: %w", ErrLocalOnly, err)
	}
	return nil
}

// deliver emits to the local connections of t; the payload is encoded once for all of them.
func (h *Hub) deliver(t Target, event string, payload json.RawMessage) {
	var m meta
	switch t.Kind {
	case KindTopic:
		m.Topic = t.Name
	case KindRoom:
		m.Room = t.Name
	default:
		m.User = t.Name
	}
	_ = h.nsp.To(socket.Room(roomKey(t))).Emit(event, payload, m)
}

// Disconnect ends the connections of to on every instance: typically a User whose session was revoked
// (logout, a banned user) or a Room being closed. Their clients get realtime:closed {code:
// "disconnected"} and a server disconnect, after which socket.io clients do not reconnect by
// themselves. An error wrapping ErrLocalOnly means the other instances were not told.
func (h *Hub) Disconnect(ctx context.Context, to Target) error {
	if err := to.validate(); err != nil {
		return err
	}
	if h.ctx.Err() != nil {
		return ErrClosed
	}
	h.disconnect(to)
	if h.fan == nil {
		return nil
	}
	if err := h.fan.send(ctx, envelope{Control: ctlDisconnect, Kind: to.Kind, AppID: to.AppID, Name: to.Name}); err != nil {
		return fmt.Errorf("%w: %w", ErrLocalOnly, err)
	}
	return nil
}

// disconnect dismisses the local connections of t.
func (h *Hub) disconnect(t Target) {
	ids, ok := h.nsp.Adapter().Rooms().Load(socket.Room(roomKey(t)))
	if !ok {
		return
	}
	for _, id := range ids.Keys() {
		if s, ok := h.nsp.Sockets().Load(id); ok {
			dismiss(s, codeDisconnected, "the server ended this connection")
		}
	}
}

// Stats is a snapshot of one instance.
type Stats struct {
	// Connections is the number of authenticated connections on this instance.
	Connections int
	// Redis says whether the fan-out is subscribed right now (false without WithRedis).
	Redis bool
	// SlowConsumers is how many connections this instance has closed since New for having more
	// outgoing data waiting than Limits.OutboundBytes.
	SlowConsumers int64
}

// Stats returns the instance's figures.
func (h *Hub) Stats() Stats {
	st := Stats{Connections: h.nsp.Sockets().Len(), SlowConsumers: h.slowConsumers.Load()}
	if h.fan != nil {
		st.Redis = h.fan.up.Load()
	}
	return st
}

// Shutdown stops accepting connections, closes the open ones spread over Limits.DrainPeriod (their
// clients reconnect, to another instance behind the load balancer), then stops the fan-out. It returns
// ctx's error if connections remained when ctx ended; they are closed anyway.
func (h *Hub) Shutdown(ctx context.Context) error {
	var err error
	h.shutOnce.Do(func() { err = h.shutdown(ctx) })
	return err
}

func (h *Hub) shutdown(ctx context.Context) error {
	h.closing.Store(true)
	var all []*socket.Socket
	h.nsp.Sockets().Range(func(_ socket.SocketId, s *socket.Socket) bool {
		all = append(all, s)
		return true
	})
	window := h.limits.DrainPeriod
	if dl, ok := ctx.Deadline(); ok {
		if half := time.Until(dl) / 2; half < window {
			window = max(half, 0)
		}
	}
	start := time.Now()
	var err error
	for i, s := range all {
		if err == nil {
			if wait := time.Until(start.Add(window * time.Duration(i) / time.Duration(len(all)))); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					err = ctx.Err()
				}
			}
		}
		s.Disconnect(true)
	}
	for err == nil && h.nsp.Sockets().Len() > 0 {
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	h.cancel()
	if h.fan != nil {
		<-h.fan.done
	}
	h.io.Close(nil)
	return err
}
