package wxtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"image"
	"image/jpeg"
	"io"
	"mime/multipart"
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

// mpEnv is an emulator with a component token, one code template and an authorised mini program.
type mpEnv struct {
	*env
	ct       string // component access token
	tpl      int    // template id
	appID    string
	tok      string // the mini program's access token
	official string // an authorised official account
	offTok   string
}

const (
	mpAppID  = "wx00000000000000a1"
	offAppID = "wx00000000000000b1"
)

func newMPEnv(t *testing.T) *mpEnv {
	t.Helper()
	e := newEnv(t)
	ct := e.componentToken()
	draft := e.s.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "1.0.0", UserDesc: "shop template"})
	r := e.do(http.MethodPost, "/wxa/addtotemplate", tokenQuery("access_token", ct), map[string]int{"draft_id": draft})
	requireCode(t, 0, r)
	ids := e.s.TemplateIDs()
	require.Len(t, ids, 1)
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: mpAppID, MiniProgram: true, NickName: "测试店铺"})
	tok, _ := e.authorize(ct, mpAppID)
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: offAppID})
	offTok, _ := e.authorize(ct, offAppID)
	return &mpEnv{env: e, ct: ct, tpl: ids[0], appID: mpAppID, tok: tok, official: offAppID, offTok: offTok}
}

// advance moves the emulator clock and fetches fresh tokens (the old ones expired).
func (m *mpEnv) advance(d time.Duration) {
	m.t.Helper()
	m.s.Advance(d)
	m.ct = m.componentToken()
	m.tok, _ = m.authorize(m.ct, m.appID)
}

// call sends a request with the mini program's token.
func (m *mpEnv) call(method, path string, body any) result {
	m.t.Helper()
	return m.callQ(method, path, nil, body)
}

func (m *mpEnv) callQ(method, path string, q url.Values, body any) result {
	m.t.Helper()
	all := url.Values{"access_token": {m.tok}}
	for k, v := range q {
		all[k] = v
	}
	return m.do(method, path, all, body)
}

// commit commits the template; when WeChat accepts it, the test waits (on the emulator clock) for
// the privacy scan of the commit, as a platform must before submit_audit.
func (m *mpEnv) commit(version string, ext string) result {
	m.t.Helper()
	r := m.call(http.MethodPost, "/wxa/commit", map[string]any{
		"template_id": m.tpl, "ext_json": ext, "user_version": version, "user_desc": "desc " + version,
	})
	if r.code() == 0 {
		m.waitScan()
	}
	return r
}

// waitScan polls get_code_privacy_info until the privacy scan of the last commit is finished.
func (m *mpEnv) waitScan() {
	m.t.Helper()
	requireCode(m.t, 61039, m.call(http.MethodGet, "/wxa/security/get_code_privacy_info", nil))
	m.s.Advance(wxtest.PrivacyScanTime)
	requireCode(m.t, 0, m.call(http.MethodGet, "/wxa/security/get_code_privacy_info", nil))
}

func (m *mpEnv) submit() int64 {
	m.t.Helper()
	r := m.call(http.MethodPost, "/wxa/submit_audit", map[string]any{"item_list": []map[string]any{{"address": "pages/index/index", "title": "首页"}}})
	requireCode(m.t, 0, r)
	id := int64(r["auditid"].(float64))
	require.NotZero(m.t, id)
	return id
}

func (m *mpEnv) latest() result {
	m.t.Helper()
	r := m.call(http.MethodGet, "/wxa/get_latest_auditstatus", nil)
	requireCode(m.t, 0, r)
	return r
}

// get fetches path raw, for the QR code.
func (m *mpEnv) getRaw(path string, q url.Values) (string, []byte) {
	m.t.Helper()
	q.Set("access_token", m.tok)
	resp, err := http.Get(m.s.URL + path + "?" + q.Encode())
	require.NoError(m.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(m.t, err)
	require.Equal(m.t, http.StatusOK, resp.StatusCode)
	return resp.Header.Get("Content-Type"), b
}

func TestReleasePipeline(t *testing.T) {
	m := newMPEnv(t)
	ctx := context.Background()

	requireCode(t, 85019, m.call(http.MethodPost, "/wxa/release", "{}"), "release before any audit")
	requireCode(t, 85086, m.call(http.MethodPost, "/wxa/submit_audit", "{}"), "submit before commit")

	ext := `{"extAppid":"` + mpAppID + `","ext":{"shop":"1"},"pages":["pages/index/index","pages/me/me"],"tabBar":{"list":[{"pagePath":"pages/me/me"}]}}`
	requireCode(t, 0, m.commit("1.0.0", ext))
	r := m.call(http.MethodGet, "/wxa/get_page", nil)
	requireCode(t, 0, r)
	assert.Equal(t, []any{"pages/index/index", "pages/me/me"}, r["page_list"])

	id := m.submit()
	r = m.call(http.MethodPost, "/wxa/get_auditstatus", map[string]any{"auditid": id})
	requireCode(t, 0, r)
	assert.Equal(t, 2, r.num("status"))
	assert.Equal(t, "1.0.0", r.str("user_version"))
	requireCode(t, 85009, m.call(http.MethodPost, "/wxa/submit_audit", "{}"), "one audit at a time")
	requireCode(t, 85020, m.call(http.MethodPost, "/wxa/release", "{}"), "release while under review")

	// Rejected.
	require.NoError(t, m.s.Audit(ctx, mpAppID, false, "页面空白<br>请补充"))
	ev := m.rx.last()
	assert.Equal(t, "/msg/"+mpAppID+"/cb", ev.Path)
	assert.Equal(t, "weapp_audit_fail", ev.Fields["Event"])
	assert.Equal(t, "event", ev.Fields["MsgType"])
	assert.Equal(t, "页面空白<br>请补充", ev.Fields["Reason"])
	assert.NotEmpty(t, ev.Fields["ScreenShot"])
	assert.NotEmpty(t, ev.Fields["FailTime"])
	info, _ := m.s.Authorizer(mpAppID)
	assert.Equal(t, info.UserName, ev.Fields["ToUserName"])
	r = m.latest()
	assert.Equal(t, 1, r.num("status"))
	assert.Equal(t, ev.Fields["ScreenShot"], r.str("ScreenShot"))
	assert.Equal(t, "页面空白<br>请补充", r.str("reason"))
	assert.Equal(t, float64(id), r["auditid"])
	requireCode(t, 85020, m.call(http.MethodPost, "/wxa/release", "{}"), "release after a rejection")
	require.Error(t, m.s.Audit(ctx, mpAppID, true, ""), "nothing under review any more")

	// Approved.
	id2 := m.submit()
	assert.Greater(t, id2, id)
	require.NoError(t, m.s.Audit(ctx, mpAppID, true, ""))
	ev = m.rx.last()
	assert.Equal(t, "weapp_audit_success", ev.Fields["Event"])
	assert.NotEmpty(t, ev.Fields["SuccTime"])
	assert.Equal(t, 0, m.latest().num("status"))
	requireCode(t, 44002, m.call(http.MethodPost, "/wxa/release", ""), "release needs the body {}")
	requireCode(t, 0, m.call(http.MethodPost, "/wxa/release", "{}"))
	requireCode(t, 85052, m.call(http.MethodPost, "/wxa/release", "{}"))
	rel, ok := m.s.Released(mpAppID)
	require.True(t, ok)
	assert.Equal(t, wxtest.Release{TemplateID: m.tpl, ExtJSON: ext, UserVersion: "1.0.0", UserDesc: "desc 1.0.0", AppVersion: 1}, rel)

	// A second version, then revert to the first.
	requireCode(t, 0, m.commit("1.1.0", ""))
	m.submit()
	require.NoError(t, m.s.Audit(ctx, mpAppID, true, ""))
	requireCode(t, 0, m.call(http.MethodPost, "/wxa/release", "{}"))
	rel, _ = m.s.Released(mpAppID)
	assert.Equal(t, "1.1.0", rel.UserVersion)
	r = m.callQ(http.MethodGet, "/wxa/revertcoderelease", url.Values{"action": {"get_history_version"}}, nil)
	requireCode(t, 0, r)
	list := r["version_list"].([]any)
	require.Len(t, list, 1)
	assert.Equal(t, "1.0.0", list[0].(map[string]any)["user_version"])
	requireCode(t, 0, m.call(http.MethodGet, "/wxa/revertcoderelease", nil))
	rel, _ = m.s.Released(mpAppID)
	assert.Equal(t, "1.0.0", rel.UserVersion)
	requireCode(t, 87012, m.call(http.MethodGet, "/wxa/revertcoderelease", nil))
}

func TestAuditDelayUndoAndLimits(t *testing.T) {
	m := newMPEnv(t)
	ctx := context.Background()
	requireCode(t, 85019, m.call(http.MethodGet, "/wxa/undocodeaudit", nil))
	requireCode(t, 85012, m.call(http.MethodGet, "/wxa/get_latest_auditstatus", nil))
	requireCode(t, 85012, m.call(http.MethodPost, "/wxa/get_auditstatus", map[string]any{"auditid": 1}))
	requireCode(t, 47001, m.call(http.MethodPost, "/wxa/get_auditstatus", "{}"))
	require.Error(t, m.s.Audit(ctx, mpAppID, true, ""))

	requireCode(t, 0, m.commit("1", ""))
	m.submit()
	require.NoError(t, m.s.DelayAudit(ctx, mpAppID, "more checks"))
	assert.Equal(t, "weapp_audit_delay", m.rx.last().Fields["Event"])
	assert.Equal(t, 4, m.latest().num("status"))
	requireCode(t, 85009, m.call(http.MethodPost, "/wxa/submit_audit", "{}"))
	requireCode(t, 0, m.call(http.MethodGet, "/wxa/undocodeaudit", nil))
	assert.Equal(t, 3, m.latest().num("status"))
	requireCode(t, 85021, m.call(http.MethodGet, "/wxa/undocodeaudit", nil), "nothing under review")
	requireCode(t, 85020, m.call(http.MethodPost, "/wxa/release", "{}"), "a withdrawn audit cannot be released")

	for i := 0; i < 4; i++ {
		m.submit()
		requireCode(t, 0, m.call(http.MethodGet, "/wxa/undocodeaudit", nil))
	}
	m.submit()
	requireCode(t, 87013, m.call(http.MethodGet, "/wxa/undocodeaudit", nil), "5 withdrawals a day")
	m.advance(24 * time.Hour)
	requireCode(t, 0, m.call(http.MethodGet, "/wxa/undocodeaudit", nil), "a new day")
}

func TestSubmitAuditItems(t *testing.T) {
	m := newMPEnv(t)
	requireCode(t, 0, m.commit("1", ""))
	sub := func(items any) result {
		return m.call(http.MethodPost, "/wxa/submit_audit", map[string]any{"item_list": items})
	}
	requireCode(t, 85023, sub([]any{}))
	six := make([]map[string]any, 6)
	for i := range six {
		six[i] = map[string]any{"address": "pages/index/index"}
	}
	requireCode(t, 85023, sub(six))
	requireCode(t, 85007, sub([]map[string]any{{"address": "pages/nope"}}))
	requireCode(t, 85008, sub([]map[string]any{{"first_class": "金融", "second_class": "银行"}}))

	cats := m.call(http.MethodGet, "/wxa/get_category", nil)
	requireCode(t, 0, cats)
	list := cats["category_list"].([]any)
	require.Len(t, list, 1)
	c := list[0].(map[string]any)
	assert.Equal(t, "工具", c["first_class"])
	requireCode(t, 85008, sub([]map[string]any{{"first_id": c["first_id"], "second_id": 1}}))
	requireCode(t, 0, sub([]map[string]any{{"first_id": c["first_id"], "second_id": c["second_id"], "address": "pages/index/index"}}))
}

func TestCommitRules(t *testing.T) {
	m := newMPEnv(t)
	body := func(mut func(b map[string]any)) map[string]any {
		b := map[string]any{"template_id": m.tpl, "ext_json": "{}", "user_version": "1", "user_desc": "d"}
		mut(b)
		return b
	}
	for _, tc := range []struct {
		code int
		mut  func(b map[string]any)
	}{
		{47001, func(b map[string]any) { delete(b, "template_id") }},
		{85014, func(b map[string]any) { b["template_id"] = 999 }},
		{0, func(b map[string]any) { b["template_id"] = strconv.Itoa(m.tpl) }},
		{47001, func(b map[string]any) { b["ext_json"] = map[string]any{"extAppid": mpAppID} }},
		{85048, func(b map[string]any) { b["ext_json"] = "{not json" }},
		{85048, func(b map[string]any) { b["ext_json"] = "[1]" }},
		{85013, func(b map[string]any) { b["ext_json"] = `{"extAppid":"wx1111111111111111"}` }},
		{85047, func(b map[string]any) { b["ext_json"] = `{"pages":[]}` }},
		{85045, func(b map[string]any) { b["ext_json"] = `{"pages":["a"],"extPages":{"b":{}}}` }},
		{85046, func(b map[string]any) { b["ext_json"] = `{"pages":["a"],"tabBar":{"list":[{"text":"x"}]}}` }},
		{40097, func(b map[string]any) { b["user_version"] = strings.Repeat("v", 65) }},
		{0, func(b map[string]any) { b["user_version"] = strings.Repeat("版", 64) }},
		{47001, func(b map[string]any) { delete(b, "user_version") }},
		{47001, func(b map[string]any) { delete(b, "user_desc") }},
		{47001, func(b map[string]any) { delete(b, "ext_json") }}, // required (API digest 6.1)
	} {
		requireCode(t, tc.code, m.call(http.MethodPost, "/wxa/commit", body(tc.mut)), body(tc.mut))
	}
	requireCode(t, 44002, m.call(http.MethodPost, "/wxa/commit", ""))

	// An official account cannot commit.
	r := m.do(http.MethodPost, "/wxa/commit", url.Values{"access_token": {m.offTok}}, body(func(map[string]any) {}))
	requireCode(t, 85015, r)
	// Without a token.
	requireCode(t, 41001, m.do(http.MethodPost, "/wxa/commit", nil, body(func(map[string]any) {})))
}

func TestStandardTemplateExtJSON(t *testing.T) {
	m := newMPEnv(t)
	draft := m.s.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "std"})
	requireCode(t, 0, m.do(http.MethodPost, "/wxa/addtotemplate", tokenQuery("access_token", m.ct), map[string]int{"draft_id": draft, "template_type": 1}))
	ids := m.s.TemplateIDs()
	std := ids[len(ids)-1]
	commit := func(ext string) result {
		return m.call(http.MethodPost, "/wxa/commit", map[string]any{"template_id": std, "ext_json": ext, "user_version": "1", "user_desc": "d"})
	}
	requireCode(t, 85013, commit(`{"extAppid":"`+mpAppID+`","pages":["a"]}`))
	requireCode(t, 0, commit(`{"extAppid":"`+mpAppID+`","ext":{"a":1},"window":{}}`))
}

func TestQRCode(t *testing.T) {
	m := newMPEnv(t)
	ct, body := m.getRaw("/wxa/get_qrcode", url.Values{})
	assert.Contains(t, ct, "json")
	var r result
	require.NoError(t, json.Unmarshal(body, &r))
	requireCode(t, 86001, r)

	requireCode(t, 0, m.commit("1", ""))
	ct, img := m.getRaw("/wxa/get_qrcode", url.Values{})
	assert.Equal(t, "image/jpeg", ct)
	decoded, err := jpeg.Decode(bytes.NewReader(img))
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 430, 430), decoded.Bounds())
	text, err := qrtest.Decode(img)
	require.NoError(t, err)
	assert.Equal(t, "https://open.weixin.qq.com/sns/getexpappinfo?appid="+mpAppID+"#wechat-redirect", text, "the home page")
	assert.Equal(t, wxtest.TrialCodeContent(mpAppID, ""), text)

	_, img2 := m.getRaw("/wxa/get_qrcode", url.Values{"path": {"pages/index/index?x=1&y=2"}})
	text, err = qrtest.Decode(img2)
	require.NoError(t, err)
	assert.Equal(t, "https://open.weixin.qq.com/sns/getexpappinfo?appid="+mpAppID+"&path=pages%2Findex%2Findex.html%3Fx%3D1%26y%3D2#wechat-redirect", text)
	assert.Equal(t, wxtest.TrialCodeContent(mpAppID, "pages/index/index?x=1&y=2"), text)
	_, img3 := m.getRaw("/wxa/get_qrcode", url.Values{"path": {"pages/me/me"}})
	text, err = qrtest.Decode(img3)
	require.NoError(t, err)
	assert.Equal(t, "https://open.weixin.qq.com/sns/getexpappinfo?appid="+mpAppID+"&path=pages%2Fme%2Fme.html#wechat-redirect", text)

	requireCode(t, 0, m.commit("2", ""))
	_, img4 := m.getRaw("/wxa/get_qrcode", url.Values{})
	assert.Equal(t, img, img4, "the code opens the trial version, whichever it is now")
}

func TestModifyDomain(t *testing.T) {
	m := newMPEnv(t)
	md := func(body any) result { return m.call(http.MethodPost, "/wxa/modify_domain", body) }
	requireCode(t, 0, md(map[string]any{"action": "get"}))
	requireCode(t, 85017, md(map[string]any{"action": "add", "requestdomain": []string{"https://api.shop.example"}}), "no platform domains")
	m.s.SetPlatformDomains([]string{"shop.example", "https://ws.chat.example:8443"}, nil)

	r := md(map[string]any{"action": "add", "requestdomain": []string{"https://api.shop.example", "https://1.2.3.4", "http://shop.example"},
		"wsrequestdomain": []string{"wss://ws.chat.example:8443"}})
	requireCode(t, 0, r)
	assert.Equal(t, []any{"https://api.shop.example"}, r["requestdomain"])
	assert.Equal(t, []any{"https://1.2.3.4", "http://shop.example"}, r["invalid_requestdomain"])
	assert.Equal(t, []any{"wss://ws.chat.example:8443"}, r["wsrequestdomain"])
	assert.Equal(t, []any{}, r["tcpdomain"])
	assert.Equal(t, []any{}, r["no_icp_domain"])
	info, _ := m.s.Authorizer(mpAppID)
	assert.Equal(t, []string{"https://api.shop.example"}, info.Network.RequestDomain, "api_get_authorizer_info sees the change")

	requireCode(t, 85018, md(map[string]any{"action": "add", "requestdomain": []string{"https://evil.example"}}))
	requireCode(t, 85018, md(map[string]any{"action": "add", "wsrequestdomain": []string{"wss://ws.chat.example"}}), "the port must match")
	requireCode(t, 85017, md(map[string]any{"action": "add", "requestdomain": []string{"https://api.shop.example"}}), "nothing new")
	requireCode(t, 0, md(map[string]any{"action": "add", "uploaddomain": []string{"https://up.shop.example"}, "tcpdomain": []string{"tcp://t.shop.example"}}))
	r = md(map[string]any{"action": "delete", "requestdomain": []string{"https://api.shop.example"}})
	requireCode(t, 0, r)
	assert.Equal(t, []any{}, r["requestdomain"])
	assert.Equal(t, []any{"https://up.shop.example"}, r["uploaddomain"])
	requireCode(t, 85017, md(map[string]any{"action": "delete", "requestdomain": []string{"https://api.shop.example"}}))

	r = md(map[string]any{"action": "set", "downloaddomain": []string{"https://dl.shop.example"}})
	requireCode(t, 0, r)
	assert.Equal(t, []any{"https://dl.shop.example"}, r["downloaddomain"])
	assert.Equal(t, []any{}, r["uploaddomain"], "set replaces every list")
	assert.Equal(t, []any{}, r["tcpdomain"])
	r = md(map[string]any{"action": "get"})
	assert.Equal(t, []any{"https://dl.shop.example"}, r["downloaddomain"])

	many := make([]string, 201)
	for i := range many {
		many[i] = "https://d" + strconv.Itoa(i) + ".shop.example"
	}
	requireCode(t, 85016, md(map[string]any{"action": "set", "requestdomain": many}))
	requireCode(t, 40097, md(map[string]any{"action": "replace"}))
	requireCode(t, 47001, md(map[string]any{}))
	requireCode(t, 85015, m.do(http.MethodPost, "/wxa/modify_domain", url.Values{"access_token": {m.offTok}}, map[string]any{"action": "get"}))
}

func TestWebviewDomain(t *testing.T) {
	m := newMPEnv(t)
	wd := func(body any) result { return m.call(http.MethodPost, "/wxa/setwebviewdomain", body) }
	requireCode(t, 89020, wd(map[string]any{"action": "add", "webviewdomain": []string{"https://h5.shop.example"}}))
	m.s.SetPlatformDomains(nil, []string{"shop.example"})
	r := wd(map[string]any{"action": "add", "webviewdomain": []string{"https://h5.shop.example"}})
	requireCode(t, 0, r)
	assert.Equal(t, []any{"https://h5.shop.example"}, r["webviewdomain"])
	requireCode(t, 89019, wd(map[string]any{"action": "add", "webviewdomain": []string{"https://h5.shop.example"}}))
	requireCode(t, 89021, wd(map[string]any{"action": "add", "webviewdomain": []string{"https://other.example"}}))
	r = wd(map[string]any{"action": "get"})
	requireCode(t, 0, r)
	assert.Equal(t, []any{"https://h5.shop.example"}, r["webviewdomain"])
	r = wd(map[string]any{"action": "set", "webviewdomain": []string{}})
	requireCode(t, 0, r)
	assert.Equal(t, []any{}, r["webviewdomain"])
	many := make([]string, 101)
	for i := range many {
		many[i] = "https://h" + strconv.Itoa(i) + ".shop.example"
	}
	requireCode(t, 89029, wd(map[string]any{"action": "set", "webviewdomain": many}))
}

// upload sends a media/upload for the mini program.
func (m *mpEnv) upload(typ, filename string, data []byte) result {
	m.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if filename != "" {
		part, err := w.CreateFormFile("media", filename)
		require.NoError(m.t, err)
		_, _ = part.Write(data)
	}
	require.NoError(m.t, w.Close())
	q := url.Values{"access_token": {m.tok}}
	if typ != "" {
		q.Set("type", typ)
	}
	req, err := http.NewRequest(http.MethodPost, m.s.URL+"/cgi-bin/media/upload?"+q.Encode(), &b)
	require.NoError(m.t, err)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(m.t, err)
	defer resp.Body.Close()
	var r result
	require.NoError(m.t, json.NewDecoder(resp.Body).Decode(&r))
	return r
}

var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

func padTo(b []byte, n int) []byte {
	out := make([]byte, n)
	copy(out, b)
	return out
}

func TestBasicInfo(t *testing.T) {
	m := newMPEnv(t)
	// Media.
	r := m.upload("image", "a.gif", padTo(pngHeader, 100))
	requireCode(t, 0, r)
	assert.Equal(t, "image", r.str("type"))
	media := r.str("media_id")
	require.NotEmpty(t, media)
	requireCode(t, 40005, m.upload("image", "a.png", []byte("this is text")))
	requireCode(t, 40004, m.upload("file", "a.png", pngHeader))
	requireCode(t, 40004, m.upload("", "a.png", pngHeader))
	requireCode(t, 41005, m.upload("image", "", nil))
	requireCode(t, 0, m.upload("voice", "a.amr", []byte("#!AMR")))

	// Head image.
	head := func(id string, crop ...string) result {
		b := map[string]any{"head_img_media_id": id, "x1": "0", "y1": "0", "x2": "1", "y2": "1"}
		if len(crop) == 4 {
			b["x1"], b["y1"], b["x2"], b["y2"] = crop[0], crop[1], crop[2], crop[3]
		}
		return m.call(http.MethodPost, "/cgi-bin/account/modifyheadimage", b)
	}
	requireCode(t, 40007, head("nope"))
	requireCode(t, 40097, head(media, "0.5", "0", "0.5", "1"))
	requireCode(t, 40097, head(media, "0", "0", "1.5", "1"))
	requireCode(t, 47001, m.call(http.MethodPost, "/cgi-bin/account/modifyheadimage", map[string]any{"head_img_media_id": media}))
	big := m.upload("image", "big.png", padTo(pngHeader, 2<<20+1))
	requireCode(t, 0, big)
	requireCode(t, 40006, head(big.str("media_id")))
	exact := m.upload("image", "exact.png", padTo(pngHeader, 2<<20))
	requireCode(t, 0, head(exact.str("media_id")))
	for i := 0; i < 4; i++ {
		requireCode(t, 0, head(media, "0.1", "0.1", "0.9", "0.9"))
	}
	requireCode(t, 85049, head(media), "5 changes")

	// Signature.
	sig := func(s string) result {
		return m.call(http.MethodPost, "/cgi-bin/account/modifysignature", map[string]string{"signature": s})
	}
	requireCode(t, 85036, sig("简介太"))
	requireCode(t, 85036, sig(strings.Repeat("介", 121)))
	requireCode(t, 0, sig(strings.Repeat("介", 120)))
	requireCode(t, 0, sig("新的简介"))

	// Nickname.
	nick := func(b map[string]any) result { return m.call(http.MethodPost, "/wxa/setnickname", b) }
	requireCode(t, 85030, nick(map[string]any{"nick_name": "店a"}))
	requireCode(t, 85030, nick(map[string]any{"nick_name": "一二三四五六七八九十abcdefghijk"}))
	requireCode(t, 85031, nick(map[string]any{"nick_name": "我的小程序"}))
	m.s.AddAuthorizer(wxtest.Authorizer{AppID: "wx00000000000000c1", MiniProgram: true, NickName: "已被占用"})
	requireCode(t, 85029, nick(map[string]any{"nick_name": "已被占用"}))
	requireCode(t, 40007, nick(map[string]any{"nick_name": "店ab", "license": "nope"}))
	r = nick(map[string]any{"nick_name": "一二三四五六七八九十abcdefghij", "license": media})
	requireCode(t, 0, r)
	assert.NotZero(t, r.num("audit_id"))
	r = nick(map[string]any{"nick_name": "店ab"})
	requireCode(t, 0, r)
	assert.Zero(t, r.num("audit_id"))
	requireCode(t, 91002, nick(map[string]any{"nick_name": "第三个名字"}), "two renames")

	bi := m.call(http.MethodGet, "/cgi-bin/account/getaccountbasicinfo", nil)
	requireCode(t, 0, bi)
	assert.Equal(t, mpAppID, bi.str("appid"))
	assert.Equal(t, "店ab", bi.str("nickname"))
	assert.Equal(t, "店ab", bi.obj("nickname_info").str("nickname"))
	assert.Equal(t, 2, bi.obj("nickname_info").num("modify_used_count"))
	assert.Equal(t, "新的简介", bi.obj("signature_info").str("signature"))
	assert.Equal(t, 2, bi.obj("signature_info").num("modify_used_count"))
	assert.Contains(t, bi.obj("head_image_info").str("head_image_url"), media)
	assert.Equal(t, 5, bi.obj("head_image_info").num("modify_used_count"))
	info, _ := m.s.Authorizer(mpAppID)
	assert.Equal(t, "店ab", info.NickName)
	assert.Equal(t, "新的简介", info.Signature)
}

func TestNicknameAfterRelease(t *testing.T) {
	m := newMPEnv(t)
	requireCode(t, 0, m.commit("1", ""))
	m.submit()
	require.NoError(t, m.s.Audit(context.Background(), mpAppID, true, ""))
	requireCode(t, 0, m.call(http.MethodPost, "/wxa/release", "{}"))
	requireCode(t, 91002, m.call(http.MethodPost, "/wxa/setnickname", map[string]any{"nick_name": "新名字啊"}))
}

func TestMediaExpires(t *testing.T) {
	m := newMPEnv(t)
	r := m.upload("image", "a.png", padTo(pngHeader, 64))
	m.advance(73 * time.Hour)
	requireCode(t, 40007, m.call(http.MethodPost, "/cgi-bin/account/modifyheadimage",
		map[string]any{"head_img_media_id": r.str("media_id"), "x1": "0", "y1": "0", "x2": "1", "y2": "1"}))
}

func TestOpenAccount(t *testing.T) {
	m := newMPEnv(t)
	open := func(tok, path string, body any) result {
		return m.do(http.MethodPost, path, url.Values{"access_token": {tok}}, body)
	}
	requireCode(t, 89002, open(m.tok, "/cgi-bin/open/get", map[string]string{"appid": mpAppID}))
	requireCode(t, 40013, open(m.tok, "/cgi-bin/open/create", map[string]string{"appid": offAppID}))
	r := open(m.tok, "/cgi-bin/open/create", map[string]string{"appid": mpAppID})
	requireCode(t, 0, r)
	openID := r.str("open_appid")
	require.NotEmpty(t, openID)
	requireCode(t, 89000, open(m.tok, "/cgi-bin/open/create", map[string]string{"appid": mpAppID}))
	r = open(m.tok, "/cgi-bin/open/get", map[string]string{"appid": mpAppID})
	requireCode(t, 0, r)
	assert.Equal(t, openID, r.str("open_appid"))
	got, ok := m.s.OpenAccount(mpAppID)
	assert.True(t, ok)
	assert.Equal(t, openID, got)

	// The official account of the same subject binds; a second bind is 89000.
	requireCode(t, 0, open(m.offTok, "/cgi-bin/open/bind", map[string]string{"appid": offAppID, "open_appid": openID}))
	requireCode(t, 89000, open(m.offTok, "/cgi-bin/open/bind", map[string]string{"appid": offAppID, "open_appid": openID}))
	requireCode(t, 40013, open(m.offTok, "/cgi-bin/open/bind", map[string]string{"appid": offAppID, "open_appid": "wx9999999999999999"}))
	requireCode(t, 47001, open(m.offTok, "/cgi-bin/open/bind", map[string]string{"appid": offAppID}))

	// Another subject: 89001.
	m.s.AddAuthorizer(wxtest.Authorizer{AppID: "wx00000000000000d1", MiniProgram: true, PrincipalName: "Other Co."})
	otherTok, _ := m.authorize(m.ct, "wx00000000000000d1")
	requireCode(t, 89001, open(otherTok, "/cgi-bin/open/bind", map[string]string{"appid": "wx00000000000000d1", "open_appid": openID}))

	// Unbind, then get says not bound.
	requireCode(t, 89002, open(otherTok, "/cgi-bin/open/unbind", map[string]string{"appid": "wx00000000000000d1", "open_appid": openID}))
	requireCode(t, 0, open(m.offTok, "/cgi-bin/open/unbind", map[string]string{"appid": offAppID, "open_appid": openID}))
	requireCode(t, 89002, open(m.offTok, "/cgi-bin/open/get", map[string]string{"appid": offAppID}))

	// An unverified open account takes at most 5 mini programs.
	for i := 2; i <= 6; i++ {
		id := "wx00000000000000e" + strconv.Itoa(i)
		tok, _ := m.authorize(m.ct, id)
		want := 0
		if i == 6 {
			want = 89004
		}
		requireCode(t, want, open(tok, "/cgi-bin/open/bind", map[string]string{"appid": id, "open_appid": openID}), id)
	}
}

func TestFastRegistration(t *testing.T) {
	m := newMPEnv(t)
	ctx := context.Background()
	fr := func(action string, body any) result {
		return m.do(http.MethodPost, "/cgi-bin/component/fastregisterweapp",
			url.Values{"action": {action}, "component_access_token": {m.ct}}, body)
	}
	company := map[string]any{"name": "某某科技有限公司", "code": "91440300MA5FXXXX1X", "code_type": 1,
		"legal_persona_wechat": "zhangsan_wx", "legal_persona_name": "张三", "component_phone": "13800000000"}
	with := func(k string, v any) map[string]any {
		out := map[string]any{}
		for kk, vv := range company {
			out[kk] = vv
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	search := map[string]any{"name": "某某科技有限公司", "legal_persona_wechat": "zhangsan_wx", "legal_persona_name": "张三"}

	requireCode(t, 89250, fr("search", search))
	requireCode(t, 89253, fr("create", with("legal_persona_name", nil)))
	requireCode(t, 89253, fr("create", with("code", nil)))
	requireCode(t, 89248, fr("create", with("code_type", 4)))
	requireCode(t, 89255, fr("create", with("code", "123")))
	requireCode(t, 89255, fr("create", with("code_type", 2)), "18 characters is not an organisation code")
	requireCode(t, 86004, fr("create", with("legal_persona_wechat", "1bad")))
	requireCode(t, 41021, m.do(http.MethodPost, "/cgi-bin/component/fastregisterweapp", url.Values{"action": {"create"}}, company))
	requireCode(t, 40001, m.do(http.MethodPost, "/cgi-bin/component/fastregisterweapp",
		url.Values{"action": {"create"}, "component_access_token": {m.tok}}, company), "an authorizer token is not the component token")
	requireCode(t, 40097, fr("query", company))
	_, err := m.s.CompleteFastRegistration(ctx, "某某科技有限公司", 0)
	require.Error(t, err, "no task yet")

	requireCode(t, 0, fr("create", company))
	requireCode(t, 89249, fr("create", company), "one running task per company")
	requireCode(t, 89251, fr("search", search))
	requireCode(t, 89250, fr("search", map[string]any{"name": "某某科技有限公司", "legal_persona_wechat": "zhangsan_wx", "legal_persona_name": "李四"}))
	requireCode(t, 89253, fr("search", map[string]any{"name": "某某科技有限公司"}))

	appID, err := m.s.CompleteFastRegistration(ctx, "某某科技有限公司", 0)
	require.NoError(t, err)
	require.Len(t, appID, 18)
	ev := m.rx.last()
	assert.Equal(t, "/auth", ev.Path)
	assert.Equal(t, "notify_third_fasteregister", ev.Fields["InfoType"])
	assert.Equal(t, appID, ev.Fields["appid"])
	assert.Equal(t, "0", ev.Fields["status"])
	code := ev.Fields["auth_code"]
	require.NotEmpty(t, code)
	var push struct {
		Info struct {
			Name               string `xml:"name"`
			Code               string `xml:"code"`
			CodeType           int    `xml:"code_type"`
			LegalPersonaWechat string `xml:"legal_persona_wechat"`
			LegalPersonaName   string `xml:"legal_persona_name"`
			ComponentPhone     string `xml:"component_phone"`
		} `xml:"info"`
	}
	require.NoError(t, xml.Unmarshal([]byte(ev.Raw), &push))
	assert.Equal(t, "某某科技有限公司", push.Info.Name)
	assert.Equal(t, "91440300MA5FXXXX1X", push.Info.Code)
	assert.Equal(t, 1, push.Info.CodeType)
	assert.Equal(t, "zhangsan_wx", push.Info.LegalPersonaWechat)
	assert.Equal(t, "张三", push.Info.LegalPersonaName)
	assert.Equal(t, "13800000000", push.Info.ComponentPhone)

	// The code works with api_query_auth, and the new mini program is usable.
	r := m.post("/cgi-bin/component/api_query_auth", m.ct, map[string]string{"component_appid": m.app.AppID, "authorization_code": code})
	requireCode(t, 0, r)
	authInfo := r.obj("authorization_info")
	assert.Equal(t, appID, authInfo.str("authorizer_appid"))
	newTok := authInfo.str("authorizer_access_token")
	requireCode(t, 0, m.do(http.MethodGet, "/cgi-bin/account/getaccountbasicinfo", url.Values{"access_token": {newTok}}, nil))
	info, ok := m.s.Authorizer(appID)
	require.True(t, ok)
	assert.Equal(t, "某某科技有限公司", info.PrincipalName)
	assert.True(t, info.MiniProgram)
	assert.True(t, m.s.Authorized(appID))
	requireCode(t, 0, fr("search", search), "finished")

	// A failed registration.
	requireCode(t, 0, fr("create", company), "a finished task can be started again")
	appID, err = m.s.CompleteFastRegistration(ctx, "某某科技有限公司", 103)
	require.NoError(t, err)
	assert.Empty(t, appID)
	ev = m.rx.last()
	assert.Equal(t, "103", ev.Fields["status"])
	assert.Empty(t, ev.Fields["appid"])
	assert.Empty(t, ev.Fields["auth_code"])
}

// TestAuthorizerInfoDuringDomainChanges reads the mini program's domains through
// api_get_authorizer_info while modify_domain adds and deletes them (run with -race).
func TestAuthorizerInfoDuringDomainChanges(t *testing.T) {
	m := newMPEnv(t)
	m.s.SetPlatformDomains([]string{"shop.example"}, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 40; i++ {
			for _, action := range []string{"add", "delete"} {
				body := `{"action":"` + action + `","requestdomain":["https://a.shop.example","https://d` + strconv.Itoa(i) + `.shop.example"]}`
				resp, err := http.Post(m.s.URL+"/wxa/modify_domain?access_token="+m.tok, "application/json", strings.NewReader(body))
				if err == nil {
					resp.Body.Close()
				}
			}
		}
	}()
	for i := 0; i < 40; i++ {
		requireCode(t, 0, m.post("/cgi-bin/component/api_get_authorizer_info", m.ct,
			map[string]string{"component_appid": m.app.AppID, "authorizer_appid": m.appID}))
	}
	<-done
}

// TestModifyDomainRefusedAddChangesNothing: an add that would pass 200 domains in one list is
// refused with 85016 and leaves every list as it was.
func TestModifyDomainRefusedAddChangesNothing(t *testing.T) {
	m := newMPEnv(t)
	m.s.SetPlatformDomains([]string{"shop.example"}, nil)
	md := func(body any) result { return m.call(http.MethodPost, "/wxa/modify_domain", body) }
	domains := func(from, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "https://d" + strconv.Itoa(from+i) + ".shop.example"
		}
		return out
	}
	requireCode(t, 0, md(map[string]any{"action": "add", "downloaddomain": domains(0, 150)}))
	requireCode(t, 85016, md(map[string]any{"action": "add", "requestdomain": []string{"https://api.shop.example"},
		"downloaddomain": domains(150, 60)}))
	r := md(map[string]any{"action": "get"})
	requireCode(t, 0, r)
	assert.Equal(t, []any{}, r["requestdomain"], "a refused add changes no list")
	dl, _ := r["downloaddomain"].([]any)
	assert.Equal(t, 150, len(dl))
	info, _ := m.s.Authorizer(mpAppID)
	assert.Empty(t, info.Network.RequestDomain)
	assert.Equal(t, 150, len(info.Network.DownloadDomain))
}

// TestMediaUploadSizes: media/upload takes images up to 10 MB (the 2 MB limit is modifyheadimage's)
// and refuses a larger file with 40006, not as missing data.
func TestMediaUploadSizes(t *testing.T) {
	m := newMPEnv(t)
	r := m.upload("image", "big.png", padTo(pngHeader, 4<<20+1))
	requireCode(t, 0, r)
	requireCode(t, 40006, m.call(http.MethodPost, "/cgi-bin/account/modifyheadimage",
		map[string]any{"head_img_media_id": r.str("media_id"), "x1": "0", "y1": "0", "x2": "1", "y2": "1"}))
	requireCode(t, 40006, m.upload("image", "eleven.png", padTo(pngHeader, 10<<20+1)))
}

// TestPermissionSets: code management needs permission set 18 and the open-platform account calls
// one of 24, 25 or 60; an account that did not grant them is refused with 61007 until it does.
func TestPermissionSets(t *testing.T) {
	m := newMPEnv(t)
	ctx := context.Background()
	_, err := m.s.UpdateAuthorization(ctx, mpAppID, 17, 30)
	require.NoError(t, err)
	requireCode(t, 61007, m.commit("1", ""))
	requireCode(t, 61007, m.call(http.MethodGet, "/wxa/get_category", nil))
	requireCode(t, 61007, m.call(http.MethodPost, "/wxa/modify_domain", map[string]any{"action": "get"}))
	requireCode(t, 61007, m.call(http.MethodPost, "/cgi-bin/open/create", map[string]any{}))
	requireCode(t, 0, m.call(http.MethodGet, "/cgi-bin/account/getaccountbasicinfo", nil), "basic info is not set 18")
	_, ok := m.s.OpenAccount(mpAppID)
	assert.False(t, ok)

	_, err = m.s.UpdateAuthorization(ctx, mpAppID, 17, 18, 25, 30)
	require.NoError(t, err)
	requireCode(t, 0, m.commit("1", ""))
	requireCode(t, 0, m.call(http.MethodPost, "/cgi-bin/open/create", map[string]any{}))
}
