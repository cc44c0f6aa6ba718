// realtime.js: ONE socket.io connection for the whole mini program, shared by every page.
//
// Pages do not open sockets. A page subscribes to topics and enters rooms when it shows, and lets go of
// them when it hides; the connection stays. What pages hold is counted, so two pages holding one topic
// keep it until both let go, and everything held is asked for again after a reconnection (the server
// keeps subscriptions per connection).
//
//   const rt = require('../../utils/realtime')
//   rt.init({ io: require('weapp.socket.io'), url: 'https://rt.example.com', getToken })
//   const release = rt.subscribe('order:42', (event, data) => { ... })   // page onShow
//   release()                                                             // page onHide / onUnload
//
// io is weapp.socket.io (socket.io v4 protocol, token sent in the auth payload) or socket.io-mp-client
// (Engine.IO 3, token sent in the query; pass protocol: 3). getToken({ refresh }) returns (a promise of)
// the session token from the app's login (wx.login, then the platform's /login); with refresh: true
// the old token was refused and a new login is needed. Optional: onRefused(kind, name, answer) when a
// subscribe or join is refused (default: console.warn), onAnswer(event, name, answer) for every answer.
//
// The server answers every subscribe/join with {ok} or {ok: false, error, message}; error is one of
// bad_request, forbidden, limit, rate_limited, unavailable. Events arrive as (event, data, meta) with
// meta {topic}, {room} or {user}.
'use strict';

let socket = null;
let options = null;
const held = new Map(); // "topic:name" | "room:name" -> { kind, name, count, handlers: Set }
const userHandlers = new Set(); // handlers of events sent to this user
let connected = false;
let closedCode = ''; // why the server last ended the connection for good (realtime:closed)

function key(kind, name) {
  return kind + ':' + name;
}

// init opens the connection (once; later calls are ignored).
function init(opts) {
  if (socket) return socket;
  options = Object.assign({ protocol: 4, path: '/socket.io' }, opts);
  const common = { path: options.path, transports: ['websocket'], autoConnect: false };
  socket = options.io(options.url, common);
  socket.on('connect', () => {
    connected = true;
    // the server knows nothing of this connection yet: ask again for what the pages hold
    held.forEach((h) => send(h.kind === 'topic' ? 'subscribe' : 'join', h));
  });
  socket.on('disconnect', (reason) => {
    connected = false;
    // The server ended this connection for good. An expired session: log in again and reconnect.
    // "replaced": this user opened a newer connection (another device); reconnecting would only
    // replace that one in turn. "disconnected": the service ended it (a logout, say).
    if (reason === 'io server disconnect' && closedCode === 'session_expired') reconnect(true);
  });
  // socket.io v4: a refused connection; Engine.IO 3 clients raise the same data as an 'error' event
  socket.on('connect_error', (err) => onRefused(err && err.data));
  socket.on('error', (data) => onRefused(data));
  listen(socket, dispatch);
  reconnect(false);
  return socket;
}

// onRefused handles the server's refusal of the handshake.
function onRefused(data) {
  const code = data && data.code;
  if (code === 'unauthorized' || code === 'session_expired') {
    reconnect(true);
  } else if (code === 'unavailable' || code === 'shutting_down') {
    setTimeout(() => reconnect(false), 1000 + Math.random() * 2000);
  }
}

// reconnect fetches a token (a new one when refresh) and connects with it.
function reconnect(refresh) {
  Promise.resolve(options.getToken({ refresh })).then((token) => {
    if (options.protocol >= 4) {
      socket.auth = { token };
    } else {
      socket.io.opts.query = { token };
    }
    closedCode = '';
    if (!connected) socket.connect();
  });
}

// listen calls fn(event, data, meta) for every server event (socket.io v2 clients have no onAny).
function listen(s, fn) {
  if (typeof s.onAny === 'function') {
    s.onAny(fn);
    return;
  }
  const onevent = s.onevent.bind(s);
  s.onevent = (packet) => {
    if (packet.id == null) fn(...(packet.data || []));
    onevent(packet);
  };
}

function dispatch(event, data, meta) {
  if (event === 'realtime:closed') {
    closedCode = (data && data.code) || '';
    return;
  }
  if (!meta || typeof meta !== 'object') return;
  if (meta.user !== undefined) {
    userHandlers.forEach((fn) => fn(event, data));
    return;
  }
  const h = meta.topic !== undefined ? held.get(key('topic', meta.topic)) : held.get(key('room', meta.room));
  if (h) h.handlers.forEach((fn) => fn(event, data));
}

function send(event, h) {
  if (!connected) return; // sent on connect
  socket.emit(event, h.name, (ans) => {
    if (options.onAnswer) options.onAnswer(event, h.name, ans || {});
    if (!ans || !ans.ok) {
      if (options.onRefused) options.onRefused(h.kind, h.name, ans || {});
      else console.warn('realtime: ' + event + ' ' + h.name + ' refused', ans);
    }
  });
}

function hold(kind, name, fn) {
  const k = key(kind, name);
  let h = held.get(k);
  if (!h) {
    h = { kind, name, count: 0, handlers: new Set() };
    held.set(k, h);
  }
  h.count++;
  h.handlers.add(fn);
  if (h.count === 1) send(kind === 'topic' ? 'subscribe' : 'join', h);
  let released = false;
  return function release() {
    if (released) return;
    released = true;
    h.handlers.delete(fn);
    if (--h.count === 0) {
      held.delete(k);
      send(kind === 'topic' ? 'unsubscribe' : 'leave', h);
    }
  };
}

// subscribe holds topic for a page; fn(event, data) gets its messages. Returns the release function.
function subscribe(topic, fn) {
  return hold('topic', topic, fn);
}

// join holds room for a page; fn(event, data) gets its messages. Returns the release function.
function join(room, fn) {
  return hold('room', room, fn);
}

// onUser registers fn(event, data) for messages sent to this user; returns the function removing it.
function onUser(fn) {
  userHandlers.add(fn);
  return () => userHandlers.delete(fn);
}

// page wraps a page definition: its realtime(page) method returns the release functions of what it
// holds while shown; they are called when it hides or unloads.
//
//   Page(rt.page({ realtime() { return [rt.subscribe('order:' + this.data.id, this.onOrder)]; }, … }))
function page(def) {
  const { onShow, onHide, onUnload } = def;
  const releaseAll = function () {
    (this._realtime || []).forEach((release) => release());
    this._realtime = [];
  };
  return Object.assign({}, def, {
    onShow(...args) {
      releaseAll.call(this);
      this._realtime = def.realtime.call(this) || [];
      if (onShow) return onShow.apply(this, args);
    },
    onHide(...args) {
      releaseAll.call(this);
      if (onHide) return onHide.apply(this, args);
    },
    onUnload(...args) {
      releaseAll.call(this);
      if (onUnload) return onUnload.apply(this, args);
    },
  });
}

module.exports = { init, subscribe, join, onUser, page };
