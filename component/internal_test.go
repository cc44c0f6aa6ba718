package component

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/wxcall"
)

// offline is a Client whose HTTP transport refuses every request, so nothing can leave the process.
func offline(t testing.TB) *Client {
	caller, err := authorizer.NewCaller(wxcall.Config{HTTPClient: &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("offline")
	})}, Retry: wxcall.RetryPolicy{MaxAttempts: 1}})
	require.NoError(t, err)
	c, err := New(Config{AppID: "wxcomp", AppSecret: "s", Token: "t", EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}, caller, nil, nil)
	require.NoError(t, err)
	return c
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDecodeXML(t *testing.T) {
	var x platformXML
	require.NoError(t, decodeXML([]byte("<?xml version=\"1.0\"?>\n<xml><InfoType>a</InfoType></xml>\n<!-- c -->\n"), &x))
	assert.Equal(t, "a", x.InfoType)
	for _, bad := range []string{
		"", "   ", "<xml><InfoType>a</InfoType></xml><xml/>", "<xml></xml> trailing",
		"<other/>", "<xml><CreateTime>abc</CreateTime></xml>", "<xml>&bogus;</xml>",
		"<!DOCTYPE xml [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><InfoType>&e;</InfoType></xml>",
	} {
		var x platformXML
		assert.Error(t, decodeXML([]byte(bad), &x), "%q", bad)
	}
}

func TestAppIDFromAccessTokenKey(t *testing.T) {
	c := offline(t)
	assert.Equal(t, "wxA", c.appIDFromAccessTokenKey(c.authorizerKey("wxA", "access_token")))
	assert.Equal(t, "", c.appIDFromAccessTokenKey(c.authorizerKey("wxA", "refresh_token")))
	assert.Equal(t, "", c.appIDFromAccessTokenKey("other:authorizer:wxA:access_token"))
}

func TestStatusError(t *testing.T) {
	err := badRequest("no InfoType")
	assert.Equal(t, "no InfoType", err.Error())
	ce := &callbackError{errors.New("x")}
	assert.Equal(t, "callback: x", ce.Error())
	assert.ErrorIs(t, ce, ce.err)
}

// FuzzPlatformDispatch feeds decrypted payloads to the platform handler's dispatch: it must never
// panic and must sort every input into handled, refused (4xx) or failed.
func FuzzPlatformDispatch(f *testing.F) {
	for _, s := range []string{
		"<xml><AppId>wxcomp</AppId><CreateTime>1</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>t</ComponentVerifyTicket></xml>",
		"<xml><InfoType>authorized</InfoType><AuthorizerAppid>wxA</AuthorizerAppid><AuthorizationCode>c</AuthorizationCode></xml>",
		"<xml><InfoType>unauthorized</InfoType><AuthorizerAppid>wxA</AuthorizerAppid></xml>",
		"<xml><InfoType>notify_third_fasteregister</InfoType><status>0</status><auth_code>c</auth_code><info><name>n</name></info></xml>",
		"<xml><InfoType>x</InfoType></xml>", "<xml>", "",
	} {
		f.Add([]byte(s))
	}
	c := offline(f)
	h, err := NewHandler(c, HandlerConfig{ManualQueryAuth: true})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, plain []byte) {
		_ = h.dispatch(context.Background(), plain)
	})
}

// FuzzMessageDispatch is FuzzPlatformDispatch for the message handler.
func FuzzMessageDispatch(f *testing.F) {
	for _, s := range []string{
		"<xml><ToUserName>gh</ToUserName><MsgType>event</MsgType><Event>weapp_audit_fail</Event><ScreenShot>a||b|</ScreenShot></xml>",
		"<xml><MsgType>event</MsgType><Event>weapp_audit_success</Event><SuccTime>-1</SuccTime></xml>",
		"<xml><MsgType>text</MsgType></xml>", "<xml/>",
	} {
		f.Add([]byte(s))
	}
	h, err := NewMessageHandler(offline(f), MessageHandlerConfig{})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, plain []byte) {
		_ = h.dispatch(context.Background(), "wxA", plain)
	})
}

// A replayed push is recognised for as long as its timestamp is accepted: WeChat's clock may lead the
// handler's by up to MaxClockSkew, and MaxClockSkew may be set larger than the default.
func TestReplayRememberedForTheWholeTimestampWindow(t *testing.T) {
	cases := []struct {
		name       string
		skew, lead time.Duration // the window, and how far WeChat's clock is ahead
		later      time.Duration // when the replay comes, after the first delivery
	}{
		{"default window, WeChat's clock ahead", 0, 9 * time.Minute, 16 * time.Minute},
		{"wider window", time.Hour, 0, 45 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := offline(t)
			n := 0
			h, err := NewHandler(c, HandlerConfig{MaxClockSkew: tc.skew, OnOther: func(context.Context, *PlatformEvent) error { n++; return nil }})
			require.NoError(t, err)
			ts := strconv.FormatInt(time.Now().Add(tc.lead).Unix(), 10)
			enc, err := c.crypt.Encrypt([]byte("<xml><AppId>wxcomp</AppId><InfoType>x_event</InfoType></xml>"))
			require.NoError(t, err)
			target := "/?timestamp=" + ts + "&nonce=1&msg_signature=" + c.crypt.Signature(ts, "1", enc)
			body := "<xml><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
			deliver := func() int {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, target, strings.NewReader(body)))
				return w.Code
			}
			require.Equal(t, http.StatusOK, deliver())
			require.Equal(t, 1, n)

			// When tc.later has passed, the push's timestamp is still inside the window (the replay
			// below is accepted), so the memory in the store must still hold it then.
			plain, err := c.crypt.DecryptMessage(c.crypt.Signature(ts, "1", enc), ts, "1", []byte(body))
			require.NoError(t, err)
			mem, err := c.creds.Get(context.Background(), h.rcv.memoryKey("", pushKey(plain)))
			require.NoError(t, err)
			assert.True(t, mem.ExpiresAt.After(time.Now().Add(tc.later)), "remembered until %s", mem.ExpiresAt)
			require.Equal(t, http.StatusOK, deliver())
			assert.Equal(t, 1, n, "a replay inside the timestamp window is not acted on again")
		})
	}
}

// The only per-authorizer structure the component keeps in memory is an unsettled refresh-token
// write: it is released once settled, and when the authorizer is forgotten (revoked).
func TestPendingWritesReleased(t *testing.T) {
	c := offline(t)
	ctx := context.Background()
	count := func() (n int) {
		c.pending.Range(func(any, any) bool { n++; return true })
		return n
	}
	for i := range 1000 {
		c.keepPending("wx"+strconv.Itoa(i), "", "SECRET-RT")
	}
	require.Equal(t, 1000, count())
	require.NoError(t, c.settlePending(ctx, "wx0"))
	rt, err := c.readCred(ctx, c.authorizerKey("wx0", "refresh_token"))
	require.NoError(t, err)
	assert.Equal(t, "SECRET-RT", rt, "settled: written over nothing")
	for i := 1; i < 1000; i++ {
		require.NoError(t, c.ForgetAuthorizer(ctx, "wx"+strconv.Itoa(i)))
	}
	assert.Zero(t, count())
}
