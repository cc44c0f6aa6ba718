package miniprogram_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestModifyDomainDirectly(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/modify_domain_directly", reply: domainsReply,
		body: `{"action":"add","requestdomain":["https://a.com"]}`})
	d, err := e.c.ModifyDomainDirectly(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainAdd, RequestDomain: []string{"https://a.com"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"https://a.com"}, d.RequestDomain)
	_, err = e.c.ModifyDomainDirectly(ctx, miniprogram.ModifyDomainRequest{Action: miniprogram.DomainDelete})
	requireInvalid(t, err, "requestdomain")
	assert.Equal(t, 1, e.mt.GetTotalCallCount())
}

func TestEffectiveDomain(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/get_effective_domain", body: `{}`, reply: `{"errcode":0,
		"mp_domain":{"requestdomain":[]},"third_domain":{"requestdomain":["https://a.com"]},
		"direct_domain":{"requestdomain":["https://b.com"],"tcpdomain":["tcp://t.com"]},
		"effective_domain":{"requestdomain":["https://a.com","https://b.com"],"tcpdomain":["tcp://t.com"]}}`})
	d, err := e.c.EffectiveDomain(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"https://a.com"}, d.Third.RequestDomain)
	assert.Equal(t, []string{"tcp://t.com"}, d.Direct.TCPDomain)
	assert.Equal(t, []string{"https://a.com", "https://b.com"}, d.Effective.RequestDomain)
}

func TestWebviewDomainDirectly(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/get_webviewdomain_confirmfile", body: `{}`, reply: `{"errcode":0,"file_name":"x.txt","file_content":"abc"}`})
	f, err := e.c.WebviewDomainConfirmFile(ctx)
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.WebviewConfirmFile{FileName: "x.txt", FileContent: "abc"}, f)

	e.expect(t, call{method: "POST", path: "/wxa/setwebviewdomain_directly", body: `{"action":"add","webviewdomain":["https://h5.a.com"]}`,
		reply: `{"errcode":86103,"errmsg":"check confirmfile fail"}`})
	_, err = e.c.SetWebviewDomainDirectly(ctx, miniprogram.DomainAdd, []string{"https://h5.a.com"})
	assert.Equal(t, wxerr.CodeWebviewConfirmFailed, wxerr.CodeOf(err))
	assert.Contains(t, err.Error(), "serve the exact file_content")
	_, err = e.c.SetWebviewDomainDirectly(ctx, miniprogram.DomainAdd, nil)
	requireInvalid(t, err, "webviewdomain")

	e.expect(t, call{method: "POST", path: "/wxa/get_effective_webviewdomain", body: `{}`,
		reply: `{"errcode":0,"mp_webviewdomain":[],"third_webviewdomain":["https://h5.p.com"],"direct_webviewdomain":["https://h5.a.com"],"effective_webviewdomain":["https://h5.p.com","https://h5.a.com"]}`})
	w, err := e.c.EffectiveWebviewDomain(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"https://h5.p.com", "https://h5.a.com"}, w.Effective)
	assert.Empty(t, w.MP)
}
