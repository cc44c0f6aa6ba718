// app.js: the mini program opens its one realtime connection at launch. The session token comes from
// the platform's login endpoint (the session package's handlers, mounted by the example server at
// /session/: POST /session/login/{code} with the wx.login code; WeChat's Referer names the mini program),
// kept in storage.
const rt = require('./utils/realtime');

const SERVER = 'https://rt.example.com'; // the example server (realtime/examples/server)

function login() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: ({ code }) =>
        wx.request({
          url: SERVER + '/session/login/' + encodeURIComponent(code),
          method: 'POST',
          success: ({ data }) => (data && data.token ? resolve(data.token) : reject(data)),
          fail: reject,
        }),
      fail: reject,
    });
  });
}

function getToken({ refresh }) {
  const stored = wx.getStorageSync('session_token');
  if (stored && !refresh) return Promise.resolve(stored);
  return login().then((token) => {
    wx.setStorageSync('session_token', token);
    return token;
  });
}

App({
  onLaunch() {
    // weapp.socket.io speaks socket.io v4; with socket.io-mp-client pass protocol: 3.
    rt.init({ io: require('weapp.socket.io'), url: SERVER, getToken });
  },
});
