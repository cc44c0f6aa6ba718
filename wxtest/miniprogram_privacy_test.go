package wxtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/wxtest"
)

// usePrivacyTemplate makes a second template whose code uses Location and PhoneNumber and calls
// wx.getLocation, and makes it the template m commits.
func (m *mpEnv) usePrivacyTemplate() {
	m.t.Helper()
	draft := m.s.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "2.0.0", UserDesc: "location template",
		PrivacyKeys: []string{"Location", "PhoneNumber"}, PrivacyAPIs: []string{"wx.getLocation"}})
	requireCode(m.t, 0, m.do(http.MethodPost, "/wxa/addtotemplate", tokenQuery("access_token", m.ct), map[string]int{"draft_id": draft}))
	ids := m.s.TemplateIDs()
	m.tpl = ids[len(ids)-1]
}

func (m *mpEnv) submitCode() int {
	m.t.Helper()
	return m.call(http.MethodPost, "/wxa/submit_audit", map[string]any{}).code()
}

func TestPrivacyGates(t *testing.T) {
	m := newMPEnv(t)
	m.usePrivacyTemplate()
	r := m.call(http.MethodPost, "/wxa/commit", map[string]any{"template_id": m.tpl, "ext_json": "", "user_version": "2.0.0", "user_desc": "d"})
	requireCode(t, 0, r)

	// The scan runs for a minute of the emulator clock: 61039 from both calls meanwhile.
	requireCode(t, 61039, m.call(http.MethodGet, "/wxa/security/get_code_privacy_info", nil))
	assert.Equal(t, 61039, m.submitCode())
	info := m.call(http.MethodPost, "/cgi-bin/component/getprivacysetting", map[string]int{"privacy_ver": 2})
	assert.Equal(t, 0, info.num("code_exist"), "no scan result yet")
	m.s.Advance(wxtest.PrivacyScanTime)

	scan := m.call(http.MethodGet, "/wxa/security/get_code_privacy_info", nil)
	requireCode(t, 0, scan)
	assert.Equal(t, []any{"wx.getLocation"}, scan["without_conf_list"])
	assert.Equal(t, []any{"wx.getLocation"}, scan["without_auth_list"])
	assert.Equal(t, 61040, m.submitCode(), "undeclared in requiredPrivateInfos")

	// Declared in ext_json: still not enabled.
	requireCode(t, 0, m.commit("2.0.1", `{"requiredPrivateInfos":["getLocation"]}`))
	assert.Equal(t, 61040, m.submitCode(), "not enabled")

	// Application, reviewed with a push.
	apply := func(body map[string]any) result {
		return m.call(http.MethodPost, "/wxa/security/apply_privacy_interface", body)
	}
	requireCode(t, 61035, apply(map[string]any{"api_name": "wx.login", "content": "x", "url_list": []string{"https://a.cn"}}))
	requireCode(t, 61034, apply(map[string]any{"api_name": "wx.getLocation", "content": "附近门店"}))
	requireCode(t, 61032, apply(map[string]any{"api_name": "wx.getLocation", "content": "附近门店", "video_list": []string{"https://v.cn/a.mov"}}))
	app := apply(map[string]any{"api_name": "wx.getLocation", "content": "附近门店", "pic_list": []string{"https://p.cn/1.png"}})
	requireCode(t, 0, app)
	requireCode(t, 61031, apply(map[string]any{"api_name": "wx.getLocation", "content": "附近门店", "pic_list": []string{"https://p.cn/1.png"}}))
	assert.Equal(t, 61040, m.submitCode(), "under review")
	// privacy_api_not_use lets an unapproved API through this gate (the guide gate still holds).
	assert.Equal(t, 61040, m.call(http.MethodPost, "/wxa/submit_audit", map[string]any{"privacy_api_not_use": true}).code())

	ctx := context.Background()
	require.Error(t, m.s.ReviewPrivacyInterface(ctx, m.appID, "wx.chooseAddress", true, ""))
	require.NoError(t, m.s.ReviewPrivacyInterface(ctx, m.appID, "wx.getLocation", false, "场景不符"))
	list := m.call(http.MethodGet, "/wxa/security/get_privacy_interface", nil)
	requireCode(t, 0, list)
	found := false
	for _, it := range list["interface_list"].([]any) {
		e := result(it.(map[string]any))
		if e.str("api_name") == "wx.getLocation" {
			found = true
			assert.Equal(t, 4, e.num("status"))
			assert.Equal(t, "场景不符", e.str("fail_reason"))
			assert.Equal(t, app.num("audit_id"), e.num("audit_id"))
		}
	}
	assert.True(t, found)
	requireCode(t, 0, apply(map[string]any{"api_name": "wx.getLocation", "content": "附近门店", "url_list": []string{"https://p.cn"}}))
	require.NoError(t, m.s.ReviewPrivacyInterface(ctx, m.appID, "wx.getLocation", true, ""))

	// The guide: missing, then incomplete, then complete.
	assert.Equal(t, 61040, m.submitCode(), "no guide")
	set := func(body map[string]any) result {
		return m.call(http.MethodPost, "/cgi-bin/component/setprivacysetting", body)
	}
	owner := map[string]string{"contact_phone": "13800000000", "notice_method": "弹窗"}
	requireCode(t, 86071, set(map[string]any{"privacy_ver": 3, "owner_setting": owner, "setting_list": []any{}}))
	requireCode(t, 86069, set(map[string]any{"owner_setting": map[string]string{"contact_phone": "1"}, "setting_list": []any{}}))
	requireCode(t, 87072, set(map[string]any{"owner_setting": map[string]string{"contact_phone": "1", "notice_method": "x", "store_expire_timestamp": "30"}, "setting_list": []any{}}))
	requireCode(t, 86074, set(map[string]any{"privacy_ver": 1, "owner_setting": owner}))
	requireCode(t, 40097, set(map[string]any{"owner_setting": owner, "setting_list": []map[string]string{{"privacy_key": "Nope", "privacy_text": "x"}}}))
	requireCode(t, 0, set(map[string]any{"owner_setting": owner, "setting_list": []map[string]string{{"privacy_key": "Location", "privacy_text": "附近门店"}}}))
	assert.Equal(t, 61040, m.submitCode(), "PhoneNumber undeclared")
	info = m.call(http.MethodPost, "/cgi-bin/component/getprivacysetting", map[string]int{"privacy_ver": 2})
	requireCode(t, 0, info)
	assert.Equal(t, 1, info.num("code_exist"))
	assert.Equal(t, []any{"Location", "PhoneNumber"}, info["privacy_list"])
	requireCode(t, 0, set(map[string]any{"owner_setting": owner, "setting_list": []map[string]string{
		{"privacy_key": "Location", "privacy_text": "附近门店"}, {"privacy_key": "PhoneNumber", "privacy_text": "联系顾客"}}}))
	assert.Equal(t, 0, m.submitCode())

	// Release makes the guide live; then ver 1 may change the owner settings.
	require.NoError(t, m.s.Audit(ctx, m.appID, true, ""))
	requireCode(t, 0, m.call(http.MethodPost, "/wxa/release", map[string]any{}))
	requireCode(t, 0, set(map[string]any{"privacy_ver": 1, "owner_setting": map[string]string{"contact_email": "a@b.cn", "notice_method": "短信"}}))
	live := m.call(http.MethodPost, "/cgi-bin/component/getprivacysetting", map[string]int{"privacy_ver": 1})
	assert.Equal(t, "a@b.cn", live.obj("owner_setting").str("contact_email"))
	assert.Len(t, live["setting_list"], 2)
}

func TestPrivacyExtFile(t *testing.T) {
	m := newMPEnv(t)
	upload := func(name string, data []byte) result {
		return m.uploadTo("/cgi-bin/component/uploadprivacyextfile", "file", name, data)
	}
	requireCode(t, 40006, upload("guide.pdf", []byte("x")))
	requireCode(t, 40126, upload("guide.txt", []byte(strings.Repeat("x", 100<<10+1))))
	r := upload("guide.txt", []byte("隐私保护指引全文"))
	requireCode(t, 0, r)
	id := r.str("ext_file_media_id")
	require.NotEmpty(t, id)
	owner := map[string]string{"contact_phone": "1", "notice_method": "弹窗", "ext_file_media_id": id}
	requireCode(t, 0, m.call(http.MethodPost, "/cgi-bin/component/setprivacysetting", map[string]any{"owner_setting": owner, "setting_list": []any{}}))
	owner["ext_file_media_id"] = "nope"
	requireCode(t, 40007, m.call(http.MethodPost, "/cgi-bin/component/setprivacysetting", map[string]any{"owner_setting": owner, "setting_list": []any{}}))
}

// uploadTo sends a multipart POST to path with the mini program's token and one file in field.
func (m *mpEnv) uploadTo(path, field, filename string, data []byte) result {
	m.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	f, err := w.CreateFormFile(field, filename)
	require.NoError(m.t, err)
	_, _ = f.Write(data)
	require.NoError(m.t, w.Close())
	req, err := http.NewRequest(http.MethodPost, m.s.URL+path+"?"+url.Values{"access_token": {m.tok}}.Encode(), &b)
	require.NoError(m.t, err)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(m.t, err)
	defer resp.Body.Close()
	var r result
	require.NoError(m.t, json.NewDecoder(resp.Body).Decode(&r))
	return r
}
