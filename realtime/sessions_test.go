package realtime_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/session"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxtest"
)

// realSessions is a session.Manager whose users log in through the WeChat emulator: a platform
// authorised by the merchants appA and appB, component jscode2session for each login.
type realSessions struct {
	*session.Manager
	emu *wxtest.Server
}

func newRealSessions(tb testing.TB) *realSessions {
	tb.Helper()
	emu := wxtest.NewServer()
	tb.Cleanup(emu.Close)
	app := emu.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token,
		EncodingAESKey: app.EncodingAESKey}, wxopen.WithBaseURL(emu.URL))
	if err != nil {
		tb.Fatal(err)
	}
	pushes, err := p.Handler(component.HandlerConfig{Now: emu.Now})
	if err != nil {
		tb.Fatal(err)
	}
	events := httptest.NewServer(pushes)
	tb.Cleanup(events.Close)
	emu.SetEventURLs(events.URL, "")
	ctx := context.Background()
	if _, err := emu.PushVerifyTicket(ctx); err != nil {
		tb.Fatal(err)
	}
	for _, shop := range []string{appA, appB} {
		emu.AddAuthorizer(wxtest.Authorizer{AppID: shop, MiniProgram: true})
		if _, err := emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: shop}); err != nil {
			tb.Fatal(err)
		}
	}
	m, err := session.New(tokenstore.NewMemoryStore(), session.PlatformLogin(p), session.WithLogger(quietLogger()))
	if err != nil {
		tb.Fatal(err)
	}
	return &realSessions{Manager: m, emu: emu}
}

// login logs openID of the mini program appID in, as wx.login and the platform's login endpoint do,
// and returns the session token.
func (r *realSessions) login(tb testing.TB, appID, openID string) string {
	tb.Helper()
	s, err := r.Login(context.Background(), appID, r.emu.IssueLoginCode(appID, openID))
	if err != nil {
		tb.Fatal(err)
	}
	return s.Token
}
