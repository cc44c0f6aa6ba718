package component_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/crypto"
)

// Serve the authorisation event URL: WeChat pushes the verify ticket there every 10 minutes, and the
// authorized / unauthorized events. The handler stores tickets and tokens itself; callbacks are for
// the platform's own bookkeeping.
func ExampleHandler() {
	c, err := component.New(component.Config{
		AppID: "wxcomponent0000001", AppSecret: "APPSECRET",
		Token: "MSGTOKEN", EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
	}, nil, nil, nil) // nil: default HTTP client and in-memory stores (wxopen.New wires real ones)
	if err != nil {
		log.Fatal(err)
	}
	h, err := component.NewHandler(c, component.HandlerConfig{
		OnAuthorized: func(ctx context.Context, ev *component.AuthorizedEvent) error {
			// Tokens are already stored; record the new merchant.
			fmt.Println("authorised by", ev.AuthorizerAppID)
			return nil
		},
		OnUnauthorized: func(ctx context.Context, ev *component.UnauthorizedEvent) error {
			fmt.Println("authorisation revoked by", ev.AuthorizerAppID)
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/wechat/auth-events", h)

	// What WeChat sends: an encrypted, signed component_verify_ticket push.
	wx, _ := crypto.NewMsgCrypt("MSGTOKEN", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxcomponent0000001")
	now := strconv.FormatInt(time.Now().Unix(), 10)
	enc, _ := wx.Encrypt([]byte("<xml><AppId><![CDATA[wxcomponent0000001]]></AppId><CreateTime>" + now +
		"</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType>" +
		"<ComponentVerifyTicket><![CDATA[ticket@@@example]]></ComponentVerifyTicket></xml>"))
	q := url.Values{"timestamp": {now}, "nonce": {"42"}, "encrypt_type": {"aes"}, "msg_signature": {wx.Signature(now, "42", enc)}}
	req := httptest.NewRequest("POST", "/wechat/auth-events?"+q.Encode(),
		strings.NewReader("<xml><AppId><![CDATA[wxcomponent0000001]]></AppId><Encrypt><![CDATA["+enc+"]]></Encrypt></xml>"))
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())

	ticket, _ := c.VerifyTicket(context.Background())
	fmt.Println(ticket.Value)
	// Output:
	// 200 success
	// ticket@@@example
}

func ExampleClient_AuthURL() {
	c, err := component.New(component.Config{
		AppID: "wxcomponent0000001", AppSecret: "APPSECRET",
		Token: "MSGTOKEN", EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
	}, nil, nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	// The pre-auth code comes from c.PreAuthCode(ctx); the redirect URI must be on the platform's
	// authorisation initiation domain.
	u, err := c.AuthURL("preauthcode@@@abc", "https://shop.example.com/wx/authorized?from=admin",
		component.AuthURLOptions{AuthType: component.AuthTypeMiniProgram})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u)
	m, _ := c.MobileAuthURL("preauthcode@@@abc", "https://shop.example.com/wx/authorized", component.AuthURLOptions{})
	fmt.Println(m)
	// Output:
	// https://mp.weixin.qq.com/cgi-bin/componentloginpage?component_appid=wxcomponent0000001&pre_auth_code=preauthcode%40%40%40abc&redirect_uri=https%3A%2F%2Fshop.example.com%2Fwx%2Fauthorized%3Ffrom%3Dadmin&auth_type=2
	// https://open.weixin.qq.com/wxaopen/safe/bindcomponent?action=bindcomponent&no_scan=1&component_appid=wxcomponent0000001&pre_auth_code=preauthcode%40%40%40abc&redirect_uri=https%3A%2F%2Fshop.example.com%2Fwx%2Fauthorized#wechat_redirect
}
