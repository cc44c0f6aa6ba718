package wxhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/internal/wxhttp"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

const base = "https://api.weixin.qq.com"

func setup(t *testing.T, cfg wxhttp.Config) (*wxhttp.Client, *httpmock.MockTransport) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	cfg.HTTPClient = &http.Client{Transport: mt}
	if cfg.Retry.BaseDelay == 0 {
		cfg.Retry.BaseDelay = time.Millisecond
	}
	c, err := wxhttp.New(cfg)
	require.NoError(t, err)
	return c, mt
}

// fakeTokens hands out SECRET-TOKEN-1, -2, … and records invalidations.
type fakeTokens struct {
	mu          sync.Mutex
	n           int
	cur         string
	invalidated []string
}

func (f *fakeTokens) Token(context.Context) (tokenstore.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur == "" {
		f.n++
		f.cur = "SECRET-TOKEN-" + string(rune('0'+f.n))
	}
	return tokenstore.Token{Value: f.cur, ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func (f *fakeTokens) Invalidate(_ context.Context, stale string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invalidated = append(f.invalidated, stale)
	if f.cur == stale {
		f.cur = ""
	}
	return nil
}

func TestDoRequestShape(t *testing.T) {
	c, mt := setup(t, wxhttp.Config{})
	var got *http.Request
	var gotBody []byte
	mt.RegisterResponder("POST", base+"/cgi-bin/component/api_query_auth", func(r *http.Request) (*http.Response, error) {
		got = r
		gotBody, _ = io.ReadAll(r.Body)
		return httpmock.NewStringResponse(200, `{"authorization_info":{"authorizer_appid":"wxA"}}`), nil
	})
	tokens := &fakeTokens{}
	var out struct {
		Info struct {
			AppID string `json:"authorizer_appid"`
		} `json:"authorization_info"`
	}
	err := c.Do(context.Background(), &wxhttp.Request{
		Method: "POST", Path: "/cgi-bin/component/api_query_auth",
		Query: url.Values{"x": {"1"}},
		Body:  map[string]string{"component_appid": "wxC", "name": "小程序<&>"},
		Token: tokens, TokenParam: "component_access_token",
	}, &out)
	require.NoError(t, err)
	assert.Equal(t, "wxA", out.Info.AppID)
	require.NotNil(t, got)
	assert.Equal(t, "POST", got.Method)
	assert.Equal(t, "/cgi-bin/component/api_query_auth", got.URL.Path)
	assert.Equal(t, url.Values{"x": {"1"}, "component_access_token": {"SECRET-TOKEN-1"}}, got.URL.Query())
	assert.Equal(t, "wxopen", got.Header.Get("User-Agent"))
	assert.Contains(t, got.Header.Get("Content-Type"), "application/json")
	assert.JSONEq(t, `{"component_appid":"wxC","name":"小程序<&>"}`, string(gotBody))
	assert.Contains(t, string(gotBody), "小程序<&>", "non-ASCII and HTML characters are sent raw, not \\u-escaped")
}

func TestDoGetWithoutBodyOrToken(t *testing.T) {
	c, mt := setup(t, wxhttp.Config{})
	mt.RegisterResponder("GET", base+"/wxa/get_page", func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			b, _ := io.ReadAll(r.Body)
			assert.Empty(t, b)
		}
		assert.Empty(t, r.URL.RawQuery)
		return httpmock.NewStringResponse(200, `{"errcode":0,"errmsg":"ok","page_list":["a"]}`), nil
	})
	var out struct {
		Pages []string `json:"page_list"`
	}
	require.NoError(t, c.Do(context.Background(), &wxhttp.Request{Method: "GET", Path: "/wxa/get_page"}, &out))
	assert.Equal(t, []string{"a"}, out.Pages)
}

func TestErrcodeBecomesAPIError(t *testing.T) {
	c, mt := setup(t, wxhttp.Config{})
	mt.RegisterResponder("POST", base+"/wxa/submit_audit",
		httpmock.NewStringResponder(200, `{"errcode":85009,"errmsg":"already submitted rid: 1"}`))
	tokens := &fakeTokens{}
	var out struct{ AuditID int64 }
	err := c.Do(context.Background(), &wxhttp.Request{Method: "POST", Path: "/wxa/submit_audit", Body: struct{}{}, Token: tokens}, &out)
	var ae *wxerr.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, wxerr.CodeAuditPending, ae.Code)
	assert.Equal(t, "already submitted", ae.Msg)
	assert.Equal(t, "1", ae.RequestID)
	assert.Equal(t, "POST /wxa/submit_audit", ae.Op)
	assert.NotContains(t, err.Error(), "SECRET-TOKEN")
	assert.Equal(t, 1, mt.GetTotalCallCount(), "an API error of a write is not retried")
}

func TestTokenErrorRetriedOnceWithFreshToken(t *testing.T) {
	for _, code := range []int{40001, 40014, 42001} {
		t.Run(string(rune('0'+code%10)), func(t *testing.T) {
			c, mt := setup(t, wxhttp.Config{})
			var sent []string
			mt.RegisterResponder("POST", base+"/cgi-bin/x", func(r *http.Request) (*http.Response, error) {
				tok := r.URL.Query().Get("access_token")
				sent = append(sent, tok)
				if tok == "SECRET-TOKEN-1" {
					return httpmock.NewJsonResponse(200, map[string]any{"errcode": code, "errmsg": "invalid"})
				}
				return httpmock.NewStringResponse(200, `{"errcode":0,"errmsg":"ok"}`), nil
			})
			tokens := &fakeTokens{}
			require.NoError(t, c.Do(context.Background(), &wxhttp.Request{Method: "POST", Path: "/cgi-bin/x", Body: struct{}{}, Token: tokens}, nil))
			assert.Equal(t, []string{"SECRET-TOKEN-1", "SECRET-TOKEN-2"}, sent)
			assert.Equal(t, []string{"SECRET-TOKEN-1"}, tokens.invalidated, "exactly the token that was sent is invalidated")
		})
	}
}

func TestSecondTokenErrorIsReturned(t *testing.T) {
	c, mt := setup(t, wxhttp.Config{})
	mt.RegisterResponder("POST", base+"/cgi-bin/x", httpmock.NewStringResponder(200, `{"errcode":40001,"errmsg":"invalid credential"}`))
	tokens := &fakeTokens{}
	err := c.Do(context.Background(), &wxhttp.Request{Method: "POST", Path: "/cgi-bin/x", Body: struct{}{}, Token: tokens, Idempotent: true}, nil)
	require.ErrorIs(t, err, wxerr.ErrInvalidCredential)
	assert.True(t, wxerr.IsTokenInvalid(err))
	assert.Equal(t, 2, mt.GetTotalCallCount(), "a token error is retried exactly once")
	assert.Equal(t, []string{"SECRET-TOKEN-1"}, tokens.invalidated[:1])
}

func TestTokenErrorWithoutTokenNotRetried(t *testing.T) {
	c, mt := setup(t, wxhttp.Config{})
	mt.RegisterResponder("POST", base+"/cgi-bin/component/api_component_token", httpmock.NewStringResponder(200, `{"errcode":40001,"errmsg":"invalid credential"}`))
	err := c.Do(context.Background(), &wxhttp.Request{Method: "POST", Path: "/cgi-bin/component/api_component_token", Body: struct{}{}, Idempotent: true}, nil)
	require.ErrorIs(t, err, wxerr.ErrInvalidCredential)
	assert.Equal(t, 1, mt.GetTotalCallCount())
}

func TestTokenSourceErrorStopsBeforeRequest(t *testing.T) {
	c, mt := setup(t, wxhttp.Config{})
	err := c.Do(context.Background(), &wxhttp.Request{Method: "GET", Path: "/x", Token: failingTokens{}}, nil)
	require.ErrorIs(t, err, wxerr.ErrNotAuthorized)
	assert.Zero(t, mt.GetTotalCallCount())
}

type failingTokens struct{}

func (failingTokens) Token(context.Context) (tokenstore.Token, error) {
	return tokenstore.Token{}, wxerr.ErrNotAuthorized
}
func (failingTokens) Invalidate(context.Context, string) error { return nil }

func TestRetriesOnlyIdempotent(t *testing.T) {
	cases := []struct {
		name  string
		reply httpmock.Responder
	}{
		{"busy", httpmock.NewStringResponder(200, `{"errcode":-1,"errmsg":"system error"}`)},
		{"502", httpmock.NewStringResponder(502, `bad gateway`)},
		{"network", httpmock.NewErrorResponder(errors.New("connection reset by peer"))},
	}
	for _, tc := range cases {
		t.Run(tc.name+"/idempotent", func(t *testing.T) {
			c, mt := setup(t, wxhttp.Config{})
			var n atomic.Int32
			mt.RegisterResponder("GET", base+"/wxa/get_category", func(r *http.Request) (*http.Response, error) {
				if n.Add(1) < 3 {
					return tc.reply(r)
				}
				return httpmock.NewStringResponse(200, `{"errcode":0,"category_list":[]}`), nil
			})
			require.NoError(t, c.Do(context.Background(), &wxhttp.Request{Method: "GET", Path: "/wxa/get_category", Idempotent: true}, nil))
			assert.Equal(t, int32(3), n.Load())
		})
		t.Run(tc.name+"/write", func(t *testing.T) {
			c, mt := setup(t, wxhttp.Config{})
			mt.RegisterResponder("POST", base+"/wxa/release", tc.reply)
			err := c.Do(context.Background(), &wxhttp.Request{Method: "POST", Path: "/wxa/release", Body: struct{}{}}, nil)
			require.Error(t, err)
			assert.Equal(t, 1, mt.GetTotalCallCount(), "a write is sent once")
		})
	}
}

func TestRetriesAreBounded(t *testing.T) {
	c, mt := setup(t, wxhttp.Config{Retry: wxhttp.RetryPolicy{MaxAttempts: 4}})
	mt.RegisterResponder("GET", base+"/x", httpmock.NewStringResponder(503, ``))
	err := c.Do(context.Background(), &wxhttp.Request{Method: "GET", Path: "/x", Idempotent: true}, nil)
	var he *wxerr.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, 503, he.StatusCode)
	assert.Equal(t, 4, mt.GetTotalCallCount())
}

func TestDialErrorRetriedEvenForWrites(t *testing.T) {
	c, mt := setup(t, wxhttp.Config{})
	var n atomic.Int32
	mt.RegisterResponder("POST", base+"/wxa/release", func(r *http.Request) (*http.Response, error) {
		if n.Add(1) == 1 {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
		}
		return httpmock.NewStringResponse(200, `{"errcode":0}`), nil
	})
	require.NoError(t, c.Do(context.Background(), &wxhttp.Request{Method: "POST", Path: "/wxa/release", Body: struct{}{}}, nil))
	assert.Equal(t, int32(2), n.Load())
}

func TestRequestIDOfWeChatErrmsg(t *testing.T) {
	for _, tc := range []struct{ errmsg, msg, rid string }{
		{"invalid credential, access_token is invalid or not latest, could get access_token by getStableAccessToken, more details at https://mmbizurl.cn/s/JtxxFh33r rid: 6571a4cd-2e5a7b1f-6c3f2d1a",
			"invalid credential, access_token is invalid or not latest, could get access_token by getStableAccessToken, more details at https://mmbizurl.cn/s/JtxxFh33r",
			"6571a4cd-2e5a7b1f-6c3f2d1a"},
		{"invalid appid hint: [Hsd0Ra07491525]", "invalid appid", "Hsd0Ra07491525"},
		{"rid: 65cd0e1f-1a2b3c4d-5e6f7a8b", "", "65cd0e1f-1a2b3c4d-5e6f7a8b"},
		{"no request id here", "no request id here", ""},
		{"grid: 1", "grid: 1", ""},                             // not the word rid
		{"rid: has spaces in it", "rid: has spaces in it", ""}, // not an id
		{"", "", ""},
	} {
		c, mt := setup(t, wxhttp.Config{})
		body, _ := json.Marshal(map[string]any{"errcode": 40001, "errmsg": tc.errmsg})
		mt.RegisterResponder("GET", base+"/x", httpmock.NewBytesResponder(200, body))
		err := c.Do(context.Background(), &wxhttp.Request{Method: "GET", Path: "/x"}, nil)
		var ae *wxerr.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, tc.msg, ae.Msg, tc.errmsg)
		assert.Equal(t, tc.rid, ae.RequestID, tc.errmsg)
		if tc.rid != "" {
			assert.Contains(t, err.Error(), "rid: "+tc.rid, "the message cites the request id")
		}
	}
}

func TestQuotaNotRetried(t *testing.T) {
	c, mt := setup(t, wxhttp.Config{})
	mt.RegisterResponder("GET", base+"/x", httpmock.NewStringResponder(200, `{"errcode":45009,"errmsg":"reach max api daily quota limit"}`))
	err := c.Do(context.Background(), &wxhttp.Request{Method: "GET", Path: "/x", Idempotent: true}, nil)
	require.ErrorIs(t, err, wxerr.ErrDailyQuota)
	assert.True(t, wxerr.IsQuota(err))
	assert.Contains(t, err.Error(), "ClearQuota")
	assert.Equal(t, 1, mt.GetTotalCallCount())
}

func TestTransportErrorRedacted(t *testing.T) {
	var logs bytes.Buffer
	c, mt := setup(t, wxhttp.Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	mt.RegisterResponder("POST", base+"/cgi-bin/x", httpmock.NewErrorResponder(errors.New("boom")))
	err := c.Do(context.Background(), &wxhttp.Request{Method: "POST", Path: "/cgi-bin/x", Body: struct{}{}, Token: &fakeTokens{}, TokenParam: "component_access_token"}, nil)
	require.Error(t, err)
	assert.Equal(t, "wxopen: POST /cgi-bin/x: boom", err.Error(), "the operation is named once, without the URL and its token")
	assert.NotContains(t, err.Error(), "SECRET-TOKEN")
	assert.NotContains(t, logs.String(), "SECRET-TOKEN")
	assert.Contains(t, logs.String(), "path=/cgi-bin/x")
}

func TestHookSeesEveryAttempt(t *testing.T) {
	var infos []wxhttp.CallInfo
	var mu sync.Mutex
	c, mt := setup(t, wxhttp.Config{Hook: func(_ context.Context, i wxhttp.CallInfo) {
		mu.Lock()
		infos = append(infos, i)
		mu.Unlock()
	}})
	var n atomic.Int32
	mt.RegisterResponder("GET", base+"/x", func(r *http.Request) (*http.Response, error) {
		if n.Add(1) == 1 {
			return httpmock.NewStringResponse(200, `{"errcode":-1,"errmsg":"busy"}`), nil
		}
		return httpmock.NewStringResponse(200, `{}`), nil
	})
	require.NoError(t, c.Do(context.Background(), &wxhttp.Request{Method: "GET", Path: "/x", Idempotent: true}, nil))
	require.Len(t, infos, 2)
	assert.Equal(t, 1, infos[0].Attempt)
	assert.Equal(t, wxerr.CodeSystemBusy, infos[0].ErrCode)
	assert.Error(t, infos[0].Err)
	assert.Equal(t, 2, infos[1].Attempt)
	assert.Equal(t, 200, infos[1].HTTPStatus)
	assert.NoError(t, infos[1].Err)
	assert.Equal(t, "/x", infos[1].Path)
}

func TestDoBytes(t *testing.T) {
	c, mt := setup(t, wxhttp.Config{})
	img := []byte("\xff\xd8\xff\xe0fakejpeg")
	mt.RegisterResponder("GET", base+"/wxa/get_qrcode", func(r *http.Request) (*http.Response, error) {
		if r.URL.Query().Get("path") == "bad" {
			return httpmock.NewStringResponse(200, `{"errcode":-1,"errmsg":"system error"}`), nil
		}
		resp := httpmock.NewBytesResponse(200, img)
		resp.Header.Set("Content-Type", "image/jpeg")
		return resp, nil
	})
	got, ctype, err := c.DoBytes(context.Background(), &wxhttp.Request{Method: "GET", Path: "/wxa/get_qrcode", Token: &fakeTokens{}})
	require.NoError(t, err)
	assert.Equal(t, img, got)
	assert.Equal(t, "image/jpeg", ctype)

	_, _, err = c.DoBytes(context.Background(), &wxhttp.Request{Method: "GET", Path: "/wxa/get_qrcode", Query: url.Values{"path": {"bad"}}, Token: &fakeTokens{}})
	require.ErrorIs(t, err, wxerr.ErrSystemBusy)
}

func TestNotJSONAnswer(t *testing.T) {
	c, mt := setup(t, wxhttp.Config{})
	mt.RegisterResponder("GET", base+"/x", httpmock.NewStringResponder(200, `<html>gateway</html>`))
	err := c.Do(context.Background(), &wxhttp.Request{Method: "GET", Path: "/x"}, nil)
	require.ErrorContains(t, err, "not JSON")
}

func TestDecodeErrorReported(t *testing.T) {
	c, mt := setup(t, wxhttp.Config{})
	mt.RegisterResponder("GET", base+"/x", httpmock.NewStringResponder(200, `{"n":"not a number"}`))
	var out struct {
		N int `json:"n"`
	}
	err := c.Do(context.Background(), &wxhttp.Request{Method: "GET", Path: "/x"}, &out)
	require.ErrorContains(t, err, "decode response")
}

func TestUploadMultipart(t *testing.T) {
	c, mt := setup(t, wxhttp.Config{})
	mt.RegisterResponder("POST", base+"/cgi-bin/media/upload", func(r *http.Request) (*http.Response, error) {
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		require.NoError(t, err)
		assert.Equal(t, "multipart/form-data", mt)
		mr := multipart.NewReader(r.Body, params["boundary"])
		p, err := mr.NextPart()
		require.NoError(t, err)
		assert.Equal(t, "media", p.FormName())
		assert.Equal(t, "a.png", p.FileName())
		assert.Equal(t, "image/png", p.Header.Get("Content-Type"))
		data, _ := io.ReadAll(p)
		assert.Equal(t, []byte("PNGDATA"), data)
		assert.Equal(t, "image", r.URL.Query().Get("type"))
		return httpmock.NewStringResponse(200, `{"type":"image","media_id":"M1","created_at":1}`), nil
	})
	var out struct {
		MediaID string `json:"media_id"`
	}
	require.NoError(t, c.Do(context.Background(), &wxhttp.Request{Method: "POST", Path: "/cgi-bin/media/upload",
		Query: url.Values{"type": {"image"}}, Token: &fakeTokens{},
		Upload: &wxhttp.Upload{Field: "media", FileName: "a.png", ContentType: "image/png", Data: []byte("PNGDATA")}}, &out))
	assert.Equal(t, "M1", out.MediaID)
}

func TestContextCancelled(t *testing.T) {
	c, mt := setup(t, wxhttp.Config{})
	mt.RegisterResponder("GET", base+"/x", httpmock.NewStringResponder(200, `{}`))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.Do(ctx, &wxhttp.Request{Method: "GET", Path: "/x", Idempotent: true}, nil)
	require.ErrorIs(t, err, context.Canceled)
}

func TestBadConfigAndRequest(t *testing.T) {
	_, err := wxhttp.New(wxhttp.Config{BaseURL: "ftp://x"})
	require.True(t, wxerr.IsValidation(err))
	c, _ := setup(t, wxhttp.Config{})
	require.Error(t, c.Do(context.Background(), &wxhttp.Request{Method: "GET", Path: "no-slash"}, nil))
	require.Error(t, c.Do(context.Background(), &wxhttp.Request{Method: "POST", Path: "/x", Body: func() {}}, nil))
}

func TestRedact(t *testing.T) {
	cases := map[string]string{
		"https://h/p?access_token=abc&x=1":           "https://h/p?access_token=REDACTED&x=1",
		"https://h/p?x=1&component_access_token=abc": "https://h/p?x=1&component_access_token=REDACTED",
		`Post "https://h/p?secret=s3cr3t": EOF`:      `Post "https://h/p?secret=REDACTED": EOF`,
		"no secrets here":                            "no secrets here",
		"my_access_token=keep":                       "my_access_token=keep",
		"https://h/p?js_code=c&appid=wx1":            "https://h/p?js_code=REDACTED&appid=wx1",
		"a?access_token=1&access_token=2":            "a?access_token=REDACTED&access_token=REDACTED",
	}
	for in, want := range cases {
		assert.Equal(t, want, wxhttp.Redact(in), in)
	}
}

func TestAPIErrorMessageRedacted(t *testing.T) {
	c, mt := setup(t, wxhttp.Config{})
	mt.RegisterResponder("GET", base+"/x", httpmock.NewStringResponder(200, `{"errcode":40001,"errmsg":"invalid credential, access_token=LEAKED is invalid"}`))
	err := c.Do(context.Background(), &wxhttp.Request{Method: "GET", Path: "/x"}, nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "LEAKED")
}
