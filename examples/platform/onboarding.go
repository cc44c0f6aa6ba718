package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"slices"
	"strings"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxtest"
)

// A brand-new merchant, registered by the platform itself, taken to a released mini program under
// today's rules (API digest part 2, section 22).
const (
	newMerchantName = "拉面小馆餐饮有限公司"
	newMerchantCode = "91440300MA5G12345X" // unified social credit code
	legalPerson     = "李四"
	legalWeChatID   = "lamian_boss"
	newMerchantNick = "拉面小馆 Lamian Bar"
)

// guideTemplate is the platform's privacy guide for its ordering template: the purpose of every
// privacy key the template may use. Each merchant's guide is built from it and that merchant's scan.
var guideTemplate = miniprogram.PrivacyGuideTemplate{
	Texts: map[string]string{
		"Location":    "推荐离你最近的门店",
		"PhoneNumber": "联系下单顾客、通知取餐",
		"Album":       "上传菜品评价图片",
		"UserInfo":    "展示会员昵称和头像",
	},
	Used:  []string{"Location", "PhoneNumber"},
	Owner: miniprogram.PrivacyOwner{NoticeMethod: "弹窗", StoreExpireTimestamp: "90天"},
}

// onboarding is the state the steps share.
type onboarding struct {
	w     *walk
	fr    *miniprogram.FastRegistration
	appID string
	mp    *miniprogram.Client
	tpl   int64
	icp   *miniprogram.ICPApplication // onboarding_icp.go
}

// onboardingStep is one step of the flow: a name and what the platform does.
type onboardingStep struct {
	name string
	run  func(o *onboarding, ctx context.Context) (string, error)
}

// onboardingSteps is the flow, in the order of the digest's section 22. Steps a person does in
// WeChat (the legal person's face check, the reviewers' approvals) are played by the emulator.
var onboardingSteps = []onboardingStep{
	{"fast registration requested", (*onboarding).register},
	{"legal person's face check in WeChat → notify_third_fasteregister", (*onboarding).registered},
	{"readiness of the bare mini program", (*onboarding).readiness},
	{"basic info: name, avatar, introduction", (*onboarding).basicInfo},
	{"category 餐饮 > 点餐平台 with the food licence → wxa_category_audit", (*onboarding).category},
	{"ICP filing: look-up tables and documents", (*onboarding).icpMaterials},
	{"ICP filing: administrator's face check → notify_icpfiling_verify_result", (*onboarding).icpFaceCheck},
	{"ICP filing: application → notify_apply_icpfiling_result", (*onboarding).icpApply},
	{"server domains: the platform's, set on the app", (*onboarding).domains},
	{"tester: the owner", (*onboarding).tester},
	{"commit the ordering template", (*onboarding).commit},
	{"privacy scan of the commit", (*onboarding).scan},
	{"privacy interface wx.getLocation → wxa_privacy_apply", (*onboarding).privacyInterface},
	{"privacy guide from the platform's template", (*onboarding).guide},
	{"readiness before submitting", (*onboarding).readiness},
	{"submit for audit", (*onboarding).submit},
	{"reviewers approve → weapp_audit_success", (*onboarding).approved},
	{"ICP filing: WeChat's review, then the regulator's → filed", (*onboarding).icpFiled},
	{"grey release 10 %, then full release", (*onboarding).release},
}

// newMerchant runs onboardingSteps for a brand-new merchant (step 11), printing each with the
// number of WeChat calls it made.
func (w *walk) newMerchant(ctx context.Context) error {
	o := &onboarding{w: w, fr: w.p.FastRegistration()}
	w.say("11. A brand-new merchant, %s, registered by the platform and taken to a released mini program:", newMerchantName)
	for i, st := range onboardingSteps {
		before := w.calls.total()
		what, err := st.run(o, ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		n := w.calls.total() - before
		w.say("    %2d. %s [%s]", i+1, st.name, plural(n, "WeChat call"))
		if what != "" {
			w.say("        %s", what)
		}
	}
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func (o *onboarding) register(ctx context.Context) (string, error) {
	err := o.fr.Create(ctx, miniprogram.FastRegisterRequest{Name: newMerchantName, Code: newMerchantCode,
		CodeType: miniprogram.CodeTypeCreditCode, LegalPersonaWechat: legalWeChatID, LegalPersonaName: legalPerson,
		ComponentPhone: "13800000000"})
	if err != nil {
		return "", err
	}
	return "WeChat asks " + legalPerson + " to verify their face within 24 h.", nil
}

func (o *onboarding) registered(ctx context.Context) (string, error) {
	// The legal person passes the face check in WeChat (the emulator plays them and WeChat).
	if _, err := o.w.emu.CompleteFastRegistration(ctx, newMerchantName, 0); err != nil {
		return "", err
	}
	ev, err := await(ctx, o.w.in.fastRegs, "notify_third_fasteregister")
	if err != nil {
		return "", err
	}
	if !ev.Succeeded() || ev.Authorization == nil {
		return "", fmt.Errorf("registration status %d, authorised %t", ev.Status, ev.Authorization != nil)
	}
	o.appID = ev.MiniProgramAppID
	o.mp = o.w.p.MiniProgram(o.appID)
	return fmt.Sprintf("Mini program %s created and authorised; the handler exchanged its code and stored the tokens.", o.appID), nil
}

func (o *onboarding) readiness(ctx context.Context) (string, error) {
	r, err := o.mp.Readiness(ctx)
	if err != nil {
		return "", err
	}
	if len(r.Closed) == 0 {
		return "Every gate is open.", nil
	}
	var gates []string
	for _, g := range r.Closed {
		gates = append(gates, fmt.Sprintf("%s (%s %d)", g.Gate, g.Stage, g.Code))
	}
	prefix := "Closed: "
	if r.CanSubmit() {
		prefix = "Ready to submit; still closed: "
	}
	return prefix + strings.Join(gates, ", ") + ".", nil
}

// avatar draws the merchant's logo.
func avatar() ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{R: 200, G: uint8(4 * y), B: uint8(4 * x), A: 255})
		}
	}
	var b bytes.Buffer
	err := png.Encode(&b, img)
	return b.Bytes(), err
}

func (o *onboarding) basicInfo(ctx context.Context) (string, error) {
	if _, err := o.mp.SetNickname(ctx, miniprogram.SetNicknameRequest{NickName: newMerchantNick}); err != nil {
		return "", err
	}
	logo, err := avatar()
	if err != nil {
		return "", err
	}
	if err := o.mp.SetHeadImage(ctx, logo, miniprogram.Crop{}); err != nil {
		return "", err
	}
	return "", o.mp.SetSignature(ctx, "现拉现煮的兰州拉面，线上点餐，到店自取")
}

func (o *onboarding) category(ctx context.Context) (string, error) {
	cats, err := o.mp.AllCategories(ctx)
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(cats, func(c miniprogram.CatalogCategory) bool { return c.Name == "点餐平台" })
	if i < 0 {
		return "", fmt.Errorf("no 点餐平台 in the catalogue")
	}
	cat := cats[i]
	licence, err := avatar() // a photo of the licence, in a real platform uploaded by the merchant
	if err != nil {
		return "", err
	}
	var certs []miniprogram.Certificate
	for _, doc := range cat.Qualifications() {
		m, err := o.mp.UploadTempMedia(ctx, miniprogram.MediaImage, "licence.png", licence)
		if err != nil {
			return "", err
		}
		certs = append(certs, miniprogram.Certificate{Key: doc, Value: m.MediaID})
	}
	if err := o.mp.AddCategories(ctx, miniprogram.CategoryApplication{First: cat.Father, Second: cat.ID, Certificates: certs}); err != nil {
		return "", err
	}
	// WeChat's reviewers check the licence (played by the emulator).
	if err := o.w.emu.ReviewCategory(ctx, o.appID, "餐饮", "点餐平台", true, ""); err != nil {
		return "", err
	}
	ev, err := await(ctx, o.w.in.categoryAudits, "wxa_category_audit")
	if err != nil {
		return "", err
	}
	if !ev.Ret.Approved() {
		return "", fmt.Errorf("category rejected: %s", ev.Reason)
	}
	return fmt.Sprintf("Sensitive: %s uploaded as a qualification; approved by push.", strings.Join(cat.Qualifications(), ", ")), nil
}

func (o *onboarding) domains(ctx context.Context) (string, error) {
	// The platform registered its domains once for all merchants (step 7); it reads them back.
	reg, err := o.w.p.Component().ModifyServerDomain(ctx, component.PlatformDomainRequest{Action: component.DomainGet})
	if err != nil {
		return "", err
	}
	d, err := o.mp.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainSet,
		RequestDomain: []string{"https://api.dinehub.example"}, DownloadDomain: []string{"https://img.dinehub.example"}})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Platform: %s; app: request %s.", strings.Join(reg.Published, ", "), strings.Join(d.RequestDomain, " ")), nil
}

func (o *onboarding) tester(ctx context.Context) (string, error) {
	u, err := o.mp.BindTester(ctx, legalWeChatID)
	if err != nil {
		return "", err
	}
	return "userstr " + redact(u) + ": the owner can open the trial version.", nil
}

func (o *onboarding) commit(ctx context.Context) (string, error) {
	// The platform's developer uploaded the 1.1 ordering app, which finds the nearest store
	// (wx.getLocation) and asks for the diner's phone number; the platform made it a template.
	draft := o.w.emu.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "1.1.0", UserDesc: "DineHub ordering with nearby stores",
		PrivacyKeys: []string{"Location", "PhoneNumber"}, PrivacyAPIs: []string{"wx.getLocation"}})
	comp := o.w.p.Component()
	if err := comp.AddToTemplate(ctx, int64(draft), component.TemplateNormal); err != nil {
		return "", err
	}
	tpls, err := comp.Templates(ctx, component.TemplateNormal)
	if err != nil {
		return "", err
	}
	o.tpl = slices.MaxFunc(tpls, func(a, b component.Template) int { return int(a.TemplateID - b.TemplateID) }).TemplateID
	err = o.mp.Commit(ctx, miniprogram.CommitRequest{TemplateID: o.tpl, UserVersion: "1.1.0", UserDesc: "Lamian Bar ordering",
		ExtJSON: miniprogram.ExtJSON{Ext: map[string]any{"storeName": "拉面小馆"}, RequiredPrivateInfos: []string{"getLocation"}}})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Template %d (v1.1.0), requiredPrivateInfos getLocation.", o.tpl), nil
}

func (o *onboarding) scan(ctx context.Context) (string, error) {
	res, err := o.mp.Privacy().WaitCodePrivacyInfo(ctx, o.w.sleep)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Not approved yet: %s; not declared: %d.", strings.Join(res.WithoutAuth, ", "), len(res.WithoutConf)), nil
}

func (o *onboarding) privacyInterface(ctx context.Context) (string, error) {
	id, err := o.mp.Privacy().ApplyInterface(ctx, miniprogram.ApplyInterfaceRequest{APIName: "wx.getLocation",
		Content: "点餐首页根据顾客位置推荐最近的门店", PicList: []string{"https://img.dinehub.example/nearby-stores.png"}})
	if err != nil {
		return "", err
	}
	// WeChat's reviewers approve the application (played by the emulator).
	if err := o.w.emu.ReviewPrivacyInterface(ctx, o.appID, "wx.getLocation", true, ""); err != nil {
		return "", err
	}
	ev, err := await(ctx, o.w.in.privacyApplies, "wxa_privacy_apply")
	if err != nil {
		return "", err
	}
	if !ev.Approved() {
		return "", fmt.Errorf("wx.getLocation rejected: %s", ev.Reason)
	}
	return fmt.Sprintf("Application %d approved by push.", id), nil
}

func (o *onboarding) guide(ctx context.Context) (string, error) {
	s, err := o.mp.Privacy().DeclareGuide(ctx, guideTemplate, miniprogram.PrivacyOwner{ContactPhone: "13800000000"})
	if err != nil {
		return "", err
	}
	var keys []string
	for _, it := range s.Items {
		keys = append(keys, it.Key)
	}
	return "Declared: " + strings.Join(keys, ", ") + ".", nil
}

func (o *onboarding) submit(ctx context.Context) (string, error) {
	quota, err := o.mp.AuditQuota(ctx)
	if err != nil {
		return "", err
	}
	cats, err := o.mp.Categories(ctx)
	if err != nil {
		return "", err
	}
	c := cats[0]
	auditID, err := o.mp.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{
		ItemList: []miniprogram.AuditItem{{Address: "pages/index/index", Title: "点餐", Tag: "拉面 点餐",
			FirstClass: c.FirstClass, SecondClass: c.SecondClass, FirstID: c.FirstID, SecondID: c.SecondID}},
		VersionDesc: "拉面小馆线上点餐",
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("auditid %d under %s > %s; the platform's quota had %d of %d left this month.",
		auditID, c.FirstClass, c.SecondClass, quota.Rest, quota.Limit), nil
}

func (o *onboarding) approved(ctx context.Context) (string, error) {
	if err := o.w.emu.Audit(ctx, o.appID, true, ""); err != nil {
		return "", err
	}
	_, err := await(ctx, o.w.in.audits, "weapp_audit_success")
	return "", err
}

func (o *onboarding) release(ctx context.Context) (string, error) {
	if err := o.mp.GrayRelease(ctx, miniprogram.GrayReleaseRequest{Percentage: 10}); err != nil {
		return "", err
	}
	if err := o.mp.Release(ctx); err != nil {
		return "", err
	}
	v, err := o.mp.VersionInfo(ctx)
	if err != nil {
		return "", err
	}
	if v.Release == nil {
		return "", fmt.Errorf("getversioninfo shows nothing live")
	}
	return fmt.Sprintf("getversioninfo: v%s is live (%s).", v.Release.Version, v.Release.Description), nil
}
