// driver.js drives one real socket.io client for the Go tests of package realtime.
//
//   node driver.js <client> <url>
//
// client is "v4" (socket.io-client 4), "weapp" (weapp.socket.io over a wx.connectSocket shim built on
// the ws package) or "mp" (socket.io-mp-client, Engine.IO 3, over the same shim). The driver reads one
// JSON command per line on stdin and writes one JSON line per thing that happens on stdout:
//
//   {"op":"connect","token":"…"}        -> {"type":"connect"} | {"type":"refused","data":{code,message}}
//   {"op":"emit","id":1,"event":"subscribe","arg":"orders"} -> {"type":"ack","id":1,"data":{ok,…}}
//   {"op":"close"}                      -> {"type":"closed"} and the driver exits
//
// and, unasked, {"type":"event","event":"…","args":[…]} for every server event and
// {"type":"disconnect","reason":"…"} when the connection ends.
'use strict';

const readline = require('readline');

const [kind, url] = process.argv.slice(2);

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

require('./wxshim');

let sock = null;

function connect(token) {
  const common = { transports: ['websocket'], reconnection: false, forceNew: true };
  if (kind === 'v4') {
    const { io } = require('socket.io-client');
    sock = io(url, { ...common, auth: { token } });
  } else if (kind === 'weapp') {
    const io = require('weapp.socket.io');
    sock = io(url, { ...common, auth: { token } });
  } else if (kind === 'mp') {
    const io = require('socket.io-mp-client');
    sock = io(url, { ...common, query: { token } });
  } else {
    out({ type: 'fatal', message: 'unknown client ' + kind });
    process.exit(2);
  }
  sock.on('connect', () => out({ type: 'connect' }));
  // socket.io v4 clients: a refusal by the server's middleware.
  sock.on('connect_error', (err) => out({ type: 'refused', data: (err && err.data) || { message: String(err && err.message) } }));
  // Engine.IO 3 clients: the same refusal arrives as an error event carrying the data.
  sock.on('error', (data) => out({ type: 'refused', data }));
  sock.on('disconnect', (reason) => out({ type: 'disconnect', reason: String(reason) }));
  const onEvent = (event, ...args) => out({ type: 'event', event, args });
  if (typeof sock.onAny === 'function') {
    sock.onAny(onEvent);
  } else {
    // The v2 client behind socket.io-mp-client has no onAny: wrap its event dispatch.
    const orig = sock.onevent.bind(sock);
    sock.onevent = (packet) => {
      const args = packet.data || [];
      if (packet.id == null) onEvent(...args);
      orig(packet);
    };
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    out({ type: 'fatal', message: 'bad command ' + line });
    return;
  }
  switch (cmd.op) {
    case 'connect':
      connect(cmd.token);
      break;
    case 'emit':
      if (cmd.noack) {
        sock.emit(cmd.event, cmd.arg);
      } else {
        sock.emit(cmd.event, cmd.arg, (data) => out({ type: 'ack', id: cmd.id, data }));
      }
      break;
    case 'close':
      if (sock) sock.close();
      out({ type: 'closed' });
      setTimeout(() => process.exit(0), 50);
      break;
    default:
      out({ type: 'fatal', message: 'unknown op ' + cmd.op });
  }
});
rl.on('close', () => process.exit(0));
