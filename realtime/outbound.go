package realtime

import (
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/servers/socket/v3"
)

// How a connection's outgoing data is held, in socket.io for Go (Engine.IO over WebSocket): every
// packet for the connection, a publish included, is appended to the Engine.IO socket's write buffer
// (an unbounded slice) by the publishing goroutine, which never blocks. The buffer is handed to the
// transport as one batch whenever the transport is writable; the transport writes a batch on its own
// goroutine and is not writable until the write returns, so while the client's TCP window is closed
// the write blocks and every later packet stays in the write buffer. Nothing bounds that buffer: a
// client that stops reading keeps everything published to it until the heartbeat gives up on it
// (pingInterval + pingTimeout, 45 s by default), and for all of that time its memory grows with the
// publish rate.
//
// The hub counts, per connection, the bytes created and not yet written (the socket's "packetCreate"
// and "flush" events and the transport's "drain" event, which ends a batch's write) and closes a
// connection that goes over Limits.OutboundBytes.

// frameOverhead is what one queued packet costs besides its buffer: the packet, its options, the
// buffer's header and its slot in the write buffer (about 150 bytes per connection, measured with two
// stalled subscribers of one topic), so that a flood of tiny messages is bounded too.
const frameOverhead = 160

// closeFrameWait bounds the attempt to tell a slow consumer why it is closed: the close frame waits
// for the write in progress, which is blocked for as long as the client does not read.
const closeFrameWait = 100 * time.Millisecond

// Close frame of a slow consumer: 1008 (policy violation) and the reason the client can see.
const (
	closeSlowCode   = websocket.ClosePolicyViolation
	closeSlowReason = "slow_consumer"
)

// watchOutbound counts the bytes waiting for the connection and closes it beyond the limit. The
// counting runs on the publishing goroutines and the connection's writer, with atomics only.
//
// It is set up before the connection's CONNECT answer, when no packet is waiting: packets created
// before would be subtracted without having been added, which only makes the count lower by their
// size.
func (h *Hub) watchOutbound(s *socket.Socket, c *conn) {
	eng := s.Conn()
	// A batch written: the transport has one batch at a time (it is not writable again before this
	// event), so what it wrote is the last batch flushed.
	_ = eng.Transport().On("drain", func(...any) { c.queued.Add(-c.inflight.Swap(0)) })
	_ = eng.On("flush", func(args ...any) {
		batch, _ := args[0].([]*packet.Packet)
		var n int64
		for _, p := range batch {
			n += packetBytes(p)
		}
		c.inflight.Store(n)
	})
	limit := int64(h.limits.OutboundBytes)
	_ = eng.On("packetCreate", func(args ...any) {
		p, _ := args[0].(*packet.Packet)
		if c.queued.Add(packetBytes(p)) > limit && c.slow.CompareAndSwap(false, true) {
			go h.dropSlow(s, c) // never on the publisher's goroutine
		}
	})
}

// packetBytes is what p holds while it waits.
func packetBytes(p *packet.Packet) int64 {
	n := int64(frameOverhead)
	if p == nil {
		return n
	}
	switch b := p.Data.(type) {
	case interface{ Cap() int }: // socket.io's buffers: what the copy for this connection allocated
		n += int64(b.Cap())
	case interface{ Len() int }:
		n += int64(b.Len())
	}
	return n
}

// dropSlow closes a connection that has more than Limits.OutboundBytes waiting. The close frame
// 1008 "slow_consumer" is written if the connection's writer lets it through within closeFrameWait: a
// client that reads slowly gets it after the data ahead of it. A client that reads nothing (the writer
// stays blocked) gets a TCP reset instead of a close: the kernel then drops what the socket's send
// buffer holds for it (up to net.ipv4.tcp_wmem's maximum, 4 MiB by default on Linux) at once, instead
// of trying to deliver it to a peer that may be gone for minutes. Closing the connection also ends the
// write blocked on it. Either way the client's transport closes, so socket.io clients reconnect by
// themselves and, as after any reconnection, refetch their state.
func (h *Hub) dropSlow(s *socket.Socket, c *conn) {
	h.slowConsumers.Add(1)
	eng := s.Conn()
	told := false
	if r := eng.Request(); r != nil && r.Websocket != nil && r.Websocket.Conn != nil {
		ws := r.Websocket.Conn
		told = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeSlowCode, closeSlowReason),
			time.Now().Add(closeFrameWait)) == nil
		if tc, ok := ws.NetConn().(interface{ SetLinger(int) error }); ok && !told {
			_ = tc.SetLinger(0)
		}
	}
	eng.Close(true)
	h.log.Warn("realtime: closed a slow consumer (more outgoing data waiting than Limits.OutboundBytes)",
		"appid", c.sess.AppID, "user", UserKey(c.sess), "waiting_bytes", c.queued.Load(),
		"limit", h.limits.OutboundBytes, "close_frame", told)
}
