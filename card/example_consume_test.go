package card_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxtest"
)

// A till redeems the code a member shows. Consume sends the consume at most once: a code consumed
// before is reported without a request, and a consume whose answer is lost is settled by reading the
// code. Here the emulator plays WeChat and the member, and the platform's MessageHandler receives
// the user_consume_card push.
func ExampleClient_Consume() {
	ctx := context.Background()
	const merchant = "wx0123456789abcdef" // the official account that owns the card

	emu := wxtest.NewServer()
	defer emu.Close()
	app := emu.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token,
		EncodingAESKey: app.EncodingAESKey}, wxopen.WithBaseURL(emu.URL))
	if err != nil {
		log.Fatal(err)
	}
	h, err := p.Handler(component.HandlerConfig{Now: emu.Now})
	if err != nil {
		log.Fatal(err)
	}
	mh, err := p.MessageHandler(component.MessageHandlerConfig{Now: emu.Now,
		OnUserConsumeCard: func(_ context.Context, ev *component.UserConsumeCardEvent) error {
			fmt.Println("push:", ev.Event, ev.ConsumeSource)
			return nil
		}})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.Handle("/msg/{appid}", mh)
	pushes := httptest.NewServer(mux)
	defer pushes.Close()
	emu.SetEventURLs(pushes.URL, pushes.URL+"/msg/$APPID$")
	if _, err := emu.PushVerifyTicket(ctx); err != nil {
		log.Fatal(err)
	}
	emu.AddAuthorizer(wxtest.Authorizer{AppID: merchant, Business: wxtest.BusinessInfo{OpenCard: 1}})
	if _, err := emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: merchant}); err != nil {
		log.Fatal(err)
	}

	c := p.Card(merchant)
	logo, err := c.UploadImage(ctx, "logo.png", pngImage(512))
	if err != nil {
		log.Fatal(err)
	}
	mc := validCard()
	mc.BaseInfo.LogoURL, mc.BaseInfo.Sku.Quantity = logo, 10
	cardID, err := c.Create(ctx, mc)
	if err != nil {
		log.Fatal(err)
	}
	taken, err := emu.AddCard(cardID, "oMEMBER")
	if err != nil {
		log.Fatal(err)
	}
	code, err := c.DecryptCode(ctx, taken)
	if err != nil {
		log.Fatal(err)
	}

	// At the till.
	res, err := c.Consume(ctx, card.ConsumeRequest{Code: code})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("first:", res.Outcome)

	// The member shows the same code again.
	res, err = c.Consume(ctx, card.ConsumeRequest{Code: code})
	switch {
	case errors.Is(err, card.ErrAlreadyConsumed):
		fmt.Println("second:", res.Outcome)
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println("consumes sent:", emu.Calls("/card/code/consume"))
	// Output:
	// push: user_consume_card FROM_API
	// first: consumed
	// second: already consumed
	// consumes sent: 1
}
