package component

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/internal/wxhttp"
)

// offline is a Client whose HTTP transport refuses every request, so nothing can leave the process.
func offline(t testing.TB) *Client {
	caller, err := wxhttp.New(wxhttp.Config{HTTPClient: &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("offline")
	})}, Retry: wxhttp.RetryPolicy{MaxAttempts: 1}})
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

func TestRecentExpiresAndIsBounded(t *testing.T) {
	r := newRecent()
	r.add("a", nil, true)
	assert.True(t, r.seen("a"))
	assert.False(t, r.seen("b"))

	// An entry older than recentTTL is forgotten.
	r.mu.Lock()
	r.m["a"] = recentEntry{at: time.Now().Add(-recentTTL - time.Second)}
	r.mu.Unlock()
	assert.False(t, r.seen("a"))

	// Full of fresh entries: the map is reset rather than growing.
	for i := range recentMax {
		r.add(strconv.Itoa(i), nil, true)
	}
	r.add("new", nil, true)
	assert.True(t, r.seen("new"))
	assert.LessOrEqual(t, len(r.m), recentMax)
	assert.False(t, r.seen("0"))

	// Full with expired entries: only those are swept.
	r = newRecent()
	for i := range recentMax {
		r.m[strconv.Itoa(i)] = recentEntry{at: time.Now().Add(-recentTTL - time.Second)}
	}
	r.m["keep"] = recentEntry{at: time.Now()}
	r.add("new", nil, true)
	assert.True(t, r.seen("keep"))
	assert.Len(t, r.m, 2)
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
