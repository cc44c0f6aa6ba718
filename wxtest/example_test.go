package wxtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/wxtest"
)

// callJSON POSTs body to the emulator and decodes the answer into out.
func callJSON(url string, body, out any) {
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		log.Fatal(err)
	}
}

// A downstream test of a platform's own code against the emulator, with nothing but net/http and
// the crypto package: the platform's push handler receives the verify ticket, the platform gets a
// component access token, a merchant authorises, the platform exchanges the pushed code, and the
// emulator clock makes the token expire. In a test, use wxtest.NewTestServer(t) instead: it closes
// the server at the end and fails the test when a push is not answered "success".
func ExampleNewServer() {
	s := wxtest.NewServer(wxtest.WithStartTime(time.Unix(1700000000, 0)), wxtest.WithManualClock())
	defer s.Close()
	app := s.Component() // generated appid, secret, token and EncodingAESKey

	// The platform's authorization event URL: decrypt each push, keep the latest ticket and code.
	mc, _ := crypto.NewMsgCrypt(app.Token, app.EncodingAESKey, app.AppID)
	var mu sync.Mutex
	var ticket, authCode string
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		body, _ := io.ReadAll(r.Body)
		plain, err := mc.DecryptMessage(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), body)
		if err != nil {
			http.Error(w, "bad push", http.StatusBadRequest)
			return
		}
		var ev struct {
			InfoType              string
			ComponentVerifyTicket string
			AuthorizationCode     string
		}
		_ = xml.Unmarshal(plain, &ev)
		mu.Lock()
		switch ev.InfoType {
		case "component_verify_ticket":
			ticket = ev.ComponentVerifyTicket
		case "authorized":
			authCode = ev.AuthorizationCode
		}
		mu.Unlock()
		_, _ = io.WriteString(w, "success")
	}))
	defer platform.Close()
	s.SetEventURLs(platform.URL, platform.URL+"/msg/$APPID$")

	ctx := context.Background()
	if _, err := s.PushVerifyTicket(ctx); err != nil {
		log.Fatal(err)
	}
	var tok struct {
		ComponentAccessToken string `json:"component_access_token"`
		ExpiresIn            int    `json:"expires_in"`
	}
	mu.Lock()
	latest := ticket
	mu.Unlock()
	callJSON(s.URL+"/cgi-bin/component/api_component_token", map[string]string{
		"component_appid": app.AppID, "component_appsecret": app.AppSecret, "component_verify_ticket": latest,
	}, &tok)
	fmt.Println("component token valid:", s.ComponentAccessTokenValid(tok.ComponentAccessToken), tok.ExpiresIn)

	// The merchant authorises; the platform exchanges the pushed code.
	if _, err := s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: "wx1111111111111111"}); err != nil {
		log.Fatal(err)
	}
	var auth struct {
		Info struct {
			AppID        string `json:"authorizer_appid"`
			AccessToken  string `json:"authorizer_access_token"`
			RefreshToken string `json:"authorizer_refresh_token"`
		} `json:"authorization_info"`
	}
	mu.Lock()
	code := authCode
	mu.Unlock()
	callJSON(s.URL+"/cgi-bin/component/api_query_auth?component_access_token="+tok.ComponentAccessToken,
		map[string]string{"component_appid": app.AppID, "authorization_code": code}, &auth)
	refresh, _ := s.AuthorizerRefreshToken(auth.Info.AppID)
	fmt.Println("authorised:", auth.Info.AppID, auth.Info.RefreshToken == refresh)

	// Two hours later the component token has expired, the way WeChat says it.
	s.Advance(2 * time.Hour)
	var refused struct {
		Errcode int `json:"errcode"`
	}
	callJSON(s.URL+"/cgi-bin/component/api_create_preauthcode?component_access_token="+tok.ComponentAccessToken,
		map[string]string{"component_appid": app.AppID}, &refused)
	fmt.Println("after 2h:", refused.Errcode)

	// Fault injection and counters.
	s.InjectFault("/cgi-bin/component/api_component_token", wxtest.Fault{ErrCode: -1})
	callJSON(s.URL+"/cgi-bin/component/api_component_token", map[string]string{}, &refused)
	fmt.Println("injected:", refused.Errcode, "calls:", s.Calls("/cgi-bin/component/api_component_token"))

	// Output:
	// component token valid: true 7200
	// authorised: wx1111111111111111 true
	// after 2h: 42001
	// injected: -1 calls: 2
}
