package session_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/session"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxtest"
)

// A merchant's mini program logs its user in through the platform: the code of wx.login becomes an
// opaque token the mini program sends back as "Authorization: Bearer TOKEN"; WeChat's session key
// stays in the store. In production the store is Redis (redisstore.New) or SQL (sqlstore), shared by
// every instance.
func ExampleManager_Login() {
	const shop = "wx5555555555555555" // a merchant's mini program that authorised the platform
	p, emu, stop := emulatedPlatform(wxtest.Authorizer{AppID: shop, MiniProgram: true})
	defer stop()
	ctx := context.Background()

	m, err := session.New(tokenstore.NewMemoryStore(), session.PlatformLogin(p))
	if err != nil {
		log.Fatal(err)
	}
	code := emu.IssueLoginCode(shop, "oUSER000000000000000000001") // wx.login, in the mini program
	s, err := m.Login(ctx, shop, code)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.OpenID, len(s.Token))

	// Later requests carry the token.
	v, err := m.ValidateFor(ctx, shop, s.Token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("valid for", v.AppID)
	_, err = m.ValidateFor(ctx, "wx6666666666666666", s.Token)
	fmt.Println("valid for another merchant:", !errors.Is(err, session.ErrInvalid))

	if err := m.Revoke(ctx, s.Token); err != nil {
		log.Fatal(err)
	}
	_, err = m.Validate(ctx, s.Token)
	fmt.Println("after revoke:", err)
	// Output:
	// oUSER000000000000000000001 43
	// valid for wx5555555555555555
	// valid for another merchant: false
	// after revoke: session: invalid token
}

// Mount serves the three endpoints a mini program calls; Middleware guards the platform's own API.
func ExampleManager_Mount() {
	p, _, stop := emulatedPlatform()
	defer stop()
	m, err := session.New(tokenstore.NewMemoryStore(), session.PlatformLogin(p))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	m.Mount(mux, "/api/wx", nil) // POST /api/wx/login/{code}, /api/wx/is_valid_token, POST /api/wx/up_user_info
	mux.Handle("/api/orders", m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		fmt.Fprintf(w, "orders of %s at %s", s.OpenID, s.AppID)
	})))
	_ = http.Handler(mux) // http.ListenAndServe(":8080", mux)
	fmt.Println("mounted")
	// Output: mounted
}

// emulatedPlatform returns a Platform wired to a wxtest emulator, with its authorisation handler on
// loopback, a verify ticket pushed, and each of accounts authorising the platform.
func emulatedPlatform(accounts ...wxtest.Authorizer) (*wxopen.Platform, *wxtest.Server, func()) {
	emu := wxtest.NewServer()
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
	events := httptest.NewServer(auth)
	emu.SetEventURLs(events.URL, "")
	stop := func() { events.Close(); emu.Close() }
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
