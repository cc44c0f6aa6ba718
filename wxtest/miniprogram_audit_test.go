package wxtest_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/wxtest"
)

func TestTesterLimits(t *testing.T) {
	m := newMPEnv(t)
	bind := func(id string) result {
		return m.call(http.MethodPost, "/wxa/bind_tester", map[string]string{"wechatid": id})
	}
	requireCode(t, 85001, bind("1nvalid"))
	r := bind("tester_00")
	requireCode(t, 0, r)
	requireCode(t, 85004, bind("tester_00"))
	for i := 1; i < 15; i++ {
		requireCode(t, 0, bind(fmt.Sprintf("tester_%02d", i)))
	}
	requireCode(t, 85002, bind("tester_15"), "15 testers per mini program")
	requireCode(t, 47001, m.call(http.MethodPost, "/wxa/unbind_tester", map[string]string{}))
	requireCode(t, 0, m.call(http.MethodPost, "/wxa/unbind_tester", map[string]string{"userstr": r.str("userstr")}))
	requireCode(t, 0, bind("tester_15"))
	requireCode(t, 40097, m.call(http.MethodPost, "/wxa/memberauth", map[string]string{"action": "get_member"}))
	list := m.call(http.MethodPost, "/wxa/memberauth", map[string]string{"action": "get_experiencer"})
	requireCode(t, 0, list)
	assert.Len(t, list["members"], 15)
}

func TestTesterOfTooManyApps(t *testing.T) {
	m := newMPEnv(t)
	for i := range 50 {
		app := fmt.Sprintf("wx%016d", 900+i)
		m.s.AddAuthorizer(wxtest.Authorizer{AppID: app, MiniProgram: true})
		tok, _ := m.authorize(m.ct, app)
		r := m.do(http.MethodPost, "/wxa/bind_tester", tokenQuery("access_token", tok), map[string]string{"wechatid": "busy_person"})
		requireCode(t, 0, r)
	}
	requireCode(t, 85003, m.call(http.MethodPost, "/wxa/bind_tester", map[string]string{"wechatid": "busy_person"}))
}

func TestAuditMediaAndSpeedUp(t *testing.T) {
	m := newMPEnv(t)
	requireCode(t, 40005, m.uploadTo("/wxa/uploadmedia", "media", "a.txt", []byte("hello")))
	requireCode(t, 40006, m.uploadTo("/wxa/uploadmedia", "media", "a.png", append(append([]byte{}, pngHeader...), make([]byte, 2<<20)...)))
	r := m.uploadTo("/wxa/uploadmedia", "media", "a.mp4", append([]byte{0, 0, 0, 0x18}, []byte("ftypmp42")...))
	requireCode(t, 0, r)
	assert.Equal(t, "video", r.str("type"))
	assert.NotEmpty(t, r.str("mediaid"))

	requireCode(t, 47001, m.call(http.MethodPost, "/wxa/speedupaudit", map[string]any{}))
	requireCode(t, 89402, m.call(http.MethodPost, "/wxa/speedupaudit", map[string]any{"auditid": 1}))
	m.s.SetAuditQuota(1, 0)
	requireCode(t, 0, m.commit("1.0.0", ""))
	id := m.submit()
	assert.Equal(t, 1, m.s.AuditsSubmitted())
	requireCode(t, 89405, m.call(http.MethodPost, "/wxa/speedupaudit", map[string]any{"auditid": id}))
	q := m.call(http.MethodGet, "/wxa/queryquota", nil)
	requireCode(t, 0, q)
	assert.Equal(t, 0, q.num("rest"))
	assert.Equal(t, 1, q.num("limit"))
	assert.Equal(t, 0, q.num("speedup_limit"))
}

func TestGrayAndVisitRules(t *testing.T) {
	m := newMPEnv(t)
	gray := func(body any) result { return m.call(http.MethodPost, "/wxa/grayrelease", body) }
	requireCode(t, 47001, gray(map[string]any{}))
	requireCode(t, 40097, gray(map[string]any{"gray_percentage": 0}))
	requireCode(t, 85019, gray(map[string]any{"gray_percentage": 5}))
	requireCode(t, 85021, m.call(http.MethodGet, "/wxa/revertgrayrelease", nil))
	requireCode(t, 40097, m.call(http.MethodPost, "/wxa/change_visitstatus", map[string]string{"action": "pause"}))
	requireCode(t, 85021, m.call(http.MethodPost, "/wxa/change_visitstatus", map[string]string{"action": "close"}))
	plan := m.call(http.MethodGet, "/wxa/getgrayreleaseplan", nil)
	requireCode(t, 0, plan)
	assert.Equal(t, 0, plan.obj("gray_release_plan").num("status"))
	v := m.call(http.MethodPost, "/wxa/getversioninfo", map[string]any{})
	requireCode(t, 0, v)
	assert.Nil(t, v["exp_info"])
	requireCode(t, 44002, m.call(http.MethodPost, "/wxa/getversioninfo", nil))
	require.NotNil(t, m)
}
