package wxtest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestQRCodeJumpValidatesLikeWeChat sends what the SDK's own checks would stop, to see the emulator
// refuse it too.
func TestQRCodeJumpValidatesLikeWeChat(t *testing.T) {
	m := newMPEnv(t)
	const prefix = "https://shop.example.com/t/"
	rule := func(change map[string]any) map[string]any {
		r := map[string]any{"prefix": prefix, "path": "pages/table/index", "open_version": "3", "permit_sub_rule": "1",
			"debug_url": []string{prefix + "12"}, "is_edit": "0"}
		for k, v := range change {
			if v == nil {
				delete(r, k)
			} else {
				r[k] = v
			}
		}
		return r
	}
	add := func(change map[string]any) result {
		return m.call(http.MethodPost, "/cgi-bin/wxopen/qrcodejumpadd", rule(change))
	}
	for _, c := range []struct {
		name   string
		change map[string]any
		want   int
	}{
		{"no prefix", map[string]any{"prefix": nil}, 47001},
		{"no path", map[string]any{"path": nil}, 47001},
		{"prefix not a URL", map[string]any{"prefix": "shop.example.com/t/", "debug_url": []string{"shop.example.com/t/1"}}, 40097},
		{"prefix ftp", map[string]any{"prefix": "ftp://shop.example.com/", "debug_url": []string{"ftp://shop.example.com/1"}}, 40097},
		{"open_version", map[string]any{"open_version": "4"}, 40097},
		{"permit_sub_rule", map[string]any{"permit_sub_rule": "3"}, 40097},
		{"is_edit", map[string]any{"is_edit": "2"}, 40097},
		{"no debug_url", map[string]any{"debug_url": []string{}}, 40097},
		{"six debug_url", map[string]any{"debug_url": []string{prefix + "1", prefix + "2", prefix + "3", prefix + "4", prefix + "5", prefix + "6"}}, 40097},
		{"debug_url elsewhere", map[string]any{"debug_url": []string{"https://other.example.com/t/1"}}, 40097},
		{"edit of no rule", map[string]any{"is_edit": "1"}, 40097},
		{"permit_sub_rule and is_edit absent", map[string]any{"permit_sub_rule": nil, "is_edit": nil}, 0}, // last: it adds the rule
	} {
		requireCode(t, c.want, add(c.change), c.name)
	}
	requireCode(t, 85015, m.do(http.MethodPost, "/cgi-bin/wxopen/qrcodejumpadd", tokenQuery("access_token", m.offTok), rule(nil)),
		"an official account has no QR jump rules")
	r := m.call(http.MethodPost, "/cgi-bin/wxopen/qrcodejumpget", map[string]any{})
	requireCode(t, 0, r)
	assert.Equal(t, 1, r.num("list_size"), "only the valid add")
	requireCode(t, 40097, add(nil), "the prefix has a rule")
	requireCode(t, 40097, m.call(http.MethodPost, "/cgi-bin/wxopen/qrcodejumppublish", map[string]any{"prefix": prefix + "x"}))
	requireCode(t, 40097, m.call(http.MethodPost, "/cgi-bin/wxopen/qrcodejumpdelete", map[string]any{"prefix": prefix + "x"}))
}
