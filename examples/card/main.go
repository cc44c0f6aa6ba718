// Command card walks through issuing a WeChat membership card from a third-party platform, against
// the wxtest emulator started in-process: create a member card under the merchant's official
// account, sign a cardExt for wx.addCard, let a user add the card, decrypt its code, set the
// activation form, get the activation plugin's parameters, read what the member submitted, activate
// the card and read the member back. Each step is printed.
//
//	go run ./examples/card
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
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
	events := httptest.NewServer(h)
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

	// 1. The merchant's membership card. WeChat-generated codes (UseCustomCode false) so that the
	// activation plugin can be used.
	cardID, err := c.Create(ctx, &card.MemberCard{
		BaseInfo: card.BaseInfo{
			LogoURL:     "https://mmbiz.qpic.cn/mmbiz/example-logo/0",
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
	step(1, "card/create → card_id %s", cardID)

	// 2. The mini program calls wx.addCard({cardList: [ext]}); the server signs the cardExt with
	// the official account's api_ticket (fetched once, then cached).
	ext, err := c.CardExt(ctx, card.CardExtRequest{CardID: cardID, OuterStr: "mini-program"})
	if err != nil {
		return fmt.Errorf("cardExt: %w", err)
	}
	list, _ := json.Marshal([]card.CardExt{ext})
	if err := s.VerifyCardExt(cardID, ext.Ext); err != nil {
		return err
	}
	step(2, "cardExt signed (the emulator accepts its signature); wx.addCard cardList = %s", list)

	// 3. The user taps "add": wx.addCard answers an encrypt_code.
	encryptCode, err := s.AddCard(cardID, "oUSER-example")
	if err != nil {
		return err
	}
	step(3, "user added the card → encrypt_code %s", encryptCode)

	// 4. The server turns it into the card code.
	code, err := c.DecryptCode(ctx, encryptCode)
	if err != nil {
		return fmt.Errorf("decrypt: %w", err)
	}
	step(4, "card/code/decrypt → code %s", code)

	// 5. The activation form the member fills in.
	if err := c.SetActivateUserForm(ctx, card.ActivateUserForm{
		CardID:           cardID,
		ServiceStatement: &card.FormLink{Name: "会员章程", URL: "https://example.com/rules"},
		RequiredForm:     &card.FormSection{CommonFieldIDList: []card.FormFieldID{card.FieldMobile, card.FieldName}},
		OptionalForm: &card.FormSection{CanModify: true, CommonFieldIDList: []card.FormFieldID{card.FieldBirthday},
			RichFieldList: []card.RichField{{Type: card.RichFieldRadio, Name: "常去门店", Values: []string{"天河店", "越秀店"}}}},
	}); err != nil {
		return fmt.Errorf("activateuserform/set: %w", err)
	}
	step(5, "activateuserform/set: mobile and name required, birthday and store optional")

	// 6. The activation plugin's parameters, for wx.navigateToMiniProgram.
	plugin, err := c.ActivateURL(ctx, cardID, "store-7")
	if err != nil {
		return fmt.Errorf("activate/geturl: %w", err)
	}
	extra, _ := json.Marshal(plugin.ExtraData)
	step(6, "activate/geturl → %s\n   wx.navigateToMiniProgram({appId: %q, extraData: %s})", plugin.URL, plugin.AppID, extra)

	// 7. The member submits the form in the plugin; WeChat opens our page with an activate_ticket.
	activateTicket, err := s.SubmitActivateForm(cardID, encryptCode, map[string]string{
		string(card.FieldMobile): "13800000000", string(card.FieldName): "李雷", "常去门店": "天河店"})
	if err != nil {
		return err
	}
	form, err := c.ActivateTempInfo(ctx, activateTicket)
	if err != nil {
		return fmt.Errorf("activatetempinfo/get: %w", err)
	}
	step(7, "activatetempinfo/get → mobile %s, name %s", form.Common(card.FieldMobile), form.Common(card.FieldName))

	// 8. The merchant gives the member a number and activates the card.
	if err := c.Activate(ctx, card.ActivateRequest{MembershipNumber: "HF000001", Code: code, CardID: cardID, InitBonus: 100}); err != nil {
		return fmt.Errorf("activate: %w", err)
	}
	step(8, "membercard/activate: membership number HF000001, 100 welcome points")

	// 9. The member as WeChat now shows them; then a purchase earns points.
	m, err := c.MemberInfo(ctx, cardID, code)
	if err != nil {
		return fmt.Errorf("userinfo/get: %w", err)
	}
	step(9, "userinfo/get → openid %s, number %s, active %v, bonus %d, status %s", m.OpenID, m.MembershipNumber, m.HasActive, m.Bonus, m.UserCardStatus)
	res, err := c.UpdateMember(ctx, card.UpdateMemberRequest{Code: code, CardID: cardID, AddBonus: 38, RecordBonus: "消费38元"})
	if err != nil {
		return fmt.Errorf("updateuser: %w", err)
	}
	step(10, "membercard/updateuser +38 points → bonus %d", res.ResultBonus)
	fmt.Fprintf(out, "api_ticket fetched %d time(s)\n", s.Calls("/cgi-bin/ticket/getticket"))
	return nil
}
