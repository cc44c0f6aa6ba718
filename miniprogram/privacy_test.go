package miniprogram_test

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

var owner = miniprogram.PrivacyOwner{ContactPhone: "13800000000", NoticeMethod: "弹窗"}

func TestPrivacySetSetting(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/cgi-bin/component/setprivacysetting", reply: `{"errcode":0}`,
		body: `{"privacy_ver":2,"owner_setting":{"contact_phone":"13800000000","notice_method":"弹窗","store_expire_timestamp":"30天"},
			"setting_list":[{"privacy_key":"Location","privacy_text":"推荐附近门店"}]}`})
	o := owner
	o.StoreExpireTimestamp = "30天"
	require.NoError(t, e.c.Privacy().SetSetting(ctx, miniprogram.PrivacySetting{Owner: o,
		Items: []miniprogram.PrivacyItem{{Key: "Location", Text: "推荐附近门店"}}}))

	e.expect(t, call{method: "POST", path: "/cgi-bin/component/setprivacysetting", reply: `{"errcode":86074,"errmsg":"no live"}`,
		body: `{"privacy_ver":1,"owner_setting":{"contact_email":"a@b.cn","notice_method":"弹窗"}}`})
	err := e.c.Privacy().SetSetting(ctx, miniprogram.PrivacySetting{Version: miniprogram.PrivacyLive,
		Owner: miniprogram.PrivacyOwner{ContactEmail: "a@b.cn", NoticeMethod: "弹窗"}})
	assert.Equal(t, wxerr.CodePrivacyNoLiveGuide, wxerr.CodeOf(err))
	assert.Contains(t, err.Error(), "until the first release")
}

func TestPrivacySetSettingValidation(t *testing.T) {
	e := setup(t)
	item := []miniprogram.PrivacyItem{{Key: "Location", Text: "推荐附近门店"}}
	for field, s := range map[string]miniprogram.PrivacySetting{
		"privacy_ver":                          {Version: 3, Owner: owner, Items: item},
		"owner_setting":                        {Owner: miniprogram.PrivacyOwner{NoticeMethod: "弹窗"}, Items: item},
		"owner_setting.notice_method":          {Owner: miniprogram.PrivacyOwner{ContactQQ: "1"}, Items: item},
		"owner_setting.store_expire_timestamp": {Owner: miniprogram.PrivacyOwner{ContactQQ: "1", NoticeMethod: "x", StoreExpireTimestamp: "30 days"}, Items: item},
		"owner_setting.ext_file_media_id":      {Version: miniprogram.PrivacyLive, Owner: miniprogram.PrivacyOwner{ContactQQ: "1", NoticeMethod: "x", ExtFileMediaID: "m"}},
		"setting_list[1].privacy_key":          {Owner: owner, Items: append(item, item[0])},
		"setting_list[0].privacy_text":         {Owner: owner, Items: []miniprogram.PrivacyItem{{Key: "Album", Text: "为了上传头像"}}},
		"setting_list[0].privacy_key":          {Owner: owner, Items: []miniprogram.PrivacyItem{{Text: "x"}}},
	} {
		requireInvalid(t, e.c.Privacy().SetSetting(ctx, s), field)
	}
	err := e.c.Privacy().SetSetting(ctx, miniprogram.PrivacySetting{Version: miniprogram.PrivacyLive, Owner: owner, Items: item})
	requireInvalid(t, err, "setting_list")
	assert.Zero(t, e.mt.GetTotalCallCount())

	// A development guide of a code without privacy keys sends an empty list.
	e.expect(t, call{method: "POST", path: "/cgi-bin/component/setprivacysetting", reply: `{"errcode":0}`,
		body: `{"privacy_ver":2,"owner_setting":{"contact_phone":"13800000000","notice_method":"弹窗"},"setting_list":[]}`})
	require.NoError(t, e.c.Privacy().SetSetting(ctx, miniprogram.PrivacySetting{Owner: owner}))
}

func TestPrivacySetting(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/cgi-bin/component/getprivacysetting", body: `{"privacy_ver":2}`,
		reply: `{"errcode":0,"code_exist":1,"privacy_list":["Location","PhoneNumber","Album"],
		"setting_list":[{"privacy_key":"Location","privacy_text":"推荐门店","privacy_label":"位置信息"}],"update_time":1700000000,
		"owner_setting":{"contact_email":"","contact_phone":"138","contact_qq":"","contact_weixin":"","ext_file_media_id":"","notice_method":"弹窗","store_expire_timestamp":""},
		"privacy_desc":{"privacy_desc_list":[{"privacy_key":"Location","privacy_desc":"位置信息"},{"privacy_key":"Album","privacy_desc":"相册"}]}}`})
	info, err := e.c.Privacy().Setting(ctx, 0)
	require.NoError(t, err)
	assert.True(t, info.CodeExist)
	assert.Equal(t, []string{"Album", "PhoneNumber"}, info.Undeclared())
	assert.Equal(t, "位置信息", info.Items[0].Label)
	assert.Equal(t, int64(1700000000), info.UpdateTime.Unix())
	assert.Equal(t, "138", info.Owner.ContactPhone)
	assert.Equal(t, map[string]string{"Location": "位置信息", "Album": "相册"}, info.Descriptions)

	_, err = e.c.Privacy().Setting(ctx, 7)
	requireInvalid(t, err, "privacy_ver")
	assert.Equal(t, 1, e.mt.GetTotalCallCount())
}

func TestPrivacyUploadExtFile(t *testing.T) {
	e := setup(t)
	e.mt.RegisterResponder("POST", base+"/cgi-bin/component/uploadprivacyextfile", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, "auth-1", r.URL.Query().Get("access_token"))
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		require.NoError(t, err)
		assert.Equal(t, "multipart/form-data", mt)
		part, err := multipart.NewReader(r.Body, params["boundary"]).NextPart()
		require.NoError(t, err)
		assert.Equal(t, "file", part.FormName())
		assert.Equal(t, "guide.txt", part.FileName())
		b, _ := io.ReadAll(part)
		assert.Equal(t, "隐私保护指引", string(b))
		return httpmock.NewStringResponse(200, `{"errcode":0,"ext_file_media_id":"EXT1"}`), nil
	})
	id, err := e.c.Privacy().UploadExtFile(ctx, "guide.txt", []byte("隐私保护指引"))
	require.NoError(t, err)
	assert.Equal(t, "EXT1", id)

	for _, tc := range []struct {
		name string
		data []byte
	}{{"guide.pdf", []byte("x")}, {"g.txt", nil}, {"g.txt", make([]byte, 100*1024+1)}, {"g.txt", []byte{0xff, 0xfe}}} {
		_, err := e.c.Privacy().UploadExtFile(ctx, tc.name, tc.data)
		requireInvalid(t, err, "file")
	}
	assert.Equal(t, 1, e.mt.GetTotalCallCount())
}

func TestCodePrivacyInfo(t *testing.T) {
	e := setup(t)
	n := 0
	e.mt.RegisterResponder("GET", base+"/wxa/security/get_code_privacy_info", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, "auth-1", r.URL.Query().Get("access_token"))
		n++
		if n < 3 {
			return httpmock.NewStringResponse(200, `{"errcode":61039,"errmsg":"scanning"}`), nil
		}
		return httpmock.NewStringResponse(200, `{"errcode":0,"without_auth_list":["wx.getLocation"],"without_conf_list":[]}`), nil
	})
	_, err := e.c.Privacy().CodePrivacyInfo(ctx)
	var pending *miniprogram.ScanPendingError
	require.ErrorAs(t, err, &pending)
	assert.Equal(t, time.Minute, pending.RetryAfter)
	assert.ErrorIs(t, err, wxerr.ErrPrivacyScanPending)
	assert.True(t, wxerr.IsRetryLater(err))

	var slept []time.Duration
	res, err := e.c.Privacy().WaitCodePrivacyInfo(ctx, func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{time.Minute}, slept)
	assert.Equal(t, []string{"wx.getLocation"}, res.WithoutAuth)
	assert.False(t, res.Clear())

	// A failing sleep (the context ended) ends the wait.
	n = 0
	stop := errors.New("stop")
	_, err = e.c.Privacy().WaitCodePrivacyInfo(ctx, func(context.Context, time.Duration) error { return stop })
	assert.ErrorIs(t, err, stop)
}

func TestPrivacyInterfaces(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "GET", path: "/wxa/security/get_privacy_interface",
		reply: `{"errcode":0,"interface_list":[{"api_name":"wx.getLocation","api_ch_name":"获取当前的地理位置","status":4,"audit_id":9,"apply_time":1700000000,"fail_reason":"场景不符"},
		{"api_name":"wx.chooseAddress","status":1}]}`})
	list, err := e.c.Privacy().Interfaces(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, miniprogram.InterfaceRejected, list[0].Status)
	assert.Equal(t, "rejected", list[0].Status.String())
	assert.Equal(t, "场景不符", list[0].FailReason)
	assert.Equal(t, time.Unix(1700000000, 0), list[0].ApplyTime)
	assert.True(t, list[1].ApplyTime.IsZero(), "no application: the zero time")
	assert.Equal(t, "not applied", list[1].Status.String())
}

func TestApplyPrivacyInterface(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/security/apply_privacy_interface", reply: `{"errcode":0,"audit_id":123}`,
		body: `{"api_name":"wx.getLocation","content":"展示附近门店","pic_list":["https://img.example/1.png"]}`})
	id, err := e.c.Privacy().ApplyInterface(ctx, miniprogram.ApplyInterfaceRequest{APIName: "wx.getLocation",
		Content: "展示附近门店", PicList: []string{"https://img.example/1.png"}})
	require.NoError(t, err)
	assert.Equal(t, int64(123), id)

	good := miniprogram.ApplyInterfaceRequest{APIName: "wx.getLocation", Content: "x", URLList: []string{"https://a.example"}}
	for field, mod := range map[string]func(r *miniprogram.ApplyInterfaceRequest){
		"api_name":   func(r *miniprogram.ApplyInterfaceRequest) { r.APIName = "getLocation" },
		"content":    func(r *miniprogram.ApplyInterfaceRequest) { r.Content = strings.Repeat("字", 301) },
		"url_list":   func(r *miniprogram.ApplyInterfaceRequest) { r.URLList = []string{"ftp://x"} },
		"pic_list":   func(r *miniprogram.ApplyInterfaceRequest) { r.PicList = make([]string, 11) },
		"video_list": func(r *miniprogram.ApplyInterfaceRequest) { r.VideoList = []string{"https://v.example/a.mov"} },
	} {
		r := good
		mod(&r)
		_, err := e.c.Privacy().ApplyInterface(ctx, r)
		requireInvalid(t, err, field)
	}
	_, err = e.c.Privacy().ApplyInterface(ctx, miniprogram.ApplyInterfaceRequest{APIName: "wx.getLocation", Content: "x"})
	requireInvalid(t, err, "url_list")
	assert.Equal(t, 1, e.mt.GetTotalCallCount())
}

var guideTemplate = miniprogram.PrivacyGuideTemplate{
	Texts: map[string]string{"Location": "推荐附近门店", "PhoneNumber": "联系下单用户", "Album": "上传评价图片"},
	Used:  []string{"PhoneNumber"},
	Owner: miniprogram.PrivacyOwner{NoticeMethod: "弹窗", StoreExpireTimestamp: "90天"},
}

func TestBuildGuide(t *testing.T) {
	s, err := miniprogram.BuildGuide(guideTemplate, miniprogram.PrivacyOwner{ContactEmail: "boss@noodle.example"},
		&miniprogram.PrivacyInfo{DetectedKeys: []string{"Location", "PhoneNumber"}})
	require.NoError(t, err)
	assert.Equal(t, miniprogram.PrivacySetting{Version: miniprogram.PrivacyDevelopment,
		Owner: miniprogram.PrivacyOwner{ContactEmail: "boss@noodle.example", NoticeMethod: "弹窗", StoreExpireTimestamp: "90天"},
		Items: []miniprogram.PrivacyItem{{Key: "Location", Text: "推荐附近门店"}, {Key: "PhoneNumber", Text: "联系下单用户"}}}, s)

	_, err = miniprogram.BuildGuide(guideTemplate, owner, &miniprogram.PrivacyInfo{DetectedKeys: []string{"Record", "Camera", "Album"}})
	var missing *miniprogram.MissingTextError
	require.ErrorAs(t, err, &missing)
	assert.Equal(t, []string{"Camera", "Record"}, missing.Keys)

	_, err = miniprogram.BuildGuide(guideTemplate, miniprogram.PrivacyOwner{}, nil)
	requireInvalid(t, err, "owner_setting")
}

func TestDeclareGuide(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/cgi-bin/component/getprivacysetting", body: `{"privacy_ver":2}`,
		reply: `{"errcode":0,"code_exist":1,"privacy_list":["Album"]}`})
	e.expect(t, call{method: "POST", path: "/cgi-bin/component/setprivacysetting", reply: `{"errcode":0}`,
		body: `{"privacy_ver":2,"owner_setting":{"contact_weixin":"noodleboss","notice_method":"弹窗","store_expire_timestamp":"90天"},
			"setting_list":[{"privacy_key":"Album","privacy_text":"上传评价图片"},{"privacy_key":"PhoneNumber","privacy_text":"联系下单用户"}]}`})
	s, err := e.c.Privacy().DeclareGuide(ctx, guideTemplate, miniprogram.PrivacyOwner{ContactWeixin: "noodleboss"})
	require.NoError(t, err)
	assert.Len(t, s.Items, 2)
	assert.Equal(t, 2, e.mt.GetTotalCallCount())
}
