package wxtest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/wxtest"
)

func TestPushVerifyTicketIsSignedAndEncrypted(t *testing.T) {
	start := time.Unix(1710000000, 0)
	e := newEnv(t, wxtest.WithStartTime(start))
	ticket, err := e.s.PushVerifyTicket(context.Background())
	require.NoError(t, err)
	ev := e.rx.last()
	assert.Equal(t, "/auth", ev.Path)
	assert.Equal(t, "1710000000", ev.Query.Get("timestamp"))
	assert.Regexp(t, `^[0-9]+$`, ev.Query.Get("nonce"))
	assert.Equal(t, e.app.AppID, ev.Envelope.AppID)
	assert.Equal(t, map[string]string{
		"AppId": e.app.AppID, "CreateTime": "1710000000", "InfoType": "component_verify_ticket",
		"ComponentVerifyTicket": ticket,
	}, ev.Fields)
	assert.Contains(t, ev.Raw, "<ComponentVerifyTicket><![CDATA["+ticket+"]]></ComponentVerifyTicket>")
	assert.Contains(t, ev.Raw, "<CreateTime>1710000000</CreateTime>")

	// A receiver with the wrong key cannot read it (the push really is encrypted).
	other, err := crypto.NewMsgCrypt(e.app.Token, strings.Repeat("a", 43), e.app.AppID)
	require.NoError(t, err)
	_, err = other.Decrypt(ev.Envelope.Encrypt)
	require.Error(t, err)
}

func TestPushAuthorizerEvent(t *testing.T) {
	e := newEnv(t)
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: miniApp, UserName: "gh_0123456789ab", MiniProgram: true})
	msg := []byte("<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><MsgType><![CDATA[event]]></MsgType>" +
		"<Event><![CDATA[weapp_audit_success]]></Event><SuccTime>1700000000</SuccTime></xml>")
	require.NoError(t, e.s.PushAuthorizerEvent(context.Background(), miniApp, msg))
	ev := e.rx.last()
	assert.Equal(t, "/msg/"+miniApp+"/cb", ev.Path, "$APPID$ is replaced")
	assert.Equal(t, "gh_0123456789ab", ev.Envelope.ToUserName)
	assert.Empty(t, ev.Envelope.AppID)
	assert.Equal(t, string(msg), ev.Raw)
	assert.Equal(t, "weapp_audit_success", ev.Fields["Event"])

	tb := &recordTB{TB: t}
	s := wxtest.NewTestServer(tb)
	require.Error(t, s.PushAuthorizerEvent(context.Background(), miniApp, msg), "unknown authorizer")
	s.AddAuthorizer(wxtest.Authorizer{AppID: miniApp})
	err := s.PushAuthorizerEvent(context.Background(), miniApp, msg)
	require.ErrorContains(t, err, "MessageEventURL")
	assert.Len(t, tb.errors(), 2)
}

func TestPushFailsUnlessHandlerAnswersSuccess(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
	}{
		{"other text", http.StatusOK, "ok"},
		{"empty", http.StatusOK, ""},
		{"success with newline", http.StatusOK, "success\n"},
		{"server error", http.StatusInternalServerError, "success"},
		{"forbidden", http.StatusForbidden, "bad signature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tb := &recordTB{TB: t}
			s := wxtest.NewTestServer(tb, wxtest.WithManualClock())
			rx := newReceiver(t, s.Component())
			rx.setAnswer(func(event) (int, string) { return tc.status, tc.body })
			s.SetEventURLs(rx.srv.URL, rx.srv.URL)
			ctx := context.Background()

			_, err := s.PushVerifyTicket(ctx)
			require.Error(t, err)
			assert.Contains(t, err.Error(), strconv.Itoa(tc.status))
			_, err = s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: miniApp})
			require.Error(t, err)
			_, err = s.UpdateAuthorization(ctx, miniApp)
			require.Error(t, err)
			require.Error(t, s.Unauthorize(ctx, miniApp))
			require.Error(t, s.PushAuthorizerEvent(ctx, miniApp, []byte("<xml/>")))
			assert.Len(t, rx.all(), 5, "every push was delivered")
			assert.Len(t, tb.errors(), 5, "every failure is reported on the test")
			for _, msg := range tb.errors() {
				assert.Contains(t, msg, "want HTTP 200 \"success\"")
			}
		})
	}
}

func TestPushWithoutReceiver(t *testing.T) {
	ctx := context.Background()
	// NewServer (no test) returns the failure only.
	s := wxtest.NewServer()
	defer s.Close()
	_, err := s.PushVerifyTicket(ctx)
	require.ErrorContains(t, err, "AuthEventURL")

	// A receiver that is gone: a transport error.
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	s.SetEventURLs(url, url)
	_, err = s.PushVerifyTicket(ctx)
	require.Error(t, err)

	// A cancelled context stops the push.
	rx := newReceiver(t, s.Component())
	s.SetEventURLs(rx.srv.URL, "")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.PushVerifyTicket(cctx)
	require.ErrorIs(t, err, context.Canceled)

	// A bad key given with WithComponent makes pushes fail, not the constructor.
	bad := wxtest.NewServer(wxtest.WithComponent(wxtest.ComponentApp{EncodingAESKey: "short", AuthEventURL: rx.srv.URL}))
	defer bad.Close()
	_, err = bad.PushVerifyTicket(ctx)
	require.ErrorContains(t, err, "EncodingAESKey")
}

func TestWithComponentAndSecretsNotPrinted(t *testing.T) {
	app := wxtest.ComponentApp{
		AppID: "wxabcdefabcdefabcd", AppSecret: "the-secret", Token: "the-token",
		EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", AuthEventURL: "http://127.0.0.1:1/a",
	}
	s := wxtest.NewTestServer(t, wxtest.WithComponent(app))
	assert.Equal(t, app, s.Component())
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(f, s.Component())
		assert.Contains(t, out, app.AppID)
		for _, secret := range []string{app.AppSecret, app.Token, app.EncodingAESKey} {
			assert.NotContains(t, out, secret, f)
		}
	}

	// Defaults: generated credentials.
	d := wxtest.NewTestServer(t).Component()
	assert.Regexp(t, `^wx[0-9a-f]{16}$`, d.AppID)
	assert.NotEmpty(t, d.AppSecret)
	assert.NotEmpty(t, d.Token)
	assert.Regexp(t, `^[A-Za-z0-9]{43}$`, d.EncodingAESKey)
	_, err := crypto.NewMsgCrypt(d.Token, d.EncodingAESKey, d.AppID)
	require.NoError(t, err)
	assert.NotEqual(t, d.AppID, wxtest.NewTestServer(t).Component().AppID)
}

func TestClock(t *testing.T) {
	start := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	s := wxtest.NewTestServer(t, wxtest.WithStartTime(start), wxtest.WithManualClock())
	assert.True(t, s.Now().Equal(start))
	s.Advance(90 * time.Minute)
	s.Advance(-time.Hour) // ignored
	assert.True(t, s.Now().Equal(start.Add(90*time.Minute)))

	running := wxtest.NewTestServer(t, wxtest.WithStartTime(start))
	time.Sleep(10 * time.Millisecond)
	assert.True(t, running.Now().After(start.Add(5*time.Millisecond)), "the default clock follows real time")
	running.Advance(time.Hour)
	assert.True(t, running.Now().After(start.Add(time.Hour)))

	def := wxtest.NewTestServer(t)
	assert.WithinDuration(t, time.Now(), def.Now(), time.Minute)
}
