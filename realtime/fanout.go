package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// The fan-out's timing.
const (
	// fanIdle is how long the subscriber waits without a message before it pings Redis; a second idle
	// period without an answer counts as a lost connection.
	fanIdle = 15 * time.Second
	// fanBackoffMin and fanBackoffMax bound the wait between two reconnection attempts.
	fanBackoffMin = 100 * time.Millisecond
	fanBackoffMax = 5 * time.Second
)

// envelope is one publish (or, with Control, one Disconnect) on the Redis channel. Origin lets the
// publishing instance skip its own messages: it delivered them locally already.
type envelope struct {
	Origin  string          `json:"o"`
	Control string          `json:"c,omitempty"`
	Kind    Kind            `json:"k"`
	AppID   string          `json:"a"`
	Name    string          `json:"n"`
	Event   string          `json:"e"`
	Data    json.RawMessage `json:"d"`
}

// fanout carries publishes between instances over one Redis pub/sub channel.
type fanout struct {
	hub     *Hub
	rdb     redis.UniversalClient
	channel string
	origin  string
	up      atomic.Bool
	done    chan struct{}
}

// ctlDisconnect is the Control of a Disconnect.
const ctlDisconnect = "disconnect"

func (f *fanout) publish(ctx context.Context, t Target, event string, payload json.RawMessage) error {
	return f.send(ctx, envelope{Kind: t.Kind, AppID: t.AppID, Name: t.Name, Event: event, Data: payload})
}

func (f *fanout) send(ctx context.Context, e envelope) error {
	e.Origin = f.origin
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return f.rdb.Publish(ctx, f.channel, b).Err()
}

// run subscribes until ctx ends, subscribing again after every failure with a growing, jittered wait.
// While Redis is away the hub goes on serving its own connections; the messages published elsewhere in
// the meantime are lost (pub/sub keeps nothing).
func (f *fanout) run(ctx context.Context) {
	defer close(f.done)
	backoff := fanBackoffMin
	for ctx.Err() == nil {
		subscribed, err := f.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if f.up.Swap(false) {
			f.hub.log.Warn("realtime: Redis fan-out lost; serving local connections only until it is back", "err", err)
		}
		if subscribed {
			backoff = fanBackoffMin
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, fanBackoffMax)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// session runs one subscription until it fails; subscribed reports whether Redis confirmed it.
func (f *fanout) session(ctx context.Context) (subscribed bool, err error) {
	ps := f.rdb.Subscribe(ctx, f.channel)
	defer ps.Close()
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() }) // unblocks a pending receive
	defer stop()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, fanIdle)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged {
				if err := ps.Ping(ctx); err != nil {
					return subscribed, err
				}
				pinged = true
				continue
			}
			return subscribed, err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				subscribed = true
				if !f.up.Swap(true) {
					f.hub.log.Info("realtime: Redis fan-out subscribed", "channel", f.channel)
				}
			}
		case *redis.Message:
			f.receive(m.Payload)
		}
	}
}

// receive delivers another instance's publish to the local connections.
func (f *fanout) receive(payload string) {
	var e envelope
	if err := json.Unmarshal([]byte(payload), &e); err != nil {
		f.hub.log.Warn("realtime: dropped a malformed fan-out message", "err", err)
		return
	}
	if e.Origin == f.origin {
		return
	}
	t := Target{Kind: e.Kind, AppID: e.AppID, Name: e.Name}
	if e.Control == ctlDisconnect && t.validate() == nil {
		f.hub.disconnect(t)
		return
	}
	if e.Control != "" || t.validate() != nil || validEvent(e.Event) != nil || len(e.Data) == 0 {
		f.hub.log.Warn("realtime: dropped an invalid fan-out message", "target", t.String())
		return
	}
	f.hub.deliver(t, e.Event, e.Data)
}
