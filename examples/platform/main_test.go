package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/internal/qrtest"
	"github.com/wxopen-go/wxopen/wxtest"
)

func TestWalkThrough(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	qr := filepath.Join(t.TempDir(), "qr.jpg")
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, config{QRCodePath: qr}), out.String())
	got := out.String()

	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^1\. WeChat pushed component_verify_ticket ticke…\(95 chars\) at \d\d:\d\d:\d\d; the handler stored it, valid for 12h\.$`),
		regexp.MustCompile(`(?m)^2\. Component access token 88_.{2}…\(89 chars\) fetched with that ticket, valid for 2h\.$`),
		regexp.MustCompile(`(?m)^   PC, scanned with WeChat: https://mp\.weixin\.qq\.com/cgi-bin/componentloginpage\?component_appid=wx3a7b1c9d5e2f4a60&pre_auth_code=preauthcode%40%40%40\w+&redirect_uri=https%3A%2F%2Fdinehub\.example%2Fwechat%2Fauthorized$`),
		regexp.MustCompile(`(?m)^   mobile, inside WeChat:   https://open\.weixin\.qq\.com/wxaopen/safe/bindcomponent\?action=bindcomponent&no_scan=1&component_appid=wx3a7b1c9d5e2f4a60&pre_auth_code=.+#wechat_redirect$`),
		regexp.MustCompile(`(?m)^4\. Noodle House \(wx6e0d15a1b2c3d4e5\) agreed → "authorized" push → the handler exchanged its code: 17 permission sets,$`),
		regexp.MustCompile(`(?m)^   access token 88_.{2}…\(89 chars\) valid for 2h; refresh token refre…\(58 chars\) kept in the credential store\.$`),
		regexp.MustCompile(`(?m)^5\. Authorizer info: "Noodle House" \(gh_[0-9a-f]{12}\), a mini program of "Noodle House Catering Co\., Ltd\.", categories 餐饮 > 中餐, 餐饮 > 点餐平台\.$`),
		regexp.MustCompile(`(?m)^6\. Open platform account wx[0-9a-f]{16} created for the mini program\. The merchant's official account wx6e0d15a1b2c3d4f6$`),
		regexp.MustCompile(`(?m)^7\. Code release\. Draft 1 \(v1\.0\.0, "DineHub online ordering"\) added to the template library as template 1\.$`),
		regexp.MustCompile(`(?m)^   Server domains set: request https://api\.dinehub\.example, upload and download https://img\.dinehub\.example\.$`),
		regexp.MustCompile(`(?m)^   Committed template 1 as v1\.0\.0 with ext \{"storeId":1024,"storeName":"Noodle House"\}; pages pages/index/index, pages/menu/menu, pages/order/order\.$`),
		regexp.MustCompile(`(?m)^   Submitted for audit under 餐饮 > 中餐: auditid \d+, reviewing\.$`),
		regexp.MustCompile(`(?m)^   Approved: weapp_audit_success pushed to /wechat/msg/wx6e0d15a1b2c3d4e5 at \d\d:\d\d:\d\d\.$`),
		regexp.MustCompile(`(?m)^   Released: v1\.0\.0 is live\.$`),
		regexp.MustCompile(`(?m)^9\. A diner logs in: wx\.login code → Login → openid oNH3x0V9tLq2mKc8bJ5sWd1yRfA7, unionid oTmHYjg2E6e7Lq4xN0bPz9Rk5sWd `),
		regexp.MustCompile(`(?m)^   Their encrypted profile, decrypted: 小面 from Chongqing; the watermark names wx6e0d15a1b2c3d4e5\.$`),
		regexp.MustCompile(`(?m)^10\. Member card p\w{27} created by the official account; cardExt signed for wx\.addCard in the mini program\.$`),
		regexp.MustCompile(`(?m)^    The diner added it: WeChat accepted the signature, and the card code \d{12} was decrypted\.$`),
		regexp.MustCompile(`(?m)^11\. A brand-new merchant, 拉面小馆餐饮有限公司, registered by the platform and taken to a released mini program:$`),
		regexp.MustCompile(`(?m)^     3\. readiness of the bare mini program \[8 WeChat calls\]\n        Closed: basic_info \(submit_audit 86002\), category \(submit_audit 85008\), icp_filing \(release 86362\), approved_audit \(release 85019\), commit \(submit_audit 85086\), domains \(runtime 0\)\.$`),
		regexp.MustCompile(`(?m)^     6\. ICP filing: look-up tables and documents \[7 WeChat calls\]\n        Status not filed; subject 企业, service 餐饮; 3 documents uploaded\.$`),
		regexp.MustCompile(`(?m)^     7\. ICP filing: administrator's face check → notify_icpfiling_verify_result \[1 WeChat call\]\n        notify_icpfiling_verify_result: the administrator passed\.$`),
		regexp.MustCompile(`(?m)^     8\. ICP filing: application → notify_apply_icpfiling_result \[2 WeChat calls\]\n        beian_status 2: platform review\.$`),
		regexp.MustCompile(`(?m)^    15\. readiness before submitting \[9 WeChat calls\]\n        Ready to submit; still closed: icp_filing \(release 86362\), approved_audit \(release 85019\)\.$`),
		regexp.MustCompile(`(?m)^    18\. ICP filing: WeChat's review, then the regulator's → filed \[1 WeChat call\]\n        Filed: record number 京ICP备\d{8}号-1X\.$`),
		regexp.MustCompile(`(?m)^    19\. grey release 10 %, then full release \[3 WeChat calls\]\n        getversioninfo: v1\.1\.0 is live \(Lamian Bar ordering\)\.$`),
		regexp.MustCompile(`(?m)^12\. Done\. The platform called 51 WeChat APIs, 82 calls in all`),
		regexp.MustCompile(`api_component_token 1, api_create_preauthcode 2, api_query_auth 3, api_get_authorizer_info 2, open/create 1, open/bind 1,`),
		regexp.MustCompile(`wxa/get_qrcode 1, sns/component/jscode2session 1, card/create 1, ticket/getticket 1, card/code/decrypt 1,\n    fastregisterweapp 1,`),
		regexp.MustCompile(`api_component_token once, the card api_ticket once,\n    api_authorizer_token 0 times`),
	} {
		assert.Regexp(t, want, got)
	}

	// The QR code is a real image, of the size printed.
	img, err := os.ReadFile(qr)
	require.NoError(t, err)
	_, err = jpeg.Decode(bytes.NewReader(img))
	require.NoError(t, err)
	text, err := qrtest.Decode(img)
	require.NoError(t, err)
	assert.Equal(t, wxtest.TrialCodeContent("wx6e0d15a1b2c3d4e5", "pages/menu/menu"), text, "it opens the menu page of the trial version")
	assert.Contains(t, got, fmt.Sprintf("8. Experience QR code (menu page) saved to %s (%d bytes).", qr, len(img)))

	assertNoSecrets(t, got)
}

// assertNoSecrets fails when out holds something shaped like a secret of the emulator: a whole
// token, ticket, refresh token or authorisation code, a session key, an AppSecret, a message token
// or an EncodingAESKey. Pre-auth codes are part of the printed authorisation URLs and are cut first.
func assertNoSecrets(t *testing.T, out string) {
	t.Helper()
	out = regexp.MustCompile(`pre_auth_code=[^&\s]*`).ReplaceAllString(out, "")
	for _, secret := range []*regexp.Regexp{
		regexp.MustCompile(`\d\d_[A-Za-z0-9_-]{10}`),  // access tokens: 88_ and 86 characters
		regexp.MustCompile(`@@@`),                     // tickets, refresh tokens, codes
		regexp.MustCompile(`[A-Za-z0-9+/]{22}==`),     // session keys
		regexp.MustCompile(`\b[0-9a-f]{32}\b`),        // the generated AppSecret
		regexp.MustCompile(`wxtest[0-9a-f]{16}`),      // the generated message token
		regexp.MustCompile(`[A-Za-z0-9_\-+/%@]{40,}`), // any other long opaque string (EncodingAESKey: 43)
	} {
		assert.NotRegexp(t, secret, out)
	}
}

func TestWalkThroughReportsAFailedStep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	qr := filepath.Join(t.TempDir(), "no-such-dir", "qr.jpg")
	var out bytes.Buffer
	err := run(ctx, &out, config{QRCodePath: qr})
	require.Error(t, err)
	assert.Contains(t, err.Error(), qr)
	assert.Contains(t, out.String(), "Released: v1.0.0 is live.", "every step before the QR code ran")
	assert.NotContains(t, out.String(), "8. ")
}

func TestWalkThroughStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, io.Discard, config{QRCodePath: filepath.Join(t.TempDir(), "qr.jpg")})
	require.ErrorIs(t, err, context.Canceled)
}

// env is a getenv over a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// fullEnv is a complete real-mode environment.
func fullEnv() map[string]string {
	return map[string]string{
		envAppID:  "wx1234567890abcdef",
		envSecret: "s3cr3t-app-secret-value",
		envToken:  "msg-token-value",
		envAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
	}
}

func TestLoadConfigEmulatorMode(t *testing.T) {
	var usage bytes.Buffer
	cfg, err := loadConfig(nil, env(nil), &usage)
	require.NoError(t, err)
	assert.Nil(t, cfg.Real)
	assert.Equal(t, filepath.Join(os.TempDir(), "wxopen-experience-qrcode.jpg"), cfg.QRCodePath)
	assert.Empty(t, usage.String())

	cfg, err = loadConfig([]string{"-qrcode", "/tmp/x.jpg"}, env(map[string]string{envListen: ":9000"}), &usage)
	require.NoError(t, err)
	assert.Nil(t, cfg.Real, "the optional variables alone do not select real mode")
	assert.Equal(t, "/tmp/x.jpg", cfg.QRCodePath)
}

func TestLoadConfigRealMode(t *testing.T) {
	e := fullEnv()
	cfg, err := loadConfig(nil, env(e), io.Discard)
	require.NoError(t, err)
	require.NotNil(t, cfg.Real)
	rc := *cfg.Real
	assert.Equal(t, "wx1234567890abcdef", rc.Platform.ComponentAppID)
	assert.Equal(t, e[envSecret], rc.Platform.AppSecret)
	assert.Equal(t, e[envToken], rc.Platform.Token)
	assert.Equal(t, e[envAESKey], rc.Platform.EncodingAESKey)
	assert.Equal(t, ":8080", rc.Listen)
	assert.Equal(t, "http://localhost:8080", rc.PublicURL)
	assert.Empty(t, rc.BaseURL)

	// Printing the configuration never shows a secret.
	for _, s := range []string{fmt.Sprint(rc), fmt.Sprintf("%+v", rc), fmt.Sprintf("%#v", cfg)} {
		for _, k := range []string{envSecret, envToken, envAESKey} {
			assert.NotContains(t, s, e[k])
		}
	}

	e[envListen] = "127.0.0.1:9000"
	e[envPublicURL] = "https://platform.example.com/"
	e[envBaseURL] = "http://proxy.internal:3128"
	cfg, err = loadConfig(nil, env(e), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9000", cfg.Real.Listen)
	assert.Equal(t, "https://platform.example.com", cfg.Real.PublicURL, "trailing slash dropped")
	assert.Equal(t, "http://proxy.internal:3128", cfg.Real.BaseURL)

	delete(e, envPublicURL)
	cfg, err = loadConfig(nil, env(e), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:9000", cfg.Real.PublicURL)
}

func TestLoadConfigRejects(t *testing.T) {
	partial := fullEnv()
	delete(partial, envToken)
	partial[envAESKey] = "   "
	blankSecret := fullEnv()
	blankSecret[envSecret] = ""
	with := func(k, v string) map[string]string {
		e := fullEnv()
		e[k] = v
		return e
	}
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want []string
	}{
		"partial environment": {env: partial, want: []string{
			"real mode needs all of WXOPEN_COMPONENT_APPID, WXOPEN_COMPONENT_SECRET, WXOPEN_TOKEN, WXOPEN_ENCODING_AES_KEY",
			"missing: WXOPEN_TOKEN, WXOPEN_ENCODING_AES_KEY", "unset them all"}},
		"only the appid":        {env: map[string]string{envAppID: "wx1234567890abcdef"}, want: []string{"missing: WXOPEN_COMPONENT_SECRET, WXOPEN_TOKEN, WXOPEN_ENCODING_AES_KEY"}},
		"empty secret":          {env: blankSecret, want: []string{"missing: WXOPEN_COMPONENT_SECRET"}},
		"listen without a port": {env: with(envListen, "8080"), want: []string{`WXOPEN_LISTEN="8080"`, "host:port"}},
		"relative public URL":   {env: with(envPublicURL, "platform.example.com"), want: []string{"WXOPEN_PUBLIC_URL", "absolute http(s) URL"}},
		"ftp base URL":          {env: with(envBaseURL, "ftp://proxy"), want: []string{"WXOPEN_BASE_URL", "absolute http(s) URL"}},
		"stray argument":        {args: []string{"serve"}, want: []string{`unexpected argument "serve"`}},
		"unknown flag":          {args: []string{"-listen", ":80"}, want: []string{"flag provided but not defined: -listen"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(tc.args, env(tc.env), io.Discard)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			for _, k := range []string{envSecret, envToken, envAESKey} {
				if v := strings.TrimSpace(tc.env[k]); v != "" {
					assert.NotContains(t, err.Error(), v, "a secret in the error")
				}
			}
		})
	}
}

func TestLoadConfigHelp(t *testing.T) {
	var usage bytes.Buffer
	_, err := loadConfig([]string{"-h"}, env(fullEnv()), &usage)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, want := range []string{"-qrcode", envAppID, envSecret, envToken, envAESKey, envListen, envPublicURL, envBaseURL, "emulator"} {
		assert.Contains(t, usage.String(), want)
	}
}

func TestServeRejectsABadConfigurationBeforeListening(t *testing.T) {
	e := fullEnv()
	e[envAESKey] = "too-short-key"
	e[envListen] = "127.0.0.1:0"
	cfg, err := loadConfig(nil, env(e), io.Discard)
	require.NoError(t, err, "loadConfig checks presence; wxopen.New checks the values")
	var out bytes.Buffer
	err = run(context.Background(), &out, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "platform configuration")
	assert.NotContains(t, err.Error(), e[envAESKey])
	assert.NotContains(t, err.Error(), e[envSecret])
	assert.Empty(t, out.String(), "nothing served")
}

// syncBuffer is a bytes.Buffer for one writer goroutine and a reading test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitFor waits until out contains want.
func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output never contained %q:\n%s", want, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freeAddr returns a loopback address nobody listens on right now, so that the emulator can be told
// where the platform will listen before it starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// Real mode, with the emulator standing in for WeChat through WXOPEN_BASE_URL.
func TestServeRealMode(t *testing.T) {
	emu := wxtest.NewTestServer(t)
	app := emu.Component()
	addr := freeAddr(t)
	base := "http://" + addr
	emu.SetEventURLs(base+authEventPath, base+messageURLPath)
	cfg, err := loadConfig(nil, env(map[string]string{
		envAppID: app.AppID, envSecret: app.AppSecret, envToken: app.Token, envAESKey: app.EncodingAESKey,
		envListen: addr, envPublicURL: "https://platform.example.com", envBaseURL: emu.URL,
	}), io.Discard)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, out, cfg) }()

	// It prints what to configure, asks WeChat for a ticket (api_start_push_ticket), and once the
	// pushed ticket is stored, prints an authorisation URL.
	waitFor(t, out, "Verify ticket stored. PC authorisation URL")
	got := out.String()
	for _, want := range []string{
		"Platform " + app.AppID + " listening on " + addr + ". Configure it on open.weixin.qq.com:",
		"authorisation event URL          https://platform.example.com/wechat/auth\n",
		"message and event URL            https://platform.example.com/wechat/msg/$APPID$\n",
		"authorisation initiation domain  platform.example.com\n",
		"Merchants authorise the platform from https://platform.example.com/wechat/start.",
		"Its QR code, to save and scan from WeChat: https://platform.example.com/wechat/start.png\n",
		"Waiting for WeChat's component_verify_ticket",
		"open it from a page of platform.example.com):\n  https://mp.weixin.qq.com/cgi-bin/componentloginpage?component_appid=" + app.AppID + "&pre_auth_code=",
		"&redirect_uri=https%3A%2F%2Fplatform.example.com%2Fwechat%2Fauthorized\n",
	} {
		assert.Contains(t, got, want)
	}
	assert.Equal(t, 1, emu.Calls("/cgi-bin/component/api_start_push_ticket"))

	// The start page links to a fresh authorisation URL; a merchant authorises with its code.
	resp, err := http.Get(base + startPath)
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(page))
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	link := regexp.MustCompile(`href="([^"]+)"`).FindSubmatch(page)
	require.NotNil(t, link, string(page))
	u, err := url.Parse(html.UnescapeString(string(link[1])))
	require.NoError(t, err)
	assert.Equal(t, "mp.weixin.qq.com", u.Host)
	const merchant = "wx00112233445566aa"
	_, err = emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: merchant, PreAuthCode: u.Query().Get("pre_auth_code")})
	require.NoError(t, err, "the pre-auth code of the start page is valid")
	waitFor(t, out, "merchant authorised the platform; tokens stored")
	assert.Contains(t, out.String(), "appid="+merchant)

	// The regular ticket pushes go on; the URL was printed once.
	_, err = emu.PushVerifyTicket(ctx)
	require.NoError(t, err)

	// The start page's QR code reads back as its URL.
	resp, err = http.Get(base + startQRPath)
	require.NoError(t, err)
	img, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "image/png", resp.Header.Get("Content-Type"))
	text, err := qrtest.Decode(img)
	require.NoError(t, err)
	assert.Equal(t, "https://platform.example.com/wechat/start", text)

	// Back from WeChat.
	resp, err = http.Get(base + authorizedPath + "?auth_code=x&expires_in=600")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 1, strings.Count(out.String(), "PC authorisation URL"))

	// SIGINT or SIGTERM cancel the context: a graceful stop, and run returns nil.
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
	assert.Contains(t, out.String(), "Shutting down.")
	_, err = http.Get(base + startPath)
	require.Error(t, err, "the server is closed")
	for _, secret := range []string{app.AppSecret, app.Token, app.EncodingAESKey} {
		assert.NotContains(t, out.String(), secret)
	}
}

func TestServeStartPageWithoutTicket(t *testing.T) {
	emu := wxtest.NewServer() // no event URLs: the ticket WeChat is asked for never arrives
	defer emu.Close()
	app := emu.Component()
	addr := freeAddr(t)
	cfg, err := loadConfig(nil, env(map[string]string{
		envAppID: app.AppID, envSecret: app.AppSecret, envToken: app.Token, envAESKey: app.EncodingAESKey,
		envListen: addr, envBaseURL: emu.URL,
	}), io.Discard)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, out, cfg) }()
	waitFor(t, out, "Waiting for WeChat's component_verify_ticket")

	resp, err := http.Get("http://" + addr + startPath)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Contains(t, string(body), "try again in a few minutes")
	waitFor(t, out, "no verify ticket yet")
	assert.Zero(t, emu.Calls("/cgi-bin/component/api_create_preauthcode"), "no request without a ticket")

	cancel()
	require.NoError(t, <-done)
	assert.NotContains(t, out.String(), "PC authorisation URL")
}

func TestServeFailsWhenTheAddressIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	e := fullEnv()
	e[envListen] = ln.Addr().String()
	cfg, err := loadConfig(nil, env(e), io.Discard)
	require.NoError(t, err)
	err = run(context.Background(), io.Discard, cfg)
	var opErr *net.OpError
	require.True(t, errors.As(err, &opErr), "%v", err)
}
