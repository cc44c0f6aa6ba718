package miniprogram

import (
	"context"
	"strconv"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Service categories (服务类目) of the account (API digest part 2, section 11). A fast-registered
// mini program starts with none, and submit_audit answers 85008 until one is approved. Categories
// (wxa/get_category) lists the approved ones in the shape audit items need; the calls here manage
// them and show their review state.

// CatalogCategory is one node of WeChat's category catalogue.
type CatalogCategory struct {
	ID       int64   `json:"id"`
	Name     string  `json:"name"`
	Level    int     `json:"level"`
	Father   int64   `json:"father"`
	Children []int64 `json:"children"`
	// SensitiveType 1 means the category needs qualifications (Qualify) and goes to review.
	SensitiveType int             `json:"sensitive_type"`
	Qualify       CategoryQualify `json:"qualify"`
	IsHidden      bool            `json:"is_hidden"`
}

// CategoryQualify are the qualifications a sensitive category asks for: any one group of
// ExterList, each group listing documents (InnerList) that are all needed.
type CategoryQualify struct {
	ExterList []struct {
		InnerList []struct {
			Name string `json:"name"`
			URL  string `json:"url"`
		} `json:"inner_list"`
	} `json:"exter_list"`
	Remark string `json:"remark"`
}

// Sensitive reports whether the category needs qualifications and a review.
func (c CatalogCategory) Sensitive() bool { return c.SensitiveType == 1 }

// Qualifications returns the document names of the first qualification group, the keys of the
// Certificates to send with AddCategories.
func (c CatalogCategory) Qualifications() []string {
	if len(c.Qualify.ExterList) == 0 {
		return nil
	}
	var out []string
	for _, in := range c.Qualify.ExterList[0].InnerList {
		out = append(out, in.Name)
	}
	return out
}

type catalogueAnswer struct {
	List struct {
		Categories []CatalogCategory `json:"categories"`
	} `json:"categories_list"`
}

// AllCategories returns every category the account may set, as a tree: the node with ID 0 is the
// root, whose Children are the level-1 ids.
//
// WeChat: GET /cgi-bin/wxopen/getallcategories
func (c *Client) AllCategories(ctx context.Context) ([]CatalogCategory, error) {
	var out catalogueAnswer
	if err := c.call(ctx, get("/cgi-bin/wxopen/getallcategories"), &out); err != nil {
		return nil, err
	}
	return out.List.Categories, nil
}

// VerifyType is the subject type getcategoriesbytype filters by (not the principal_type of the
// basic info: a media principal is VerifyMedia).
type VerifyType int

// Subject types.
const (
	VerifyPersonal   VerifyType = 0
	VerifyEnterprise VerifyType = 1
	VerifyGovernment VerifyType = 2
	VerifyMedia      VerifyType = 3
	VerifyOtherOrg   VerifyType = 4
)

// CategoriesByType returns the level 1 and 2 categories a subject of type t may set.
//
// WeChat: POST /cgi-bin/wxopen/getcategoriesbytype
func (c *Client) CategoriesByType(ctx context.Context, t VerifyType) ([]CatalogCategory, error) {
	if t < VerifyPersonal || t > VerifyOtherOrg {
		return nil, wxerr.Invalid("verify_type", "0 personal, 1 enterprise, 2 government, 3 media or 4 other organisation")
	}
	var out catalogueAnswer
	if err := c.call(ctx, post("/cgi-bin/wxopen/getcategoriesbytype", map[string]VerifyType{"verify_type": t}, true), &out); err != nil {
		return nil, err
	}
	return out.List.Categories, nil
}

// CategoryAuditStatus is the review state of a category on the account.
type CategoryAuditStatus int

// Category review states.
const (
	CategoryReviewing CategoryAuditStatus = 1
	CategoryRejected  CategoryAuditStatus = 2
	CategoryApproved  CategoryAuditStatus = 3
)

// String names the state.
func (s CategoryAuditStatus) String() string {
	switch s {
	case CategoryReviewing:
		return "reviewing"
	case CategoryRejected:
		return "rejected"
	case CategoryApproved:
		return "approved"
	}
	return "CategoryAuditStatus(" + strconv.Itoa(int(s)) + ")"
}

// AccountCategory is a category set on the account, with its review state.
type AccountCategory struct {
	First       int64               `json:"first"`
	FirstName   string              `json:"first_name"`
	Second      int64               `json:"second"`
	SecondName  string              `json:"second_name"`
	AuditStatus CategoryAuditStatus `json:"audit_status"`
	AuditReason string              `json:"audit_reason"`
}

// AccountCategories are the account's categories and its limits.
type AccountCategories struct {
	Categories []AccountCategory `json:"categories"`
	// Limit is the number of changes allowed per cycle, Quota the changes left.
	Limit int `json:"limit"`
	Quota int `json:"quota"`
	// CategoryLimit is the most categories the account may have.
	CategoryLimit int `json:"category_limit"`
}

// Approved returns the approved categories.
func (a *AccountCategories) Approved() []AccountCategory {
	var out []AccountCategory
	for _, c := range a.Categories {
		if c.AuditStatus == CategoryApproved {
			out = append(out, c)
		}
	}
	return out
}

// AccountCategories returns the categories set on the account, approved or not.
//
// WeChat: GET /cgi-bin/wxopen/getcategory
func (c *Client) AccountCategories(ctx context.Context) (*AccountCategories, error) {
	var out AccountCategories
	if err := c.call(ctx, get("/cgi-bin/wxopen/getcategory"), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Certificate is one qualification document of a category: Key is its name (from
// CatalogCategory.Qualifications), Value the media id of its image (UploadTempMedia, image).
type Certificate struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// CategoryApplication is a category to add, or the new qualifications of a rejected one.
type CategoryApplication struct {
	First  int64 `json:"first"`
	Second int64 `json:"second"`
	// Certificates are required for a sensitive category (sent as WeChat's "certicates").
	Certificates []Certificate `json:"certicates,omitempty"`
}

func (a CategoryApplication) validate(field string) error {
	if a.First <= 0 || a.Second <= 0 {
		return wxerr.Invalid(field, "first and second are the positive ids of a level-1 and a level-2 category")
	}
	for i, c := range a.Certificates {
		if c.Key == "" || c.Value == "" {
			return wxerr.Invalid(field+".certicates", "certificate "+strconv.Itoa(i+1)+" needs a key (document name) and a value (image media id)")
		}
	}
	return nil
}

// AddCategories adds categories to the account. Sensitive ones go to review (result pushed as
// wxa_category_audit, component.CategoryAuditEvent); the others apply at once.
//
// WeChat: POST /cgi-bin/wxopen/addcategory
func (c *Client) AddCategories(ctx context.Context, cats ...CategoryApplication) error {
	if len(cats) == 0 {
		return wxerr.Invalid("categories", "at least one category")
	}
	seen := map[[2]int64]bool{}
	for i, cat := range cats {
		field := "categories[" + strconv.Itoa(i) + "]"
		if err := cat.validate(field); err != nil {
			return err
		}
		if seen[[2]int64{cat.First, cat.Second}] {
			return wxerr.Invalid(field, "the same category twice")
		}
		seen[[2]int64{cat.First, cat.Second}] = true
	}
	return c.call(ctx, post("/cgi-bin/wxopen/addcategory", map[string][]CategoryApplication{"categories": cats}, false), nil)
}

// DeleteCategory removes a category from the account (53308 while it is under review).
//
// WeChat: POST /cgi-bin/wxopen/deletecategory
func (c *Client) DeleteCategory(ctx context.Context, first, second int64) error {
	if err := (CategoryApplication{First: first, Second: second}).validate("category"); err != nil {
		return err
	}
	return c.call(ctx, post("/cgi-bin/wxopen/deletecategory", map[string]int64{"first": first, "second": second}, false), nil)
}

// ModifyCategory sends new qualifications for a rejected category (53307 otherwise); the ids
// cannot change (53306: delete and add instead).
//
// WeChat: POST /cgi-bin/wxopen/modifycategory
func (c *Client) ModifyCategory(ctx context.Context, a CategoryApplication) error {
	if err := a.validate("category"); err != nil {
		return err
	}
	if len(a.Certificates) == 0 {
		return wxerr.Invalid("category.certicates", "modifycategory changes qualifications: send at least one")
	}
	return c.call(ctx, post("/cgi-bin/wxopen/modifycategory", a, false), nil)
}
