package miniprogram

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Subscribe returns the subscribe-message service of the mini program: its private templates (chosen
// from WeChat's public library within the mini program's categories) and the sending of messages to
// users who subscribed. It is a cheap value over c.
func (c *Client) Subscribe() Subscribe { return Subscribe{c: c} }

// Subscribe is a mini program's subscribe-message service (digest 20). Get it from Client.Subscribe.
type Subscribe struct{ c *Client }

// SubscribeCategory is one of the mini program's categories, which decide the public templates it
// may use.
type SubscribeCategory struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// Categories returns the mini program's categories for subscribe messages.
//
// WeChat: GET /wxaapi/newtmpl/getcategory
func (s Subscribe) Categories(ctx context.Context) ([]SubscribeCategory, error) {
	var out struct {
		Data []SubscribeCategory `json:"data"`
	}
	if err := s.c.call(ctx, get("/wxaapi/newtmpl/getcategory"), &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// TemplateType is a subscribe template's kind.
type TemplateType int

// Values of TemplateType.
const (
	TemplateOneTime  TemplateType = 2 // one message per subscription
	TemplateLongTerm TemplateType = 3 // long-term subscription (government, medical, transport… categories)
)

// PublicTitle is a template of WeChat's public library.
type PublicTitle struct {
	TID        int          `json:"tid"`
	Title      string       `json:"title"`
	Type       TemplateType `json:"type"`
	CategoryID string       `json:"categoryId"`
}

// PublicTitlesRequest pages through the public templates of some categories.
type PublicTitlesRequest struct {
	// CategoryIDs are the categories (from Categories). Required.
	CategoryIDs []int
	// Start is the offset of the page.
	Start int
	// Limit is the page size, 1 to 30. Required.
	Limit int
	// Keyword filters the titles; "" means all (unverified parameter, sent only when set).
	Keyword string
}

// PublicTitles is one page of public templates and the total count.
type PublicTitles struct {
	Count int           `json:"count"`
	Data  []PublicTitle `json:"data"`
}

// PublicTitles returns a page of the public templates of r.CategoryIDs.
//
// WeChat: GET /wxaapi/newtmpl/getpubtemplatetitles
func (s Subscribe) PublicTitles(ctx context.Context, r PublicTitlesRequest) (*PublicTitles, error) {
	if len(r.CategoryIDs) == 0 {
		return nil, wxerr.Invalid("ids", "at least one category id")
	}
	if r.Start < 0 {
		return nil, wxerr.Invalid("start", "not negative")
	}
	if r.Limit < 1 || r.Limit > 30 {
		return nil, wxerr.Invalid("limit", "1 to 30")
	}
	ids := make([]string, len(r.CategoryIDs))
	for i, id := range r.CategoryIDs {
		ids[i] = strconv.Itoa(id)
	}
	req := get("/wxaapi/newtmpl/getpubtemplatetitles")
	req.Query = url.Values{"ids": {strings.Join(ids, ",")}, "start": {strconv.Itoa(r.Start)}, "limit": {strconv.Itoa(r.Limit)}}
	if r.Keyword != "" {
		req.Query.Set("keyword", r.Keyword)
	}
	var out PublicTitles
	if err := s.c.call(ctx, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TemplateKeyword is a keyword (a field) a public template offers.
type TemplateKeyword struct {
	KID     int    `json:"kid"`
	Name    string `json:"name"`
	Example string `json:"example"`
	// Rule is the value kind ("thing", "time", "amount"…), which SendRequest values must follow.
	Rule string `json:"rule"`
}

// Keywords returns the keywords of the public template tid.
//
// WeChat: GET /wxaapi/newtmpl/getpubtemplatekeywords
func (s Subscribe) Keywords(ctx context.Context, tid int) ([]TemplateKeyword, error) {
	if tid <= 0 {
		return nil, wxerr.Invalid("tid", "a public template id")
	}
	req := get("/wxaapi/newtmpl/getpubtemplatekeywords")
	req.Query = url.Values{"tid": {strconv.Itoa(tid)}}
	var out struct {
		Data []TemplateKeyword `json:"data"`
	}
	if err := s.c.call(ctx, req, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// AddTemplateRequest makes a private template of the public template TID.
type AddTemplateRequest struct {
	// TID is the public template. Required.
	TID int
	// KIDs are 2 to 5 of its keywords, in display order. Required.
	KIDs []int
	// SceneDesc describes where the template is used, at most 15 characters.
	SceneDesc string
}

// Add makes a private template of a public one and returns its id (priTmplId). 200012 means the
// mini program has reached its private-template limit.
//
// WeChat: POST /wxaapi/newtmpl/addtemplate
func (s Subscribe) Add(ctx context.Context, r AddTemplateRequest) (string, error) {
	if r.TID <= 0 {
		return "", wxerr.Invalid("tid", "a public template id")
	}
	if len(r.KIDs) < 2 || len(r.KIDs) > 5 {
		return "", wxerr.Invalid("kidList", "2 to 5 keyword ids")
	}
	seen := make(map[int]bool, len(r.KIDs))
	for _, k := range r.KIDs {
		if k <= 0 || seen[k] {
			return "", wxerr.Invalid("kidList", "positive and distinct keyword ids")
		}
		seen[k] = true
	}
	if utf8.RuneCountInString(r.SceneDesc) > 15 {
		return "", wxerr.Invalid("sceneDesc", "at most 15 characters")
	}
	// tid is sent as a string, as WeChat's page shows it ([WJ] too); WeChat also takes a number.
	body := struct {
		TID       string `json:"tid"`
		KIDList   []int  `json:"kidList"`
		SceneDesc string `json:"sceneDesc,omitempty"`
	}{strconv.Itoa(r.TID), r.KIDs, r.SceneDesc}
	var out struct {
		PriTmplID string `json:"priTmplId"`
	}
	if err := s.c.call(ctx, post("/wxaapi/newtmpl/addtemplate", body, false), &out); err != nil {
		return "", err
	}
	if out.PriTmplID == "" {
		return "", errors.New("wxopen: POST /wxaapi/newtmpl/addtemplate: answer has no priTmplId")
	}
	return out.PriTmplID, nil
}

// SubscribeTemplate is one of the mini program's private templates.
type SubscribeTemplate struct {
	PriTmplID string `json:"priTmplId"`
	Title     string `json:"title"`
	// Content lists the fields: "订单号:{{character_string1.DATA}}\n金额:{{amount2.DATA}}".
	Content string       `json:"content"`
	Example string       `json:"example"`
	Type    TemplateType `json:"type"`
	// KeywordEnumValues lists, for enumerated keywords, the values they accept.
	KeywordEnumValues []KeywordEnumValues `json:"keywordEnumValueList,omitempty"`
}

// KeywordEnumValues are the values an enumerated keyword accepts.
type KeywordEnumValues struct {
	KeywordCode string   `json:"keywordCode"`
	Values      []string `json:"enumValueList"`
}

// Keys returns the data keys the template's content names ("character_string1", "amount2"), in
// order: the keys of a SendRequest's Data.
func (t SubscribeTemplate) Keys() []string {
	var keys []string
	rest := t.Content
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			return keys
		}
		rest = rest[i+2:]
		j := strings.Index(rest, ".DATA}}")
		if j < 0 {
			return keys
		}
		keys = append(keys, rest[:j])
		rest = rest[j+len(".DATA}}"):]
	}
}

// List returns the mini program's private templates.
//
// WeChat: GET /wxaapi/newtmpl/gettemplate
func (s Subscribe) List(ctx context.Context) ([]SubscribeTemplate, error) {
	var out struct {
		Data []SubscribeTemplate `json:"data"`
	}
	if err := s.c.call(ctx, get("/wxaapi/newtmpl/gettemplate"), &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// Delete deletes the private template priTmplID.
//
// WeChat: POST /wxaapi/newtmpl/deltemplate
func (s Subscribe) Delete(ctx context.Context, priTmplID string) error {
	if priTmplID == "" {
		return wxerr.Invalid("priTmplId", "required")
	}
	return s.c.call(ctx, post("/wxaapi/newtmpl/deltemplate", map[string]string{"priTmplId": priTmplID}, false), nil)
}

// MiniProgramState is the version of the mini program a message opens.
type MiniProgramState string

// Values of MiniProgramState; "" takes formal.
const (
	StateDeveloper MiniProgramState = "developer"
	StateTrial     MiniProgramState = "trial"
	StateFormal    MiniProgramState = "formal"
)

// SendRequest is a subscribe message to one user.
type SendRequest struct {
	// ToUser is the user's openid. Required.
	ToUser string
	// TemplateID is the private template (priTmplId). Required.
	TemplateID string
	// Page is the page the message opens, with its query; "" opens none.
	Page string
	// Data holds the value of each of the template's keys ("thing1": "Table 12"). Required. Values
	// are checked against the kind the key's prefix names (thing ≤ 20 characters…, see
	// SubscribeValueLimit) before sending.
	Data map[string]string
	// State is the version opened; "" takes formal.
	State MiniProgramState
	// Lang is the language of the message: "zh_CN" (default), "en_US", "zh_HK" or "zh_TW".
	Lang string
}

// subscribeLimits are the maximal lengths (in characters) of values by key kind. The digest (20)
// gives them as common knowledge, unverified: they are kept here only, and kinds not listed (time,
// date, amount, phone_number, car_number) are sent as they are.
var subscribeLimits = map[string]int{
	"thing":            20,
	"number":           32,
	"letter":           32,
	"symbol":           5,
	"character_string": 32,
	"name":             10,
	"phrase":           5,
}

// SubscribeValueLimit returns the maximal length in characters of a value of the data key key
// ("thing1" → 20), and whether its kind has one.
func SubscribeValueLimit(key string) (int, bool) {
	n, ok := subscribeLimits[strings.TrimRight(key, "0123456789")]
	return n, ok
}

// validKey reports whether key looks like a template data key: a lower-case kind and a number.
func validKey(key string) bool {
	kind := strings.TrimRight(key, "0123456789")
	if kind == "" || kind == key {
		return false
	}
	for i := 0; i < len(kind); i++ {
		if ch := kind[i]; !('a' <= ch && ch <= 'z' || ch == '_') {
			return false
		}
	}
	return true
}

// Send sends a subscribe message. 43101 means the user has not subscribed (or the one-time
// subscription was used): it is not retried, and the user must subscribe again.
//
// WeChat: POST /cgi-bin/message/subscribe/send
func (s Subscribe) Send(ctx context.Context, r SendRequest) error {
	if r.ToUser == "" {
		return wxerr.Invalid("touser", "required")
	}
	if r.TemplateID == "" {
		return wxerr.Invalid("template_id", "required")
	}
	if len(r.Data) == 0 {
		return wxerr.Invalid("data", "required")
	}
	data := make(map[string]struct {
		Value string `json:"value"`
	}, len(r.Data))
	for k, v := range r.Data {
		if !validKey(k) {
			return wxerr.Invalid("data", "key "+strconv.Quote(k)+" is not a template key such as thing1")
		}
		if v == "" {
			return wxerr.Invalid("data."+k, "required")
		}
		if n, ok := SubscribeValueLimit(k); ok && utf8.RuneCountInString(v) > n {
			return wxerr.Invalid("data."+k, "at most "+strconv.Itoa(n)+" characters")
		}
		if strings.HasPrefix(k, "number") && strings.Trim(v, "0123456789.") != "" {
			return wxerr.Invalid("data."+k, "digits only")
		}
		data[k] = struct {
			Value string `json:"value"`
		}{v}
	}
	switch r.State {
	case "", StateDeveloper, StateTrial, StateFormal:
	default:
		return wxerr.Invalid("miniprogram_state", `"developer", "trial" or "formal"`)
	}
	switch r.Lang {
	case "", "zh_CN", "en_US", "zh_HK", "zh_TW":
	default:
		return wxerr.Invalid("lang", `"zh_CN", "en_US", "zh_HK" or "zh_TW"`)
	}
	body := struct {
		ToUser     string           `json:"touser"`
		TemplateID string           `json:"template_id"`
		Page       string           `json:"page,omitempty"`
		Data       any              `json:"data"`
		State      MiniProgramState `json:"miniprogram_state,omitempty"`
		Lang       string           `json:"lang,omitempty"`
	}{r.ToUser, r.TemplateID, r.Page, data, r.State, r.Lang}
	return s.c.call(ctx, post("/cgi-bin/message/subscribe/send", body, false), nil)
}
