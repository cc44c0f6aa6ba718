package miniprogram_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestPersonalAndBetaRegistrationRequests(t *testing.T) {
	e := setup(t)
	fr := miniprogram.NewFastRegistration(e.caller, e.comp)
	e.expect(t, call{method: "POST", path: "/wxa/component/fastregisterpersonalweapp", query: url.Values{"action": {"create"}},
		token: "component_access_token", value: "comp-1",
		body:  `{"wxuser":"noodle_lady","idname":"张三","component_phone":"13800000000","new_version":true}`,
		reply: `{"errcode":0,"taskid":"T1","authorize_url":"https://x/auth","status":0}`})
	task, err := fr.CreatePersonal(ctx, miniprogram.PersonalRegisterRequest{WxUser: "noodle_lady", IDName: "张三", ComponentPhone: "13800000000"})
	require.NoError(t, err)
	assert.Equal(t, miniprogram.PersonalRegisterTask{TaskID: "T1", AuthorizeURL: "https://x/auth"}, *task)
	e.expect(t, call{method: "POST", path: "/wxa/component/fastregisterpersonalweapp", query: url.Values{"action": {"query"}},
		token: "component_access_token", value: "comp-1", body: `{"taskid":"T1"}`, reply: `{"errcode":0,"status":1003,"authorize_url":"https://x/auth"}`})
	task, err = fr.QueryPersonal(ctx, "T1")
	require.NoError(t, err)
	assert.Equal(t, 1003, task.Status)
	e.expect(t, call{method: "POST", path: "/wxa/component/fastregisterpersonalweapp", query: url.Values{"action": {"create"}},
		token: "component_access_token", value: "comp-1", body: `{"wxuser":"noodle_lady","new_version":true}`, reply: `{"errcode":0}`})
	_, err = fr.CreatePersonal(ctx, miniprogram.PersonalRegisterRequest{WxUser: "noodle_lady"})
	require.ErrorContains(t, err, "no taskid")

	e.expect(t, call{method: "POST", path: "/wxa/component/fastregisterbetaweapp", value: "comp-1",
		body: `{"name":"拉面试用","openid":"oUser"}`, reply: `{"errcode":0,"unique_id":"U1","authorize_url":"https://x/beta"}`})
	b, err := fr.CreateBeta(ctx, "拉面试用", "oUser")
	require.NoError(t, err)
	assert.Equal(t, "U1", b.UniqueID)

	e.expect(t, call{method: "POST", path: "/wxa/verifybetaweapp",
		body:  `{"verify_info":{"enterprise_name":"拉面小馆餐饮有限公司","code":"91440300MA5G12345X","code_type":1,"legal_persona_wechat":"lamian_boss","legal_persona_name":"李四"}}`,
		reply: `{"errcode":0}`})
	require.NoError(t, e.c.VerifyBeta(ctx, miniprogram.BetaVerifyRequest{EnterpriseName: "拉面小馆餐饮有限公司", Code: "91440300MA5G12345X",
		CodeType: miniprogram.CodeTypeCreditCode, LegalPersonaWechat: "lamian_boss", LegalPersonaName: "李四"}))
	e.expect(t, call{method: "POST", path: "/wxa/setbetaweappnickname", body: `{"name":"拉面小馆"}`, reply: `{"errcode":0}`})
	require.NoError(t, e.c.SetBetaNickname(ctx, "拉面小馆"))

	n := e.mt.GetTotalCallCount()
	_, err = fr.CreatePersonal(ctx, miniprogram.PersonalRegisterRequest{})
	requireInvalid(t, err, "wxuser")
	_, err = fr.QueryPersonal(ctx, "")
	requireInvalid(t, err, "taskid")
	_, err = fr.CreateBeta(ctx, "拉面", "")
	requireInvalid(t, err, "openid")
	_, err = fr.CreateBeta(ctx, string(make([]rune, 31)), "o")
	requireInvalid(t, err, "name")
	for _, r := range []struct {
		req   miniprogram.BetaVerifyRequest
		field string
	}{
		{miniprogram.BetaVerifyRequest{Code: "x", LegalPersonaWechat: "w", LegalPersonaName: "n"}, "enterprise_name"},
		{miniprogram.BetaVerifyRequest{EnterpriseName: "e", LegalPersonaWechat: "w", LegalPersonaName: "n"}, "code"},
		{miniprogram.BetaVerifyRequest{EnterpriseName: "e", Code: "x", LegalPersonaName: "n"}, "legal_persona_wechat"},
		{miniprogram.BetaVerifyRequest{EnterpriseName: "e", Code: "x", LegalPersonaWechat: "w"}, "legal_persona_name"},
		{miniprogram.BetaVerifyRequest{EnterpriseName: "e", Code: "91440300MA5G12345X", CodeType: 4, LegalPersonaWechat: "w", LegalPersonaName: "n"}, "code_type"},
	} {
		requireInvalid(t, e.c.VerifyBeta(ctx, r.req), r.field)
	}
	requireInvalid(t, e.c.SetBetaNickname(ctx, ""), "name")
	_, err = miniprogram.NewFastRegistration(nil, e.comp).CreateBeta(ctx, "a", "o")
	requireInvalid(t, err, "component")
	assert.Equal(t, n, e.mt.GetTotalCallCount())
}

func TestRegisterWithOfficialAccountRequest(t *testing.T) {
	e := setup(t)
	oa := authorizer.New("wxOA", e.caller, &tokens{name: "oa"}, e.comp)
	// The sample and [PW] send the booleans as strings; the new doc as booleans: both decode.
	e.expect(t, call{method: "POST", path: "/cgi-bin/account/fastregister", value: "oa-1", body: `{"ticket":"TK"}`,
		reply: `{"errcode":0,"appid":"wxNEW","authorization_code":"CODE","is_wx_verify_succ":"true","is_link_succ":false}`})
	reg, err := miniprogram.RegisterWithOfficialAccount(ctx, oa, "TK")
	require.NoError(t, err)
	assert.Equal(t, miniprogram.ReuseRegistration{AppID: "wxNEW", AuthorizationCode: "CODE", WxVerifySucceeded: true}, *reg)
	e.expect(t, call{method: "POST", path: "/cgi-bin/account/fastregister", value: "oa-1", body: `{"ticket":"TK"}`,
		reply: `{"errcode":61058,"errmsg":"invalid ticket"}`})
	_, err = miniprogram.RegisterWithOfficialAccount(ctx, oa, "TK")
	assert.Equal(t, wxerr.CodeReuseTicketInvalid, wxerr.CodeOf(err))
	assert.Contains(t, err.Error(), "never retry automatically")
	assert.Equal(t, 1, e.calls("POST", "/cgi-bin/account/fastregister"), "sent once: no automatic retry")
	e.expect(t, call{method: "POST", path: "/cgi-bin/account/fastregister", value: "oa-1", body: `{"ticket":"TK"}`,
		reply: `{"errcode":0,"appid":"wxNEW","is_wx_verify_succ":"maybe"}`})
	_, err = miniprogram.RegisterWithOfficialAccount(ctx, oa, "TK")
	require.Error(t, err)
	_, err = miniprogram.RegisterWithOfficialAccount(ctx, oa, "")
	requireInvalid(t, err, "ticket")
	_, err = miniprogram.RegisterWithOfficialAccount(ctx, nil, "TK")
	requireInvalid(t, err, "authorizer")
}
