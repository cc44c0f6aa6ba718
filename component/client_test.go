package component_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestNewValidates(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*component.Config)
		field string
		code  int
	}{
		{"no appid", func(c *component.Config) { c.AppID = "" }, "component_appid", 0},
		{"no secret", func(c *component.Config) { c.AppSecret = "" }, "component_appsecret", 0},
		{"no token", func(c *component.Config) { c.Token = "" }, "", crypto.CodeComputeSignature},
		{"short key", func(c *component.Config) { c.EncodingAESKey = "SECRETKEY" }, "", crypto.CodeIllegalAESKey},
		{"bad key chars", func(c *component.Config) { c.EncodingAESKey = strings.Repeat("+", 43) }, "", crypto.CodeIllegalAESKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.edit(&cfg)
			c, err := component.New(cfg, nil, nil, nil)
			require.Error(t, err)
			assert.Nil(t, c)
			if tc.field != "" {
				var ve *wxerr.ValidationError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, tc.field, ve.Field)
			} else {
				var ce *crypto.Error
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, tc.code, ce.Code)
			}
			assert.NotContains(t, err.Error(), "SECRET")
		})
	}
}

// Options given an invalid value make New fail, as wxopen's do, instead of being ignored.
func TestNewRejectsInvalidOptions(t *testing.T) {
	c, err := component.New(testConfig(), nil, nil, nil, component.WithClock(nil))
	assert.Nil(t, c)
	var ve *wxerr.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "clock", ve.Field)

	c, err = component.New(testConfig(), nil, nil, nil, component.WithTokenOptions(tokenstore.WithMargin(-time.Minute)))
	assert.Nil(t, c)
	assert.ErrorContains(t, err, "invalid margin")
}

func TestNewDefaults(t *testing.T) {
	c, err := component.New(testConfig(), nil, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, compAppID, c.AppID())
	assert.Equal(t, compAppID, c.MsgCrypt().AppID())
	// The default stores work: a ticket can be set and read back.
	require.NoError(t, c.SetVerifyTicket(context.Background(), ticketValue))
	tok, err := c.VerifyTicket(context.Background())
	require.NoError(t, err)
	assert.Equal(t, ticketValue, tok.Value)
}

func TestSecretsNeverPrinted(t *testing.T) {
	e := setup(t)
	cfg := testConfig()
	auth := component.Authorization{AuthorizerAppID: "wxA", AccessToken: "SECRET-AT", RefreshToken: "SECRET-RT",
		FuncInfo: []component.FuncInfo{{ID: 17}}}
	info := component.AuthorizerInfo{AuthorizerAppID: "wxA", NickName: "shop", RefreshToken: "SECRET-RT"}
	item := component.AuthorizerListItem{AuthorizerAppID: "wxA", RefreshToken: "SECRET-RT"}
	values := []any{cfg, &cfg, e.c, auth, &auth, info, &info, item,
		struct{ C component.Config }{cfg}, struct{ A component.Authorization }{auth}, []component.AuthorizerListItem{item}}
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, "SECRET", "%s of %T", verb, v)
			assert.NotContains(t, out, aesKey, "%s of %T", verb, v)
		}
	}
	assert.Contains(t, fmt.Sprint(cfg), compAppID)
	assert.Contains(t, fmt.Sprint(e.c), compAppID)
	assert.Contains(t, fmt.Sprint(auth), "wxA")
	assert.Contains(t, fmt.Sprint(info), "shop")
}

func TestNoVerifyTicketFailsWithoutRequest(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	_, err := e.c.ComponentToken(ctx)
	require.ErrorIs(t, err, wxerr.ErrNoVerifyTicket)
	assert.Contains(t, err.Error(), "every 10 minutes")
	_, err = e.c.PreAuthCode(ctx)
	require.ErrorIs(t, err, wxerr.ErrNoVerifyTicket)
	_, err = e.c.VerifyTicket(ctx)
	require.ErrorIs(t, err, wxerr.ErrNoVerifyTicket)
	assert.Zero(t, e.mt.GetTotalCallCount(), "no request is sent without a ticket")
}

func TestVerifyTicketStoreErrorIsNotAMiss(t *testing.T) {
	creds := newFailingStore(nil)
	creds.failGet = func(string) bool { return true }
	e := setup(t, nil, creds)
	_, err := e.c.ComponentToken(context.Background())
	require.ErrorIs(t, err, errStore)
	assert.NotErrorIs(t, err, wxerr.ErrNoVerifyTicket)
	assert.Zero(t, e.mt.GetTotalCallCount())
}

func TestSetVerifyTicket(t *testing.T) {
	creds := newFailingStore(nil)
	e := setup(t, nil, creds)
	ctx := context.Background()
	require.True(t, wxerr.IsValidation(e.c.SetVerifyTicket(ctx, "")))
	require.NoError(t, e.c.SetVerifyTicket(ctx, ticketValue))
	tok, err := get(t, creds, compAppID+":verify_ticket")
	require.NoError(t, err)
	assert.Equal(t, ticketValue, tok.Value)
	assert.WithinDuration(t, time.Now().Add(12*time.Hour), tok.ExpiresAt, time.Minute)
	assert.Equal(t, "manual:set_verify_ticket", creds.reason(compAppID+":verify_ticket"))

	creds.failSet = func(string) bool { return true }
	require.ErrorIs(t, e.c.SetVerifyTicket(ctx, "ticket@@@2"), errStore)
}

func TestExpiredTicketCountsAsNone(t *testing.T) {
	e := setup(t)
	require.NoError(t, e.creds.Set(context.Background(), compAppID+":verify_ticket",
		tokenstore.Token{Value: ticketValue, ExpiresAt: time.Now().Add(-time.Second)}))
	_, err := e.c.ComponentToken(context.Background())
	require.ErrorIs(t, err, wxerr.ErrNoVerifyTicket)
	assert.Zero(t, e.mt.GetTotalCallCount())
}

func TestComponentToken(t *testing.T) {
	e := setup(t).withTicket(t)
	r := e.on(t, "POST", "/cgi-bin/component/api_component_token", `{"component_access_token":"`+compToken+`","expires_in":7200}`)
	ctx := context.Background()
	tok, err := e.c.ComponentToken(ctx)
	require.NoError(t, err)
	assert.Equal(t, compToken, tok.Value)
	assert.WithinDuration(t, time.Now().Add(2*time.Hour), tok.ExpiresAt, time.Minute)

	calls := r.list()
	require.Len(t, calls, 1)
	assertCall(t, calls[0], "POST", "/cgi-bin/component/api_component_token", nil, map[string]any{
		"component_appid": compAppID, "component_appsecret": compSecret, "component_verify_ticket": ticketValue,
	})

	// Cached: no second request; stored in the token store under the namespaced key.
	tok2, err := e.c.ComponentToken(ctx)
	require.NoError(t, err)
	assert.Equal(t, tok, tok2)
	assert.Len(t, r.list(), 1)
	stored, err := get(t, e.tokens, compAppID+":component_access_token")
	require.NoError(t, err)
	assert.Equal(t, compToken, stored.Value)
	// The TokenSource is the same source.
	src, err := e.c.TokenSource().Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, compToken, src.Value)
}

func TestComponentTokenEmptyAnswer(t *testing.T) {
	e := setup(t).withTicket(t)
	e.on(t, "POST", "/cgi-bin/component/api_component_token", `{"expires_in":7200}`)
	_, err := e.c.ComponentToken(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no component_access_token")
}

func TestComponentTokenTicketErrorsCarryHints(t *testing.T) {
	cases := []struct {
		code     int
		sentinel error
		hint     string
	}{
		{61004, wxerr.ErrIPNotWhitelisted, "whitelist"},
		{61005, wxerr.ErrVerifyTicketExpired, "StartPushTicket"},
		{61006, wxerr.ErrVerifyTicketInvalid, "StartPushTicket"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			e := setup(t).withTicket(t)
			r := e.on(t, "POST", "/cgi-bin/component/api_component_token", fmt.Sprintf(`{"errcode":%d,"errmsg":"bad"}`, tc.code))
			_, err := e.c.ComponentToken(context.Background())
			require.ErrorIs(t, err, tc.sentinel)
			assert.Equal(t, wxerr.Code(tc.code), wxerr.CodeOf(err))
			assert.Contains(t, err.Error(), tc.hint)
			assert.NotContains(t, err.Error(), "SECRET")
			assert.Len(t, r.list(), 1, "an API error is not retried")
			// The ticket is kept: only WeChat's next push replaces it.
			_, err = e.c.VerifyTicket(context.Background())
			assert.NoError(t, err)
		})
	}
}

func TestComponentTokenTransportFailure(t *testing.T) {
	e := setup(t).withTicket(t)
	e.mt.RegisterResponder("POST", base+"/cgi-bin/component/api_component_token",
		httpmock.NewErrorResponder(errors.New("connection reset")))
	_, err := e.c.ComponentToken(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connection reset")
	assert.Equal(t, 3, e.mt.GetTotalCallCount(), "the token fetch is idempotent and retried")
	assert.NotContains(t, err.Error(), "SECRET")
}

func TestComponentTokenInvalidatedAndRefetchedOn40001(t *testing.T) {
	e := setup(t).withTicket(t).withComponentToken(t)
	fetch := e.on(t, "POST", "/cgi-bin/component/api_component_token", `{"component_access_token":"SECRET-FRESH","expires_in":7200}`)
	pre := e.onFunc(t, "POST", "/cgi-bin/component/api_create_preauthcode", func(c call) (int, string) {
		if c.Query.Get("component_access_token") == compToken {
			return 200, `{"errcode":40001,"errmsg":"invalid credential"}`
		}
		return 200, `{"pre_auth_code":"preauthcode@@@1","expires_in":600}`
	})
	p, err := e.c.PreAuthCode(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "preauthcode@@@1", p.Code)
	assert.Len(t, fetch.list(), 1)
	calls := pre.list()
	require.Len(t, calls, 2)
	assert.Equal(t, "SECRET-FRESH", calls[1].Query.Get("component_access_token"))
}

func TestStartPushTicket(t *testing.T) {
	e := setup(t)
	r := e.on(t, "POST", "/cgi-bin/component/api_start_push_ticket", `{"errcode":0,"errmsg":"ok"}`)
	require.NoError(t, e.c.StartPushTicket(context.Background()))
	calls := r.list()
	require.Len(t, calls, 1)
	assertCall(t, calls[0], "POST", "/cgi-bin/component/api_start_push_ticket", nil,
		map[string]any{"component_appid": compAppID, "component_secret": compSecret})

	e2 := setup(t)
	e2.on(t, "POST", "/cgi-bin/component/api_start_push_ticket", `{"errcode":61011,"errmsg":"invalid component"}`)
	err := e2.c.StartPushTicket(context.Background())
	assert.Equal(t, wxerr.Code(61011), wxerr.CodeOf(err))
	assert.NotContains(t, err.Error(), "SECRET")
}

func TestClearQuota(t *testing.T) {
	e := setup(t).withComponentToken(t)
	r := e.on(t, "POST", "/cgi-bin/component/clear_quota", `{"errcode":0,"errmsg":"ok"}`)
	require.NoError(t, e.c.ClearQuota(context.Background()))
	calls := r.list()
	require.Len(t, calls, 1)
	assertCall(t, calls[0], "POST", "/cgi-bin/component/clear_quota", compQuery(), map[string]any{"component_appid": compAppID})

	e2 := setup(t).withComponentToken(t)
	e2.on(t, "POST", "/cgi-bin/component/clear_quota", `{"errcode":48006,"errmsg":"forbid to clear quota"}`)
	assert.ErrorIs(t, e2.c.ClearQuota(context.Background()), &wxerr.APIError{Code: 48006})

	e3 := setup(t).withComponentToken(t)
	e3.mt.RegisterResponder("POST", base+"/cgi-bin/component/clear_quota", httpmock.NewErrorResponder(errors.New("boom")))
	err := e3.c.ClearQuota(context.Background())
	require.Error(t, err)
	assert.Equal(t, 1, e3.mt.GetTotalCallCount(), "clear_quota is not idempotent: sent once")
	assert.NotContains(t, err.Error(), compToken)
}

func TestHTTPErrorStatus(t *testing.T) {
	e := setup(t).withComponentToken(t)
	e.mt.RegisterResponder("POST", base+"/cgi-bin/component/clear_quota", httpmock.NewStringResponder(http.StatusBadGateway, "bad gateway"))
	var he *wxerr.HTTPError
	require.ErrorAs(t, e.c.ClearQuota(context.Background()), &he)
	assert.Equal(t, http.StatusBadGateway, he.StatusCode)
}
