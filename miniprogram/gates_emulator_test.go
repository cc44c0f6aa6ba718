package miniprogram_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// The platform-wide privacy guide of the tests' restaurant template.
var restaurantGuide = miniprogram.PrivacyGuideTemplate{
	Texts: map[string]string{"Location": "推荐附近门店", "PhoneNumber": "联系下单顾客", "Album": "上传评价图片"},
	Used:  []string{"Location", "PhoneNumber"},
	Owner: miniprogram.PrivacyOwner{NoticeMethod: "弹窗", StoreExpireTimestamp: "90天"},
}

// gated is a merchant taken towards submit_audit by a test, one call per gate.
type gated struct {
	e   *platform
	t   testing.TB
	mp  *miniprogram.Client
	app string
	tpl int64
}

// privacyTemplate adds the restaurant template, whose code uses Location and PhoneNumber and calls
// wx.getLocation.
func (e *platform) privacyTemplate(ctx context.Context) int64 {
	e.t.Helper()
	draft := e.s.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "1.0.0", UserDesc: "restaurant",
		PrivacyKeys: []string{"Location", "PhoneNumber"}, PrivacyAPIs: []string{"wx.getLocation"}})
	require.NoError(e.t, e.p.Component().AddToTemplate(ctx, int64(draft), 0))
	ids := e.s.TemplateIDs()
	return int64(ids[len(ids)-1])
}

// fastRegister creates a bare mini program (no name, avatar, introduction, category) for company n.
func (e *platform) fastRegister(ctx context.Context, n int) string {
	e.t.Helper()
	req := miniprogram.FastRegisterRequest{Name: fmt.Sprintf("第%d号餐饮有限公司", n), Code: fmt.Sprintf("9144030%011d", n),
		CodeType: miniprogram.CodeTypeCreditCode, LegalPersonaWechat: "boss_wx01", LegalPersonaName: "王五"}
	require.NoError(e.t, e.fr.Create(ctx, req))
	appID, err := e.s.CompleteFastRegistration(ctx, req.Name, 0)
	require.NoError(e.t, err)
	return appID
}

// fix opens gate g of the merchant with the calls a platform makes (and, where WeChat's staff or
// time decide, the emulator's reviewers and clock).
func (g *gated) fix(ctx context.Context, gate miniprogram.Gate) {
	t, mp := g.t, g.mp
	t.Helper()
	switch gate {
	case miniprogram.GateBasicInfo:
		_, err := mp.SetNickname(ctx, miniprogram.SetNicknameRequest{NickName: "面馆" + g.app[len(g.app)-6:]})
		require.NoError(t, err)
		require.NoError(t, mp.SetHeadImage(ctx, pngImage(t), miniprogram.Crop{}))
		require.NoError(t, mp.SetSignature(ctx, "手工拉面，现点现做"))
	case miniprogram.GateCategory:
		cats, err := mp.AllCategories(ctx)
		require.NoError(t, err)
		i := slices.IndexFunc(cats, func(c miniprogram.CatalogCategory) bool { return c.Name == "咖啡厅" })
		require.GreaterOrEqual(t, i, 0)
		require.NoError(t, mp.AddCategories(ctx, miniprogram.CategoryApplication{First: cats[i].Father, Second: cats[i].ID}))
	case miniprogram.GateCommit, miniprogram.GatePrivacyDeclaration:
		require.NoError(t, mp.Commit(ctx, miniprogram.CommitRequest{TemplateID: g.tpl, UserVersion: "1.0.0", UserDesc: "ordering",
			ExtJSON: miniprogram.ExtJSON{RequiredPrivateInfos: []string{"getLocation"}}}))
		g.e.waitScan(ctx, mp)
	case miniprogram.GatePrivacyScan:
		g.e.waitScan(ctx, mp)
	case miniprogram.GatePrivacyInterface:
		_, err := mp.Privacy().ApplyInterface(ctx, miniprogram.ApplyInterfaceRequest{APIName: "wx.getLocation",
			Content: "为顾客推荐最近的门店", PicList: []string{"https://img.dinehub.example/nearby.png"}})
		require.NoError(t, err)
		require.NoError(t, g.e.s.ReviewPrivacyInterface(ctx, g.app, "wx.getLocation", true, ""))
		assert.Contains(t, g.e.auditEvents(), "privacy "+g.app+" wx.getLocation approved=true", "wxa_privacy_apply pushed and typed")
	case miniprogram.GatePrivacyGuide:
		_, err := mp.Privacy().DeclareGuide(ctx, restaurantGuide, miniprogram.PrivacyOwner{ContactPhone: "13800000000"})
		require.NoError(t, err)
	case miniprogram.GateAuditQuota:
		g.e.s.SetAuditQuota(wxtest.DefaultAuditQuota, wxtest.DefaultSpeedUpQuota) // the platform got a raise
	case miniprogram.GateAuditPending:
		require.NoError(t, g.e.s.Audit(ctx, g.app, true, ""))
	case miniprogram.GateICPFiling:
		g.fileICP(ctx) // icp_emulator_test.go
	case miniprogram.GateDomains:
		_, err := mp.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainSet,
			RequestDomain: []string{"https://api.dinehub.example"}})
		require.NoError(t, err)
	default:
		t.Fatalf("no fix for %s", gate)
	}
}

// submitGates are the gates that hold back submit_audit, in the order a merchant meets them.
var submitGates = []miniprogram.Gate{miniprogram.GateBasicInfo, miniprogram.GateCategory, miniprogram.GateCommit,
	miniprogram.GatePrivacyScan, miniprogram.GatePrivacyDeclaration, miniprogram.GatePrivacyInterface,
	miniprogram.GatePrivacyGuide, miniprogram.GateAuditQuota, miniprogram.GateAuditPending}

// onboard takes a brand-new merchant through every gate but skip.
func (e *platform) onboard(ctx context.Context, n int, tpl int64, skip miniprogram.Gate) *gated {
	e.t.Helper()
	app := e.fastRegister(ctx, n)
	g := &gated{e: e, t: e.t, mp: e.mini(app), app: app, tpl: tpl}
	for _, gate := range []miniprogram.Gate{miniprogram.GateBasicInfo, miniprogram.GateCategory, miniprogram.GateDomains,
		miniprogram.GatePrivacyInterface, miniprogram.GatePrivacyGuide} {
		if gate != skip {
			g.fix(ctx, gate)
		}
	}
	switch skip {
	case miniprogram.GateCommit:
	case miniprogram.GatePrivacyScan:
		require.NoError(e.t, g.mp.Commit(ctx, miniprogram.CommitRequest{TemplateID: tpl, UserVersion: "1.0.0", UserDesc: "ordering",
			ExtJSON: miniprogram.ExtJSON{RequiredPrivateInfos: []string{"getLocation"}}}))
	case miniprogram.GatePrivacyDeclaration:
		require.NoError(e.t, g.mp.Commit(ctx, miniprogram.CommitRequest{TemplateID: tpl, UserVersion: "1.0.0", UserDesc: "ordering",
			ExtJSON: miniprogram.ExtJSON{}}))
		e.waitScan(ctx, g.mp)
	default:
		g.fix(ctx, miniprogram.GateCommit)
	}
	switch skip {
	case miniprogram.GateAuditQuota:
		e.s.SetAuditQuota(e.s.AuditsSubmitted(), wxtest.DefaultSpeedUpQuota)
	case miniprogram.GateAuditPending:
		_, err := g.mp.SubmitAudit(ctx, g.request())
		require.NoError(e.t, err)
	}
	return g
}

func (g *gated) request() miniprogram.SubmitAuditRequest {
	return miniprogram.SubmitAuditRequest{ItemList: []miniprogram.AuditItem{{Address: "pages/index/index", Title: "点餐"}}}
}

func submitStage(r *miniprogram.Readiness) []miniprogram.Gate {
	var out []miniprogram.Gate
	for _, c := range r.Closed {
		if c.Stage == miniprogram.StageSubmit {
			out = append(out, c.Gate)
		}
	}
	return out
}

// Each gate, alone closed, is the one Readiness lists and the one the emulator refuses the submit
// with, until the call that opens it is made; then Readiness lists nothing and the submit passes.
func TestGatesOneAtATime(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	e.s.SetPlatformDomains([]string{"api.dinehub.example"}, nil)
	tpl := e.privacyTemplate(ctx)
	for i, gate := range submitGates {
		t.Run(string(gate), func(t *testing.T) {
			e.t = t
			g := e.onboard(ctx, 100+i, tpl, gate)
			g.t = t
			r, err := g.mp.Readiness(ctx)
			require.NoError(t, err)
			require.Equal(t, []miniprogram.Gate{gate}, submitStage(r), "%+v", r.Closed)
			closed, ok := r.Gate(gate)
			require.True(t, ok)
			assert.NotEmpty(t, closed.Detail)
			assert.NotEmpty(t, closed.Fix)
			assert.False(t, r.CanSubmit())

			_, err = g.mp.SubmitAudit(ctx, g.request())
			require.Error(t, err)
			assert.Equal(t, closed.Code, wxerr.CodeOf(err), "the emulator refuses with the code Readiness announced: %v", err)
			var pending *miniprogram.ScanPendingError
			assert.Equal(t, gate == miniprogram.GatePrivacyScan, errors.As(err, &pending), "61039 is typed as retryable later")
			assert.NotEmpty(t, wxerr.Hint(wxerr.CodeOf(err)), "an operator hint for %d", wxerr.CodeOf(err))

			g.fix(ctx, gate)
			r, err = g.mp.Readiness(ctx)
			require.NoError(t, err)
			assert.Empty(t, submitStage(r), "%+v", r.Closed)
			assert.True(t, r.CanSubmit())
			auditID, err := g.mp.SubmitAudit(ctx, g.request())
			require.NoError(t, err)
			assert.NotZero(t, auditID)
		})
	}
}

// A brand-new merchant has every gate closed; the release gates follow the audit.
func TestReadinessOfABareMerchantAndRelease(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	e.s.SetPlatformDomains([]string{"api.dinehub.example"}, nil)
	tpl := e.privacyTemplate(ctx)
	app := e.fastRegister(ctx, 1)
	g := &gated{e: e, t: t, mp: e.mini(app), app: app, tpl: tpl}
	r, err := g.mp.Readiness(ctx)
	require.NoError(t, err)
	assert.Equal(t, []miniprogram.Gate{miniprogram.GateBasicInfo, miniprogram.GateCategory, miniprogram.GateICPFiling,
		miniprogram.GateApprovedAudit, miniprogram.GateCommit, miniprogram.GateDomains}, gatesOf(r))
	assert.False(t, r.CanRelease())
	assert.LessOrEqual(t, r.Calls, 10)
	_, err = g.mp.SubmitAudit(ctx, g.request())
	assert.Equal(t, wxerr.CodeCommitFirst, wxerr.CodeOf(err))

	for _, gate := range []miniprogram.Gate{miniprogram.GateBasicInfo, miniprogram.GateCategory, miniprogram.GateCommit,
		miniprogram.GateDomains} {
		g.fix(ctx, gate)
	}
	r, err = g.mp.Readiness(ctx)
	require.NoError(t, err)
	assert.Equal(t, []miniprogram.Gate{miniprogram.GateICPFiling, miniprogram.GateApprovedAudit, miniprogram.GatePrivacyInterface,
		miniprogram.GatePrivacyGuide}, gatesOf(r))
	pi, _ := r.Gate(miniprogram.GatePrivacyInterface)
	assert.Contains(t, pi.Detail, "wx.getLocation (not applied)")
	g.fix(ctx, miniprogram.GatePrivacyInterface)
	g.fix(ctx, miniprogram.GatePrivacyGuide)
	auditID, err := g.mp.SubmitAudit(ctx, g.request())
	require.NoError(t, err)
	r, err = g.mp.Readiness(ctx)
	require.NoError(t, err)
	assert.Equal(t, []miniprogram.Gate{miniprogram.GateICPFiling, miniprogram.GateAuditPending, miniprogram.GateApprovedAudit}, gatesOf(r))
	rel, _ := r.Gate(miniprogram.GateApprovedAudit)
	assert.Equal(t, wxerr.CodeOf(g.mp.Release(ctx)), rel.Code)

	require.NoError(t, g.mp.SpeedUpAudit(ctx, auditID))
	require.NoError(t, e.s.Audit(ctx, app, true, ""))
	r, err = g.mp.Readiness(ctx)
	require.NoError(t, err)
	assert.Equal(t, []miniprogram.Gate{miniprogram.GateICPFiling}, gatesOf(r), "approved, but not filed")
	icp, _ := r.Gate(miniprogram.GateICPFiling)
	assert.Equal(t, wxerr.CodeOf(g.mp.Release(ctx)), icp.Code)
	g.fix(ctx, miniprogram.GateICPFiling)
	r, err = g.mp.Readiness(ctx)
	require.NoError(t, err)
	assert.Empty(t, r.Closed)
	assert.True(t, r.CanRelease())

	// Grey release first: getversioninfo shows it live, but the full release is still allowed.
	require.NoError(t, g.mp.GrayRelease(ctx, miniprogram.GrayReleaseRequest{Percentage: 10}))
	v, err := g.mp.VersionInfo(ctx)
	require.NoError(t, err)
	require.NotNil(t, v.Release)
	assert.Equal(t, "1.0.0", v.Release.Version)
	r, err = g.mp.Readiness(ctx)
	require.NoError(t, err)
	assert.True(t, r.CanRelease(), "%+v", r.Closed)
	require.NoError(t, g.mp.Release(ctx))
	plan, err := g.mp.GrayReleasePlan(ctx)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.GrayFinished, plan.Status)
	r, err = g.mp.Readiness(ctx)
	require.NoError(t, err)
	rel, ok := r.Gate(miniprogram.GateApprovedAudit)
	require.True(t, ok)
	assert.Equal(t, wxerr.CodeOf(g.mp.Release(ctx)), rel.Code, "85052: already released")
}

func gatesOf(r *miniprogram.Readiness) []miniprogram.Gate {
	var out []miniprogram.Gate
	for _, c := range r.Closed {
		out = append(out, c.Gate)
	}
	return out
}

// The quota is the platform's, counted per month: it runs out at the configured limit whichever
// merchant submits, and queryquota agrees with the emulator's count.
func TestAuditQuotaRunsOut(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	e.s.SetPlatformDomains([]string{"api.dinehub.example"}, nil)
	e.s.SetAuditQuota(3, 1)
	tpl := e.privacyTemplate(ctx)
	var apps []*gated
	for i := range 4 {
		apps = append(apps, e.onboard(ctx, 200+i, tpl, ""))
	}
	for i, g := range apps {
		q, err := g.mp.AuditQuota(ctx)
		require.NoError(t, err)
		assert.Equal(t, miniprogram.AuditQuota{Rest: max(3-i, 0), Limit: 3, SpeedUpRest: 1, SpeedUpLimit: 1}, *q)
		assert.Equal(t, min(i, 3), e.s.AuditsSubmitted())
		_, err = g.mp.SubmitAudit(ctx, g.request())
		if i < 3 {
			require.NoError(t, err)
			continue
		}
		assert.ErrorIs(t, err, wxerr.ErrAuditQuota)
		r, err := g.mp.Readiness(ctx)
		require.NoError(t, err)
		assert.Equal(t, []miniprogram.Gate{miniprogram.GateAuditQuota}, submitStage(r))
	}
	assert.Equal(t, 3, e.s.AuditsSubmitted())

	// Expedites are counted the same way.
	st, err := apps[0].mp.LatestAuditStatus(ctx)
	require.NoError(t, err)
	require.NoError(t, apps[0].mp.SpeedUpAudit(ctx, st.AuditID))
	assert.ErrorIs(t, apps[0].mp.SpeedUpAudit(ctx, st.AuditID), &wxerr.APIError{Code: wxerr.CodeSpeedUpAlreadyDone})
	st, err = apps[1].mp.LatestAuditStatus(ctx)
	require.NoError(t, err)
	assert.ErrorIs(t, apps[1].mp.SpeedUpAudit(ctx, st.AuditID), &wxerr.APIError{Code: wxerr.CodeSpeedUpQuotaUsedUp})
	assert.ErrorIs(t, apps[1].mp.SpeedUpAudit(ctx, st.AuditID+1000), &wxerr.APIError{Code: wxerr.CodeSpeedUpNotPending})

	// A new month brings the quota back.
	e.s.Advance(32 * 24 * time.Hour)
	_, err = e.s.PushVerifyTicket(ctx) // WeChat keeps pushing tickets meanwhile
	require.NoError(t, err)
	q, err := apps[3].mp.AuditQuota(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, q.Rest)
}

// Grey release, visit status, audit media and testers against the emulator.
func TestEmulatorAuditOperations(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	e.s.SetPlatformDomains([]string{"api.dinehub.example"}, nil)
	tpl := e.privacyTemplate(ctx)
	g := e.onboard(ctx, 300, tpl, "")
	mp := g.mp

	v, err := mp.VersionInfo(ctx)
	require.NoError(t, err)
	require.NotNil(t, v.Trial)
	assert.Equal(t, "1.0.0", v.Trial.Version)
	assert.Nil(t, v.Release)
	assert.Equal(t, wxerr.CodeStatusNotAllowed, wxerr.CodeOf(mp.SetVisitStatus(ctx, miniprogram.VisitClose)), "nothing live")
	assert.Equal(t, wxerr.CodeNoAuditVersion, wxerr.CodeOf(mp.GrayRelease(ctx, miniprogram.GrayReleaseRequest{Percentage: 5})))

	shot, err := mp.UploadAuditMedia(ctx, "menu.png", pngImage(t))
	require.NoError(t, err)
	assert.Equal(t, "image", shot.Type)
	req := g.request()
	req.PreviewInfo = &miniprogram.PreviewInfo{PicIDList: []string{shot.MediaID}}
	_, err = mp.SubmitAudit(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, wxerr.CodeNotReleasable, wxerr.CodeOf(mp.GrayRelease(ctx, miniprogram.GrayReleaseRequest{Percentage: 5})))
	require.NoError(t, e.s.Audit(ctx, g.app, true, ""))

	// Grey at 5 %, raised to 20 %, reverted: nothing is live again.
	require.NoError(t, mp.GrayRelease(ctx, miniprogram.GrayReleaseRequest{Percentage: 5, SupportExperiencerFirst: true}))
	assert.Equal(t, wxerr.CodeInvalidParams, wxerr.CodeOf(mp.GrayRelease(ctx, miniprogram.GrayReleaseRequest{Percentage: 2})), "only raised")
	require.NoError(t, mp.GrayRelease(ctx, miniprogram.GrayReleaseRequest{Percentage: 20}))
	plan, err := mp.GrayReleasePlan(ctx)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.GrayRunning, plan.Status)
	assert.Equal(t, 20, plan.Percentage)
	assert.True(t, plan.SupportExperiencerFirst)
	assert.Equal(t, wxerr.CodeGrayReleaseBlocks, wxerr.CodeOf(mp.RevertRelease(ctx)))
	require.NoError(t, mp.RevertGrayRelease(ctx))
	assert.Equal(t, wxerr.CodeStatusNotAllowed, wxerr.CodeOf(mp.RevertGrayRelease(ctx)))
	v, err = mp.VersionInfo(ctx)
	require.NoError(t, err)
	assert.Nil(t, v.Release)

	// Full release (once filed), then offline and back.
	assert.ErrorIs(t, mp.Release(ctx), wxerr.ErrReleaseNotICPFiled)
	g.fileICP(ctx)
	require.NoError(t, mp.Release(ctx))
	v, err = mp.VersionInfo(ctx)
	require.NoError(t, err)
	require.NotNil(t, v.Release)
	assert.Equal(t, "1.0.0", v.Release.Version)
	st, err := mp.VisitStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.VisitStatusOpen, st)
	require.NoError(t, mp.SetVisitStatus(ctx, miniprogram.VisitClose))
	st, err = mp.VisitStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.VisitStatusClosed, st)
	// Closed, the released version is still the released one (wxtest/miniprogram_audit.go's rule).
	closed, err := mp.VersionInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, v, closed, "closing changes no version")
	assert.Equal(t, wxerr.CodeAlreadyReleased, wxerr.CodeOf(mp.Release(ctx)), "it is still released")
	require.NoError(t, mp.SetVisitStatus(ctx, miniprogram.VisitOpen))
	st, err = mp.VisitStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.VisitStatusOpen, st)

	// Testers.
	u, err := mp.BindTester(ctx, "noodle_boss")
	require.NoError(t, err)
	_, err = mp.BindTester(ctx, "noodle_boss")
	assert.Equal(t, wxerr.CodeTesterAlreadyBound, wxerr.CodeOf(err))
	u2, err := mp.BindTester(ctx, "noodle_chef")
	require.NoError(t, err)
	list, err := mp.Testers(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{u, u2}, list)
	require.NoError(t, mp.UnbindTester(ctx, miniprogram.Tester{UserStr: u}))
	require.NoError(t, mp.UnbindTester(ctx, miniprogram.Tester{WeChatID: "noodle_chef"}))
	list, err = mp.Testers(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
}

// A sensitive category goes through review: Readiness shows it, the result is pushed and typed, a
// rejected one is sent again with new qualifications.
func TestEmulatorSensitiveCategory(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	app := e.fastRegister(ctx, 400)
	mp := e.mini(app)
	cats, err := mp.AllCategories(ctx)
	require.NoError(t, err)
	i := slices.IndexFunc(cats, func(c miniprogram.CatalogCategory) bool { return c.Name == "点餐平台" })
	require.GreaterOrEqual(t, i, 0)
	cat := cats[i]
	require.True(t, cat.Sensitive())
	err = mp.AddCategories(ctx, miniprogram.CategoryApplication{First: cat.Father, Second: cat.ID})
	assert.Equal(t, wxerr.CodeCategoryNeedsMaterials, wxerr.CodeOf(err))
	upload := func() []miniprogram.Certificate {
		m, err := mp.UploadTempMedia(ctx, miniprogram.MediaImage, "licence.png", pngImage(t))
		require.NoError(t, err)
		return []miniprogram.Certificate{{Key: cat.Qualifications()[0], Value: m.MediaID}}
	}
	require.NoError(t, mp.AddCategories(ctx, miniprogram.CategoryApplication{First: cat.Father, Second: cat.ID, Certificates: upload()}))
	r, err := mp.Readiness(ctx)
	require.NoError(t, err)
	g, ok := r.Gate(miniprogram.GateCategory)
	require.True(t, ok)
	assert.Contains(t, g.Detail, "餐饮 > 点餐平台 reviewing")

	require.NoError(t, e.s.ReviewCategory(ctx, app, "餐饮", "点餐平台", false, "证照模糊"))
	ids := fmt.Sprintf("%d/%d", cat.Father, cat.ID)
	assert.Contains(t, e.auditEvents(), "category "+app+" "+ids+" approved=false")
	acc, err := mp.AccountCategories(ctx)
	require.NoError(t, err)
	require.Len(t, acc.Categories, 1)
	assert.Equal(t, miniprogram.CategoryRejected, acc.Categories[0].AuditStatus)
	assert.Equal(t, "证照模糊", acc.Categories[0].AuditReason)
	require.NoError(t, mp.ModifyCategory(ctx, miniprogram.CategoryApplication{First: cat.Father, Second: cat.ID, Certificates: upload()}))
	require.NoError(t, e.s.ReviewCategory(ctx, app, "餐饮", "点餐平台", true, ""))
	assert.Contains(t, e.auditEvents(), "category "+app+" "+ids+" approved=true")
	approved, err := mp.Categories(ctx)
	require.NoError(t, err)
	require.Len(t, approved, 1)
	assert.Equal(t, cat.ID, approved[0].SecondID, "wxa/get_category ids are the catalogue's")
}
