package miniprogram_test

import (
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

const domainsReply = `{"errcode":0,"errmsg":"ok","requestdomain":["https://a.com"],"wsrequestdomain":["wss://a.com"],
	"uploaddomain":["https://u.com"],"downloaddomain":["https://d.com"],"udpdomain":["udp://x.com"],"tcpdomain":["tcp://y.com"],
	"invalid_requestdomain":["https://bad.com"],"invalid_wsrequestdomain":[],"invalid_uploaddomain":["https://u2.com"],
	"invalid_downloaddomain":["https://d2.com"],"invalid_udpdomain":["udp://z"],"invalid_tcpdomain":["tcp://z"],"no_icp_domain":["https://noicp.com"]}`

func TestModifyDomainAdd(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/modify_domain", reply: domainsReply,
		body: `{"action":"add","requestdomain":["https://a.com","https://bad.com"],"uploaddomain":["https://u.com"]}`})
	d, err := e.c.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainAdd,
		RequestDomain: []string{"https://a.com", "https://bad.com"}, UploadDomain: []string{"https://u.com"}})
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.Domains{
		RequestDomain: []string{"https://a.com"}, WSRequestDomain: []string{"wss://a.com"}, UploadDomain: []string{"https://u.com"},
		DownloadDomain: []string{"https://d.com"}, UDPDomain: []string{"udp://x.com"}, TCPDomain: []string{"tcp://y.com"},
		InvalidRequestDomain: []string{"https://bad.com"}, InvalidWSRequestDomain: []string{}, InvalidUploadDomain: []string{"https://u2.com"},
		InvalidDownloadDomain: []string{"https://d2.com"}, InvalidUDPDomain: []string{"udp://z"}, InvalidTCPDomain: []string{"tcp://z"},
		NoICPDomain: []string{"https://noicp.com"},
	}, d)
}

func TestModifyDomainDeleteSetGet(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/modify_domain", reply: `{"requestdomain":[]}`,
		body: `{"action":"delete","tcpdomain":["tcp://y.com"]}`})
	_, err := e.c.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: "delete", TCPDomain: []string{"tcp://y.com"}})
	require.NoError(t, err)

	e.expect(t, call{method: "POST", path: "/wxa/modify_domain", reply: `{"requestdomain":["https://a.com"]}`,
		body: `{"action":"set","requestdomain":["https://a.com"],"wsrequestdomain":[],"uploaddomain":[],"downloaddomain":[],"udpdomain":[],"tcpdomain":[]}`})
	d, err := e.c.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainSet, RequestDomain: []string{"https://a.com"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"https://a.com"}, d.RequestDomain)

	e.expect(t, call{method: "POST", path: "/wxa/modify_domain", reply: domainsReply, body: `{"action":"get"}`})
	d, err = e.c.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainGet})
	require.NoError(t, err)
	assert.Equal(t, []string{"https://d.com"}, d.DownloadDomain)
}

func TestModifyDomainValidation(t *testing.T) {
	e := setup(t)
	for field, r := range map[string]miniprogram.ModifyDomainRequest{
		"action":        {Action: "replace", RequestDomain: []string{"https://a.com"}},
		"":              {},
		"requestdomain": {Action: miniprogram.DomainAdd},
		"uploaddomain":  {Action: miniprogram.DomainAdd, UploadDomain: []string{""}},
		"tcpdomain":     {Action: miniprogram.DomainSet, TCPDomain: make([]string, 201)},
	} {
		if field == "" {
			field = "action"
		}
		_, err := e.c.ModifyDomain(ctx, r)
		requireInvalid(t, err, field)
	}
	_, err := e.c.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainGet, RequestDomain: []string{"https://a.com"}})
	ve := requireInvalid(t, err, "action")
	assert.Contains(t, ve.Rule, "get sends no")
	_, err = e.c.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainDelete})
	requireInvalid(t, err, "requestdomain")
	assert.Zero(t, e.mt.GetTotalCallCount())

	many := make([]string, 200)
	for i := range many {
		many[i] = "https://d" + itoa(i) + ".com"
	}
	e.mt.RegisterResponder("POST", base+"/wxa/modify_domain", httpmock.NewStringResponder(200, `{"errcode":0}`))
	_, err = e.c.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainSet, RequestDomain: many})
	require.NoError(t, err, "200 domains is the limit")
}

func TestModifyDomainErrors(t *testing.T) {
	for _, code := range []wxerr.Code{85015, 85016, 85017, 85018, -1} {
		e := setup(t)
		e.mt.RegisterResponder("POST", base+"/wxa/modify_domain", httpmock.NewStringResponder(200, `{"errcode":`+itoa(int(code))+`,"errmsg":"x"}`))
		_, err := e.c.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainAdd, RequestDomain: []string{"https://a.com"}})
		assert.Equal(t, code, wxerr.CodeOf(err))
		assert.Equal(t, 1, e.mt.GetTotalCallCount(), "a change is sent once")
	}
	e := setup(t)
	e.mt.RegisterResponder("POST", base+"/wxa/modify_domain", httpmock.NewStringResponder(200, `{"errcode":-1,"errmsg":"busy"}`))
	_, err := e.c.ModifyDomain(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainGet})
	assert.True(t, wxerr.IsTemporary(err))
	assert.Greater(t, e.mt.GetTotalCallCount(), 1, "get is a read and is retried")
}

func TestSetWebviewDomain(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/setwebviewdomain", body: `{"action":"add","webviewdomain":["https://h5.shop.com"]}`,
		reply: `{"errcode":0,"errmsg":"ok","webviewdomain":["https://h5.shop.com","https://old.com"]}`})
	got, err := e.c.SetWebviewDomain(ctx, miniprogram.DomainAdd, []string{"https://h5.shop.com"})
	require.NoError(t, err)
	assert.Equal(t, []string{"https://h5.shop.com", "https://old.com"}, got)

	e.expect(t, call{method: "POST", path: "/wxa/setwebviewdomain", body: `{"action":"get"}`, reply: `{"webviewdomain":["https://x.com"]}`})
	got, err = e.c.SetWebviewDomain(ctx, miniprogram.DomainGet, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"https://x.com"}, got)

	e.expect(t, call{method: "POST", path: "/wxa/setwebviewdomain", body: `{"action":"set","webviewdomain":[]}`, reply: `{"webviewdomain":[]}`})
	got, err = e.c.SetWebviewDomain(ctx, miniprogram.DomainSet, nil)
	require.NoError(t, err)
	assert.Empty(t, got)

	e.expect(t, call{method: "POST", path: "/wxa/setwebviewdomain", body: `{"action":"delete","webviewdomain":["https://x.com"]}`, reply: `{"webviewdomain":[]}`})
	_, err = e.c.SetWebviewDomain(ctx, miniprogram.DomainDelete, []string{"https://x.com"})
	require.NoError(t, err)
}

func TestSetWebviewDomainValidationAndErrors(t *testing.T) {
	e := setup(t)
	_, err := e.c.SetWebviewDomain(ctx, "put", []string{"a"})
	requireInvalid(t, err, "action")
	_, err = e.c.SetWebviewDomain(ctx, miniprogram.DomainGet, []string{"a"})
	requireInvalid(t, err, "webviewdomain")
	_, err = e.c.SetWebviewDomain(ctx, miniprogram.DomainAdd, nil)
	requireInvalid(t, err, "webviewdomain")
	_, err = e.c.SetWebviewDomain(ctx, miniprogram.DomainSet, make([]string, 101))
	ve := requireInvalid(t, err, "webviewdomain")
	assert.True(t, strings.Contains(ve.Rule, "100"))
	assert.Zero(t, e.mt.GetTotalCallCount())

	for _, code := range []wxerr.Code{89019, 89020, 89021, 89029, 89231} {
		e := setup(t)
		e.mt.RegisterResponder("POST", base+"/wxa/setwebviewdomain", httpmock.NewStringResponder(200, `{"errcode":`+itoa(int(code))+`,"errmsg":"x"}`))
		_, err := e.c.SetWebviewDomain(ctx, miniprogram.DomainAdd, []string{"https://a.com"})
		assert.Equal(t, code, wxerr.CodeOf(err))
	}
}
