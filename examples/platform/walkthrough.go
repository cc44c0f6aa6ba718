package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxtest"
)

// The cast of the walk-through.
const (
	// platformAppID is the third-party platform ("DineHub", a restaurant-software vendor).
	platformAppID = "wx3a7b1c9d5e2f4a60"
	// The merchant, a noodle restaurant, has a mini program and an official account.
	merchantName   = "Noodle House Catering Co., Ltd."
	noodleMini     = "wx6e0d15a1b2c3d4e5"
	noodleOfficial = "wx6e0d15a1b2c3d4f6"
	// A diner using the mini program.
	dinerOpenID  = "oNH3x0V9tLq2mKc8bJ5sWd1yRfA7"
	dinerUnionID = "oTmHYjg2E6e7Lq4xN0bPz9Rk5sWd"
	// redirectURI is where WeChat sends the merchant back after consenting; it must be on the
	// platform's authorisation initiation domain.
	redirectURI = "https://dinehub.example/wechat/authorized"
)

// pushWait bounds the wait for a push the emulator sends to the platform.
const pushWait = 5 * time.Second

// walk is the emulator walk-through: WeChat (the emulator), the platform pointed at it, and what
// the platform's push handlers received.
type walk struct {
	out   io.Writer
	emu   *wxtest.Server
	p     *wxopen.Platform
	creds tokenstore.Store // the platform's durable credentials, to show what it keeps
	in    *inbox
	calls *callLog
}

// walkThrough runs the whole flow against an in-process emulator, printing each step to out, and
// saves the experience QR code to qrPath.
func walkThrough(ctx context.Context, out io.Writer, qrPath string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	// WeChat, in-process. It generates the platform's AppSecret, message token and EncodingAESKey,
	// as open.weixin.qq.com does for a real platform.
	emu := wxtest.NewServer(wxtest.WithComponent(wxtest.ComponentApp{AppID: platformAppID}))
	defer emu.Close()
	app := emu.Component()

	// The platform, pointed at the emulator. Its credential store keeps what cannot be re-created
	// (the verify ticket, every refresh token): in production a durable one (tokenstore/sqlstore,
	// or Redis without eviction); memory here. The hook sees every call to WeChat.
	w := &walk{out: out, emu: emu, creds: tokenstore.NewMemoryStore(), in: newInbox(), calls: &callLog{}}
	p, err := wxopen.New(wxopen.Config{
		ComponentAppID: app.AppID,
		AppSecret:      app.AppSecret,
		Token:          app.Token,
		EncodingAESKey: app.EncodingAESKey,
	}, wxopen.WithBaseURL(emu.URL), wxopen.WithCredentialStore(w.creds), wxopen.WithHook(w.calls.hook))
	if err != nil {
		return err
	}
	w.p = p

	// The platform's push handlers on a loopback port, where the emulator pushes as WeChat would.
	mux, err := pushRoutes(p, w.in.handlerConfig(emu.Now), w.in.messageConfig(emu.Now))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := newHTTPServer(mux)
	go func() { _ = srv.Serve(ln) }() // returns when srv is closed
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	emu.SetEventURLs(base+authEventPath, base+messageURLPath)
	w.say("WeChat emulator running in this process at %s.", emu.URL)
	w.say("Platform %s serves its push handlers at %s: %s (authorisation events), %s (messages).",
		app.AppID, base, authEventPath, messageURLPath)

	if err := w.onboard(ctx); err != nil {
		return err
	}
	if err := w.openAccount(ctx); err != nil {
		return err
	}
	if err := w.release(ctx, qrPath); err != nil {
		return err
	}
	if err := w.login(ctx); err != nil {
		return err
	}
	if err := w.memberCard(ctx); err != nil {
		return err
	}
	if err := w.newMerchant(ctx); err != nil {
		return err
	}
	w.summary()
	return nil
}

// onboard: WeChat's verify ticket, the component access token, the merchant's authorisation and
// its account details (steps 1 to 5).
func (w *walk) onboard(ctx context.Context) error {
	comp := w.p.Component()

	// 1. WeChat pushes a component_verify_ticket every 10 minutes; the handler stores it.
	if _, err := w.emu.PushVerifyTicket(ctx); err != nil {
		return fmt.Errorf("push the verify ticket: %w", err)
	}
	pushed, err := await(ctx, w.in.tickets, "component_verify_ticket")
	if err != nil {
		return err
	}
	ticket, err := comp.VerifyTicket(ctx)
	if err != nil {
		return err
	}
	w.say("1. WeChat pushed component_verify_ticket %s at %s; the handler stored it, valid for %s.",
		redact(ticket.Value), pushed.CreateTime.Format(clock), until(ticket.ExpiresAt))

	// 2. The component access token, fetched with that ticket and cached until shortly before it
	// expires.
	tok, err := comp.ComponentToken(ctx)
	if err != nil {
		return fmt.Errorf("component access token: %w", err)
	}
	w.say("2. Component access token %s fetched with that ticket, valid for %s.", redact(tok.Value), until(tok.ExpiresAt))

	// 3. A pre-auth code and the authorisation pages built on it, which the merchant opens from a
	// page of the platform's site.
	pre, err := comp.PreAuthCode(ctx)
	if err != nil {
		return fmt.Errorf("pre-auth code: %w", err)
	}
	pcURL, err := comp.AuthURL(pre.Code, redirectURI, component.AuthURLOptions{})
	if err != nil {
		return err
	}
	mobileURL, err := comp.MobileAuthURL(pre.Code, redirectURI, component.AuthURLOptions{})
	if err != nil {
		return err
	}
	w.say("3. Pre-auth code %s, valid for %s. The merchant authorises the platform on one of these pages:",
		redact(pre.Code), until(pre.ExpiresAt))
	w.say("   PC, scanned with WeChat: %s", pcURL)
	w.say("   mobile, inside WeChat:   %s", mobileURL)

	// 4. The merchant's mini program consents (the emulator plays the merchant): WeChat pushes
	// "authorized", and the handler exchanges its code for the tokens and stores them.
	w.emu.AddAuthorizer(wxtest.Authorizer{
		AppID: noodleMini, MiniProgram: true, NickName: "Noodle House", PrincipalName: merchantName,
		Categories: []wxtest.Category{{First: "餐饮", Second: "中餐"}, {First: "餐饮", Second: "点餐平台"}},
	})
	if _, err := w.emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: noodleMini, PreAuthCode: pre.Code}); err != nil {
		return fmt.Errorf("authorise: %w", err)
	}
	authorized, err := await(ctx, w.in.authorized, "authorized")
	if err != nil {
		return err
	}
	a := authorized.Authorization
	if a == nil {
		return fmt.Errorf("the handler did not exchange the authorisation code of %s", authorized.AuthorizerAppID)
	}
	refresh, err := w.creds.Get(ctx, authorizer.Key(comp.AppID(), noodleMini, "refresh_token"))
	if err != nil {
		return fmt.Errorf("refresh token of %s: %w", noodleMini, err)
	}
	w.say("4. Noodle House (%s) agreed → \"authorized\" push → the handler exchanged its code: %d permission sets,",
		a.AuthorizerAppID, len(a.FuncInfo))
	w.say("   access token %s valid for %s; refresh token %s kept in the credential store.",
		redact(a.AccessToken), until(a.ExpiresAt), redact(refresh.Value))

	// 5. The account's details.
	info, err := comp.AuthorizerInfo(ctx, noodleMini)
	if err != nil {
		return fmt.Errorf("authorizer info: %w", err)
	}
	var cats []string
	if info.IsMiniProgram() {
		for _, c := range info.MiniProgramInfo.Categories {
			cats = append(cats, c.First+" > "+c.Second)
		}
	}
	w.say("5. Authorizer info: %q (%s), a mini program of %q, categories %s.",
		info.NickName, info.UserName, info.PrincipalName, strings.Join(cats, ", "))
	return nil
}

// openAccount gives the merchant an open-platform account binding its mini program and its official
// account, so that both know each user by one UnionID (step 6).
func (w *walk) openAccount(ctx context.Context) error {
	openAppID, err := w.p.OpenPlatform(noodleMini).Create(ctx)
	if err != nil {
		return fmt.Errorf("create the open platform account: %w", err)
	}

	// The merchant's official account authorises the platform too: a new pre-auth code, a new consent.
	w.emu.AddAuthorizer(wxtest.Authorizer{AppID: noodleOfficial, NickName: "Noodle House 面馆", PrincipalName: merchantName,
		ServiceType: 2, Business: wxtest.BusinessInfo{OpenCard: 1}})
	pre, err := w.p.Component().PreAuthCode(ctx)
	if err != nil {
		return fmt.Errorf("pre-auth code: %w", err)
	}
	if _, err := w.emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: noodleOfficial, PreAuthCode: pre.Code}); err != nil {
		return fmt.Errorf("authorise: %w", err)
	}
	if _, err := await(ctx, w.in.authorized, "authorized"); err != nil {
		return err
	}

	official := w.p.OpenPlatform(noodleOfficial)
	if err := official.Bind(ctx, openAppID); err != nil {
		return fmt.Errorf("bind the official account: %w", err)
	}
	got, bound, err := official.Get(ctx)
	if err != nil {
		return fmt.Errorf("open platform account of the official account: %w", err)
	}
	if !bound || got != openAppID {
		return fmt.Errorf("the official account is bound to %q, want %s", got, openAppID)
	}
	w.say("6. Open platform account %s created for the mini program. The merchant's official account %s",
		openAppID, noodleOfficial)
	w.say("   authorised the platform too and was bound to it: both apps now know each diner by one UnionID.")
	return nil
}

// release pushes the platform's template code to the merchant's mini program: template library,
// server domains, commit, audit, release, and the experience QR code (steps 7 and 8).
func (w *walk) release(ctx context.Context, qrPath string) error {
	comp := w.p.Component()
	mp := w.p.MiniProgram(noodleMini)

	// The platform's developer uploads the ordering app from WeChat DevTools into the draft box
	// (the emulator plays DevTools); the platform turns the draft into a template.
	w.emu.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "1.0.0", UserDesc: "DineHub online ordering",
		SourceMiniProgram: "DineHub ordering (dev)", Developer: "dev@dinehub.example"})
	drafts, err := comp.TemplateDrafts(ctx)
	if err != nil {
		return fmt.Errorf("template drafts: %w", err)
	}
	if len(drafts) == 0 {
		return fmt.Errorf("the draft box is empty")
	}
	draft := drafts[len(drafts)-1]
	if err := comp.AddToTemplate(ctx, draft.DraftID, component.TemplateNormal); err != nil {
		return fmt.Errorf("add to the template library: %w", err)
	}
	templates, err := comp.Templates(ctx, component.TemplateNormal)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	if len(templates) == 0 {
		return fmt.Errorf("the template library is empty")
	}
	tpl := slices.MaxFunc(templates, func(a, b component.Template) int { return int(a.TemplateID - b.TemplateID) })
	w.say("7. Code release. Draft %d (v%s, %q) added to the template library as template %d.",
		draft.DraftID, draft.UserVersion, draft.UserDesc, tpl.TemplateID)

	// Server domains: an app may only use the platform's own, registered once for all merchants.
	if _, err := comp.ModifyServerDomain(ctx, component.PlatformDomainRequest{Action: component.DomainAdd,
		Domains: []string{"api.dinehub.example", "img.dinehub.example"}, PublishedToo: true}); err != nil {
		return fmt.Errorf("platform server domains: %w", err)
	}
	domains, err := mp.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{
		Action:         miniprogram.DomainSet,
		RequestDomain:  []string{"https://api.dinehub.example"},
		UploadDomain:   []string{"https://img.dinehub.example"},
		DownloadDomain: []string{"https://img.dinehub.example"},
	})
	if err != nil {
		return fmt.Errorf("server domains: %w", err)
	}
	w.say("   Server domains set: request %s, upload and download %s.",
		strings.Join(domains.RequestDomain, " "), strings.Join(domains.UploadDomain, " "))

	// The template, configured for this merchant by its ext_json.
	ext := miniprogram.ExtJSON{
		ExtAppID: noodleMini,
		Ext:      map[string]any{"storeName": "Noodle House", "storeId": 1024},
		Pages:    []string{"pages/index/index", "pages/menu/menu", "pages/order/order"},
		Window:   map[string]any{"navigationBarTitleText": "Noodle House"},
	}
	if err := mp.Commit(ctx, miniprogram.CommitRequest{
		TemplateID: tpl.TemplateID, ExtJSON: ext, UserVersion: tpl.UserVersion, UserDesc: "Noodle House ordering",
	}); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	// WeChat scans each commit for privacy APIs for about a minute; the platform polls until it
	// is done (the emulator's clock runs while it waits).
	if _, err := mp.Privacy().WaitCodePrivacyInfo(ctx, w.sleep); err != nil {
		return fmt.Errorf("privacy scan: %w", err)
	}
	pages, err := mp.Pages(ctx)
	if err != nil {
		return fmt.Errorf("pages: %w", err)
	}
	extText, err := json.Marshal(ext.Ext)
	if err != nil {
		return err
	}
	w.say("   Committed template %d as v%s with ext %s; pages %s.",
		tpl.TemplateID, tpl.UserVersion, extText, strings.Join(pages, ", "))

	// Submitted for review, under one of the mini program's categories.
	cats, err := mp.Categories(ctx)
	if err != nil {
		return fmt.Errorf("categories: %w", err)
	}
	if len(cats) == 0 {
		return fmt.Errorf("the mini program has no category")
	}
	cat := cats[0]
	auditID, err := mp.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{
		ItemList: []miniprogram.AuditItem{{
			Address: "pages/menu/menu", Title: "Menu", Tag: "noodles ordering",
			FirstClass: cat.FirstClass, SecondClass: cat.SecondClass, FirstID: cat.FirstID, SecondID: cat.SecondID,
		}},
		VersionDesc: "Order noodles online at Noodle House",
	})
	if err != nil {
		return fmt.Errorf("submit for audit: %w", err)
	}
	status, err := mp.AuditStatus(ctx, auditID)
	if err != nil {
		return fmt.Errorf("audit status: %w", err)
	}
	w.say("   Submitted for audit under %s > %s: auditid %d, %s.", cat.FirstClass, cat.SecondClass, auditID, status.Status)

	// WeChat's reviewers approve (the emulator plays them) and push the result to the message URL.
	if err := w.emu.Audit(ctx, noodleMini, true, ""); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	passed, err := await(ctx, w.in.audits, "weapp_audit_success")
	if err != nil {
		return err
	}
	w.say("   Approved: weapp_audit_success pushed to %s at %s.",
		strings.Replace(messageURLPath, "$APPID$", passed.AuthorizerAppID, 1), passed.SuccTime.Format(clock))
	if err := mp.Release(ctx); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	w.say("   Released: v%s is live.", tpl.UserVersion)

	// 8. The experience QR code of the trial version, for the merchant's testers.
	img, err := mp.QRCode(ctx, "pages/menu/menu")
	if err != nil {
		return fmt.Errorf("experience QR code: %w", err)
	}
	if err := os.WriteFile(qrPath, img, 0o644); err != nil {
		return err
	}
	w.say("8. Experience QR code (menu page) saved to %s (%d bytes).", qrPath, len(img))
	return nil
}

// login logs a diner in through the mini program and decrypts the profile WeChat gave it (step 9).
func (w *walk) login(ctx context.Context) error {
	mp := w.p.MiniProgram(noodleMini)

	// In the mini program, wx.login gives a code that the mini program sends to the platform's
	// server (the emulator plays the mini program). WeChat also tells the diner's UnionID, since the
	// mini program now belongs to an open platform account.
	w.emu.SetUnionID(noodleMini, dinerOpenID, dinerUnionID)
	code := w.emu.IssueLoginCode(noodleMini, dinerOpenID)
	sess, err := mp.Login(ctx, code)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	w.say("9. A diner logs in: wx.login code → Login → openid %s, unionid %s (the session key stays on the server).",
		sess.OpenID, sess.UnionID)

	// wx.getUserInfo hands the mini program the profile as encryptedData and iv, encrypted by WeChat
	// with the session key (the emulator side plays WeChat here); the server decrypts it.
	profile, err := json.Marshal(miniprogram.UserInfo{
		OpenID: sess.OpenID, UnionID: sess.UnionID, NickName: "小面", City: "Chongqing", Country: "China", Language: "zh_CN",
		Watermark: miniprogram.Watermark{AppID: noodleMini, Timestamp: time.Unix(w.emu.Now().Unix(), 0)},
	})
	if err != nil {
		return err
	}
	ivBytes := make([]byte, 16)
	if _, err := rand.Read(ivBytes); err != nil {
		return err
	}
	iv := base64.StdEncoding.EncodeToString(ivBytes)
	encrypted, err := crypto.EncryptUserData(crypto.UserData{SessionKey: sess.SessionKey, IV: iv}, profile)
	if err != nil {
		return err
	}
	user, err := mp.DecryptUserInfo(miniprogram.UserData{SessionKey: sess.SessionKey, EncryptedData: encrypted, IV: iv})
	if err != nil {
		return fmt.Errorf("decrypt the profile: %w", err)
	}
	w.say("   Their encrypted profile, decrypted: %s from %s; the watermark names %s.", user.NickName, user.City, user.Watermark.AppID)
	return nil
}

// memberCard issues the merchant's membership card from its official account and offers it to the
// diner in the mini program (step 10).
func (w *walk) memberCard(ctx context.Context) error {
	cards := w.p.Card(noodleOfficial) // cards belong to the official account
	cardID, err := cards.Create(ctx, &card.MemberCard{
		BaseInfo: card.BaseInfo{
			LogoURL:     "https://mmbiz.qpic.cn/mmbiz/noodle-house-logo/0",
			BrandName:   "Noodle House",
			CodeType:    card.CodeTypeQRCode,
			Title:       "Noodle House Club",
			Color:       card.Color010,
			Notice:      "Show the card when you pay",
			Description: "Members get 10% off every bowl",
			DateInfo:    card.DateInfo{Type: card.DatePermanent},
			Sku:         card.Sku{Quantity: 10000},
			GetLimit:    1,
		},
		Prerogative: "10% off, a free bowl on your birthday",
		SupplyBonus: true,
	})
	if err != nil {
		return fmt.Errorf("create the member card: %w", err)
	}

	// The mini program calls wx.addCard({cardList: [{cardId, cardExt}]}): the server signs the
	// cardExt with the official account's card api_ticket, which WeChat (the emulator) checks when
	// the diner adds the card.
	ext, err := cards.CardExt(ctx, card.CardExtRequest{CardID: cardID, OuterStr: "mini-program"})
	if err != nil {
		return fmt.Errorf("cardExt: %w", err)
	}
	if err := w.emu.VerifyCardExt(cardID, ext.Ext); err != nil {
		return err
	}
	encryptCode, err := w.emu.AddCard(cardID, dinerOpenID)
	if err != nil {
		return err
	}
	code, err := cards.DecryptCode(ctx, encryptCode)
	if err != nil {
		return fmt.Errorf("decrypt the card code: %w", err)
	}
	w.say("10. Member card %s created by the official account; cardExt signed for wx.addCard in the mini program.", cardID)
	w.say("    The diner added it: WeChat accepted the signature, and the card code %s was decrypted.", code)
	return nil
}

// summary prints how often the platform called each WeChat API (step 12).
func (w *walk) summary() {
	const (
		componentToken  = "/cgi-bin/component/api_component_token"
		authorizerToken = "/cgi-bin/component/api_authorizer_token"
		cardTicket      = "/cgi-bin/ticket/getticket"
	)
	paths := w.calls.list()
	total := 0
	counts := make([]string, 0, len(paths))
	for _, p := range paths {
		n := w.emu.Calls(p)
		total += n
		counts = append(counts, fmt.Sprintf("%s %d", shortPath(p), n))
	}
	w.say("12. Done. The platform called %d WeChat APIs, %d calls in all (as the emulator counted them):", len(paths), total)
	lines := slices.Collect(slices.Chunk(counts, 6))
	for i, line := range lines {
		sep := ","
		if i == len(lines)-1 {
			sep = "."
		}
		w.say("    %s%s", strings.Join(line, ", "), sep)
	}
	w.say("    Tokens were fetched only when needed: api_component_token %s, the card api_ticket %s,",
		times(w.emu.Calls(componentToken)), times(w.emu.Calls(cardTicket)))
	w.say("    api_authorizer_token %s (the access tokens came with the authorisations).", times(w.emu.Calls(authorizerToken)))
}

// sleep lets d pass on the emulator's clock: the walk-through waits for WeChat without waiting.
func (w *walk) sleep(_ context.Context, d time.Duration) error {
	w.emu.Advance(d)
	return nil
}

func (w *walk) say(format string, args ...any) {
	fmt.Fprintf(w.out, format+"\n", args...)
}

// inbox carries the events the push handlers receive to the walk-through, which waits for them.
type inbox struct {
	tickets        chan *component.VerifyTicketEvent
	authorized     chan *component.AuthorizedEvent
	audits         chan *component.AuditSuccessEvent
	fastRegs       chan *component.FastRegisterEvent
	categoryAudits chan *component.CategoryAuditEvent
	privacyApplies chan *component.PrivacyApplyEvent
	icpFaces       chan *component.ICPVerifyResultEvent
	icpFilings     chan *component.ICPFilingResultEvent
}

func newInbox() *inbox {
	return &inbox{
		tickets:        make(chan *component.VerifyTicketEvent, 4),
		authorized:     make(chan *component.AuthorizedEvent, 4),
		audits:         make(chan *component.AuditSuccessEvent, 4),
		fastRegs:       make(chan *component.FastRegisterEvent, 4),
		categoryAudits: make(chan *component.CategoryAuditEvent, 4),
		privacyApplies: make(chan *component.PrivacyApplyEvent, 4),
		icpFaces:       make(chan *component.ICPVerifyResultEvent, 4),
		icpFilings:     make(chan *component.ICPFilingResultEvent, 4),
	}
}

// handlerConfig configures the authorisation event handler; now is WeChat's clock (the emulator's).
// The handler stores tickets and exchanges authorisation codes itself; the callbacks only report.
func (in *inbox) handlerConfig(now func() time.Time) component.HandlerConfig {
	return component.HandlerConfig{
		Now: now,
		OnVerifyTicket: func(ctx context.Context, ev *component.VerifyTicketEvent) error {
			return deliver(ctx, in.tickets, ev)
		},
		OnAuthorized: func(ctx context.Context, ev *component.AuthorizedEvent) error {
			return deliver(ctx, in.authorized, ev)
		},
		OnFastRegister: func(ctx context.Context, ev *component.FastRegisterEvent) error {
			return deliver(ctx, in.fastRegs, ev)
		},
		OnICPVerifyResult: func(ctx context.Context, ev *component.ICPVerifyResultEvent) error {
			return deliver(ctx, in.icpFaces, ev)
		},
		OnICPFilingResult: func(ctx context.Context, ev *component.ICPFilingResultEvent) error {
			return deliver(ctx, in.icpFilings, ev)
		},
	}
}

// messageConfig configures the message handler, which receives the audit results.
func (in *inbox) messageConfig(now func() time.Time) component.MessageHandlerConfig {
	return component.MessageHandlerConfig{
		Now: now,
		OnAuditSuccess: func(ctx context.Context, ev *component.AuditSuccessEvent) error {
			return deliver(ctx, in.audits, ev)
		},
		OnCategoryAudit: func(ctx context.Context, ev *component.CategoryAuditEvent) error {
			return deliver(ctx, in.categoryAudits, ev)
		},
		OnPrivacyApply: func(ctx context.Context, ev *component.PrivacyApplyEvent) error {
			return deliver(ctx, in.privacyApplies, ev)
		},
	}
}

// deliver hands ev from a push handler to the walk-through. Returning an error would make the
// handler answer HTTP 500, and WeChat would push again.
func deliver[E any](ctx context.Context, ch chan<- *E, ev *E) error {
	select {
	case ch <- ev:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// await waits for the next event a push handler delivered on ch.
func await[E any](ctx context.Context, ch <-chan *E, what string) (*E, error) {
	timer := time.NewTimer(pushWait)
	defer timer.Stop()
	select {
	case ev := <-ch:
		return ev, nil
	case <-timer.C:
		return nil, fmt.Errorf("no %s push reached the handler within %s", what, pushWait)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// callLog remembers which WeChat paths the platform called, in the order of their first call. Its
// hook is a wxopen.Hook; it runs on the goroutine of each call, push handlers included.
type callLog struct {
	mu    sync.Mutex
	paths []string
	n     int // calls in all
}

func (l *callLog) hook(_ context.Context, info wxopen.CallInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if !slices.Contains(l.paths, info.Path) {
		l.paths = append(l.paths, info.Path)
	}
}

// total returns the number of calls so far.
func (l *callLog) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

func (l *callLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.paths)
}

// clock formats the times printed.
const clock = "15:04:05"

// redact shows a secret as its first five characters and its length: enough to tell two apart,
// too little to use.
func redact(s string) string {
	const keep = 5
	if len(s) <= 2*keep {
		return fmt.Sprintf("…(%d chars)", len(s))
	}
	return fmt.Sprintf("%s…(%d chars)", s[:keep], len(s))
}

// until says how long remains until t, to the minute: "12h", "1h59m", "30m".
func until(t time.Time) string {
	d := time.Until(t).Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h > 0 && m == 0:
		return fmt.Sprintf("%dh", h)
	case h > 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	}
	return fmt.Sprintf("%dm", m)
}

// shortPath drops the common prefixes of WeChat paths: "api_query_auth", "open/create", "wxa/commit".
func shortPath(p string) string {
	p = strings.TrimPrefix(p, "/cgi-bin/component/")
	p = strings.TrimPrefix(p, "/cgi-bin/")
	return strings.TrimPrefix(p, "/")
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}
