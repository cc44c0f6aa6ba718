package wxopen_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxtest"
)

// ExampleWithHook observes every attempt of every call: here with slog, the same way one would feed
// Prometheus counters or OpenTelemetry spans, without wxopen depending on them. The first attempt
// meets WeChat's "system busy" (-1) and the read is retried.
func ExampleWithHook() {
	emu := wxtest.NewServer()
	defer emu.Close()
	app := emu.Component()

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // keep the example's output stable
			}
			return a
		},
	}))
	hook := func(ctx context.Context, c wxopen.CallInfo) {
		logger.LogAttrs(ctx, slog.LevelInfo, "wechat call", slog.String("method", c.Method), slog.String("path", c.Path),
			slog.Int("attempt", c.Attempt), slog.Int("errcode", int(c.ErrCode)), slog.Bool("ok", c.Err == nil))
	}
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token, EncodingAESKey: app.EncodingAESKey},
		wxopen.WithBaseURL(emu.URL), wxopen.WithHook(hook))
	if err != nil {
		panic(err)
	}
	h, err := p.Handler(component.HandlerConfig{})
	if err != nil {
		panic(err)
	}
	events := httptest.NewServer(h)
	defer events.Close()
	emu.SetEventURLs(events.URL, events.URL+"/msg/$APPID$")

	ctx := context.Background()
	if _, err := emu.PushVerifyTicket(ctx); err != nil {
		panic(err)
	}
	emu.InjectFault("/cgi-bin/component/api_component_token", wxtest.Fault{ErrCode: -1})
	if _, err := p.Component().ComponentToken(ctx); err != nil {
		panic(err)
	}
	// Output:
	// level=INFO msg="wechat call" method=POST path=/cgi-bin/component/api_component_token attempt=1 errcode=-1 ok=false
	// level=INFO msg="wechat call" method=POST path=/cgi-bin/component/api_component_token attempt=2 errcode=0 ok=true
}
