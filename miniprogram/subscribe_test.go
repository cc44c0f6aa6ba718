package miniprogram_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestSubscribeTemplates(t *testing.T) {
	e := setup(t)
	sub := e.c.Subscribe()

	e.expect(t, call{method: "GET", path: "/wxaapi/newtmpl/getcategory", reply: `{"errcode":0,"errmsg":"ok","data":[{"id":612,"name":"餐饮服务"}]}`})
	cats, err := sub.Categories(ctx)
	require.NoError(t, err)
	assert.Equal(t, []miniprogram.SubscribeCategory{{ID: 612, Name: "餐饮服务"}}, cats)

	e.expect(t, call{method: "GET", path: "/wxaapi/newtmpl/getpubtemplatetitles",
		query: url.Values{"ids": {"612,613"}, "start": {"30"}, "limit": {"30"}, "keyword": {"订单"}},
		reply: `{"errcode":0,"count":41,"data":[{"tid":99,"title":"订单完成通知","type":2,"categoryId":"612"}]}`})
	titles, err := sub.PublicTitles(ctx, miniprogram.PublicTitlesRequest{CategoryIDs: []int{612, 613}, Start: 30, Limit: 30, Keyword: "订单"})
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.PublicTitles{Count: 41, Data: []miniprogram.PublicTitle{{TID: 99, Title: "订单完成通知", Type: miniprogram.TemplateOneTime, CategoryID: "612"}}}, titles)

	e.expect(t, call{method: "GET", path: "/wxaapi/newtmpl/getpubtemplatekeywords", query: url.Values{"tid": {"99"}},
		reply: `{"errcode":0,"count":2,"data":[{"kid":1,"name":"订单号","example":"A001","rule":"character_string"},{"kid":2,"name":"金额","example":"12.00元","rule":"amount"}]}`})
	kws, err := sub.Keywords(ctx, 99)
	require.NoError(t, err)
	assert.Equal(t, []miniprogram.TemplateKeyword{{KID: 1, Name: "订单号", Example: "A001", Rule: "character_string"}, {KID: 2, Name: "金额", Example: "12.00元", Rule: "amount"}}, kws)

	e.expect(t, call{method: "POST", path: "/wxaapi/newtmpl/addtemplate", body: `{"tid":"99","kidList":[2,1],"sceneDesc":"下单后通知"}`,
		reply: `{"errcode":0,"errmsg":"ok","priTmplId":"PRI-1"}`})
	id, err := sub.Add(ctx, miniprogram.AddTemplateRequest{TID: 99, KIDs: []int{2, 1}, SceneDesc: "下单后通知"})
	require.NoError(t, err)
	assert.Equal(t, "PRI-1", id)

	e.expect(t, call{method: "GET", path: "/wxaapi/newtmpl/gettemplate", reply: `{"errcode":0,"data":[{"priTmplId":"PRI-1","title":"订单完成通知",
		"content":"金额:{{amount2.DATA}}\n订单号:{{character_string1.DATA}}\n","example":"","type":2,
		"keywordEnumValueList":[{"keywordCode":"phrase3.DATA","enumValueList":["已完成"]}]}]}`})
	list, err := sub.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "PRI-1", list[0].PriTmplID)
	assert.Equal(t, []string{"amount2", "character_string1"}, list[0].Keys())
	assert.Equal(t, []miniprogram.KeywordEnumValues{{KeywordCode: "phrase3.DATA", Values: []string{"已完成"}}}, list[0].KeywordEnumValues)

	e.expect(t, call{method: "POST", path: "/wxaapi/newtmpl/deltemplate", body: `{"priTmplId":"PRI-1"}`, reply: `{"errcode":0,"errmsg":"ok"}`})
	require.NoError(t, sub.Delete(ctx, "PRI-1"))

	// Errors are *wxerr.APIError.
	e.expect(t, call{method: "POST", path: "/wxaapi/newtmpl/addtemplate", body: `{"tid":"99","kidList":[1,2]}`, reply: `{"errcode":200012,"errmsg":"private template limit"}`})
	_, err = sub.Add(ctx, miniprogram.AddTemplateRequest{TID: 99, KIDs: []int{1, 2}})
	assert.Equal(t, wxerr.Code(200012), wxerr.CodeOf(err))
	e.expect(t, call{method: "POST", path: "/wxaapi/newtmpl/addtemplate", body: `{"tid":"99","kidList":[1,2]}`, reply: `{"errcode":0}`})
	_, err = sub.Add(ctx, miniprogram.AddTemplateRequest{TID: 99, KIDs: []int{1, 2}})
	require.ErrorContains(t, err, "no priTmplId")
	for _, p := range []string{"/wxaapi/newtmpl/getcategory", "/wxaapi/newtmpl/gettemplate"} {
		e.expect(t, call{method: "GET", path: p, reply: `{"errcode":48001,"errmsg":"api unauthorized"}`})
	}
	_, err = sub.Categories(ctx)
	assert.Equal(t, wxerr.CodeAPIUnauthorizedForAccount, wxerr.CodeOf(err))
	_, err = sub.List(ctx)
	assert.Equal(t, wxerr.CodeAPIUnauthorizedForAccount, wxerr.CodeOf(err))
	e.expect(t, call{method: "GET", path: "/wxaapi/newtmpl/getpubtemplatekeywords", query: url.Values{"tid": {"7"}}, reply: `{"errcode":200014,"errmsg":"invalid tid"}`})
	_, err = sub.Keywords(ctx, 7)
	assert.Equal(t, wxerr.Code(200014), wxerr.CodeOf(err))
	e.expect(t, call{method: "GET", path: "/wxaapi/newtmpl/getpubtemplatetitles", query: url.Values{"ids": {"1"}, "start": {"0"}, "limit": {"1"}}, reply: `{"errcode":40097,"errmsg":"invalid args"}`})
	_, err = sub.PublicTitles(ctx, miniprogram.PublicTitlesRequest{CategoryIDs: []int{1}, Limit: 1})
	assert.Equal(t, wxerr.CodeInvalidParams, wxerr.CodeOf(err))
	e.expect(t, call{method: "POST", path: "/wxaapi/newtmpl/deltemplate", body: `{"priTmplId":"X"}`, reply: `{"errcode":40037,"errmsg":"invalid template id"}`})
	assert.Equal(t, wxerr.Code(40037), wxerr.CodeOf(sub.Delete(ctx, "X")))
}

func TestSubscribeTemplatesValidate(t *testing.T) {
	e := setup(t)
	sub := e.c.Subscribe()
	errs := []error{
		second(sub.PublicTitles(ctx, miniprogram.PublicTitlesRequest{Limit: 30})),
		second(sub.PublicTitles(ctx, miniprogram.PublicTitlesRequest{CategoryIDs: []int{1}, Limit: 31})),
		second(sub.PublicTitles(ctx, miniprogram.PublicTitlesRequest{CategoryIDs: []int{1}, Limit: 0})),
		second(sub.PublicTitles(ctx, miniprogram.PublicTitlesRequest{CategoryIDs: []int{1}, Limit: 1, Start: -1})),
		second(sub.Keywords(ctx, 0)),
		second(sub.Add(ctx, miniprogram.AddTemplateRequest{KIDs: []int{1, 2}})),
		second(sub.Add(ctx, miniprogram.AddTemplateRequest{TID: 1, KIDs: []int{1}})),
		second(sub.Add(ctx, miniprogram.AddTemplateRequest{TID: 1, KIDs: []int{1, 2, 3, 4, 5, 6}})),
		second(sub.Add(ctx, miniprogram.AddTemplateRequest{TID: 1, KIDs: []int{1, 1}})),
		second(sub.Add(ctx, miniprogram.AddTemplateRequest{TID: 1, KIDs: []int{1, 2}, SceneDesc: strings.Repeat("字", 16)})),
		sub.Delete(ctx, ""),
	}
	for i, err := range errs {
		assert.True(t, wxerr.IsValidation(err), "case %d: %v", i, err)
	}
	assert.Zero(t, e.mt.GetTotalCallCount())
}

func TestSubscribeSend(t *testing.T) {
	e := setup(t)
	sub := e.c.Subscribe()
	e.expect(t, call{method: "POST", path: "/cgi-bin/message/subscribe/send",
		body: `{"touser":"oUSER","template_id":"PRI-1","page":"pages/order/index?id=7","data":{"amount2":{"value":"12.00元"},
		"character_string1":{"value":"A001"},"thing3":{"value":"二十个字以内的说明"}},"miniprogram_state":"trial","lang":"en_US"}`,
		reply: `{"errcode":0,"errmsg":"ok"}`})
	require.NoError(t, sub.Send(ctx, miniprogram.SendRequest{ToUser: "oUSER", TemplateID: "PRI-1", Page: "pages/order/index?id=7",
		Data: map[string]string{"character_string1": "A001", "amount2": "12.00元", "thing3": "二十个字以内的说明"}, State: miniprogram.StateTrial, Lang: "en_US"}))

	e.expect(t, call{method: "POST", path: "/cgi-bin/message/subscribe/send", body: `{"touser":"o","template_id":"T","data":{"thing1":{"value":"x"}}}`,
		reply: `{"errcode":43101,"errmsg":"user refuse to accept the msg"}`})
	err := sub.Send(ctx, miniprogram.SendRequest{ToUser: "o", TemplateID: "T", Data: map[string]string{"thing1": "x"}})
	assert.Equal(t, wxerr.Code(43101), wxerr.CodeOf(err))
	assert.Equal(t, 2, e.mt.GetTotalCallCount(), "a refused send is not retried")
}

func TestSubscribeSendValidates(t *testing.T) {
	e := setup(t)
	sub := e.c.Subscribe()
	ok := miniprogram.SendRequest{ToUser: "o", TemplateID: "T", Data: map[string]string{"thing1": "x"}}
	bad := func(f func(r *miniprogram.SendRequest)) error {
		r := ok
		r.Data = map[string]string{"thing1": "x"}
		f(&r)
		return sub.Send(ctx, r)
	}
	for name, err := range map[string]error{
		"no touser":     bad(func(r *miniprogram.SendRequest) { r.ToUser = "" }),
		"no template":   bad(func(r *miniprogram.SendRequest) { r.TemplateID = "" }),
		"no data":       bad(func(r *miniprogram.SendRequest) { r.Data = nil }),
		"bad key":       bad(func(r *miniprogram.SendRequest) { r.Data = map[string]string{"Thing1": "x"} }),
		"key no number": bad(func(r *miniprogram.SendRequest) { r.Data = map[string]string{"thing": "x"} }),
		"empty value":   bad(func(r *miniprogram.SendRequest) { r.Data["thing1"] = "" }),
		"thing > 20":    bad(func(r *miniprogram.SendRequest) { r.Data["thing1"] = strings.Repeat("字", 21) }),
		"phrase > 5":    bad(func(r *miniprogram.SendRequest) { r.Data["phrase2"] = "已经完成了啊" }),
		"number digits": bad(func(r *miniprogram.SendRequest) { r.Data["number2"] = "12a" }),
		"state":         bad(func(r *miniprogram.SendRequest) { r.State = "prod" }),
		"lang":          bad(func(r *miniprogram.SendRequest) { r.Lang = "fr_FR" }),
	} {
		assert.True(t, wxerr.IsValidation(err), name)
	}
	assert.Zero(t, e.mt.GetTotalCallCount())
	n, has := miniprogram.SubscribeValueLimit("thing12")
	assert.True(t, has)
	assert.Equal(t, 20, n)
	_, has = miniprogram.SubscribeValueLimit("time3")
	assert.False(t, has)
}
