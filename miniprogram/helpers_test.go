package miniprogram_test

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxcall"
)

const base = "https://api.weixin.qq.com"

// tokens hands out "NAME-1", "NAME-2"... and moves to the next value when the current one is
// invalidated.
type tokens struct {
	mu   sync.Mutex
	name string
	n    int
}

func (s *tokens) cur() string { return s.name + "-" + strconv.Itoa(s.n+1) }

func (s *tokens) Token(context.Context) (tokenstore.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return tokenstore.Token{Value: s.cur()}, nil
}

func (s *tokens) Invalidate(_ context.Context, stale string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if stale == s.cur() {
		s.n++
	}
	return nil
}

type env struct {
	c      *miniprogram.Client
	mt     *httpmock.MockTransport
	caller *authorizer.Caller
	comp   authorizer.Component
}

func setupApp(t testing.TB, appID string) *env {
	t.Helper()
	mt := httpmock.NewMockTransport()
	caller, err := authorizer.NewCaller(wxcall.Config{HTTPClient: &http.Client{Transport: mt}})
	require.NoError(t, err)
	comp := authorizer.Component{AppID: "wxCOMP", Token: &tokens{name: "comp"}}
	a := authorizer.New(appID, caller, &tokens{name: "auth"}, comp)
	return &env{c: miniprogram.New(a), mt: mt, caller: caller, comp: comp}
}

func setup(t testing.TB) *env { return setupApp(t, "wxAPP") }

// call describes the request a test expects and the answer it gets.
type call struct {
	method string
	path   string
	query  url.Values // besides the token; nil means none
	token  string     // query name of the token; default access_token
	value  string     // expected token value; default auth-1
	body   string     // expected JSON body; "" means no body
	reply  string
	ctype  string // reply content type; default application/json
}

// expect registers c's responder, which checks every part of the request.
func (e *env) expect(t testing.TB, c call) {
	t.Helper()
	e.mt.RegisterResponder(c.method, base+c.path, func(r *http.Request) (*http.Response, error) {
		param, val := c.token, c.value
		if param == "" {
			param = "access_token"
		}
		if val == "" {
			val = "auth-1"
		}
		want := url.Values{param: {val}}
		for k, v := range c.query {
			want[k] = v
		}
		assert.Equal(t, want, r.URL.Query(), "query of %s %s", c.method, c.path)
		var b []byte
		if r.Body != nil {
			b, _ = io.ReadAll(r.Body)
		}
		if c.body == "" {
			assert.Empty(t, b, "body of %s %s", c.method, c.path)
		} else {
			assert.JSONEq(t, c.body, string(b), "body of %s %s", c.method, c.path)
			assert.Contains(t, r.Header.Get("Content-Type"), "application/json")
		}
		resp := httpmock.NewStringResponse(200, c.reply)
		ct := c.ctype
		if ct == "" {
			ct = "application/json; charset=utf-8"
		}
		resp.Header.Set("Content-Type", ct)
		return resp, nil
	})
}

// calls returns how many requests were sent to method path.
func (e *env) calls(method, path string) int {
	return e.mt.GetCallCountInfo()[method+" "+base+path]
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// uploadResponder checks a media upload: query type=image with the authorizer token, one file in the
// form field "media" with the given file name, content type and size; it answers media id MEDIA.
func uploadResponder(t *testing.T, filename, ctype string, size int) httpmock.Responder {
	return func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, url.Values{"access_token": {"auth-1"}, "type": {"image"}}, r.URL.Query())
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		require.NoError(t, err)
		assert.Equal(t, "multipart/form-data", mt)
		mr := multipart.NewReader(r.Body, params["boundary"])
		part, err := mr.NextPart()
		require.NoError(t, err)
		assert.Equal(t, "media", part.FormName())
		assert.Equal(t, filename, part.FileName())
		assert.Equal(t, ctype, part.Header.Get("Content-Type"))
		data, err := io.ReadAll(part)
		require.NoError(t, err)
		assert.Len(t, data, size)
		_, err = mr.NextPart()
		assert.ErrorIs(t, err, io.EOF)
		return httpmock.NewStringResponse(200, `{"type":"image","media_id":"MEDIA","created_at":1700000000}`), nil
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// formFile reads the one file of a multipart request.
func formFile(r *http.Request) ([]byte, *multipart.FileHeader, error) {
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		return nil, nil, err
	}
	f, h, err := r.FormFile("media")
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return b, h, err
}
