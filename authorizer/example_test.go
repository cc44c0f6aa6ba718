package authorizer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// Do is the escape hatch for an endpoint wxopen has no typed method for: it adds the authorizer's
// access token, checks errcode, retries once after a token error and decodes the answer into out.
// Here a mini program's categories (GET /wxa/get_category), then the same call refused for an
// official account.
func ExampleClient_Do() {
	const (
		shop     = "wx5555555555555555" // an authorised mini program
		official = "wx6666666666666666" // an authorised official account
	)
	p, stop := emulatedPlatform(
		wxtest.Authorizer{AppID: shop, MiniProgram: true, Categories: []wxtest.Category{{First: "餐饮", Second: "中餐"}}},
		wxtest.Authorizer{AppID: official},
	)
	defer stop()
	ctx := context.Background()

	var out struct {
		CategoryList []struct {
			FirstClass  string `json:"first_class"`
			SecondClass string `json:"second_class"`
		} `json:"category_list"`
	}
	err := p.Authorizer(shop).Do(ctx, authorizer.Request{
		Method:     http.MethodGet,
		Path:       "/wxa/get_category",
		Idempotent: true, // a read: safe to retry after a network error
	}, &out)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range out.CategoryList {
		fmt.Println(c.FirstClass, ">", c.SecondClass)
	}

	// A non-zero errcode is a *wxerr.APIError, as for every typed call.
	err = p.Authorizer(official).Do(ctx, authorizer.Request{Method: http.MethodGet, Path: "/wxa/get_category"}, &out)
	var apiErr *wxerr.APIError
	if errors.As(err, &apiErr) {
		fmt.Println("errcode", apiErr.Code, "from", apiErr.Op)
	}
	// Output:
	// 餐饮 > 中餐
	// errcode 85015 from GET /wxa/get_category
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
