package miniprogram_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestAuditQuota(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "GET", path: "/wxa/queryquota", reply: `{"errcode":0,"rest":18,"limit":20,"speedup_rest":2,"speedup_limit":3}`})
	q, err := e.c.AuditQuota(ctx)
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.AuditQuota{Rest: 18, Limit: 20, SpeedUpRest: 2, SpeedUpLimit: 3}, q)
}

func TestSpeedUpAudit(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/speedupaudit", body: `{"auditid":42}`, reply: `{"errcode":89404,"errmsg":"already"}`})
	err := e.c.SpeedUpAudit(ctx, 42)
	assert.Equal(t, wxerr.CodeSpeedUpAlreadyDone, wxerr.CodeOf(err))
	assert.Contains(t, err.Error(), "already expedited")
	requireInvalid(t, e.c.SpeedUpAudit(ctx, 0), "auditid")
	assert.Equal(t, 1, e.calls("POST", "/wxa/speedupaudit"), "a write is sent once")
}

func TestVersionInfo(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/getversioninfo", body: `{}`,
		reply: `{"errcode":0,"exp_info":{"exp_time":1700000000,"exp_version":"1.1","exp_desc":"new"},"release_info":{"release_time":1690000000,"release_version":"1.0","release_desc":"first"}}`})
	v, err := e.c.VersionInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.VersionDetail{Time: time.Unix(1700000000, 0), Version: "1.1", Description: "new"}, v.Trial)
	assert.Equal(t, "1.0", v.Release.Version)

	e.expect(t, call{method: "POST", path: "/wxa/getversioninfo", body: `{}`, reply: `{"errcode":0}`})
	v, err = e.c.VersionInfo(ctx)
	require.NoError(t, err)
	assert.Nil(t, v.Trial)
	assert.Nil(t, v.Release)
}

func TestUploadAuditMedia(t *testing.T) {
	e := setup(t)
	img := pngImage(t)
	e.mt.RegisterResponder("POST", base+"/wxa/uploadmedia", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, "auth-1", r.URL.Query().Get("access_token"))
		data, h, err := formFile(r)
		require.NoError(t, err)
		assert.Equal(t, "shot.png", h.Filename)
		assert.Equal(t, "image/png", h.Header.Get("Content-Type"))
		assert.Equal(t, img, data)
		return httpmock.NewStringResponse(200, `{"errcode":0,"type":"image","mediaid":"M1"}`), nil
	})
	m, err := e.c.UploadAuditMedia(ctx, "shot.png", img)
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.AuditMedia{Type: "image", MediaID: "M1"}, m)

	mp4 := append([]byte{0, 0, 0, 0x18}, []byte("ftypmp42")...)
	big := append(append([]byte{}, img...), make([]byte, 2<<20)...)
	for _, tc := range []struct {
		name, field string
		data        []byte
	}{{"", "filename", img}, {"a.txt", "media", []byte("hello")}, {"big.png", "media", big},
		{"big.mp4", "media", append(mp4, make([]byte, 20<<20)...)}} {
		_, err := e.c.UploadAuditMedia(ctx, tc.name, tc.data)
		requireInvalid(t, err, tc.field)
	}
	assert.Equal(t, 1, e.mt.GetTotalCallCount())
}

func TestGrayRelease(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/grayrelease", body: `{"gray_percentage":10}`, reply: `{"errcode":0}`})
	require.NoError(t, e.c.GrayRelease(ctx, miniprogram.GrayReleaseRequest{Percentage: 10}))
	e.expect(t, call{method: "POST", path: "/wxa/grayrelease", body: `{"gray_percentage":50,"support_experiencer_first":true}`, reply: `{"errcode":0}`})
	require.NoError(t, e.c.GrayRelease(ctx, miniprogram.GrayReleaseRequest{Percentage: 50, SupportExperiencerFirst: true}))
	requireInvalid(t, e.c.GrayRelease(ctx, miniprogram.GrayReleaseRequest{}), "gray_percentage")
	requireInvalid(t, e.c.GrayRelease(ctx, miniprogram.GrayReleaseRequest{Percentage: 101}), "gray_percentage")

	e.expect(t, call{method: "GET", path: "/wxa/getgrayreleaseplan",
		reply: `{"errcode":0,"gray_release_plan":{"status":1,"create_timestamp":1700000000,"gray_percentage":50,"support_experiencer_first":true,"support_debuger_first":false}}`})
	p, err := e.c.GrayReleasePlan(ctx)
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.GrayReleasePlan{Status: miniprogram.GrayRunning, CreateTimestamp: time.Unix(1700000000, 0), Percentage: 50, SupportExperiencerFirst: true}, p)

	e.expect(t, call{method: "GET", path: "/wxa/revertgrayrelease", reply: `{"errcode":0}`})
	require.NoError(t, e.c.RevertGrayRelease(ctx))
}

func TestVisitStatus(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/change_visitstatus", body: `{"action":"close"}`, reply: `{"errcode":0}`})
	require.NoError(t, e.c.SetVisitStatus(ctx, miniprogram.VisitClose))
	requireInvalid(t, e.c.SetVisitStatus(ctx, "pause"), "action")
	e.expect(t, call{method: "POST", path: "/wxa/getvisitstatus", body: `{}`, reply: `{"errcode":0,"status":1}`})
	st, err := e.c.VisitStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.VisitStatusClosed, st)
	e.expect(t, call{method: "POST", path: "/wxa/getvisitstatus", body: `{}`, reply: `{"errcode":0}`})
	_, err = e.c.VisitStatus(ctx)
	require.Error(t, err)
}

func TestTesters(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/bind_tester", body: `{"wechatid":"noodle_boss"}`, reply: `{"errcode":0,"userstr":"U1"}`})
	u, err := e.c.BindTester(ctx, "noodle_boss")
	require.NoError(t, err)
	assert.Equal(t, "U1", u)
	e.expect(t, call{method: "POST", path: "/wxa/unbind_tester", body: `{"userstr":"U1"}`, reply: `{"errcode":0}`})
	require.NoError(t, e.c.UnbindTester(ctx, miniprogram.Tester{UserStr: "U1"}))
	e.expect(t, call{method: "POST", path: "/wxa/unbind_tester", body: `{"wechatid":"noodle_boss"}`, reply: `{"errcode":0}`})
	require.NoError(t, e.c.UnbindTester(ctx, miniprogram.Tester{WeChatID: "noodle_boss"}))
	e.expect(t, call{method: "POST", path: "/wxa/memberauth", body: `{"action":"get_experiencer"}`, reply: `{"errcode":0,"members":[{"userstr":"U1"},{"userstr":"U2"}]}`})
	list, err := e.c.Testers(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"U1", "U2"}, list)
	n := e.mt.GetTotalCallCount()

	for _, id := range []string{"", "1abcdef", "ab", "abc def", "a234567890123456789012"} {
		_, err := e.c.BindTester(ctx, id)
		requireInvalid(t, err, "wechatid")
	}
	requireInvalid(t, e.c.UnbindTester(ctx, miniprogram.Tester{}), "wechatid")
	requireInvalid(t, e.c.UnbindTester(ctx, miniprogram.Tester{WeChatID: "noodle_boss", UserStr: "U1"}), "wechatid")
	assert.Equal(t, n, e.mt.GetTotalCallCount())
}
