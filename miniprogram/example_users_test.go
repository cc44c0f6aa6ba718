package miniprogram_test

import (
	"context"
	"fmt"
	"log"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// One code per table: getwxacodeunlimit has no count limit, and the table travels in the scene.
// Before the mini program's first release, CheckPath false lets the code name a page that is not
// live yet.
func ExampleClient_UnlimitedCode() {
	const shop = "wx5555555555555555"
	p, _, stop := emulatedPlatform(component.MessageHandlerConfig{}, wxtest.Authorizer{AppID: shop, MiniProgram: true})
	defer stop()
	ctx := context.Background()

	notYet := false
	for _, table := range []string{"12", "13"} {
		img, err := p.MiniProgram(shop).UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{
			Scene:     "t=" + table, // at most 32 characters; the page reads options.scene
			Page:      "pages/table/index",
			CheckPath: &notYet,
			CodeStyle: miniprogram.CodeStyle{Width: 430},
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("table", table, img.ContentType, len(img.Data) > 0) // print it, or save it
	}

	// Bad input is refused before anything is sent.
	_, err := p.MiniProgram(shop).UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{Scene: "table 12"})
	fmt.Println(wxerr.IsValidation(err))
	// Output:
	// table 12 image/png true
	// table 13 image/png true
	// true
}

// The user's phone number, from the code of the mini program's getPhoneNumber button.
func ExampleClient_PhoneNumber() {
	const shop = "wx5555555555555555"
	p, emu, stop := emulatedPlatform(component.MessageHandlerConfig{}, wxtest.Authorizer{AppID: shop, MiniProgram: true})
	defer stop()
	code := emu.IssuePhoneCode(shop, "86", "13800000000") // the button, played by the emulator

	phone, err := p.MiniProgram(shop).PhoneNumber(context.Background(), code)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(phone.PurePhoneNumber, phone.CountryCode)
	// Output: 13800000000 86
}

// An order-ready notice: a private template made from WeChat's public library, then a message to a
// user who accepted it in wx.requestSubscribeMessage.
func ExampleSubscribe_Send() {
	const shop = "wx5555555555555555"
	cat := wxtest.Category{First: "餐饮", Second: "中餐"}
	p, emu, stop := emulatedPlatform(component.MessageHandlerConfig{},
		wxtest.Authorizer{AppID: shop, MiniProgram: true, Categories: []wxtest.Category{cat}})
	defer stop()
	ctx := context.Background()
	tid := emu.AddPublicTemplate(wxtest.PublicTemplate{Category: cat, Title: "取餐提醒",
		Keywords: []wxtest.TemplateKeyword{{Name: "取餐号", Rule: "character_string"}, {Name: "备注", Rule: "thing"}}})

	sub := p.MiniProgram(shop).Subscribe()
	id, err := sub.Add(ctx, miniprogram.AddTemplateRequest{TID: tid, KIDs: []int{1, 2}, SceneDesc: "出餐后"})
	if err != nil {
		log.Fatal(err)
	}
	emu.AcceptSubscription(shop, "oUSER1", id) // the user taps "allow" in the mini program

	err = sub.Send(ctx, miniprogram.SendRequest{ToUser: "oUSER1", TemplateID: id,
		Data: map[string]string{"character_string1": "A012", "thing2": "请到前台取餐"}})
	fmt.Println(err)
	err = sub.Send(ctx, miniprogram.SendRequest{ToUser: "oUSER1", TemplateID: id,
		Data: map[string]string{"character_string1": "A012", "thing2": "again"}})
	fmt.Println("second send:", wxerr.CodeOf(err)) // a one-time subscription is used up
	fmt.Println(len(emu.SentSubscribeMessages(shop)), "sent")
	// Output:
	// <nil>
	// second send: 43101
	// 1 sent
}
