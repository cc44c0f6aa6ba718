package wxopen_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/pay"
	usersession "github.com/wxopen-go/wxopen/session"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxtest"
)

// TestSecretsScanEverywhere builds every config and client, drives calls into every kind of failure with
// debug logging and a hook on, and scans what users can see — %v, %+v and %#v of every value, every
// error string, the slog output and the hook's CallInfo — for the AppSecret, the message token, the
// EncodingAESKey, the verify ticket, every access and refresh token, session keys and payment keys.
func TestSecretsScanEverywhere(t *testing.T) {
	ctx := context.Background()
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var hookMu sync.Mutex
	var calls []string
	hook := func(_ context.Context, i wxopen.CallInfo) {
		hookMu.Lock()
		defer hookMu.Unlock()
		calls = append(calls, fmt.Sprintf("%v %+v %#v", i, i, i))
	}
	e := newEnv(t, wxopen.WithLogger(logger), wxopen.WithHook(hook),
		wxopen.WithRetry(wxopen.RetryPolicy{BaseDelay: time.Millisecond, MaxAttempts: 2}))
	app := e.emu.Component()
	ticket, err := e.emu.PushVerifyTicket(ctx)
	require.NoError(t, err)
	e.emu.AddAuthorizer(wxtest.Authorizer{AppID: merchantApp, MiniProgram: true})
	_, err = e.emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: merchantApp})
	require.NoError(t, err)

	compTok, err := e.p.Component().ComponentToken(ctx)
	require.NoError(t, err)
	authTok, err := e.p.Component().AuthorizerToken(ctx, merchantApp)
	require.NoError(t, err)
	refresh, ok := e.emu.AuthorizerRefreshToken(merchantApp)
	require.True(t, ok)
	code := e.emu.IssueLoginCode(merchantApp, "oUSER")
	session, err := e.p.MiniProgram(merchantApp).Login(ctx, code)
	require.NoError(t, err)

	var seen []string // everything a user could print or log
	show := func(vs ...any) {
		for _, v := range vs {
			seen = append(seen, fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v), fmt.Sprintf("%s", v))
		}
	}
	showErr := func(err error) {
		require.Error(t, err)
		show(err)
		seen = append(seen, err.Error())
	}

	// Every config and client.
	cfg := wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token, EncodingAESKey: app.EncodingAESKey}
	mc, err := crypto.NewMsgCrypt(app.Token, app.EncodingAESKey, app.AppID)
	require.NoError(t, err)
	show(cfg, &cfg, e.p, e.p.Component(), e.p.Authorizer(merchantApp), e.p.MiniProgram(merchantApp),
		e.p.OpenPlatform(merchantApp), e.p.Card(merchantApp), e.p.FastRegistration(), mc, compTok, authTok, session, *session, app)

	// Payments: the private key and the APIv3 key.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	apiV3 := "APIv3KEY-0123456789abcdefghijklm"
	acct := pay.Account{MchID: "1900000001", CertSerial: "SERIAL", PrivateKey: key, APIv3Key: apiV3, PublicKeyID: "PUB_KEY_ID_1", PublicKey: &key.PublicKey}
	merchant := pay.Merchant{AppID: merchantApp, Direct: &acct}
	show(acct, &acct, merchant, &merchant, pay.ServiceProvider{AppID: "wxSP", Account: acct})

	// Failures of every kind.
	e.emu.InjectFault(pathAuthorizerInfo, wxtest.Fault{ErrCode: 40001, Times: 2})
	_, err = e.p.Component().AuthorizerInfo(ctx, merchantApp) // token error, retried once, then returned
	showErr(err)
	_, err = e.p.MiniProgram(merchantApp).Login(ctx, "bad-code")
	showErr(err)
	_, err = e.p.Component().AuthorizerToken(ctx, "wx0000000000000000")
	showErr(err)
	_, err = e.p.MiniProgram(merchantApp).DecryptUserInfo(miniprogram.UserData{SessionKey: session.SessionKey, EncryptedData: "bm90IGRhdGE=", IV: "AAAAAAAAAAAAAAAAAAAAAA=="})
	showErr(err)
	// A transport failure while a token is in the URL.
	dead, err := wxopen.New(cfg, wxopen.WithBaseURL("http://127.0.0.1:1"), wxopen.WithTokenStore(e.tokens),
		wxopen.WithCredentialStore(e.creds), wxopen.WithLogger(logger), wxopen.WithRetry(wxopen.RetryPolicy{MaxAttempts: 1}))
	require.NoError(t, err)
	_, err = dead.Component().AuthorizerInfo(ctx, merchantApp)
	showErr(err)
	_, err = dead.MiniProgram(merchantApp).Categories(ctx)
	showErr(err)
	// A wrong secret.
	wrong := cfg
	wrong.AppSecret = "WRONG-" + app.AppSecret
	bad, err := wxopen.New(wrong, wxopen.WithBaseURL(e.emu.URL), wxopen.WithLogger(logger))
	require.NoError(t, err)
	require.NoError(t, bad.Component().SetVerifyTicket(ctx, ticket))
	_, err = bad.Component().ComponentToken(ctx)
	showErr(err)
	// Hostile pushes, which the handler refuses and logs.
	h, err := e.p.Handler(componentHandlerConfig(e.emu))
	require.NoError(t, err)
	for _, q := range []string{"?timestamp=1&nonce=2&msg_signature=" + strings.Repeat("0", 40), ""} {
		req := httptestRequest(http.MethodPost, "/auth"+q, "<xml><AppId><![CDATA["+app.AppID+"]]></AppId><Encrypt><![CDATA[AAAA]]></Encrypt></xml>")
		rec := httptestRecorder()
		h.ServeHTTP(rec, req)
		assert.GreaterOrEqual(t, rec.Code, 400)
		seen = append(seen, rec.Body.String())
	}

	// Merchants' users' sessions: the session package's values, logs and HTTP answers.
	sessions, err := usersession.New(tokenstore.NewMemoryStore(), usersession.PlatformLogin(e.p), usersession.WithLogger(logger))
	require.NoError(t, err)
	userSess, err := sessions.Login(ctx, merchantApp, e.emu.IssueLoginCode(merchantApp, "oUSER"))
	require.NoError(t, err)
	userKey, ok := e.emu.Session(merchantApp, "oUSER")
	require.True(t, ok)
	_, err = sessions.DecryptUserInfo(ctx, userSess, usersession.UserData{EncryptedData: "bm90IGRhdGE=", IV: "AAAAAAAAAAAAAAAAAAAAAA=="})
	showErr(err)
	_, err = sessions.Login(ctx, merchantApp, "bad-code")
	showErr(err)
	show(sessions, userSess, *userSess)
	mux := http.NewServeMux()
	sessions.Mount(mux, "/wx", nil)
	for _, r := range []*http.Request{
		httptestRequest(http.MethodPost, "/wx/login/"+e.emu.IssueLoginCode(merchantApp, "oUSER")+"?appid="+merchantApp, ""),
		httptestRequest(http.MethodGet, "/wx/is_valid_token", ""),
		httptestRequest(http.MethodPost, "/wx/up_user_info", `{"encryptedData":"bm90IGRhdGE=","iv":"AAAAAAAAAAAAAAAAAAAAAA=="}`),
	} {
		r.Header.Set("Authorization", "Bearer "+userSess.Token)
		rec := httptestRecorder()
		mux.ServeHTTP(rec, r)
		require.Less(t, rec.Code, 500)
		seen = append(seen, rec.Body.String())
	}
	newKey, _ := e.emu.Session(merchantApp, "oUSER")
	require.NotEqual(t, userKey, newKey, "the handler's login rotated the key")

	secrets := map[string]string{
		"user session key": userKey, "user session key after login": newKey, "user session token": userSess.Token,
		"AppSecret": app.AppSecret, "message token": app.Token, "EncodingAESKey": app.EncodingAESKey,
		"verify ticket": ticket, "component access token": compTok.Value, "authorizer access token": authTok.Value,
		"refresh token": refresh, "session key": session.SessionKey, "APIv3 key": apiV3,
		"private key D": key.D.String(), "private key prime": key.Primes[0].String(),
	}
	hookMu.Lock()
	seen = append(seen, calls...)
	hookMu.Unlock()
	seen = append(seen, logs.String())
	all := strings.Join(seen, "\n")

	require.Contains(t, logs.String(), `"msg":"wxopen call"`, "debug logging was on: the scan is not vacuous")
	require.Contains(t, logs.String(), "errcode", "failed calls were logged")
	require.NotEmpty(t, calls)
	require.True(t, leaks(all+"\n"+app.AppSecret, secrets), "the scanner finds a planted secret")
	for name, s := range secrets {
		require.GreaterOrEqual(t, len(s), 8, name)
		if i := strings.Index(all, s); i >= 0 {
			lo := max(0, i-80)
			t.Errorf("%s leaked, after: %q", name, all[lo:i])
		}
	}
}

func leaks(text string, secrets map[string]string) bool {
	for _, s := range secrets {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
