// wxshim.js installs wx.connectSocket, as the mini program runtime offers it, over the ws package, for
// the mini program clients (weapp.socket.io, socket.io-mp-client) under node.
'use strict';

const WebSocket = require('ws');

global.window = global; // weapp.socket.io's bundle looks for a window object
global.wx = {
  connectSocket({ url, header, protocols }) {
    const ws = new WebSocket(url, protocols && protocols.length ? protocols : undefined, { headers: header });
    ws.binaryType = 'arraybuffer';
    return {
      onOpen(cb) { ws.on('open', () => cb({})); },
      onClose(cb) { ws.on('close', (code, reason) => cb({ code, reason: String(reason) })); },
      onError(cb) { ws.on('error', (e) => cb({ errMsg: e.message })); },
      onMessage(cb) { ws.on('message', (data, isBinary) => cb({ data: isBinary ? data : data.toString() })); },
      send({ data, success, fail }) {
        ws.send(data, (err) => (err ? fail && fail({ errMsg: err.message }) : success && success({})));
      },
      close({ code, reason, success } = {}) {
        ws.close(code || 1000, reason);
        if (success) success({});
      },
    };
  },
};

