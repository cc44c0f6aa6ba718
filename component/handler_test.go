package component_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

// wechat plays WeChat's side of a push: it encrypts and signs with the platform's token and key.
type wechat struct {
	t     testing.TB
	crypt *crypto.MsgCrypt
	token string
	n     int
}

func newWeChat(t testing.TB) *wechat {
	c, err := crypto.NewMsgCrypt(msgToken, aesKey, compAppID)
	require.NoError(t, err)
	return &wechat{t: t, crypt: c, token: msgToken}
}

// push builds the POST WeChat sends for plain, signed at ts.
func (w *wechat) push(target, idElem, plain string, ts time.Time) *http.Request {
	w.t.Helper()
	enc, err := w.crypt.Encrypt([]byte(plain))
	require.NoError(w.t, err)
	w.n++
	return w.signed(target, fmt.Sprintf("<xml><%s><![CDATA[%s]]></%s><Encrypt><![CDATA[%s]]></Encrypt></xml>", idElem, compAppID, idElem, enc),
		enc, ts, strconv.Itoa(100000+w.n))
}

func (w *wechat) signed(target, body, enc string, ts time.Time, nonce string) *http.Request {
	tss := strconv.FormatInt(ts.Unix(), 10)
	q := url.Values{
		"signature":     {crypto.SortedSHA1(w.token, tss, nonce)},
		"timestamp":     {tss},
		"nonce":         {nonce},
		"encrypt_type":  {"aes"},
		"msg_signature": {w.crypt.Signature(tss, nonce, enc)},
	}
	r := httptest.NewRequest(http.MethodPost, target+"?"+q.Encode(), strings.NewReader(body))
	r.Header.Set("Content-Type", "text/xml")
	return r
}

// event renders a platform event XML.
func event(infoType string, created time.Time, fields ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<xml><AppId><![CDATA[%s]]></AppId><CreateTime>%d</CreateTime><InfoType><![CDATA[%s]]></InfoType>", compAppID, created.Unix(), infoType)
	for i := 0; i+1 < len(fields); i += 2 {
		fmt.Fprintf(&b, "<%s><![CDATA[%s]]></%s>", fields[i], fields[i+1], fields[i])
	}
	b.WriteString("</xml>")
	return b.String()
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func assertSuccess(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "success", w.Body.String())
}

// hsetup is a Client with logged stores, a component token, and a Handler with cfg.
type henv struct {
	*env
	log           *writeLog
	tokens, creds *failingStore
	wx            *wechat
	info          *recorder // api_get_authorizer_info, answered from accounts
}

func hsetup(t *testing.T) *henv {
	log := &writeLog{}
	tokens, creds := newFailingStore(log), newFailingStore(log)
	e := setup(t, tokens, creds).withComponentToken(t)
	h := &henv{env: e, log: log, tokens: tokens, creds: creds, wx: newWeChat(t)}
	h.info = h.onFunc(t, "POST", "/cgi-bin/component/api_get_authorizer_info", func(c call) (int, string) {
		name, known := accounts[c.Body["authorizer_appid"].(string)]
		if !known {
			return 200, `{"errcode":61003,"errmsg":"component is not authorized by this account rid: 6571a4cd-2e5a7b1f-6c3f2d1a"}`
		}
		return 200, `{"authorizer_info":{"nick_name":"n","user_name":"` + name + `"},"authorization_info":{"authorizer_appid":"` +
			c.Body["authorizer_appid"].(string) + `"}}`
	})
	return h
}

// accounts are the original ids of the authorised accounts the message pushes of the tests are for,
// as WeChat's api_get_authorizer_info answers them.
var accounts = map[string]string{
	"wxauthorizer01": "gh_fb9688c2a4b2", "wxA1b2": "gh_fb9688c2a4b2", "wxfromquery": "gh_fb9688c2a4b2",
	"wxoa01": "gh_fb9688c2a4b2", "wxA": "gh_1", "wxB": "gh_2",
}

func (h *henv) handler(t *testing.T, cfg component.HandlerConfig) *component.Handler {
	hd, err := component.NewHandler(h.c, cfg)
	require.NoError(t, err)
	return hd
}

// writesSince returns the credential and token writes logged after mark entries (not the handlers'
// memories of handled pushes, nor the event locks).
func (h *henv) writesSince(mark int) []string {
	var out []string
	for _, w := range h.log.list()[mark:] {
		if !strings.Contains(w, ":push:") && !strings.Contains(w, ":event_lock") {
			out = append(out, w)
		}
	}
	return out
}

func TestHandlerVerifyTicket(t *testing.T) {
	h := hsetup(t)
	var got *component.VerifyTicketEvent
	hd := h.handler(t, component.HandlerConfig{OnVerifyTicket: func(ctx context.Context, ev *component.VerifyTicketEvent) error {
		got = ev
		// The ticket is stored before the callback runs.
		tok, err := h.c.VerifyTicket(ctx)
		require.NoError(t, err)
		assert.Equal(t, "ticket@@@pushed", tok.Value)
		return nil
	}})
	created := time.Now().Add(-time.Hour).Truncate(time.Second)
	w := serve(hd, h.wx.push("/wechat/auth", "AppId", event("component_verify_ticket", created, "ComponentVerifyTicket", "ticket@@@pushed"), time.Now()))
	assertSuccess(t, w)

	require.NotNil(t, got)
	assert.Equal(t, "ticket@@@pushed", got.Ticket)
	assert.True(t, got.Stored)
	assert.Equal(t, compAppID, got.AppID)
	assert.Equal(t, component.InfoTypeVerifyTicket, got.InfoType)
	assert.True(t, created.Equal(got.CreateTime))
	assert.Contains(t, string(got.Raw), "ticket@@@pushed")
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", got, *got, got), "ticket@@@pushed")

	tok, err := get(t, h.creds, compAppID+":verify_ticket")
	require.NoError(t, err)
	assert.WithinDuration(t, created.Add(12*time.Hour), tok.ExpiresAt, 5*time.Second, "valid 12 h from CreateTime")
	assert.Equal(t, "push:component_verify_ticket", h.creds.reason(compAppID+":verify_ticket"))

	// The component token is fetched with the pushed ticket.
	require.NoError(t, h.tokens.Store.Delete(context.Background(), compAppID+":component_access_token"))
	r := h.on(t, "POST", "/cgi-bin/component/api_component_token", `{"component_access_token":"SECRET-NEW","expires_in":7200}`)
	_, err = h.c.ComponentToken(context.Background())
	require.NoError(t, err)
	calls := r.list()
	require.Len(t, calls, 1)
	assert.Equal(t, "ticket@@@pushed", calls[0].Body["component_verify_ticket"])
}

func TestHandlerStaleVerifyTicketNotStored(t *testing.T) {
	h := hsetup(t)
	var got *component.VerifyTicketEvent
	hd := h.handler(t, component.HandlerConfig{OnVerifyTicket: func(_ context.Context, ev *component.VerifyTicketEvent) error { got = ev; return nil }})
	mark := len(h.log.list())
	w := serve(hd, h.wx.push("/", "AppId", event("component_verify_ticket", time.Now().Add(-13*time.Hour), "ComponentVerifyTicket", "ticket@@@old"), time.Now()))
	assertSuccess(t, w)
	require.NotNil(t, got)
	assert.False(t, got.Stored)
	assert.Empty(t, h.writesSince(mark))
}

func TestHandlerVerifyTicketStoreFailure(t *testing.T) {
	h := hsetup(t)
	h.creds.failSet = func(string) bool { return true }
	called := false
	hd := h.handler(t, component.HandlerConfig{OnVerifyTicket: func(context.Context, *component.VerifyTicketEvent) error { called = true; return nil }})
	w := serve(hd, h.wx.push("/", "AppId", event("component_verify_ticket", time.Now(), "ComponentVerifyTicket", "ticket@@@x"), time.Now()))
	assert.Equal(t, http.StatusInternalServerError, w.Code, "a store failure makes WeChat retry")
	assert.False(t, called)
	assert.NotContains(t, w.Body.String(), "store is down")
}

func TestHandlerAuthorizedExchangesCode(t *testing.T) {
	for _, infoType := range []string{"authorized", "updateauthorized"} {
		t.Run(infoType, func(t *testing.T) {
			h := hsetup(t)
			qa := h.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer)
			var got *component.AuthorizedEvent
			cfg := component.HandlerConfig{}
			if infoType == "authorized" {
				cfg.OnAuthorized = func(_ context.Context, ev *component.AuthorizedEvent) error { got = ev; return nil }
			} else {
				cfg.OnUpdateAuthorized = func(_ context.Context, ev *component.UpdateAuthorizedEvent) error {
					got = (*component.AuthorizedEvent)(ev)
					return nil
				}
			}
			hd := h.handler(t, cfg)
			w := serve(hd, h.wx.push("/", "AppId", event(infoType, time.Now(),
				"AuthorizerAppid", "wxauthorizer01", "AuthorizationCode", "queryauthcode@@@X",
				"AuthorizationCodeExpiredTime", "1700000600", "PreAuthCode", "preauthcode@@@P"), time.Now()))
			assertSuccess(t, w)

			calls := qa.list()
			require.Len(t, calls, 1)
			assertCall(t, calls[0], "POST", "/cgi-bin/component/api_query_auth", compQuery(),
				map[string]any{"component_appid": compAppID, "authorization_code": "queryauthcode@@@X"})
			require.NotNil(t, got)
			assert.Equal(t, component.InfoType(infoType), got.InfoType)
			assert.Equal(t, "wxauthorizer01", got.AuthorizerAppID)
			assert.Equal(t, "queryauthcode@@@X", got.AuthorizationCode)
			assert.Equal(t, time.Unix(1700000600, 0), got.AuthorizationCodeExpiredTime)
			assert.Equal(t, "preauthcode@@@P", got.PreAuthCode)
			require.NotNil(t, got.Authorization)
			assert.Equal(t, "SECRET-RT-1", got.Authorization.RefreshToken)

			rt, err := get(t, h.creds, authKey("wxauthorizer01", "refresh_token"))
			require.NoError(t, err)
			assert.Equal(t, "SECRET-RT-1", rt.Value)
			assert.Equal(t, "push:"+infoType, h.creds.reason(authKey("wxauthorizer01", "refresh_token")))
			at, err := h.c.AuthorizerToken(context.Background(), "wxauthorizer01")
			require.NoError(t, err)
			assert.Equal(t, "SECRET-AT-1", at.Value)
		})
	}
}

func TestHandlerManualQueryAuth(t *testing.T) {
	h := hsetup(t)
	var got *component.AuthorizedEvent
	hd := h.handler(t, component.HandlerConfig{ManualQueryAuth: true,
		OnAuthorized: func(_ context.Context, ev *component.AuthorizedEvent) error { got = ev; return nil }})
	mark := len(h.log.list())
	w := serve(hd, h.wx.push("/", "AppId", event("authorized", time.Now(), "AuthorizerAppid", "wxA", "AuthorizationCode", "code"), time.Now()))
	assertSuccess(t, w)
	require.NotNil(t, got)
	assert.Nil(t, got.Authorization)
	assert.Equal(t, "code", got.AuthorizationCode)
	assert.Zero(t, h.mt.GetTotalCallCount())
	assert.Empty(t, h.writesSince(mark))
}

// AuthorizationCodeExpiredTime is a time: WeChat's unix time as sent, a number too small to be one
// counted as a lifetime from CreateTime, and none (absent, 0) the zero time.
func TestHandlerAuthorizationCodeExpiry(t *testing.T) {
	created := time.Now().Truncate(time.Second)
	for _, tc := range []struct {
		name   string
		fields []string
		want   time.Time
	}{
		{"unix time", []string{"AuthorizationCodeExpiredTime", "1700000600"}, time.Unix(1700000600, 0)},
		{"lifetime", []string{"AuthorizationCodeExpiredTime", "3600"}, created.Add(time.Hour)},
		{"zero", []string{"AuthorizationCodeExpiredTime", "0"}, time.Time{}},
		{"absent", nil, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hsetup(t)
			var got *component.AuthorizedEvent
			hd := h.handler(t, component.HandlerConfig{ManualQueryAuth: true,
				OnAuthorized: func(_ context.Context, ev *component.AuthorizedEvent) error { got = ev; return nil }})
			fields := append([]string{"AuthorizerAppid", "wxA", "AuthorizationCode", "code"}, tc.fields...)
			assertSuccess(t, serve(hd, h.wx.push("/", "AppId", event("authorized", created, fields...), time.Now())))
			require.NotNil(t, got)
			assert.True(t, tc.want.Equal(got.AuthorizationCodeExpiredTime), "got %v, want %v", got.AuthorizationCodeExpiredTime, tc.want)
			assert.Equal(t, tc.want.IsZero(), got.AuthorizationCodeExpiredTime.IsZero())
		})
	}
}

func TestHandlerAuthorizedQueryAuthFails(t *testing.T) {
	h := hsetup(t)
	h.on(t, "POST", "/cgi-bin/component/api_query_auth", `{"errcode":61010,"errmsg":"code is expired"}`)
	called := false
	hd := h.handler(t, component.HandlerConfig{OnAuthorized: func(context.Context, *component.AuthorizedEvent) error { called = true; return nil }})
	w := serve(hd, h.wx.push("/", "AppId", event("authorized", time.Now(), "AuthorizerAppid", "wxA", "AuthorizationCode", "code"), time.Now()))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.False(t, called)
}

func TestHandlerRetryAfterStoreOutageDoesNotReExchange(t *testing.T) {
	h := hsetup(t)
	qa := h.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer)
	h.creds.failSet = func(key string) bool { return strings.HasSuffix(key, ":refresh_token") }
	hd := h.handler(t, component.HandlerConfig{})
	req := func() *http.Request {
		return h.wx.push("/", "AppId", event("authorized", time.Unix(1700000000, 0), "AuthorizerAppid", "wxauthorizer01", "AuthorizationCode", "code1"), time.Now())
	}
	w := serve(hd, req())
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	// WeChat retries (a new encryption and signature of the same event) once the store is back.
	h.creds.failSet = nil
	assertSuccess(t, serve(hd, req()))
	assert.Len(t, qa.list(), 1, "the consumed code is not exchanged twice")
	rt, err := get(t, h.creds, authKey("wxauthorizer01", "refresh_token"))
	require.NoError(t, err)
	assert.Equal(t, "SECRET-RT-1", rt.Value)
}

func TestHandlerCallbackErrorIs500AndRetryWorks(t *testing.T) {
	h := hsetup(t)
	qa := h.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer)
	var buf bytes.Buffer
	fail := true
	calls := 0
	hd := h.handler(t, component.HandlerConfig{
		Logger: slog.New(slog.NewTextHandler(&buf, nil)),
		OnAuthorized: func(_ context.Context, ev *component.AuthorizedEvent) error {
			calls++
			require.NotNil(t, ev.Authorization)
			if fail {
				return errors.New("database busy")
			}
			return nil
		}})
	plain := event("authorized", time.Now(), "AuthorizerAppid", "wxauthorizer01", "AuthorizationCode", "code1")
	w := serve(hd, h.wx.push("/", "AppId", plain, time.Now()))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Contains(t, buf.String(), "database busy")
	fail = false
	assertSuccess(t, serve(hd, h.wx.push("/", "AppId", plain, time.Now())))
	assert.Equal(t, 2, calls, "the callback runs again on WeChat's retry")
	assert.Len(t, qa.list(), 1)
}

func TestHandlerUnauthorizedDropsTokens(t *testing.T) {
	h := hsetup(t)
	h.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer)
	_, err := h.c.QueryAuth(context.Background(), "code")
	require.NoError(t, err)
	_, err = h.c.AuthorizerToken(context.Background(), "wxauthorizer01") // warm in-process copy
	require.NoError(t, err)

	var got *component.UnauthorizedEvent
	hd := h.handler(t, component.HandlerConfig{OnUnauthorized: func(ctx context.Context, ev *component.UnauthorizedEvent) error {
		got = ev
		_, err := h.c.AuthorizerToken(ctx, "wxauthorizer01")
		assert.ErrorIs(t, err, wxerr.ErrNotAuthorized, "dropped before the callback runs")
		return nil
	}})
	w := serve(hd, h.wx.push("/", "AppId", event("unauthorized", time.Now(), "AuthorizerAppid", "wxauthorizer01"), time.Now()))
	assertSuccess(t, w)
	require.NotNil(t, got)
	assert.Equal(t, "wxauthorizer01", got.AuthorizerAppID)
	assert.False(t, got.Superseded)
	_, err = get(t, h.creds, authKey("wxauthorizer01", "refresh_token"))
	assert.ErrorIs(t, err, tokenstore.ErrNotFound)
	rec, err := get(t, h.creds, authKey("wxauthorizer01", "authorization"))
	require.NoError(t, err, "a revocation record stays")
	assert.Contains(t, rec.Value, `"revoked":true`)
	assert.WithinDuration(t, time.Now().Add(24*time.Hour), rec.ExpiresAt, time.Minute, "for a day")
	_, err = get(t, h.tokens, authKey("wxauthorizer01", "access_token"))
	assert.ErrorIs(t, err, tokenstore.ErrNotFound)
	assert.Equal(t, "push:unauthorized", h.creds.reason(authKey("wxauthorizer01", "refresh_token")))
	_, err = h.c.StoredAuthorization(context.Background(), "wxauthorizer01")
	assert.ErrorIs(t, err, wxerr.ErrNotAuthorized)
}

func TestHandlerFastRegister(t *testing.T) {
	h := hsetup(t)
	qa := h.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer)
	var got []*component.FastRegisterEvent
	hd := h.handler(t, component.HandlerConfig{OnFastRegister: func(_ context.Context, ev *component.FastRegisterEvent) error {
		got = append(got, ev)
		return nil
	}})
	ok := fmt.Sprintf(`<xml><AppId><![CDATA[%s]]></AppId><CreateTime>1535442403</CreateTime><InfoType><![CDATA[notify_third_fasteregister]]></InfoType>`+
		`<appid>wxauthorizer01</appid><status>0</status><auth_code>fastcode@@@1</auth_code><msg>OK</msg>`+
		`<info><name><![CDATA[某某公司]]></name><code><![CDATA[91440300MA5EXAMPLE]]></code><code_type>1</code_type>`+
		`<legal_persona_wechat><![CDATA[legalwx]]></legal_persona_wechat><legal_persona_name><![CDATA[张三]]></legal_persona_name>`+
		`<component_phone><![CDATA[1234567]]></component_phone></info></xml>`, compAppID)
	assertSuccess(t, serve(hd, h.wx.push("/", "AppId", ok, time.Now())))
	failed := fmt.Sprintf(`<xml><AppId><![CDATA[%s]]></AppId><CreateTime>1535442404</CreateTime><InfoType><![CDATA[notify_third_fasteregister]]></InfoType>`+
		`<status>100001</status><msg>legal person did not confirm</msg><info><name><![CDATA[某某公司]]></name></info></xml>`, compAppID)
	assertSuccess(t, serve(hd, h.wx.push("/", "AppId", failed, time.Now())))

	require.Len(t, got, 2)
	ev := got[0]
	assert.True(t, ev.Succeeded())
	assert.Equal(t, "wxauthorizer01", ev.MiniProgramAppID)
	assert.Equal(t, compAppID, ev.AppID, "AppId and appid are different fields")
	assert.Equal(t, "fastcode@@@1", ev.AuthCode)
	assert.Equal(t, "OK", ev.Msg)
	assert.Equal(t, component.FastRegisterInfo{Name: "某某公司", Code: "91440300MA5EXAMPLE", CodeType: 1,
		LegalPersonaWechat: "legalwx", LegalPersonaName: "张三", ComponentPhone: "1234567"}, ev.Info)
	require.NotNil(t, ev.Authorization)
	assert.Equal(t, "wxauthorizer01", ev.Authorization.AuthorizerAppID)
	calls := qa.list()
	require.Len(t, calls, 1, "only the successful registration is exchanged")
	assert.Equal(t, "fastcode@@@1", calls[0].Body["authorization_code"])
	_, err := get(t, h.creds, authKey("wxauthorizer01", "refresh_token"))
	require.NoError(t, err)

	assert.False(t, got[1].Succeeded())
	assert.Equal(t, 100001, got[1].Status)
	assert.Nil(t, got[1].Authorization)
}

func TestHandlerUnknownInfoType(t *testing.T) {
	h := hsetup(t)
	var got *component.PlatformEvent
	hd := h.handler(t, component.HandlerConfig{OnOther: func(_ context.Context, ev *component.PlatformEvent) error { got = ev; return nil }})
	plain := event("notify_new_thing", time.Unix(1700000000, 0), "Something", "value")
	mark := len(h.log.list())
	assertSuccess(t, serve(hd, h.wx.push("/", "AppId", plain, time.Now())))
	require.NotNil(t, got)
	assert.Equal(t, component.InfoType("notify_new_thing"), got.InfoType)
	assert.Equal(t, plain, string(got.Raw))
	assert.Empty(t, h.writesSince(mark))

	// Without a callback it is still acknowledged.
	assertSuccess(t, serve(h.handler(t, component.HandlerConfig{}), h.wx.push("/", "AppId", plain, time.Now())))
}

func TestHandlerReplayIsHarmless(t *testing.T) {
	h := hsetup(t)
	qa := h.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer)
	n := 0
	hd := h.handler(t, component.HandlerConfig{OnAuthorized: func(context.Context, *component.AuthorizedEvent) error { n++; return nil }})
	req := h.wx.push("/", "AppId", event("authorized", time.Now(), "AuthorizerAppid", "wxauthorizer01", "AuthorizationCode", "c"), time.Now())
	body, _ := readAll(req)
	for range 3 {
		r := httptest.NewRequest(http.MethodPost, req.URL.String(), bytes.NewReader(body))
		assertSuccess(t, serve(hd, r))
	}
	assert.Equal(t, 1, n, "the same push is acted on once")
	assert.Len(t, qa.list(), 1)

	// A replayed verify ticket does not change what is stored.
	tick := h.wx.push("/", "AppId", event("component_verify_ticket", time.Now(), "ComponentVerifyTicket", "ticket@@@1"), time.Now())
	tb, _ := readAll(tick)
	assertSuccess(t, serve(hd, httptest.NewRequest(http.MethodPost, tick.URL.String(), bytes.NewReader(tb))))
	before, err := get(t, h.creds, compAppID+":verify_ticket")
	require.NoError(t, err)
	assertSuccess(t, serve(hd, httptest.NewRequest(http.MethodPost, tick.URL.String(), bytes.NewReader(tb))))
	after, err := get(t, h.creds, compAppID+":verify_ticket")
	require.NoError(t, err)
	assert.Equal(t, before, after)
}

func readAll(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r.Body)
	return b.Bytes(), err
}

func TestHandlerRefusals(t *testing.T) {
	h := hsetup(t)
	called := false
	cb := func(context.Context, *component.PlatformEvent) error { called = true; return nil }
	var logBuf bytes.Buffer
	hd := h.handler(t, component.HandlerConfig{OnOther: cb,
		OnVerifyTicket: func(context.Context, *component.VerifyTicketEvent) error { called = true; return nil },
		Logger:         slog.New(slog.NewTextHandler(&logBuf, nil))})
	good := event("component_verify_ticket", time.Now(), "ComponentVerifyTicket", "ticket@@@x")
	now := time.Now()

	otherKey, err := crypto.NewMsgCrypt(msgToken, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq", compAppID)
	require.NoError(t, err)
	otherApp, err := crypto.NewMsgCrypt(msgToken, aesKey, "wxsomeoneelse")
	require.NoError(t, err)
	encWith := func(c *crypto.MsgCrypt, plain string) *http.Request {
		enc, err := c.Encrypt([]byte(plain))
		require.NoError(t, err)
		return h.wx.signed("/", "<xml><Encrypt><![CDATA["+enc+"]]></Encrypt></xml>", enc, now, "777")
	}
	badSig := h.wx.push("/", "AppId", good, now)
	q := badSig.URL.Query()
	q.Set("msg_signature", strings.Repeat("0", 40))
	badSig.URL.RawQuery = q.Encode()

	missing := h.wx.push("/", "AppId", good, now)
	q = missing.URL.Query()
	q.Del("nonce")
	missing.URL.RawQuery = q.Encode()

	huge := h.wx.signed("/", "<xml><Encrypt><![CDATA["+strings.Repeat("A", 70<<10)+"]]></Encrypt></xml>", strings.Repeat("A", 70<<10), now, "1")

	cases := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"bad signature", badSig, http.StatusUnauthorized},
		{"wrong method", httptest.NewRequest(http.MethodPut, "/", strings.NewReader(good)), http.StatusMethodNotAllowed},
		{"delete", httptest.NewRequest(http.MethodDelete, "/", nil), http.StatusMethodNotAllowed},
		{"oversized body", huge, http.StatusRequestEntityTooLarge},
		{"missing nonce", missing, http.StatusBadRequest},
		{"malformed envelope", h.wx.signed("/", "<xml><Encrypt>", "x", now, "1"), http.StatusBadRequest},
		{"not XML", h.wx.signed("/", "hello", "x", now, "1"), http.StatusBadRequest},
		{"malformed inner XML", h.wx.push("/", "AppId", "<xml><AppId>unclosed", now), http.StatusBadRequest},
		{"inner not xml root", h.wx.push("/", "AppId", "<root><InfoType>x</InfoType></root>", now), http.StatusBadRequest},
		{"no InfoType", h.wx.push("/", "AppId", "<xml><AppId><![CDATA["+compAppID+"]]></AppId></xml>", now), http.StatusBadRequest},
		{"other platform's AppId inside", h.wx.push("/", "AppId", strings.Replace(good, compAppID, "wxother", 1), now), http.StatusBadRequest},
		{"ticket push without ticket", h.wx.push("/", "AppId", event("component_verify_ticket", now), now), http.StatusBadRequest},
		{"undecryptable (other key)", encWith(otherKey, good), http.StatusBadRequest},
		{"wrong appid in ciphertext", encWith(otherApp, good), http.StatusBadRequest},
		{"stale timestamp", h.wx.push("/", "AppId", good, now.Add(-time.Hour)), http.StatusBadRequest},
		{"future timestamp", h.wx.push("/", "AppId", good, now.Add(time.Hour)), http.StatusBadRequest},
	}
	mark := len(h.log.list())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(hd, tc.req)
			assert.Equal(t, tc.status, w.Code, w.Body.String())
			assert.NotEqual(t, "success", w.Body.String())
		})
	}
	assert.False(t, called, "no callback runs for a refused push")
	assert.Empty(t, h.writesSince(mark), "nothing changes in the stores on failure")
	assert.Zero(t, h.mt.GetTotalCallCount())
	assert.Contains(t, logBuf.String(), "bad msg_signature")
	assert.NotContains(t, logBuf.String(), "ticket@@@x")

	w := serve(hd, httptest.NewRequest(http.MethodPut, "/", nil))
	assert.Equal(t, "GET, POST", w.Header().Get("Allow"))
}

func TestHandlerClockOptions(t *testing.T) {
	h := hsetup(t)
	past := time.Now().Add(-48 * time.Hour)
	plain := event("component_verify_ticket", past, "ComponentVerifyTicket", "ticket@@@emu")

	// The emulator's clock is two days behind: with its Now the push is fresh and the ticket is
	// stored with its full 12 hours on the local clock.
	hd := h.handler(t, component.HandlerConfig{Now: func() time.Time { return past.Add(time.Minute) }})
	assertSuccess(t, serve(hd, h.wx.push("/", "AppId", plain, past)))
	tok, err := h.c.VerifyTicket(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "ticket@@@emu", tok.Value)
	assert.WithinDuration(t, time.Now().Add(12*time.Hour-time.Minute), tok.ExpiresAt, 5*time.Second)

	// With the window off, an old timestamp is accepted (the ticket is still too old to store).
	hd = h.handler(t, component.HandlerConfig{MaxClockSkew: -1})
	assertSuccess(t, serve(hd, h.wx.push("/", "AppId", event("x_event", past), past)))

	// A tighter window.
	hd = h.handler(t, component.HandlerConfig{MaxClockSkew: time.Second})
	w := serve(hd, h.wx.push("/", "AppId", event("x_event", time.Now()), time.Now().Add(-time.Minute)))
	assert.Equal(t, http.StatusBadRequest, w.Code)
}

func TestHandlerBodyLimitOption(t *testing.T) {
	h := hsetup(t)
	hd := h.handler(t, component.HandlerConfig{MaxBodyBytes: 100})
	w := serve(hd, h.wx.push("/", "AppId", event("component_verify_ticket", time.Now(), "ComponentVerifyTicket", "ticket@@@x"), time.Now()))
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)

	_, err := component.NewHandler(h.c, component.HandlerConfig{MaxBodyBytes: -1})
	assert.True(t, wxerr.IsValidation(err))
	_, err = component.NewHandler(nil, component.HandlerConfig{})
	assert.True(t, wxerr.IsValidation(err))
	_, err = component.NewMessageHandler(nil, component.MessageHandlerConfig{})
	assert.True(t, wxerr.IsValidation(err))
}

func TestHandlerURLVerification(t *testing.T) {
	h := hsetup(t)
	hd := h.handler(t, component.HandlerConfig{})
	mh, err := component.NewMessageHandler(h.c, component.MessageHandlerConfig{})
	require.NoError(t, err)
	sig := crypto.SortedSHA1(msgToken, "1409304348", "xxxxxx")
	for _, handler := range []http.Handler{hd, mh} {
		w := serve(handler, httptest.NewRequest(http.MethodGet, "/?signature="+sig+"&timestamp=1409304348&nonce=xxxxxx&echostr=1616140317555161061", nil))
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "1616140317555161061", w.Body.String())
		assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))

		w = serve(handler, httptest.NewRequest(http.MethodGet, "/?signature="+strings.Repeat("a", 40)+"&timestamp=1409304348&nonce=xxxxxx&echostr=1", nil))
		assert.Equal(t, http.StatusUnauthorized, w.Code)
		assert.NotContains(t, w.Body.String(), "1616")
		w = serve(handler, httptest.NewRequest(http.MethodGet, "/?timestamp=1409304348&nonce=xxxxxx&echostr=1", nil))
		assert.Equal(t, http.StatusBadRequest, w.Code)
		w = serve(handler, httptest.NewRequest(http.MethodGet, "/?signature="+sig+"&timestamp=1409304348&nonce=xxxxxx&echostr="+url.QueryEscape("<script>"), nil))
		assert.Equal(t, http.StatusBadRequest, w.Code, "markup is never reflected")
	}
}

func TestHandlerConcurrentPushes(t *testing.T) {
	h := hsetup(t)
	var mu sync.Mutex
	seen := map[string]bool{}
	hd := h.handler(t, component.HandlerConfig{OnOther: func(_ context.Context, ev *component.PlatformEvent) error {
		mu.Lock()
		seen[string(ev.Raw)] = true
		mu.Unlock()
		return nil
	}})
	reqs := make([]*http.Request, 40)
	for i := range reqs {
		reqs[i] = h.wx.push("/", "AppId", event("x_event", time.Now(), "N", strconv.Itoa(i)), time.Now())
	}
	var wg sync.WaitGroup
	for _, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := serve(hd, r)
			assert.Equal(t, http.StatusOK, w.Code)
		}()
	}
	wg.Wait()
	assert.Len(t, seen, 40)
}

// --- message handler ----------------------------------------------------------------------------

func msgXML(event string, extra string) string {
	return "<xml><ToUserName><![CDATA[gh_fb9688c2a4b2]]></ToUserName><FromUserName><![CDATA[od1P50M-fNQI5Gcq-trm4a7apsU8]]></FromUserName>" +
		"<CreateTime>1488856741</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[" + event + "]]></Event>" + extra + "</xml>"
}

func TestMessageHandlerAuditEvents(t *testing.T) {
	h := hsetup(t)
	var success *component.AuditSuccessEvent
	var fail *component.AuditFailEvent
	var delay *component.AuditDelayEvent
	var other []*component.Message
	mh, err := component.NewMessageHandler(h.c, component.MessageHandlerConfig{
		OnAuditSuccess: func(_ context.Context, ev *component.AuditSuccessEvent) error { success = ev; return nil },
		OnAuditFail:    func(_ context.Context, ev *component.AuditFailEvent) error { fail = ev; return nil },
		OnAuditDelay:   func(_ context.Context, ev *component.AuditDelayEvent) error { delay = ev; return nil },
		OnMessage:      func(_ context.Context, m *component.Message) error { other = append(other, m); return nil },
	})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/wechat/msg/{appid}", mh)
	now := time.Now()
	post := func(plain string) {
		t.Helper()
		assertSuccess(t, serve(mux, h.wx.push("/wechat/msg/wxauthorizer01", "ToUserName", plain, now)))
	}
	post(msgXML("weapp_audit_success", "<SuccTime>1488856741</SuccTime>"))
	post(msgXML("weapp_audit_fail", "<Reason><![CDATA[1:账号信息不符合规范:<br>(1):包含色情因素<br>]]></Reason><FailTime>1488856742</FailTime><ScreenShot><![CDATA[xxx|yyy|zzz]]></ScreenShot>"))
	post(msgXML("weapp_audit_delay", "<Reason><![CDATA[审核延后]]></Reason><DelayTime>1488856743</DelayTime>"))
	post(msgXML("wxa_future_event", "<ret>2</ret>"))
	post("<xml><ToUserName><![CDATA[gh_fb9688c2a4b2]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>")

	require.NotNil(t, success)
	assert.Equal(t, "wxauthorizer01", success.AuthorizerAppID)
	assert.Equal(t, "gh_fb9688c2a4b2", success.ToUserName)
	assert.Equal(t, "od1P50M-fNQI5Gcq-trm4a7apsU8", success.FromUserName)
	assert.Equal(t, "event", success.MsgType)
	assert.Equal(t, component.EventAuditSuccess, success.Event)
	assert.Equal(t, time.Unix(1488856741, 0), success.SuccTime)
	assert.Equal(t, time.Unix(1488856741, 0), success.CreateTime)

	require.NotNil(t, fail)
	assert.Equal(t, "1:账号信息不符合规范:<br>(1):包含色情因素<br>", fail.Reason)
	assert.Equal(t, []string{"xxx", "yyy", "zzz"}, fail.ScreenShots)
	assert.Equal(t, time.Unix(1488856742, 0), fail.FailTime)

	require.NotNil(t, delay)
	assert.Equal(t, "审核延后", delay.Reason)
	assert.Equal(t, time.Unix(1488856743, 0), delay.DelayTime)

	require.Len(t, other, 2)
	assert.Equal(t, component.Event("wxa_future_event"), other[0].Event)
	assert.Contains(t, string(other[0].Raw), "<ret>2</ret>")
	assert.Equal(t, "text", other[1].MsgType)
	assert.Equal(t, "wxauthorizer01", other[1].AuthorizerAppID)
}

func TestMessageHandlerAppIDSources(t *testing.T) {
	h := hsetup(t)
	var got []string
	cfg := component.MessageHandlerConfig{OnAuditSuccess: func(_ context.Context, ev *component.AuditSuccessEvent) error {
		got = append(got, ev.AuthorizerAppID)
		return nil
	}}
	mh, err := component.NewMessageHandler(h.c, cfg)
	require.NoError(t, err)
	plain := func(i int) string { return msgXML("weapp_audit_success", "<SuccTime>"+strconv.Itoa(i)+"</SuccTime>") }
	assertSuccess(t, serve(mh, h.wx.push("/cb/wxA1b2", "ToUserName", plain(1), time.Now())))  // last segment
	assertSuccess(t, serve(mh, h.wx.push("/cb/wxA1b2/", "ToUserName", plain(2), time.Now()))) // trailing slash
	// Without an appid a push cannot be bound to its account: refused.
	assert.Equal(t, http.StatusBadRequest, serve(mh, h.wx.push("/cb/events", "ToUserName", plain(3), time.Now())).Code)
	assert.Equal(t, http.StatusBadRequest, serve(mh, h.wx.push("/cb/wx$APPID$", "ToUserName", plain(4), time.Now())).Code)

	cfg.AppIDFromRequest = func(r *http.Request) string { return r.URL.Query().Get("appid") }
	mh2, err := component.NewMessageHandler(h.c, cfg)
	require.NoError(t, err)
	r := h.wx.push("/cb", "ToUserName", plain(5), time.Now())
	q := r.URL.Query()
	q.Set("appid", "wxfromquery")
	r.URL.RawQuery = q.Encode()
	assertSuccess(t, serve(mh2, r))
	assert.Equal(t, []string{"wxA1b2", "wxA1b2", "wxfromquery"}, got)
}

func TestMessageHandlerRefusalsAndErrors(t *testing.T) {
	h := hsetup(t)
	fail := true
	mh, err := component.NewMessageHandler(h.c, component.MessageHandlerConfig{
		OnMessage: func(context.Context, *component.Message) error {
			if fail {
				return errors.New("queue full")
			}
			return nil
		}})
	require.NoError(t, err)
	now := time.Now()
	text := "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><MsgType><![CDATA[text]]></MsgType></xml>"
	assert.Equal(t, http.StatusInternalServerError, serve(mh, h.wx.push("/wxA", "ToUserName", text, now)).Code)
	fail = false
	assertSuccess(t, serve(mh, h.wx.push("/wxA", "ToUserName", text, now)))

	assert.Equal(t, http.StatusBadRequest, serve(mh, h.wx.push("/wxA", "ToUserName", "<xml><ToUserName>gh</ToUserName></xml>", now)).Code, "no MsgType")
	assert.Equal(t, http.StatusBadRequest, serve(mh, h.wx.push("/wxA", "ToUserName", "<xml><MsgType>", now)).Code)
	bad := h.wx.push("/wxA", "ToUserName", text, now)
	q := bad.URL.Query()
	q.Set("msg_signature", strings.Repeat("1", 40))
	bad.URL.RawQuery = q.Encode()
	assert.Equal(t, http.StatusUnauthorized, serve(mh, bad).Code)
	assert.Equal(t, http.StatusMethodNotAllowed, serve(mh, httptest.NewRequest(http.MethodPatch, "/wxA", nil)).Code)
}

func TestHandlerConcurrentDeliveriesShareOneDispatch(t *testing.T) {
	h := hsetup(t)
	qa := h.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer)
	var mu sync.Mutex
	calls := 0
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	hd := h.handler(t, component.HandlerConfig{OnAuthorized: func(context.Context, *component.AuthorizedEvent) error {
		mu.Lock()
		calls++
		mu.Unlock()
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		return nil
	}})
	req := h.wx.push("/", "AppId", event("authorized", time.Now(), "AuthorizerAppid", "wxauthorizer01", "AuthorizationCode", "c"), time.Now())
	body, _ := readAll(req)
	var wg sync.WaitGroup
	codes := make([]int, 5)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = serve(hd, httptest.NewRequest(http.MethodPost, req.URL.String(), bytes.NewReader(body))).Code
		}()
	}
	<-entered
	time.Sleep(20 * time.Millisecond) // the other deliveries arrive while the first is being handled
	close(release)
	wg.Wait()
	assert.Equal(t, []int{200, 200, 200, 200, 200}, codes)
	assert.Equal(t, 1, calls)
	assert.Len(t, qa.list(), 1)
}

func TestHandlerOutlivesWeChatHangingUp(t *testing.T) {
	h := hsetup(t)
	var cbErr error
	hd := h.handler(t, component.HandlerConfig{OnVerifyTicket: func(ctx context.Context, _ *component.VerifyTicketEvent) error {
		cbErr = ctx.Err()
		return nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // WeChat has already given up waiting
	req := h.wx.push("/", "AppId", event("component_verify_ticket", time.Now(), "ComponentVerifyTicket", "ticket@@@late"), time.Now()).WithContext(ctx)
	assertSuccess(t, serve(hd, req))
	assert.NoError(t, cbErr)
	tok, err := h.c.VerifyTicket(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "ticket@@@late", tok.Value)
}

// Two deliveries of one push racing each other: the second must not start a dispatch of its own
// after the first has finished (it checked the memory of handled pushes before the first recorded it).
func TestHandlerRacingDeliveriesActOnce(t *testing.T) {
	h := hsetup(t)
	var mu sync.Mutex
	count := map[string]int{}
	hd := h.handler(t, component.HandlerConfig{OnOther: func(_ context.Context, ev *component.PlatformEvent) error {
		mu.Lock()
		count[string(ev.Raw)]++
		mu.Unlock()
		return nil
	}})
	const pushes, deliveries = 500, 4
	for i := range pushes {
		req := h.wx.push("/", "AppId", event("x_event", time.Now(), "N", strconv.Itoa(i)), time.Now())
		body, _ := readAll(req)
		var wg sync.WaitGroup
		for range deliveries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assertSuccess(t, serve(hd, httptest.NewRequest(http.MethodPost, req.URL.String(), bytes.NewReader(body))))
			}()
		}
		wg.Wait()
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, count, pushes)
	for raw, n := range count {
		if n != 1 {
			t.Errorf("push %q handled %d times", raw, n)
		}
	}
}
