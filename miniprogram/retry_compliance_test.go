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

// The compliance calls against WeChat's -1: writes (and uploads, applications, expedites) are sent
// once, reads are retried.
func TestComplianceWritesSentOnceReadsRetried(t *testing.T) {
	busy := `{"errcode":-1,"errmsg":"system error"}`
	guide := miniprogram.PrivacySetting{Owner: owner, Items: []miniprogram.PrivacyItem{{Key: "Location", Text: "附近门店"}}}
	cat := miniprogram.CategoryApplication{First: 1, Second: 2}
	for _, tc := range []struct {
		name, method, path string
		write              bool
		call               func(e *env) error
	}{
		{"SetSetting", "POST", "/cgi-bin/component/setprivacysetting", true, func(e *env) error { return e.c.Privacy().SetSetting(ctx, guide) }},
		{"UploadExtFile", "POST", "/cgi-bin/component/uploadprivacyextfile", true, func(e *env) error {
			_, err := e.c.Privacy().UploadExtFile(ctx, "g.txt", []byte("x"))
			return err
		}},
		{"ApplyInterface", "POST", "/wxa/security/apply_privacy_interface", true, func(e *env) error {
			_, err := e.c.Privacy().ApplyInterface(ctx, miniprogram.ApplyInterfaceRequest{APIName: "wx.getLocation", Content: "x", URLList: []string{"https://a.cn"}})
			return err
		}},
		{"AddCategories", "POST", "/cgi-bin/wxopen/addcategory", true, func(e *env) error { return e.c.AddCategories(ctx, cat) }},
		{"DeleteCategory", "POST", "/cgi-bin/wxopen/deletecategory", true, func(e *env) error { return e.c.DeleteCategory(ctx, 1, 2) }},
		{"ModifyCategory", "POST", "/cgi-bin/wxopen/modifycategory", true, func(e *env) error {
			return e.c.ModifyCategory(ctx, miniprogram.CategoryApplication{First: 1, Second: 2, Certificates: []miniprogram.Certificate{{Key: "k", Value: "v"}}})
		}},
		{"SpeedUpAudit", "POST", "/wxa/speedupaudit", true, func(e *env) error { return e.c.SpeedUpAudit(ctx, 1) }},
		{"UploadAuditMedia", "POST", "/wxa/uploadmedia", true, func(e *env) error {
			_, err := e.c.UploadAuditMedia(ctx, "a.png", pngImage(t))
			return err
		}},
		{"GrayRelease", "POST", "/wxa/grayrelease", true, func(e *env) error {
			return e.c.GrayRelease(ctx, miniprogram.GrayReleaseRequest{Percentage: 1})
		}},
		{"RevertGrayRelease", "GET", "/wxa/revertgrayrelease", true, func(e *env) error { return e.c.RevertGrayRelease(ctx) }},
		{"SetVisitStatus", "POST", "/wxa/change_visitstatus", true, func(e *env) error { return e.c.SetVisitStatus(ctx, miniprogram.VisitOpen) }},
		{"BindTester", "POST", "/wxa/bind_tester", true, func(e *env) error { _, err := e.c.BindTester(ctx, "boss_wx01"); return err }},
		{"UnbindTester", "POST", "/wxa/unbind_tester", true, func(e *env) error { return e.c.UnbindTester(ctx, miniprogram.Tester{UserStr: "u"}) }},
		{"ModifyDomainDirectly add", "POST", "/wxa/modify_domain_directly", true, func(e *env) error {
			_, err := e.c.ModifyDomainDirectly(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainAdd, RequestDomain: []string{"https://a.cn"}})
			return err
		}},
		{"SetWebviewDomainDirectly add", "POST", "/wxa/setwebviewdomain_directly", true, func(e *env) error {
			_, err := e.c.SetWebviewDomainDirectly(ctx, miniprogram.DomainAdd, []string{"https://a.cn"})
			return err
		}},

		{"Setting", "POST", "/cgi-bin/component/getprivacysetting", false, func(e *env) error { _, err := e.c.Privacy().Setting(ctx, 0); return err }},
		{"CodePrivacyInfo", "GET", "/wxa/security/get_code_privacy_info", false, func(e *env) error {
			_, err := e.c.Privacy().CodePrivacyInfo(ctx)
			return err
		}},
		{"Interfaces", "GET", "/wxa/security/get_privacy_interface", false, func(e *env) error { _, err := e.c.Privacy().Interfaces(ctx); return err }},
		{"AllCategories", "GET", "/cgi-bin/wxopen/getallcategories", false, func(e *env) error { _, err := e.c.AllCategories(ctx); return err }},
		{"CategoriesByType", "POST", "/cgi-bin/wxopen/getcategoriesbytype", false, func(e *env) error { _, err := e.c.CategoriesByType(ctx, 1); return err }},
		{"AccountCategories", "GET", "/cgi-bin/wxopen/getcategory", false, func(e *env) error { _, err := e.c.AccountCategories(ctx); return err }},
		{"AuditQuota", "GET", "/wxa/queryquota", false, func(e *env) error { _, err := e.c.AuditQuota(ctx); return err }},
		{"VersionInfo", "POST", "/wxa/getversioninfo", false, func(e *env) error { _, err := e.c.VersionInfo(ctx); return err }},
		{"GrayReleasePlan", "GET", "/wxa/getgrayreleaseplan", false, func(e *env) error { _, err := e.c.GrayReleasePlan(ctx); return err }},
		{"VisitStatus", "POST", "/wxa/getvisitstatus", false, func(e *env) error { _, err := e.c.VisitStatus(ctx); return err }},
		{"Testers", "POST", "/wxa/memberauth", false, func(e *env) error { _, err := e.c.Testers(ctx); return err }},
		{"EffectiveDomain", "POST", "/wxa/get_effective_domain", false, func(e *env) error { _, err := e.c.EffectiveDomain(ctx); return err }},
		{"WebviewDomainConfirmFile", "POST", "/wxa/get_webviewdomain_confirmfile", false, func(e *env) error {
			_, err := e.c.WebviewDomainConfirmFile(ctx)
			return err
		}},
		{"EffectiveWebviewDomain", "POST", "/wxa/get_effective_webviewdomain", false, func(e *env) error {
			_, err := e.c.EffectiveWebviewDomain(ctx)
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
			if tc.write {
				assert.Equal(t, 1, e.calls(tc.method, tc.path), "a write is never sent twice")
			} else {
				assert.Greater(t, e.calls(tc.method, tc.path), 1, "a read is retried after -1")
			}
		})
	}
}
