package wxopen_test

// Integration tests over real HTTP: the SDK against the wxtest emulator, with the platform's push
// handlers served on loopback. They prove the whole authorisation lifecycle, token expiry and
// recovery, one refresh under a stampede, and the retry policy (reads recover, writes are sent once).

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

const (
	pathComponentToken  = "/cgi-bin/component/api_component_token"
	pathAuthorizerToken = "/cgi-bin/component/api_authorizer_token"
	pathAuthorizerInfo  = "/cgi-bin/component/api_get_authorizer_info"
	pathQueryAuth       = "/cgi-bin/component/api_query_auth"
	merchantApp         = "wx1111222233334444"
)

// env is a Platform wired to an emulator, with its authorisation-event handler on loopback.
type env struct {
	emu    *wxtest.Server
	p      *wxopen.Platform
	creds  *tokenstore.MemoryStore
	tokens *tokenstore.MemoryStore

	mu     sync.Mutex
	events []string
}

func newEnv(t *testing.T, opts ...wxopen.Option) *env {
	t.Helper()
	emu := wxtest.NewTestServer(t)
	app := emu.Component()
	e := &env{emu: emu, creds: tokenstore.NewMemoryStore(), tokens: tokenstore.NewMemoryStore()}
	opts = append([]wxopen.Option{wxopen.WithBaseURL(emu.URL), wxopen.WithCredentialStore(e.creds), wxopen.WithTokenStore(e.tokens)}, opts...)
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token, EncodingAESKey: app.EncodingAESKey}, opts...)
	require.NoError(t, err)
	e.p = p
	h, err := p.Handler(component.HandlerConfig{
		Now:            emu.Now,
		OnVerifyTicket: func(context.Context, *component.VerifyTicketEvent) error { e.record("ticket"); return nil },
		OnAuthorized: func(_ context.Context, ev *component.AuthorizedEvent) error {
			e.record("authorized " + ev.AuthorizerAppID)
			return nil
		},
		OnUpdateAuthorized: func(_ context.Context, ev *component.UpdateAuthorizedEvent) error {
			e.record("updateauthorized " + ev.AuthorizerAppID)
			return nil
		},
		OnUnauthorized: func(_ context.Context, ev *component.UnauthorizedEvent) error {
			e.record("unauthorized " + ev.AuthorizerAppID)
			return nil
		},
	})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	emu.SetEventURLs(srv.URL, srv.URL+"/msg/$APPID$")
	return e
}

func (e *env) record(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, s)
}

func (e *env) recorded() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.events...)
}

// authorised pushes a ticket and has merchantApp authorise the platform.
func (e *env) authorised(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	_, err := e.emu.PushVerifyTicket(ctx)
	require.NoError(t, err)
	e.emu.AddAuthorizer(wxtest.Authorizer{AppID: merchantApp, MiniProgram: true, NickName: "Noodle House"})
	_, err = e.emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: merchantApp})
	require.NoError(t, err)
}

func TestAuthorisationLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	comp := e.p.Component()

	// Before any push: no ticket, no token, no request.
	_, err := comp.ComponentToken(ctx)
	require.ErrorIs(t, err, wxerr.ErrNoVerifyTicket)
	assert.Zero(t, e.emu.Calls(pathComponentToken))

	ticket, err := e.emu.PushVerifyTicket(ctx)
	require.NoError(t, err)
	stored, err := comp.VerifyTicket(ctx)
	require.NoError(t, err)
	assert.Equal(t, ticket, stored.Value, "the handler stores the pushed ticket")

	pre, err := comp.PreAuthCode(ctx)
	require.NoError(t, err)
	u, err := comp.AuthURL(pre.Code, "https://platform.example.com/authorized?x=1&y=2", component.AuthURLOptions{AuthType: component.AuthTypeMiniProgram})
	require.NoError(t, err)
	pu, err := url.Parse(u)
	require.NoError(t, err)
	assert.Equal(t, pre.Code, pu.Query().Get("pre_auth_code"))
	assert.Equal(t, "https://platform.example.com/authorized?x=1&y=2", pu.Query().Get("redirect_uri"))
	assert.Equal(t, comp.AppID(), pu.Query().Get("component_appid"))
	assert.Equal(t, "2", pu.Query().Get("auth_type"))

	// The merchant consents on the page opened with that pre-auth code.
	e.emu.AddAuthorizer(wxtest.Authorizer{AppID: merchantApp, MiniProgram: true, NickName: "Noodle House", PrincipalName: "Noodle House Ltd"})
	_, err = e.emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: merchantApp, PreAuthCode: pre.Code, FuncInfo: []int{17, 18}})
	require.NoError(t, err)
	assert.Equal(t, 1, e.emu.Calls(pathQueryAuth), "the handler exchanged the code")
	assert.Contains(t, e.recorded(), "authorized "+merchantApp)

	// The pre-auth code was consumed by the consent.
	_, err = e.emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: merchantApp, PreAuthCode: pre.Code})
	require.Error(t, err)

	// The refresh token WeChat issued is in the credential store, with no expiry.
	want, ok := e.emu.AuthorizerRefreshToken(merchantApp)
	require.True(t, ok)
	rt, err := e.creds.Get(ctx, authorizer.Key(comp.AppID(), merchantApp, "refresh_token"))
	require.NoError(t, err)
	assert.Equal(t, want, rt.Value)
	assert.True(t, rt.ExpiresAt.IsZero())

	// The access token from api_query_auth is used as is: no refresh call.
	tok, err := comp.AuthorizerToken(ctx, merchantApp)
	require.NoError(t, err)
	assert.True(t, e.emu.AuthorizerAccessTokenValid(merchantApp, tok.Value))
	assert.Zero(t, e.emu.Calls(pathAuthorizerToken))

	info, err := comp.AuthorizerInfo(ctx, merchantApp)
	require.NoError(t, err)
	assert.Equal(t, "Noodle House", info.NickName)
	assert.True(t, info.IsMiniProgram())

	_, err = e.emu.UpdateAuthorization(ctx, merchantApp, 17, 18, 25)
	require.NoError(t, err)
	assert.Contains(t, e.recorded(), "updateauthorized "+merchantApp)

	require.NoError(t, e.emu.Unauthorize(ctx, merchantApp))
	assert.Contains(t, e.recorded(), "unauthorized "+merchantApp)
	_, err = e.creds.Get(ctx, authorizer.Key(comp.AppID(), merchantApp, "refresh_token"))
	require.ErrorIs(t, err, tokenstore.ErrNotFound, "unauthorized drops the refresh token")
	_, err = comp.AuthorizerToken(ctx, merchantApp)
	require.ErrorIs(t, err, wxerr.ErrNotAuthorized)
	assert.Contains(t, err.Error(), merchantApp)
}

func TestColdComponentTokenStampedeCallsWeChatOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.emu.PushVerifyTicket(ctx)
	require.NoError(t, err)
	e.emu.InjectFault(pathComponentToken, wxtest.Fault{Delay: 50 * time.Millisecond}) // widen the window
	var wg sync.WaitGroup
	var failures atomic.Int32
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.p.Component().ComponentToken(ctx); err != nil {
				failures.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, failures.Load())
	assert.Equal(t, 1, e.emu.Calls(pathComponentToken))
}

func TestExpiredTokenOnEmulatorClockRefreshedOnce(t *testing.T) {
	// The SDK keeps real time; WeChat's clock jumps 2 hours: every token the SDK holds is now
	// expired at WeChat (42001). Concurrent calls recover with exactly one refresh of each token.
	e := newEnv(t)
	ctx := context.Background()
	e.authorised(t)
	_, err := e.p.Component().AuthorizerInfo(ctx, merchantApp)
	require.NoError(t, err)
	mini := e.p.MiniProgram(merchantApp)
	_, err = mini.Categories(ctx)
	require.NoError(t, err)
	compCalls, authCalls := e.emu.Calls(pathComponentToken), e.emu.Calls(pathAuthorizerToken)

	e.emu.Advance(2*time.Hour + time.Minute)
	// Phase 1: platform-level calls; the component token is refreshed once.
	concurrently(20, func() {
		_, err := e.p.Component().AuthorizerInfo(ctx, merchantApp)
		assert.NoError(t, err)
	})
	assert.Equal(t, compCalls+1, e.emu.Calls(pathComponentToken), "one component token refresh")
	// Phase 2: calls on the merchant's behalf; its access token is refreshed once. (In one phase,
	// api_authorizer_token would be sent twice: the refresh itself carries the expired component
	// token, is refused with 42001 and re-sent once, which is the retry rule at work.)
	concurrently(20, func() {
		_, err := mini.Categories(ctx)
		assert.NoError(t, err)
	})
	assert.Equal(t, authCalls+1, e.emu.Calls(pathAuthorizerToken), "one authorizer token refresh")
	assert.Equal(t, compCalls+1, e.emu.Calls(pathComponentToken))
}

func concurrently(n int, f func()) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	wg.Wait()
}

func TestTokenDueOnSharedClockRefreshedAheadOnce(t *testing.T) {
	// With the SDK on the emulator's clock, a token inside the refresh margin is refreshed before
	// WeChat refuses it: one api_component_token call, and no 42001 on the way.
	var emuNow func() time.Time
	clock := func() time.Time { return emuNow() }
	e := newEnv(t, wxopen.WithTokenOptions(tokenstore.WithClock(clock), tokenstore.WithJitter(0)))
	emuNow = e.emu.Now
	ctx := context.Background()
	_, err := e.emu.PushVerifyTicket(ctx)
	require.NoError(t, err)
	first, err := e.p.Component().ComponentToken(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, e.emu.Calls(pathComponentToken))

	e.emu.Advance(2*time.Hour - 2*time.Minute) // inside the default 5-minute margin, still valid
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := e.p.Component().ComponentToken(ctx)
			if assert.NoError(t, err) {
				// The first token, still valid, served at once while one refresh runs in the
				// background, or the refreshed one once it has landed.
				assert.True(t, e.emu.ComponentAccessTokenValid(tok.Value))
			}
		}()
	}
	wg.Wait()
	require.Eventually(t, func() bool {
		tok, err := e.p.Component().ComponentToken(ctx)
		return err == nil && tok.Value != first.Value && e.emu.ComponentAccessTokenValid(tok.Value)
	}, 5*time.Second, time.Millisecond, "refreshed before WeChat refuses the first token")
	assert.Equal(t, 2, e.emu.Calls(pathComponentToken))
}

func TestInjectedInvalidCredentialRecoveredWithOneRetry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.authorised(t)
	_, err := e.p.Component().ComponentToken(ctx)
	require.NoError(t, err)
	before := e.emu.Calls(pathComponentToken)

	e.emu.InjectFault(pathAuthorizerInfo, wxtest.Fault{ErrCode: 40001})
	info, err := e.p.Component().AuthorizerInfo(ctx, merchantApp)
	require.NoError(t, err, "a 40001 is recovered transparently")
	assert.Equal(t, "Noodle House", info.NickName)
	assert.Equal(t, 2, e.emu.Calls(pathAuthorizerInfo), "retried exactly once")
	assert.Equal(t, before+1, e.emu.Calls(pathComponentToken), "after one refresh")

	// Two token errors in a row: the second is returned, not retried again.
	e.emu.InjectFault(pathAuthorizerInfo, wxtest.Fault{ErrCode: 40001, Times: 2})
	_, err = e.p.Component().AuthorizerInfo(ctx, merchantApp)
	require.ErrorIs(t, err, wxerr.ErrInvalidCredential)
	assert.Equal(t, 4, e.emu.Calls(pathAuthorizerInfo))
}

// TestRetryPolicy proves both sides of the retry rule with the emulator's faults: reads recover from
// a 502, a timeout, a dropped connection and WeChat's -1; writes are sent exactly once.
func TestRetryPolicy(t *testing.T) {
	faults := map[string]wxtest.Fault{
		"502":     {HTTPStatus: http.StatusBadGateway},
		"timeout": {Delay: 2 * time.Second},
		"dropped": {Drop: true},
		"busy":    {ErrCode: -1},
	}
	for name, fault := range faults {
		t.Run(name+"/read recovers", func(t *testing.T) {
			e := newEnv(t, wxopen.WithTimeout(300*time.Millisecond), wxopen.WithRetry(wxopen.RetryPolicy{BaseDelay: time.Millisecond}))
			ctx := context.Background()
			e.authorised(t)
			_, err := e.p.MiniProgram(merchantApp).Categories(ctx) // warm the tokens
			require.NoError(t, err)
			e.emu.InjectFault("/wxa/get_category", fault)
			_, err = e.p.MiniProgram(merchantApp).Categories(ctx)
			require.NoError(t, err)
			assert.Equal(t, 3, e.emu.Calls("/wxa/get_category"), "one failed attempt, one retry")
		})
		t.Run(name+"/write sent once", func(t *testing.T) {
			e := newEnv(t, wxopen.WithTimeout(300*time.Millisecond), wxopen.WithRetry(wxopen.RetryPolicy{BaseDelay: time.Millisecond}))
			ctx := context.Background()
			e.authorised(t)
			_, err := e.p.MiniProgram(merchantApp).Categories(ctx)
			require.NoError(t, err)
			e.emu.InjectFault("/wxa/release", fault)
			err = e.p.MiniProgram(merchantApp).Release(ctx)
			require.Error(t, err)
			assert.Equal(t, 1, e.emu.Calls("/wxa/release"), "a write that may have reached WeChat is never re-sent")
		})
	}
}

func TestQuotaIsTypedAndNotRetried(t *testing.T) {
	e := newEnv(t, wxopen.WithRetry(wxopen.RetryPolicy{BaseDelay: time.Millisecond}))
	ctx := context.Background()
	e.authorised(t)
	e.emu.InjectFault(pathAuthorizerInfo, wxtest.Fault{ErrCode: 45009})
	_, err := e.p.Component().AuthorizerInfo(ctx, merchantApp)
	require.ErrorIs(t, err, wxerr.ErrDailyQuota)
	assert.True(t, wxerr.IsQuota(err))
	assert.Equal(t, 1, e.emu.Calls(pathAuthorizerInfo))
	require.NoError(t, e.p.Component().ClearQuota(ctx))
	assert.Equal(t, 1, e.emu.Calls("/cgi-bin/component/clear_quota"))
}

func TestEmulatorRefusesWhatWeChatRefuses(t *testing.T) {
	ctx := context.Background()
	t.Run("wrong secret", func(t *testing.T) {
		emu := wxtest.NewTestServer(t)
		app := emu.Component()
		p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: "not-the-secret", Token: app.Token, EncodingAESKey: app.EncodingAESKey}, wxopen.WithBaseURL(emu.URL))
		require.NoError(t, err)
		require.NoError(t, p.Component().SetVerifyTicket(ctx, "ticket@@@whatever"))
		_, err = p.Component().ComponentToken(ctx)
		require.Error(t, err)
		assert.Equal(t, wxerr.CodeInvalidAppSecret, wxerr.CodeOf(err))
		assert.NotContains(t, err.Error(), "not-the-secret")
	})
	t.Run("stale ticket", func(t *testing.T) {
		e := newEnv(t)
		old, err := e.emu.PushVerifyTicket(ctx)
		require.NoError(t, err)
		_, err = e.emu.PushVerifyTicket(ctx)
		require.NoError(t, err)
		require.NoError(t, e.p.Component().SetVerifyTicket(ctx, old))
		_, err = e.p.Component().ComponentToken(ctx)
		require.ErrorIs(t, err, wxerr.ErrVerifyTicketInvalid)
		assert.Contains(t, err.Error(), "StartPushTicket", "the error says what the operator can do")
		// Asking WeChat for a push repairs it.
		require.NoError(t, e.p.Component().StartPushTicket(ctx))
		_, err = e.p.Component().ComponentToken(ctx)
		require.NoError(t, err)
	})
	t.Run("reused auth code", func(t *testing.T) {
		e := newEnv(t)
		e.authorised(t) // the handler already exchanged the code
		code, err := e.emu.UpdateAuthorization(ctx, merchantApp, 18)
		require.NoError(t, err)
		// The emulator refuses the used code (61009, wxtest/component_test.go); the redirect page's
		// QueryAuth gets the authorisation the push exchanged.
		a, err := e.p.Component().QueryAuth(ctx, code)
		require.NoError(t, err)
		assert.Equal(t, merchantApp, a.AuthorizerAppID)
		assert.Contains(t, a.FuncScopes(), 18)
		// A code nobody exchanged here stays refused.
		_, err = e.p.Component().QueryAuth(ctx, "queryauthcode@@@never-issued")
		require.Error(t, err)
		assert.Equal(t, wxerr.CodeAuthCodeInvalid, wxerr.CodeOf(err))
	})
	t.Run("revoked refresh token", func(t *testing.T) {
		e := newEnv(t)
		e.authorised(t)
		// A platform that kept the refresh token elsewhere and restores it after a revocation.
		rt, _ := e.emu.AuthorizerRefreshToken(merchantApp)
		require.NoError(t, e.emu.Unauthorize(ctx, merchantApp))
		require.NoError(t, e.p.Component().SetRefreshToken(ctx, merchantApp, rt))
		_, err := e.p.Component().AuthorizerToken(ctx, merchantApp)
		require.ErrorIs(t, err, wxerr.ErrRefreshTokenInvalid)
		assert.Contains(t, err.Error(), "authorise the platform again")
	})
}

func TestWriteThroughMiniProgramReleaseNeedsApproval(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.authorised(t)
	err := e.p.MiniProgram(merchantApp).Release(ctx)
	require.Error(t, err)
	code := wxerr.CodeOf(err)
	assert.True(t, code == wxerr.CodeNoAuditVersion || code == wxerr.CodeNotReleasable, "got %v", err)
	assert.True(t, strings.Contains(err.Error(), "approv"), "the error tells the operator to wait for approval: %v", err)
	_ = miniprogram.New
}

func componentHandlerConfig(emu *wxtest.Server) component.HandlerConfig {
	return component.HandlerConfig{Now: emu.Now}
}

func httptestRequest(method, target, body string) *http.Request {
	return httptest.NewRequest(method, target, strings.NewReader(body))
}

func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
