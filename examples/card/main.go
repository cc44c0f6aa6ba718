// Command card walks through issuing a WeChat membership card from a third-party platform, against
// the wxtest emulator started in-process: upload the logo, create a member card under the merchant's
// official account with it, sign a cardExt for wx.addCard, let a user take the card, decrypt its
// code, set the activation form, get the activation plugin's parameters, read what the member
// submitted, activate the card, read the member back, add points, and redeem the code at the till —
// once with its answer lost on the way back — then list the card pushes the platform received. Each
// step is printed.
//
//	go run ./examples/card
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"time"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxtest"
)

// officialAccount is the merchant's official account that owns the cards.
const officialAccount = "wx0123456789abcdef"

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	s := wxtest.NewServer()
	defer s.Close()
	step := func(n int, format string, args ...any) {
		fmt.Fprintf(out, "%d. "+format+"\n", append([]any{n}, args...)...)
	}
	fmt.Fprintln(out, "WeChat emulator at", s.URL)

	// The platform, pointed at the emulator, with its push handler at the emulator's event URLs.
	app := s.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token,
		EncodingAESKey: app.EncodingAESKey}, wxopen.WithBaseURL(s.URL))
	if err != nil {
		return err
	}
	h, err := p.Handler(component.HandlerConfig{Now: s.Now})
	if err != nil {
		return err
	}
	// The message URL: the card pushes of the merchant's account, typed by the MessageHandler.
	var pushes pushLog
	mh, err := p.MessageHandler(component.MessageHandlerConfig{Now: s.Now,
		OnUserGetCard: func(_ context.Context, ev *component.UserGetCardEvent) error {
			pushes.add("%s: %s took code %s (channel %q)", ev.Event, ev.FromUserName, ev.UserCardCode, ev.OuterStr)
			return nil
		},
		OnUpdateMemberCard: func(_ context.Context, ev *component.UpdateMemberCardEvent) error {
			pushes.add("%s: code %s bonus %+d, balance %+d", ev.Event, ev.UserCardCode, ev.ModifyBonus, ev.ModifyBalance)
			return nil
		},
		OnUserConsumeCard: func(_ context.Context, ev *component.UserConsumeCardEvent) error {
			pushes.add("%s: code %s consumed (%s)", ev.Event, ev.UserCardCode, ev.ConsumeSource)
			return nil
		},
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.Handle("/msg/{appid}", mh)
	events := httptest.NewServer(mux)
	defer events.Close()
	s.SetEventURLs(events.URL, events.URL+"/msg/$APPID$")
	if _, err := s.PushVerifyTicket(ctx); err != nil { // WeChat's 10-minute push, stored by the handler
		return err
	}
	s.AddAuthorizer(wxtest.Authorizer{AppID: officialAccount, NickName: "海风咖啡", Business: wxtest.BusinessInfo{OpenCard: 1}})
	if _, err := s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: officialAccount}); err != nil {
		return err // the merchant's consent; the handler exchanges the code and stores the tokens
	}
	fmt.Fprintln(out, "0. official account", officialAccount, "authorised the platform", app.AppID)

	// The card client of the merchant's official account; its api_ticket is cached for the platform.
	c := p.Card(officialAccount)

	// 1. The merchant's logo, uploaded to WeChat: card/create takes only the URL it answers.
	logo, err := c.UploadImage(ctx, "logo.png", logoPNG())
	if err != nil {
		return fmt.Errorf("uploadimg: %w", err)
	}
	step(1, "media/uploadimg → logo_url %s", logo)

	// 2. The merchant's membership card. WeChat-generated codes (UseCustomCode false) so that the
	// activation plugin can be used.
	cardID, err := c.Create(ctx, &card.MemberCard{
		BaseInfo: card.BaseInfo{
			LogoURL:     logo,
			BrandName:   "海风咖啡",
			CodeType:    card.CodeTypeQRCode,
			Title:       "海风会员卡",
			Color:       card.Color010,
			Notice:      "结账时出示会员卡",
			Description: "会员消费享九折，积分可抵现",
			DateInfo:    card.DateInfo{Type: card.DatePermanent},
			Sku:         card.Sku{Quantity: 1000},
			GetLimit:    1,
		},
		Prerogative: "会员九折，生日双倍积分",
		WxActivate:  true,
		SupplyBonus: true,
		BonusRule:   &card.BonusRule{CostMoneyUnit: 100, IncreaseBonus: 1},
		Entries:     card.Entries{CustomField1: &card.CustomField{NameType: card.NameTypeLevel}},
	})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	step(2, "card/create → card_id %s", cardID)

	// 3. The mini program calls wx.addCard({cardList: [ext]}); the server signs the cardExt with
	// the official account's api_ticket (fetched once, then cached).
	ext, err := c.CardExt(ctx, card.CardExtRequest{CardID: cardID, OuterStr: "mini-program"})
	if err != nil {
		return fmt.Errorf("cardExt: %w", err)
	}
	list, _ := json.Marshal([]card.CardExt{ext})
	if err := s.VerifyCardExt(cardID, ext.Ext); err != nil {
		return err
	}
	step(3, "cardExt signed (the emulator accepts its signature); wx.addCard cardList = %s", list)

	// 4. The user taps "add": wx.addCard answers an encrypt_code, and WeChat pushes user_get_card.
	taken, err := s.TakeCard(ctx, cardID, "oUSER-example", "mini-program")
	if err != nil {
		return err
	}
	encryptCode := taken.EncryptCode
	step(4, "user added the card → encrypt_code %s", encryptCode)

	// 5. The server turns it into the card code.
	code, err := c.DecryptCode(ctx, encryptCode)
	if err != nil {
		return fmt.Errorf("decrypt: %w", err)
	}
	step(5, "card/code/decrypt → code %s", code)

	// 6. The activation form the member fills in.
	if err := c.SetActivateUserForm(ctx, card.ActivateUserForm{
		CardID:           cardID,
		ServiceStatement: &card.FormLink{Name: "会员章程", URL: "https://example.com/rules"},
		RequiredForm:     &card.FormSection{CommonFieldIDList: []card.FormFieldID{card.FieldMobile, card.FieldName}},
		OptionalForm: &card.FormSection{CanModify: true, CommonFieldIDList: []card.FormFieldID{card.FieldBirthday},
			RichFieldList: []card.RichField{{Type: card.RichFieldRadio, Name: "常去门店", Values: []string{"天河店", "越秀店"}}}},
	}); err != nil {
		return fmt.Errorf("activateuserform/set: %w", err)
	}
	step(6, "activateuserform/set: mobile and name required, birthday and store optional")

	// 7. The activation plugin's parameters, for wx.navigateToMiniProgram.
	plugin, err := c.ActivateURL(ctx, cardID, "store-7")
	if err != nil {
		return fmt.Errorf("activate/geturl: %w", err)
	}
	extra, _ := json.Marshal(plugin.ExtraData)
	step(7, "activate/geturl → %s\n   wx.navigateToMiniProgram({appId: %q, extraData: %s})", plugin.URL, plugin.AppID, extra)

	// 8. The member submits the form in the plugin; WeChat opens our page with an activate_ticket.
	activateTicket, err := s.SubmitActivateForm(cardID, encryptCode, map[string]string{
		string(card.FieldMobile): "13800000000", string(card.FieldName): "李雷", "常去门店": "天河店"})
	if err != nil {
		return err
	}
	form, err := c.ActivateTempInfo(ctx, activateTicket)
	if err != nil {
		return fmt.Errorf("activatetempinfo/get: %w", err)
	}
	step(8, "activatetempinfo/get → mobile %s, name %s", form.Common(card.FieldMobile), form.Common(card.FieldName))

	// 9. The merchant gives the member a number and activates the card.
	if err := c.Activate(ctx, card.ActivateRequest{MembershipNumber: "HF000001", Code: code, CardID: cardID, InitBonus: 100}); err != nil {
		return fmt.Errorf("activate: %w", err)
	}
	step(9, "membercard/activate: membership number HF000001, 100 welcome points")

	// 10. The member as WeChat now shows them; then a purchase earns points.
	m, err := c.MemberInfo(ctx, cardID, code)
	if err != nil {
		return fmt.Errorf("userinfo/get: %w", err)
	}
	step(10, "userinfo/get → openid %s, number %s, active %v, bonus %d, status %s", m.OpenID, m.MembershipNumber, m.HasActive, m.Bonus, m.UserCardStatus)
	res, err := c.UpdateMember(ctx, card.UpdateMemberRequest{Code: code, CardID: cardID, AddBonus: 38, RecordBonus: "消费38元"})
	if err != nil {
		return fmt.Errorf("updateuser: %w", err)
	}
	step(11, "membercard/updateuser +38 points → bonus %d", res.ResultBonus)

	// 12. At the till: the member shows the code, the till redeems it. Consume reads the code first
	// and sends one consume.
	info, err := c.GetCode(ctx, card.CodeRequest{Code: code, CheckConsume: true})
	if err != nil {
		return fmt.Errorf("code/get: %w", err)
	}
	step(12, "code/get → %s, holder %s, can consume %v", info.Status, info.OpenID, info.CanConsume)
	consumed, err := c.Consume(ctx, card.ConsumeRequest{Code: code, CardID: cardID})
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	step(13, "code/consume → %s", consumed.Outcome)
	if again, err := c.Consume(ctx, card.ConsumeRequest{Code: code}); errors.Is(err, card.ErrAlreadyConsumed) {
		step(14, "the same code again → %s, no consume sent", again.Outcome)
	} else {
		return fmt.Errorf("a second consume: %v, %v", again, err)
	}

	// 15. A second member's code, redeemed while the network fails: WeChat consumes it, then the
	// connection drops before the answer. Consume settles by reading the code, never by sending
	// the consume again.
	other, err := s.TakeCard(ctx, cardID, "oUSER-second", "door-qrcode")
	if err != nil {
		return err
	}
	before := s.Calls("/card/code/consume")
	s.InjectFault("/card/code/consume", wxtest.Fault{Drop: true, AfterHandler: true})
	lost, err := c.Consume(ctx, card.ConsumeRequest{Code: other.Code})
	if err != nil {
		return fmt.Errorf("consume with a lost answer: %w", err)
	}
	step(15, "code/consume, answer lost → %s (settled by code/get: %v); consumes sent: %d",
		lost.Outcome, lost.Settled, s.Calls("/card/code/consume")-before)

	fmt.Fprintln(out, "card pushes received by the platform:")
	for _, p := range pushes.all() {
		fmt.Fprintln(out, "  -", p)
	}
	fmt.Fprintf(out, "api_ticket fetched %d time(s)\n", s.Calls("/cgi-bin/ticket/getticket"))
	return nil
}

// pushLog keeps the pushes the MessageHandler received, in order.
type pushLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *pushLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *pushLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// logoPNG is a small PNG image: the merchant's logo.
func logoPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = 0x63
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}
