package miniprogram_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

var ctx = context.Background()

func TestSetNicknameWithMaterials(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/setnickname",
		body:  `{"nick_name":"好店Shop","license":"LIC","id_card":"IDC","naming_other_stuff_1":"S1","naming_other_stuff_2":"S2"}`,
		reply: `{"errcode":0,"errmsg":"ok","audit_id":12345,"wording":"name under review"}`})
	res, err := e.c.SetNickname(ctx, miniprogram.SetNicknameRequest{NickName: "好店Shop", IDCard: "IDC", License: "LIC",
		NamingOtherStuff: []string{"S1", "S2"}})
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.SetNicknameResult{AuditID: 12345, Wording: "name under review"}, res)
}

func TestSetNicknameMaterialChecks(t *testing.T) {
	e := setup(t)
	_, err := e.c.SetNickname(ctx, miniprogram.SetNicknameRequest{NickName: "好店Shop", NamingOtherStuff: []string{"1", "2", "3", "4", "5", "6"}})
	requireInvalid(t, err, "naming_other_stuff")
	_, err = e.c.SetNickname(ctx, miniprogram.SetNicknameRequest{NickName: "好店Shop", NamingOtherStuff: []string{"1", ""}})
	requireInvalid(t, err, "naming_other_stuff_2")
	assert.Zero(t, e.mt.GetTotalCallCount())
}

func TestSetNicknameErrcodes(t *testing.T) {
	for _, code := range []wxerr.Code{85029, 85030, 85031, 85032, 85033, 85034, 85035, 91002, 91009} {
		e := setup(t)
		e.expect(t, call{method: "POST", path: "/wxa/setnickname", body: `{"nick_name":"好店Shop"}`,
			reply: `{"errcode":` + itoa(int(code)) + `,"errmsg":"refused"}`})
		_, err := e.c.SetNickname(ctx, miniprogram.SetNicknameRequest{NickName: "好店Shop"})
		var ae *wxerr.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, code, ae.Code)
		assert.Equal(t, "POST /wxa/setnickname", ae.Op)
		assert.Equal(t, 1, e.mt.GetTotalCallCount(), "a rename is sent once")
	}
}

func TestUploadTempMediaOtherKinds(t *testing.T) {
	e := setup(t)
	e.mt.RegisterResponder("POST", base+"/cgi-bin/media/upload", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, "voice", r.URL.Query().Get("type"))
		f, h, err := formFile(r)
		require.NoError(t, err)
		assert.Equal(t, "hello.amr", h.Filename)
		assert.Equal(t, "application/octet-stream", h.Header.Get("Content-Type"))
		assert.Equal(t, "#!AMR....", string(f))
		return httpmock.NewStringResponse(200, `{"type":"voice","media_id":"V1","created_at":5}`), nil
	})
	m, err := e.c.UploadTempMedia(ctx, miniprogram.MediaVoice, "hello.amr", []byte("#!AMR...."))
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.Media{Type: miniprogram.MediaVoice, MediaID: "V1", CreatedAt: time.Unix(5, 0)}, m)
}

func TestUploadTempMediaChecks(t *testing.T) {
	e := setup(t)
	_, err := e.c.UploadTempMedia(ctx, "file", "a.png", pngImage(t))
	requireInvalid(t, err, "type")
	_, err = e.c.UploadTempMedia(ctx, miniprogram.MediaImage, "", pngImage(t))
	requireInvalid(t, err, "filename")
	_, err = e.c.UploadTempMedia(ctx, miniprogram.MediaVideo, "a.mp4", nil)
	requireInvalid(t, err, "media")
	assert.Zero(t, e.mt.GetTotalCallCount())
}

func TestUploadTempMediaErrors(t *testing.T) {
	e := setup(t)
	e.mt.RegisterResponder("POST", base+"/cgi-bin/media/upload", httpmock.NewStringResponder(200, `{"errcode":40005,"errmsg":"invalid file type"}`))
	_, err := e.c.UploadTempMedia(ctx, miniprogram.MediaImage, "a.png", pngImage(t))
	assert.Equal(t, wxerr.Code(40005), wxerr.CodeOf(err))

	e.mt.RegisterResponder("POST", base+"/cgi-bin/media/upload", httpmock.NewStringResponder(200, `{"type":"image"}`))
	_, err = e.c.UploadTempMedia(ctx, miniprogram.MediaImage, "a.png", pngImage(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no media_id")

	e.mt.RegisterResponder("POST", base+"/cgi-bin/media/upload", httpmock.NewStringResponder(200, `{"errcode":-1,"errmsg":"busy"}`))
	_, err = e.c.UploadTempMedia(ctx, miniprogram.MediaImage, "a.png", pngImage(t))
	assert.True(t, errors.Is(err, wxerr.ErrSystemBusy))
	assert.Equal(t, 3, e.mt.GetTotalCallCount(), "an upload is a write: sent once (plus the two earlier calls)")
}

func TestSetHeadImageCrop(t *testing.T) {
	e := setup(t)
	img := jpegImage(t)
	e.mt.RegisterResponder("POST", base+"/cgi-bin/media/upload", uploadResponder(t, "head.jpeg", "image/jpeg", len(img)))
	e.expect(t, call{method: "POST", path: "/cgi-bin/account/modifyheadimage",
		body: `{"head_img_media_id":"MEDIA","x1":"0.1","y1":"0","x2":"0.9","y2":"0.75"}`, reply: `{"errcode":0,"errmsg":"ok"}`})
	require.NoError(t, e.c.SetHeadImage(ctx, img, miniprogram.Crop{X1: 0.1, X2: 0.9, Y2: 0.75}))

	for _, bad := range []miniprogram.Crop{{X1: 0.5, X2: 0.5, Y2: 1}, {X2: 1.5, Y2: 1}, {X1: -0.1, X2: 1, Y2: 1}, {X2: 1, Y1: 1, Y2: 0.5}} {
		requireInvalid(t, e.c.SetHeadImage(ctx, img, bad), "crop")
	}
	assert.Equal(t, 1, e.calls("POST", "/cgi-bin/media/upload"))
}

func TestSetHeadImageUploadFailureStops(t *testing.T) {
	e := setup(t)
	e.mt.RegisterResponder("POST", base+"/cgi-bin/media/upload", httpmock.NewStringResponder(200, `{"errcode":40006,"errmsg":"too large"}`))
	err := e.c.SetHeadImage(ctx, pngImage(t), miniprogram.Crop{})
	assert.Equal(t, wxerr.Code(40006), wxerr.CodeOf(err))
	assert.Zero(t, e.calls("POST", "/cgi-bin/account/modifyheadimage"))
}

func TestSetHeadImageQuota(t *testing.T) {
	e := setup(t)
	img := pngImage(t)
	e.mt.RegisterResponder("POST", base+"/cgi-bin/media/upload", uploadResponder(t, "head.png", "image/png", len(img)))
	e.expect(t, call{method: "POST", path: "/cgi-bin/account/modifyheadimage",
		body: `{"head_img_media_id":"MEDIA","x1":"0","y1":"0","x2":"1","y2":"1"}`, reply: `{"errcode":85049,"errmsg":"quota"}`})
	assert.Equal(t, wxerr.CodeModifyQuotaReached, wxerr.CodeOf(e.c.SetHeadImage(ctx, img, miniprogram.Crop{})))
}

func TestSetSignatureErrcodes(t *testing.T) {
	for _, code := range []wxerr.Code{85036, 85049, 53200, 53201} {
		e := setup(t)
		e.expect(t, call{method: "POST", path: "/cgi-bin/account/modifysignature", body: `{"signature":"一个好店铺"}`,
			reply: `{"errcode":` + itoa(int(code)) + `,"errmsg":"no"}`})
		assert.Equal(t, code, wxerr.CodeOf(e.c.SetSignature(ctx, "一个好店铺")))
	}
}

func TestBasicInfo(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "GET", path: "/cgi-bin/account/getaccountbasicinfo", reply: `{"errcode":0,"errmsg":"ok",
		"appid":"wxAPP","account_type":2,"principal_type":1,"principal_name":"某某公司","credential":"91440300MA5XXXXX","realname_status":1,
		"customer_type":1,"registered_country":1,"nickname":"好店",
		"wx_verify_info":{"qualification_verify":true,"naming_verify":false,"annual_review":true,"annual_review_begin_time":100,"annual_review_end_time":200},
		"signature_info":{"signature":"卖咖啡","modify_used_count":1,"modify_quota":5},
		"head_image_info":{"head_image_url":"http://img/x","modify_used_count":2,"modify_quota":5},
		"nickname_info":{"nickname":"好店","modify_used_count":0,"modify_quota":2}}`})
	bi, err := e.c.BasicInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.BasicInfo{
		AppID: "wxAPP", AccountType: 2, PrincipalType: 1, PrincipalName: "某某公司", Credential: "91440300MA5XXXXX", RealnameStatus: 1,
		CustomerType: 1, RegisteredCountry: 1, Nickname: "好店",
		WxVerifyInfo:  miniprogram.WxVerifyInfo{QualificationVerify: true, AnnualReview: true, AnnualReviewBeginTime: time.Unix(100, 0), AnnualReviewEndTime: time.Unix(200, 0)},
		SignatureInfo: miniprogram.SignatureInfo{Signature: "卖咖啡", ModifyUsedCount: 1, ModifyQuota: 5},
		HeadImageInfo: miniprogram.HeadImageInfo{HeadImageURL: "http://img/x", ModifyUsedCount: 2, ModifyQuota: 5},
		NicknameInfo:  miniprogram.NicknameInfo{Nickname: "好店", ModifyQuota: 2},
	}, bi)
}

func TestBasicInfoIsRetriedAsARead(t *testing.T) {
	e := setup(t)
	n := 0
	e.mt.RegisterResponder("GET", base+"/cgi-bin/account/getaccountbasicinfo", func(*http.Request) (*http.Response, error) {
		n++
		if n == 1 {
			return httpmock.NewStringResponse(200, `{"errcode":-1,"errmsg":"busy"}`), nil
		}
		return httpmock.NewStringResponse(200, `{"appid":"wxAPP","nickname":"x"}`), nil
	})
	bi, err := e.c.BasicInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, "x", bi.Nickname)
	assert.Equal(t, 2, n)

	e.mt.RegisterResponder("GET", base+"/cgi-bin/account/getaccountbasicinfo", httpmock.NewStringResponder(200, `{"errcode":48001,"errmsg":"unauthorized"}`))
	_, err = e.c.BasicInfo(ctx)
	assert.Equal(t, wxerr.CodeAPIUnauthorizedForAccount, wxerr.CodeOf(err))
}

func TestNilClient(t *testing.T) {
	c := miniprogram.New(nil)
	assert.Empty(t, c.AppID())
	_, err := c.BasicInfo(ctx)
	requireInvalid(t, err, "authorizer")
	requireInvalid(t, c.SetHeadImage(ctx, pngImage(t), miniprogram.Crop{}), "authorizer")
	_, err = c.QRCode(ctx, "")
	requireInvalid(t, err, "authorizer")
	_, err = c.Login(ctx, "code")
	requireInvalid(t, err, "authorizer")
	_, err = c.DecryptUserInfo(miniprogram.UserData{SessionKey: "a", EncryptedData: "b", IV: "c"})
	requireInvalid(t, err, "authorizer")
}

func TestConcurrentCallsShareOneClient(t *testing.T) {
	e := setup(t)
	e.mt.RegisterResponder("GET", base+"/cgi-bin/account/getaccountbasicinfo", httpmock.NewStringResponder(200, `{"appid":"wxAPP","nickname":"n"}`))
	e.mt.RegisterResponder("POST", base+"/wxa/commit", httpmock.NewStringResponder(200, `{"errcode":0}`))
	done := make(chan error, 40)
	for i := 0; i < 20; i++ {
		go func() {
			_, err := e.c.BasicInfo(ctx)
			done <- err
		}()
		go func(i int) {
			done <- e.c.Commit(ctx, miniprogram.CommitRequest{TemplateID: int64(i), ExtJSON: &miniprogram.ExtJSON{}, UserVersion: "1", UserDesc: "d"})
		}(i)
	}
	for i := 0; i < 40; i++ {
		require.NoError(t, <-done)
	}
	assert.Equal(t, 20, e.calls("GET", "/cgi-bin/account/getaccountbasicinfo"))
	assert.Equal(t, 20, e.calls("POST", "/wxa/commit"))
}
