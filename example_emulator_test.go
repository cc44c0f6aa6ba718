package wxopen_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// describeMerchant stands for the code under test: a function of the platform's own service that
// calls WeChat through a Platform.
func describeMerchant(ctx context.Context, p *wxopen.Platform, appID string) (string, error) {
	info, err := p.Component().AuthorizerInfo(ctx, appID)
	if err != nil {
		return "", err
	}
	kind := "official account"
	if info.IsMiniProgram() {
		kind = "mini program"
	}
	return fmt.Sprintf("%s, a %s of %s", info.NickName, kind, info.PrincipalName), nil
}

// A downstream team tests its own code against wxtest, the in-process WeChat emulator, the way it
// would test against net/http/httptest: start the emulator, point a Platform at it, serve the
// platform's push handler, and let the emulator play WeChat and the merchants. In a test, use
// wxtest.NewTestServer(t): it is closed when the test ends, and a push the handler does not answer
// with "success" fails the test.
func Example_testingWithEmulator() {
	ctx := context.Background()
	const merchant = "wx6e0d15a1b2c3d4e5"

	// WeChat, with a generated platform appid, secret, message token and EncodingAESKey.
	emu := wxtest.NewServer()
	defer emu.Close()
	app := emu.Component()

	// The platform, pointed at the emulator, and its push handler on a loopback port.
	p, err := wxopen.New(wxopen.Config{
		ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token, EncodingAESKey: app.EncodingAESKey,
	}, wxopen.WithBaseURL(emu.URL))
	if err != nil {
		log.Fatal(err)
	}
	h, err := p.Handler(component.HandlerConfig{Now: emu.Now})
	if err != nil {
		log.Fatal(err)
	}
	pushes := httptest.NewServer(h)
	defer pushes.Close()
	emu.SetEventURLs(pushes.URL, pushes.URL+"/msg/$APPID$")

	// WeChat pushes a verify ticket and a merchant authorises the platform: the handler stores the
	// ticket, exchanges the pushed authorisation code and stores the merchant's tokens.
	if _, err := emu.PushVerifyTicket(ctx); err != nil {
		log.Fatal(err)
	}
	emu.AddAuthorizer(wxtest.Authorizer{AppID: merchant, MiniProgram: true, NickName: "Noodle House",
		PrincipalName: "Noodle House Catering Co., Ltd."})
	if _, err := emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: merchant}); err != nil {
		log.Fatal(err)
	}

	// The code under test.
	fmt.Println(describeMerchant(ctx, p, merchant))

	// WeChat refuses the next call with 40001 (invalid token): wxopen gets a new component access
	// token and retries once, so the code under test does not notice.
	emu.InjectFault("/cgi-bin/component/api_get_authorizer_info", wxtest.Fault{ErrCode: 40001})
	fmt.Println(describeMerchant(ctx, p, merchant))
	fmt.Println("api_component_token calls:", emu.Calls("/cgi-bin/component/api_component_token"))

	// The merchant revokes the authorisation: WeChat pushes "unauthorized", the handler drops the
	// merchant's tokens, and calls on its behalf fail without a request.
	if err := emu.Unauthorize(ctx, merchant); err != nil {
		log.Fatal(err)
	}
	_, err = p.MiniProgram(merchant).BasicInfo(ctx)
	fmt.Println("not authorised:", errors.Is(err, wxerr.ErrNotAuthorized))

	// Output:
	// Noodle House, a mini program of Noodle House Catering Co., Ltd. <nil>
	// Noodle House, a mini program of Noodle House Catering Co., Ltd. <nil>
	// api_component_token calls: 2
	// not authorised: true
}
