package miniprogram_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

// commitBody decodes a commit request and its ext_json string.
func commitResponder(t *testing.T, got *map[string]any, ext *string) httpmock.Responder {
	return func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, url.Values{"access_token": {"auth-1"}}, r.URL.Query())
		b, _ := io.ReadAll(r.Body)
		m := map[string]any{}
		require.NoError(t, json.Unmarshal(b, &m))
		*got = m
		s, ok := m["ext_json"].(string)
		assert.True(t, ok, "ext_json must be sent as a string")
		*ext = s
		return httpmock.NewStringResponse(200, `{"errcode":0,"errmsg":"ok"}`), nil
	}
}

func TestCommitTypedExtJSON(t *testing.T) {
	e := setup(t)
	var got map[string]any
	var ext string
	e.mt.RegisterResponder("POST", base+"/wxa/commit", commitResponder(t, &got, &ext))
	err := e.c.Commit(ctx, miniprogram.CommitRequest{
		TemplateID: 7,
		ExtJSON: miniprogram.ExtJSON{
			Ext:                  map[string]any{"shop": "咖啡<&>", "n": 1},
			Pages:                []string{"pages/index/index"},
			Window:               map[string]any{"navigationBarTitleText": "店"},
			NetworkTimeout:       &miniprogram.NetworkTimeout{Request: 5000},
			SubPackages:          []miniprogram.SubPackage{{Root: "pkg", Pages: []string{"a"}}},
			RequiredPrivateInfos: []string{"getLocation"},
		},
		UserVersion: "v1.0.0",
		UserDesc:    "首个版本",
	})
	require.NoError(t, err)
	assert.Equal(t, float64(7), got["template_id"], "template_id is a number")
	assert.Equal(t, "v1.0.0", got["user_version"])
	assert.Equal(t, "首个版本", got["user_desc"])
	assert.JSONEq(t, `{"extAppid":"wxAPP","ext":{"shop":"咖啡<&>","n":1},"pages":["pages/index/index"],
		"window":{"navigationBarTitleText":"店"},"networkTimeout":{"request":5000},"subPackages":[{"root":"pkg","pages":["a"]}],
		"requiredPrivateInfos":["getLocation"]}`, ext)
	assert.Contains(t, ext, "咖啡<&>", "no HTML or unicode escaping")
}

func TestCommitExtJSONForms(t *testing.T) {
	for name, tc := range map[string]struct {
		ext  any
		want string
	}{
		"pointer keeps its appid": {&miniprogram.ExtJSON{ExtAppID: "wxOTHER"}, `{"extAppid":"wxOTHER"}`},
		"pointer gets the appid":  {&miniprogram.ExtJSON{}, `{"extAppid":"wxAPP"}`},
		"raw message":             {json.RawMessage(` { "extAppid" : "wxAPP", "ext": {"a": [1, 2]} } `), `{"extAppid":"wxAPP","ext":{"a":[1,2]}}`},
		"bytes":                   {[]byte(`{"ext":{}}`), `{"ext":{}}`},
		"map":                     {map[string]any{"extAppid": "wxAPP", "window": map[string]string{"a": "b"}}, `{"extAppid":"wxAPP","window":{"a":"b"}}`},
		"struct":                  {struct{ X int }{3}, `{"X":3}`},
	} {
		e := setup(t)
		var got map[string]any
		var ext string
		e.mt.RegisterResponder("POST", base+"/wxa/commit", commitResponder(t, &got, &ext))
		require.NoError(t, e.c.Commit(ctx, miniprogram.CommitRequest{TemplateID: 0, ExtJSON: tc.ext, UserVersion: "1", UserDesc: "d"}), name)
		assert.Equal(t, tc.want, ext, name)
		assert.Equal(t, float64(0), got["template_id"], "template 0 is a valid id")
	}
}

func TestCommitValidation(t *testing.T) {
	e := setup(t)
	ok := miniprogram.CommitRequest{TemplateID: 1, ExtJSON: miniprogram.ExtJSON{}, UserVersion: "1.0", UserDesc: "d"}
	for field, mutate := range map[string][]func(*miniprogram.CommitRequest){
		"template_id":  {func(r *miniprogram.CommitRequest) { r.TemplateID = -1 }},
		"user_version": {func(r *miniprogram.CommitRequest) { r.UserVersion = "" }, func(r *miniprogram.CommitRequest) { r.UserVersion = strings.Repeat("版", 65) }},
		"user_desc":    {func(r *miniprogram.CommitRequest) { r.UserDesc = "" }},
		"ext_json": {
			func(r *miniprogram.CommitRequest) { r.ExtJSON = nil },
			func(r *miniprogram.CommitRequest) { r.ExtJSON = (*miniprogram.ExtJSON)(nil) },
			func(r *miniprogram.CommitRequest) { r.ExtJSON = `{"extAppid":"x"}` },
			func(r *miniprogram.CommitRequest) { r.ExtJSON = json.RawMessage(`[1,2]`) },
			func(r *miniprogram.CommitRequest) { r.ExtJSON = json.RawMessage(`{"a":`) },
			func(r *miniprogram.CommitRequest) { r.ExtJSON = json.RawMessage(``) },
			func(r *miniprogram.CommitRequest) { r.ExtJSON = []string{"a"} },
			func(r *miniprogram.CommitRequest) { r.ExtJSON = map[string]any{"f": func() {}} },
		},
	} {
		for i, m := range mutate {
			r := ok
			m(&r)
			err := e.c.Commit(ctx, r)
			requireInvalid(t, err, field)
			_ = i
		}
	}
	assert.Zero(t, e.mt.GetTotalCallCount())

	// 64 characters is the longest version.
	e.expect(t, call{method: "POST", path: "/wxa/commit", reply: `{"errcode":0}`,
		body: `{"template_id":1,"ext_json":"{\"extAppid\":\"wxAPP\"}","user_version":"` + strings.Repeat("版", 64) + `","user_desc":"d"}`})
	r := ok
	r.UserVersion = strings.Repeat("版", 64)
	require.NoError(t, e.c.Commit(ctx, r))
}

func TestCommitErrcodesNotRetried(t *testing.T) {
	for _, code := range []wxerr.Code{85013, 85014, 85043, 85044, 85045, 85046, 85047, 85048, 86000, 86007, -1} {
		e := setup(t)
		e.mt.RegisterResponder("POST", base+"/wxa/commit", httpmock.NewStringResponder(200, `{"errcode":`+itoa(int(code))+`,"errmsg":"x"}`))
		err := e.c.Commit(ctx, miniprogram.CommitRequest{TemplateID: 1, ExtJSON: miniprogram.ExtJSON{}, UserVersion: "1", UserDesc: "d"})
		assert.Equal(t, code, wxerr.CodeOf(err))
		assert.Equal(t, 1, e.mt.GetTotalCallCount(), "commit is sent once (errcode %d)", code)
	}
}

func TestQRCode(t *testing.T) {
	e := setup(t)
	img := jpegImage(t)
	e.mt.RegisterResponder("GET", base+"/wxa/get_qrcode", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, "pages/index?action=1&x=中", r.URL.Query().Get("path"))
		assert.Contains(t, r.URL.RawQuery, "path=pages%2Findex%3Faction%3D1%26x%3D%E4%B8%AD", "encoded once")
		assert.Equal(t, "auth-1", r.URL.Query().Get("access_token"))
		resp := httpmock.NewBytesResponse(200, img)
		resp.Header.Set("Content-Type", "image/jpeg")
		return resp, nil
	})
	got, err := e.c.QRCode(ctx, "pages/index?action=1&x=中")
	require.NoError(t, err)
	assert.Equal(t, img, got)
}

func TestQRCodeWithoutPath(t *testing.T) {
	e := setup(t)
	img := pngImage(t)
	e.mt.RegisterResponder("GET", base+"/wxa/get_qrcode", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, url.Values{"access_token": {"auth-1"}}, r.URL.Query())
		resp := httpmock.NewBytesResponse(200, img)
		resp.Header.Set("Content-Type", "image/png")
		return resp, nil
	})
	got, err := e.c.QRCode(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, img, got)
}

func TestQRCodeErrors(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "GET", path: "/wxa/get_qrcode", reply: `{"errcode":86001,"errmsg":"no code"}`, ctype: "application/json"})
	_, err := e.c.QRCode(ctx, "")
	assert.Equal(t, wxerr.CodeNoCommittedCode, wxerr.CodeOf(err))

	// WeChat has been seen answering JSON as text/plain.
	e.expect(t, call{method: "GET", path: "/wxa/get_qrcode", reply: `{"errcode":85086,"errmsg":"commit first"}`, ctype: "text/plain"})
	_, err = e.c.QRCode(ctx, "")
	assert.Equal(t, wxerr.CodeCommitFirst, wxerr.CodeOf(err))

	e.mt.RegisterResponder("GET", base+"/wxa/get_qrcode", func(*http.Request) (*http.Response, error) {
		resp := httpmock.NewBytesResponse(200, nil)
		resp.Header.Set("Content-Type", "image/jpeg")
		return resp, nil
	})
	_, err = e.c.QRCode(ctx, "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "empty")
}

func TestCategoriesAndPages(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "GET", path: "/wxa/get_category", reply: `{"errcode":0,"errmsg":"ok","category_list":[
		{"first_class":"餐饮","second_class":"咖啡","first_id":1,"second_id":2},
		{"first_class":"工具","second_class":"效率","third_class":"笔记","first_id":3,"second_id":4,"third_id":5}]}`})
	cats, err := e.c.Categories(ctx)
	require.NoError(t, err)
	assert.Equal(t, []miniprogram.Category{
		{FirstClass: "餐饮", SecondClass: "咖啡", FirstID: 1, SecondID: 2},
		{FirstClass: "工具", SecondClass: "效率", ThirdClass: "笔记", FirstID: 3, SecondID: 4, ThirdID: 5},
	}, cats)

	e.expect(t, call{method: "GET", path: "/wxa/get_page", reply: `{"errcode":0,"errmsg":"ok","page_list":["pages/index/index","pages/me/me"]}`})
	pages, err := e.c.Pages(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"pages/index/index", "pages/me/me"}, pages)

	e.expect(t, call{method: "GET", path: "/wxa/get_page", reply: `{"errcode":86001,"errmsg":"no code"}`})
	_, err = e.c.Pages(ctx)
	assert.Equal(t, wxerr.CodeNoCommittedCode, wxerr.CodeOf(err))
	e.expect(t, call{method: "GET", path: "/wxa/get_category", reply: `{"errcode":85015,"errmsg":"not a mini program"}`})
	_, err = e.c.Categories(ctx)
	assert.Equal(t, wxerr.CodeNotMiniProgram, wxerr.CodeOf(err))
}

func item(i int) miniprogram.AuditItem {
	return miniprogram.AuditItem{Address: "pages/p" + itoa(i), Tag: "咖啡 外卖", FirstClass: "餐饮", SecondClass: "咖啡", FirstID: 1, SecondID: 2, Title: "页" + itoa(i)}
}

func TestSubmitAudit(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/submit_audit", reply: `{"errcode":0,"errmsg":"ok","auditid":1234567}`,
		body: `{"item_list":[{"address":"pages/p1","tag":"咖啡 外卖","first_class":"餐饮","second_class":"咖啡","first_id":1,"second_id":2,"title":"页1"}],
		"preview_info":{"pic_id_list":["P1","P2"]},"version_desc":"新版","feedback_info":"测试账号 a/b","feedback_stuff":"M1|M2",
		"ugc_declare":{"scene":[1,2],"method":[1],"has_audit_team":1,"audit_desc":"人工"},"privacy_api_not_use":true,"order_path":"pages/order"}`})
	id, err := e.c.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{
		ItemList:         []miniprogram.AuditItem{item(1)},
		PreviewInfo:      &miniprogram.PreviewInfo{PicIDList: []string{"P1", "P2"}},
		VersionDesc:      "新版",
		FeedbackInfo:     "测试账号 a/b",
		FeedbackStuff:    []string{"M1", "M2"},
		UGCDeclare:       &miniprogram.UGCDeclare{Scene: []int{1, 2}, Method: []int{1}, HasAuditTeam: 1, AuditDesc: "人工"},
		PrivacyAPINotUse: true,
		OrderPath:        "pages/order",
	})
	require.NoError(t, err)
	assert.Equal(t, int64(1234567), id)
}

func TestSubmitAuditItemCount(t *testing.T) {
	for n, ok := range map[int]bool{0: false, 1: true, 5: true, 6: false} {
		e := setup(t)
		items := make([]miniprogram.AuditItem, n)
		for i := range items {
			items[i] = item(i + 1)
		}
		e.mt.RegisterResponder("POST", base+"/wxa/submit_audit", func(r *http.Request) (*http.Response, error) {
			var b struct {
				ItemList []miniprogram.AuditItem `json:"item_list"`
			}
			require.NoError(t, json.NewDecoder(r.Body).Decode(&b))
			assert.Equal(t, items, b.ItemList)
			return httpmock.NewStringResponse(200, `{"auditid":9}`), nil
		})
		id, err := e.c.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{ItemList: items})
		if ok {
			require.NoError(t, err)
			assert.Equal(t, int64(9), id)
		} else {
			ve := requireInvalid(t, err, "item_list")
			assert.Contains(t, ve.Rule, "1 to 5")
			assert.Zero(t, e.mt.GetTotalCallCount())
		}
	}
	e := setup(t)
	_, err := e.c.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{ItemList: []miniprogram.AuditItem{item(1)}, FeedbackStuff: []string{"a|b"}})
	requireInvalid(t, err, "feedback_stuff")
	_, err = e.c.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{ItemList: []miniprogram.AuditItem{item(1)}, FeedbackStuff: []string{""}})
	requireInvalid(t, err, "feedback_stuff")
}

func TestSubmitAuditErrors(t *testing.T) {
	for _, code := range []wxerr.Code{85009, 85085, 85086, 85087, 86001, 86002, 85006, 85007, 85008, 85010, 85011, 85023, 85077, 87006, 61039, 61040, 85092, 85094, -1} {
		e := setup(t)
		e.mt.RegisterResponder("POST", base+"/wxa/submit_audit", httpmock.NewStringResponder(200, `{"errcode":`+itoa(int(code))+`,"errmsg":"x"}`))
		_, err := e.c.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{ItemList: []miniprogram.AuditItem{item(1)}})
		assert.Equal(t, code, wxerr.CodeOf(err))
		assert.Equal(t, 1, e.mt.GetTotalCallCount(), "submit_audit is never retried blindly (%d)", code)
	}
	e := setup(t)
	e.mt.RegisterResponder("POST", base+"/wxa/submit_audit", httpmock.NewStringResponder(200, `{"errcode":0,"errmsg":"ok"}`))
	_, err := e.c.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{ItemList: []miniprogram.AuditItem{item(1)}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no auditid")
	assert.Contains(t, wxerr.Hint(85009), "under review")
}

func TestAuditStatus(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/get_auditstatus", body: `{"auditid":1234567}`,
		reply: `{"errcode":0,"errmsg":"ok","status":1,"reason":"页面<br>空白","screenshot":"S1|S2","user_version":"v1","user_desc":"d","submit_audit_time":1700000000}`})
	st, err := e.c.AuditStatus(ctx, 1234567)
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.AuditStatus{AuditID: 1234567, Status: miniprogram.AuditRejected, Reason: "页面<br>空白",
		ScreenShots: []string{"S1", "S2"}, UserVersion: "v1", UserDesc: "d", SubmitAuditTime: time.Unix(1700000000, 0)}, st)

	e.expect(t, call{method: "POST", path: "/wxa/get_auditstatus", body: `{"auditid":1}`, reply: `{"errcode":85012,"errmsg":"invalid audit id"}`})
	_, err = e.c.AuditStatus(ctx, 1)
	assert.Equal(t, wxerr.CodeInvalidAuditID, wxerr.CodeOf(err))

	e.expect(t, call{method: "POST", path: "/wxa/get_auditstatus", body: `{"auditid":1}`, reply: `{"errcode":0,"errmsg":"ok"}`})
	_, err = e.c.AuditStatus(ctx, 1)
	require.Error(t, err, "an answer without status must not read as approved")

	_, err = e.c.AuditStatus(ctx, 0)
	requireInvalid(t, err, "auditid")
}

func TestLatestAuditStatusBothSpellings(t *testing.T) {
	for _, tc := range []struct{ reply string }{
		{`{"errcode":0,"errmsg":"ok","auditid":77,"status":1,"reason":"r","ScreenShot":"A|B","user_version":"v2","user_desc":"x","submit_audit_time":5}`},
		{`{"errcode":0,"errmsg":"ok","auditid":77,"status":1,"reason":"r","screenshot":"A|B","user_version":"v2","user_desc":"x","submit_audit_time":5}`},
	} {
		e := setup(t)
		e.expect(t, call{method: "GET", path: "/wxa/get_latest_auditstatus", reply: tc.reply})
		st, err := e.c.LatestAuditStatus(ctx)
		require.NoError(t, err)
		assert.Equal(t, &miniprogram.AuditStatus{AuditID: 77, Status: miniprogram.AuditRejected, Reason: "r", ScreenShots: []string{"A", "B"},
			UserVersion: "v2", UserDesc: "x", SubmitAuditTime: time.Unix(5, 0)}, st)
	}
	e := setup(t)
	e.expect(t, call{method: "GET", path: "/wxa/get_latest_auditstatus", reply: `{"auditid":78,"status":0,"ScreenShot":""}`})
	st, err := e.c.LatestAuditStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.AuditApproved, st.Status)
	assert.Nil(t, st.ScreenShots)
	e.expect(t, call{method: "GET", path: "/wxa/get_latest_auditstatus", reply: `{"errcode":85012,"errmsg":"no audit"}`})
	_, err = e.c.LatestAuditStatus(ctx)
	assert.Equal(t, wxerr.CodeInvalidAuditID, wxerr.CodeOf(err))
	e.expect(t, call{method: "GET", path: "/wxa/get_latest_auditstatus", reply: `{"status":"x"}`})
	_, err = e.c.LatestAuditStatus(ctx)
	require.Error(t, err)
}

func TestAuditStateString(t *testing.T) {
	assert.Equal(t, "approved", miniprogram.AuditApproved.String())
	assert.Equal(t, "rejected", miniprogram.AuditRejected.String())
	assert.Equal(t, "reviewing", miniprogram.AuditReviewing.String())
	assert.Equal(t, "withdrawn", miniprogram.AuditWithdrawn.String())
	assert.Equal(t, "delayed", miniprogram.AuditDelayed.String())
	assert.Equal(t, "AuditState(9)", miniprogram.AuditState(9).String())
}

func TestRelease(t *testing.T) {
	e := setup(t)
	e.mt.RegisterResponder("POST", base+"/wxa/release", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, url.Values{"access_token": {"auth-1"}}, r.URL.Query())
		b, _ := io.ReadAll(r.Body)
		assert.Equal(t, "{}", string(b), "body exactly {}")
		assert.Contains(t, r.Header.Get("Content-Type"), "application/json")
		return httpmock.NewStringResponse(200, `{"errcode":0,"errmsg":"ok"}`), nil
	})
	require.NoError(t, e.c.Release(ctx))

	for _, code := range []wxerr.Code{85019, 85020, 85052, -1} {
		e := setup(t)
		e.mt.RegisterResponder("POST", base+"/wxa/release", httpmock.NewStringResponder(200, `{"errcode":`+itoa(int(code))+`,"errmsg":"x"}`))
		err := e.c.Release(ctx)
		assert.Equal(t, code, wxerr.CodeOf(err))
		assert.Equal(t, 1, e.mt.GetTotalCallCount(), "release is never retried blindly")
	}
	e = setup(t)
	e.mt.RegisterResponder("POST", base+"/wxa/release", httpmock.NewStringResponder(200, `{"errcode":85019,"errmsg":"no approved version"}`))
	err := e.c.Release(ctx)
	assert.Contains(t, err.Error(), "submit for audit and wait for approval", "the error says what to do")
}

func TestRevertUndoHistory(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "GET", path: "/wxa/revertcoderelease", reply: `{"errcode":0,"errmsg":"ok"}`})
	require.NoError(t, e.c.RevertRelease(ctx))
	e.expect(t, call{method: "GET", path: "/wxa/undocodeaudit", reply: `{"errcode":0,"errmsg":"ok"}`})
	require.NoError(t, e.c.UndoAudit(ctx))
	e.expect(t, call{method: "GET", path: "/wxa/revertcoderelease", query: url.Values{"action": {"get_history_version"}},
		reply: `{"errcode":0,"errmsg":"ok","version_list":[{"commit_time":10,"user_version":"v1","user_desc":"a","app_version":3}]}`})
	h, err := e.c.ReleaseHistory(ctx)
	require.NoError(t, err)
	assert.Equal(t, []miniprogram.ReleaseVersion{{AppVersion: 3, UserVersion: "v1", UserDesc: "a", CommitTime: time.Unix(10, 0)}}, h)

	for _, code := range []wxerr.Code{87011, 87012, -1} {
		e := setup(t)
		e.mt.RegisterResponder("GET", base+"/wxa/revertcoderelease", httpmock.NewStringResponder(200, `{"errcode":`+itoa(int(code))+`,"errmsg":"x"}`))
		assert.Equal(t, code, wxerr.CodeOf(e.c.RevertRelease(ctx)))
		assert.Equal(t, 1, e.mt.GetTotalCallCount())
	}
	for _, code := range []wxerr.Code{87013, 85019, 85021, -1} {
		e := setup(t)
		e.mt.RegisterResponder("GET", base+"/wxa/undocodeaudit", httpmock.NewStringResponder(200, `{"errcode":`+itoa(int(code))+`,"errmsg":"x"}`))
		assert.Equal(t, code, wxerr.CodeOf(e.c.UndoAudit(ctx)))
		assert.Equal(t, 1, e.mt.GetTotalCallCount())
	}
	e = setup(t)
	e.mt.RegisterResponder("GET", base+"/wxa/revertcoderelease", httpmock.NewStringResponder(200, `{"errcode":87012,"errmsg":"x"}`))
	_, err = e.c.ReleaseHistory(ctx)
	assert.True(t, errors.Is(err, &wxerr.APIError{Code: 87012}))
}
