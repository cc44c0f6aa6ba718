package card_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestCreateQRCodeOneCard(t *testing.T) {
	e := setup(t)
	n := e.expectPOST(t, "/card/qrcode/create", `{"action_name":"QR_CARD","expire_seconds":1800,
		"action_info":{"card":{"card_id":"pC","openid":"oU","is_unique_code":true,"outer_str":"table-12"}}}`,
		`{"errcode":0,"errmsg":"ok","ticket":"gQT","expire_seconds":1800,"url":"http://weixin.qq.com/q/x","show_qrcode_url":"https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=gQT"}`)
	qr, err := e.card(oaAppID).CreateQRCode(context.Background(), card.QRCodeRequest{ExpireSeconds: 1800,
		Card: &card.QRCard{CardID: "pC", OpenID: "oU", IsUniqueCode: true, OuterStr: "table-12"}})
	require.NoError(t, err)
	assert.Equal(t, &card.QRCode{Ticket: "gQT", ExpireSeconds: 1800, URL: "http://weixin.qq.com/q/x",
		ShowQRCodeURL: "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=gQT"}, qr)
	assert.EqualValues(t, 1, n.Load())
}

func TestCreateQRCodeSeveralCardsPermanent(t *testing.T) {
	e := setup(t)
	e.expectPOST(t, "/card/qrcode/create", `{"action_name":"QR_MULTIPLE_CARD",
		"action_info":{"multiple_card":{"card_list":[{"card_id":"pA"},{"card_id":"pB","outer_str":"x"}]}}}`,
		`{"errcode":0,"errmsg":"ok","ticket":"gQM","url":"http://weixin.qq.com/q/m"}`)
	qr, err := e.card(oaAppID).CreateQRCode(context.Background(), card.QRCodeRequest{
		Cards: []card.QRCardItem{{CardID: "pA"}, {CardID: "pB", OuterStr: "x"}}})
	require.NoError(t, err)
	assert.Equal(t, "gQM", qr.Ticket)
}

func TestCreateQRCodeValidates(t *testing.T) {
	e := setup(t)
	for _, req := range []card.QRCodeRequest{
		{},
		{Card: &card.QRCard{CardID: "pC"}, Cards: []card.QRCardItem{{CardID: "pB"}}},
		{Card: &card.QRCard{}},
		{Cards: []card.QRCardItem{{CardID: "pA"}, {}}},
		{Card: &card.QRCard{CardID: "pC"}, ExpireSeconds: 59},
		{Card: &card.QRCard{CardID: "pC"}, ExpireSeconds: 1801},
	} {
		_, err := e.card(oaAppID).CreateQRCode(context.Background(), req)
		assert.True(t, wxerr.IsValidation(err), "%+v: %v", req, err)
	}
	assert.Zero(t, e.mt.GetTotalCallCount())
}

func validLandingPage() card.LandingPage {
	return card.LandingPage{Banner: "http://mmbiz.qpic.cn/mmbiz_jpg/banner/0", PageTitle: "会员专享", CanShare: true,
		Scene: card.SceneQRCode, CardList: []card.LandingCard{{CardID: "pC", ThumbURL: "http://mmbiz.qpic.cn/mmbiz_png/thumb/0"}}}
}

func TestCreateLandingPageSends(t *testing.T) {
	e := setup(t)
	n := e.expectPOST(t, "/card/landingpage/create", `{"banner":"http://mmbiz.qpic.cn/mmbiz_jpg/banner/0","page_title":"会员专享",
		"can_share":true,"scene":"SCENE_QRCODE","card_list":[{"card_id":"pC","thumb_url":"http://mmbiz.qpic.cn/mmbiz_png/thumb/0"}]}`,
		`{"errcode":0,"errmsg":"ok","url":"https://mp.weixin.qq.com/bizmall/cardlandingpage?page_id=7","page_id":7}`)
	res, err := e.card(oaAppID).CreateLandingPage(context.Background(), validLandingPage())
	require.NoError(t, err)
	assert.Equal(t, &card.LandingPageResult{URL: "https://mp.weixin.qq.com/bizmall/cardlandingpage?page_id=7", PageID: 7}, res)
	assert.EqualValues(t, 1, n.Load())
}

func TestCreateLandingPageValidates(t *testing.T) {
	e := setup(t)
	for name, edit := range map[string]func(p *card.LandingPage){
		"banner":    func(p *card.LandingPage) { p.Banner = "banner.png" },
		"title":     func(p *card.LandingPage) { p.PageTitle = "" },
		"scene":     func(p *card.LandingPage) { p.Scene = "SCENE_MOON" },
		"no cards":  func(p *card.LandingPage) { p.CardList = nil },
		"card id":   func(p *card.LandingPage) { p.CardList[0].CardID = "" },
		"thumb url": func(p *card.LandingPage) { p.CardList[0].ThumbURL = "" },
	} {
		p := validLandingPage()
		edit(&p)
		_, err := e.card(oaAppID).CreateLandingPage(context.Background(), p)
		assert.True(t, wxerr.IsValidation(err), "%s: %v", name, err)
	}
	assert.Zero(t, e.mt.GetTotalCallCount())
}
