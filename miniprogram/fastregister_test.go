package miniprogram_test

import (
	"net/url"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

func fastReg(t *testing.T) (*miniprogram.FastRegistration, *env) {
	e := setup(t)
	return miniprogram.NewFastRegistration(e.caller, e.comp), e
}

var company = miniprogram.FastRegisterRequest{
	Name: "深圳市某某科技有限公司", Code: "91440300MA5FXXXX1X", CodeType: miniprogram.CodeTypeCreditCode,
	LegalPersonaWechat: "zhangsan_wx", LegalPersonaName: "张三", ComponentPhone: "13800000000",
}

func TestFastRegisterCreate(t *testing.T) {
	f, e := fastReg(t)
	e.expect(t, call{method: "POST", path: "/cgi-bin/component/fastregisterweapp", query: url.Values{"action": {"create"}},
		token: "component_access_token", value: "comp-1", reply: `{"errcode":0,"errmsg":"ok"}`,
		body: `{"name":"深圳市某某科技有限公司","code":"91440300MA5FXXXX1X","code_type":1,"legal_persona_wechat":"zhangsan_wx",
		"legal_persona_name":"张三","component_phone":"13800000000"}`})
	require.NoError(t, f.Create(ctx, company))
}

func TestFastRegisterCodeTypes(t *testing.T) {
	for _, tc := range []struct {
		typ  miniprogram.CodeType
		code string
		ok   bool
	}{
		{1, "91440300MA5FXXXX1X", true},
		{1, "91440300MA5FXXXX1", false},   // 17
		{1, "91440300MA5FXXXX1XY", false}, // 19
		{2, "12345678X", true},
		{2, "12345678-X", true},
		{2, "1234567-X", false},
		{2, "12345678XY", false},
		{3, "440301000000001", true},
		{3, "44030100000000", false},
		{3, "4403010000000-1", false},
		{1, "91440300MA5FXXXX1 ", false},
	} {
		f, e := fastReg(t)
		e.mt.RegisterResponder("POST", base+"/cgi-bin/component/fastregisterweapp", httpmock.NewStringResponder(200, `{"errcode":0}`))
		r := company
		r.CodeType, r.Code = tc.typ, tc.code
		err := f.Create(ctx, r)
		if tc.ok {
			require.NoError(t, err, "%d %q", tc.typ, tc.code)
		} else {
			requireInvalid(t, err, "code")
			assert.Zero(t, e.mt.GetTotalCallCount())
		}
	}
	f, _ := fastReg(t)
	for _, typ := range []miniprogram.CodeType{0, 4} {
		r := company
		r.CodeType = typ
		requireInvalid(t, f.Create(ctx, r), "code_type")
	}
}

func TestFastRegisterCreateRequired(t *testing.T) {
	f, e := fastReg(t)
	for field, m := range map[string]func(*miniprogram.FastRegisterRequest){
		"name":                 func(r *miniprogram.FastRegisterRequest) { r.Name = "" },
		"code":                 func(r *miniprogram.FastRegisterRequest) { r.Code = "" },
		"legal_persona_wechat": func(r *miniprogram.FastRegisterRequest) { r.LegalPersonaWechat = "" },
		"legal_persona_name":   func(r *miniprogram.FastRegisterRequest) { r.LegalPersonaName = "" },
	} {
		r := company
		m(&r)
		requireInvalid(t, f.Create(ctx, r), field)
	}
	assert.Zero(t, e.mt.GetTotalCallCount())

	// component_phone is optional and left out when empty.
	e.expect(t, call{method: "POST", path: "/cgi-bin/component/fastregisterweapp", query: url.Values{"action": {"create"}},
		token: "component_access_token", value: "comp-1", reply: `{"errcode":0}`,
		body: `{"name":"n","code":"440301000000001","code_type":3,"legal_persona_wechat":"w","legal_persona_name":"p"}`})
	require.NoError(t, f.Create(ctx, miniprogram.FastRegisterRequest{Name: "n", Code: "440301000000001", CodeType: 3, LegalPersonaWechat: "w", LegalPersonaName: "p"}))
}

func TestFastRegisterCreateErrors(t *testing.T) {
	for _, code := range []wxerr.Code{-1, 89249, 89247, 86004, 61070, 89248, 89253, 89254, 89255, 89250} {
		f, e := fastReg(t)
		e.mt.RegisterResponder("POST", base+"/cgi-bin/component/fastregisterweapp", httpmock.NewStringResponder(200, `{"errcode":`+itoa(int(code))+`,"errmsg":"x"}`))
		err := f.Create(ctx, company)
		assert.Equal(t, code, wxerr.CodeOf(err), "create reports every errcode as an error")
		assert.Equal(t, 1, e.mt.GetTotalCallCount(), "create is sent once")
	}
}

func TestFastRegisterSearch(t *testing.T) {
	for _, tc := range []struct {
		reply string
		want  miniprogram.FastRegisterStatus
		code  wxerr.Code
	}{
		{`{"errcode":0,"errmsg":"ok"}`, miniprogram.FastRegisterNoError, 0},
		{`{"errcode":89250,"errmsg":"task not found"}`, miniprogram.FastRegisterNoTask, 0},
		{`{"errcode":89251,"errmsg":"waiting"}`, miniprogram.FastRegisterWaitingFaceCheck, 0},
		{`{"errcode":89252,"errmsg":"checking"}`, miniprogram.FastRegisterChecking, 0},
		{`{"errcode":89253,"errmsg":"missing param"}`, 0, 89253},
		{`{"errcode":89249,"errmsg":"running"}`, 0, 89249},
		{`{"errcode":61070,"errmsg":"name mismatch"}`, 0, 61070},
	} {
		f, e := fastReg(t)
		e.expect(t, call{method: "POST", path: "/cgi-bin/component/fastregisterweapp", query: url.Values{"action": {"search"}},
			token: "component_access_token", value: "comp-1", reply: tc.reply,
			body: `{"name":"深圳市某某科技有限公司","legal_persona_wechat":"zhangsan_wx","legal_persona_name":"张三"}`})
		st, err := f.Search(ctx, "深圳市某某科技有限公司", "zhangsan_wx", "张三")
		if tc.code != 0 {
			assert.Equal(t, tc.code, wxerr.CodeOf(err))
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, st)
	}
	f, e := fastReg(t)
	_, err := f.Search(ctx, "", "w", "n")
	requireInvalid(t, err, "name")
	_, err = f.Search(ctx, "c", "", "n")
	requireInvalid(t, err, "legal_persona_wechat")
	_, err = f.Search(ctx, "c", "w", "")
	requireInvalid(t, err, "legal_persona_name")
	assert.Zero(t, e.mt.GetTotalCallCount())
}

func TestFastRegisterStatusString(t *testing.T) {
	assert.Equal(t, "no task", miniprogram.FastRegisterNoTask.String())
	assert.Contains(t, miniprogram.FastRegisterWaitingFaceCheck.String(), "face")
	assert.Contains(t, miniprogram.FastRegisterChecking.String(), "checking")
	assert.Contains(t, miniprogram.FastRegisterNoError.String(), "no pending")
	assert.Equal(t, "FastRegisterStatus(5)", miniprogram.FastRegisterStatus(5).String())
}

func TestFastRegisterNeedsComponent(t *testing.T) {
	e := setup(t)
	for _, f := range []*miniprogram.FastRegistration{
		miniprogram.NewFastRegistration(nil, e.comp),
		miniprogram.NewFastRegistration(e.caller, authorizer.Component{AppID: "wxCOMP"}),
	} {
		requireInvalid(t, f.Create(ctx, company), "component")
		_, err := f.Search(ctx, "a", "b", "c")
		requireInvalid(t, err, "component")
	}
	assert.Zero(t, e.mt.GetTotalCallCount())
}
