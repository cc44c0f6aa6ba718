package wxtest_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/wxtest"
)

const (
	pDraftList      = "/wxa/gettemplatedraftlist"
	pTemplateList   = "/wxa/gettemplatelist"
	pAddToTemplate  = "/wxa/addtotemplate"
	pDeleteTemplate = "/wxa/deletetemplate"
)

func TestCodeTemplates(t *testing.T) {
	start := time.Unix(1700000000, 0)
	e := newEnv(t, wxtest.WithStartTime(start))
	ct := e.componentToken()
	q := url.Values{"access_token": {ct}}

	d1 := e.s.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "1.0.0", UserDesc: "first", SourceMiniProgramAppID: miniApp,
		SourceMiniProgram: "dev app", Developer: "alice"})
	d2 := e.s.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "1.1.0", CreateTime: time.Unix(1600000000, 0)})
	require.NotEqual(t, d1, d2)

	r := e.do(http.MethodGet, pDraftList, q, nil)
	requireCode(t, 0, r)
	assert.Equal(t, "ok", r.str("errmsg"))
	assert.Equal(t, []any{
		map[string]any{"create_time": float64(1700000000), "user_version": "1.0.0", "user_desc": "first", "draft_id": float64(d1),
			"source_miniprogram_appid": miniApp, "source_miniprogram": "dev app", "developer": "alice"},
		map[string]any{"create_time": float64(1600000000), "user_version": "1.1.0", "user_desc": "", "draft_id": float64(d2),
			"source_miniprogram_appid": "", "source_miniprogram": "", "developer": ""},
	}, r["draft_list"])

	requireCode(t, 0, e.do(http.MethodGet, pTemplateList, q, nil))
	assert.Equal(t, []any{}, e.do(http.MethodGet, pTemplateList, q, nil)["template_list"])

	e.s.Advance(time.Minute)
	requireCode(t, 0, e.do(http.MethodPost, pAddToTemplate, q, map[string]int{"draft_id": d1}))
	requireCode(t, 0, e.do(http.MethodPost, pAddToTemplate, q, map[string]int{"draft_id": d2, "template_type": 1}))
	ids := e.s.TemplateIDs()
	require.Len(t, ids, 2)

	r = e.do(http.MethodGet, pTemplateList, q, nil)
	list := r["template_list"].([]any)
	require.Len(t, list, 2)
	first := result(list[0].(map[string]any))
	assert.Equal(t, ids[0], first.num("template_id"))
	assert.Equal(t, "1.0.0", first.str("user_version"))
	assert.Equal(t, "first", first.str("user_desc"))
	assert.Equal(t, 0, first.num("template_type"))
	assert.Equal(t, miniApp, first.str("source_miniprogram_appid"))
	assert.Equal(t, 1700000060, first.num("create_time"))

	std := e.do(http.MethodGet, pTemplateList, url.Values{"access_token": {ct}, "template_type": {"1"}}, nil)["template_list"].([]any)
	require.Len(t, std, 1)
	assert.Equal(t, "1.1.0", result(std[0].(map[string]any)).str("user_version"))
	requireCode(t, 40097, e.do(http.MethodGet, pTemplateList, url.Values{"access_token": {ct}, "template_type": {"2"}}, nil))

	requireCode(t, 0, e.do(http.MethodPost, pDeleteTemplate, q, map[string]int{"template_id": ids[0]}))
	assert.Equal(t, ids[1:], e.s.TemplateIDs())
	requireCode(t, 85064, e.do(http.MethodPost, pDeleteTemplate, q, map[string]int{"template_id": ids[0]}))
	requireCode(t, 85064, e.do(http.MethodPost, pAddToTemplate, q, map[string]int{"draft_id": 999}))
	requireCode(t, 47001, e.do(http.MethodPost, pAddToTemplate, q, map[string]int{}))
	requireCode(t, 47001, e.do(http.MethodPost, pDeleteTemplate, q, map[string]int{}))
	requireCode(t, 40097, e.do(http.MethodPost, pAddToTemplate, q, map[string]int{"draft_id": d1, "template_type": 3}))
	requireCode(t, 43001, e.do(http.MethodPost, pDraftList, q, nil))
	requireCode(t, 43002, e.do(http.MethodGet, pAddToTemplate, q, nil))

	// Tokens: the component token under access_token.
	requireCode(t, 41001, e.do(http.MethodGet, pDraftList, nil, nil))
	requireCode(t, 40014, e.do(http.MethodGet, pDraftList, url.Values{"access_token": {"x"}}, nil))
	at, _ := e.authorize(ct, miniApp)
	requireCode(t, 40001, e.do(http.MethodGet, pDraftList, url.Values{"access_token": {at}}, nil))
}

func TestTemplateLibraryFull(t *testing.T) {
	e := newEnv(t)
	ct := e.componentToken()
	q := url.Values{"access_token": {ct}}
	d := e.s.AddTemplateDraft(wxtest.TemplateDraft{UserVersion: "1"})
	for i := 0; i < 100; i++ {
		requireCode(t, 0, e.do(http.MethodPost, pAddToTemplate, q, map[string]int{"draft_id": d}))
	}
	requireCode(t, 85065, e.do(http.MethodPost, pAddToTemplate, q, map[string]int{"draft_id": d}))
	requireCode(t, 0, e.do(http.MethodPost, pDeleteTemplate, q, map[string]int{"template_id": e.s.TemplateIDs()[0]}))
	requireCode(t, 0, e.do(http.MethodPost, pAddToTemplate, q, map[string]int{"draft_id": d}))
	assert.Len(t, e.s.TemplateIDs(), 100)
}
