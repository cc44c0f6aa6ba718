package wxtest_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/wxtest"
)

const (
	pComponentToken  = "/cgi-bin/component/api_component_token"
	pStartPush       = "/cgi-bin/component/api_start_push_ticket"
	pPreAuth         = "/cgi-bin/component/api_create_preauthcode"
	pQueryAuth       = "/cgi-bin/component/api_query_auth"
	pAuthorizerToken = "/cgi-bin/component/api_authorizer_token"
	pAuthorizerInfo  = "/cgi-bin/component/api_get_authorizer_info"
	pGetOptOld       = "/cgi-bin/component/api_get_authorizer_option"
	pSetOptOld       = "/cgi-bin/component/api_set_authorizer_option"
	pGetOpt          = "/cgi-bin/component/get_authorizer_option"
	pSetOpt          = "/cgi-bin/component/set_authorizer_option"
	pList            = "/cgi-bin/component/api_get_authorizer_list"
	pClearQuota      = "/cgi-bin/component/clear_quota"
	pJSCode2Session  = "/sns/component/jscode2session"

	miniApp = "wx1111111111111111"
	mpApp   = "wx2222222222222222"
)

var accessTokenRE = regexp.MustCompile(`^[0-9]{2}_[A-Za-z0-9_-]{86}$`)

func tokenBody(e *env, ticket string) map[string]string {
	return map[string]string{
		"component_appid": e.app.AppID, "component_appsecret": e.app.AppSecret, "component_verify_ticket": ticket,
	}
}

func TestComponentTokenIssuesRandomExpiringToken(t *testing.T) {
	e := newEnv(t)
	ticket := e.pushTicket()
	assert.Regexp(t, `^ticket@@@[A-Za-z0-9]+$`, ticket)

	r := e.post(pComponentToken, "", tokenBody(e, ticket))
	requireCode(t, 0, r)
	assert.NotContains(t, r, "errcode", "token endpoints omit errcode on success")
	assert.Equal(t, 7200, r.num("expires_in"))
	tok := r.str("component_access_token")
	assert.Regexp(t, accessTokenRE, tok)
	assert.True(t, e.s.ComponentAccessTokenValid(tok))

	r2 := e.post(pComponentToken, "", tokenBody(e, ticket))
	assert.NotEqual(t, tok, r2.str("component_access_token"), "every call issues a new token")

	e.s.Advance(7200 * time.Second)
	assert.False(t, e.s.ComponentAccessTokenValid(r2.str("component_access_token")), "expired after 7200 s")
	requireCode(t, 42001, e.post(pPreAuth, r2.str("component_access_token"), map[string]string{"component_appid": e.app.AppID}))
}

func TestComponentTokenRefusals(t *testing.T) {
	e := newEnv(t)
	app := e.app
	// No ticket pushed yet: any ticket is invalid.
	requireCode(t, 61006, e.post(pComponentToken, "", tokenBody(e, "ticket@@@never-pushed")))

	ticket := e.pushTicket()
	cases := []struct {
		name string
		body any
		want int
	}{
		{"empty body", "", 44002},
		{"bad JSON", `{"component_appid":`, 47001},
		{"wrong type", `{"component_appid":123}`, 47001},
		{"missing appid", map[string]string{"component_appsecret": app.AppSecret, "component_verify_ticket": ticket}, 41018},
		{"malformed appid", map[string]string{"component_appid": "nope", "component_appsecret": app.AppSecret, "component_verify_ticket": ticket}, 40013},
		{"other appid", map[string]string{"component_appid": "wx0123456789abcdef", "component_appsecret": app.AppSecret, "component_verify_ticket": ticket}, 61011},
		{"missing secret", map[string]string{"component_appid": app.AppID, "component_verify_ticket": ticket}, 41004},
		{"wrong secret", map[string]string{"component_appid": app.AppID, "component_appsecret": app.AppSecret + "x", "component_verify_ticket": ticket}, 40125},
		{"missing ticket", map[string]string{"component_appid": app.AppID, "component_appsecret": app.AppSecret}, 47001},
		{"unknown ticket", tokenBody(e, "ticket@@@forged"), 61006},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireCode(t, tc.want, e.post(pComponentToken, "", tc.body))
		})
	}

	// A newer push makes the previous ticket stale.
	newer := e.pushTicket()
	requireCode(t, 61006, e.post(pComponentToken, "", tokenBody(e, ticket)))
	requireCode(t, 0, e.post(pComponentToken, "", tokenBody(e, newer)))

	// The latest ticket expires after 12 hours.
	e.s.Advance(12*time.Hour - time.Second)
	requireCode(t, 0, e.post(pComponentToken, "", tokenBody(e, newer)))
	e.s.Advance(time.Second)
	requireCode(t, 61005, e.post(pComponentToken, "", tokenBody(e, newer)))

	// Wrong method.
	requireCode(t, 43002, e.do(http.MethodGet, pComponentToken, nil, nil))
}

func TestPreviousComponentTokenGracePeriod(t *testing.T) {
	e := newEnv(t)
	ticket := e.pushTicket()
	t1 := e.post(pComponentToken, "", tokenBody(e, ticket)).str("component_access_token")
	e.s.Advance(time.Hour)
	t2 := e.post(pComponentToken, "", tokenBody(e, ticket)).str("component_access_token")
	body := map[string]string{"component_appid": e.app.AppID}

	e.s.Advance(5*time.Minute - time.Second)
	requireCode(t, 0, e.post(pPreAuth, t1, body))
	assert.True(t, e.s.ComponentAccessTokenValid(t1))
	e.s.Advance(time.Second)
	requireCode(t, 40001, e.post(pPreAuth, t1, body))
	assert.False(t, e.s.ComponentAccessTokenValid(t1))
	requireCode(t, 0, e.post(pPreAuth, t2, body))

	// A third token cuts t2's life to 5 minutes, not t1's grace back to life.
	t3 := e.post(pComponentToken, "", tokenBody(e, ticket)).str("component_access_token")
	e.s.Advance(5 * time.Minute)
	requireCode(t, 40001, e.post(pPreAuth, t2, body))
	requireCode(t, 0, e.post(pPreAuth, t3, body))
}

func TestTokenChecks(t *testing.T) {
	e := newEnv(t)
	ct := e.componentToken()
	at, _ := e.authorize(ct, miniApp)
	compBody := map[string]string{"component_appid": e.app.AppID}
	optBody := map[string]string{"option_name": "voice_recognize"}
	unknown := "88_" + base64.RawURLEncoding.EncodeToString(make([]byte, 64))

	// Component endpoints: both query names work.
	requireCode(t, 0, e.do(http.MethodPost, pPreAuth, url.Values{"component_access_token": {ct}}, compBody))
	requireCode(t, 0, e.do(http.MethodPost, pPreAuth, url.Values{"access_token": {ct}}, compBody))
	requireCode(t, 41021, e.do(http.MethodPost, pPreAuth, nil, compBody))
	requireCode(t, 40014, e.post(pPreAuth, "not-a-token", compBody))
	requireCode(t, 40014, e.post(pPreAuth, ct+"x", compBody))
	requireCode(t, 40001, e.post(pPreAuth, unknown, compBody))
	requireCode(t, 40001, e.post(pPreAuth, at, compBody), "an authorizer token is the wrong kind")

	// Authorizer endpoints.
	requireCode(t, 0, e.do(http.MethodPost, pGetOpt, url.Values{"access_token": {at}}, optBody))
	requireCode(t, 41001, e.do(http.MethodPost, pGetOpt, nil, optBody))
	requireCode(t, 41001, e.do(http.MethodPost, pGetOpt, url.Values{"component_access_token": {at}}, optBody))
	requireCode(t, 40014, e.do(http.MethodPost, pGetOpt, url.Values{"access_token": {"bad"}}, optBody))
	requireCode(t, 40001, e.do(http.MethodPost, pGetOpt, url.Values{"access_token": {unknown}}, optBody))
	requireCode(t, 40001, e.do(http.MethodPost, pGetOpt, url.Values{"access_token": {ct}}, optBody), "a component token is the wrong kind")

	// Both expire after 2 hours on the emulator clock.
	e.s.Advance(2 * time.Hour)
	requireCode(t, 42001, e.post(pPreAuth, ct, compBody))
	requireCode(t, 42001, e.do(http.MethodPost, pGetOpt, url.Values{"access_token": {at}}, optBody))
	assert.False(t, e.s.AuthorizerAccessTokenValid(miniApp, at))
}

func TestStartPushTicket(t *testing.T) {
	e := newEnv(t)
	old := e.pushTicket()
	n := len(e.rx.all())
	body := map[string]string{"component_appid": e.app.AppID, "component_secret": e.app.AppSecret}
	requireCode(t, 0, e.post(pStartPush, "", body))
	// The push arrived before the answer.
	require.Len(t, e.rx.all(), n+1)
	ev := e.rx.last()
	assert.Equal(t, "component_verify_ticket", ev.Fields["InfoType"])
	fresh := ev.Fields["ComponentVerifyTicket"]
	require.NotEqual(t, old, fresh)
	requireCode(t, 61006, e.post(pComponentToken, "", tokenBody(e, old)))
	requireCode(t, 0, e.post(pComponentToken, "", tokenBody(e, fresh)))

	requireCode(t, 40125, e.post(pStartPush, "", map[string]string{"component_appid": e.app.AppID, "component_secret": "wrong"}))
	requireCode(t, 41004, e.post(pStartPush, "", map[string]string{"component_appid": e.app.AppID}))
	requireCode(t, 41018, e.post(pStartPush, "", map[string]string{"component_secret": e.app.AppSecret}))
	requireCode(t, 61011, e.post(pStartPush, "", map[string]string{"component_appid": "wx0123456789abcdef", "component_secret": e.app.AppSecret}))
	assert.Len(t, e.rx.all(), n+1, "refused calls push nothing")
}

func TestPreAuthCode(t *testing.T) {
	e := newEnv(t)
	ct := e.componentToken()
	body := map[string]string{"component_appid": e.app.AppID}
	r := e.post(pPreAuth, ct, body)
	requireCode(t, 0, r)
	assert.Equal(t, 1800, r.num("expires_in"))
	code := r.str("pre_auth_code")
	assert.Regexp(t, `^preauthcode@@@[A-Za-z0-9]+$`, code)
	assert.NotEqual(t, code, e.post(pPreAuth, ct, body).str("pre_auth_code"))

	requireCode(t, 41018, e.post(pPreAuth, ct, map[string]string{}))
	requireCode(t, 61011, e.post(pPreAuth, ct, map[string]string{"component_appid": "wx0123456789abcdef"}))
	requireCode(t, 47001, e.post(pPreAuth, ct, "{"))

	ctx := context.Background()
	_, err := e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: miniApp, PreAuthCode: "preauthcode@@@unknown"})
	require.Error(t, err)

	_, err = e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: miniApp, PreAuthCode: code})
	require.NoError(t, err)
	assert.Equal(t, code, e.rx.last().Fields["PreAuthCode"])
	_, err = e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: miniApp, PreAuthCode: code})
	require.Error(t, err, "a pre_auth_code is single-use")

	late := e.post(pPreAuth, ct, body).str("pre_auth_code")
	e.s.Advance(1800 * time.Second)
	_, err = e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: miniApp, PreAuthCode: late})
	require.Error(t, err, "a pre_auth_code expires after 1800 s")
}

func TestAuthorizeAndQueryAuth(t *testing.T) {
	e := newEnv(t, wxtest.WithStartTime(time.Unix(1700000000, 0)))
	ct := e.componentToken()
	ctx := context.Background()

	code, err := e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: miniApp, FuncInfo: []int{17, 18}})
	require.NoError(t, err)
	ev := e.rx.last()
	assert.Equal(t, "/auth", ev.Path)
	assert.Equal(t, e.app.AppID, ev.Envelope.AppID, "platform events carry AppId in the envelope")
	assert.Empty(t, ev.Envelope.ToUserName)
	assert.Equal(t, map[string]string{
		"AppId":                        e.app.AppID,
		"CreateTime":                   "1700000000",
		"InfoType":                     "authorized",
		"AuthorizerAppid":              miniApp,
		"AuthorizationCode":            code,
		"AuthorizationCodeExpiredTime": strconv.Itoa(1700000000 + 600),
		"PreAuthCode":                  "",
	}, ev.Fields)
	refresh, ok := e.s.AuthorizerRefreshToken(miniApp)
	require.True(t, ok)
	assert.Regexp(t, `^refreshtoken@@@`, refresh)

	body := map[string]string{"component_appid": e.app.AppID, "authorization_code": code}
	r := e.post(pQueryAuth, ct, body)
	requireCode(t, 0, r)
	info := r.obj("authorization_info")
	assert.Equal(t, miniApp, info.str("authorizer_appid"))
	assert.Equal(t, refresh, info.str("authorizer_refresh_token"))
	assert.Equal(t, 7200, info.num("expires_in"))
	at := info.str("authorizer_access_token")
	assert.True(t, e.s.AuthorizerAccessTokenValid(miniApp, at))
	assert.False(t, e.s.AuthorizerAccessTokenValid(mpApp, at))
	assert.Equal(t, []any{
		map[string]any{"funcscope_category": map[string]any{"id": float64(17)}},
		map[string]any{"funcscope_category": map[string]any{"id": float64(18)}},
	}, info["func_info"])

	// Single-use.
	requireCode(t, 61009, e.post(pQueryAuth, ct, body))
	requireCode(t, 61009, e.post(pQueryAuth, ct, map[string]string{"component_appid": e.app.AppID, "authorization_code": "queryauthcode@@@x"}))
	requireCode(t, 47001, e.post(pQueryAuth, ct, map[string]string{"component_appid": e.app.AppID}))
	requireCode(t, 41018, e.post(pQueryAuth, ct, map[string]string{"authorization_code": code}))

	// Expiry: 600 s. Authorising again pushes updateauthorized.
	code2, err := e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: miniApp})
	require.NoError(t, err)
	assert.Equal(t, "updateauthorized", e.rx.last().Fields["InfoType"])
	refresh2, _ := e.s.AuthorizerRefreshToken(miniApp)
	assert.Equal(t, refresh, refresh2, "re-authorising keeps the refresh token")
	e.s.Advance(600 * time.Second)
	ct = e.componentToken()
	requireCode(t, 61010, e.post(pQueryAuth, ct, map[string]string{"component_appid": e.app.AppID, "authorization_code": code2}))

	// An unknown appid is added as a mini program.
	a, ok := e.s.Authorizer(miniApp)
	require.True(t, ok)
	assert.True(t, a.MiniProgram)
	assert.Regexp(t, `^gh_[0-9a-f]{12}$`, a.UserName)
}

func TestUpdateAndUnauthorize(t *testing.T) {
	e := newEnv(t)
	ct := e.componentToken()
	ctx := context.Background()
	at, refresh := e.authorize(ct, miniApp)

	code, err := e.s.UpdateAuthorization(ctx, miniApp, 18, 19, 25)
	require.NoError(t, err)
	ev := e.rx.last()
	assert.Equal(t, "updateauthorized", ev.Fields["InfoType"])
	assert.Equal(t, code, ev.Fields["AuthorizationCode"])
	r := e.post(pQueryAuth, ct, map[string]string{"component_appid": e.app.AppID, "authorization_code": code})
	requireCode(t, 0, r)
	assert.Len(t, r.obj("authorization_info")["func_info"], 3)

	pending, err := e.s.UpdateAuthorization(ctx, miniApp)
	require.NoError(t, err)

	require.NoError(t, e.s.Unauthorize(ctx, miniApp))
	ev = e.rx.last()
	assert.Equal(t, map[string]string{
		"AppId": e.app.AppID, "CreateTime": ev.Fields["CreateTime"], "InfoType": "unauthorized", "AuthorizerAppid": miniApp,
	}, ev.Fields)
	_, ok := e.s.AuthorizerRefreshToken(miniApp)
	assert.False(t, ok)
	assert.False(t, e.s.Authorized(miniApp))
	assert.False(t, e.s.AuthorizerAccessTokenValid(miniApp, at))
	requireCode(t, 40001, e.do(http.MethodPost, pGetOpt, url.Values{"access_token": {at}}, map[string]string{"option_name": "voice_recognize"}))
	requireCode(t, 61023, e.post(pAuthorizerToken, ct, map[string]string{
		"component_appid": e.app.AppID, "authorizer_appid": miniApp, "authorizer_refresh_token": refresh,
	}))
	requireCode(t, 61009, e.post(pQueryAuth, ct, map[string]string{"component_appid": e.app.AppID, "authorization_code": pending}))
	requireCode(t, 61003, e.post(pAuthorizerInfo, ct, map[string]string{"component_appid": e.app.AppID, "authorizer_appid": miniApp}))

	require.Error(t, e.s.Unauthorize(ctx, miniApp), "not authorised any more")
	_, err = e.s.UpdateAuthorization(ctx, miniApp)
	require.Error(t, err)

	// Authorising again issues a new refresh token.
	_, refresh2 := e.authorize(ct, miniApp)
	assert.NotEqual(t, refresh, refresh2)
	assert.Equal(t, "authorized", e.rx.all()[len(e.rx.all())-1].Fields["InfoType"])
}

func TestAuthorizerToken(t *testing.T) {
	e := newEnv(t)
	ct := e.componentToken()
	at, refresh := e.authorize(ct, miniApp)
	body := func(appID, rt string) map[string]string {
		return map[string]string{"component_appid": e.app.AppID, "authorizer_appid": appID, "authorizer_refresh_token": rt}
	}

	r := e.post(pAuthorizerToken, ct, body(miniApp, refresh))
	requireCode(t, 0, r)
	assert.NotContains(t, r, "errcode")
	at2 := r.str("authorizer_access_token")
	assert.Regexp(t, accessTokenRE, at2)
	assert.NotEqual(t, at, at2)
	assert.Equal(t, refresh, r.str("authorizer_refresh_token"), "WeChat keeps the refresh token")
	assert.Equal(t, 7200, r.num("expires_in"))
	assert.True(t, e.s.AuthorizerAccessTokenValid(miniApp, at2))
	assert.True(t, e.s.AuthorizerAccessTokenValid(miniApp, at), "the previous token keeps working 5 minutes")
	e.s.Advance(5 * time.Minute)
	assert.False(t, e.s.AuthorizerAccessTokenValid(miniApp, at))
	assert.True(t, e.s.AuthorizerAccessTokenValid(miniApp, at2))

	requireCode(t, 61023, e.post(pAuthorizerToken, ct, body(miniApp, "refreshtoken@@@wrong")))
	requireCode(t, 61003, e.post(pAuthorizerToken, ct, body(mpApp, refresh)), "unknown authorizer")
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: mpApp})
	requireCode(t, 61003, e.post(pAuthorizerToken, ct, body(mpApp, refresh)), "known but never authorised")
	requireCode(t, 47001, e.post(pAuthorizerToken, ct, body("", refresh)))
	requireCode(t, 47001, e.post(pAuthorizerToken, ct, body(miniApp, "")))
	requireCode(t, 41018, e.post(pAuthorizerToken, ct, map[string]string{"authorizer_appid": miniApp, "authorizer_refresh_token": refresh}))

	// Rotation.
	e.s.RotateRefreshTokens(true)
	r = e.post(pAuthorizerToken, ct, body(miniApp, refresh))
	requireCode(t, 0, r)
	rotated := r.str("authorizer_refresh_token")
	assert.NotEqual(t, refresh, rotated)
	cur, _ := e.s.AuthorizerRefreshToken(miniApp)
	assert.Equal(t, rotated, cur)
	requireCode(t, 61023, e.post(pAuthorizerToken, ct, body(miniApp, refresh)))
	e.s.RotateRefreshTokens(false)
	requireCode(t, 0, e.post(pAuthorizerToken, ct, body(miniApp, rotated)))
	requireCode(t, 0, e.post(pAuthorizerToken, ct, body(miniApp, rotated)))
}

func TestGetAuthorizerInfo(t *testing.T) {
	e := newEnv(t)
	ct := e.componentToken()
	e.s.AddAuthorizer(wxtest.Authorizer{
		AppID: mpApp, UserName: "gh_abcdefabcdef", NickName: "公众号", PrincipalName: "Acme <Ltd>",
		ServiceType: 2, VerifyType: 0, Alias: "acme", Business: wxtest.BusinessInfo{OpenPay: 1, OpenCard: 1},
	})
	e.s.AddAuthorizer(wxtest.Authorizer{
		AppID: miniApp, MiniProgram: true, NickName: "小程序",
		Categories: []wxtest.Category{{First: "教育", Second: "在线教育"}},
		Network:    wxtest.Network{RequestDomain: []string{"https://api.example.com"}},
	})
	e.authorize(ct, mpApp)
	e.authorize(ct, miniApp)
	body := func(id string) map[string]string {
		return map[string]string{"component_appid": e.app.AppID, "authorizer_appid": id}
	}

	r := e.post(pAuthorizerInfo, ct, body(mpApp))
	requireCode(t, 0, r)
	ai := r.obj("authorizer_info")
	assert.Equal(t, "公众号", ai.str("nick_name"))
	assert.Equal(t, "gh_abcdefabcdef", ai.str("user_name"))
	assert.Equal(t, "Acme <Ltd>", ai.str("principal_name"))
	assert.Equal(t, "acme", ai.str("alias"))
	assert.Equal(t, 2, ai.obj("service_type_info").num("id"))
	assert.Equal(t, 0, ai.obj("verify_type_info").num("id"))
	assert.Equal(t, 1, ai.obj("business_info").num("open_pay"))
	assert.Equal(t, 0, ai.obj("business_info").num("open_store"))
	assert.Equal(t, 1, ai.num("account_status"))
	assert.NotEmpty(t, ai.str("head_img"))
	assert.NotContains(t, ai, "MiniProgramInfo")
	auth := r.obj("authorization_info")
	refresh, _ := e.s.AuthorizerRefreshToken(mpApp)
	assert.Equal(t, mpApp, auth.str("authorizer_appid"))
	assert.Equal(t, refresh, auth.str("authorizer_refresh_token"))
	assert.NotEmpty(t, auth["func_info"])

	r = e.post(pAuthorizerInfo, ct, body(miniApp))
	requireCode(t, 0, r)
	mi := r.obj("authorizer_info").obj("MiniProgramInfo")
	require.NotNil(t, mi)
	assert.Equal(t, []any{map[string]any{"first": "教育", "second": "在线教育"}}, mi["categories"])
	assert.Equal(t, []any{"https://api.example.com"}, mi.obj("network")["RequestDomain"])
	assert.Equal(t, []any{}, mi.obj("network")["UploadDomain"])

	requireCode(t, 61003, e.post(pAuthorizerInfo, ct, body("wx9999999999999999")))
	requireCode(t, 47001, e.post(pAuthorizerInfo, ct, body("")))
	requireCode(t, 41018, e.post(pAuthorizerInfo, ct, map[string]string{"authorizer_appid": miniApp}))
}

func TestAuthorizerOptions(t *testing.T) {
	e := newEnv(t)
	ct := e.componentToken()
	at, _ := e.authorize(ct, mpApp)
	old := func(name string, value any) map[string]any {
		m := map[string]any{"component_appid": e.app.AppID, "authorizer_appid": mpApp, "option_name": name}
		if value != nil {
			m["option_value"] = value
		}
		return m
	}

	r := e.post(pGetOptOld, ct, old("location_report", nil))
	requireCode(t, 0, r)
	assert.Equal(t, mpApp, r.str("authorizer_appid"))
	assert.Equal(t, "location_report", r.str("option_name"))
	assert.Equal(t, "0", r.str("option_value"))

	requireCode(t, 0, e.post(pSetOptOld, ct, old("location_report", "2")))
	assert.Equal(t, "2", e.post(pGetOptOld, ct, old("location_report", nil)).str("option_value"))
	requireCode(t, 0, e.post(pSetOptOld, ct, old("voice_recognize", 1)), "a number is accepted too")

	q := url.Values{"access_token": {at}}
	r = e.do(http.MethodPost, pGetOpt, q, map[string]string{"option_name": "voice_recognize"})
	requireCode(t, 0, r)
	assert.Equal(t, "1", r.str("option_value"))
	requireCode(t, 0, e.do(http.MethodPost, pSetOpt, q, map[string]string{"option_name": "customer_service", "option_value": "1"}))
	assert.Equal(t, "1", e.post(pGetOptOld, ct, old("customer_service", nil)).str("option_value"))

	for _, tc := range []struct {
		body map[string]any
		want int
	}{
		{old("location_report", "3"), 40097},
		{old("voice_recognize", "2"), 40097},
		{old("nonsense", "1"), 40097},
		{old("", "1"), 47001},
		{old("location_report", nil), 47001},
	} {
		requireCode(t, tc.want, e.post(pSetOptOld, ct, tc.body))
	}
	requireCode(t, 40097, e.post(pGetOptOld, ct, old("nonsense", nil)))
	requireCode(t, 40097, e.do(http.MethodPost, pSetOpt, q, map[string]string{"option_name": "customer_service", "option_value": "5"}))
	requireCode(t, 47001, e.do(http.MethodPost, pGetOpt, q, map[string]string{}))
	assert.Equal(t, "2", e.post(pGetOptOld, ct, old("location_report", nil)).str("option_value"), "refused sets change nothing")
	requireCode(t, 61003, e.post(pGetOptOld, ct, map[string]any{"component_appid": e.app.AppID, "authorizer_appid": miniApp, "option_name": "voice_recognize"}))
}

func TestAuthorizerList(t *testing.T) {
	e := newEnv(t)
	ct := e.componentToken()
	ids := []string{"wx000000000000000a", "wx000000000000000b", "wx000000000000000c"}
	for _, id := range ids {
		e.authorize(ct, id)
		e.s.Advance(time.Second)
	}
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: "wx000000000000000d"}) // never authorised: not listed
	list := func(offset, count any) result {
		m := map[string]any{"component_appid": e.app.AppID}
		if offset != nil {
			m["offset"] = offset
		}
		if count != nil {
			m["count"] = count
		}
		return e.post(pList, ct, m)
	}

	r := list(0, 2)
	requireCode(t, 0, r)
	assert.Equal(t, 3, r.num("total_count"))
	got := r["list"].([]any)
	require.Len(t, got, 2)
	first := result(got[0].(map[string]any))
	assert.Equal(t, ids[0], first.str("authorizer_appid"))
	refresh, _ := e.s.AuthorizerRefreshToken(ids[0])
	assert.Equal(t, refresh, first.str("refresh_token"))
	assert.Equal(t, int(e.s.Now().Unix())-3, first.num("auth_time"))
	r = list(2, 500)
	require.Len(t, r["list"], 1)
	assert.Equal(t, ids[2], result(r["list"].([]any)[0].(map[string]any)).str("authorizer_appid"))
	require.Len(t, list(5, 10)["list"], 0)

	requireCode(t, 40170, list(0, 501))
	requireCode(t, 47001, list(nil, 10))
	requireCode(t, 47001, list(0, nil))
	requireCode(t, 40097, list(0, 0))
	requireCode(t, 40097, list(-1, 10))
	requireCode(t, 47001, list("0", 10))

	require.NoError(t, e.s.Unauthorize(context.Background(), ids[1]))
	assert.Equal(t, 2, list(0, 10).num("total_count"))
}

func TestQuotaAndClearQuota(t *testing.T) {
	e := newEnv(t)
	ct := e.componentToken()
	e.s.SetDailyQuota(pPreAuth, 2)
	body := map[string]string{"component_appid": e.app.AppID}
	requireCode(t, 0, e.post(pPreAuth, ct, body))
	requireCode(t, 0, e.post(pPreAuth, ct, body))
	requireCode(t, 45009, e.post(pPreAuth, ct, body))

	requireCode(t, 0, e.post(pClearQuota, ct, body))
	requireCode(t, 0, e.post(pPreAuth, ct, body))
	requireCode(t, 0, e.post(pPreAuth, ct, body))
	requireCode(t, 45009, e.post(pPreAuth, ct, body))

	// The next day (China time) starts afresh.
	e.s.Advance(24 * time.Hour)
	ct = e.componentToken()
	requireCode(t, 0, e.post(pPreAuth, ct, body))

	requireCode(t, 41018, e.post(pClearQuota, ct, map[string]string{}))
	requireCode(t, 41021, e.post(pClearQuota, "", body))
	e.s.SetDailyQuota(pPreAuth, 0)
	for i := 0; i < 3; i++ {
		requireCode(t, 0, e.post(pPreAuth, ct, body))
	}
}

func TestComponentJSCode2Session(t *testing.T) {
	e := newEnv(t)
	ct := e.componentToken()
	e.authorize(ct, miniApp)
	e.s.SetUnionID(miniApp, "openid-2", "union-2")
	q := func(code string, mod func(url.Values)) url.Values {
		v := url.Values{
			"appid": {miniApp}, "js_code": {code}, "grant_type": {"authorization_code"},
			"component_appid": {e.app.AppID}, "component_access_token": {ct},
		}
		if mod != nil {
			mod(v)
		}
		return v
	}

	code := e.s.IssueLoginCode(miniApp, "openid-1")
	r := e.do(http.MethodGet, pJSCode2Session, q(code, nil), nil)
	requireCode(t, 0, r)
	assert.NotContains(t, r, "errcode")
	assert.Equal(t, "openid-1", r.str("openid"))
	assert.NotContains(t, r, "unionid")
	key, err := base64.StdEncoding.DecodeString(r.str("session_key"))
	require.NoError(t, err)
	assert.Len(t, key, 16)
	sk, ok := e.s.Session(miniApp, "openid-1")
	require.True(t, ok)
	assert.Equal(t, r.str("session_key"), sk)
	requireCode(t, 40163, e.do(http.MethodGet, pJSCode2Session, q(code, nil), nil))

	code2 := e.s.IssueLoginCode(miniApp, "openid-2")
	r = e.do(http.MethodGet, pJSCode2Session, q(code2, nil), nil)
	assert.Equal(t, "union-2", r.str("unionid"))
	assert.NotEqual(t, sk, r.str("session_key"))

	fresh := func() string { return e.s.IssueLoginCode(miniApp, "openid-3") }
	cases := []struct {
		name string
		q    url.Values
		want int
	}{
		{"unknown code", q("0unknown", nil), 40029},
		{"no token", q(fresh(), func(v url.Values) { v.Del("component_access_token") }), 41021},
		{"bad token", q(fresh(), func(v url.Values) { v.Set("component_access_token", "x") }), 40014},
		{"no appid", q(fresh(), func(v url.Values) { v.Del("appid") }), 41002},
		{"no code", q("", nil), 41008},
		{"no grant_type", q(fresh(), func(v url.Values) { v.Del("grant_type") }), 47001},
		{"bad grant_type", q(fresh(), func(v url.Values) { v.Set("grant_type", "client_credential") }), 40002},
		{"no component_appid", q(fresh(), func(v url.Values) { v.Del("component_appid") }), 41018},
		{"wrong component_appid", q(fresh(), func(v url.Values) { v.Set("component_appid", "wx0123456789abcdef") }), 61011},
		{"not authorised", q(e.s.IssueLoginCode(mpApp, "o"), func(v url.Values) { v.Set("appid", mpApp) }), 61003},
		{"code of another app", q(e.s.IssueLoginCode(mpApp, "o"), nil), 40029},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireCode(t, tc.want, e.do(http.MethodGet, pJSCode2Session, tc.q, nil))
		})
	}
	requireCode(t, 43001, e.do(http.MethodPost, pJSCode2Session, q(fresh(), nil), nil))

	late := e.s.IssueLoginCode(miniApp, "openid-4")
	e.s.Advance(5 * time.Minute)
	ct = e.componentToken()
	requireCode(t, 40029, e.do(http.MethodGet, pJSCode2Session, q(late, func(v url.Values) { v.Set("component_access_token", ct) }), nil))
	_, ok = e.s.Session(miniApp, "openid-4")
	assert.False(t, ok)
}

// TestClearQuotaLeavesAuthorizerQuotas: the component's clear_quota resets the platform's own API
// counters (API digest 1.10), not those of the APIs its authorizers call with their own tokens.
func TestClearQuotaLeavesAuthorizerQuotas(t *testing.T) {
	e := newEnv(t)
	ct := e.componentToken()
	const official = "wx2222222222222222"
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: official})
	at, _ := e.authorize(ct, official)
	const ticket = "/cgi-bin/ticket/getticket"
	e.s.SetDailyQuota(ticket, 1)
	e.s.SetDailyQuota(pPreAuth, 1)
	q := url.Values{"access_token": {at}, "type": {"wx_card"}}
	requireCode(t, 0, e.do(http.MethodGet, ticket, q, nil))
	requireCode(t, 45009, e.do(http.MethodGet, ticket, q, nil))
	body := map[string]string{"component_appid": e.app.AppID}
	requireCode(t, 0, e.post(pPreAuth, ct, body))
	requireCode(t, 45009, e.post(pPreAuth, ct, body))

	requireCode(t, 0, e.post(pClearQuota, ct, body))
	requireCode(t, 0, e.post(pPreAuth, ct, body), "the platform's own quota is reset")
	requireCode(t, 45009, e.do(http.MethodGet, ticket, q, nil), "an authorizer's quota is not")
}
