package wxtest

// Service categories (API digest part 2, section 11).
//
// The emulator's catalogue (catalogue below) has a few level-1 categories and their level-2
// children; ids are categoryID(name) and categoryID(first+"/"+second), the ids wxa/get_category
// answers. Approved categories are Authorizer.Categories (what wxa/get_category lists and
// submit_audit checks); the others live here until reviewed.
//
// Rules the emulator enforces, and the errcodes it answers:
//   - getallcategories: the whole catalogue, from the root node (id 0), for the account (the
//     emulator's accounts are all enterprises: getaccountbasicinfo's principal_type 1).
//   - getcategoriesbytype: the level-1 and level-2 categories a subject of verify_type may set
//     (0 personal, the default when absent; 1 enterprise; 2 government; 3 media; 4 other
//     organisation; 40097 otherwise), no root; a level-1 node lists only the children the type may
//     set and is left out when it has none. WeChat publishes no table of which type may set which
//     category: the catalogue's subjects are the emulator's (tools for every type, the rest for
//     enterprises, household services also for other organisations).
//   - addcategory: categories 1-5 items of known level-1/level-2 ids (53303); not already on the
//     account (53304); at most categoryLimit on the account (53301); at most categoryChanges adds and
//     deletes per month (53300); a sensitive category needs certicates naming each document of its
//     qualification, each an image media id of the caller from media/upload (53311, 40007). A
//     sensitive category is under review until ReviewCategory (which pushes wxa_category_audit); the
//     others are approved at once.
//   - deletecategory: a category on the account (53303), not under review (53308).
//   - modifycategory: the category must be on the account (53306) and rejected (53307); it goes
//     back to review with the new certicates (checked as for addcategory).

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/wxopen-go/wxopen/wxerr"
)

const (
	pathAllCategories    = "/cgi-bin/wxopen/getallcategories"
	pathCategoriesByType = "/cgi-bin/wxopen/getcategoriesbytype"
	pathAccountCategory  = "/cgi-bin/wxopen/getcategory"
	pathAddCategory      = "/cgi-bin/wxopen/addcategory"
	pathDeleteCategory   = "/cgi-bin/wxopen/deletecategory"
	pathModifyCategory   = "/cgi-bin/wxopen/modifycategory"

	categoryLimit   = 5 // categories on one account
	categoryChanges = 5 // adds and deletes per month
)

// catalogueEntry is a level-2 category of the catalogue; documents, when set, make it sensitive.
// subjects are the verify_types (getcategoriesbytype) that may set it; none means every type.
type catalogueEntry struct {
	first, second string
	documents     []string
	subjects      []int
}

// Subject types of getcategoriesbytype's verify_type (digest 11.1).
const (
	subjectPersonal   = 0
	subjectEnterprise = 1
	subjectOtherOrg   = 4
)

// catalogue is the emulator's category catalogue.
var catalogue = []catalogueEntry{
	{"工具", "效率", nil, nil},
	{"工具", "信息查询", nil, nil},
	{"餐饮", "中餐", []string{"食品经营许可证"}, []int{subjectEnterprise}},
	{"餐饮", "点餐平台", []string{"食品经营许可证"}, []int{subjectEnterprise}},
	{"餐饮", "咖啡厅", nil, []int{subjectEnterprise}},
	{"商业服务", "软件服务提供商", nil, []int{subjectEnterprise}},
	{"生活服务", "家政", nil, []int{subjectEnterprise, subjectOtherOrg}},
}

// allows reports whether a subject of verify_type t may set e.
func (e catalogueEntry) allows(t int) bool {
	return len(e.subjects) == 0 || slices.Contains(e.subjects, t)
}

// Category review states (getcategory audit_status).
const (
	catReviewing = 1
	catRejected  = 2
	catApproved  = 3
)

// categoryState is this file's state, kept on the Server with groupState.
type categoryState struct {
	apps map[string]*mpCategories // by authorizer appid
}

// mpCategories are the categories of one account that are not approved, and its change count.
type mpCategories struct {
	pending map[[2]string]*pendingCategory // by first, second name
	changes map[string]int                 // China month → adds and deletes
}

type pendingCategory struct {
	status int
	reason string
}

// categories returns the category state of appID, creating it. Call with s.mu held.
func (s *Server) categories(appID string) *mpCategories {
	st := groupState(s, func() *categoryState { return &categoryState{apps: map[string]*mpCategories{}} })
	c := st.apps[appID]
	if c == nil {
		c = &mpCategories{pending: map[[2]string]*pendingCategory{}, changes: map[string]int{}}
		st.apps[appID] = c
	}
	return c
}

func (s *Server) registerMPCategory() {
	// Category management is permission set 30 (older pages also name 61).
	need := func(h func(c *call) (any, error)) func(c *call) (any, error) { return needFunc(h, true, 30, 61) }
	s.route(http.MethodGet, pathAllCategories, authAuthorizer, need(s.mpAllCategories))
	s.route(http.MethodPost, pathCategoriesByType, authAuthorizer, need(s.mpAllCategories))
	s.route(http.MethodGet, pathAccountCategory, authAuthorizer, need(s.mpAccountCategories))
	s.route(http.MethodPost, pathAddCategory, authAuthorizer, need(s.mpAddCategory))
	s.route(http.MethodPost, pathDeleteCategory, authAuthorizer, need(s.mpDeleteCategory))
	s.route(http.MethodPost, pathModifyCategory, authAuthorizer, need(s.mpModifyCategory))
}

// catalogueByIDs returns the entry of the ids first and second.
func catalogueByIDs(first, second int) (catalogueEntry, bool) {
	for _, e := range catalogue {
		if categoryID(e.first) == first && categoryID(e.first+"/"+e.second) == second {
			return e, true
		}
	}
	return catalogueEntry{}, false
}

// mpAllCategories: GET /cgi-bin/wxopen/getallcategories and POST getcategoriesbytype.
func (s *Server) mpAllCategories(c *call) (any, error) {
	byType := c.r.Method == http.MethodPost
	subject := subjectEnterprise // the emulator's accounts
	if byType {
		var req struct {
			VerifyType *int `json:"verify_type"`
		}
		if err := c.bind(&req); err != nil {
			return nil, err
		}
		if req.VerifyType != nil && (*req.VerifyType < 0 || *req.VerifyType > 4) {
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [verify_type]")
		}
		subject = subjectPersonal
		if req.VerifyType != nil {
			subject = *req.VerifyType
		}
	}
	if _, _, err := s.miniProgram(c); err != nil {
		return nil, err
	}
	root := map[string]any{"id": 0, "name": "", "level": 0, "father": 0, "children": []int{}}
	nodes := []map[string]any{root}
	firsts := map[string]map[string]any{}
	for _, e := range catalogue {
		if !e.allows(subject) {
			continue
		}
		f := firsts[e.first]
		if f == nil {
			f = map[string]any{"id": categoryID(e.first), "name": e.first, "level": 1, "father": 0, "children": []int{},
				"sensitive_type": 0, "qualify": map[string]any{"exter_list": []any{}, "remark": ""}}
			firsts[e.first] = f
			nodes = append(nodes, f)
			root["children"] = append(root["children"].([]int), f["id"].(int))
		}
		id := categoryID(e.first + "/" + e.second)
		f["children"] = append(f["children"].([]int), id)
		sensitive, exter := 0, []any{}
		if len(e.documents) > 0 {
			sensitive = 1
			inner := []map[string]string{}
			for _, d := range e.documents {
				inner = append(inner, map[string]string{"name": d, "url": "https://developers.weixin.qq.com/qualify/" + d})
			}
			exter = append(exter, map[string]any{"inner_list": inner})
		}
		nodes = append(nodes, map[string]any{"id": id, "name": e.second, "level": 2, "father": categoryID(e.first),
			"children": []int{}, "sensitive_type": sensitive, "qualify": map[string]any{"exter_list": exter, "remark": ""}, "is_hidden": false})
	}
	if byType { // levels 1 and 2 only
		nodes = nodes[1:]
	}
	return withOK(map[string]any{"categories_list": map[string]any{"categories": nodes}}), nil
}

// mpAccountCategories: GET /cgi-bin/wxopen/getcategory.
func (s *Server) mpAccountCategories(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	st := s.categories(a.info.AppID)
	list := []map[string]any{}
	add := func(first, second string, status int, reason string) {
		list = append(list, map[string]any{"first": categoryID(first), "first_name": first, "second": categoryID(first + "/" + second),
			"second_name": second, "audit_status": status, "audit_reason": reason})
	}
	for _, cat := range a.info.Categories {
		add(cat.First, cat.Second, catApproved, "")
	}
	for _, e := range catalogue { // the catalogue's order: stable answers
		if p := st.pending[[2]string{e.first, e.second}]; p != nil {
			add(e.first, e.second, p.status, p.reason)
		}
	}
	return withOK(map[string]any{"categories": list, "limit": categoryChanges,
		"quota": categoryChanges - st.changes[chinaMonth(c)], "category_limit": categoryLimit}), nil
}

// chinaMonth is the month in China of the call, which category changes and audits count by.
func chinaMonth(c *call) string { return chinaDate(c.now)[:7] }

type certicate struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type categoryBody struct {
	First      int         `json:"first"`
	Second     int         `json:"second"`
	Certicates []certicate `json:"certicates"`
}

// checkCerticates checks the qualification documents of e. Call with s.mu held.
func (s *Server) checkCerticates(c *call, e catalogueEntry, certs []certicate) error {
	for _, d := range e.documents {
		i := slices.IndexFunc(certs, func(ct certicate) bool { return ct.Key == d })
		if i < 0 {
			return apiErr(wxerr.CodeCategoryNeedsMaterials, "qualification required: "+d)
		}
		m, err := s.mediaOf(c, certs[i].Value)
		if err != nil {
			return err
		}
		if !m.image {
			return apiErr(40007, "invalid media_id")
		}
	}
	return nil
}

func hasCategory(cats []Category, e catalogueEntry) bool {
	return slices.Contains(cats, Category{First: e.first, Second: e.second})
}

// mpAddCategory: POST /cgi-bin/wxopen/addcategory.
func (s *Server) mpAddCategory(c *call) (any, error) {
	var req struct {
		Categories []categoryBody `json:"categories"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if len(req.Categories) == 0 || len(req.Categories) > categoryLimit {
		return nil, apiErr(wxerr.CodeCategoryInvalidParams, "invalid categories")
	}
	st := s.categories(a.info.AppID)
	month := chinaMonth(c)
	if st.changes[month]+len(req.Categories) > categoryChanges {
		return nil, apiErr(wxerr.CodeCategoryMonthlyLimit, "monthly category change limit reached")
	}
	var entries []catalogueEntry
	for _, b := range req.Categories {
		e, ok := catalogueByIDs(b.First, b.Second)
		if !ok {
			return nil, apiErr(wxerr.CodeCategoryInvalidParams, "invalid category id")
		}
		if hasCategory(a.info.Categories, e) || st.pending[[2]string{e.first, e.second}] != nil ||
			slices.ContainsFunc(entries, func(x catalogueEntry) bool { return x.first == e.first && x.second == e.second }) {
			return nil, apiErr(wxerr.CodeCategoryDuplicate, "category already exists")
		}
		if err := s.checkCerticates(c, e, b.Certicates); err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if len(a.info.Categories)+len(st.pending)+len(entries) > categoryLimit {
		return nil, apiErr(wxerr.CodeCategoryCountLimit, "category count limit reached")
	}
	for _, e := range entries {
		if len(e.documents) > 0 {
			st.pending[[2]string{e.first, e.second}] = &pendingCategory{status: catReviewing}
		} else {
			a.info.Categories = append(a.info.Categories, Category{First: e.first, Second: e.second})
		}
	}
	st.changes[month] += len(entries)
	return answerOK(), nil
}

// mpDeleteCategory: POST /cgi-bin/wxopen/deletecategory.
func (s *Server) mpDeleteCategory(c *call) (any, error) {
	var req categoryBody
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	e, ok := catalogueByIDs(req.First, req.Second)
	st := s.categories(a.info.AppID)
	key := [2]string{e.first, e.second}
	switch {
	case !ok:
		return nil, apiErr(wxerr.CodeCategoryInvalidParams, "invalid category id")
	case st.pending[key] != nil && st.pending[key].status == catReviewing:
		return nil, apiErr(wxerr.CodeCategoryUnderReview, "category under review cannot be deleted")
	case st.pending[key] != nil:
		delete(st.pending, key)
	case hasCategory(a.info.Categories, e):
		a.info.Categories = slices.DeleteFunc(a.info.Categories, func(x Category) bool { return x.First == e.first && x.Second == e.second })
	default:
		return nil, apiErr(wxerr.CodeCategoryInvalidParams, "category not set")
	}
	st.changes[chinaMonth(c)]++
	return answerOK(), nil
}

// mpModifyCategory: POST /cgi-bin/wxopen/modifycategory.
func (s *Server) mpModifyCategory(c *call) (any, error) {
	var req categoryBody
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	e, ok := catalogueByIDs(req.First, req.Second)
	st := s.categories(a.info.AppID)
	p := st.pending[[2]string{e.first, e.second}]
	switch {
	case !ok || (p == nil && !hasCategory(a.info.Categories, e)):
		return nil, apiErr(wxerr.CodeCategoryModifyIDs, "category ids cannot be modified")
	case p == nil || p.status != catRejected:
		return nil, apiErr(wxerr.CodeCategoryModifyNotFailed, "only a rejected category can be modified")
	}
	if err := s.checkCerticates(c, e, req.Certicates); err != nil {
		return nil, err
	}
	p.status, p.reason = catReviewing, ""
	return answerOK(), nil
}

// ReviewCategory plays WeChat's reviewers on the category first > second (names, e.g. "餐饮",
// "点餐平台") that the mini program appID added with qualifications: approve makes it one of the
// account's categories (Authorizer.Categories), otherwise it is rejected with reason. The result is
// pushed as wxa_category_audit to the message event URL. It is an error when that category is not
// under review.
func (s *Server) ReviewCategory(ctx context.Context, appID, first, second string, approve bool, reason string) error {
	now := s.Now()
	s.mu.Lock()
	a := s.authorizers[appID]
	var p *pendingCategory
	var st *mpCategories
	if a != nil {
		st = s.categories(appID)
		p = st.pending[[2]string{first, second}]
	}
	if p == nil || p.status != catReviewing {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: ReviewCategory: %s has no category %s > %s under review", appID, first, second)
	}
	ret := catApproved
	if approve {
		delete(st.pending, [2]string{first, second})
		a.info.Categories = append(a.info.Categories, Category{First: first, Second: second})
		reason = ""
	} else {
		if reason == "" {
			reason = "资质材料不清晰"
		}
		ret = catRejected
		p.status, p.reason = catRejected, reason
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	msg := xmlMessage(xmlField{"ToUserName", a.info.UserName, false}, xmlField{"FromUserName", auditSystemOpenID, false},
		xmlField{"CreateTime", ts, true}, xmlField{"MsgType", "event", false}, xmlField{"Event", "wxa_category_audit", false},
		xmlField{"first", strconv.Itoa(categoryID(first)), false}, xmlField{"second", strconv.Itoa(categoryID(first + "/" + second)), false},
		xmlField{"ret", strconv.Itoa(ret), true}, xmlField{"reason", reason, false})
	s.mu.Unlock()
	return s.PushAuthorizerEvent(ctx, appID, msg)
}
