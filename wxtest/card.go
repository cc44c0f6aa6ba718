package wxtest

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
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
	cardTicketTTL         = 7200 * time.Second
	activateTicketTTL     = 30 * time.Minute // how long an activate_ticket can be read (emulator choice)
	cardStatusVerifyOK    = "CARD_STATUS_VERIFY_OK"
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
}

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
}

// cardCode is a card in a user's card bag.
type cardCode struct {
	code, cardID, openID string
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
			codes: map[string]*cardCode{}, encrypted: map[string]string{}, activations: map[string]*activation{}}
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
	card, err := s.ownCard(c, req.CardID)
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

// AddCard is what a user's wx.addCard does: the user openID receives the card cardID. The emulator
// generates the code (12 digits) and returns the encrypt_code wx.addCard hands the mini program,
// which card/code/decrypt resolves. It fails for an unknown card, a card with custom codes (the
// code would come from the cardExt), a card out of stock, or a user at the card's get_limit.
func (s *Server) AddCard(cardID, openID string) (encryptCode string, err error) {
	if openID == "" {
		return "", errors.New("wxtest: AddCard: openID is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.cards()
	card := st.cards[cardID]
	if card == nil {
		return "", fmt.Errorf("wxtest: AddCard: unknown card %q", cardID)
	}
	base := card.memberCard["base_info"].(map[string]any)
	if b, _ := base["use_custom_code"].(bool); b {
		return "", errors.New("wxtest: AddCard: the card uses custom codes, which the emulator does not issue")
	}
	sku, _ := base["sku"].(map[string]any)
	qty, _ := sku["quantity"].(float64)
	if qty < 1 {
		return "", errors.New("wxtest: AddCard: the card is out of stock (sku.quantity is 0)")
	}
	if limit, _ := base["get_limit"].(float64); limit > 0 {
		held := 0
		for _, cc := range st.codes {
			if cc.cardID == cardID && cc.openID == openID {
				held++
			}
		}
		if float64(held) >= limit {
			return "", fmt.Errorf("wxtest: AddCard: %s already holds get_limit=%v of this card", openID, limit)
		}
	}
	sku["quantity"] = qty - 1
	code := randDigits(12)
	for st.codes[code] != nil {
		code = randDigits(12)
	}
	st.codes[code] = &cardCode{code: code, cardID: cardID, openID: openID}
	// 32 random bytes: 44 base64 characters with '=' padding, often '+' and '/'.
	encryptCode = base64.StdEncoding.EncodeToString(randBytes(32))
	st.encrypted[encryptCode] = code
	return encryptCode, nil
}

// VerifyCardExt checks a cardExt string as WeChat does when a user adds cardID with wx.addCard: the
// signature must be the SHA-1 of the sorted values of a live api_ticket of the card's owner,
// timestamp, card_id, nonce_str and, when present, code and openid; nonce_str at most 32 characters;
// code required for a use_custom_code card, openid for a bind_openid card.
func (s *Server) VerifyCardExt(cardID, cardExt string) error {
	var ext struct {
		Code      string          `json:"code"`
		OpenID    string          `json:"openid"`
		Timestamp json.RawMessage `json:"timestamp"`
		NonceStr  string          `json:"nonce_str"`
		Signature string          `json:"signature"`
	}
	if err := json.Unmarshal([]byte(cardExt), &ext); err != nil {
		return fmt.Errorf("wxtest: cardExt is not a JSON object: %w", err)
	}
	ts := string(ext.Timestamp)
	if unq, err := strconv.Unquote(ts); err == nil {
		ts = unq
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		return errors.New("wxtest: cardExt timestamp is not a unix time")
	}
	if ext.NonceStr == "" || len(ext.NonceStr) > 32 {
		return errors.New("wxtest: cardExt nonce_str must be 1 to 32 characters")
	}
	if ext.Signature == "" {
		return errors.New("wxtest: cardExt signature missing")
	}
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.cards()
	card := st.cards[cardID]
	if card == nil {
		return fmt.Errorf("wxtest: unknown card %q", cardID)
	}
	base := card.memberCard["base_info"].(map[string]any)
	if custom, _ := base["use_custom_code"].(bool); custom && ext.Code == "" {
		return errors.New("wxtest: cardExt code missing: the card uses custom codes")
	}
	if bind, _ := base["bind_openid"].(bool); bind && ext.OpenID == "" {
		return errors.New("wxtest: cardExt openid missing: the card is bound to an openid (bind_openid)")
	}
	for _, t := range st.tickets[card.owner] {
		if !now.Before(t.expires) {
			continue
		}
		vals := []string{t.value, ts, cardID, ext.NonceStr}
		if ext.Code != "" {
			vals = append(vals, ext.Code)
		}
		if ext.OpenID != "" {
			vals = append(vals, ext.OpenID)
		}
		sort.Strings(vals)
		h := sha1.New()
		for _, v := range vals {
			h.Write([]byte(v))
		}
		if hex.EncodeToString(h.Sum(nil)) == ext.Signature {
			return nil
		}
	}
	return errors.New("wxtest: cardExt signature does not match any live api_ticket of the card's owner")
}

// ownCode returns the code of a card of the calling account: 40056 when unknown or another
// account's, or (cardID given) of another card. Call with s.mu held.
func (s *Server) ownCode(c *call, code, cardID string) (*cardCode, error) {
	if code == "" {
		return nil, missing("code")
	}
	st := s.cards()
	cc := st.codes[code]
	if cc == nil || st.cards[cc.cardID].owner != c.authorizerAppID || (cardID != "" && cc.cardID != cardID) {
		return nil, apiErr(wxerr.CodeInvalidSerialCode, "")
	}
	return cc, nil
}

// cardDecrypt: POST /card/code/decrypt. The encrypt_code must be exactly the one AddCard issued.
func (s *Server) cardDecrypt(c *call) (any, error) {
	var req struct {
		EncryptCode string `json:"encrypt_code"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if req.EncryptCode == "" {
		return nil, missing("encrypt_code")
	}
	st := s.cards()
	code, found := st.encrypted[req.EncryptCode]
	if !found || st.cards[st.codes[code].cardID].owner != c.authorizerAppID {
		return nil, apiErr(wxerr.CodeInvalidEncryptCode, "")
	}
	return struct {
		okBody
		Code string `json:"code"`
	}{okBody{Errmsg: "ok"}, code}, nil
}

// cardActivate: POST /card/membercard/activate.
func (s *Server) cardActivate(c *call) (any, error) {
	var req struct {
		MembershipNumber      string `json:"membership_number"`
		Code                  string `json:"code"`
		CardID                string `json:"card_id"`
		ActivateBeginTime     int64  `json:"activate_begin_time"`
		ActivateEndTime       int64  `json:"activate_end_time"`
		InitBonus             int64  `json:"init_bonus"`
		InitBalance           int64  `json:"init_balance"`
		InitCustomFieldValue1 string `json:"init_custom_field_value1"`
		InitCustomFieldValue2 string `json:"init_custom_field_value2"`
		InitCustomFieldValue3 string `json:"init_custom_field_value3"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if req.MembershipNumber == "" {
		return nil, missing("membership_number")
	}
	if req.CardID != "" {
		if _, err := s.ownCard(c, req.CardID); err != nil {
			return nil, err
		}
	}
	cc, err := s.ownCode(c, req.Code, req.CardID)
	if err != nil {
		return nil, err
	}
	if req.InitBonus < 0 || req.InitBalance < 0 {
		return nil, invalidArg("init_bonus", "negative")
	}
	cc.membershipNumber = req.MembershipNumber
	cc.active = true
	cc.bonus, cc.balance = req.InitBonus, req.InitBalance
	cc.activateBegin, cc.activateEnd = req.ActivateBeginTime, req.ActivateEndTime
	cc.customValues = [3]string{req.InitCustomFieldValue1, req.InitCustomFieldValue2, req.InitCustomFieldValue3}
	return answerOK(), nil
}

type emuFormSection struct {
	CommonFieldIDList []string `json:"common_field_id_list"`
	CustomFieldList   []string `json:"custom_field_list"`
	RichFieldList     []struct {
		Type   string   `json:"type"`
		Name   string   `json:"name"`
		Values []string `json:"values"`
	} `json:"rich_field_list"`
}

type emuForm struct {
	CardID       string          `json:"card_id"`
	RequiredForm *emuFormSection `json:"required_form"`
	OptionalForm *emuFormSection `json:"optional_form"`
}

// cardActivateForm: POST /card/membercard/activateuserform/set.
func (s *Server) cardActivateForm(c *call) (any, error) {
	var req emuForm
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	card, err := s.ownCard(c, req.CardID)
	if err != nil {
		return nil, err
	}
	if req.RequiredForm == nil && req.OptionalForm == nil {
		return nil, missing("required_form")
	}
	for _, sec := range []*emuFormSection{req.RequiredForm, req.OptionalForm} {
		if sec == nil {
			continue
		}
		for _, id := range sec.CommonFieldIDList {
			if !cardFormFields[id] {
				return nil, invalidArg("common_field_id_list", "unknown field "+id)
			}
		}
		for _, r := range sec.RichFieldList {
			if !cardRichTypes[r.Type] {
				return nil, invalidArg("rich_field_list.type", "unknown type "+r.Type)
			}
		}
	}
	card.form = append(json.RawMessage(nil), c.body...)
	return answerOK(), nil
}

// cardActivateURL: POST /card/membercard/activate/geturl. The URL carries encrypt_card_id, outer_str
// and biz percent-encoded (the base64 values keep their '=' padding as %3D).
func (s *Server) cardActivateURL(c *call) (any, error) {
	var req struct {
		CardID   string `json:"card_id"`
		OuterStr string `json:"outer_str"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	card, err := s.ownCard(c, req.CardID)
	if err != nil {
		return nil, err
	}
	u := activatePluginBaseURL + "?action=preshow&&encrypt_card_id=" + url.QueryEscape(card.encryptCardID) +
		"&outer_str=" + url.QueryEscape(req.OuterStr) + "&biz=" + url.QueryEscape(card.biz) + "#wechat_redirect"
	return struct {
		okBody
		URL string `json:"url"`
	}{okBody{Errmsg: "ok"}, u}, nil
}

// SubmitActivateForm is what a member does in the activation plugin: fill in the form of cardID for
// the card behind encryptCode (from AddCard). fields maps common field ids
// (USER_FORM_INFO_FLAG_MOBILE...) and custom field names to values; every common and custom field of
// the card's required_form must be there. The returned activate_ticket (valid 30 minutes on the
// emulator clock) is what activatetempinfo/get reads.
func (s *Server) SubmitActivateForm(cardID, encryptCode string, fields map[string]string) (activateTicket string, err error) {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.cards()
	card := st.cards[cardID]
	if card == nil {
		return "", fmt.Errorf("wxtest: SubmitActivateForm: unknown card %q", cardID)
	}
	code, found := st.encrypted[encryptCode]
	if !found || st.codes[code].cardID != cardID {
		return "", errors.New("wxtest: SubmitActivateForm: encryptCode is not a code of this card")
	}
	if card.form == nil {
		return "", errors.New("wxtest: SubmitActivateForm: the card has no activation form (activateuserform/set)")
	}
	var form emuForm
	_ = json.Unmarshal(card.form, &form) // checked when it was set
	if r := form.RequiredForm; r != nil {
		for _, name := range append(append([]string(nil), r.CommonFieldIDList...), r.CustomFieldList...) {
			if fields[name] == "" {
				return "", fmt.Errorf("wxtest: SubmitActivateForm: required field %s is empty", name)
			}
		}
	}
	a := &activation{cardID: cardID, code: code, openID: st.codes[code].openID, expires: now.Add(activateTicketTTL)}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := formValue{Name: name, Value: fields[name]}
		if cardFormFields[name] {
			a.common = append(a.common, v)
		} else {
			a.custom = append(a.custom, v)
		}
	}
	activateTicket = randAlnum(24) + "/" + randAlnum(19) + "="
	st.activations[activateTicket] = a
	cc := st.codes[code]
	cc.commonFields, cc.customFields = a.common, a.custom
	return activateTicket, nil
}

// cardActivateTemp: POST /card/membercard/activatetempinfo/get.
func (s *Server) cardActivateTemp(c *call) (any, error) {
	var req struct {
		ActivateTicket string `json:"activate_ticket"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if req.ActivateTicket == "" {
		return nil, missing("activate_ticket")
	}
	st := s.cards()
	a := st.activations[req.ActivateTicket]
	if a == nil || st.cards[a.cardID].owner != c.authorizerAppID || !c.now.Before(a.expires) {
		return nil, invalidArg("activate_ticket", "invalid or expired")
	}
	return struct {
		okBody
		Info userInfo `json:"info"`
	}{okBody{Errmsg: "ok"}, userInfo{nonNil(a.common), nonNil(a.custom)}}, nil
}

type userInfo struct {
	CommonFieldList []formValue `json:"common_field_list"`
	CustomFieldList []formValue `json:"custom_field_list"`
}

func nonNil(v []formValue) []formValue {
	if v == nil {
		return []formValue{}
	}
	return v
}

// cardUserInfo: POST /card/membercard/userinfo/get.
func (s *Server) cardUserInfo(c *call) (any, error) {
	var req struct {
		CardID string `json:"card_id"`
		Code   string `json:"code"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if _, err := s.ownCard(c, req.CardID); err != nil {
		return nil, err
	}
	cc, err := s.ownCode(c, req.Code, req.CardID)
	if err != nil {
		return nil, err
	}
	sex := "UNKNOWN"
	for _, f := range cc.commonFields {
		if f.Name == "USER_FORM_INFO_FLAG_SEX" {
			sex = f.Value
		}
	}
	return struct {
		okBody
		OpenID           string   `json:"openid"`
		Nickname         string   `json:"nickname"`
		MembershipNumber string   `json:"membership_number"`
		Bonus            int64    `json:"bonus"`
		Balance          int64    `json:"balance"`
		Sex              string   `json:"sex"`
		UserInfo         userInfo `json:"user_info"`
		UserCardStatus   string   `json:"user_card_status"`
		HasActive        bool     `json:"has_active"`
	}{okBody{Errmsg: "ok"}, cc.openID, "wxtest user " + cc.openID, cc.membershipNumber, cc.bonus, cc.balance, sex,
		userInfo{nonNil(cc.commonFields), nonNil(cc.customFields)}, "NORMAL", cc.active}, nil
}

// cardUpdateUser: POST /card/membercard/updateuser. bonus/balance set a value, add_bonus/add_balance
// add to it; a result below 0 is refused.
func (s *Server) cardUpdateUser(c *call) (any, error) {
	var req struct {
		Code              string  `json:"code"`
		CardID            string  `json:"card_id"`
		Bonus             *int64  `json:"bonus"`
		AddBonus          int64   `json:"add_bonus"`
		Balance           *int64  `json:"balance"`
		AddBalance        int64   `json:"add_balance"`
		CustomFieldValue1 *string `json:"custom_field_value1"`
		CustomFieldValue2 *string `json:"custom_field_value2"`
		CustomFieldValue3 *string `json:"custom_field_value3"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if _, err := s.ownCard(c, req.CardID); err != nil {
		return nil, err
	}
	cc, err := s.ownCode(c, req.Code, req.CardID)
	if err != nil {
		return nil, err
	}
	bonus, balance := cc.bonus, cc.balance
	if req.Bonus != nil {
		bonus = *req.Bonus
	}
	bonus += req.AddBonus
	if req.Balance != nil {
		balance = *req.Balance
	}
	balance += req.AddBalance
	if bonus < 0 || balance < 0 {
		return nil, invalidArg("bonus", "the result would be negative")
	}
	cc.bonus, cc.balance = bonus, balance
	for i, v := range []*string{req.CustomFieldValue1, req.CustomFieldValue2, req.CustomFieldValue3} {
		if v != nil {
			cc.customValues[i] = *v
		}
	}
	return struct {
		okBody
		ResultBonus   int64  `json:"result_bonus"`
		ResultBalance int64  `json:"result_balance"`
		OpenID        string `json:"openid"`
	}{okBody{Errmsg: "ok"}, bonus, balance, cc.openID}, nil
}
