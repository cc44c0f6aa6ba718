package wxtest_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/internal/qrtest"
	"github.com/wxopen-go/wxopen/wxtest"
)

// image POSTs body and returns the answer's content type and bytes.
func (e *env) image(path, at string, body any) (string, []byte) {
	e.t.Helper()
	j, err := json.Marshal(body)
	require.NoError(e.t, err)
	resp, err := http.Post(e.s.URL+path+"?access_token="+url.QueryEscape(at), "application/json", bytes.NewReader(j))
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.Header.Get("Content-Type"), b
}

func TestCodesValidateLikeWeChat(t *testing.T) {
	e := newEnv(t)
	at, _ := e.authorize(e.componentToken(), miniApp)
	q := url.Values{"access_token": {at}}
	const unlimit, code, qr = "/wxa/getwxacodeunlimit", "/wxa/getwxacode", "/cgi-bin/wxaapp/createwxaqrcode"

	ctype, img := e.image(unlimit, at, map[string]any{"scene": "a=1", "check_path": false, "page": "pages/x/y"})
	require.Equal(t, "image/png", ctype)
	text, err := qrtest.Decode(img)
	require.NoError(t, err)
	assert.Equal(t, wxtest.UnlimitedCodeContent(miniApp, "pages/x/y", "a=1"), text)

	for name, c := range map[string]struct {
		path string
		body any
		want int
	}{
		"empty body":             {unlimit, "", 44002},
		"no scene":               {unlimit, map[string]any{"page": "p"}, 47001},
		"scene too long":         {unlimit, map[string]any{"scene": strings.Repeat("a", 33)}, 40169},
		"scene charset":          {unlimit, map[string]any{"scene": "a b"}, 40169},
		"page with slash":        {unlimit, map[string]any{"scene": "a", "page": "/pages/x", "check_path": false}, 41030},
		"page with query":        {unlimit, map[string]any{"scene": "a", "page": "pages/x?y=1", "check_path": false}, 41030},
		"page not released":      {unlimit, map[string]any{"scene": "a", "page": "pages/x"}, 41030},
		"check_path string":      {unlimit, map[string]any{"scene": "a", "check_path": "false"}, 47001},
		"width":                  {unlimit, map[string]any{"scene": "a", "width": 100}, 40097},
		"env_version":            {unlimit, map[string]any{"scene": "a", "env_version": "beta"}, 40097},
		"line_color range":       {unlimit, map[string]any{"scene": "a", "line_color": map[string]any{"r": 300, "g": 0, "b": 0}}, 40097},
		"line_color type":        {unlimit, map[string]any{"scene": "a", "line_color": map[string]any{"r": true}}, 47001},
		"getwxacode no path":     {code, map[string]any{"width": 430}, 47001},
		"getwxacode long path":   {code, map[string]any{"path": strings.Repeat("a", 1025)}, 40097},
		"createwxaqrcode long":   {qr, map[string]any{"path": strings.Repeat("a", 129)}, 40097},
		"createwxaqrcode width":  {qr, map[string]any{"path": "p", "width": 2000}, 40097},
		"createwxaqrcode nopath": {qr, map[string]any{}, 47001},
	} {
		requireCode(t, c.want, e.do(http.MethodPost, c.path, q, c.body), name)
	}

	// line_color as strings, as some SDKs send it.
	ctype, img = e.image(code, at, map[string]any{"path": "p?x=1", "line_color": map[string]any{"r": "200", "g": "0", "b": "0"}})
	require.Equal(t, "image/png", ctype)
	text, err = qrtest.Decode(img)
	require.NoError(t, err)
	assert.Equal(t, wxtest.CodeContent(miniApp, "p?x=1"), text)
}

func TestUsersValidateLikeWeChat(t *testing.T) {
	e := newEnv(t)
	at, _ := e.authorize(e.componentToken(), miniApp)
	q := url.Values{"access_token": {at}}
	requireCode(t, 47001, e.do(http.MethodPost, "/wxa/business/getuserphonenumber", q, map[string]any{}))
	requireCode(t, 40029, e.do(http.MethodPost, "/wxa/business/getuserphonenumber", q, map[string]any{"code": "nope"}))
	r := e.do(http.MethodPost, "/wxa/business/getuserphonenumber", q, map[string]any{"code": e.s.IssuePhoneCode(miniApp, "86", "13800000000")})
	requireCode(t, 0, r)
	assert.Equal(t, miniApp, r.obj("phone_info").obj("watermark").str("appid"))

	// Many expired codes are swept as new ones are issued.
	for range 200 {
		e.s.IssuePhoneCode(miniApp, "86", "1")
	}
	e.s.Advance(6 * time.Minute)
	fresh := e.s.IssuePhoneCode(miniApp, "86", "13900000000")
	requireCode(t, 0, e.do(http.MethodPost, "/wxa/business/getuserphonenumber", q, map[string]any{"code": fresh}))

	check := func(v url.Values) result {
		return e.do(http.MethodGet, "/wxa/checksession", v, nil)
	}
	requireCode(t, 40097, check(url.Values{"access_token": {at}, "openid": {"o"}}))
	requireCode(t, 40097, check(url.Values{"access_token": {at}, "openid": {"o"}, "signature": {"s"}, "sig_method": {"md5"}}))
	code := e.s.IssueLoginCode(miniApp, "oUSER")
	ct := e.componentToken()
	requireCode(t, 0, e.do(http.MethodGet, "/sns/component/jscode2session", url.Values{"appid": {miniApp}, "js_code": {code},
		"grant_type": {"authorization_code"}, "component_appid": {e.app.AppID}, "component_access_token": {ct}}, nil))
	key, ok := e.s.Session(miniApp, "oUSER")
	require.True(t, ok)
	m := hmac.New(sha256.New, []byte(key))
	sig := hex.EncodeToString(m.Sum(nil))
	requireCode(t, 0, check(url.Values{"access_token": {at}, "openid": {"oUSER"}, "signature": {sig}, "sig_method": {"hmac_sha256"}}))
	requireCode(t, 87009, check(url.Values{"access_token": {at}, "openid": {"oUSER"}, "signature": {flipLastHex(sig)}, "sig_method": {"hmac_sha256"}}))

	requireCode(t, 40097, e.do(http.MethodGet, "/wxa/getpaidunionid", q, nil))
	// An order is named by transaction_id, or by mch_id and out_trade_no together (digest 18.3): a half
	// pair, or both forms at once, is refused before any payment is looked up.
	e.s.RecordPayment(miniApp, wxtest.Payment{OpenID: "oUSER", TransactionID: "42001", MchID: "1900", OutTradeNo: "NO-1"})
	for _, bad := range []url.Values{
		{"mch_id": {"1900"}},
		{"out_trade_no": {"NO-1"}},
		{"transaction_id": {"42001"}, "mch_id": {"1900"}, "out_trade_no": {"NO-1"}},
	} {
		bad.Set("access_token", at)
		bad.Set("openid", "oUSER")
		requireCode(t, 40097, e.do(http.MethodGet, "/wxa/getpaidunionid", bad, nil))
	}
}

func TestSubscribeValidatesLikeWeChat(t *testing.T) {
	e := newEnv(t)
	cat := wxtest.Category{First: "餐饮", Second: "中餐"}
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: miniApp, MiniProgram: true, Categories: []wxtest.Category{cat}})
	at, _ := e.authorize(e.componentToken(), miniApp)
	q := url.Values{"access_token": {at}}
	tid := e.s.AddPublicTemplate(wxtest.PublicTemplate{Category: cat, Title: "提醒", LongTerm: true,
		Keywords: []wxtest.TemplateKeyword{{Name: "事项", Rule: "thing"}, {Name: "短语", Rule: "phrase"}}})

	titles := func(v url.Values) result {
		v.Set("access_token", at)
		return e.do(http.MethodGet, "/wxaapi/newtmpl/getpubtemplatetitles", v, nil)
	}
	requireCode(t, 40097, titles(url.Values{"ids": {"1"}, "start": {"0"}}))
	requireCode(t, 40097, titles(url.Values{"ids": {"x"}, "start": {"0"}, "limit": {"1"}}))
	requireCode(t, 40097, titles(url.Values{"ids": {"1"}, "start": {"0"}, "limit": {"31"}}))
	r := titles(url.Values{"ids": {"1"}, "start": {"5"}, "limit": {"1"}})
	requireCode(t, 0, r)
	assert.Equal(t, 0, r.num("count"))
	requireCode(t, 200014, e.do(http.MethodGet, "/wxaapi/newtmpl/getpubtemplatekeywords", url.Values{"access_token": {at}, "tid": {"99"}}, nil))

	add := func(body any) result { return e.do(http.MethodPost, "/wxaapi/newtmpl/addtemplate", q, body) }
	requireCode(t, 47001, add(map[string]any{"kidList": []int{1, 2}}))
	requireCode(t, 200020, add(map[string]any{"tid": tid, "kidList": []int{1}}))
	requireCode(t, 200020, add(map[string]any{"tid": tid, "kidList": []int{1, 1}}))
	requireCode(t, 40097, add(map[string]any{"tid": tid, "kidList": []int{1, 2}, "sceneDesc": strings.Repeat("字", 16)}))
	r = add(map[string]any{"tid": strconv.Itoa(tid), "kidList": []int{1, 2}}) // tid as a string
	requireCode(t, 0, r)
	id := r.str("priTmplId")
	for range 49 {
		requireCode(t, 0, add(map[string]any{"tid": tid, "kidList": []int{2, 1}}))
	}
	requireCode(t, 200012, add(map[string]any{"tid": tid, "kidList": []int{2, 1}}), "50 private templates at most")

	send := func(data map[string]string, extra map[string]any) result {
		d := map[string]any{}
		for k, v := range data {
			d[k] = map[string]string{"value": v}
		}
		body := map[string]any{"touser": "oUSER", "template_id": id, "data": d}
		for k, v := range extra {
			body[k] = v
		}
		return e.do(http.MethodPost, "/cgi-bin/message/subscribe/send", q, body)
	}
	ok := map[string]string{"thing1": "上课", "phrase2": "已完成"}
	requireCode(t, 40003, send(ok, nil), "oUSER never opened the mini program: unknown, not unsubscribed")
	const other = "wx2222222222222222"
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: other, MiniProgram: true, Categories: []wxtest.Category{cat}})
	e.s.AcceptSubscription(other, "oUSER", id)
	requireCode(t, 40003, send(ok, nil), "a user of another mini program: openids are per mini program")
	e.login(miniApp, "oUSER")
	requireCode(t, 43101, send(ok, nil), "a known user who did not accept the template")
	e.s.AcceptSubscription(miniApp, "oUSER", id)
	requireCode(t, 47003, send(map[string]string{"thing1": strings.Repeat("字", 21), "phrase2": "好"}, nil))
	requireCode(t, 47003, send(map[string]string{"thing1": "x", "phrase2": "太长了的短语"}, nil))
	requireCode(t, 40097, send(ok, map[string]any{"lang": "fr"}))
	requireCode(t, 40097, send(ok, map[string]any{"miniprogram_state": "prod"}))
	requireCode(t, 40003, e.do(http.MethodPost, "/cgi-bin/message/subscribe/send", q, map[string]any{"template_id": id}))
	for range 3 {
		requireCode(t, 0, send(ok, nil), "a long-term subscription is not used up")
	}
	assert.Len(t, e.s.SentSubscribeMessages(miniApp), 3)

	// page: a page of the version the message opens (41030), its query aside.
	requireCode(t, 41030, send(ok, map[string]any{"page": "pages/index/index"}), "nothing released")
	requireCode(t, 41030, send(ok, map[string]any{"page": "pages/index/index", "miniprogram_state": "trial"}), "nothing committed")
	e.releasePages(at, miniApp, "1.0.0", "pages/index/index", "pages/order/index")
	requireCode(t, 0, send(ok, map[string]any{"page": "pages/order/index?id=7"}))
	requireCode(t, 0, send(ok, map[string]any{"page": "pages/order/index", "miniprogram_state": "formal"}))
	for name, page := range map[string]string{"not released": "pages/missing/index?id=7", "leading slash": "/pages/order/index",
		"query only": "?id=7", "page of the query": "pages/x?pages/order/index"} {
		requireCode(t, 41030, send(ok, map[string]any{"page": page}), name)
	}
	e.commitPages(at, "1.1.0", "pages/index/index", "pages/new/index")
	requireCode(t, 0, send(ok, map[string]any{"page": "pages/new/index", "miniprogram_state": "trial"}), "the trial version has it")
	requireCode(t, 0, send(ok, map[string]any{"page": "pages/new/index", "miniprogram_state": "developer"}))
	requireCode(t, 41030, send(ok, map[string]any{"page": "pages/new/index"}), "the released version has not")
	requireCode(t, 41030, send(ok, map[string]any{"page": "pages/order/index", "miniprogram_state": "trial"}), "dropped by the last commit")
	assert.Len(t, e.s.SentSubscribeMessages(miniApp), 7, "refused sends are not recorded")
	requireCode(t, 40037, e.do(http.MethodPost, "/wxaapi/newtmpl/deltemplate", q, map[string]any{"priTmplId": "nope"}))

	// A number keyword takes digits only (digest 20: number ≤ 32 digits).
	requireCode(t, 0, e.do(http.MethodPost, "/wxaapi/newtmpl/deltemplate", q, map[string]any{"priTmplId": id}))
	ntid := e.s.AddPublicTemplate(wxtest.PublicTemplate{Category: cat, Title: "取号", LongTerm: true,
		Keywords: []wxtest.TemplateKeyword{{Name: "号码", Rule: "number"}, {Name: "事项", Rule: "thing"}}})
	r = add(map[string]any{"tid": ntid, "kidList": []int{1, 2}})
	requireCode(t, 0, r)
	id = r.str("priTmplId")
	e.s.AcceptSubscription(miniApp, "oUSER", id)
	requireCode(t, 47003, send(map[string]string{"number1": "A12", "thing2": "取餐"}, nil))
	requireCode(t, 0, send(map[string]string{"number1": "12.5", "thing2": "取餐"}, nil))
}

// login plays the user openID logging in to the mini program appID: wx.login, then jscode2session.
func (e *env) login(appID, openID string) {
	e.t.Helper()
	requireCode(e.t, 0, e.do(http.MethodGet, "/sns/component/jscode2session", url.Values{"appid": {appID},
		"js_code": {e.s.IssueLoginCode(appID, openID)}, "grant_type": {"authorization_code"}, "component_appid": {e.app.AppID},
		"component_access_token": {e.componentToken()}}, nil))
}

// commitPages commits a new code template with pages as the trial version of the mini program of the
// access token at, and waits for its privacy scan.
func (e *env) commitPages(at, version string, pages ...string) {
	e.t.Helper()
	ct := e.componentToken()
	draft := e.s.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: version, UserDesc: "template"})
	requireCode(e.t, 0, e.do(http.MethodPost, "/wxa/addtotemplate", tokenQuery("access_token", ct), map[string]int{"draft_id": draft}))
	ids := e.s.TemplateIDs()
	ext, err := json.Marshal(map[string]any{"pages": pages})
	require.NoError(e.t, err)
	q := url.Values{"access_token": {at}}
	requireCode(e.t, 0, e.do(http.MethodPost, "/wxa/commit", q, map[string]any{"template_id": ids[len(ids)-1], "ext_json": string(ext),
		"user_version": version, "user_desc": "v" + version}))
	e.s.Advance(wxtest.PrivacyScanTime)
	requireCode(e.t, 0, e.do(http.MethodGet, "/wxa/security/get_code_privacy_info", q, nil))
}

// releasePages commits pages, has them approved and releases them, for the mini program appID of the
// access token at.
func (e *env) releasePages(at, appID, version string, pages ...string) {
	e.t.Helper()
	e.commitPages(at, version, pages...)
	q := url.Values{"access_token": {at}}
	requireCode(e.t, 0, e.do(http.MethodPost, "/wxa/submit_audit", q, map[string]any{"item_list": []map[string]any{{"address": pages[0], "title": "首页"}}}))
	require.NoError(e.t, e.s.Audit(context.Background(), appID, true, ""))
	requireCode(e.t, 0, e.do(http.MethodPost, "/wxa/release", q, "{}"))
}

// flipLastHex changes the last hex digit of sig, so the result always differs from sig.
func flipLastHex(sig string) string {
	last := "0"
	if sig[len(sig)-1] == '0' {
		last = "1"
	}
	return sig[:len(sig)-1] + last
}
