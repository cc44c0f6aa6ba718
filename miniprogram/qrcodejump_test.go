package miniprogram_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

var tableRule = miniprogram.QRCodeJumpRule{Prefix: "https://shop.example.com/t/", PermitSubRule: "1", Path: "pages/table/index",
	OpenVersion: miniprogram.OpenRelease, DebugURL: []string{"https://shop.example.com/t/12"}}

func TestQRCodeJumpCalls(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/cgi-bin/wxopen/qrcodejumpadd",
		body:  `{"prefix":"https://shop.example.com/t/","permit_sub_rule":"1","path":"pages/table/index","open_version":"3","debug_url":["https://shop.example.com/t/12"],"is_edit":"1"}`,
		reply: `{"errcode":0,"errmsg":"ok"}`})
	require.NoError(t, e.c.AddQRCodeJump(ctx, tableRule, true))

	e.expect(t, call{method: "POST", path: "/cgi-bin/wxopen/qrcodejumpget", body: `{}`, reply: `{"errcode":0,"rule_list":[{"prefix":"https://shop.example.com/t/",
		"permit_sub_rule":"1","path":"pages/table/index","open_version":"3","debug_url":["https://shop.example.com/t/12"],"state":2}],
		"qrcodejump_open":1,"qrcodejump_pub_quota":19,"list_size":1}`})
	got, err := e.c.QRCodeJumps(ctx)
	require.NoError(t, err)
	want := tableRule
	want.State = 2
	assert.Equal(t, &miniprogram.QRCodeJumps{Rules: []miniprogram.QRCodeJumpRule{want}, Open: 1, PublishQuota: 19, ListSize: 1}, got)

	e.expect(t, call{method: "POST", path: "/cgi-bin/wxopen/qrcodejumpdownload", body: `{}`, reply: `{"errcode":0,"file_name":"abc.txt","file_content":"xyz"}`})
	f, err := e.c.QRCodeJumpVerifyFile(ctx)
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.VerifyFile{FileName: "abc.txt", Content: "xyz"}, f)

	e.expect(t, call{method: "POST", path: "/cgi-bin/wxopen/qrcodejumppublish", body: `{"prefix":"https://shop.example.com/t/"}`, reply: `{"errcode":0}`})
	require.NoError(t, e.c.PublishQRCodeJump(ctx, tableRule.Prefix))
	e.expect(t, call{method: "POST", path: "/cgi-bin/wxopen/qrcodejumpdelete", body: `{"prefix":"https://shop.example.com/t/"}`, reply: `{"errcode":0}`})
	require.NoError(t, e.c.DeleteQRCodeJump(ctx, tableRule.Prefix))

	e.expect(t, call{method: "POST", path: "/cgi-bin/wxopen/qrcodejumpadd",
		body:  `{"prefix":"https://shop.example.com/t/","permit_sub_rule":"1","path":"pages/table/index","open_version":"3","debug_url":["https://shop.example.com/t/12"],"is_edit":"0"}`,
		reply: `{"errcode":48001,"errmsg":"api unauthorized"}`})
	assert.Equal(t, wxerr.CodeAPIUnauthorizedForAccount, wxerr.CodeOf(e.c.AddQRCodeJump(ctx, tableRule, false)))
	e.expect(t, call{method: "POST", path: "/cgi-bin/wxopen/qrcodejumpget", body: `{}`, reply: `{"errcode":48001,"errmsg":"api unauthorized"}`})
	_, err = e.c.QRCodeJumps(ctx)
	assert.Equal(t, wxerr.CodeAPIUnauthorizedForAccount, wxerr.CodeOf(err))
	e.expect(t, call{method: "POST", path: "/cgi-bin/wxopen/qrcodejumpdownload", body: `{}`, reply: `{"errcode":48001,"errmsg":"api unauthorized"}`})
	_, err = e.c.QRCodeJumpVerifyFile(ctx)
	assert.Equal(t, wxerr.CodeAPIUnauthorizedForAccount, wxerr.CodeOf(err))
}

func TestQRCodeJumpValidates(t *testing.T) {
	e := setup(t)
	bad := func(f func(r *miniprogram.QRCodeJumpRule)) error {
		r := tableRule
		f(&r)
		return e.c.AddQRCodeJump(ctx, r, false)
	}
	for name, err := range map[string]error{
		"prefix":        bad(func(r *miniprogram.QRCodeJumpRule) { r.Prefix = "shop.example.com/t/" }),
		"path":          bad(func(r *miniprogram.QRCodeJumpRule) { r.Path = "" }),
		"open_version":  bad(func(r *miniprogram.QRCodeJumpRule) { r.OpenVersion = "4" }),
		"permit":        bad(func(r *miniprogram.QRCodeJumpRule) { r.PermitSubRule = "3" }),
		"no debug":      bad(func(r *miniprogram.QRCodeJumpRule) { r.DebugURL = nil }),
		"six debug":     bad(func(r *miniprogram.QRCodeJumpRule) { r.DebugURL = make([]string, 6) }),
		"debug outside": bad(func(r *miniprogram.QRCodeJumpRule) { r.DebugURL = []string{"https://other.example.com/t/1"} }),
		"publish":       e.c.PublishQRCodeJump(ctx, ""),
		"delete":        e.c.DeleteQRCodeJump(ctx, ""),
	} {
		assert.True(t, wxerr.IsValidation(err), name)
	}
	assert.Zero(t, e.mt.GetTotalCallCount())
}
