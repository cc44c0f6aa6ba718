package miniprogram_test

import (
	"bytes"
	"context"
	"image/png"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/internal/qrtest"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/openplatform"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

func TestEmulatorPhoneNumberByCode(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	mp := e.mini(shopApp)

	code := e.s.IssuePhoneCode(shopApp, "86", "13800000000")
	p, err := mp.PhoneNumber(ctx, code)
	require.NoError(t, err)
	assert.Equal(t, "13800000000", p.PhoneNumber)
	assert.Equal(t, "13800000000", p.PurePhoneNumber)
	assert.Equal(t, "86", p.CountryCode)
	assert.Equal(t, shopApp, p.Watermark.AppID)
	assert.Equal(t, e.s.Now().Unix(), p.Watermark.Timestamp.Unix())
	_, err = mp.PhoneNumber(ctx, code)
	assert.Equal(t, wxerr.CodeInvalidCode, wxerr.CodeOf(err), "single use")

	p, err = mp.PhoneNumber(ctx, e.s.IssuePhoneCode(shopApp, "1", "5550100"))
	require.NoError(t, err)
	assert.Equal(t, "+1 5550100", p.PhoneNumber)

	expiring := e.s.IssuePhoneCode(shopApp, "86", "13900000000")
	e.s.Advance(5 * time.Minute)
	_, err = mp.PhoneNumber(ctx, expiring)
	assert.Equal(t, wxerr.CodeInvalidCode, wxerr.CodeOf(err), "expired")

	const other = "wx7777777777777777"
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: other, MiniProgram: true})
	_, err = e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: other})
	require.NoError(t, err)
	_, err = e.mini(other).PhoneNumber(ctx, e.s.IssuePhoneCode(shopApp, "86", "13800000000"))
	assert.Equal(t, wxerr.CodeInvalidCode, wxerr.CodeOf(err), "a code of another mini program")
}

func TestEmulatorCheckSessionAfterRelogin(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	mp := e.mini(shopApp)
	first, err := mp.Login(ctx, e.s.IssueLoginCode(shopApp, "oUSER1"))
	require.NoError(t, err)
	require.NoError(t, mp.CheckSession(ctx, miniprogram.CheckSessionRequest{OpenID: "oUSER1", SessionKey: first.SessionKey}))

	second, err := mp.Login(ctx, e.s.IssueLoginCode(shopApp, "oUSER1"))
	require.NoError(t, err)
	require.NotEqual(t, first.SessionKey, second.SessionKey, "a login rotates the key")
	assert.Equal(t, wxerr.Code(87009), wxerr.CodeOf(mp.CheckSession(ctx, miniprogram.CheckSessionRequest{OpenID: "oUSER1", SessionKey: first.SessionKey})))
	require.NoError(t, mp.CheckSession(ctx, miniprogram.CheckSessionRequest{OpenID: "oUSER1", SessionKey: second.SessionKey}))
	assert.Equal(t, wxerr.Code(87009), wxerr.CodeOf(mp.CheckSession(ctx, miniprogram.CheckSessionRequest{OpenID: "oNOBODY", SessionKey: second.SessionKey})))
}

func TestEmulatorPaidUnionID(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	mp := e.mini(shopApp)
	e.s.RecordPayment(shopApp, wxtest.Payment{OpenID: "oUSER1", TransactionID: "4200001", MchID: "1900000001", OutTradeNo: "NO-1"})
	_, err := mp.PaidUnionID(ctx, "oUSER1", miniprogram.PaidOrder{})
	assert.Equal(t, wxerr.CodeOpenAccountNotBound, wxerr.CodeOf(err), "no open account yet")

	_, err = openplatform.New(e.p.Authorizer(shopApp)).Create(ctx)
	require.NoError(t, err)
	e.s.SetUnionID(shopApp, "oUSER1", "uUNION1")
	for _, o := range []miniprogram.PaidOrder{{}, {TransactionID: "4200001"}, {MchID: "1900000001", OutTradeNo: "NO-1"}} {
		u, err := mp.PaidUnionID(ctx, "oUSER1", o)
		require.NoError(t, err)
		assert.Equal(t, "uUNION1", u)
	}
	_, err = mp.PaidUnionID(ctx, "oUSER1", miniprogram.PaidOrder{TransactionID: "other"})
	assert.Equal(t, wxerr.Code(89300), wxerr.CodeOf(err))
	_, err = mp.PaidUnionID(ctx, "oUSER2", miniprogram.PaidOrder{})
	assert.Equal(t, wxerr.Code(89300), wxerr.CodeOf(err))
	e.s.Advance(5 * time.Minute)
	_, err = mp.PaidUnionID(ctx, "oUSER1", miniprogram.PaidOrder{})
	assert.Equal(t, wxerr.Code(89300), wxerr.CodeOf(err), "only within 5 minutes of the payment")
}

// decode reads the QR code of an emulator image and checks it is a PNG.
func decode(t *testing.T, img *miniprogram.Image) string {
	t.Helper()
	require.Equal(t, "image/png", img.ContentType)
	text, err := qrtest.Decode(img.Data)
	require.NoError(t, err)
	return text
}

// release takes the mini program through commit, audit and release with pages.
func (e *platform) release(ctx context.Context, mp *miniprogram.Client, pages ...string) {
	e.t.Helper()
	tpl := e.template(ctx)
	require.NoError(e.t, mp.Commit(ctx, miniprogram.CommitRequest{TemplateID: tpl, ExtJSON: miniprogram.ExtJSON{Pages: pages},
		UserVersion: "1.0.0", UserDesc: "v1"}))
	e.waitScan(ctx, mp)
	cats, err := mp.Categories(ctx)
	require.NoError(e.t, err)
	require.NotEmpty(e.t, cats)
	_, err = mp.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{ItemList: []miniprogram.AuditItem{{Address: pages[0], Title: "首页",
		FirstClass: cats[0].FirstClass, SecondClass: cats[0].SecondClass, FirstID: cats[0].FirstID, SecondID: cats[0].SecondID}}})
	require.NoError(e.t, err)
	require.NoError(e.t, e.s.Audit(ctx, mp.AppID(), true, ""))
	require.NoError(e.t, mp.Release(ctx))
}

func TestEmulatorCodes(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	mp := e.mini(shopApp)

	img, err := mp.Code(ctx, miniprogram.CodeRequest{Path: "pages/table/index?id=12"})
	require.NoError(t, err)
	assert.Equal(t, wxtest.CodeContent(shopApp, "pages/table/index?id=12"), decode(t, img))
	cfg, err := png.DecodeConfig(bytes.NewReader(img.Data))
	require.NoError(t, err)
	assert.Equal(t, 430, cfg.Width, "WeChat's default width")

	img, err = mp.CreateQRCode(ctx, miniprogram.CreateQRCodeRequest{Path: "pages/index/index", Width: 300})
	require.NoError(t, err)
	assert.Equal(t, wxtest.CodeContent(shopApp, "pages/index/index"), decode(t, img))
	cfg, err = png.DecodeConfig(bytes.NewReader(img.Data))
	require.NoError(t, err)
	assert.Equal(t, 300, cfg.Width)

	// Per-table codes: before the first release only with check_path false.
	no := false
	_, err = mp.UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{Scene: "t=12&s=7", Page: "pages/table/index"})
	assert.Equal(t, wxerr.Code(41030), wxerr.CodeOf(err))
	img, err = mp.UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{Scene: "t=12&s=7", Page: "pages/table/index", CheckPath: &no})
	require.NoError(t, err)
	assert.Equal(t, wxtest.UnlimitedCodeContent(shopApp, "pages/table/index", "t=12&s=7"), decode(t, img))
	assert.Equal(t, shopApp+":pages/table/index?scene=t%3D12%26s%3D7", decode(t, img))
	img, err = mp.UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{Scene: "store-9"})
	require.NoError(t, err)
	assert.Equal(t, shopApp+":pages/index/index?scene=store-9", decode(t, img), "the home page")

	e.release(ctx, mp, "pages/index/index", "pages/table/index")
	img, err = mp.UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{Scene: "t=1", Page: "pages/table/index",
		CodeStyle: miniprogram.CodeStyle{Width: 1280, LineColor: &miniprogram.RGB{R: 200}}})
	require.NoError(t, err)
	assert.Equal(t, wxtest.UnlimitedCodeContent(shopApp, "pages/table/index", "t=1"), decode(t, img))
	_, err = mp.UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{Scene: "t=1", Page: "pages/missing/index"})
	assert.Equal(t, wxerr.Code(41030), wxerr.CodeOf(err), "not in the released version")

	// Transparent background.
	img, err = mp.Code(ctx, miniprogram.CodeRequest{Path: "p", CodeStyle: miniprogram.CodeStyle{IsHyaline: true}})
	require.NoError(t, err)
	pic, err := png.Decode(bytes.NewReader(img.Data))
	require.NoError(t, err)
	_, _, _, alpha := pic.At(0, 0).RGBA()
	assert.Zero(t, alpha, "is_hyaline: the margin is transparent")

	// The limited codes run out (getwxacode and createwxaqrcode together); the unlimited do not.
	e.s.SetCodeLimit(shopApp, 1)
	_, err = mp.Code(ctx, miniprogram.CodeRequest{Path: "p"})
	require.NoError(t, err)
	_, err = mp.CreateQRCode(ctx, miniprogram.CreateQRCodeRequest{Path: "p"})
	assert.Equal(t, wxerr.Code(45029), wxerr.CodeOf(err))
	_, err = mp.Code(ctx, miniprogram.CodeRequest{Path: "p"})
	assert.Equal(t, wxerr.Code(45029), wxerr.CodeOf(err))
	_, err = mp.UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{Scene: "x"})
	require.NoError(t, err)

	// An official account has no mini-program codes.
	const oa = "wx6666666666666666"
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: oa})
	_, err = e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: oa})
	require.NoError(t, err)
	_, err = e.mini(oa).Code(ctx, miniprogram.CodeRequest{Path: "p"})
	assert.Equal(t, wxerr.CodeNotMiniProgram, wxerr.CodeOf(err))
}

func TestEmulatorSubscribeMessages(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	const shop = "wx5555555555555556"
	cat := wxtest.Category{First: "餐饮", Second: "中餐"}
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: shop, MiniProgram: true, Categories: []wxtest.Category{cat}})
	_, err := e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: shop})
	require.NoError(t, err)
	tid := e.s.AddPublicTemplate(wxtest.PublicTemplate{Category: cat, Title: "订单完成通知", Keywords: []wxtest.TemplateKeyword{
		{Name: "订单号", Rule: "character_string", Example: "A001"}, {Name: "金额", Rule: "amount", Example: "12.00元"}, {Name: "备注", Rule: "thing"}}})
	e.s.AddPublicTemplate(wxtest.PublicTemplate{Category: wxtest.Category{First: "教育", Second: "培训"}, Title: "上课提醒"})
	sub := e.mini(shop).Subscribe()

	cats, err := sub.Categories(ctx)
	require.NoError(t, err)
	require.Len(t, cats, 1)
	assert.Equal(t, "中餐", cats[0].Name)
	titles, err := sub.PublicTitles(ctx, miniprogram.PublicTitlesRequest{CategoryIDs: []int{cats[0].ID}, Limit: 30})
	require.NoError(t, err)
	assert.Equal(t, 1, titles.Count, "only the templates of the account's categories")
	assert.Equal(t, []miniprogram.PublicTitle{{TID: tid, Title: "订单完成通知", Type: miniprogram.TemplateOneTime, CategoryID: itoa(cats[0].ID)}}, titles.Data)
	kws, err := sub.Keywords(ctx, tid)
	require.NoError(t, err)
	require.Len(t, kws, 3)
	assert.Equal(t, miniprogram.TemplateKeyword{KID: 2, Name: "金额", Example: "12.00元", Rule: "amount"}, kws[1])

	id, err := sub.Add(ctx, miniprogram.AddTemplateRequest{TID: tid, KIDs: []int{1, 2, 3}, SceneDesc: "下单后"})
	require.NoError(t, err)
	_, err = sub.Add(ctx, miniprogram.AddTemplateRequest{TID: tid + 1, KIDs: []int{1, 2}})
	assert.Equal(t, wxerr.Code(200014), wxerr.CodeOf(err), "a template of another category")
	_, err = sub.Add(ctx, miniprogram.AddTemplateRequest{TID: tid, KIDs: []int{1, 9}})
	assert.Equal(t, wxerr.Code(200020), wxerr.CodeOf(err))
	list, err := sub.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, []string{"character_string1", "amount2", "thing3"}, list[0].Keys())

	msg := miniprogram.SendRequest{ToUser: "oUSER1", TemplateID: id, Page: "pages/order/index?id=7",
		Data: map[string]string{"character_string1": "A001", "amount2": "12.00元", "thing3": "请取餐"}}
	assert.Equal(t, wxerr.Code(40003), wxerr.CodeOf(sub.Send(ctx, msg)), "a user the mini program does not know")
	_, err = e.mini(shop).Login(ctx, e.s.IssueLoginCode(shop, "oUSER1"))
	require.NoError(t, err)
	assert.Equal(t, wxerr.Code(41030), wxerr.CodeOf(sub.Send(ctx, msg)), "the page is in no released version")
	e.release(ctx, e.mini(shop), "pages/index/index", "pages/order/index")
	assert.Equal(t, wxerr.Code(43101), wxerr.CodeOf(sub.Send(ctx, msg)), "not subscribed")
	e.s.AcceptSubscription(shop, "oUSER1", id)
	require.NoError(t, sub.Send(ctx, msg))
	assert.Equal(t, wxerr.Code(43101), wxerr.CodeOf(sub.Send(ctx, msg)), "a one-time subscription is used up")
	e.s.AcceptSubscription(shop, "oUSER1", id)
	missing := msg
	missing.Data = map[string]string{"character_string1": "A001"}
	assert.Equal(t, wxerr.Code(47003), wxerr.CodeOf(sub.Send(ctx, missing)), "a key of the template is missing")
	assert.Equal(t, wxerr.Code(40037), wxerr.CodeOf(sub.Send(ctx, miniprogram.SendRequest{ToUser: "oUSER1", TemplateID: "nope", Data: msg.Data})))

	sent := e.s.SentSubscribeMessages(shop)
	require.Len(t, sent, 1)
	assert.Equal(t, "oUSER1", sent[0].ToUser)
	assert.Equal(t, id, sent[0].TemplateID)
	assert.Equal(t, "pages/order/index?id=7", sent[0].Page)
	assert.Equal(t, msg.Data, sent[0].Data)
	assert.Empty(t, e.s.SentSubscribeMessages(shopApp), "recorded per account")

	require.NoError(t, sub.Delete(ctx, id))
	assert.Equal(t, wxerr.Code(40037), wxerr.CodeOf(sub.Delete(ctx, id)))
	list, err = sub.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
}

// QR jump rules against the emulator: a restaurant points its printed table codes at the mini program.
func TestEmulatorQRCodeJump(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	mp := e.mini(shopApp)
	const prefix = "https://noodles.example.com/t/"
	rule := miniprogram.QRCodeJumpRule{Prefix: prefix, PermitSubRule: "1", Path: "pages/table/index",
		OpenVersion: miniprogram.OpenRelease, DebugURL: []string{prefix + "12", prefix + "13"}}

	jumps, err := mp.QRCodeJumps(ctx)
	require.NoError(t, err)
	assert.Empty(t, jumps.Rules)
	assert.Equal(t, 20, jumps.PublishQuota)
	require.NoError(t, mp.AddQRCodeJump(ctx, rule, false))
	assert.Equal(t, wxerr.CodeInvalidParams, wxerr.CodeOf(mp.AddQRCodeJump(ctx, rule, false)), "the prefix has a rule")
	other := rule
	other.Prefix, other.DebugURL = "https://noodles.example.com/q/", []string{"https://noodles.example.com/q/1"}
	assert.Equal(t, wxerr.CodeInvalidParams, wxerr.CodeOf(mp.AddQRCodeJump(ctx, other, true)), "an edit of no rule")

	jumps, err = mp.QRCodeJumps(ctx)
	require.NoError(t, err)
	want := rule
	want.State = 1
	assert.Equal(t, []miniprogram.QRCodeJumpRule{want}, jumps.Rules, "unpublished")
	assert.Equal(t, 1, jumps.ListSize)
	assert.Equal(t, 1, jumps.Open)
	assert.Equal(t, 20, jumps.PublishQuota)

	file, err := mp.QRCodeJumpVerifyFile(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, file.FileName)
	assert.NotEmpty(t, file.Content)
	again, err := mp.QRCodeJumpVerifyFile(ctx)
	require.NoError(t, err)
	assert.Equal(t, file, again, "one file per mini program")

	require.NoError(t, mp.PublishQRCodeJump(ctx, prefix))
	jumps, err = mp.QRCodeJumps(ctx)
	require.NoError(t, err)
	require.Len(t, jumps.Rules, 1)
	assert.Equal(t, 2, jumps.Rules[0].State, "published")
	assert.Equal(t, 19, jumps.PublishQuota)
	assert.Equal(t, wxerr.CodeInvalidParams, wxerr.CodeOf(mp.PublishQRCodeJump(ctx, other.Prefix)), "no rule of that prefix")

	// An edit takes the rule back to unpublished.
	edited := rule
	edited.Path = "pages/menu/index"
	require.NoError(t, mp.AddQRCodeJump(ctx, edited, true))
	jumps, err = mp.QRCodeJumps(ctx)
	require.NoError(t, err)
	require.Len(t, jumps.Rules, 1)
	assert.Equal(t, "pages/menu/index", jumps.Rules[0].Path)
	assert.Equal(t, 1, jumps.Rules[0].State)

	// The monthly publish quota runs out (19 left), and comes back the next month.
	for range 19 {
		require.NoError(t, mp.PublishQRCodeJump(ctx, prefix))
	}
	assert.Equal(t, wxerr.CodeDailyQuota, wxerr.CodeOf(mp.PublishQRCodeJump(ctx, prefix)))
	jumps, err = mp.QRCodeJumps(ctx)
	require.NoError(t, err)
	assert.Zero(t, jumps.PublishQuota)
	e.s.Advance(32 * 24 * time.Hour)
	_, err = e.s.PushVerifyTicket(ctx) // WeChat keeps pushing tickets meanwhile
	require.NoError(t, err)
	jumps, err = mp.QRCodeJumps(ctx)
	require.NoError(t, err)
	assert.Equal(t, 20, jumps.PublishQuota, "a new month")

	require.NoError(t, mp.DeleteQRCodeJump(ctx, prefix))
	assert.Equal(t, wxerr.CodeInvalidParams, wxerr.CodeOf(mp.DeleteQRCodeJump(ctx, prefix)), "deleted already")
	jumps, err = mp.QRCodeJumps(ctx)
	require.NoError(t, err)
	assert.Empty(t, jumps.Rules)
	assert.Zero(t, jumps.ListSize)
}
