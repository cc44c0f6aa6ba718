package wxopen_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

const (
	compAppID = "wxcomponent0000001"
	aesKey    = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

func cfg() wxopen.Config {
	return wxopen.Config{ComponentAppID: compAppID, AppSecret: "SECRET-APPSECRET", Token: "SECRET-TOKEN", EncodingAESKey: aesKey}
}

func mockPlatform(t *testing.T, opts ...wxopen.Option) (*wxopen.Platform, *httpmock.MockTransport) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	p, err := wxopen.New(cfg(), append([]wxopen.Option{wxopen.WithHTTPClient(&http.Client{Transport: mt})}, opts...)...)
	require.NoError(t, err)
	return p, mt
}

func TestVersionInUserAgentAndChangelog(t *testing.T) {
	p, mt := mockPlatform(t)
	var ua string
	mt.RegisterResponder("POST", "https://api.weixin.qq.com/cgi-bin/component/api_start_push_ticket",
		func(r *http.Request) (*http.Response, error) {
			ua = r.Header.Get("User-Agent")
			return httpmock.NewStringResponse(200, `{"errcode":0,"errmsg":"ok"}`), nil
		})
	require.NoError(t, p.Component().StartPushTicket(context.Background()))
	assert.Equal(t, "wxopen/"+wxopen.Version, ua)

	// The released version has its section in CHANGELOG.md, above the older ones.
	log, err := os.ReadFile("CHANGELOG.md")
	require.NoError(t, err)
	assert.Contains(t, string(log), "\n## [Unreleased]\n")
	assert.Contains(t, string(log), "\n## ["+wxopen.Version+"] - ", "CHANGELOG.md has no section for Version")
}

func TestNewValidatesConfig(t *testing.T) {
	for name, edit := range map[string]func(*wxopen.Config){
		"appid":  func(c *wxopen.Config) { c.ComponentAppID = "" },
		"secret": func(c *wxopen.Config) { c.AppSecret = "" },
		"token":  func(c *wxopen.Config) { c.Token = "" },
		"key":    func(c *wxopen.Config) { c.EncodingAESKey = "short" },
	} {
		t.Run(name, func(t *testing.T) {
			c := cfg()
			edit(&c)
			p, err := wxopen.New(c)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.NotContains(t, err.Error(), "SECRET")
		})
	}
}

func TestNewValidatesOptions(t *testing.T) {
	cases := map[string]wxopen.Option{
		"nil http client":      wxopen.WithHTTPClient(nil),
		"empty base":           wxopen.WithBaseURL(""),
		"relative base":        wxopen.WithBaseURL("/api"),
		"ftp base":             wxopen.WithBaseURL("ftp://api.example.com"),
		"nil token store":      wxopen.WithTokenStore(nil),
		"nil credential store": wxopen.WithCredentialStore(nil),
		"zero timeout":         wxopen.WithTimeout(0),
		"negative retry":       wxopen.WithRetry(wxopen.RetryPolicy{MaxAttempts: -1}),
		"nil clock":            wxopen.WithClock(nil),
	}
	for name, opt := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := wxopen.New(cfg(), opt)
			assert.True(t, wxerr.IsValidation(err), "%v", err)
			assert.Nil(t, p)
		})
	}
	p, err := wxopen.New(cfg(), nil)
	require.NoError(t, err, "a nil option is ignored")
	assert.Equal(t, compAppID, p.ComponentAppID())
}

func TestSecretsNeverPrinted(t *testing.T) {
	p, _ := mockPlatform(t)
	c := cfg()
	for _, v := range []any{c, &c, p, *p, struct{ C wxopen.Config }{c}, p.Component()} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, "SECRET", "%s of %T", verb, v)
			assert.NotContains(t, out, aesKey, "%s of %T", verb, v)
		}
	}
	assert.Contains(t, fmt.Sprint(p), compAppID)
	assert.Contains(t, fmt.Sprint(c), compAppID)
}

func TestStoresAreWired(t *testing.T) {
	tokens, creds := tokenstore.NewMemoryStore(), tokenstore.NewMemoryStore()
	p, mt := mockPlatform(t, wxopen.WithTokenStore(tokens), wxopen.WithCredentialStore(creds))
	ctx := context.Background()
	require.NoError(t, p.Component().SetVerifyTicket(ctx, "ticket@@@1"))
	_, err := creds.Get(ctx, compAppID+":verify_ticket")
	require.NoError(t, err, "the ticket is durable: credential store")
	_, err = tokens.Get(ctx, compAppID+":verify_ticket")
	assert.ErrorIs(t, err, tokenstore.ErrNotFound)

	mt.RegisterResponder("POST", "https://api.weixin.qq.com/cgi-bin/component/api_component_token",
		httpmock.NewStringResponder(200, `{"component_access_token":"SECRET-CT","expires_in":7200}`))
	_, err = p.Component().ComponentToken(ctx)
	require.NoError(t, err)
	tok, err := tokens.Get(ctx, compAppID+":component_access_token")
	require.NoError(t, err, "the component token is expiring: token store")
	assert.Equal(t, "SECRET-CT", tok.Value)
}

func TestBaseURLHookRetryAndLogger(t *testing.T) {
	var mu sync.Mutex
	var infos []wxopen.CallInfo
	var logs bytes.Buffer
	p, mt := mockPlatform(t,
		wxopen.WithBaseURL("http://127.0.0.1:9/wx"),
		wxopen.WithHook(func(_ context.Context, ci wxopen.CallInfo) {
			mu.Lock()
			infos = append(infos, ci)
			mu.Unlock()
		}),
		wxopen.WithRetry(wxopen.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond}),
		wxopen.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	)
	mt.RegisterResponder("POST", "http://127.0.0.1:9/wx/cgi-bin/component/api_start_push_ticket",
		httpmock.NewErrorResponder(errors.New("connection reset")))
	err := p.Component().StartPushTicket(context.Background())
	require.Error(t, err)
	assert.Equal(t, 2, mt.GetTotalCallCount(), "WithRetry bounds the attempts of an idempotent call")
	mu.Lock()
	require.Len(t, infos, 2)
	assert.Equal(t, "/cgi-bin/component/api_start_push_ticket", infos[0].Path)
	assert.Equal(t, 2, infos[1].Attempt)
	mu.Unlock()
	assert.Contains(t, logs.String(), "api_start_push_ticket")
	assert.NotContains(t, logs.String(), "SECRET")
}

func TestTimeout(t *testing.T) {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	defer srv.Close()
	defer close(done) // runs first: lets the handler return so that Close does not wait
	p, err := wxopen.New(cfg(), wxopen.WithBaseURL(srv.URL), wxopen.WithTimeout(50*time.Millisecond),
		wxopen.WithRetry(wxopen.RetryPolicy{MaxAttempts: 1}))
	require.NoError(t, err)
	start := time.Now()
	err = p.Component().StartPushTicket(context.Background())
	require.Error(t, err)
	assert.Less(t, time.Since(start), 1500*time.Millisecond)
}

func TestAuthorizerClient(t *testing.T) {
	tokens, creds := tokenstore.NewMemoryStore(), tokenstore.NewMemoryStore()
	p, mt := mockPlatform(t, wxopen.WithTokenStore(tokens), wxopen.WithCredentialStore(creds))
	ctx := context.Background()
	require.NoError(t, tokens.Set(ctx, compAppID+":component_access_token", tokenstore.Token{Value: "SECRET-CT", ExpiresAt: time.Now().Add(time.Hour)}))
	require.NoError(t, p.Component().SetRefreshToken(ctx, "wxmerchant", "SECRET-RT"))
	var refreshBody string
	mt.RegisterResponder("POST", "https://api.weixin.qq.com/cgi-bin/component/api_authorizer_token", func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		refreshBody = string(b)
		assert.Equal(t, "SECRET-CT", r.URL.Query().Get("component_access_token"))
		return httpmock.NewStringResponse(200, `{"authorizer_access_token":"SECRET-AT","expires_in":7200,"authorizer_refresh_token":"SECRET-RT"}`), nil
	})
	mt.RegisterResponder("GET", "https://api.weixin.qq.com/wxa/get_category", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, "SECRET-AT", r.URL.Query().Get("access_token"))
		return httpmock.NewStringResponse(200, `{"errcode":0,"errmsg":"ok","category_list":[]}`), nil
	})

	a := p.Authorizer("wxmerchant")
	assert.Equal(t, "wxmerchant", a.AppID())
	assert.Equal(t, compAppID, a.Component().AppID)
	assert.Equal(t, authorizer.Key(compAppID, "wxmerchant", "refresh_token"), a.Key("refresh_token"))
	require.NoError(t, a.Do(ctx, authorizer.Request{Method: "GET", Path: "/wxa/get_category"}, nil))
	assert.JSONEq(t, `{"component_appid":"`+compAppID+`","authorizer_appid":"wxmerchant","authorizer_refresh_token":"SECRET-RT"}`, refreshBody)

	// Cheap and shared: a second client for the same appid uses the cached token.
	tok, err := p.Authorizer("wxmerchant").Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, "SECRET-AT", tok.Value)
	assert.Equal(t, 2, mt.GetTotalCallCount())

	// The component token is available to calls made with it on the authorizer's behalf.
	mt.RegisterResponder("GET", "https://api.weixin.qq.com/sns/component/jscode2session", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, "SECRET-CT", r.URL.Query().Get("component_access_token"))
		return httpmock.NewStringResponse(200, `{"openid":"o1","session_key":"k"}`), nil
	})
	require.NoError(t, a.CallComponent(ctx, &wxcall.Request{Method: "GET", Path: "/sns/component/jscode2session"}, "component_access_token", nil))

	// Not authorised: a clear error, no request.
	n := mt.GetTotalCallCount()
	_, err = p.Authorizer("wxstranger").Token(ctx)
	require.ErrorIs(t, err, wxerr.ErrNotAuthorized)
	assert.Contains(t, err.Error(), "wxstranger")
	assert.Equal(t, n, mt.GetTotalCallCount())
}

func TestPlatformHandlers(t *testing.T) {
	var logs bytes.Buffer
	p, _ := mockPlatform(t, wxopen.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	h, err := p.Handler(component.HandlerConfig{})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/?timestamp=1&nonce=1&msg_signature=x", strings.NewReader("<xml/>")))
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, logs.String(), "wxopen push", "the Platform's logger reaches the handler")

	mh, err := p.MessageHandler(component.MessageHandlerConfig{})
	require.NoError(t, err)
	w = httptest.NewRecorder()
	mh.ServeHTTP(w, httptest.NewRequest(http.MethodPut, "/wx1", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)

	_, err = p.Handler(component.HandlerConfig{MaxBodyBytes: -1})
	assert.Error(t, err)
}

func TestTokenOptionsReachManagers(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p, mt := mockPlatform(t, wxopen.WithTokenOptions(tokenstore.WithClock(clock), tokenstore.WithJitter(0)))
	require.NoError(t, p.Component().SetVerifyTicket(context.Background(), "ticket@@@1"))
	mt.RegisterResponder("POST", "https://api.weixin.qq.com/cgi-bin/component/api_component_token",
		httpmock.NewStringResponder(200, `{"component_access_token":"SECRET-CT","expires_in":7200}`))
	_, err := p.Component().ComponentToken(context.Background())
	require.NoError(t, err)
	_, err = p.Component().ComponentToken(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, mt.GetTotalCallCount(), "warm")
	// On the managers' clock the token is now within the refresh margin: it is fetched again.
	mu.Lock()
	now = now.Add(7200*time.Second - time.Minute)
	mu.Unlock()
	_, err = p.Component().ComponentToken(context.Background())
	require.NoError(t, err)
	// Due but valid: the refresh runs in the background.
	require.Eventually(t, func() bool { return mt.GetTotalCallCount() == 2 }, 5*time.Second, time.Millisecond,
		"the clock option reached the component token's manager")
}
