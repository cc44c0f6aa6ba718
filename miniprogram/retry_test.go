package miniprogram_test

import (
	"net/http"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Every call that sends a request, against WeChat's -1 (system busy): writes, and the single-use login
// code, are sent once; reads are retried.
func TestWritesAreSentOnceReadsAreRetried(t *testing.T) {
	busy := `{"errcode":-1,"errmsg":"system error"}`
	for _, tc := range []struct {
		name   string
		method string
		path   string
		write  bool
		call   func(e *env) error
	}{
		{"Commit", "POST", "/wxa/commit", true, func(e *env) error {
			return e.c.Commit(ctx, miniprogram.CommitRequest{ExtJSON: miniprogram.ExtJSON{}, UserVersion: "1", UserDesc: "d"})
		}},
		{"SubmitAudit", "POST", "/wxa/submit_audit", true, func(e *env) error {
			_, err := e.c.SubmitAudit(ctx, miniprogram.SubmitAuditRequest{ItemList: []miniprogram.AuditItem{item(1)}})
			return err
		}},
		{"Release", "POST", "/wxa/release", true, func(e *env) error { return e.c.Release(ctx) }},
		{"RevertRelease", "GET", "/wxa/revertcoderelease", true, func(e *env) error { return e.c.RevertRelease(ctx) }},
		{"UndoAudit", "GET", "/wxa/undocodeaudit", true, func(e *env) error { return e.c.UndoAudit(ctx) }},
		{"ModifyDomain add", "POST", "/wxa/modify_domain", true, func(e *env) error {
			_, err := e.c.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainAdd, RequestDomain: []string{"https://a.example"}})
			return err
		}},
		{"SetWebviewDomain set", "POST", "/wxa/setwebviewdomain", true, func(e *env) error {
			_, err := e.c.SetWebviewDomain(ctx, miniprogram.DomainSet, nil)
			return err
		}},
		{"SetNickname", "POST", "/wxa/setnickname", true, func(e *env) error {
			_, err := e.c.SetNickname(ctx, miniprogram.SetNicknameRequest{NickName: "咖啡小店"})
			return err
		}},
		{"SetSignature", "POST", "/cgi-bin/account/modifysignature", true, func(e *env) error { return e.c.SetSignature(ctx, "一家咖啡店") }},
		{"UploadTempMedia", "POST", "/cgi-bin/media/upload", true, func(e *env) error {
			_, err := e.c.UploadTempMedia(ctx, miniprogram.MediaImage, "a.png", pngImage(t))
			return err
		}},
		{"SetHeadImage", "POST", "/cgi-bin/account/modifyheadimage", true, func(e *env) error {
			e.mt.RegisterResponder("POST", base+"/cgi-bin/media/upload", httpmock.NewStringResponder(200, `{"type":"image","media_id":"M","created_at":1}`))
			return e.c.SetHeadImage(ctx, pngImage(t), miniprogram.Crop{})
		}},
		{"Login", "GET", "/sns/component/jscode2session", true, func(e *env) error { _, err := e.c.Login(ctx, "CODE"); return err }},
		{"FastRegistration.Create", "POST", "/cgi-bin/component/fastregisterweapp", true, func(e *env) error {
			return miniprogram.NewFastRegistration(e.caller, e.comp).Create(ctx, miniprogram.FastRegisterRequest{Name: "n",
				Code: "91440300MA5XXXXXX1", CodeType: miniprogram.CodeTypeCreditCode, LegalPersonaWechat: "w", LegalPersonaName: "p"})
		}},

		{"QRCode", "GET", "/wxa/get_qrcode", false, func(e *env) error { _, err := e.c.QRCode(ctx, ""); return err }},
		{"Categories", "GET", "/wxa/get_category", false, func(e *env) error { _, err := e.c.Categories(ctx); return err }},
		{"Pages", "GET", "/wxa/get_page", false, func(e *env) error { _, err := e.c.Pages(ctx); return err }},
		{"AuditStatus", "POST", "/wxa/get_auditstatus", false, func(e *env) error { _, err := e.c.AuditStatus(ctx, 7); return err }},
		{"LatestAuditStatus", "GET", "/wxa/get_latest_auditstatus", false, func(e *env) error { _, err := e.c.LatestAuditStatus(ctx); return err }},
		{"ReleaseHistory", "GET", "/wxa/revertcoderelease", false, func(e *env) error { _, err := e.c.ReleaseHistory(ctx); return err }},
		{"ModifyDomain get", "POST", "/wxa/modify_domain", false, func(e *env) error {
			_, err := e.c.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainGet})
			return err
		}},
		{"SetWebviewDomain get", "POST", "/wxa/setwebviewdomain", false, func(e *env) error {
			_, err := e.c.SetWebviewDomain(ctx, miniprogram.DomainGet, nil)
			return err
		}},
		{"BasicInfo", "GET", "/cgi-bin/account/getaccountbasicinfo", false, func(e *env) error { _, err := e.c.BasicInfo(ctx); return err }},
		{"FastRegistration.Search", "POST", "/cgi-bin/component/fastregisterweapp", false, func(e *env) error {
			_, err := miniprogram.NewFastRegistration(e.caller, e.comp).Search(ctx, "n", "w", "p")
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			e.mt.RegisterResponder(tc.method, base+tc.path, func(*http.Request) (*http.Response, error) {
				r := httpmock.NewStringResponse(200, busy)
				r.Header.Set("Content-Type", "application/json")
				return r, nil
			})
			err := tc.call(e)
			require.True(t, wxerr.IsTemporary(err), "%v", err)
			n := e.calls(tc.method, tc.path)
			if tc.write {
				assert.Equal(t, 1, n, "a write is never sent twice")
			} else {
				assert.Greater(t, n, 1, "a read is retried after -1")
			}
		})
	}
}
