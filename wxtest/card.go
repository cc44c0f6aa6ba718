package wxtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Member card endpoints (API digest, section 7). All take the authorizer access token of the
// official account that owns the cards; a mini program's token is refused with 48001.
const (
	pathCardTicket        = "/cgi-bin/ticket/getticket"
	pathCardCreate        = "/card/create"
	pathCardGet           = "/card/get"
	pathCardUpdate        = "/card/update"
	pathCardDecrypt       = "/card/code/decrypt"
	pathCardActivate      = "/card/membercard/activate"
	pathCardActivateForm  = "/card/membercard/activateuserform/set"
	pathCardActivateURL   = "/card/membercard/activate/geturl"
	pathCardActivateTemp  = "/card/membercard/activatetempinfo/get"
	pathCardUserInfo      = "/card/membercard/userinfo/get"
	pathCardUpdateUser    = "/card/membercard/updateuser"
	pathCardCodeGet       = "/card/code/get"
	pathCardCodeConsume   = "/card/code/consume"
	pathCardBatchGet      = "/card/batchget"
	pathCardDelete        = "/card/delete"
	pathCardQRCode        = "/card/qrcode/create"
	pathCardLandingPage   = "/card/landingpage/create"
	pathCardPayCell       = "/card/paycell/set"
	pathCardModifyStock   = "/card/modifystock"
	pathCardUploadImage   = "/cgi-bin/media/uploadimg"
	cardTicketTTL         = 7200 * time.Second
	activateTicketTTL     = 30 * time.Minute // how long an activate_ticket can be read (emulator choice)
	cardStatusVerifyOK    = "CARD_STATUS_VERIFY_OK"
	cardStatusVerifyFail  = "CARD_STATUS_VERIFY_FAIL"
	cardStatusDelete      = "CARD_STATUS_DELETE"
	cardTypeMember        = "MEMBER_CARD"
	activatePluginBaseURL = "https://mp.weixin.qq.com/bizmall/activatemembercard"
)

// Text limits the emulator enforces on card/create, in UTF-8 bytes (WeChat states them as 12 and 9
// Chinese characters, 3 bytes each; unverified).
const (
	cardMaxBrandNameBytes = 36
	cardMaxTitleBytes     = 27
)

func (s *Server) registerCard() {
	s.route(http.MethodGet, pathCardTicket, authAuthorizer, officialOnly(s.cardTicket))
	s.route(http.MethodPost, pathCardCreate, authAuthorizer, officialOnly(s.cardCreate))
	s.route(http.MethodPost, pathCardGet, authAuthorizer, officialOnly(s.cardGet))
	s.route(http.MethodPost, pathCardUpdate, authAuthorizer, officialOnly(s.cardUpdate))
	s.route(http.MethodPost, pathCardDecrypt, authAuthorizer, officialOnly(s.cardDecrypt))
	s.route(http.MethodPost, pathCardActivate, authAuthorizer, officialOnly(s.cardActivate))
	s.route(http.MethodPost, pathCardActivateForm, authAuthorizer, officialOnly(s.cardActivateForm))
	s.route(http.MethodPost, pathCardActivateURL, authAuthorizer, officialOnly(s.cardActivateURL))
	s.route(http.MethodPost, pathCardActivateTemp, authAuthorizer, officialOnly(s.cardActivateTemp))
	s.route(http.MethodPost, pathCardUserInfo, authAuthorizer, officialOnly(s.cardUserInfo))
	s.route(http.MethodPost, pathCardUpdateUser, authAuthorizer, officialOnly(s.cardUpdateUser))
	s.route(http.MethodPost, pathCardCodeGet, authAuthorizer, officialOnly(s.cardCodeGet))
	s.route(http.MethodPost, pathCardCodeConsume, authAuthorizer, officialOnly(s.cardCodeConsume))
	s.route(http.MethodPost, pathCardBatchGet, authAuthorizer, officialOnly(s.cardBatchGet))
	s.route(http.MethodPost, pathCardDelete, authAuthorizer, officialOnly(s.cardDelete))
	s.route(http.MethodPost, pathCardQRCode, authAuthorizer, officialOnly(s.cardQRCode))
	s.route(http.MethodPost, pathCardLandingPage, authAuthorizer, officialOnly(s.cardLandingPage))
	s.route(http.MethodPost, pathCardPayCell, authAuthorizer, officialOnly(s.cardPayCell))
	s.route(http.MethodPost, pathCardModifyStock, authAuthorizer, officialOnly(s.cardModifyStock))
	s.route(http.MethodPost, pathCardUploadImage, authAuthorizer, officialOnly(s.cardUploadImage))
}

// officialOnly wraps a card handler: card APIs are official-account APIs, a mini program's token is
// refused with 48001.
func officialOnly(h func(c *call) (any, error)) func(c *call) (any, error) {
	return func(c *call) (any, error) {
		if a := c.authorizer(); a != nil && a.info.MiniProgram {
			return nil, apiErr(wxerr.CodeAPIUnauthorizedForAccount, "")
		}
		return h(c)
	}
}

// cardState is the state of the card endpoints.
type cardState struct {
	tickets     map[string][]cardTicket // owner appid → api_tickets issued, each valid until it expires
	cards       map[string]*emuCard     // card_id → card
	codes       map[string]*cardCode    // code → the card a user holds
	encrypted   map[string]string       // encrypt_code → code
	activations map[string]*activation  // activate_ticket → submitted form
	byOwner     map[string][]string     // owner appid → its card ids, in creation order (batchget)
	qrcodes     map[string]*cardQRCode  // ticket → QR code
	held        map[cardHolder]int      // codes of a card a user holds (not deleted), for get_limit
	pages       int64                   // landing pages created (the last page_id)
}

// cardHolder is a user holding codes of a card.
type cardHolder struct{ cardID, openID string }

type cardTicket struct {
	value   string
	expires time.Time
}

// emuCard is a created card: the member_card object as sent (merged with updates), and its form.
type emuCard struct {
	id, owner     string
	memberCard    map[string]any
	form          json.RawMessage // activateuserform/set body, nil before
	encryptCardID string          // base64, '=' padded
	biz           string          // base64 of the owner's account id, '=' padded
	payCell       bool            // paycell/set is_open
}

// status is the card's CARD_STATUS_*, kept in base_info.status as card/get answers it.
func (c *emuCard) status() string {
	s, _ := c.baseInfo()["status"].(string)
	return s
}

func (c *emuCard) setStatus(status string) { c.baseInfo()["status"] = status }

// baseInfo returns the card's base_info.
func (c *emuCard) baseInfo() map[string]any { return c.memberCard["base_info"].(map[string]any) }

// cardCode is a card in a user's card bag.
type cardCode struct {
	code, cardID, openID string
	status               string    // codeNormal, codeConsumed, codeDeleted (codeExpired is computed)
	takenAt              time.Time // when the user took the card (validity of DATE_TYPE_FIX_TERM)
	outerStr             string    // channel tag the card was taken with
	expired              bool      // ExpireCode: expired whatever its date_info says
	membershipNumber     string
	active               bool
	bonus, balance       int64
	customValues         [3]string
	activateBegin        int64
	activateEnd          int64
	commonFields         []formValue
	customFields         []formValue
}

// activation is a submitted activation form, readable with its activate_ticket.
type activation struct {
	cardID, code, openID string
	common, custom       []formValue
	expires              time.Time
}

type formValue struct {
	Name      string   `json:"name"`
	Value     string   `json:"value"`
	ValueList []string `json:"value_list,omitempty"`
}

func (s *Server) cards() *cardState { // call with s.mu held
	return groupState(s, func() *cardState {
		return &cardState{tickets: map[string][]cardTicket{}, cards: map[string]*emuCard{},
			codes: map[string]*cardCode{}, encrypted: map[string]string{}, activations: map[string]*activation{},
			byOwner: map[string][]string{}, qrcodes: map[string]*cardQRCode{}, held: map[cardHolder]int{}}
	})
}

// cardTicket: GET /cgi-bin/ticket/getticket?type=wx_card. Every call issues a new api_ticket valid
// 7200 s on the emulator clock; earlier ones stay valid until they expire.
func (s *Server) cardTicket(c *call) (any, error) {
	switch c.query("type") {
	case "wx_card":
	case "":
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [type] missing")
	default:
		return nil, apiErr(wxerr.CodeInvalidParams, "wxtest issues type=wx_card tickets only")
	}
	st := s.cards()
	t := cardTicket{value: randAlnum(16) + "-" + randAlnum(20) + "_" + randAlnum(48), expires: c.now.Add(cardTicketTTL)}
	live := st.tickets[c.authorizerAppID][:0:0]
	for _, old := range st.tickets[c.authorizerAppID] {
		if c.now.Before(old.expires) {
			live = append(live, old)
		}
	}
	st.tickets[c.authorizerAppID] = append(live, t)
	return struct {
		okBody
		Ticket    string `json:"ticket"`
		ExpiresIn int    `json:"expires_in"`
	}{okBody{Errmsg: "ok"}, t.value, int(cardTicketTTL.Seconds())}, nil
}

// emuBaseInfo is the part of base_info the emulator checks.
type emuBaseInfo struct {
	LogoURL     *string      `json:"logo_url"`
	BrandName   *string      `json:"brand_name"`
	CodeType    *string      `json:"code_type"`
	Title       *string      `json:"title"`
	Color       *string      `json:"color"`
	Notice      *string      `json:"notice"`
	Description *string      `json:"description"`
	DateInfo    *emuDateInfo `json:"date_info"`
	Sku         *struct {
		Quantity *int64 `json:"quantity"`
	} `json:"sku"`
	UseCustomCode bool  `json:"use_custom_code"`
	GetLimit      int64 `json:"get_limit"`
}

type emuDateInfo struct {
	Type           string `json:"type"`
	BeginTimestamp int64  `json:"begin_timestamp"`
	EndTimestamp   int64  `json:"end_timestamp"`
	FixedTerm      int64  `json:"fixed_term"`
	FixedBeginTerm int64  `json:"fixed_begin_term"`
}

type emuMemberCard struct {
	BaseInfo      *emuBaseInfo `json:"base_info"`
	Prerogative   *string      `json:"prerogative"`
	SupplyBonus   *bool        `json:"supply_bonus"`
	SupplyBalance *bool        `json:"supply_balance"`
	Custom1       *emuField    `json:"custom_field1"`
	Custom2       *emuField    `json:"custom_field2"`
	Custom3       *emuField    `json:"custom_field3"`
}

type emuField struct {
	NameType string `json:"name_type"`
	Name     string `json:"name"`
}

var (
	cardCodeTypes = set("CODE_TYPE_TEXT", "CODE_TYPE_BARCODE", "CODE_TYPE_QRCODE", "CODE_TYPE_ONLY_QRCODE",
		"CODE_TYPE_ONLY_BARCODE", "CODE_TYPE_NONE")
	cardColors = set("Color010", "Color020", "Color030", "Color040", "Color050", "Color060", "Color070",
		"Color080", "Color081", "Color082", "Color090", "Color100", "Color101", "Color102")
	cardNameTypes = set("FIELD_NAME_TYPE_LEVEL", "FIELD_NAME_TYPE_COUPON", "FIELD_NAME_TYPE_STAMP",
		"FIELD_NAME_TYPE_DISCOUNT", "FIELD_NAME_TYPE_ACHIEVEMEN", "FIELD_NAME_TYPE_MILEAGE",
		"FIELD_NAME_TYPE_SET_POINTS", "FIELD_NAME_TYPE_TIMS")
	cardFormFields = set("USER_FORM_INFO_FLAG_MOBILE", "USER_FORM_INFO_FLAG_SEX", "USER_FORM_INFO_FLAG_NAME",
		"USER_FORM_INFO_FLAG_BIRTHDAY", "USER_FORM_INFO_FLAG_IDCARD", "USER_FORM_INFO_FLAG_EMAIL",
		"USER_FORM_INFO_FLAG_LOCATION", "USER_FORM_INFO_FLAG_EDUCATION_BACKGROUND", "USER_FORM_INFO_FLAG_INDUSTRY",
		"USER_FORM_INFO_FLAG_INCOME", "USER_FORM_INFO_FLAG_HABIT")
	cardRichTypes = set("FORM_FIELD_RADIO", "FORM_FIELD_SELECT", "FORM_FIELD_CHECK_BOX")
	// cardUpdatable is the base_info subset card/update accepts (API digest 7.3).
	cardUpdatable = set("title", "logo_url", "notice", "description", "service_phone", "color", "location_id_list",
		"use_all_locations", "center_title", "center_sub_title", "center_url", "center_app_brand_user_name",
		"center_app_brand_pass", "custom_url_name", "custom_url", "custom_url_sub_title", "custom_app_brand_user_name",
		"custom_app_brand_pass", "promotion_url_name", "promotion_url", "promotion_url_sub_title",
		"promotion_app_brand_user_name", "promotion_app_brand_pass", "code_type", "pay_info", "is_pay_and_qrcode",
		"get_limit", "can_share", "can_give_friend", "date_info")
)

func set(vals ...string) map[string]bool {
	m := make(map[string]bool, len(vals))
	for _, v := range vals {
		m[v] = true
	}
	return m
}

func invalidArg(field, why string) error {
	return apiErr(wxerr.CodeInvalidParams, "invalid args hint: ["+field+"] "+why)
}

// checkMemberCard validates a complete member_card as card/create does: 47001 for a missing field,
// 40097 for a bad value, 40122 for a bad quantity.
func checkMemberCard(m *emuMemberCard) error {
	b := m.BaseInfo
	if b == nil {
		return missing("base_info")
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"logo_url", b.LogoURL}, {"brand_name", b.BrandName}, {"code_type", b.CodeType}, {"title", b.Title},
		{"color", b.Color}, {"notice", b.Notice}, {"description", b.Description}, {"prerogative", m.Prerogative}} {
		if f.v == nil || *f.v == "" {
			return missing(f.name)
		}
	}
	if b.DateInfo == nil {
		return missing("date_info")
	}
	if b.Sku == nil || b.Sku.Quantity == nil {
		return missing("sku.quantity")
	}
	if m.SupplyBonus == nil {
		return missing("supply_bonus")
	}
	if m.SupplyBalance == nil {
		return missing("supply_balance")
	}
	if u, err := url.Parse(*b.LogoURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalidArg("logo_url", "not a URL")
	}
	if len(*b.BrandName) > cardMaxBrandNameBytes {
		return invalidArg("brand_name", "too long")
	}
	if *b.Sku.Quantity < 0 {
		return apiErr(wxerr.CodeInvalidQuantity, "invalid quantity")
	}
	if err := checkCardFields(b.CodeType, b.Title, b.Color, b.DateInfo); err != nil {
		return err
	}
	for i, f := range []*emuField{m.Custom1, m.Custom2, m.Custom3} {
		if f != nil && f.NameType != "" && !cardNameTypes[f.NameType] {
			return invalidArg("custom_field"+strconv.Itoa(i+1)+".name_type", "unknown")
		}
	}
	return nil
}

// checkCardFields checks the fields shared by create and update, those that are present.
func checkCardFields(codeType, title, color *string, d *emuDateInfo) error {
	if codeType != nil && !cardCodeTypes[*codeType] {
		return invalidArg("code_type", "unknown")
	}
	if title != nil && (*title == "" || len(*title) > cardMaxTitleBytes) {
		return invalidArg("title", "empty or too long")
	}
	if color != nil && !cardColors[*color] {
		return invalidArg("color", "unknown")
	}
	if d != nil {
		switch d.Type {
		case "DATE_TYPE_PERMANENT":
		case "DATE_TYPE_FIX_TIME_RANGE":
			if d.BeginTimestamp <= 0 || d.EndTimestamp <= d.BeginTimestamp {
				return invalidArg("date_info", "begin_timestamp must precede end_timestamp")
			}
		case "DATE_TYPE_FIX_TERM":
			if d.FixedTerm <= 0 || d.FixedBeginTerm < 0 {
				return invalidArg("date_info", "fixed_term must be positive")
			}
		case "":
			return missing("date_info.type")
		default:
			return invalidArg("date_info.type", "unknown")
		}
	}
	return nil
}

// cardCreate: POST /card/create. The emulator supports MEMBER_CARD; a created card is approved at
// once (CARD_STATUS_VERIFY_OK).
func (s *Server) cardCreate(c *call) (any, error) {
	var req struct {
		Card *struct {
			CardType   string          `json:"card_type"`
			MemberCard json.RawMessage `json:"member_card"`
		} `json:"card"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if req.Card == nil {
		return nil, missing("card")
	}
	if req.Card.CardType == "" {
		return nil, missing("card_type")
	}
	if req.Card.CardType != cardTypeMember {
		return nil, invalidArg("card_type", "wxtest emulates MEMBER_CARD only")
	}
	if len(req.Card.MemberCard) == 0 || string(req.Card.MemberCard) == "null" {
		return nil, missing("member_card")
	}
	var typed emuMemberCard
	var raw map[string]any
	if json.Unmarshal(req.Card.MemberCard, &typed) != nil || json.Unmarshal(req.Card.MemberCard, &raw) != nil {
		return nil, apiErr(wxerr.CodeInvalidJSON, "")
	}
	if err := checkMemberCard(&typed); err != nil {
		return nil, err
	}
	st := s.cards()
	id := "p" + randAlnum(27)
	bi := raw["base_info"].(map[string]any)
	bi["id"] = id
	bi["status"] = cardStatusVerifyOK
	if sku, ok := bi["sku"].(map[string]any); ok {
		sku["total_quantity"] = sku["quantity"]
	}
	st.cards[id] = &emuCard{id: id, owner: c.authorizerAppID, memberCard: raw,
		encryptCardID: base64.StdEncoding.EncodeToString(randBytes(16)),
		biz:           base64.StdEncoding.EncodeToString([]byte(randDigits(10)))}
	st.byOwner[c.authorizerAppID] = append(st.byOwner[c.authorizerAppID], id)
	return struct {
		okBody
		CardID string `json:"card_id"`
	}{okBody{Errmsg: "ok"}, id}, nil
}

// ownCard returns the card id of the calling account: 47001 when id is empty, 40073 when unknown or
// another account's. Call with s.mu held.
func (s *Server) ownCard(c *call, id string) (*emuCard, error) {
	if id == "" {
		return nil, missing("card_id")
	}
	card := s.cards().cards[id]
	if card == nil || card.owner != c.authorizerAppID {
		return nil, apiErr(wxerr.CodeInvalidCardID, "")
	}
	return card, nil
}

// liveCard is ownCard for the calls that change a card or issue it: a deleted card is refused with
// 40127. Call with s.mu held.
func (s *Server) liveCard(c *call, id string) (*emuCard, error) {
	card, err := s.ownCard(c, id)
	if err == nil && card.status() == cardStatusDelete {
		return nil, apiErr(wxerr.CodeUserCardStatus, "card deleted")
	}
	return card, err
}

// cardGet: POST /card/get.
func (s *Server) cardGet(c *call) (any, error) {
	var req struct {
		CardID string `json:"card_id"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	card, err := s.ownCard(c, req.CardID)
	if err != nil {
		return nil, err
	}
	type cardBody struct {
		CardType   string         `json:"card_type"`
		MemberCard map[string]any `json:"member_card"`
	}
	return struct {
		okBody
		Card cardBody `json:"card"`
	}{okBody{Errmsg: "ok"}, cardBody{cardTypeMember, card.memberCard}}, nil
}

// cardUpdate: POST /card/update. base_info keys are merged one by one (only the updatable ones are
// accepted), other member_card keys replace their value. send_check is true when the title or the
// logo changed (emulator choice: those go through review again).
func (s *Server) cardUpdate(c *call) (any, error) {
	var req struct {
		CardID     string          `json:"card_id"`
		MemberCard json.RawMessage `json:"member_card"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	card, err := s.liveCard(c, req.CardID)
	if err != nil {
		return nil, err
	}
	var change map[string]any
	var typed struct {
		BaseInfo *struct {
			CodeType *string      `json:"code_type"`
			Title    *string      `json:"title"`
			Color    *string      `json:"color"`
			DateInfo *emuDateInfo `json:"date_info"`
		} `json:"base_info"`
	}
	if len(req.MemberCard) == 0 || json.Unmarshal(req.MemberCard, &change) != nil || change == nil {
		return nil, missing("member_card")
	}
	if json.Unmarshal(req.MemberCard, &typed) != nil {
		return nil, apiErr(wxerr.CodeInvalidJSON, "")
	}
	if b := typed.BaseInfo; b != nil {
		if err := checkCardFields(b.CodeType, b.Title, b.Color, b.DateInfo); err != nil {
			return nil, err
		}
	}
	newBase, _ := change["base_info"].(map[string]any)
	for k := range newBase {
		if !cardUpdatable[k] {
			return nil, invalidArg("base_info."+k, "cannot be updated")
		}
	}
	if len(change) == 0 || (len(change) == 1 && newBase != nil && len(newBase) == 0) {
		return nil, invalidArg("member_card", "nothing to update")
	}
	base := card.memberCard["base_info"].(map[string]any)
	sendCheck := false
	for k, v := range newBase {
		if (k == "title" || k == "logo_url") && fmt.Sprint(base[k]) != fmt.Sprint(v) {
			sendCheck = true
		}
		base[k] = v
	}
	for k, v := range change {
		if k != "base_info" {
			card.memberCard[k] = v
		}
	}
	return struct {
		okBody
		SendCheck bool `json:"send_check"`
	}{okBody{Errmsg: "ok"}, sendCheck}, nil
}
