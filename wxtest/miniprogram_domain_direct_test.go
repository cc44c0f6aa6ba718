package wxtest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPlatformDomainRules(t *testing.T) {
	m := newMPEnv(t)
	q := tokenQuery("access_token", m.ct)
	server := func(body any) result {
		return m.do(http.MethodPost, "/cgi-bin/component/modify_wxa_server_domain", q, body)
	}
	requireCode(t, 47001, server(map[string]any{}))
	requireCode(t, 40097, server(map[string]any{"action": "replace"}))
	requireCode(t, 40097, server(map[string]any{"action": "add", "wxa_server_domain": strings.Repeat("a", 1001)}))
	requireCode(t, 40001, m.do(http.MethodPost, "/cgi-bin/component/modify_wxa_server_domain", tokenQuery("access_token", m.tok),
		map[string]any{"action": "get"}), "the component token, not an authorizer's")

	r := server(map[string]any{"action": "add", "wxa_server_domain": "api.shop.example;https://bad.example;10.0.0.1;img.shop.example"})
	requireCode(t, 0, r)
	assert.Equal(t, "api.shop.example;img.shop.example", r.str("testing_wxa_server_domain"))
	assert.Equal(t, "", r.str("published_wxa_server_domain"))
	assert.Equal(t, "https://bad.example;10.0.0.1", r.str("invalid_wxa_server_domain"))
	r = server(map[string]any{"action": "delete", "wxa_server_domain": "img.shop.example;absent.example", "is_modify_published_together": true})
	requireCode(t, 0, r)
	assert.Equal(t, "api.shop.example", r.str("testing_wxa_server_domain"))

	// An app may now use the testing domains.
	requireCode(t, 0, m.call(http.MethodPost, "/wxa/modify_domain", map[string]any{"action": "add", "requestdomain": []string{"https://api.shop.example"}}))
	requireCode(t, 85018, m.call(http.MethodPost, "/wxa/modify_domain", map[string]any{"action": "add", "requestdomain": []string{"https://img.shop.example"}}))

	jump := m.do(http.MethodPost, "/cgi-bin/component/modify_wxa_jump_domain", q, map[string]any{"action": "set", "wxa_jump_h5_domain": "h5.shop.example", "is_modify_published_together": true})
	requireCode(t, 0, jump)
	assert.Equal(t, "h5.shop.example", jump.str("published_wxa_jump_h5_domain"))
	f := m.do(http.MethodPost, "/cgi-bin/component/get_domain_confirmfile", q, nil)
	requireCode(t, 0, f)
	assert.NotEmpty(t, f.str("file_name"))
}

func TestWebviewDomainDirectlyRules(t *testing.T) {
	m := newMPEnv(t)
	wd := func(body any) result { return m.call(http.MethodPost, "/wxa/setwebviewdomain_directly", body) }
	requireCode(t, 47001, wd(map[string]any{}))
	requireCode(t, 40097, wd(map[string]any{"action": "replace"}))
	requireCode(t, 89021, wd(map[string]any{"action": "add", "webviewdomain": []string{"http://h5.shop.example"}}))
	requireCode(t, 89021, wd(map[string]any{"action": "add", "webviewdomain": []string{"https://h5.shop.example:8443"}}))
	requireCode(t, 86103, wd(map[string]any{"action": "add", "webviewdomain": []string{"https://h5.shop.example"}}))
	requireCode(t, 44002, m.call(http.MethodPost, "/wxa/get_webviewdomain_confirmfile", nil))
	requireCode(t, 0, m.call(http.MethodPost, "/wxa/get_webviewdomain_confirmfile", map[string]any{}))
	requireCode(t, 0, wd(map[string]any{"action": "set", "webviewdomain": []string{"https://h5.shop.example", "https://m.shop.example"}}))
	r := wd(map[string]any{"action": "delete", "webviewdomain": []string{"https://m.shop.example"}})
	requireCode(t, 0, r)
	assert.Equal(t, []any{"https://h5.shop.example"}, r["webviewdomain"])
	r = wd(map[string]any{"action": "get"})
	assert.Equal(t, []any{"https://h5.shop.example"}, r["webviewdomain"])
}
