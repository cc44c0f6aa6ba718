package openplatform_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/openplatform"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// tokens hands out "NAME-1", "NAME-2"... and moves on to the next value when the current one is
// invalidated, so tests can see the retry after a token error.
type tokens struct {
	mu   sync.Mutex
	name string
	n    int
}

func (s *tokens) Token(context.Context) (tokenstore.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return tokenstore.Token{Value: s.name + "-" + string(rune('1'+s.n))}, nil
}

func (s *tokens) Invalidate(_ context.Context, stale string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if stale == s.name+"-"+string(rune('1'+s.n)) {
		s.n++
	}
	return nil
}

const base = "https://api.weixin.qq.com"

func setup(t *testing.T) (*openplatform.Client, *httpmock.MockTransport) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	caller, err := authorizer.NewCaller(wxcall.Config{HTTPClient: &http.Client{Transport: mt}})
	require.NoError(t, err)
	a := authorizer.New("wxAUTH", caller, &tokens{name: "auth"}, authorizer.Component{AppID: "wxCOMP", Token: &tokens{name: "comp"}})
	return openplatform.New(a), mt
}

// expect registers a responder for POST path that checks the token and the JSON body and answers reply.
func expect(t *testing.T, mt *httpmock.MockTransport, path, wantBody, reply string) {
	t.Helper()
	mt.RegisterResponder("POST", base+path, func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, url.Values{"access_token": {"auth-1"}}, r.URL.Query())
		b, _ := io.ReadAll(r.Body)
		assert.JSONEq(t, wantBody, string(b))
		assert.Contains(t, r.Header.Get("Content-Type"), "application/json")
		return httpmock.NewStringResponse(200, reply), nil
	})
}

func TestCreate(t *testing.T) {
	c, mt := setup(t)
	expect(t, mt, "/cgi-bin/open/create", `{"appid":"wxAUTH"}`, `{"open_appid":"wxOPEN","errcode":0,"errmsg":"ok"}`)
	id, err := c.Create(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "wxOPEN", id)
	assert.Equal(t, "wxAUTH", c.AppID())
}

func TestCreateErrors(t *testing.T) {
	c, mt := setup(t)
	expect(t, mt, "/cgi-bin/open/create", `{"appid":"wxAUTH"}`, `{"errcode":89000,"errmsg":"account has bound open"}`)
	_, err := c.Create(context.Background())
	var ae *wxerr.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, wxerr.CodeOpenAccountAlreadyBound, ae.Code)
	assert.Equal(t, "POST /cgi-bin/open/create", ae.Op)

	expect(t, mt, "/cgi-bin/open/create", `{"appid":"wxAUTH"}`, `{"errcode":0,"errmsg":"ok"}`)
	_, err = c.Create(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no open_appid")
}

func TestCreateIsNotRetried(t *testing.T) {
	c, mt := setup(t)
	mt.RegisterResponder("POST", base+"/cgi-bin/open/create", httpmock.NewStringResponder(200, `{"errcode":-1,"errmsg":"busy"}`))
	_, err := c.Create(context.Background())
	assert.True(t, errors.Is(err, wxerr.ErrSystemBusy))
	assert.Equal(t, 1, mt.GetTotalCallCount(), "a write is sent once")
}

func TestBindUnbind(t *testing.T) {
	c, mt := setup(t)
	expect(t, mt, "/cgi-bin/open/bind", `{"appid":"wxAUTH","open_appid":"wxOPEN"}`, `{"errcode":0,"errmsg":"ok"}`)
	require.NoError(t, c.Bind(context.Background(), "wxOPEN"))
	expect(t, mt, "/cgi-bin/open/unbind", `{"appid":"wxAUTH","open_appid":"wxOPEN"}`, `{"errcode":0,"errmsg":"ok"}`)
	require.NoError(t, c.Unbind(context.Background(), "wxOPEN"))

	for _, code := range []wxerr.Code{89001, 89003, 89004, 89000} {
		expect(t, mt, "/cgi-bin/open/bind", `{"appid":"wxAUTH","open_appid":"wxOPEN"}`, `{"errcode":`+itoa(int(code))+`,"errmsg":"no"}`)
		assert.Equal(t, code, wxerr.CodeOf(c.Bind(context.Background(), "wxOPEN")))
	}
	expect(t, mt, "/cgi-bin/open/unbind", `{"appid":"wxAUTH","open_appid":"wxOPEN"}`, `{"errcode":89002,"errmsg":"not bound"}`)
	assert.True(t, errors.Is(c.Unbind(context.Background(), "wxOPEN"), wxerr.ErrOpenAccountNotBound))
}

func TestBindValidatesBeforeSending(t *testing.T) {
	c, mt := setup(t)
	err := c.Bind(context.Background(), "")
	var ve *wxerr.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "open_appid", ve.Field)
	require.True(t, wxerr.IsValidation(c.Unbind(context.Background(), "")))
	assert.Zero(t, mt.GetTotalCallCount())
}

func TestGet(t *testing.T) {
	c, mt := setup(t)
	expect(t, mt, "/cgi-bin/open/get", `{"appid":"wxAUTH"}`, `{"errcode":0,"errmsg":"ok","open_appid":"wxOPEN"}`)
	id, bound, err := c.Get(context.Background())
	require.NoError(t, err)
	assert.True(t, bound)
	assert.Equal(t, "wxOPEN", id)
}

func TestGetNotBound(t *testing.T) {
	c, mt := setup(t)
	expect(t, mt, "/cgi-bin/open/get", `{"appid":"wxAUTH"}`, `{"errcode":89002,"errmsg":"open not exists"}`)
	id, bound, err := c.Get(context.Background())
	require.NoError(t, err)
	assert.False(t, bound)
	assert.Empty(t, id)
}

func TestGetOtherErrors(t *testing.T) {
	c, mt := setup(t)
	expect(t, mt, "/cgi-bin/open/get", `{"appid":"wxAUTH"}`, `{"errcode":48001,"errmsg":"api unauthorized"}`)
	_, bound, err := c.Get(context.Background())
	assert.False(t, bound)
	assert.Equal(t, wxerr.CodeAPIUnauthorizedForAccount, wxerr.CodeOf(err))

	expect(t, mt, "/cgi-bin/open/get", `{"appid":"wxAUTH"}`, `{"errcode":0,"errmsg":"ok"}`)
	_, _, err = c.Get(context.Background())
	require.Error(t, err)

	mt.RegisterResponder("POST", base+"/cgi-bin/open/get", httpmock.NewStringResponder(502, `bad gateway`))
	_, _, err = c.Get(context.Background())
	var he *wxerr.HTTPError
	require.ErrorAs(t, err, &he)
}

func TestGetRetriesOnTokenError(t *testing.T) {
	c, mt := setup(t)
	var seen []string
	mt.RegisterResponder("POST", base+"/cgi-bin/open/get", func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.URL.Query().Get("access_token"))
		if len(seen) == 1 {
			return httpmock.NewStringResponse(200, `{"errcode":40001,"errmsg":"invalid credential"}`), nil
		}
		return httpmock.NewStringResponse(200, `{"open_appid":"wxOPEN"}`), nil
	})
	id, bound, err := c.Get(context.Background())
	require.NoError(t, err)
	assert.True(t, bound)
	assert.Equal(t, "wxOPEN", id)
	assert.Equal(t, []string{"auth-1", "auth-2"}, seen)
}

func TestNilAuthorizer(t *testing.T) {
	c := openplatform.New(nil)
	_, err := c.Create(context.Background())
	assert.True(t, wxerr.IsValidation(err))
	_, _, err = c.Get(context.Background())
	assert.True(t, wxerr.IsValidation(err))
	assert.Empty(t, c.AppID())
}

func itoa(n int) string { return strconv.Itoa(n) }

// Bind and Unbind are writes, sent once after WeChat's -1; Get is a read and is retried.
func TestBindUnbindAreNotRetriedGetIs(t *testing.T) {
	for _, tc := range []struct {
		path  string
		write bool
		call  func(c *openplatform.Client) error
	}{
		{"/cgi-bin/open/bind", true, func(c *openplatform.Client) error { return c.Bind(context.Background(), "wxOPEN") }},
		{"/cgi-bin/open/unbind", true, func(c *openplatform.Client) error { return c.Unbind(context.Background(), "wxOPEN") }},
		{"/cgi-bin/open/get", false, func(c *openplatform.Client) error { _, _, err := c.Get(context.Background()); return err }},
	} {
		c, mt := setup(t)
		mt.RegisterResponder("POST", base+tc.path, httpmock.NewStringResponder(200, `{"errcode":-1,"errmsg":"busy"}`))
		assert.True(t, errors.Is(tc.call(c), wxerr.ErrSystemBusy), tc.path)
		if tc.write {
			assert.Equal(t, 1, mt.GetTotalCallCount(), "%s: a write is sent once", tc.path)
		} else {
			assert.Greater(t, mt.GetTotalCallCount(), 1, "%s: a read is retried", tc.path)
		}
	}
}
