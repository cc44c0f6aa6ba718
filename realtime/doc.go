// Package realtime is the live-update server of merchants' mini programs: a socket.io hub where each
// user holds ONE connection for the whole mini program, authenticated by their login session, on which
// pages subscribe to topics and enter rooms as they show and hide.
//
// The clients connect unchanged: weapp.socket.io and socket.io-client 4 (socket.io v4, Engine.IO 4;
// the session token in the auth payload, {token}) and socket.io-mp-client (Engine.IO 3; the token in
// the query, token=). WebSocket is the only transport (mini programs have no long-polling), so a load
// balancer needs no sticky sessions.
//
// # What the clients send
//
// Four events, each with a name and an acknowledgement callback:
//
//	socket.emit('subscribe', 'order:42', ans => …)   // a topic
//	socket.emit('unsubscribe', 'order:42', ans => …)
//	socket.emit('join', 'table:5', ans => …)         // a room
//	socket.emit('leave', 'table:5', ans => …)
//
// The answer is {ok: true} or {ok: false, error, message}, error being bad_request, forbidden, limit,
// rate_limited, unknown_event or unavailable. A refused connection gets {code, message} with code
// unauthorized, session_expired, unavailable or shutting_down, as connect_error data (v4) or an error
// event (Engine.IO 3). Before the hub ends a connection for good it sends realtime:closed {code}, code
// being session_expired (log in again), replaced (the user opened a newer connection) or disconnected
// (the service called Hub.Disconnect, say after revoking the session).
//
// # What the server sends
//
// Publish delivers an event to a Topic, a Room or a User (every connection of that user), as
// socket.on(event, (data, meta) => …) with meta {topic}, {room} or {user}. Every name lives inside the
// merchant (the session's AppID): two merchants' "orders" topics are distinct, and no client can reach
// another merchant's. Delivery is at most once; clients refetch state after reconnecting.
//
// A client that stops reading (a frozen phone, a half-open TCP connection) does not hold the server's
// memory: beyond Limits.OutboundBytes of data waiting for it, the hub closes its connection (close
// code 1008 "slow_consumer" when that frame can still be written, else a TCP reset) and counts it in
// Stats.SlowConsumers; its client reconnects by itself. Publish never waits for a slow client.
//
// # Many instances
//
// With WithRedis every Publish is also sent on one Redis pub/sub channel and delivered by the other
// instances to their own connections. An instance that loses Redis keeps serving its connections
// (Publish then returns an error wrapping ErrLocalOnly) and subscribes again when Redis is back.
//
// The mini program side, a helper that keeps one connection and lets pages hold topics while shown,
// is in examples/miniprogram; a runnable server is in examples/server.
//
// This package is a Go module of its own (it needs Go 1.26 and brings socket.io's dependencies), so
// the wxopen module stays on its Go version and dependencies.
package realtime
