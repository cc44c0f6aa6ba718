package component_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestModifyServerDomain(t *testing.T) {
	e := setup(t).withComponentToken(t)
	r := e.on(t, "POST", "/cgi-bin/component/modify_wxa_server_domain", `{"errcode":0,
		"testing_wxa_server_domain":"api.dinehub.example;img.dinehub.example","published_wxa_server_domain":"api.dinehub.example","invalid_wxa_server_domain":""}`)
	d, err := e.c.ModifyServerDomain(context.Background(), component.PlatformDomainRequest{Action: component.DomainAdd,
		Domains: []string{"api.dinehub.example", "img.dinehub.example"}, PublishedToo: true})
	require.NoError(t, err)
	assertCall(t, r.list()[0], "POST", "/cgi-bin/component/modify_wxa_server_domain", tmplQuery(),
		map[string]any{"action": "add", "wxa_server_domain": "api.dinehub.example;img.dinehub.example", "is_modify_published_together": true})
	assert.Equal(t, &component.PlatformDomains{Testing: []string{"api.dinehub.example", "img.dinehub.example"},
		Published: []string{"api.dinehub.example"}}, d)

	_, err = e.c.ModifyServerDomain(context.Background(), component.PlatformDomainRequest{Action: component.DomainGet})
	require.NoError(t, err)
	assertCall(t, r.list()[1], "POST", "/cgi-bin/component/modify_wxa_server_domain", tmplQuery(),
		map[string]any{"action": "get", "is_modify_published_together": false})

	for field, req := range map[string]component.PlatformDomainRequest{
		"action":            {Action: "replace"},
		"wxa_server_domain": {Action: component.DomainAdd, Domains: []string{"https://api.dinehub.example"}},
	} {
		_, err := e.c.ModifyServerDomain(context.Background(), req)
		var ve *wxerr.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, field, ve.Field)
	}
	for _, req := range []component.PlatformDomainRequest{{Action: component.DomainDelete}, {Action: component.DomainGet, Domains: []string{"a.cn"}},
		{Action: component.DomainSet, Domains: []string{"10.0.0.1"}}, {Action: component.DomainSet, Domains: []string{"a.cn:8080"}}} {
		_, err := e.c.ModifyServerDomain(context.Background(), req)
		assert.True(t, wxerr.IsValidation(err), "%+v", req)
	}
	assert.Len(t, r.list(), 2)
}

func TestModifyJumpDomainAndConfirmFile(t *testing.T) {
	e := setup(t).withComponentToken(t)
	r := e.on(t, "POST", "/cgi-bin/component/modify_wxa_jump_domain", `{"errcode":0,"testing_wxa_jump_h5_domain":"h5.dinehub.example","invalid_wxa_jump_h5_domain":"bad.example"}`)
	d, err := e.c.ModifyJumpDomain(context.Background(), component.PlatformDomainRequest{Action: component.DomainSet, Domains: []string{"h5.dinehub.example", "bad.example"}})
	require.NoError(t, err)
	assertCall(t, r.list()[0], "POST", "/cgi-bin/component/modify_wxa_jump_domain", tmplQuery(),
		map[string]any{"action": "set", "wxa_jump_h5_domain": "h5.dinehub.example;bad.example", "is_modify_published_together": false})
	assert.Equal(t, []string{"bad.example"}, d.Invalid)
	assert.Nil(t, d.Published)

	f := e.on(t, "POST", "/cgi-bin/component/get_domain_confirmfile", `{"errcode":0,"file_name":"abc.txt","file_content":"123"}`)
	cf, err := e.c.DomainConfirmFile(context.Background())
	require.NoError(t, err)
	assertCall(t, f.list()[0], "POST", "/cgi-bin/component/get_domain_confirmfile", tmplQuery(), nil)
	assert.Equal(t, &component.ConfirmFile{FileName: "abc.txt", FileContent: "123"}, cf)
}
