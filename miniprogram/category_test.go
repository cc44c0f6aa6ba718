package miniprogram_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

const catalogueReply = `{"errcode":0,"categories_list":{"categories":[
	{"id":0,"name":"","level":0,"father":0,"children":[1]},
	{"id":1,"name":"餐饮","level":1,"father":0,"children":[2]},
	{"id":2,"name":"点餐平台","level":2,"father":1,"children":[],"sensitive_type":1,
	 "qualify":{"exter_list":[{"inner_list":[{"name":"食品经营许可证","url":"https://x"}]}],"remark":""}}]}}`

func TestAllCategories(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "GET", path: "/cgi-bin/wxopen/getallcategories", reply: catalogueReply})
	cats, err := e.c.AllCategories(ctx)
	require.NoError(t, err)
	require.Len(t, cats, 3)
	assert.Equal(t, []int64{1}, cats[0].Children)
	assert.False(t, cats[1].Sensitive())
	assert.True(t, cats[2].Sensitive())
	assert.Equal(t, []string{"食品经营许可证"}, cats[2].Qualifications())
	assert.Nil(t, cats[1].Qualifications())
}

func TestCategoriesByType(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/cgi-bin/wxopen/getcategoriesbytype", body: `{"verify_type":1}`, reply: catalogueReply})
	cats, err := e.c.CategoriesByType(ctx, miniprogram.VerifyEnterprise)
	require.NoError(t, err)
	assert.Len(t, cats, 3)
	_, err = e.c.CategoriesByType(ctx, 5)
	requireInvalid(t, err, "verify_type")
	assert.Equal(t, 1, e.mt.GetTotalCallCount())
}

func TestAccountCategories(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "GET", path: "/cgi-bin/wxopen/getcategory", reply: `{"errcode":0,"categories":[
		{"first":1,"first_name":"餐饮","second":2,"second_name":"点餐平台","audit_status":1,"audit_reason":""},
		{"first":3,"first_name":"工具","second":4,"second_name":"效率","audit_status":3}],"limit":5,"quota":4,"category_limit":5}`})
	a, err := e.c.AccountCategories(ctx)
	require.NoError(t, err)
	assert.Equal(t, "reviewing", a.Categories[0].AuditStatus.String())
	assert.Equal(t, []miniprogram.AccountCategory{{First: 3, FirstName: "工具", Second: 4, SecondName: "效率", AuditStatus: miniprogram.CategoryApproved}}, a.Approved())
	assert.Equal(t, 4, a.Quota)
	assert.Equal(t, 5, a.CategoryLimit)
}

func TestAddDeleteModifyCategory(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/cgi-bin/wxopen/addcategory", reply: `{"errcode":0}`,
		body: `{"categories":[{"first":1,"second":2,"certicates":[{"key":"食品经营许可证","value":"MEDIA"}]},{"first":3,"second":4}]}`})
	require.NoError(t, e.c.AddCategories(ctx,
		miniprogram.CategoryApplication{First: 1, Second: 2, Certificates: []miniprogram.Certificate{{Key: "食品经营许可证", Value: "MEDIA"}}},
		miniprogram.CategoryApplication{First: 3, Second: 4}))
	e.expect(t, call{method: "POST", path: "/cgi-bin/wxopen/deletecategory", body: `{"first":1,"second":2}`, reply: `{"errcode":53308,"errmsg":"reviewing"}`})
	err := e.c.DeleteCategory(ctx, 1, 2)
	assert.Equal(t, wxerr.CodeCategoryUnderReview, wxerr.CodeOf(err))
	assert.Contains(t, err.Error(), "cannot be deleted")
	e.expect(t, call{method: "POST", path: "/cgi-bin/wxopen/modifycategory", reply: `{"errcode":0}`,
		body: `{"first":1,"second":2,"certicates":[{"key":"食品经营许可证","value":"M2"}]}`})
	require.NoError(t, e.c.ModifyCategory(ctx, miniprogram.CategoryApplication{First: 1, Second: 2,
		Certificates: []miniprogram.Certificate{{Key: "食品经营许可证", Value: "M2"}}}))
	n := e.mt.GetTotalCallCount()

	requireInvalid(t, e.c.AddCategories(ctx), "categories")
	requireInvalid(t, e.c.AddCategories(ctx, miniprogram.CategoryApplication{First: 1}), "categories[0]")
	requireInvalid(t, e.c.AddCategories(ctx, miniprogram.CategoryApplication{First: 1, Second: 2}, miniprogram.CategoryApplication{First: 1, Second: 2}), "categories[1]")
	requireInvalid(t, e.c.AddCategories(ctx, miniprogram.CategoryApplication{First: 1, Second: 2,
		Certificates: []miniprogram.Certificate{{Key: "x"}}}), "categories[0].certicates")
	requireInvalid(t, e.c.DeleteCategory(ctx, 0, 2), "category")
	requireInvalid(t, e.c.ModifyCategory(ctx, miniprogram.CategoryApplication{First: 1, Second: 2}), "category.certicates")
	assert.Equal(t, n, e.mt.GetTotalCallCount())
}
