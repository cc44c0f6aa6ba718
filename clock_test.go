package wxopen_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxtest"
)

// With wxopen.WithClock(emu.Now) as the only clock setting, the emulator's Advance behaves as real
// time would: hours later every token is refreshed exactly once, ahead of WeChat refusing it, and the
// push handlers (no Now in their configs) accept pushes stamped with the emulator's time.
func TestOneClockOptionRefreshesEachTokenOnceAfterHours(t *testing.T) {
	ctx := context.Background()
	emu := wxtest.NewTestServer(t, wxtest.WithManualClock())
	app := emu.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token,
		EncodingAESKey: app.EncodingAESKey}, wxopen.WithBaseURL(emu.URL), wxopen.WithClock(emu.Now),
		wxopen.WithHook(func(_ context.Context, ci wxopen.CallInfo) {
			assert.Zero(t, ci.ErrCode, "WeChat refused %s for %s: a token was used past its expiry", ci.Path, ci.AppID)
		}))
	require.NoError(t, err)
	var audits int
	auth, err := p.Handler(component.HandlerConfig{})
	require.NoError(t, err)
	msg, err := p.MessageHandler(component.MessageHandlerConfig{
		OnAuditSuccess: func(context.Context, *component.AuditSuccessEvent) error { audits++; return nil }})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/auth", auth)
	mux.Handle("/msg/{appid}", msg)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	emu.SetEventURLs(srv.URL+"/auth", srv.URL+"/msg/$APPID$")

	const official = "wx2222333344445555"
	_, err = emu.PushVerifyTicket(ctx)
	require.NoError(t, err)
	emu.AddAuthorizer(wxtest.Authorizer{AppID: merchantApp, MiniProgram: true, UserName: "gh_111122223333"})
	emu.AddAuthorizer(wxtest.Authorizer{AppID: official})
	for _, id := range []string{merchantApp, official} {
		_, err = emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: id})
		require.NoError(t, err)
	}
	// One round of work: platform calls, calls on both merchants' behalf, the card api_ticket, each
	// from 10 goroutines at once.
	work := func() {
		concurrently(10, func() {
			_, err := p.Component().AuthorizerInfo(ctx, merchantApp)
			assert.NoError(t, err)
			_, err = p.MiniProgram(merchantApp).Categories(ctx)
			assert.NoError(t, err)
			_, err = p.Card(official).APITicket(ctx)
			assert.NoError(t, err)
		})
	}
	work()
	type counts struct{ comp, authz, ticket, categories int }
	count := func() counts {
		return counts{emu.Calls(pathComponentToken), emu.Calls(pathAuthorizerToken), emu.Calls("/cgi-bin/ticket/getticket"),
			emu.Calls("/wxa/get_category")}
	}
	before := count()
	assert.Equal(t, counts{1, 0, 1, 10}, before, "the access tokens came with the authorisations")

	for round := 1; round <= 3; round++ {
		emu.Advance(3 * time.Hour)
		// WeChat's ticket push and an audit result, stamped with the emulator's time, are accepted.
		_, err = emu.PushVerifyTicket(ctx)
		require.NoError(t, err)
		require.NoError(t, emu.PushAuthorizerEvent(ctx, merchantApp, []byte("<xml><ToUserName>gh_111122223333</ToUserName>"+
			"<CreateTime>"+strconv.Itoa(round)+"</CreateTime><MsgType>event</MsgType><Event>weapp_audit_success</Event>"+
			"<SuccTime>1</SuccTime></xml>")))
		work()
		after := count()
		assert.Equal(t, counts{before.comp + 1, before.authz + 2, before.ticket + 1, before.categories + 10}, after,
			"round %d: one refresh per token (component, two authorizers, card ticket), no call refused and re-sent", round)
		before = after
	}
	assert.Equal(t, 3, audits)

	// A cardExt is signed at the emulator's time too.
	ext, err := p.Card(official).CardExt(ctx, card.CardExtRequest{CardID: "pCARD"})
	require.NoError(t, err)
	var signed struct {
		Timestamp string `json:"timestamp"`
	}
	require.NoError(t, json.Unmarshal([]byte(ext.Ext), &signed))
	assert.Equal(t, strconv.FormatInt(emu.Now().Unix(), 10), signed.Timestamp)
}
