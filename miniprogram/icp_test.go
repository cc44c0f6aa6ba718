package miniprogram_test

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

// icpTables registers the four look-up tables the application is checked against.
func (e *env) icpTables(t *testing.T) {
	e.expect(t, call{method: "GET", path: "/wxa/icp/query_icp_subject_types", reply: `{"errcode":0,"items":[{"type":1,"name":"企业","remark":""},{"type":5,"name":"个人","remark":""}]}`})
	e.expect(t, call{method: "GET", path: "/wxa/icp/query_icp_certificate_types", reply: `{"errcode":0,"items":[{"type":1,"subject_type":1,"name":"营业执照"},{"type":2,"subject_type":5,"name":"居民身份证"}]}`})
	e.expect(t, call{method: "GET", path: "/wxa/icp/query_icp_service_content_types", reply: `{"errcode":0,"items":[{"type":1,"parent_type":0,"name":"生活服务"},{"type":11,"parent_type":1,"name":"餐饮"},{"type":12,"parent_type":1,"name":"外卖"}]}`})
	e.expect(t, call{method: "GET", path: "/wxa/icp/query_icp_nrlx_types", reply: `{"errcode":0,"items":[{"type":23,"name":"以上都不涉及"},{"type":2,"name":"新闻"}]}`})
}

func TestICPLookupsCachedPerPlatform(t *testing.T) {
	e := setup(t)
	now := time.Unix(1700000000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	l := miniprogram.NewICPLookups(time.Hour, clock)
	e.expect(t, call{method: "GET", path: "/wxa/icp/query_icp_district_code",
		reply: `{"errcode":0,"items":[{"type":1,"code":110000,"name":"北京市","sub_list":[{"type":2,"code":"110100","name":"市辖区","sub_list":[{"type":3,"code":110105,"name":"朝阳区"}]}]}]}`})
	a := miniprogram.NewWithICPLookups(authorizer.New("wxAPP", e.caller, &tokens{name: "auth"}, e.comp), l)
	// A second merchant's client shares the cache: the table is the regulator's, not the merchant's.
	other := miniprogram.NewWithICPLookups(authorizer.New("wxOTHER", e.caller, &tokens{name: "auth"}, e.comp), l)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := a.ICP().Districts(ctx)
			assert.NoError(t, err)
			if assert.Len(t, d, 1) {
				assert.Equal(t, miniprogram.ICPAreaCode("110000"), d[0].Code)
				assert.Equal(t, miniprogram.ICPAreaCode("110105"), d[0].SubList[0].SubList[0].Code)
			}
		}()
	}
	wg.Wait()
	d, err := other.ICP().Districts(ctx)
	require.NoError(t, err)
	require.Len(t, d, 1)
	assert.Equal(t, 1, e.calls("GET", "/wxa/icp/query_icp_district_code"))
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	_, err = a.ICP().Districts(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, e.calls("GET", "/wxa/icp/query_icp_district_code"), "read again after the TTL")
	l.Forget()
	_, err = a.ICP().Districts(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, e.calls("GET", "/wxa/icp/query_icp_district_code"))

	// Without a cache every read asks WeChat; an error is not cached.
	e.icpTables(t)
	for i := 0; i < 2; i++ {
		st, err := e.c.ICP().SubjectTypes(ctx)
		require.NoError(t, err)
		assert.Equal(t, []miniprogram.ICPSubjectType{{Type: 1, Name: "企业"}, {Type: 5, Name: "个人"}}, st)
	}
	assert.Equal(t, 2, e.calls("GET", "/wxa/icp/query_icp_subject_types"))
	ct, err := e.c.ICP().CertificateTypes(ctx)
	require.NoError(t, err)
	assert.Equal(t, 5, ct[1].SubjectType)
	sc, err := e.c.ICP().ServiceContentTypes(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, sc[1].ParentType)
	nx, err := e.c.ICP().NrlxTypes(ctx)
	require.NoError(t, err)
	assert.Equal(t, "以上都不涉及", nx[0].Name)

	e.expect(t, call{method: "GET", path: "/wxa/icp/query_icp_nrlx_types", reply: `{"errcode":61007,"errmsg":"api unauthorized"}`})
	c := miniprogram.NewWithICPLookups(authorizer.New("wxAPP", e.caller, &tokens{name: "auth"}, e.comp), miniprogram.NewICPLookups(0, nil))
	_, err = c.ICP().NrlxTypes(ctx)
	assert.Equal(t, wxerr.Code(61007), wxerr.CodeOf(err))
	e.expect(t, call{method: "GET", path: "/wxa/icp/query_icp_nrlx_types", reply: `{"errcode":0,"items":[{"type":23,"name":"以上都不涉及"}]}`})
	nx, err = c.ICP().NrlxTypes(ctx)
	require.NoError(t, err)
	assert.Len(t, nx, 1)
}

func TestICPVerifyTask(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/icp/create_icp_verifytask", body: `{"along_with_auth":false}`, reply: `{"errcode":0,"task_id":"T1"}`})
	task, err := e.c.ICP().CreateVerifyTask(ctx, false)
	require.NoError(t, err)
	assert.Equal(t, "T1", task.TaskID)
	e.expect(t, call{method: "POST", path: "/wxa/icp/create_icp_verifytask", body: `{"along_with_auth":true}`, reply: `{"errcode":0,"task_id":"T2","verify_url":"https://x/verify"}`})
	task, err = e.c.ICP().CreateVerifyTask(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, "https://x/verify", task.VerifyURL)
	e.expect(t, call{method: "POST", path: "/wxa/icp/create_icp_verifytask", body: `{"along_with_auth":true}`, reply: `{"errcode":0}`})
	_, err = e.c.ICP().CreateVerifyTask(ctx, true)
	require.ErrorContains(t, err, "no task_id")

	e.expect(t, call{method: "POST", path: "/wxa/icp/query_icp_verifytask", body: `{"task_id":"T1"}`, reply: `{"errcode":0,"is_finish":false,"face_status":1}`})
	st, err := e.c.ICP().QueryVerifyTask(ctx, "T1")
	require.NoError(t, err)
	assert.False(t, st.Passed())
	assert.False(t, st.Failed())
	err = e.c.ICP().CheckVerifyTask(ctx, "T1")
	var fe *miniprogram.ICPFaceCheckError
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, err.Error(), "not finished")

	e.expect(t, call{method: "POST", path: "/wxa/icp/query_icp_verifytask", body: `{"task_id":"T1"}`, reply: `{"errcode":0,"is_finish":true,"face_status":2}`})
	err = e.c.ICP().CheckVerifyTask(ctx, "T1")
	require.ErrorAs(t, err, &fe)
	assert.True(t, fe.Status.Failed())
	assert.Contains(t, err.Error(), "create a new task")

	e.expect(t, call{method: "POST", path: "/wxa/icp/query_icp_verifytask", body: `{"task_id":"T1"}`, reply: `{"errcode":0,"is_finish":true,"face_status":3,"along_with_auth_result":9}`})
	require.NoError(t, e.c.ICP().CheckVerifyTask(ctx, "T1"))

	n := e.mt.GetTotalCallCount()
	_, err = e.c.ICP().QueryVerifyTask(ctx, "")
	requireInvalid(t, err, "task_id")
	assert.Equal(t, n, e.mt.GetTotalCallCount())
}

func TestICPUploadMedia(t *testing.T) {
	e := setup(t)
	img := pngImage(t)
	e.mt.RegisterResponder("POST", base+"/wxa/icp/upload_icp_media", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, url.Values{"access_token": {"auth-1"}}, r.URL.Query())
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		require.NoError(t, err)
		assert.Equal(t, "multipart/form-data", mt)
		mr := multipart.NewReader(r.Body, params["boundary"])
		form, err := mr.ReadForm(10 << 20)
		require.NoError(t, err)
		assert.Equal(t, []string{"image"}, form.Value["type"])
		assert.Equal(t, []string{"icp_subject.principal_info.certificate_photo_front"}, form.Value["icp_order_field"])
		assert.Equal(t, []string{"2"}, form.Value["certificate_type"])
		require.Len(t, form.File["media"], 1)
		fh := form.File["media"][0]
		assert.Equal(t, "front.png", fh.Filename)
		assert.Equal(t, "image/png", fh.Header.Get("Content-Type"))
		f, _ := fh.Open()
		b, _ := io.ReadAll(f)
		assert.Equal(t, img, b)
		return httpmock.NewStringResponse(200, `{"errcode":0,"type":"image","media_id":"M1","created_at":1700000000}`), nil
	})
	m, err := e.c.ICP().UploadMedia(ctx, miniprogram.ICPMediaUpload{Kind: miniprogram.ICPMediaImage,
		OrderField: "icp_subject.principal_info.certificate_photo_front", CertificateType: 2, FileName: "front.png", Data: img})
	require.NoError(t, err)
	assert.Equal(t, "M1", m.MediaID)
	assert.Equal(t, time.Unix(1700000000, 0), m.CreatedAt)

	mp4 := append([]byte{0, 0, 0, 24}, []byte("ftypisom0000")...)
	for _, tc := range []struct {
		u     miniprogram.ICPMediaUpload
		field string
	}{
		{miniprogram.ICPMediaUpload{Kind: "image", OrderField: "", FileName: "a.png", Data: img}, "icp_order_field"},
		{miniprogram.ICPMediaUpload{Kind: "image", OrderField: "elsewhere.x", FileName: "a.png", Data: img}, "icp_order_field"},
		{miniprogram.ICPMediaUpload{Kind: "image", OrderField: "icp_materials.", FileName: "a.png", Data: img}, "icp_order_field"},
		{miniprogram.ICPMediaUpload{Kind: "image", OrderField: "icp_materials.x", CertificateType: -1, FileName: "a.png", Data: img}, "certificate_type"},
		{miniprogram.ICPMediaUpload{Kind: "image", OrderField: "icp_materials.x", Data: img}, "filename"},
		{miniprogram.ICPMediaUpload{Kind: "image", OrderField: "icp_materials.x", FileName: "a.png"}, "media"},
		{miniprogram.ICPMediaUpload{Kind: "image", OrderField: "icp_materials.x", FileName: "a.png", Data: []byte("GIF89a......")}, "media"},
		{miniprogram.ICPMediaUpload{Kind: "image", OrderField: "icp_materials.x", FileName: "a.png", Data: append(img, make([]byte, miniprogram.MaxICPImageSize)...)}, "media"},
		{miniprogram.ICPMediaUpload{Kind: "video", OrderField: "icp_materials.promise_video", FileName: "v.mp4", Data: img}, "media"},
		{miniprogram.ICPMediaUpload{Kind: "audio", OrderField: "icp_materials.x", FileName: "a.mp3", Data: mp4}, "type"},
	} {
		_, err := e.c.ICP().UploadMedia(ctx, tc.u)
		requireInvalid(t, err, tc.field)
	}
	assert.Equal(t, 1, e.calls("POST", "/wxa/icp/upload_icp_media"))
}

func TestICPEntranceOrderMediaWithdrawCancel(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "GET", path: "/wxa/icp/get_icp_entrance_info",
		reply: `{"errcode":0,"info":{"status":5,"is_canceling":false,"available":1,"audit_data":[{"key_name":"icp_subject.base_info.address","error":"地址不详","suggest":"写到门牌号"}]}}`})
	info, err := e.c.ICP().EntranceInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.ICPRegulatorRejected, info.Status)
	assert.True(t, info.CanApply())
	assert.Equal(t, "写到门牌号", info.AuditData[0].Suggest)
	assert.Contains(t, info.Status.Next(), "face check")

	e.expect(t, call{method: "GET", path: "/wxa/icp/get_online_icp_order",
		reply: `{"errcode":0,"icp_subject":{"base_info":{"type":1,"name":"面馆","record_number":"京ICP备1号"}},"icp_applets":{"base_info":{"appid":"wxAPP","record_number":"京ICP备1号-1X"}}}`})
	o, err := e.c.ICP().OnlineOrder(ctx)
	require.NoError(t, err)
	assert.Equal(t, "京ICP备1号-1X", o.Applets.BaseInfo.RecordNumber)

	e.expect(t, call{method: "GET", path: "/wxa/icp/get_icp_media", query: url.Values{"media_id": {"M1"}}, reply: "PNGDATA", ctype: "image/png"})
	b, ct, err := e.c.ICP().Media(ctx, "M1")
	require.NoError(t, err)
	assert.Equal(t, "PNGDATA", string(b))
	assert.Equal(t, "image/png", ct)
	_, _, err = e.c.ICP().Media(ctx, "")
	requireInvalid(t, err, "media_id")

	e.expect(t, call{method: "POST", path: "/wxa/icp/cancel_apply_icp_filing", body: `{}`, reply: `{"errcode":86330,"errmsg":"not withdrawable"}`})
	err = e.c.ICP().WithdrawApplication(ctx)
	assert.Equal(t, wxerr.CodeICPNotWithdrawable, wxerr.CodeOf(err))
	assert.Contains(t, err.Error(), "wait for the review outcome")

	e.expect(t, call{method: "POST", path: "/wxa/icp/cancel_icp_filing", body: `{"cancel_type":2,"reason_type":1}`, reply: `{"errcode":0}`})
	require.NoError(t, e.c.ICP().CancelFiling(ctx, miniprogram.ICPCancelMiniProgram, miniprogram.ICPCancelNoLongerOperated))
	e.expect(t, call{method: "POST", path: "/wxa/icp/cancel_icp_filing", body: `{"cancel_type":1}`, reply: `{"errcode":86353}`})
	assert.Equal(t, wxerr.CodeICPNotFiled, wxerr.CodeOf(e.c.ICP().CancelFiling(ctx, miniprogram.ICPCancelSubject, 0)))
	n := e.mt.GetTotalCallCount()
	requireInvalid(t, e.c.ICP().CancelFiling(ctx, 0, 0), "cancel_type")
	requireInvalid(t, e.c.ICP().CancelFiling(ctx, 4, 0), "cancel_type")
	requireInvalid(t, e.c.ICP().CancelFiling(ctx, 2, 3), "reason_type")
	assert.Equal(t, n, e.mt.GetTotalCallCount())
}

func TestICPStatusNext(t *testing.T) {
	for _, s := range []miniprogram.ICPStatus{1024, 1025, 1026, 1027, 1028, 1029, 1030, 1031, 2, 3, 4, 5, 6} {
		assert.NotContains(t, s.String(), "ICPStatus(", s)
		assert.NotContains(t, s.Next(), "unknown", s)
	}
	assert.Contains(t, miniprogram.ICPStatus(9).String(), "ICPStatus(9)")
	assert.Contains(t, miniprogram.ICPStatus(9).Next(), "unknown")
	assert.True(t, miniprogram.ICPFiled.Filed())
	assert.True(t, miniprogram.ICPPlatformReview.Withdrawable())
	assert.False(t, miniprogram.ICPRegulatorReview.Withdrawable())
	assert.True(t, miniprogram.ICPRegulatorReview.InReview())
	assert.False(t, miniprogram.ICPNotFiledNoCategory.CanApply())
	assert.Contains(t, miniprogram.ICPNotFiledNoCategory.Next(), "category")
	assert.Contains(t, miniprogram.ICPNotFiledNotVerified.Next(), "verification")
}

func TestICPApplyHints(t *testing.T) {
	e := setup(t)
	e.icpTables(t)
	app := validICPApplication()
	e.expect(t, call{method: "POST", path: "/wxa/icp/apply_icp_filing", body: validICPApplicationJSON,
		reply: `{"errcode":86202,"errmsg":"apply icp filing fail","hints":[{"errcode":86328,"errmsg":"cannot read the image","err_field":"icp_subject.organize_info.certificate_photo"}]}`})
	err := e.c.ICP().Apply(ctx, app)
	var ae *miniprogram.ICPApplyError
	require.ErrorAs(t, err, &ae)
	require.Len(t, ae.Hints, 1)
	assert.Equal(t, "icp_subject.organize_info.certificate_photo", ae.Hints[0].ErrField)
	assert.Equal(t, wxerr.CodeICPImageUnreadable, ae.Hints[0].ErrCode)
	assert.ErrorIs(t, err, wxerr.ErrICPApplyFailed)
	assert.Contains(t, err.Error(), "icp_subject.organize_info.certificate_photo: 86328")
	assert.Empty(t, app.Applets.BaseInfo.AppID, "the caller's application is not modified")

	e.expect(t, call{method: "POST", path: "/wxa/icp/apply_icp_filing", body: validICPApplicationJSON, reply: `{"errcode":86358,"errmsg":"unfinished order"}`})
	err = e.c.ICP().Apply(ctx, app)
	require.False(t, errors.As(err, &ae), "no hints: the plain APIError")
	assert.Equal(t, wxerr.CodeICPUnfinishedOrder, wxerr.CodeOf(err))

	e.expect(t, call{method: "POST", path: "/wxa/icp/apply_icp_filing", body: validICPApplicationJSON, reply: `{"errcode":0}`})
	require.NoError(t, e.c.ICP().Apply(ctx, app))
	assert.Equal(t, 1, e.calls("POST", "/wxa/icp/apply_icp_filing"))
	n := e.mt.GetTotalCallCount()

	other := validICPApplication()
	other.Applets.BaseInfo.AppID = "wxOTHER"
	requireInvalid(t, e.c.ICP().Apply(ctx, other), "icp_applets.base_info.appid")
	requireInvalid(t, e.c.ICP().Apply(ctx, nil), "application")
	assert.Equal(t, n, e.mt.GetTotalCallCount())
}
