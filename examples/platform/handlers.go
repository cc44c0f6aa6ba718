package main

import (
	"net/http"
	"time"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/component"
)

// Where the platform receives WeChat's pushes. On open.weixin.qq.com the message URL is configured
// as PUBLIC_URL/wechat/msg/$APPID$: WeChat puts the authorizer's appid in place of $APPID$, and the
// {appid} wildcard hands it to the MessageHandler.
const (
	authEventPath  = "/wechat/auth"
	messagePattern = "/wechat/msg/{appid}"
	messageURLPath = "/wechat/msg/$APPID$"
)

// pushRoutes returns a mux serving the platform's two push handlers: platform events (verify
// tickets, authorisations) at authEventPath, and the events of authorised accounts (audit results)
// under messagePattern. Both modes serve exactly this.
func pushRoutes(p *wxopen.Platform, hc component.HandlerConfig, mc component.MessageHandlerConfig) (*http.ServeMux, error) {
	auth, err := p.Handler(hc)
	if err != nil {
		return nil, err
	}
	msgs, err := p.MessageHandler(mc)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(authEventPath, auth)
	mux.Handle(messagePattern, msgs)
	return mux, nil
}

// newHTTPServer returns a server for h with timeouts: WeChat gives up on a push after about 5
// seconds, and no client should hold a connection forever.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}
