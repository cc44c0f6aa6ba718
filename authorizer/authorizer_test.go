package authorizer_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

func newClient(t *testing.T) (*authorizer.Client, *httpmock.MockTransport, *tokenstore.Manager) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	caller, err := authorizer.NewCaller(authorizer.CallerConfig{HTTPClient: &http.Client{Transport: mt}})
	require.NoError(t, err)
	n := 0
	m := mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), func(ctx context.Context, key string) (tokenstore.Token, error) {
		n++
		return tokenstore.Token{Value: key + "-" + string(rune('0'+n)), ExpiresAt: time.Now().Add(time.Hour)}, nil
	}))
	c := authorizer.New("wxAUTH", caller, m.Source("authorizer"), authorizer.Component{AppID: "wxCOMP", Token: m.Source("component")})
	return c, mt, m
}

func TestDoSendsAuthorizerToken(t *testing.T) {
	c, mt, _ := newClient(t)
	mt.RegisterResponder("POST", "https://api.weixin.qq.com/cgi-bin/anything", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, url.Values{"access_token": {"authorizer-1"}, "a": {"b"}}, r.URL.Query())
		b, _ := io.ReadAll(r.Body)
		assert.JSONEq(t, `{"k":"v"}`, string(b))
		return httpmock.NewStringResponse(200, `{"errcode":0,"errmsg":"ok","value":7}`), nil
	})
	var out struct{ Value int }
	require.NoError(t, c.Do(context.Background(), authorizer.Request{Method: "POST", Path: "/cgi-bin/anything",
		Query: url.Values{"a": {"b"}}, Body: map[string]string{"k": "v"}}, &out))
	assert.Equal(t, 7, out.Value)
	assert.Equal(t, "wxAUTH", c.AppID())
	assert.Equal(t, "wxCOMP", c.Component().AppID)
}

func TestDoRejectsBadMethodBeforeSending(t *testing.T) {
	c, mt, _ := newClient(t)
	err := c.Do(context.Background(), authorizer.Request{Method: "DELETE", Path: "/x"}, nil)
	require.True(t, wxerr.IsValidation(err))
	assert.Zero(t, mt.GetTotalCallCount())
}

func TestDoErrcode(t *testing.T) {
	c, mt, _ := newClient(t)
	mt.RegisterResponder("GET", "https://api.weixin.qq.com/x", httpmock.NewStringResponder(200, `{"errcode":48001,"errmsg":"api unauthorized"}`))
	err := c.Do(context.Background(), authorizer.Request{Method: "GET", Path: "/x"}, nil)
	require.Equal(t, wxerr.CodeAPIUnauthorizedForAccount, wxerr.CodeOf(err))
}

func TestCallComponentUsesComponentToken(t *testing.T) {
	c, mt, _ := newClient(t)
	mt.RegisterResponder("GET", "https://api.weixin.qq.com/sns/component/jscode2session", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, "component-1", r.URL.Query().Get("component_access_token"))
		assert.Empty(t, r.URL.Query().Get("access_token"))
		return httpmock.NewStringResponse(200, `{"openid":"o1"}`), nil
	})
	var out struct{ OpenID string }
	require.NoError(t, c.CallComponent(context.Background(), &authorizer.RawRequest{Method: "GET", Path: "/sns/component/jscode2session"}, "component_access_token", &out))
	assert.Equal(t, "o1", out.OpenID)

	bare := authorizer.New("wx", nil, nil, authorizer.Component{})
	require.True(t, wxerr.IsValidation(bare.CallComponent(context.Background(), &authorizer.RawRequest{Method: "GET", Path: "/x"}, "component_access_token", nil)))
}

func TestCallBytes(t *testing.T) {
	c, mt, _ := newClient(t)
	mt.RegisterResponder("GET", "https://api.weixin.qq.com/wxa/get_qrcode", func(r *http.Request) (*http.Response, error) {
		resp := httpmock.NewBytesResponse(200, []byte{1, 2, 3})
		resp.Header.Set("Content-Type", "image/jpeg")
		return resp, nil
	})
	b, ct, err := c.CallBytes(context.Background(), &authorizer.RawRequest{Method: "GET", Path: "/wxa/get_qrcode"})
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2, 3}, b)
	assert.Equal(t, "image/jpeg", ct)
}

func TestKey(t *testing.T) {
	c, _, _ := newClient(t)
	assert.Equal(t, "wxCOMP:authorizer:wxAUTH:wx_card_ticket", c.Key("wx_card_ticket"))
	assert.Equal(t, authorizer.Key("wxCOMP", "wxAUTH", "refresh_token"), c.Key("refresh_token"))
}

func TestAppendKeyAndParseKey(t *testing.T) {
	key := authorizer.Key("wxCOMP", "wxAPP", "access_token")
	assert.Equal(t, key, string(authorizer.AppendKey([]byte("x")[:0], "wxCOMP", "wxAPP", "access_token")))
	comp, app, name, ok := authorizer.ParseKey(key)
	assert.True(t, ok)
	assert.Equal(t, []string{"wxCOMP", "wxAPP", "access_token"}, []string{comp, app, name})
	for _, bad := range []string{"", "wxCOMP:component_access_token", ":authorizer:wxAPP:x", "wxCOMP:authorizer:wxAPP", "wxCOMP:authorizer::x", "wxCOMP:authorizer:wxAPP:"} {
		_, _, _, ok := authorizer.ParseKey(bad)
		assert.False(t, ok, bad)
	}
}

func TestDoSendsAFile(t *testing.T) {
	c, mt, _ := newClient(t)
	mt.RegisterResponder("POST", "https://api.weixin.qq.com/cgi-bin/material/add_material", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, url.Values{"access_token": {"authorizer-1"}, "type": {"video"}}, r.URL.Query())
		require.NoError(t, r.ParseMultipartForm(1<<20))
		assert.Equal(t, []string{`{"title":"t"}`}, r.MultipartForm.Value["description"])
		f, h, err := r.FormFile("media")
		require.NoError(t, err)
		defer f.Close()
		assert.Equal(t, "clip.mp4", h.Filename)
		assert.Equal(t, "video/mp4", h.Header.Get("Content-Type"))
		data, _ := io.ReadAll(f)
		assert.Equal(t, []byte("MP4DATA"), data)
		return httpmock.NewStringResponse(200, `{"media_id":"M1"}`), nil
	})
	var out struct {
		MediaID string `json:"media_id"`
	}
	require.NoError(t, c.Do(context.Background(), authorizer.Request{Method: "POST", Path: "/cgi-bin/material/add_material",
		Query: url.Values{"type": {"video"}}, File: &authorizer.File{Field: "media", Name: "clip.mp4", ContentType: "video/mp4",
			Data: []byte("MP4DATA"), Fields: map[string]string{"description": `{"title":"t"}`}}}, &out))
	assert.Equal(t, "M1", out.MediaID)
	assert.Equal(t, 1, mt.GetTotalCallCount(), "a write is sent once")
}

func TestDoFileRefusedBeforeSending(t *testing.T) {
	c, mt, _ := newClient(t)
	file := func() *authorizer.File { return &authorizer.File{Field: "media", Name: "a.png", Data: []byte("x")} }
	for name, r := range map[string]authorizer.Request{
		"GET":      {Method: "GET", Path: "/x", File: file()},
		"body too": {Method: "POST", Path: "/x", File: file(), Body: map[string]string{"a": "b"}},
		"no field": {Method: "POST", Path: "/x", File: &authorizer.File{Name: "a.png"}},
		"no name":  {Method: "POST", Path: "/x", File: &authorizer.File{Field: "media"}},
	} {
		assert.True(t, wxerr.IsValidation(c.Do(context.Background(), r, nil)), name)
	}
	assert.Zero(t, mt.GetTotalCallCount())
}

func TestDoFileTransportFailure(t *testing.T) {
	c, mt, _ := newClient(t)
	mt.RegisterResponder("POST", "https://api.weixin.qq.com/x", httpmock.NewErrorResponder(io.ErrUnexpectedEOF))
	err := c.Do(context.Background(), authorizer.Request{Method: "POST", Path: "/x",
		File: &authorizer.File{Field: "media", Name: "a.png", Data: []byte("x")}}, nil)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.NotContains(t, err.Error(), "authorizer-1")
	assert.Equal(t, 1, mt.GetTotalCallCount())
}
