// helper.js runs the mini program helper (examples/miniprogram/utils/realtime.js) with two pages, for
// the Go test TestMiniProgramHelper.
//
//   node helper.js <client> <url> <token> [<token after a new login>]
//
// client is "weapp" (weapp.socket.io) or "mp" (socket.io-mp-client), both over the wx.connectSocket shim
// of driver.js. Commands on stdin, one JSON per line: {"op":"show","page":"order"|"table"} and
// {"op":"hide","page":…}. Output lines: {"type":"connect"}, {"type":"answer",event,name,ans},
// {"type":"event",page,event,data}.
'use strict';

const [kind, url, token, nextToken] = process.argv.slice(2);
require('./wxshim');
const rt = require('../../examples/miniprogram/utils/realtime');

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const socket = rt.init({
  io: kind === 'mp' ? require('socket.io-mp-client') : require('weapp.socket.io'),
  protocol: kind === 'mp' ? 3 : 4,
  url,
  getToken: ({ refresh }) => {
    if (!refresh) return Promise.resolve(token);
    out({ type: 'login' }); // the app logs in again (wx.login, the platform's /login)
    return Promise.resolve(nextToken);
  },
  onAnswer: (event, name, ans) => out({ type: 'answer', event, name, ans }),
});
socket.on('connect', () => out({ type: 'connect' }));
rt.onUser((event, data) => out({ type: 'event', page: 'user', event, data }));

// Two pages as the mini program defines them, each holding what it shows while it is shown.
function definePage(name, hold) {
  const def = rt.page({
    data: { name },
    realtime() {
      return [hold((event, data) => out({ type: 'event', page: name, event, data }))];
    },
  });
  return def;
}
const pages = {
  order: definePage('order', (fn) => rt.subscribe('order:42', fn)),
  table: definePage('table', (fn) => rt.join('table:5', fn)),
};

require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  const p = pages[cmd.page];
  if (cmd.op === 'show') p.onShow();
  if (cmd.op === 'hide') p.onHide();
}).on('close', () => process.exit(0));
