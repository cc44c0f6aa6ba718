package openplatform_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// Create gives a merchant's mini program an open-platform account, so that its users get a
// UnionID shared with the merchant's other apps bound to it; Get then reports the binding.
func ExampleClient_Create() {
	const shop = "wx5555555555555555" // a mini program that has authorised the platform
	p, stop := emulatedPlatform(wxtest.Authorizer{AppID: shop, MiniProgram: true})
	defer stop()
	ctx := context.Background()
	op := p.OpenPlatform(shop)

	_, bound, err := op.Get(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("bound before:", bound)

	openAppID, err := op.Create(ctx)
	if err != nil {
		log.Fatal(err)
	}
	got, bound, err := op.Get(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("bound after:", bound, got == openAppID)

	// An account that is already bound cannot create another one (89000).
	_, err = op.Create(ctx)
	fmt.Println("create again: errcode", wxerr.CodeOf(err))
	// Output:
	// bound before: false
	// bound after: true true
	// create again: errcode 89000
}

// emulatedPlatform returns a Platform wired to a wxtest emulator (in production: wxopen.New with
// the platform's real configuration and persistent stores), with its authorisation-event handler
// on loopback, a verify ticket pushed, and each of accounts authorising the platform. stop shuts
// both servers down.
func emulatedPlatform(accounts ...wxtest.Authorizer) (p *wxopen.Platform, stop func()) {
	emu := wxtest.NewServer()
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
	events := httptest.NewServer(h)
	emu.SetEventURLs(events.URL, "")
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
	return p, stop
}
