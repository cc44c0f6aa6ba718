package wxtest

// Subscribe messages per authorizer (API digest section 20): WeChat's public template library (filled
// by the test with AddPublicTemplate), each account's private templates, users' subscriptions
// (AcceptSubscription plays wx.requestSubscribeMessage) and the messages sent, which
// SentSubscribeMessages returns.
//
// Rules of send, in the order the emulator checks them:
//   - touser is an openid of this mini program's users (40003): a user the mini program knows,
//     because they logged in (jscode2session of an IssueLoginCode code) or accepted one of its
//     templates (AcceptSubscription). An openid is per mini program, so another one's user is unknown.
//   - template_id is one of the account's private templates (40037); miniprogram_state and lang are
//     among the documented values (40097).
//   - page, when given, is a page (its query left aside) of the version the message opens (41030):
//     the released version for miniprogram_state formal (the default), the last commit for trial and
//     developer. A leading "/" is not a page path (WeChat's samples have none; the emulator's choice).
//   - data fills every key of the template within its rule (47003).
//   - the user accepted the template (43101): a one-time acceptance is used up by the send.

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/wxerr"
)

const (
	pathSubGetCategory  = "/wxaapi/newtmpl/getcategory"
	pathSubPubTitles    = "/wxaapi/newtmpl/getpubtemplatetitles"
	pathSubPubKeywords  = "/wxaapi/newtmpl/getpubtemplatekeywords"
	pathSubAddTemplate  = "/wxaapi/newtmpl/addtemplate"
	pathSubGetTemplates = "/wxaapi/newtmpl/gettemplate"
	pathSubDelTemplate  = "/wxaapi/newtmpl/deltemplate"
	pathSubSend         = "/cgi-bin/message/subscribe/send"
)

// Rules of this file (digest 20).
const (
	subPrivateLimit    = 50 // private templates per account ([SN]; WxJava's older enum says 25)
	subSceneDescMax    = 15
	codeSubLimit       = 200012
	codeSubInvalidTID  = 200014
	codeSubInvalidKIDs = 200020
	codeSubNotAccepted = 43101
	codeSubBadData     = 47003
	codeSubBadTemplate = 40037
	codeSubBadOpenID   = 40003
)

func (s *Server) registerSubscribe() {
	s.route(http.MethodGet, pathSubGetCategory, authAuthorizer, s.subCategories)
	s.route(http.MethodGet, pathSubPubTitles, authAuthorizer, s.subPublicTitles)
	s.route(http.MethodGet, pathSubPubKeywords, authAuthorizer, s.subKeywords)
	s.route(http.MethodPost, pathSubAddTemplate, authAuthorizer, s.subAdd)
	s.route(http.MethodGet, pathSubGetTemplates, authAuthorizer, s.subList)
	s.route(http.MethodPost, pathSubDelTemplate, authAuthorizer, s.subDelete)
	s.route(http.MethodPost, pathSubSend, authAuthorizer, s.subSend)
}

// PublicTemplate is a template of WeChat's public library, for AddPublicTemplate.
type PublicTemplate struct {
	// Category is the service category it belongs to; only accounts with that category may use it.
	Category Category
	Title    string
	// OneTime templates (type 2) are used once per subscription; the others are long-term (type 3).
	LongTerm bool
	Keywords []TemplateKeyword
}

// TemplateKeyword is a field of a public template; its kid is its position, from 1.
type TemplateKeyword struct {
	Name string
	// Rule is the value kind: thing, number, letter, symbol, character_string, time, date, amount,
	// phone_number, car_number, name, phrase.
	Rule    string
	Example string
}

// SentSubscribeMessage is a subscribe message the emulator accepted.
type SentSubscribeMessage struct {
	AppID, ToUser, TemplateID, Page, State, Lang string
	Data                                         map[string]string
	At                                           time.Time
}

type subState struct {
	public   []*PublicTemplate                 // tid = index + 1
	private  map[string][]*subPriv             // by appid
	accepted map[string]int                    // appid/openid/priTmplId → sends left (-1: long-term)
	users    map[userKey]bool                  // users who accepted a template of the mini program
	sent     map[string][]SentSubscribeMessage // by appid
}

type subPriv struct {
	id, title, content string
	tid                int
	typ                int
}

func (s *Server) subs() *subState {
	return groupState(s, func() *subState {
		return &subState{private: map[string][]*subPriv{}, accepted: map[string]int{}, users: map[userKey]bool{},
			sent: map[string][]SentSubscribeMessage{}}
	})
}

// AddPublicTemplate adds a template to WeChat's public library and returns its tid.
func (s *Server) AddPublicTemplate(t PublicTemplate) (tid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.subs()
	t.Keywords = slices.Clone(t.Keywords)
	st.public = append(st.public, &t)
	return len(st.public)
}

// AcceptSubscription plays the user openID accepting the template priTmplID of the mini program
// appID in wx.requestSubscribeMessage: one more message of a one-time template may be sent (each
// acceptance adds one), any number of a long-term one. The user becomes one the mini program knows,
// so a send to them is refused with 43101 (not 40003) once their acceptances are used up.
func (s *Server) AcceptSubscription(appID, openID, priTmplID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.subs()
	st.users[userKey{appID, openID}] = true
	k := appID + "/" + openID + "/" + priTmplID
	for _, p := range st.private[appID] {
		if p.id == priTmplID && p.typ == 3 {
			st.accepted[k] = -1
			return
		}
	}
	if st.accepted[k] >= 0 {
		st.accepted[k]++
	}
}

// SentSubscribeMessages returns the subscribe messages sent by the account appID, oldest first.
func (s *Server) SentSubscribeMessages(appID string) []SentSubscribeMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.subs().sent[appID])
	for i := range out {
		out[i].Data = cloneMap(out[i].Data)
	}
	return out
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// subCategories: GET /wxaapi/newtmpl/getcategory — the account's categories.
func (s *Server) subCategories(c *call) (any, error) {
	a := c.authorizer()
	list := make([]map[string]any, 0, len(a.info.Categories))
	for _, cat := range a.info.Categories {
		list = append(list, map[string]any{"id": categoryID(cat.First + "/" + cat.Second), "name": cat.Second})
	}
	return withOK(map[string]any{"data": list}), nil
}

func templateType(t *PublicTemplate) int {
	if t.LongTerm {
		return 3
	}
	return 2
}

// subPublicTitles: GET /wxaapi/newtmpl/getpubtemplatetitles?ids=&start=&limit=.
func (s *Server) subPublicTitles(c *call) (any, error) {
	ids, start, limit := c.query("ids"), c.query("start"), c.query("limit")
	if ids == "" || start == "" || limit == "" {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: ids, start and limit are required")
	}
	from, err1 := strconv.Atoi(start)
	n, err2 := strconv.Atoi(limit)
	if err1 != nil || err2 != nil || from < 0 || n < 1 || n > 30 {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: start >= 0, limit 1 to 30")
	}
	want := map[int]bool{}
	for _, id := range strings.Split(ids, ",") {
		v, err := strconv.Atoi(id)
		if err != nil {
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: ids")
		}
		want[v] = true
	}
	keyword := c.query("keyword")
	var all []map[string]any
	for i, t := range s.subs().public {
		cid := categoryID(t.Category.First + "/" + t.Category.Second)
		if !want[cid] || (keyword != "" && !strings.Contains(t.Title, keyword)) {
			continue
		}
		all = append(all, map[string]any{"tid": i + 1, "title": t.Title, "type": templateType(t), "categoryId": strconv.Itoa(cid)})
	}
	page := []map[string]any{}
	if from < len(all) {
		page = all[from:min(len(all), from+n)]
	}
	return withOK(map[string]any{"count": len(all), "data": page}), nil
}

func (s *Server) publicTemplate(tid int) *PublicTemplate {
	st := s.subs()
	if tid < 1 || tid > len(st.public) {
		return nil
	}
	return st.public[tid-1]
}

// subKeywords: GET /wxaapi/newtmpl/getpubtemplatekeywords?tid=.
func (s *Server) subKeywords(c *call) (any, error) {
	tid, err := strconv.Atoi(c.query("tid"))
	t := s.publicTemplate(tid)
	if err != nil || t == nil {
		return nil, apiErr(codeSubInvalidTID, "invalid tid")
	}
	list := make([]map[string]any, len(t.Keywords))
	for i, k := range t.Keywords {
		list[i] = map[string]any{"kid": i + 1, "name": k.Name, "example": k.Example, "rule": k.Rule}
	}
	return withOK(map[string]any{"count": len(list), "data": list}), nil
}

// subAdd: POST /wxaapi/newtmpl/addtemplate — tid as a string or a number; the template's category must
// be one of the account's.
func (s *Server) subAdd(c *call) (any, error) {
	var req struct {
		TID       json.RawMessage `json:"tid"`
		KIDList   []int           `json:"kidList"`
		SceneDesc string          `json:"sceneDesc"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a := c.authorizer()
	if len(req.TID) == 0 {
		return nil, missing("tid")
	}
	tid, err := strconv.Atoi(strings.Trim(string(req.TID), `"`))
	t := s.publicTemplate(tid)
	if err != nil || t == nil || !slices.Contains(a.info.Categories, t.Category) {
		return nil, apiErr(codeSubInvalidTID, "invalid tid")
	}
	if len(req.KIDList) < 2 || len(req.KIDList) > 5 {
		return nil, apiErr(codeSubInvalidKIDs, "invalid kidList")
	}
	var content strings.Builder
	seen := map[int]bool{}
	for _, kid := range req.KIDList {
		if kid < 1 || kid > len(t.Keywords) || seen[kid] {
			return nil, apiErr(codeSubInvalidKIDs, "invalid kidList")
		}
		seen[kid] = true
		k := t.Keywords[kid-1]
		content.WriteString(k.Name + ":{{" + k.Rule + strconv.Itoa(kid) + ".DATA}}\n")
	}
	if utf8.RuneCountInString(req.SceneDesc) > subSceneDescMax {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: sceneDesc longer than 15")
	}
	st := s.subs()
	if len(st.private[a.info.AppID]) >= subPrivateLimit {
		return nil, apiErr(codeSubLimit, "private template count out of limit")
	}
	p := &subPriv{id: randAlnum(43), title: t.Title, content: content.String(), tid: tid, typ: templateType(t)}
	st.private[a.info.AppID] = append(st.private[a.info.AppID], p)
	return withOK(map[string]any{"priTmplId": p.id}), nil
}

// subList: GET /wxaapi/newtmpl/gettemplate.
func (s *Server) subList(c *call) (any, error) {
	list := []map[string]any{}
	for _, p := range s.subs().private[c.authorizerAppID] {
		list = append(list, map[string]any{"priTmplId": p.id, "title": p.title, "content": p.content, "example": "", "type": p.typ})
	}
	return withOK(map[string]any{"data": list}), nil
}

// subDelete: POST /wxaapi/newtmpl/deltemplate.
func (s *Server) subDelete(c *call) (any, error) {
	var req struct {
		ID string `json:"priTmplId"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	st := s.subs()
	list := st.private[c.authorizerAppID]
	i := slices.IndexFunc(list, func(p *subPriv) bool { return p.id == req.ID })
	if req.ID == "" || i < 0 {
		return nil, apiErr(codeSubBadTemplate, "invalid template id")
	}
	st.private[c.authorizerAppID] = slices.Delete(list, i, i+1)
	if len(st.private[c.authorizerAppID]) == 0 {
		delete(st.private, c.authorizerAppID)
	}
	return answerOK(), nil
}

// subValueMax are the maximal lengths of values by kind (digest 20, unverified there too).
var subValueMax = map[string]int{"thing": 20, "number": 32, "letter": 32, "symbol": 5, "character_string": 32, "name": 10, "phrase": 5}

// subSend: POST /cgi-bin/message/subscribe/send, with the rules of this file's comment.
func (s *Server) subSend(c *call) (any, error) {
	var req struct {
		ToUser     string `json:"touser"`
		TemplateID string `json:"template_id"`
		Page       string `json:"page"`
		Data       map[string]struct {
			Value string `json:"value"`
		} `json:"data"`
		State string `json:"miniprogram_state"`
		Lang  string `json:"lang"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	appID := c.authorizerAppID
	st := s.subs()
	if req.ToUser == "" || !s.knownUser(appID, req.ToUser) {
		return nil, apiErr(codeSubBadOpenID, "invalid openid")
	}
	i := slices.IndexFunc(st.private[appID], func(p *subPriv) bool { return p.id == req.TemplateID })
	if i < 0 {
		return nil, apiErr(codeSubBadTemplate, "invalid template id")
	}
	p := st.private[appID][i]
	switch req.State {
	case "", "developer", "trial", "formal":
	default:
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: miniprogram_state")
	}
	switch req.Lang {
	case "", "zh_CN", "en_US", "zh_HK", "zh_TW":
	default:
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: lang")
	}
	if req.Page != "" && !s.pageOpens(appID, req.State, req.Page) {
		return nil, apiErr(codeInvalidPage, "invalid page hint: not a page of the "+versionName(req.State)+" version")
	}
	data := map[string]string{}
	for _, key := range templateKeys(p.content) {
		v, ok := req.Data[key]
		if !ok || v.Value == "" {
			return nil, apiErr(codeSubBadData, "argument invalid! data."+key+".value is empty")
		}
		kind := strings.TrimRight(key, "0123456789")
		if n, limited := subValueMax[kind]; limited && utf8.RuneCountInString(v.Value) > n {
			return nil, apiErr(codeSubBadData, "argument invalid! data."+key+".value exceeds limit")
		}
		if kind == "number" && strings.Trim(v.Value, "0123456789.") != "" {
			return nil, apiErr(codeSubBadData, "argument invalid! data."+key+".value is not a number")
		}
		data[key] = v.Value
	}
	k := appID + "/" + req.ToUser + "/" + p.id
	left := st.accepted[k]
	if left == 0 {
		return nil, apiErr(codeSubNotAccepted, "user refuse to accept the msg")
	}
	if left > 0 {
		if left == 1 {
			delete(st.accepted, k)
		} else {
			st.accepted[k] = left - 1
		}
	}
	st.sent[appID] = append(st.sent[appID], SentSubscribeMessage{AppID: appID, ToUser: req.ToUser, TemplateID: p.id,
		Page: req.Page, State: req.State, Lang: req.Lang, Data: data, At: c.now})
	return answerOK(), nil
}

// knownUser reports whether openID is a user of the mini program appID: one who logged in or
// accepted one of its templates. Call with s.mu held.
func (s *Server) knownUser(appID, openID string) bool {
	k := userKey{appID, openID}
	_, loggedIn := s.sessions[k]
	return loggedIn || s.subs().users[k]
}

// versionName names the version a message of miniprogram_state state opens.
func versionName(state string) string {
	if state == "" || state == "formal" {
		return "released"
	}
	return "trial"
}

// pageOpens reports whether page (with its query, if any) is a page of the version of appID that a
// message of miniprogram_state state opens. Call with s.mu held.
func (s *Server) pageOpens(appID, state, page string) bool {
	app := s.mp().apps[appID]
	if app == nil {
		return false
	}
	v := app.released
	if versionName(state) != "released" {
		v = app.trial
	}
	path, _, _ := strings.Cut(page, "?")
	return v != nil && slices.Contains(v.pages, path)
}

// templateKeys returns the keys of a template's content ("thing1" of "{{thing1.DATA}}"), sorted.
func templateKeys(content string) []string {
	var keys []string
	for rest := content; ; {
		i := strings.Index(rest, "{{")
		j := strings.Index(rest, ".DATA}}")
		if i < 0 || j < i {
			break
		}
		keys = append(keys, rest[i+2:j])
		rest = rest[j+len(".DATA}}"):]
	}
	sort.Strings(keys)
	return keys
}
