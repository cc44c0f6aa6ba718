package miniprogram_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxtest"
)

// Readiness tells what still stands between a merchant's committed code and an audit; here the code
// calls wx.getLocation and uses the diner's location and phone number. The privacy gates are opened
// with a guide built from the platform's template and an approved interface application.
func ExampleClient_Readiness() {
	const shop = "wx5555555555555555"
	p, emu, stop := emulatedPlatform(component.MessageHandlerConfig{},
		wxtest.Authorizer{AppID: shop, MiniProgram: true, Categories: []wxtest.Category{{First: "餐饮", Second: "中餐"}}})
	defer stop()
	ctx := context.Background()
	emu.SetPlatformDomains([]string{"api.dinehub.example"}, nil)
	draft := emu.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "1.0.0", UserDesc: "ordering",
		PrivacyKeys: []string{"Location", "PhoneNumber"}, PrivacyAPIs: []string{"wx.getLocation"}})
	if err := p.Component().AddToTemplate(ctx, int64(draft), component.TemplateNormal); err != nil {
		log.Fatal(err)
	}
	mp := p.MiniProgram(shop)
	if _, err := mp.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainSet,
		RequestDomain: []string{"https://api.dinehub.example"}}); err != nil {
		log.Fatal(err)
	}
	err := mp.Commit(ctx, miniprogram.CommitRequest{TemplateID: int64(emu.TemplateIDs()[0]), UserVersion: "1.0.0", UserDesc: "ordering",
		ExtJSON: miniprogram.ExtJSON{RequiredPrivateInfos: []string{"getLocation"}}})
	if err != nil {
		log.Fatal(err)
	}
	show := func() {
		r, err := mp.Readiness(ctx)
		if err != nil {
			log.Fatal(err)
		}
		for _, g := range r.Closed {
			fmt.Printf("%s: %s %d\n", g.Gate, g.Stage, g.Code)
		}
		fmt.Println("can submit:", r.CanSubmit())
	}
	show()

	// A minute later (on the emulator's clock) the scan is done.
	if _, err := mp.Privacy().WaitCodePrivacyInfo(ctx, func(_ context.Context, d time.Duration) error {
		emu.Advance(d)
		return nil
	}); err != nil {
		log.Fatal(err)
	}
	show()

	if _, err := mp.Privacy().ApplyInterface(ctx, miniprogram.ApplyInterfaceRequest{APIName: "wx.getLocation",
		Content: "推荐最近的门店", PicList: []string{"https://img.dinehub.example/nearby.png"}}); err != nil {
		log.Fatal(err)
	}
	if err := emu.ReviewPrivacyInterface(ctx, shop, "wx.getLocation", true, ""); err != nil { // WeChat's reviewers
		log.Fatal(err)
	}
	tpl := miniprogram.PrivacyGuideTemplate{
		Texts: map[string]string{"Location": "推荐最近的门店", "PhoneNumber": "联系下单顾客"},
		Owner: miniprogram.PrivacyOwner{NoticeMethod: "弹窗"},
	}
	if _, err := mp.Privacy().DeclareGuide(ctx, tpl, miniprogram.PrivacyOwner{ContactEmail: "owner@noodle.example"}); err != nil {
		log.Fatal(err)
	}
	show()
	// Output:
	// approved_audit: release 85019
	// privacy_scan: submit_audit 61039
	// can submit: false
	// approved_audit: release 85019
	// privacy_interface: submit_audit 61040
	// privacy_guide: submit_audit 61040
	// can submit: false
	// approved_audit: release 85019
	// can submit: true
}
