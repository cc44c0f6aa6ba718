package authlink_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/authlink"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxtest"
)

// The platform serves a landing URL on its authorisation domain and gives each merchant a PNG of it
// to save. Whenever the merchant scans it, the landing page creates a fresh pre-auth code and moves on
// to WeChat's authorisation page.
func Example() {
	emu := wxtest.NewServer() // in production: the real WeChat, and wxopen.New with real credentials
	defer emu.Close()
	app := emu.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token,
		EncodingAESKey: app.EncodingAESKey}, wxopen.WithBaseURL(emu.URL))
	if err != nil {
		log.Fatal(err)
	}
	// WeChat pushes the verify ticket to the platform's event URL; here it is handed over directly.
	ticket, _ := emu.PushVerifyTicket(context.Background()) // no event URL: the push itself fails
	if err := p.Component().SetVerifyTicket(context.Background(), ticket); err != nil {
		log.Fatal(err)
	}

	h, err := authlink.New(authlink.Config{
		Component:   p.Component(),
		RedirectURI: "https://auth.example.com/wx/authorized", // on the authorisation domain
		Options:     component.AuthURLOptions{AuthType: component.AuthTypeMiniProgram},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /wx/authorize", h)
	const link = "https://auth.example.com/wx/authorize?biz_appid=wx5555555555555555"
	qr, err := authlink.QRCodeHandler(link, 512, nil) // or authlink.QRCodePNG for the bytes
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("GET /wx/authorize.png", qr)

	// A merchant's phone opens the link inside WeChat.
	req := httptest.NewRequest(http.MethodGet, link, nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone) Mobile/15E148 MicroMessenger/8.0.44")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))

	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/wx/authorize.png", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output:
	// 200 text/html; charset=utf-8
	// 200 image/png
}
