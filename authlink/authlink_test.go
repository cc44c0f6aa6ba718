package authlink_test

import (
	"bytes"
	"context"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/authlink"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/internal/qrtest"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

const (
	shop        = "wx5555555555555555"
	redirect    = "https://auth.example.com/wx/authorized"
	preAuthPath = "/cgi-bin/component/api_create_preauthcode"
	uaAndroidWx = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F35) NetType/WIFI Language/zh_CN"
	uaWindowsWx = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/81.0 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63090a13)"
	uaChrome    = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
)

type env struct {
	emu    *wxtest.Server
	p      *wxopen.Platform
	events *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	emu := wxtest.NewTestServer(t)
	app := emu.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token,
		EncodingAESKey: app.EncodingAESKey}, wxopen.WithBaseURL(emu.URL))
	require.NoError(t, err)
	h, err := p.Handler(component.HandlerConfig{Now: emu.Now})
	require.NoError(t, err)
	events := httptest.NewServer(h)
	t.Cleanup(events.Close)
	emu.SetEventURLs(events.URL, "")
	_, err = emu.PushVerifyTicket(context.Background())
	require.NoError(t, err)
	return &env{emu: emu, p: p, events: events}
}

var hrefRE = regexp.MustCompile(`href="([^"]+)"`)

// open GETs the landing URL with a User-Agent and returns the status and the WeChat URL of the page.
func open(t *testing.T, client *http.Client, link, ua string) (int, *url.URL) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, link, nil)
	require.NoError(t, err)
	req.Header.Set("User-Agent", ua)
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, string(body), "location.replace")
	m := hrefRE.FindStringSubmatch(string(body))
	require.NotNil(t, m, string(body))
	u, err := url.Parse(html.UnescapeString(m[1]))
	require.NoError(t, err)
	return resp.StatusCode, u
}

func TestSavedQRCodeNeverExpires(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	h, err := authlink.New(authlink.Config{Component: e.p.Component(), RedirectURI: redirect})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /wx/authorize", h)
	site := httptest.NewServer(mux)
	defer site.Close()
	link := site.URL + "/wx/authorize?biz_appid=" + shop

	// The merchant saves the PNG; it reads back as the landing URL.
	img, err := authlink.QRCodePNG(link, 0, nil)
	require.NoError(t, err)
	text, err := qrtest.Decode(img)
	require.NoError(t, err)
	require.Equal(t, link, text)
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	require.NoError(t, err)
	assert.Equal(t, authlink.DefaultQRCodeSize, cfg.Width)

	// Scanned with WeChat on a phone: the mobile page, with a fresh pre-auth code.
	status, u := open(t, site.Client(), text, uaAndroidWx)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "open.weixin.qq.com", u.Host)
	assert.Equal(t, "/wxaopen/safe/bindcomponent", u.Path)
	assert.Equal(t, "wechat_redirect", u.Fragment)
	first := u.Query().Get("pre_auth_code")
	require.NotEmpty(t, first)
	assert.Equal(t, shop, u.Query().Get("biz_appid"))
	assert.Equal(t, redirect, u.Query().Get("redirect_uri"))
	assert.Equal(t, e.emu.Component().AppID, u.Query().Get("component_appid"))

	// A week later the same image still works: a new code on every open.
	e.emu.Advance(7 * 24 * time.Hour)
	_, err = e.emu.PushVerifyTicket(ctx) // WeChat pushes one every 10 minutes
	require.NoError(t, err)
	_, err = e.emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: shop, PreAuthCode: first})
	require.Error(t, err, "the first code has expired")
	status, u = open(t, site.Client(), text, uaAndroidWx)
	require.Equal(t, http.StatusOK, status)
	fresh := u.Query().Get("pre_auth_code")
	require.NotEqual(t, first, fresh)
	_, err = e.emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: shop, PreAuthCode: fresh})
	require.NoError(t, err, "the fresh code is accepted by WeChat")

	// On a PC browser, and in WeChat for Windows: the PC page.
	for _, ua := range []string{uaChrome, uaWindowsWx} {
		_, u = open(t, site.Client(), link, ua)
		assert.Equal(t, "mp.weixin.qq.com", u.Host, ua)
		assert.Equal(t, "/cgi-bin/componentloginpage", u.Path)
	}
	// Forced by the query.
	_, u = open(t, site.Client(), link+"&page=mobile", uaChrome)
	assert.Equal(t, "open.weixin.qq.com", u.Host)
	_, u = open(t, site.Client(), link+"&page=pc&auth_type=2", uaAndroidWx)
	assert.Equal(t, "mp.weixin.qq.com", u.Host)
	assert.Equal(t, "2", u.Query().Get("auth_type"))
}

func TestHandlerConfigAndErrors(t *testing.T) {
	e := newEnv(t)
	for _, cfg := range []authlink.Config{
		{RedirectURI: redirect},
		{Component: e.p.Component()},
		{Component: e.p.Component(), RedirectURI: "/relative"},
		{Component: e.p.Component(), RedirectURI: redirect, Page: 9},
	} {
		_, err := authlink.New(cfg)
		assert.True(t, wxerr.IsValidation(err))
	}

	h, err := authlink.New(authlink.Config{Component: e.p.Component(), RedirectURI: redirect, Page: authlink.PageMobile,
		Options: component.AuthURLOptions{AuthType: component.AuthTypeMiniProgram}})
	require.NoError(t, err)
	site := httptest.NewServer(h)
	defer site.Close()
	_, u := open(t, site.Client(), site.URL, uaChrome)
	assert.Equal(t, "open.weixin.qq.com", u.Host, "Page forces the mobile page")
	assert.Equal(t, "2", u.Query().Get("auth_type"))

	for _, q := range []string{"?auth_type=7", "?auth_type=x", "?biz_appid=wx%3Cscript%3E"} {
		status, _ := open(t, site.Client(), site.URL+q, uaChrome)
		assert.Equal(t, http.StatusBadRequest, status, q)
	}
	resp, err := site.Client().Post(site.URL, "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	n := e.emu.Calls(preAuthPath)
	e.emu.InjectFault(preAuthPath, wxtest.Fault{ErrCode: 61004})
	status, _ := open(t, site.Client(), site.URL, uaChrome)
	assert.Equal(t, http.StatusBadGateway, status)
	assert.Equal(t, n+1, e.emu.Calls(preAuthPath))
}

func TestIsWeChatMobile(t *testing.T) {
	assert.True(t, authlink.IsWeChatMobile(uaAndroidWx))
	assert.True(t, authlink.IsWeChatMobile("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 MicroMessenger/8.0.44"))
	assert.False(t, authlink.IsWeChatMobile(uaWindowsWx))
	assert.False(t, authlink.IsWeChatMobile("Mozilla/5.0 (Macintosh) MicroMessenger/3.8 MacWechat/3.8.7"))
	assert.False(t, authlink.IsWeChatMobile(uaChrome))
}

func TestQRCodePNGWithLogo(t *testing.T) {
	const link = "https://auth.example.com/wx/authorize?biz_appid=wx5555555555555555"
	logo := image.NewRGBA(image.Rect(0, 0, 64, 40))
	for y := 0; y < 40; y++ {
		for x := 0; x < 64; x++ {
			logo.Set(x, y, color.RGBA{R: 220, G: 30, B: 30, A: 255})
		}
	}
	img, err := authlink.QRCodePNG(link, 600, logo)
	require.NoError(t, err)
	pic, err := png.Decode(bytes.NewReader(img))
	require.NoError(t, err)
	assert.Equal(t, 600, pic.Bounds().Dx())
	r, g, _, _ := pic.At(300, 300).RGBA()
	assert.Equal(t, [2]uint32{220, 30}, [2]uint32{r >> 8, g >> 8}, "the logo is at the centre")
	text, err := qrtest.Decode(img)
	require.NoError(t, err)
	assert.Equal(t, link, text, "the code still reads with the logo over it")

	for _, c := range []struct {
		text string
		size int
	}{{"", 0}, {link, 100}, {link, 4000}, {strings.Repeat("x", 8000), 0}} {
		_, err := authlink.QRCodePNG(c.text, c.size, nil)
		assert.True(t, wxerr.IsValidation(err), "%d %d", len(c.text), c.size)
	}
}

func TestQRCodeHandler(t *testing.T) {
	const link = "https://auth.example.com/a"
	h, err := authlink.QRCodeHandler(link, 256, nil)
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/qr.png", nil))
	assert.Equal(t, "image/png", rec.Header().Get("Content-Type"))
	text, err := qrtest.Decode(rec.Body.Bytes())
	require.NoError(t, err)
	assert.Equal(t, link, text)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/qr.png", nil))
	assert.Zero(t, rec.Body.Len())
	_, err = authlink.QRCodeHandler("", 0, nil)
	assert.True(t, wxerr.IsValidation(err))
}

func TestTrialQRCode(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.emu.AddAuthorizer(wxtest.Authorizer{AppID: shop, MiniProgram: true})
	_, err := e.emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: shop})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /trial/{appid}", authlink.TrialQRCode(authlink.PlatformTrialQRCoders(e.p)))
	site := httptest.NewServer(mux)
	defer site.Close()

	get := func(target string) (int, string, []byte) {
		resp, err := site.Client().Get(site.URL + target)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b
	}
	status, _, body := get("/trial/" + shop)
	assert.Equal(t, http.StatusBadGateway, status, "nothing committed yet")
	assert.Contains(t, string(body), "86001")

	draft := e.emu.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "1.0.0", UserDesc: "shop"})
	require.NoError(t, e.p.Component().AddToTemplate(ctx, int64(draft), 0))
	ids := e.emu.TemplateIDs()
	mp := e.p.MiniProgram(shop)
	require.NoError(t, mp.Commit(ctx, miniprogram.CommitRequest{TemplateID: int64(ids[len(ids)-1]), ExtJSON: miniprogram.ExtJSON{}, UserVersion: "1.0.0", UserDesc: "v1"}))

	want, err := mp.QRCode(ctx, "pages/index/index?x=1")
	require.NoError(t, err)
	n := e.emu.Calls("/wxa/get_qrcode")
	for range 2 {
		status, ctype, body := get("/trial/" + shop + "?path=" + url.QueryEscape("pages/index/index?x=1"))
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "image/jpeg", ctype)
		assert.Equal(t, want, body, "the trial code of that page")
	}
	text, err := qrtest.Decode(want)
	require.NoError(t, err)
	assert.Equal(t, wxtest.TrialCodeContent(shop, "pages/index/index?x=1"), text)
	assert.Equal(t, "https://open.weixin.qq.com/sns/getexpappinfo?appid="+shop+"&path=pages%2Findex%2Findex.html%3Fx%3D1#wechat-redirect", text)
	assert.Equal(t, n+2, e.emu.Calls("/wxa/get_qrcode"), "fetched on every open")
	status, _, _ = get("/trial/x")
	assert.Equal(t, http.StatusBadRequest, status)
}

func TestHandlerBoundsPreAuthCodes(t *testing.T) {
	e := newEnv(t)
	h, err := authlink.New(authlink.Config{Component: e.p.Component(), RedirectURI: redirect, MaxPerMinute: 2})
	require.NoError(t, err)
	site := httptest.NewServer(h)
	defer site.Close()
	n := e.emu.Calls(preAuthPath)

	// A link preview's HEAD spends nothing.
	resp, err := site.Client().Head(site.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, n, e.emu.Calls(preAuthPath))

	for range 2 {
		status, _ := open(t, site.Client(), site.URL, uaChrome)
		require.Equal(t, http.StatusOK, status)
	}
	status, _ := open(t, site.Client(), site.URL, uaChrome)
	assert.Equal(t, http.StatusTooManyRequests, status, "the third open of the minute")
	assert.Equal(t, n+2, e.emu.Calls(preAuthPath))

	_, err = authlink.New(authlink.Config{Component: e.p.Component(), RedirectURI: redirect, MaxPerMinute: -1})
	assert.True(t, wxerr.IsValidation(err))
}
