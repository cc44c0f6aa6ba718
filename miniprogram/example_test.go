package miniprogram_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// The release pipeline of a merchant's mini program: commit a template of the platform's library
// as the trial version, submit it for audit, and release it once WeChat pushes the approval to the
// message URL.
func ExampleClient_Commit() {
	const shop = "wx5555555555555555" // a mini program that has authorised the platform
	approved := make(chan string, 1)
	p, emu, stop := emulatedPlatform(component.MessageHandlerConfig{
		OnAuditSuccess: func(_ context.Context, ev *component.AuditSuccessEvent) error {
			approved <- ev.AuthorizerAppID // in a service: queue the release
			return nil
		},
	}, wxtest.Authorizer{AppID: shop, MiniProgram: true, Categories: []wxtest.Category{{First: "餐饮", Second: "中餐"}}})
	defer stop()
	ctx := context.Background()

	// The platform's template library (here filled from a draft uploaded with WeChat DevTools,
	// which the emulator plays).
	draft := emu.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "1.0.0", UserDesc: "online ordering"})
	if err := p.Component().AddToTemplate(ctx, int64(draft), component.TemplateNormal); err != nil {
		log.Fatal(err)
	}
	templates, err := p.Component().Templates(ctx, component.TemplateNormal)
	if err != nil {
		log.Fatal(err)
	}
	tpl := templates[len(templates)-1]

	mp := p.MiniProgram(shop)
	err = mp.Commit(ctx, miniprogram.CommitRequest{
		TemplateID:  tpl.TemplateID,
		ExtJSON:     miniprogram.ExtJSON{Ext: map[string]any{"storeName": "Noodle House"}}, // extAppid filled in
		UserVersion: tpl.UserVersion,
		UserDesc:    "Noodle House ordering",
	})
	if err != nil {
		log.Fatal(err)
	}
	// WeChat scans the commit for privacy APIs for about a minute; time passes on the emulator's
	// clock while the platform waits (with nil, WaitCodePrivacyInfo sleeps on the real clock).
	scan, err := mp.Privacy().WaitCodePrivacyInfo(ctx, func(_ context.Context, d time.Duration) error {
		emu.Advance(d)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("privacy scan clear:", scan.Clear())
	pages, err := mp.Pages(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("committed pages:", pages)

	cats, err := mp.Categories(ctx)
	if err != nil {
		log.Fatal(err)
	}
	auditID, err := mp.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{
		ItemList: []miniprogram.AuditItem{{Address: pages[0], Title: "Home",
			FirstClass: cats[0].FirstClass, SecondClass: cats[0].SecondClass, FirstID: cats[0].FirstID, SecondID: cats[0].SecondID}},
		VersionDesc: "Order noodles online",
	})
	if err != nil {
		log.Fatal(err)
	}
	status, err := mp.AuditStatus(ctx, auditID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("audit:", status.Status)

	// WeChat's reviewers approve (played by the emulator); the approval is pushed to the message URL.
	if err := emu.Audit(ctx, shop, true, ""); err != nil {
		log.Fatal(err)
	}
	fmt.Println("weapp_audit_success for", <-approved)

	if err := mp.Release(ctx); err != nil {
		log.Fatal(err)
	}
	live, _ := emu.Released(shop)
	fmt.Println("live version:", live.UserVersion)
	// Output:
	// privacy scan clear: true
	// committed pages: [pages/index/index]
	// audit: reviewing
	// weapp_audit_success for wx5555555555555555
	// live version: 1.0.0
}

// Login exchanges the code wx.login gave the mini program for the user's session. The session key
// stays on the server: printing a Session never shows it.
func ExampleClient_Login() {
	const shop = "wx5555555555555555"
	p, emu, stop := emulatedPlatform(component.MessageHandlerConfig{}, wxtest.Authorizer{AppID: shop, MiniProgram: true})
	defer stop()
	ctx := context.Background()

	// In the mini program, wx.login gives a code (played by the emulator) that the mini program
	// sends to the platform's server.
	code := emu.IssueLoginCode(shop, "oUSER000000000000000000001")

	sess, err := p.MiniProgram(shop).Login(ctx, code)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sess.OpenID)
	fmt.Println(sess)

	// A code works once: WeChat refuses it the second time with an errcode.
	_, err = p.MiniProgram(shop).Login(ctx, code)
	fmt.Println("second use refused:", wxerr.CodeOf(err) != 0)
	// Output:
	// oUSER000000000000000000001
	// miniprogram.Session{OpenID:oUSER000000000000000000001 UnionID: SessionKey:[redacted]}
	// second use refused: true
}

// NicknameWidth counts a mini program name as WeChat does: 2 for a Chinese (or other wide)
// character, 1 for anything else. SetNickname checks the bounds before sending.
func ExampleNicknameWidth() {
	for _, name := range []string{"Noodle House", "老王面馆", "面馆Go", "ＡＢ", "面"} {
		w := miniprogram.NicknameWidth(name)
		fmt.Println(name, w, w >= miniprogram.NicknameMinWidth && w <= miniprogram.NicknameMaxWidth)
	}
	// Output:
	// Noodle House 12 true
	// 老王面馆 8 true
	// 面馆Go 6 true
	// ＡＢ 4 true
	// 面 2 false
}

// emulatedPlatform returns a Platform wired to a wxtest emulator (in production: wxopen.New with
// the platform's real configuration and persistent stores). Its authorisation-event handler and its
// message handler (configured by msg) are served on loopback; a verify ticket is pushed and each of
// accounts authorises the platform. stop shuts the servers down.
func emulatedPlatform(msg component.MessageHandlerConfig, accounts ...wxtest.Authorizer) (p *wxopen.Platform, emu *wxtest.Server, stop func()) {
	emu = wxtest.NewServer()
	app := emu.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token,
		EncodingAESKey: app.EncodingAESKey}, wxopen.WithBaseURL(emu.URL))
	if err != nil {
		log.Fatal(err)
	}
	auth, err := p.Handler(component.HandlerConfig{Now: emu.Now})
	if err != nil {
		log.Fatal(err)
	}
	msg.Now = emu.Now
	msgs, err := p.MessageHandler(msg)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/wechat/auth", auth)
	mux.Handle("/wechat/msg/{appid}", msgs)
	events := httptest.NewServer(mux)
	emu.SetEventURLs(events.URL+"/wechat/auth", events.URL+"/wechat/msg/$APPID$")
	stop = func() { events.Close(); emu.Close() }

	ctx := context.Background()
	if _, err := emu.PushVerifyTicket(ctx); err != nil {
		log.Fatal(err)
	}
	for _, a := range accounts {
		emu.AddAuthorizer(a)
		if _, err := emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: a.AppID}); err != nil {
			log.Fatal(err)
		}
	}
	return p, emu, stop
}
