package miniprogram_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/internal/qrtest"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/openplatform"
	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// platform is a Platform talking to the emulator, with its two push handlers served on loopback.
type platform struct {
	t  testing.TB
	s  *wxtest.Server
	p  *wxopen.Platform
	fr *miniprogram.FastRegistration

	mu       sync.Mutex
	audits   []string // "success" / "fail: REASON", as the message handler received them
	fastRegs []*component.FastRegisterEvent
}

const shopApp = "wx5555555555555555"

func newPlatform(t testing.TB) *platform {
	t.Helper()
	ctx := context.Background()
	s := wxtest.NewTestServer(t)
	app := s.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token,
		EncodingAESKey: app.EncodingAESKey}, wxopen.WithBaseURL(s.URL))
	require.NoError(t, err)
	e := &platform{t: t, s: s, p: p}

	auth, err := p.Handler(component.HandlerConfig{
		Now: s.Now,
		OnFastRegister: func(_ context.Context, ev *component.FastRegisterEvent) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.fastRegs = append(e.fastRegs, ev)
			return nil
		},
		OnICPVerifyResult: func(_ context.Context, ev *component.ICPVerifyResultEvent) error {
			e.record(fmt.Sprintf("icp face %s result=%d", ev.VerifyAppID, ev.Result))
			return nil
		},
		OnICPFilingResult: func(_ context.Context, ev *component.ICPFilingResultEvent) error {
			e.record(fmt.Sprintf("icp %s status=%d", ev.AuthorizerAppID, ev.BeianStatus))
			return nil
		},
		OnVerification: func(_ context.Context, ev *component.VerificationEvent) error {
			e.record(fmt.Sprintf("verify %s task=%d apply=%d", ev.AppID, ev.TaskStatus, ev.ApplyStatus))
			return nil
		},
		OnAuthAndICP: func(_ context.Context, ev *component.AuthAndICPEvent) error {
			e.record(fmt.Sprintf("procedure %s status=%d", ev.ProcedureID, ev.ProcedureStatus))
			return nil
		},
		OnBetaRegister: func(_ context.Context, ev *component.BetaRegisterEvent) error {
			e.record(fmt.Sprintf("beta %s %s %s ok=%t", ev.UniqueID, ev.MiniProgramAppID, ev.Name, ev.Succeeded()))
			return nil
		},
		OnBetaVerify: func(_ context.Context, ev *component.BetaVerifyEvent) error {
			e.record(fmt.Sprintf("betaverify %s %s ok=%t", ev.MiniProgramAppID, ev.Info.Name, ev.Succeeded()))
			return nil
		},
	})
	require.NoError(t, err)
	msg, err := p.MessageHandler(component.MessageHandlerConfig{
		Now: s.Now,
		OnAuditSuccess: func(_ context.Context, ev *component.AuditSuccessEvent) error {
			e.record("success " + ev.AuthorizerAppID)
			return nil
		},
		OnAuditFail: func(_ context.Context, ev *component.AuditFailEvent) error {
			e.record("fail " + ev.AuthorizerAppID + ": " + ev.Reason)
			return nil
		},
		OnNicknameAudit: func(_ context.Context, ev *component.NicknameAuditEvent) error {
			e.record(fmt.Sprintf("nickname %s %s approved=%t", ev.AuthorizerAppID, ev.Nickname, ev.Ret.Approved()))
			return nil
		},
		OnCategoryAudit: func(_ context.Context, ev *component.CategoryAuditEvent) error {
			e.record(fmt.Sprintf("category %s %s/%s approved=%t", ev.AuthorizerAppID, ev.First, ev.Second, ev.Ret.Approved()))
			return nil
		},
		OnPrivacyApply: func(_ context.Context, ev *component.PrivacyApplyEvent) error {
			e.record(fmt.Sprintf("privacy %s %s approved=%t", ev.AuthorizerAppID, ev.APIName, ev.Approved()))
			return nil
		},
	})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/auth", auth)
	mux.Handle("/msg/{appid}", msg)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.SetEventURLs(srv.URL+"/auth", srv.URL+"/msg/$APPID$")

	_, err = s.PushVerifyTicket(ctx)
	require.NoError(t, err)
	s.AddAuthorizer(wxtest.Authorizer{AppID: shopApp, MiniProgram: true, NickName: "小店初始名"})
	_, err = s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: shopApp})
	require.NoError(t, err)

	// Fast registration needs the HTTP caller and the component token; the Platform does not export
	// its caller yet, so the test builds one on the same base URL.
	caller, err := authorizer.NewCaller(wxcall.Config{BaseURL: s.URL})
	require.NoError(t, err)
	e.fr = miniprogram.NewFastRegistration(caller, authorizer.Component{AppID: app.AppID, Token: p.Component().TokenSource()})
	return e
}

func (e *platform) record(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.audits = append(e.audits, s)
}

func (e *platform) auditEvents() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.audits...)
}

func (e *platform) mini(appID string) *miniprogram.Client {
	return e.p.MiniProgram(appID)
}

// template adds a code template to the platform's library and returns its id.
func (e *platform) template(ctx context.Context) int64 {
	e.t.Helper()
	draft := e.s.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "1.0.0", UserDesc: "shop"})
	require.NoError(e.t, e.p.Component().AddToTemplate(ctx, int64(draft), 0))
	ids := e.s.TemplateIDs()
	require.NotEmpty(e.t, ids)
	return int64(ids[len(ids)-1])
}

func TestEmulatorReleasePipeline(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	mp := e.mini(shopApp)
	tpl := e.template(ctx)

	// Nothing committed yet: no QR code, no release.
	_, err := mp.QRCode(ctx, "")
	assert.Equal(t, wxerr.CodeNoCommittedCode, wxerr.CodeOf(err))
	err = mp.Release(ctx)
	require.Error(t, err)
	assert.True(t, errors.Is(err, &wxerr.APIError{Code: wxerr.CodeNoAuditVersion}))

	require.NoError(t, mp.Commit(ctx, miniprogram.CommitRequest{
		TemplateID: tpl,
		ExtJSON: miniprogram.ExtJSON{Ext: map[string]any{"shop_id": 42}, Pages: []string{"pages/index/index", "pages/order/order"},
			TabBar: map[string]any{"list": []map[string]string{{"pagePath": "pages/order/order", "text": "订单"}}}},
		UserVersion: "1.0.0",
		UserDesc:    "首发",
	}))
	e.waitScan(ctx, mp)
	pages, err := mp.Pages(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"pages/index/index", "pages/order/order"}, pages)
	img, err := mp.QRCode(ctx, "pages/order/order?id=1")
	require.NoError(t, err)
	_, err = jpeg.Decode(bytes.NewReader(img))
	require.NoError(t, err, "the trial QR code is a JPEG, as WeChat's")
	text, err := qrtest.Decode(img)
	require.NoError(t, err, "and a real QR code")
	assert.Equal(t, wxtest.TrialCodeContent(shopApp, "pages/order/order?id=1"), text)

	cats, err := mp.Categories(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, cats)
	item := miniprogram.AuditItem{Address: "pages/index/index", Title: "首页", FirstClass: cats[0].FirstClass,
		SecondClass: cats[0].SecondClass, FirstID: cats[0].FirstID, SecondID: cats[0].SecondID}
	auditID, err := mp.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{ItemList: []miniprogram.AuditItem{item}, VersionDesc: "v1"})
	require.NoError(t, err)
	st, err := mp.AuditStatus(ctx, auditID)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.AuditReviewing, st.Status)
	assert.Equal(t, "1.0.0", st.UserVersion)
	_, err = mp.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{ItemList: []miniprogram.AuditItem{item}})
	assert.Equal(t, wxerr.CodeAuditPending, wxerr.CodeOf(err))

	// A release attempted before approval is a clear error.
	err = mp.Release(ctx)
	var ae *wxerr.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, wxerr.CodeNotReleasable, ae.Code)
	assert.Equal(t, "POST /wxa/release", ae.Op)
	assert.Contains(t, err.Error(), "wait for approval")

	// Rejected: the platform hears it, and the status says why.
	require.NoError(t, e.s.Audit(ctx, shopApp, false, "类目不符"))
	assert.Equal(t, []string{"fail " + shopApp + ": 类目不符"}, e.auditEvents())
	latest, err := mp.LatestAuditStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.AuditRejected, latest.Status)
	assert.Equal(t, auditID, latest.AuditID)
	assert.Equal(t, "类目不符", latest.Reason)
	assert.NotEmpty(t, latest.ScreenShots)
	st, err = mp.AuditStatus(ctx, auditID)
	require.NoError(t, err)
	assert.Equal(t, latest.ScreenShots, st.ScreenShots, "screenshot and ScreenShot decode alike")
	assert.Equal(t, wxerr.CodeNotReleasable, wxerr.CodeOf(mp.Release(ctx)))

	// Resubmitted, withdrawn, resubmitted, approved, released.
	_, err = mp.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{ItemList: []miniprogram.AuditItem{item}})
	require.NoError(t, err)
	require.NoError(t, mp.UndoAudit(ctx))
	assert.Equal(t, wxerr.CodeStatusNotAllowed, wxerr.CodeOf(mp.UndoAudit(ctx)))
	second, err := mp.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{ItemList: []miniprogram.AuditItem{item}})
	require.NoError(t, err)
	require.NoError(t, e.s.Audit(ctx, shopApp, true, ""))
	assert.Equal(t, "success "+shopApp, e.auditEvents()[1])
	latest, err = mp.LatestAuditStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.AuditApproved, latest.Status)
	assert.Equal(t, second, latest.AuditID)
	require.NoError(t, mp.Release(ctx))
	assert.Equal(t, wxerr.CodeAlreadyReleased, wxerr.CodeOf(mp.Release(ctx)))
	rel, ok := e.s.Released(shopApp)
	require.True(t, ok)
	assert.Equal(t, "1.0.0", rel.UserVersion)
	var ext map[string]any
	require.NoError(t, json.Unmarshal([]byte(rel.ExtJSON), &ext))
	assert.Equal(t, shopApp, ext["extAppid"], "Commit fills in extAppid")

	// Version 2, then revert to version 1.
	require.NoError(t, mp.Commit(ctx, miniprogram.CommitRequest{TemplateID: tpl, ExtJSON: json.RawMessage(`{"extAppid":"` + shopApp + `"}`),
		UserVersion: "2.0.0", UserDesc: "二版"}))
	e.waitScan(ctx, mp)
	_, err = mp.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{ItemList: []miniprogram.AuditItem{item}})
	require.NoError(t, err)
	require.NoError(t, e.s.Audit(ctx, shopApp, true, ""))
	require.NoError(t, mp.Release(ctx))
	hist, err := mp.ReleaseHistory(ctx)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, "1.0.0", hist[0].UserVersion)
	require.NoError(t, mp.RevertRelease(ctx))
	rel, _ = e.s.Released(shopApp)
	assert.Equal(t, "1.0.0", rel.UserVersion)
	assert.Equal(t, wxerr.Code(87012), wxerr.CodeOf(mp.RevertRelease(ctx)))
}

func TestEmulatorBasicInfoAndDomains(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	mp := e.mini(shopApp)

	res, err := mp.SetNickname(ctx, miniprogram.SetNicknameRequest{NickName: "咖啡Coffee"})
	require.NoError(t, err)
	assert.Zero(t, res.AuditID)
	require.NoError(t, mp.SetSignature(ctx, "一家卖咖啡的小店"))
	require.NoError(t, mp.SetHeadImage(ctx, padded(pngImage(t), 2*1024*1024), miniprogram.Crop{}), "exactly 2 MB is accepted")
	require.True(t, wxerr.IsValidation(mp.SetHeadImage(ctx, padded(pngImage(t), 2*1024*1024+1), miniprogram.Crop{})))
	m, err := mp.UploadTempMedia(ctx, miniprogram.MediaImage, "licence.gif", pngImage(t))
	require.NoError(t, err)
	res, err = mp.SetNickname(ctx, miniprogram.SetNicknameRequest{NickName: "咖啡小馆", License: m.MediaID})
	require.NoError(t, err)
	assert.NotZero(t, res.AuditID, "a rename with materials goes to review")
	_, err = mp.SetNickname(ctx, miniprogram.SetNicknameRequest{NickName: "第三个名字"})
	assert.Equal(t, wxerr.Code(91002), wxerr.CodeOf(err), "the emulator allows two renames")

	bi, err := mp.BasicInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, "咖啡Coffee", bi.Nickname, "the reviewed name is not applied before approval")
	require.NoError(t, e.s.ReviewNickname(context.Background(), shopApp, true, ""))
	assert.Contains(t, e.auditEvents(), "nickname "+shopApp+" 咖啡小馆 approved=true", "wxa_nickname_audit pushed and typed")
	bi, err = mp.BasicInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, shopApp, bi.AppID)
	assert.Equal(t, "咖啡小馆", bi.Nickname)
	assert.Equal(t, "咖啡小馆", bi.NicknameInfo.Nickname)
	assert.Equal(t, 2, bi.NicknameInfo.ModifyUsedCount)
	assert.Equal(t, "一家卖咖啡的小店", bi.SignatureInfo.Signature)
	assert.Equal(t, 1, bi.HeadImageInfo.ModifyUsedCount)
	assert.NotEmpty(t, bi.HeadImageInfo.HeadImageURL)

	// Domains must be the platform's.
	_, err = mp.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainAdd, RequestDomain: []string{"https://api.shop.example"}})
	assert.Equal(t, wxerr.CodeDomainNoChange, wxerr.CodeOf(err), "no platform domains configured")
	e.s.SetPlatformDomains([]string{"shop.example"}, []string{"h5.shop.example"})
	d, err := mp.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainAdd,
		RequestDomain: []string{"https://api.shop.example", "https://10.0.0.1"}, UploadDomain: []string{"https://up.shop.example"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"https://api.shop.example"}, d.RequestDomain)
	assert.Equal(t, []string{"https://10.0.0.1"}, d.InvalidRequestDomain)
	assert.Equal(t, []string{"https://up.shop.example"}, d.UploadDomain)
	_, err = mp.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainAdd, RequestDomain: []string{"https://other.example"}})
	assert.Equal(t, wxerr.CodeDomainNotRegistered, wxerr.CodeOf(err))
	d, err = mp.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainSet, DownloadDomain: []string{"https://dl.shop.example"}})
	require.NoError(t, err)
	assert.Empty(t, d.RequestDomain)
	d, err = mp.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainGet})
	require.NoError(t, err)
	assert.Equal(t, []string{"https://dl.shop.example"}, d.DownloadDomain)

	wv, err := mp.SetWebviewDomain(ctx, miniprogram.DomainAdd, []string{"https://h5.shop.example"})
	require.NoError(t, err)
	assert.Equal(t, []string{"https://h5.shop.example"}, wv)
	_, err = mp.SetWebviewDomain(ctx, miniprogram.DomainAdd, []string{"https://h5.shop.example"})
	assert.Equal(t, wxerr.CodeWebviewNoChange, wxerr.CodeOf(err))
	wv, err = mp.SetWebviewDomain(ctx, miniprogram.DomainGet, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"https://h5.shop.example"}, wv)
}

func TestEmulatorOpenPlatform(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	op := openplatform.New(e.p.Authorizer(shopApp))
	_, bound, err := op.Get(ctx)
	require.NoError(t, err)
	assert.False(t, bound)
	id, err := op.Create(ctx)
	require.NoError(t, err)
	got, bound, err := op.Get(ctx)
	require.NoError(t, err)
	assert.True(t, bound)
	assert.Equal(t, id, got)
	_, err = op.Create(ctx)
	assert.Equal(t, wxerr.CodeOpenAccountAlreadyBound, wxerr.CodeOf(err))

	// A second account of the same subject shares the open account.
	const second = "wx6666666666666666"
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: second})
	_, err = e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: second})
	require.NoError(t, err)
	op2 := openplatform.New(e.p.Authorizer(second))
	require.NoError(t, op2.Bind(ctx, id))
	assert.Equal(t, wxerr.CodeOpenAccountAlreadyBound, wxerr.CodeOf(op2.Bind(ctx, id)))
	require.NoError(t, op2.Unbind(ctx, id))
	_, bound, err = op2.Get(ctx)
	require.NoError(t, err)
	assert.False(t, bound)
	assert.Equal(t, wxerr.CodeOpenAccountNotBound, wxerr.CodeOf(op2.Unbind(ctx, id)))

	// Another subject cannot bind.
	const other = "wx7777777777777777"
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: other, MiniProgram: true, PrincipalName: "Other Co."})
	_, err = e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: other})
	require.NoError(t, err)
	assert.Equal(t, wxerr.CodeOpenAccountSubjectDiff, wxerr.CodeOf(openplatform.New(e.p.Authorizer(other)).Bind(ctx, id)))
}

func TestEmulatorLoginAndDecrypt(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	mp := e.mini(shopApp)
	e.s.SetUnionID(shopApp, "oUSER1", "uUNION1")
	code := e.s.IssueLoginCode(shopApp, "oUSER1")
	sess, err := mp.Login(ctx, code)
	require.NoError(t, err)
	assert.Equal(t, "oUSER1", sess.OpenID)
	assert.Equal(t, "uUNION1", sess.UnionID)
	key, ok := e.s.Session(shopApp, "oUSER1")
	require.True(t, ok)
	assert.Equal(t, key, sess.SessionKey)
	_, err = mp.Login(ctx, code)
	require.Error(t, err, "a login code works once")

	iv := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	plain := `{"phoneNumber":"13800000000","purePhoneNumber":"13800000000","countryCode":"86","watermark":{"appid":"` + shopApp + `","timestamp":1700000000}}`
	data, err := crypto.EncryptUserData(crypto.UserData{SessionKey: sess.SessionKey, IV: iv}, []byte(plain))
	require.NoError(t, err)
	ph, err := mp.DecryptPhoneNumber(miniprogram.UserData{SessionKey: sess.SessionKey, EncryptedData: data, IV: iv})
	require.NoError(t, err)
	assert.Equal(t, "13800000000", ph.PurePhoneNumber)
	_, err = e.mini("wx8888888888888888").DecryptPhoneNumber(miniprogram.UserData{SessionKey: sess.SessionKey, EncryptedData: data, IV: iv})
	require.ErrorIs(t, err, crypto.ErrWatermark)
}

func TestEmulatorFastRegistration(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	req := miniprogram.FastRegisterRequest{Name: "某某咖啡有限公司", Code: "91440300MA5FXXXX1X", CodeType: miniprogram.CodeTypeCreditCode,
		LegalPersonaWechat: "boss_wx01", LegalPersonaName: "王五", ComponentPhone: "13900000000"}

	st, err := e.fr.Search(ctx, req.Name, req.LegalPersonaWechat, req.LegalPersonaName)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.FastRegisterNoTask, st)
	require.NoError(t, e.fr.Create(ctx, req))
	assert.Equal(t, wxerr.CodeFastRegTaskRunning, wxerr.CodeOf(e.fr.Create(ctx, req)))
	st, err = e.fr.Search(ctx, req.Name, req.LegalPersonaWechat, req.LegalPersonaName)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.FastRegisterWaitingFaceCheck, st)

	appID, err := e.s.CompleteFastRegistration(ctx, req.Name, 0)
	require.NoError(t, err)
	e.mu.Lock()
	require.Len(t, e.fastRegs, 1)
	ev := e.fastRegs[0]
	e.mu.Unlock()
	assert.True(t, ev.Succeeded())
	assert.Equal(t, appID, ev.MiniProgramAppID)
	assert.Equal(t, req.Name, ev.Info.Name)
	require.NotNil(t, ev.Authorization, "the handler exchanged the code")
	assert.Equal(t, appID, ev.Authorization.AuthorizerAppID)

	// The new mini program is usable at once with the stored tokens.
	bi, err := e.mini(appID).BasicInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, appID, bi.AppID)
	assert.Equal(t, req.Name, bi.PrincipalName)
	st, err = e.fr.Search(ctx, req.Name, req.LegalPersonaWechat, req.LegalPersonaName)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.FastRegisterNoError, st)
}

// waitScan waits for the privacy scan of the last commit of mp, letting the emulator clock run
// while it waits, as a platform must before submit_audit.
func (e *platform) waitScan(ctx context.Context, mp *miniprogram.Client) {
	e.t.Helper()
	_, err := mp.Privacy().WaitCodePrivacyInfo(ctx, func(_ context.Context, d time.Duration) error {
		e.s.Advance(d)
		return nil
	})
	require.NoError(e.t, err)
}
