package wxtest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// catalogueIDs returns the ids of first > second from getallcategories, and whether it is sensitive.
func (m *mpEnv) catalogueIDs(first, second string) (int, int, bool) {
	m.t.Helper()
	r := m.call(http.MethodGet, "/cgi-bin/wxopen/getallcategories", nil)
	requireCode(m.t, 0, r)
	nodes := r.obj("categories_list")["categories"].([]any)
	fid := 0
	for _, n := range nodes {
		c := result(n.(map[string]any))
		if c.num("level") == 1 && c.str("name") == first {
			fid = c.num("id")
		}
	}
	for _, n := range nodes {
		c := result(n.(map[string]any))
		if c.num("level") == 2 && c.str("name") == second && c.num("father") == fid {
			return fid, c.num("id"), c.num("sensitive_type") == 1
		}
	}
	m.t.Fatalf("no category %s > %s", first, second)
	return 0, 0, false
}

func TestCategoryLifecycle(t *testing.T) {
	m := newMPEnv(t)
	ctx := context.Background()
	add := func(cats ...map[string]any) result {
		return m.call(http.MethodPost, "/cgi-bin/wxopen/addcategory", map[string]any{"categories": cats})
	}
	account := func() []any {
		r := m.call(http.MethodGet, "/cgi-bin/wxopen/getcategory", nil)
		requireCode(t, 0, r)
		return r["categories"].([]any)
	}
	require.Len(t, account(), 1, "the default 工具 > 效率")

	f, s, sensitive := m.catalogueIDs("餐饮", "点餐平台")
	require.True(t, sensitive)
	requireCode(t, 53303, add(map[string]any{"first": f, "second": 1}))
	requireCode(t, 53311, add(map[string]any{"first": f, "second": s}))
	requireCode(t, 40007, add(map[string]any{"first": f, "second": s, "certicates": []map[string]string{{"key": "食品经营许可证", "value": "nope"}}}))
	media := m.upload("image", "licence.png", pngHeader).str("media_id")
	cert := []map[string]string{{"key": "食品经营许可证", "value": media}}
	requireCode(t, 0, add(map[string]any{"first": f, "second": s, "certicates": cert}))
	requireCode(t, 53304, add(map[string]any{"first": f, "second": s, "certicates": cert}))
	list := account()
	require.Len(t, list, 2)
	assert.Equal(t, 1, result(list[1].(map[string]any)).num("audit_status"))
	requireCode(t, 53308, m.call(http.MethodPost, "/cgi-bin/wxopen/deletecategory", map[string]int{"first": f, "second": s}))
	requireCode(t, 53307, m.call(http.MethodPost, "/cgi-bin/wxopen/modifycategory", map[string]any{"first": f, "second": s, "certicates": cert}))

	// Rejected, modified, approved: then wxa/get_category lists it.
	require.NoError(t, m.s.ReviewCategory(ctx, m.appID, "餐饮", "点餐平台", false, "证照模糊"))
	assert.Equal(t, "证照模糊", result(account()[1].(map[string]any)).str("audit_reason"))
	requireCode(t, 0, m.call(http.MethodPost, "/cgi-bin/wxopen/modifycategory", map[string]any{"first": f, "second": s, "certicates": cert}))
	require.Error(t, m.s.ReviewCategory(ctx, m.appID, "餐饮", "中餐", true, ""))
	require.NoError(t, m.s.ReviewCategory(ctx, m.appID, "餐饮", "点餐平台", true, ""))
	got := m.call(http.MethodGet, "/wxa/get_category", nil)
	assert.Len(t, got["category_list"], 2)

	// A plain category applies at once; deleting counts as a change.
	f2, s2, sensitive := m.catalogueIDs("餐饮", "咖啡厅")
	require.False(t, sensitive)
	requireCode(t, 0, add(map[string]any{"first": f2, "second": s2}))
	requireCode(t, 0, m.call(http.MethodPost, "/cgi-bin/wxopen/deletecategory", map[string]int{"first": f2, "second": s2}))
	q := m.call(http.MethodGet, "/cgi-bin/wxopen/getcategory", nil)
	assert.Equal(t, 2, q.num("quota"), "5 changes a month: 3 used")
	f3, s3, _ := m.catalogueIDs("生活服务", "家政")
	f4, s4, _ := m.catalogueIDs("工具", "信息查询")
	requireCode(t, 53300, add(map[string]any{"first": f3, "second": s3}, map[string]any{"first": f4, "second": s4}, map[string]any{"first": f2, "second": s2}))
	requireCode(t, 0, add(map[string]any{"first": f3, "second": s3}, map[string]any{"first": f4, "second": s4}))
	requireCode(t, 53300, add(map[string]any{"first": f2, "second": s2}))
}

func TestCategoryNeedsPermissionSet30(t *testing.T) {
	m := newMPEnv(t)
	_, err := m.s.UpdateAuthorization(context.Background(), m.appID, 17, 18)
	require.NoError(t, err)
	requireCode(t, 61007, m.call(http.MethodGet, "/cgi-bin/wxopen/getcategory", nil))
	requireCode(t, 0, m.call(http.MethodGet, "/wxa/get_category", nil), "wxa/get_category is set 18")
	byType := m.call(http.MethodPost, "/cgi-bin/wxopen/getcategoriesbytype", map[string]int{"verify_type": 1})
	requireCode(t, 61007, byType)
}

// getcategoriesbytype answers what a subject of verify_type may set (digest 11.1), levels 1 and 2
// only, personal when verify_type is absent.
func TestCategoriesByTypeFilters(t *testing.T) {
	m := newMPEnv(t)
	// names returns "first > second" of each level-2 node, and checks that the level-1 nodes list
	// exactly those children and that there is no root.
	names := func(body any) []string {
		t.Helper()
		r := m.call(http.MethodPost, "/cgi-bin/wxopen/getcategoriesbytype", body)
		requireCode(t, 0, r)
		firsts, children := map[int]string{}, map[int][]any{}
		var out []string
		nodes := r.obj("categories_list")["categories"].([]any)
		for _, n := range nodes {
			c := result(n.(map[string]any))
			require.NotZero(t, c.num("level"), "no root node")
			if c.num("level") == 1 {
				firsts[c.num("id")] = c.str("name")
				children[c.num("id")] = c["children"].([]any)
			}
		}
		listed := map[int][]any{}
		for _, n := range nodes {
			c := result(n.(map[string]any))
			if c.num("level") == 2 {
				out = append(out, firsts[c.num("father")]+" > "+c.str("name"))
				listed[c.num("father")] = append(listed[c.num("father")], c["id"])
			}
		}
		assert.Equal(t, listed, children, "each level-1 node lists its children, and has some")
		return out
	}
	tools := []string{"工具 > 效率", "工具 > 信息查询"}
	all := []string{"工具 > 效率", "工具 > 信息查询", "餐饮 > 中餐", "餐饮 > 点餐平台", "餐饮 > 咖啡厅", "商业服务 > 软件服务提供商", "生活服务 > 家政"}
	assert.Equal(t, tools, names(map[string]any{"verify_type": 0}), "personal")
	assert.Equal(t, tools, names(map[string]any{}), "personal is the default")
	assert.Equal(t, all, names(map[string]any{"verify_type": 1}), "enterprise")
	assert.Equal(t, tools, names(map[string]any{"verify_type": 2}), "government")
	assert.Equal(t, tools, names(map[string]any{"verify_type": 3}), "media")
	assert.Equal(t, append(tools[:2:2], "生活服务 > 家政"), names(map[string]any{"verify_type": 4}), "other organisation")
	requireCode(t, 40097, m.call(http.MethodPost, "/cgi-bin/wxopen/getcategoriesbytype", map[string]any{"verify_type": 5}))
	requireCode(t, 40097, m.call(http.MethodPost, "/cgi-bin/wxopen/getcategoriesbytype", map[string]any{"verify_type": -1}))

	// getallcategories: everything the account (an enterprise) may set, from the root.
	r := m.call(http.MethodGet, "/cgi-bin/wxopen/getallcategories", nil)
	requireCode(t, 0, r)
	nodes := r.obj("categories_list")["categories"].([]any)
	assert.Equal(t, 0, result(nodes[0].(map[string]any)).num("id"), "the root first")
	assert.Len(t, nodes, 1+4+len(all))
}
