package component_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Code-template calls carry the component token in the query parameter access_token (digest 6.8).
func tmplQuery(extra ...string) url.Values {
	q := url.Values{"access_token": {compToken}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

func TestTemplateDrafts(t *testing.T) {
	e := setup(t).withComponentToken(t)
	r := e.on(t, "GET", "/wxa/gettemplatedraftlist", `{"errcode":0,"errmsg":"ok","draft_list":[
{"create_time":1488965944,"user_version":"VVV","user_desc":"AAS","draft_id":0,"source_miniprogram_appid":"wxsrc","source_miniprogram":"src","developer":"dev"},
{"create_time":1504790906,"user_version":"11","user_desc":"111111","draft_id":4}]}`)
	drafts, err := e.c.TemplateDrafts(context.Background())
	require.NoError(t, err)
	calls := r.list()
	require.Len(t, calls, 1)
	assertCall(t, calls[0], "GET", "/wxa/gettemplatedraftlist", tmplQuery(), nil)
	assert.Equal(t, []component.TemplateDraft{
		{DraftID: 0, CreateTime: time.Unix(1488965944, 0), UserVersion: "VVV", UserDesc: "AAS", SourceMiniProgramAppID: "wxsrc", SourceMiniProgram: "src", Developer: "dev"},
		{DraftID: 4, CreateTime: time.Unix(1504790906, 0), UserVersion: "11", UserDesc: "111111"},
	}, drafts)

	e2 := setup(t).withComponentToken(t)
	e2.on(t, "GET", "/wxa/gettemplatedraftlist", `{"errcode":61007,"errmsg":"api unauthorized"}`)
	_, err = e2.c.TemplateDrafts(context.Background())
	assert.Equal(t, wxerr.CodeAPIUnauthorized, wxerr.CodeOf(err))
}

func TestTemplates(t *testing.T) {
	answer := `{"errcode":0,"errmsg":"ok","template_list":[
{"create_time":1488965944,"user_version":"1.0.0","user_desc":"first","template_id":3,"template_type":1,
 "source_miniprogram_appid":"wxsrc","source_miniprogram":"src","developer":"dev",
 "category_list":[{"first_class":"工具","second_class":"效率"}],"audit_scene":1,"audit_status":2,"reason":"ok"}]}`
	cases := []struct {
		t     component.TemplateType
		query url.Values
	}{
		{component.AnyTemplateType, tmplQuery()},
		{component.TemplateNormal, tmplQuery("template_type", "0")},
		{component.TemplateStandard, tmplQuery("template_type", "1")},
	}
	for _, tc := range cases {
		e := setup(t).withComponentToken(t)
		r := e.on(t, "GET", "/wxa/gettemplatelist", answer)
		list, err := e.c.Templates(context.Background(), tc.t)
		require.NoError(t, err)
		calls := r.list()
		require.Len(t, calls, 1)
		assertCall(t, calls[0], "GET", "/wxa/gettemplatelist", tc.query, nil)
		require.Len(t, list, 1)
		assert.Equal(t, component.Template{
			TemplateID: 3, TemplateType: component.TemplateStandard, CreateTime: time.Unix(1488965944, 0),
			UserVersion: "1.0.0", UserDesc: "first", SourceMiniProgramAppID: "wxsrc", SourceMiniProgram: "src", Developer: "dev",
			CategoryList: json.RawMessage(`[{"first_class":"工具","second_class":"效率"}]`), AuditScene: 1, AuditStatus: 2, Reason: "ok",
		}, list[0])
	}
	e := setup(t).withComponentToken(t)
	_, err := e.c.Templates(context.Background(), 2)
	assert.True(t, wxerr.IsValidation(err))
	assert.Zero(t, e.mt.GetTotalCallCount())
}

func TestAddToTemplate(t *testing.T) {
	e := setup(t).withComponentToken(t)
	r := e.on(t, "POST", "/wxa/addtotemplate", `{"errcode":0,"errmsg":"ok"}`)
	require.NoError(t, e.c.AddToTemplate(context.Background(), 4, component.TemplateStandard))
	require.NoError(t, e.c.AddToTemplate(context.Background(), 0, component.TemplateNormal))
	calls := r.list()
	require.Len(t, calls, 2)
	assertCall(t, calls[0], "POST", "/wxa/addtotemplate", tmplQuery(), map[string]any{"draft_id": 4, "template_type": 1})
	assertCall(t, calls[1], "POST", "/wxa/addtotemplate", tmplQuery(), map[string]any{"draft_id": 0, "template_type": 0})

	assert.True(t, wxerr.IsValidation(e.c.AddToTemplate(context.Background(), -1, component.TemplateNormal)))
	assert.True(t, wxerr.IsValidation(e.c.AddToTemplate(context.Background(), 1, component.AnyTemplateType)))
	assert.Len(t, r.list(), 2)

	e2 := setup(t).withComponentToken(t)
	e2.on(t, "POST", "/wxa/addtotemplate", `{"errcode":85065,"errmsg":"template list is full"}`)
	assert.Equal(t, wxerr.CodeTemplateLibFull, wxerr.CodeOf(e2.c.AddToTemplate(context.Background(), 1, component.TemplateNormal)))

	e3 := setup(t).withComponentToken(t)
	e3.mt.RegisterResponder("POST", base+"/wxa/addtotemplate", httpmock.NewErrorResponder(errors.New("reset")))
	require.Error(t, e3.c.AddToTemplate(context.Background(), 1, component.TemplateNormal))
	assert.Equal(t, 1, e3.mt.GetTotalCallCount(), "a write is sent once")
}

func TestDeleteTemplate(t *testing.T) {
	e := setup(t).withComponentToken(t)
	r := e.on(t, "POST", "/wxa/deletetemplate", `{"errcode":0,"errmsg":"ok"}`)
	require.NoError(t, e.c.DeleteTemplate(context.Background(), 3))
	calls := r.list()
	require.Len(t, calls, 1)
	assertCall(t, calls[0], "POST", "/wxa/deletetemplate", tmplQuery(), map[string]any{"template_id": 3})
	assert.True(t, wxerr.IsValidation(e.c.DeleteTemplate(context.Background(), -3)))

	e2 := setup(t).withComponentToken(t)
	e2.on(t, "POST", "/wxa/deletetemplate", `{"errcode":85064,"errmsg":"template not found"}`)
	assert.Equal(t, wxerr.CodeTemplateNotFound, wxerr.CodeOf(e2.c.DeleteTemplate(context.Background(), 3)))
}
