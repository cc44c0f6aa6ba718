package component_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
)

const miniProgramInfoAnswer = `{
 "authorizer_info": {
  "nick_name": "小店", "head_img": "http://wx.qlogo.cn/mmopen/x/0",
  "service_type_info": {"id": 0}, "verify_type_info": {"id": -1},
  "user_name": "gh_eb5e3a772040", "principal_name": "深圳市某某公司", "alias": "",
  "business_info": {"open_store": 0, "open_scan": 0, "open_pay": 1, "open_card": 1, "open_shake": 0},
  "qrcode_url": "http://mmbiz.qpic.cn/x/0", "signature": "时间的水缓缓流去",
  "account_status": 1, "register_type": 0, "idc": 1,
  "basic_config": {"is_phone_configured": true, "is_email_configured": false},
  "MiniProgramInfo": {
   "network": {"RequestDomain": ["https://www.qq.com", "https://www.qq.com"], "WsRequestDomain": ["wss://www.qq.com"],
     "UploadDomain": ["https://up.qq.com"], "DownloadDomain": ["https://dl.qq.com"], "BizDomain": [], "UDPDomain": []},
   "categories": [{"first": "资讯", "second": "文娱"}, {"first": "工具", "second": "天气"}],
   "visit_status": 0
  }
 },
 "authorization_info": {
  "authorizer_appid": "wxf8b4f85f3a794e77", "authorizer_refresh_token": "SECRET-RT",
  "func_info": [{"funcscope_category": {"id": 17}}, {"funcscope_category": {"id": 18}, "confirm_info": {"need_confirm": 0, "already_confirm": 1, "can_confirm": 0}}]
 }
}`

func TestAuthorizerInfoMiniProgram(t *testing.T) {
	e := setup(t).withComponentToken(t)
	r := e.on(t, "POST", "/cgi-bin/component/api_get_authorizer_info", miniProgramInfoAnswer)
	info, err := e.c.AuthorizerInfo(context.Background(), "wxf8b4f85f3a794e77")
	require.NoError(t, err)
	calls := r.list()
	require.Len(t, calls, 1)
	assertCall(t, calls[0], "POST", "/cgi-bin/component/api_get_authorizer_info", compQuery(),
		map[string]any{"component_appid": compAppID, "authorizer_appid": "wxf8b4f85f3a794e77"})

	want := &component.AuthorizerInfo{
		AuthorizerAppID: "wxf8b4f85f3a794e77",
		NickName:        "小店", HeadImg: "http://wx.qlogo.cn/mmopen/x/0",
		ServiceType: 0, VerifyType: -1,
		UserName: "gh_eb5e3a772040", PrincipalName: "深圳市某某公司",
		BusinessInfo:  component.BusinessInfo{OpenPay: true, OpenCard: true},
		QRCodeURL:     "http://mmbiz.qpic.cn/x/0",
		Signature:     "时间的水缓缓流去",
		AccountStatus: 1, IDC: 1,
		BasicConfig: &component.BasicConfig{IsPhoneConfigured: true},
		MiniProgramInfo: &component.MiniProgramInfo{
			Network: component.MiniProgramNetwork{
				RequestDomain: []string{"https://www.qq.com", "https://www.qq.com"}, WsRequestDomain: []string{"wss://www.qq.com"},
				UploadDomain: []string{"https://up.qq.com"}, DownloadDomain: []string{"https://dl.qq.com"},
				BizDomain: []string{}, UDPDomain: []string{},
			},
			Categories: []component.Category{{First: "资讯", Second: "文娱"}, {First: "工具", Second: "天气"}},
		},
		RefreshToken: "SECRET-RT",
		FuncInfo:     []component.FuncInfo{{ID: 17}, {ID: 18, Confirm: &component.ConfirmInfo{AlreadyConfirm: true}}},
	}
	assert.Equal(t, want, info)
	assert.True(t, info.IsMiniProgram())
	assert.NotContains(t, fmt.Sprintf("%+v", info), "SECRET")
	// AuthorizerInfo does not write anything.
	_, err = get(t, e.creds, authKey("wxf8b4f85f3a794e77", "refresh_token"))
	assert.ErrorIs(t, err, tokenstore.ErrNotFound)
}

func TestAuthorizerInfoOfficialAccountCamelBasicConfig(t *testing.T) {
	e := setup(t).withComponentToken(t)
	e.on(t, "POST", "/cgi-bin/component/api_get_authorizer_info", `{"authorizer_info":{"nick_name":"公众号","service_type_info":{"id":2},
"verify_type_info":{"id":0},"user_name":"gh_1","basic_config":{"isPhoneConfigured":false,"isEmailConfigured":true}},
"authorization_info":{"authorizer_appid":"wxoa","authorizer_refresh_token":"x","func_info":[{"funcscope_category":{"id":1}}]}}`)
	info, err := e.c.AuthorizerInfo(context.Background(), "wxoa")
	require.NoError(t, err)
	assert.False(t, info.IsMiniProgram())
	assert.Equal(t, component.ServiceTypeService, info.ServiceType)
	assert.Equal(t, &component.BasicConfig{IsEmailConfigured: true}, info.BasicConfig)
	var nilInfo *component.AuthorizerInfo
	assert.False(t, nilInfo.IsMiniProgram())
}

func TestAuthorizerInfoErrors(t *testing.T) {
	e := setup(t).withComponentToken(t)
	_, err := e.c.AuthorizerInfo(context.Background(), "")
	assert.True(t, wxerr.IsValidation(err))
	e.on(t, "POST", "/cgi-bin/component/api_get_authorizer_info", `{"errcode":61003,"errmsg":"component is not authorized by this account"}`)
	_, err = e.c.AuthorizerInfo(context.Background(), "wxA")
	require.ErrorIs(t, err, wxerr.ErrComponentUnauthorized)

	e2 := setup(t).withComponentToken(t)
	e2.mt.RegisterResponder("POST", base+"/cgi-bin/component/api_get_authorizer_info", httpmock.NewErrorResponder(errors.New("reset")))
	_, err = e2.c.AuthorizerInfo(context.Background(), "wxA")
	require.Error(t, err)
	assert.Equal(t, 3, e2.mt.GetTotalCallCount(), "a read is retried")
}

func TestAuthorizerOption(t *testing.T) {
	e := setup(t).withComponentToken(t)
	r := e.on(t, "POST", "/cgi-bin/component/api_get_authorizer_option",
		`{"authorizer_appid":"wxA","option_name":"voice_recognize","option_value":"1"}`)
	v, err := e.c.AuthorizerOption(context.Background(), "wxA", component.OptionVoiceRecognize)
	require.NoError(t, err)
	assert.Equal(t, "1", v)
	calls := r.list()
	require.Len(t, calls, 1)
	assertCall(t, calls[0], "POST", "/cgi-bin/component/api_get_authorizer_option", compQuery(),
		map[string]any{"component_appid": compAppID, "authorizer_appid": "wxA", "option_name": "voice_recognize"})

	_, err = e.c.AuthorizerOption(context.Background(), "", component.OptionVoiceRecognize)
	assert.True(t, wxerr.IsValidation(err))
	_, err = e.c.AuthorizerOption(context.Background(), "wxA", "")
	assert.True(t, wxerr.IsValidation(err))

	e2 := setup(t).withComponentToken(t)
	e2.on(t, "POST", "/cgi-bin/component/api_get_authorizer_option", `{"errcode":61003,"errmsg":"no"}`)
	_, err = e2.c.AuthorizerOption(context.Background(), "wxA", component.OptionLocationReport)
	assert.ErrorIs(t, err, wxerr.ErrComponentUnauthorized)
}

func TestSetAuthorizerOption(t *testing.T) {
	e := setup(t).withComponentToken(t)
	r := e.on(t, "POST", "/cgi-bin/component/api_set_authorizer_option", `{"errcode":0,"errmsg":"ok"}`)
	require.NoError(t, e.c.SetAuthorizerOption(context.Background(), "wxA", component.OptionLocationReport, "2"))
	calls := r.list()
	require.Len(t, calls, 1)
	assertCall(t, calls[0], "POST", "/cgi-bin/component/api_set_authorizer_option", compQuery(),
		map[string]any{"component_appid": compAppID, "authorizer_appid": "wxA", "option_name": "location_report", "option_value": "2"})

	bad := []struct {
		app   string
		name  component.OptionName
		value string
		field string
	}{
		{"", component.OptionLocationReport, "1", "authorizer_appid"},
		{"wxA", "", "1", "option_name"},
		{"wxA", component.OptionLocationReport, "3", "option_value"},
		{"wxA", component.OptionVoiceRecognize, "2", "option_value"},
		{"wxA", component.OptionCustomerService, "", "option_value"},
		{"wxA", "future_option", "", "option_value"},
	}
	for _, b := range bad {
		err := e.c.SetAuthorizerOption(context.Background(), b.app, b.name, b.value)
		var ve *wxerr.ValidationError
		require.ErrorAs(t, err, &ve, "%+v", b)
		assert.Equal(t, b.field, ve.Field)
	}
	require.NoError(t, e.c.SetAuthorizerOption(context.Background(), "wxA", "future_option", "x"), "unknown options pass through")
	assert.Len(t, r.list(), 2)

	e2 := setup(t).withComponentToken(t)
	e2.on(t, "POST", "/cgi-bin/component/api_set_authorizer_option", `{"errcode":48001,"errmsg":"api unauthorized"}`)
	assert.Equal(t, wxerr.Code(48001), wxerr.CodeOf(e2.c.SetAuthorizerOption(context.Background(), "wxA", component.OptionVoiceRecognize, "0")))
}

func TestListAuthorizers(t *testing.T) {
	e := setup(t).withComponentToken(t)
	r := e.on(t, "POST", "/cgi-bin/component/api_get_authorizer_list", `{"total_count":33,"list":[
{"authorizer_appid":"wxA","refresh_token":"SECRET-RT-A","auth_time":1558000607},
{"authorizer_appid":"wxB","refresh_token":"SECRET-RT-B","auth_time":1558000700}]}`)
	l, err := e.c.ListAuthorizers(context.Background(), 10, 2)
	require.NoError(t, err)
	calls := r.list()
	require.Len(t, calls, 1)
	assertCall(t, calls[0], "POST", "/cgi-bin/component/api_get_authorizer_list", compQuery(),
		map[string]any{"component_appid": compAppID, "offset": 10, "count": 2})
	assert.Equal(t, &component.AuthorizerList{TotalCount: 33, List: []component.AuthorizerListItem{
		{AuthorizerAppID: "wxA", RefreshToken: "SECRET-RT-A", AuthTime: time.Unix(1558000607, 0)},
		{AuthorizerAppID: "wxB", RefreshToken: "SECRET-RT-B", AuthTime: time.Unix(1558000700, 0)},
	}}, l)
	assert.NotContains(t, fmt.Sprintf("%v %+v", l, l.List), "SECRET")

	for _, bad := range [][2]int{{-1, 10}, {0, 0}, {0, 501}} {
		_, err := e.c.ListAuthorizers(context.Background(), bad[0], bad[1])
		assert.True(t, wxerr.IsValidation(err), "%v", bad)
	}
	assert.Len(t, r.list(), 1)
	_, err = e.c.ListAuthorizers(context.Background(), 0, 500)
	require.NoError(t, err, "500 is allowed")

	e2 := setup(t).withComponentToken(t)
	e2.on(t, "POST", "/cgi-bin/component/api_get_authorizer_list", `{"errcode":40170,"errmsg":"count over limit"}`)
	_, err = e2.c.ListAuthorizers(context.Background(), 0, 10)
	assert.Equal(t, wxerr.CodeListCountTooLarge, wxerr.CodeOf(err))
}

// pagedList answers api_get_authorizer_list from n authorizers "wx0000".."wxNNNN", honouring offset
// and count.
func pagedList(n int) func(c call) (int, string) {
	return func(c call) (int, string) {
		off, cnt := int(c.Body["offset"].(float64)), int(c.Body["count"].(float64))
		type item struct {
			AppID string `json:"authorizer_appid"`
			RT    string `json:"refresh_token"`
			At    int64  `json:"auth_time"`
		}
		items := []item{}
		for i := off; i < n && i < off+cnt; i++ {
			items = append(items, item{fmt.Sprintf("wx%04d", i), fmt.Sprintf("RT-%d", i), 1558000000 + int64(i)})
		}
		b, _ := json.Marshal(map[string]any{"total_count": n, "list": items})
		return 200, string(b)
	}
}

func TestAllAuthorizersWalksEveryPage(t *testing.T) {
	e := setup(t).withComponentToken(t)
	r := e.onFunc(t, "POST", "/cgi-bin/component/api_get_authorizer_list", pagedList(1203))
	var got []string
	for it, err := range e.c.AllAuthorizers(context.Background()) {
		require.NoError(t, err)
		got = append(got, it.AuthorizerAppID)
	}
	require.Len(t, got, 1203)
	assert.Equal(t, "wx0000", got[0])
	assert.Equal(t, "wx1202", got[1202])
	calls := r.list()
	require.Len(t, calls, 3)
	for i, c := range calls {
		assert.Equal(t, float64(i*500), c.Body["offset"])
		assert.Equal(t, float64(500), c.Body["count"])
	}

	// Stopping early stops paging.
	e2 := setup(t).withComponentToken(t)
	r2 := e2.onFunc(t, "POST", "/cgi-bin/component/api_get_authorizer_list", pagedList(1203))
	n := 0
	for range e2.c.AllAuthorizers(context.Background()) {
		n++
		if n == 3 {
			break
		}
	}
	assert.Len(t, r2.list(), 1)

	// Empty.
	e3 := setup(t).withComponentToken(t)
	e3.on(t, "POST", "/cgi-bin/component/api_get_authorizer_list", `{"total_count":0,"list":[]}`)
	for range e3.c.AllAuthorizers(context.Background()) {
		t.Fatal("no items expected")
	}
}

func TestAllAuthorizersYieldsError(t *testing.T) {
	e := setup(t).withComponentToken(t)
	page := 0
	e.onFunc(t, "POST", "/cgi-bin/component/api_get_authorizer_list", func(c call) (int, string) {
		page++
		if page == 2 {
			return 200, `{"errcode":45009,"errmsg":"quota"}`
		}
		return pagedList(800)(c)
	})
	n, errs := 0, 0
	for _, err := range e.c.AllAuthorizers(context.Background()) {
		if err != nil {
			errs++
			assert.ErrorIs(t, err, wxerr.ErrDailyQuota)
			continue
		}
		n++
	}
	assert.Equal(t, 500, n)
	assert.Equal(t, 1, errs)
}

func TestRestoreRefreshTokens(t *testing.T) {
	creds := newFailingStore(nil)
	e := setup(t, nil, creds).withComponentToken(t)
	e.onFunc(t, "POST", "/cgi-bin/component/api_get_authorizer_list", pagedList(3))
	storeRefresh(t, creds, "wx0001", "RT-1") // already current
	storeRefresh(t, creds, "wx0002", "RT-OLD")
	n, err := e.c.RestoreRefreshTokens(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n, "only the account with no stored refresh token is written")
	for i, want := range []string{"RT-0", "RT-1", "RT-OLD"} {
		rt, err := get(t, creds, authKey(fmt.Sprintf("wx%04d", i), "refresh_token"))
		require.NoError(t, err)
		// A stored token that differs from the list may be a rotation newer than the list (another
		// instance refreshed after WeChat answered): it is never overwritten.
		assert.Equal(t, want, rt.Value)
	}
	assert.Equal(t, "api_get_authorizer_list", creds.reason(authKey("wx0000", "refresh_token")))

	// An answer lost after the write landed is settled by reading: the token is there, so it counts.
	require.NoError(t, creds.Store.Delete(context.Background(), authKey("wx0000", "refresh_token")))
	creds.lostReply = func(k string) bool { return k == authKey("wx0000", "refresh_token") }
	n, err = e.c.RestoreRefreshTokens(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	creds.lostReply = nil

	creds.failGet = func(string) bool { return true }
	_, err = e.c.RestoreRefreshTokens(context.Background())
	assert.ErrorIs(t, err, errStore)
	creds.failGet = nil
	creds.failSet = func(string) bool { return true }
	require.NoError(t, creds.Store.Delete(context.Background(), authKey("wx0000", "refresh_token")))
	_, err = e.c.RestoreRefreshTokens(context.Background())
	assert.ErrorIs(t, err, errStore)
}
