package component_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestPreAuthCode(t *testing.T) {
	e := setup(t).withComponentToken(t)
	r := e.on(t, "POST", "/cgi-bin/component/api_create_preauthcode", `{"pre_auth_code":"preauthcode@@@abc","expires_in":1800}`)
	p, err := e.c.PreAuthCode(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "preauthcode@@@abc", p.Code)
	assert.WithinDuration(t, time.Now().Add(1800*time.Second), p.ExpiresAt, time.Minute)
	calls := r.list()
	require.Len(t, calls, 1)
	assertCall(t, calls[0], "POST", "/cgi-bin/component/api_create_preauthcode", compQuery(), map[string]any{"component_appid": compAppID})
}

func TestPreAuthCodeErrors(t *testing.T) {
	e := setup(t).withComponentToken(t)
	e.on(t, "POST", "/cgi-bin/component/api_create_preauthcode", `{"errcode":45009,"errmsg":"reach max api daily quota limit"}`)
	_, err := e.c.PreAuthCode(context.Background())
	require.ErrorIs(t, err, wxerr.ErrDailyQuota)
	assert.Contains(t, err.Error(), "ClearQuota")

	e2 := setup(t).withComponentToken(t)
	e2.on(t, "POST", "/cgi-bin/component/api_create_preauthcode", `{"expires_in":600}`)
	_, err = e2.c.PreAuthCode(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no pre_auth_code")

	e3 := setup(t).withComponentToken(t)
	e3.mt.RegisterResponder("POST", base+"/cgi-bin/component/api_create_preauthcode", httpmock.NewErrorResponder(errors.New("net down")))
	_, err = e3.c.PreAuthCode(context.Background())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), compToken)
}

func TestAuthURL(t *testing.T) {
	e := setup(t)
	redirect := "https://shop.example.com/wx/callback?next=/a b&x=1"
	u, err := e.c.AuthURL("preauthcode@@@A+B/C=", redirect, component.AuthURLOptions{})
	require.NoError(t, err)
	assert.Equal(t, "https://mp.weixin.qq.com/cgi-bin/componentloginpage?component_appid="+compAppID+
		"&pre_auth_code=preauthcode%40%40%40A%2BB%2FC%3D"+
		"&redirect_uri=https%3A%2F%2Fshop.example.com%2Fwx%2Fcallback%3Fnext%3D%2Fa+b%26x%3D1", u)
	// It parses back to the exact inputs.
	pu, err := url.Parse(u)
	require.NoError(t, err)
	q := pu.Query()
	assert.Equal(t, "preauthcode@@@A+B/C=", q.Get("pre_auth_code"))
	assert.Equal(t, redirect, q.Get("redirect_uri"))
	assert.NotContains(t, q, "auth_type", "unset options are omitted")
	assert.NotContains(t, q, "biz_appid")

	u, err = e.c.AuthURL("code", "http://a.example.com/cb", component.AuthURLOptions{AuthType: component.AuthTypeMiniProgram, BizAppID: "wxbiz&1"})
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(u, "&auth_type=2&biz_appid=wxbiz%261"), u)
}

func TestMobileAuthURL(t *testing.T) {
	e := setup(t)
	u, err := e.c.MobileAuthURL("code@@@1", "https://shop.example.com/cb", component.AuthURLOptions{AuthType: component.AuthTypeBoth})
	require.NoError(t, err)
	assert.Equal(t, "https://open.weixin.qq.com/wxaopen/safe/bindcomponent?action=bindcomponent&no_scan=1&component_appid="+compAppID+
		"&pre_auth_code=code%40%40%401&redirect_uri=https%3A%2F%2Fshop.example.com%2Fcb&auth_type=3#wechat_redirect", u)
	pu, err := url.Parse(u)
	require.NoError(t, err)
	assert.Equal(t, "wechat_redirect", pu.Fragment)
	assert.Equal(t, "https://shop.example.com/cb", pu.Query().Get("redirect_uri"))
}

func TestAuthURLValidation(t *testing.T) {
	e := setup(t)
	cases := []struct {
		code, redirect string
		opts           component.AuthURLOptions
		field          string
	}{
		{"", "https://a.example.com/", component.AuthURLOptions{}, "pre_auth_code"},
		{"c", "", component.AuthURLOptions{}, "redirect_uri"},
		{"c", "/relative/path", component.AuthURLOptions{}, "redirect_uri"},
		{"c", "ftp://a.example.com/", component.AuthURLOptions{}, "redirect_uri"},
		{"c", "javascript:alert(1)", component.AuthURLOptions{}, "redirect_uri"},
		{"c", "https://", component.AuthURLOptions{}, "redirect_uri"},
		{"c", "https://a.example.com/", component.AuthURLOptions{AuthType: 7}, "auth_type"},
		{"c", "https://a.example.com/", component.AuthURLOptions{AuthType: -1}, "auth_type"},
	}
	for _, tc := range cases {
		for _, build := range []func(string, string, component.AuthURLOptions) (string, error){e.c.AuthURL, e.c.MobileAuthURL} {
			u, err := build(tc.code, tc.redirect, tc.opts)
			var ve *wxerr.ValidationError
			require.ErrorAs(t, err, &ve, "%+v", tc)
			assert.Equal(t, tc.field, ve.Field)
			assert.Empty(t, u)
		}
	}
	assert.Zero(t, e.mt.GetTotalCallCount())
}

const queryAuthAnswer = `{"authorization_info":{"authorizer_appid":"wxauthorizer01","authorizer_access_token":"SECRET-AT-1",
"expires_in":7200,"authorizer_refresh_token":"SECRET-RT-1",
"func_info":[{"funcscope_category":{"id":17}},{"funcscope_category":{"id":18},"confirm_info":{"need_confirm":1,"already_confirm":0,"can_confirm":1}},{"funcscope_category":{"id":19}}]}}`

func TestQueryAuthDecodesAndPersists(t *testing.T) {
	creds := newFailingStore(nil)
	e := setup(t, nil, creds).withComponentToken(t)
	r := e.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer)
	ctx := context.Background()
	a, err := e.c.QueryAuth(ctx, "queryauthcode@@@1")
	require.NoError(t, err)
	calls := r.list()
	require.Len(t, calls, 1)
	assertCall(t, calls[0], "POST", "/cgi-bin/component/api_query_auth", compQuery(),
		map[string]any{"component_appid": compAppID, "authorization_code": "queryauthcode@@@1"})

	assert.Equal(t, "wxauthorizer01", a.AuthorizerAppID)
	assert.Equal(t, "SECRET-AT-1", a.AccessToken)
	assert.Equal(t, "SECRET-RT-1", a.RefreshToken)
	assert.WithinDuration(t, time.Now().Add(2*time.Hour), a.ExpiresAt, time.Minute)
	assert.Equal(t, []component.FuncInfo{
		{ID: 17},
		{ID: 18, Confirm: &component.ConfirmInfo{NeedConfirm: true, CanConfirm: true}},
		{ID: 19},
	}, a.FuncInfo)
	assert.Equal(t, []int{17, 18, 19}, a.FuncScopes())

	// Persisted before returning.
	rt, err := get(t, e.creds, authKey("wxauthorizer01", "refresh_token"))
	require.NoError(t, err)
	assert.Equal(t, "SECRET-RT-1", rt.Value)
	assert.True(t, rt.ExpiresAt.IsZero(), "a refresh token is durable")
	assert.Equal(t, "api_query_auth", creds.reason(authKey("wxauthorizer01", "refresh_token")))
	at, err := get(t, e.tokens, authKey("wxauthorizer01", "access_token"))
	require.NoError(t, err)
	assert.Equal(t, "SECRET-AT-1", at.Value)
	rec, err := e.c.StoredAuthorization(ctx, "wxauthorizer01")
	require.NoError(t, err)
	assert.Equal(t, "wxauthorizer01", rec.AuthorizerAppID)
	assert.Equal(t, []int{17, 18, 19}, rec.FuncScopes)
	assert.WithinDuration(t, time.Now(), rec.UpdatedAt, time.Minute)

	// The authorizer token is served from the store: no api_authorizer_token call.
	tok, err := e.c.AuthorizerToken(ctx, "wxauthorizer01")
	require.NoError(t, err)
	assert.Equal(t, "SECRET-AT-1", tok.Value)
	assert.Equal(t, 1, e.mt.GetTotalCallCount(), "only api_query_auth was called")
}

func TestQueryAuthErrors(t *testing.T) {
	ctx := context.Background()
	e := setup(t).withComponentToken(t)
	_, err := e.c.QueryAuth(ctx, "")
	require.True(t, wxerr.IsValidation(err))
	assert.Zero(t, e.mt.GetTotalCallCount())

	for _, code := range []int{61009, 61010} {
		e := setup(t).withComponentToken(t)
		e.on(t, "POST", "/cgi-bin/component/api_query_auth", `{"errcode":`+itoa(code)+`,"errmsg":"code invalid"}`)
		_, err := e.c.QueryAuth(ctx, "c")
		assert.Equal(t, wxerr.Code(code), wxerr.CodeOf(err))
		assert.Equal(t, 1, e.mt.GetTotalCallCount())
	}

	// An answer without a refresh token is refused: nothing to keep the account with.
	e = setup(t).withComponentToken(t)
	e.on(t, "POST", "/cgi-bin/component/api_query_auth", `{"authorization_info":{"authorizer_appid":"wxA","authorizer_access_token":"x","expires_in":7200}}`)
	_, err = e.c.QueryAuth(ctx, "c")
	require.Error(t, err)
	_, gerr := get(t, e.creds, authKey("wxA", "refresh_token"))
	assert.Error(t, gerr)

	// A transport failure: api_query_auth is not retried (the code may be single-use).
	e = setup(t).withComponentToken(t)
	e.mt.RegisterResponder("POST", base+"/cgi-bin/component/api_query_auth", httpmock.NewErrorResponder(errors.New("reset")))
	_, err = e.c.QueryAuth(ctx, "c")
	require.Error(t, err)
	assert.Equal(t, 1, e.mt.GetTotalCallCount())
}

func TestQueryAuthStorageErrorIsReturned(t *testing.T) {
	for _, failing := range []string{"refresh_token", "authorization", "access_token"} {
		t.Run(failing, func(t *testing.T) {
			tokens, creds := newFailingStore(nil), newFailingStore(nil)
			fail := func(key string) bool { return strings.HasSuffix(key, ":"+failing) }
			tokens.failSet, creds.failSet = fail, fail
			e := setup(t, tokens, creds).withComponentToken(t)
			e.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer)
			a, err := e.c.QueryAuth(context.Background(), "c")
			require.ErrorIs(t, err, errStore)
			assert.Contains(t, err.Error(), "wxauthorizer01")
			require.NotNil(t, a, "the authorisation is returned with the error so the refresh token is not lost")
			assert.Equal(t, "SECRET-RT-1", a.RefreshToken)
			assert.NotContains(t, err.Error(), "SECRET")
		})
	}
}

func TestStoredAuthorizationMissing(t *testing.T) {
	e := setup(t)
	_, err := e.c.StoredAuthorization(context.Background(), "wxnobody")
	require.ErrorIs(t, err, wxerr.ErrNotAuthorized)
	assert.Contains(t, err.Error(), "wxnobody")

	require.NoError(t, e.creds.Set(context.Background(), authKey("wxbad", "authorization"), tokenstoreToken("{not json")))
	_, err = e.c.StoredAuthorization(context.Background(), "wxbad")
	require.Error(t, err)
	assert.NotErrorIs(t, err, wxerr.ErrNotAuthorized)
}

func TestRecordIsJSON(t *testing.T) {
	e := setup(t).withComponentToken(t)
	e.on(t, "POST", "/cgi-bin/component/api_query_auth", queryAuthAnswer)
	_, err := e.c.QueryAuth(context.Background(), "c")
	require.NoError(t, err)
	raw, err := get(t, e.creds, authKey("wxauthorizer01", "authorization"))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(raw.Value), &m))
	assert.Equal(t, "wxauthorizer01", m["authorizer_appid"])
	assert.NotContains(t, raw.Value, "SECRET", "the record holds no token")
}
