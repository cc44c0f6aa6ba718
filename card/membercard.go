package card

import (
	"encoding/json"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Text limits of card/create, in one place. WeChat states them in Chinese characters ("at most 12
// 汉字"); wxopen measures a width in which a non-ASCII character counts 2 and an ASCII character 1,
// so that N Chinese characters or 2N ASCII characters fit. The numbers come from the API digest and
// are marked unverified there.
const (
	maxBrandNameChars = 12 // base_info.brand_name (unverified)
	maxTitleChars     = 9  // base_info.title (unverified)
	maxNonceLen       = 32 // cardExt nonce_str
)

// textWidth is the width of s: 2 per non-ASCII character, 1 per ASCII byte.
func textWidth(s string) int {
	n := utf8.RuneCountInString(s)
	ascii := 0
	for i := 0; i < len(s); i++ {
		if s[i] < utf8.RuneSelf {
			ascii++
		}
	}
	return 2*n - ascii
}

// checkWidth rejects s when it is wider than chars Chinese characters.
func checkWidth(field, s string, chars int) error {
	if textWidth(s) > 2*chars {
		return wxerr.Invalid(field, "at most "+strconv.Itoa(chars)+" Chinese characters or "+
			strconv.Itoa(2*chars)+" ASCII characters")
	}
	return nil
}

// CodeType is how the card code is shown to the member (base_info.code_type).
type CodeType string

// Code types.
const (
	CodeTypeText        CodeType = "CODE_TYPE_TEXT"
	CodeTypeBarcode     CodeType = "CODE_TYPE_BARCODE"
	CodeTypeQRCode      CodeType = "CODE_TYPE_QRCODE"
	CodeTypeOnlyQRCode  CodeType = "CODE_TYPE_ONLY_QRCODE"
	CodeTypeOnlyBarcode CodeType = "CODE_TYPE_ONLY_BARCODE"
	CodeTypeNone        CodeType = "CODE_TYPE_NONE"
)

// Valid reports whether t is one of WeChat's code types.
func (t CodeType) Valid() bool {
	switch t {
	case CodeTypeText, CodeTypeBarcode, CodeTypeQRCode, CodeTypeOnlyQRCode, CodeTypeOnlyBarcode, CodeTypeNone:
		return true
	}
	return false
}

// Color is a card colour from WeChat's palette (base_info.color).
type Color string

// Card colours, with their RGB values.
const (
	Color010 Color = "Color010" // #63b359
	Color020 Color = "Color020" // #2c9f67
	Color030 Color = "Color030" // #509fc9
	Color040 Color = "Color040" // #5885cf
	Color050 Color = "Color050" // #9062c0
	Color060 Color = "Color060" // #d09a45
	Color070 Color = "Color070" // #e4b138
	Color080 Color = "Color080" // #ee903c
	Color081 Color = "Color081" // #f08500
	Color082 Color = "Color082" // #a9d92d
	Color090 Color = "Color090" // #dd6549
	Color100 Color = "Color100" // #cc463d
	Color101 Color = "Color101" // #cf3e36
	Color102 Color = "Color102" // #5E6671
)

// Valid reports whether c is in WeChat's palette.
func (c Color) Valid() bool {
	switch c {
	case Color010, Color020, Color030, Color040, Color050, Color060, Color070, Color080, Color081,
		Color082, Color090, Color100, Color101, Color102:
		return true
	}
	return false
}

// DateType is how a card's validity is defined (date_info.type).
type DateType string

// Date types.
const (
	DatePermanent    DateType = "DATE_TYPE_PERMANENT"
	DateFixTimeRange DateType = "DATE_TYPE_FIX_TIME_RANGE" // BeginTimestamp to EndTimestamp
	DateFixTerm      DateType = "DATE_TYPE_FIX_TERM"       // FixedTerm days from FixedBeginTerm days after receipt
)

// Valid reports whether t is one of WeChat's date types.
func (t DateType) Valid() bool {
	switch t {
	case DatePermanent, DateFixTimeRange, DateFixTerm:
		return true
	}
	return false
}

// UnmarshalJSON accepts the names and, as older card/get answers carry them (unverified), the numbers
// 1 (fixed time range) and 2 (fixed term).
func (t *DateType) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "1":
		*t = DateFixTimeRange
		return nil
	case "2":
		*t = DateFixTerm
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*t = DateType(s)
	return nil
}

// NameType names a custom field shown on the card (custom_field1..3.name_type). The spellings
// ACHIEVEMEN and TIMS are WeChat's.
type NameType string

// Custom field name types.
const (
	NameTypeLevel       NameType = "FIELD_NAME_TYPE_LEVEL"
	NameTypeCoupon      NameType = "FIELD_NAME_TYPE_COUPON"
	NameTypeStamp       NameType = "FIELD_NAME_TYPE_STAMP"
	NameTypeDiscount    NameType = "FIELD_NAME_TYPE_DISCOUNT"
	NameTypeAchievement NameType = "FIELD_NAME_TYPE_ACHIEVEMEN"
	NameTypeMileage     NameType = "FIELD_NAME_TYPE_MILEAGE"
	NameTypeSetPoints   NameType = "FIELD_NAME_TYPE_SET_POINTS"
	NameTypeTimes       NameType = "FIELD_NAME_TYPE_TIMS"
)

// Valid reports whether t is one of WeChat's name types.
func (t NameType) Valid() bool {
	switch t {
	case NameTypeLevel, NameTypeCoupon, NameTypeStamp, NameTypeDiscount, NameTypeAchievement,
		NameTypeMileage, NameTypeSetPoints, NameTypeTimes:
		return true
	}
	return false
}

// Bool returns a pointer to v, for the optional booleans whose false must be sent (CanShare...).
func Bool(v bool) *bool { return &v }

// Int returns a pointer to v, for optional numbers whose 0 must be sent (UpdateMemberRequest.Bonus).
func Int(v int64) *int64 { return &v }

// DateInfo is a card's validity (base_info.date_info).
type DateInfo struct {
	Type DateType `json:"type"`
	// BeginTimestamp and EndTimestamp bound a DateFixTimeRange card (begin_timestamp and
	// end_timestamp, unix seconds on the wire); the zero time is left out.
	BeginTimestamp time.Time `json:"-"`
	EndTimestamp   time.Time `json:"-"`
	// FixedTerm (days, > 0) is how long a DateFixTerm card is valid, starting FixedBeginTerm days
	// after it is received (0: the same day).
	FixedTerm      int `json:"fixed_term,omitempty"`
	FixedBeginTerm int `json:"fixed_begin_term,omitempty"`
}

// MarshalJSON sends WeChat's form: the timestamps in unix seconds, and fixed_begin_term for a
// DateFixTerm card even when it is 0 (WeChat's value for "valid from the day of receipt"); the other
// date types leave the fixed_* fields out.
func (d DateInfo) MarshalJSON() ([]byte, error) {
	type plain DateInfo
	type wire struct {
		plain
		BeginTimestamp int64 `json:"begin_timestamp,omitempty"`
		EndTimestamp   int64 `json:"end_timestamp,omitempty"`
	}
	w := wire{plain(d), unixSeconds(d.BeginTimestamp), unixSeconds(d.EndTimestamp)}
	if d.Type != DateFixTerm {
		return json.Marshal(w)
	}
	return json.Marshal(struct {
		wire
		FixedBeginTerm int `json:"fixed_begin_term"`
	}{w, d.FixedBeginTerm})
}

// UnmarshalJSON decodes WeChat's form (card/get), the timestamps in unix seconds; 0 or absent is the
// zero time.
func (d *DateInfo) UnmarshalJSON(b []byte) error {
	type plain DateInfo
	var w struct {
		plain
		BeginTimestamp int64 `json:"begin_timestamp"`
		EndTimestamp   int64 `json:"end_timestamp"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*d = DateInfo(w.plain)
	d.BeginTimestamp, d.EndTimestamp = unixOrZero(w.BeginTimestamp), unixOrZero(w.EndTimestamp)
	return nil
}

// Sku is a card's stock (base_info.sku).
type Sku struct {
	// Quantity is the stock; 0 is allowed for member cards. Always sent.
	Quantity int64 `json:"quantity"`
	// TotalQuantity is reported by card/get; it is not sent.
	TotalQuantity int64 `json:"total_quantity,omitempty"`
}

// Links are the card's entries: the center button and the custom and promotion links under it, each
// opening a web page (URL) or a mini program page (AppBrandUserName "gh_...@app" and AppBrandPass,
// the page path). Shared by BaseInfo (card/create) and BaseInfoUpdate (card/update).
type Links struct {
	CenterTitle               string `json:"center_title,omitempty"`
	CenterSubTitle            string `json:"center_sub_title,omitempty"`
	CenterURL                 string `json:"center_url,omitempty"`
	CenterAppBrandUserName    string `json:"center_app_brand_user_name,omitempty"` // mini program original id "gh_...@app"
	CenterAppBrandPass        string `json:"center_app_brand_pass,omitempty"`      // its page path
	CustomURLName             string `json:"custom_url_name,omitempty"`
	CustomURL                 string `json:"custom_url,omitempty"`
	CustomURLSubTitle         string `json:"custom_url_sub_title,omitempty"`
	CustomAppBrandUserName    string `json:"custom_app_brand_user_name,omitempty"`
	CustomAppBrandPass        string `json:"custom_app_brand_pass,omitempty"`
	PromotionURLName          string `json:"promotion_url_name,omitempty"`
	PromotionURL              string `json:"promotion_url,omitempty"`
	PromotionURLSubTitle      string `json:"promotion_url_sub_title,omitempty"`
	PromotionAppBrandUserName string `json:"promotion_app_brand_user_name,omitempty"`
	PromotionAppBrandPass     string `json:"promotion_app_brand_pass,omitempty"`
}

// BaseInfo is the part common to every card type (member_card.base_info). The required fields are
// LogoURL, BrandName, CodeType, Title, Color, Notice, Description, DateInfo and Sku.
type BaseInfo struct {
	// ID and Status are reported by card/get (the card_id and e.g. CARD_STATUS_VERIFY_OK); Create
	// does not send them.
	ID     string `json:"id,omitempty"`
	Status string `json:"status,omitempty"`

	LogoURL      string   `json:"logo_url"` // uploaded with the card image API (mmbiz.qpic.cn)
	BrandName    string   `json:"brand_name"`
	CodeType     CodeType `json:"code_type"`
	Title        string   `json:"title"`
	Color        Color    `json:"color"`
	Notice       string   `json:"notice"`
	Description  string   `json:"description"`
	ServicePhone string   `json:"service_phone,omitempty"`
	DateInfo     DateInfo `json:"date_info"`
	Sku          Sku      `json:"sku"`

	GetLimit int `json:"get_limit,omitempty"`
	UseLimit int `json:"use_limit,omitempty"`
	// UseCustomCode makes the merchant supply the codes. Leave it false for wx_activate and the
	// activate-form plugin: they work only with codes WeChat generates.
	UseCustomCode bool `json:"use_custom_code,omitempty"`
	BindOpenID    bool `json:"bind_openid,omitempty"`
	// CanShare and CanGiveFriend are sent only when set (WeChat has its own default).
	CanShare        *bool    `json:"can_share,omitempty"`
	CanGiveFriend   *bool    `json:"can_give_friend,omitempty"`
	LocationIDList  []int64  `json:"location_id_list,omitempty"`
	UseAllLocations bool     `json:"use_all_locations,omitempty"`
	NeedPushOnView  bool     `json:"need_push_on_view,omitempty"`
	Source          string   `json:"source,omitempty"`
	PayInfo         *PayInfo `json:"pay_info,omitempty"`
	IsPayAndQRCode  bool     `json:"is_pay_and_qrcode,omitempty"`

	// Links are the entries under the card: center button, custom and promotion links, each to a
	// web page or a mini program page.
	Links
	ActivateAppBrandUserName string `json:"activate_app_brand_user_name,omitempty"`
	ActivateAppBrandPass     string `json:"activate_app_brand_pass,omitempty"`
}

// PayInfo is base_info.pay_info (quick payment with the card's code).
type PayInfo struct {
	SwipeCard *SwipeCard `json:"swipe_card,omitempty"`
}

// SwipeCard is pay_info.swipe_card.
type SwipeCard struct {
	IsSwipeCard bool `json:"is_swipe_card"`
}

// BonusRule is how members earn and spend points (member_card.bonus_rule). Amounts are in cents.
type BonusRule struct {
	CostMoneyUnit        int `json:"cost_money_unit,omitempty"`
	IncreaseBonus        int `json:"increase_bonus,omitempty"`
	MaxIncreaseBonus     int `json:"max_increase_bonus,omitempty"`
	InitIncreaseBonus    int `json:"init_increase_bonus,omitempty"`
	CostBonusUnit        int `json:"cost_bonus_unit,omitempty"`
	ReduceMoney          int `json:"reduce_money,omitempty"`
	LeastMoneyToUseBonus int `json:"least_money_to_use_bonus,omitempty"`
	MaxReduceBonus       int `json:"max_reduce_bonus,omitempty"`
}

// CustomField is a value shown on the card (member_card.custom_field1..3): a named type or a free
// name, and where tapping it leads.
type CustomField struct {
	NameType         NameType `json:"name_type,omitempty"`
	Name             string   `json:"name,omitempty"`
	URL              string   `json:"url,omitempty"`
	AppBrandUserName string   `json:"app_brand_user_name,omitempty"`
	AppBrandPass     string   `json:"app_brand_pass,omitempty"`
}

// CustomCell is an entry below the card (member_card.custom_cell1..3).
type CustomCell struct {
	Name             string `json:"name"`
	Tips             string `json:"tips,omitempty"`
	URL              string `json:"url,omitempty"`
	AppBrandUserName string `json:"app_brand_user_name,omitempty"`
	AppBrandPass     string `json:"app_brand_pass,omitempty"`
}

// MemberCard is a membership card (card_type MEMBER_CARD), as sent to card/create and answered by
// card/get. Required: BaseInfo and Prerogative; SupplyBonus and SupplyBalance are always sent.
type MemberCard struct {
	BaseInfo         BaseInfo `json:"base_info"`
	BackgroundPicURL string   `json:"background_pic_url,omitempty"`
	Prerogative      string   `json:"prerogative"`
	AutoActivate     bool     `json:"auto_activate,omitempty"`
	// WxActivate turns on one-click activation with the form set by SetActivateUserForm. It needs a
	// card whose codes WeChat generates (BaseInfo.UseCustomCode false).
	WxActivate               bool   `json:"wx_activate,omitempty"`
	WxActivateAfterSubmit    bool   `json:"wx_activate_after_submit,omitempty"`
	WxActivateAfterSubmitURL string `json:"wx_activate_after_submit_url,omitempty"`
	ActivateURL              string `json:"activate_url,omitempty"`
	ActivateAppBrandUserName string `json:"activate_app_brand_user_name,omitempty"`
	ActivateAppBrandPass     string `json:"activate_app_brand_pass,omitempty"`

	SupplyBonus             bool       `json:"supply_bonus"`
	BonusURL                string     `json:"bonus_url,omitempty"`
	BonusCleared            string     `json:"bonus_cleared,omitempty"`
	BonusRules              string     `json:"bonus_rules,omitempty"`
	BonusRule               *BonusRule `json:"bonus_rule,omitempty"`
	BonusAppBrandUserName   string     `json:"bonus_app_brand_user_name,omitempty"`
	BonusAppBrandPass       string     `json:"bonus_app_brand_pass,omitempty"`
	SupplyBalance           bool       `json:"supply_balance"`
	BalanceURL              string     `json:"balance_url,omitempty"`
	BalanceRules            string     `json:"balance_rules,omitempty"`
	BalanceAppBrandUserName string     `json:"balance_app_brand_user_name,omitempty"`
	BalanceAppBrandPass     string     `json:"balance_app_brand_pass,omitempty"`

	// Entries are the three custom fields and three custom cells on the card.
	Entries
	// Discount is the member discount in percent off (10 = 10% off).
	Discount int `json:"discount,omitempty"`
	// AdvancedInfo is passed through as it is (advanced_info: use conditions, abstract, images...).
	AdvancedInfo json.RawMessage `json:"advanced_info,omitempty"`
}

// Validate checks the fields WeChat requires and the enums, as Create does before sending.
func (m *MemberCard) Validate() error {
	if m == nil {
		return wxerr.Invalid("member_card", "required")
	}
	b := &m.BaseInfo
	if b.LogoURL == "" {
		return wxerr.Invalid("base_info.logo_url", "required")
	}
	if !httpURL(b.LogoURL) {
		return wxerr.Invalid("base_info.logo_url", "an absolute http(s) URL (upload the logo with the card image API)")
	}
	if b.BrandName == "" {
		return wxerr.Invalid("base_info.brand_name", "required")
	}
	if err := checkWidth("base_info.brand_name", b.BrandName, maxBrandNameChars); err != nil {
		return err
	}
	if !b.CodeType.Valid() {
		return wxerr.Invalid("base_info.code_type", "one of CODE_TYPE_TEXT, CODE_TYPE_BARCODE, CODE_TYPE_QRCODE, "+
			"CODE_TYPE_ONLY_QRCODE, CODE_TYPE_ONLY_BARCODE, CODE_TYPE_NONE")
	}
	if b.Title == "" {
		return wxerr.Invalid("base_info.title", "required")
	}
	if err := checkWidth("base_info.title", b.Title, maxTitleChars); err != nil {
		return err
	}
	if !b.Color.Valid() {
		return wxerr.Invalid("base_info.color", "one of Color010…Color102 (see the Color constants)")
	}
	if b.Notice == "" {
		return wxerr.Invalid("base_info.notice", "required")
	}
	if b.Description == "" {
		return wxerr.Invalid("base_info.description", "required")
	}
	if err := b.DateInfo.validate("base_info.date_info"); err != nil {
		return err
	}
	if b.Sku.Quantity < 0 {
		return wxerr.Invalid("base_info.sku.quantity", "0 or more")
	}
	if b.GetLimit < 0 {
		return wxerr.Invalid("base_info.get_limit", "0 or more")
	}
	if b.UseLimit < 0 {
		return wxerr.Invalid("base_info.use_limit", "0 or more")
	}
	if m.Prerogative == "" {
		return wxerr.Invalid("prerogative", "required")
	}
	if m.WxActivateAfterSubmitURL != "" && !m.WxActivateAfterSubmit {
		return wxerr.Invalid("wx_activate_after_submit_url", "only with wx_activate_after_submit true")
	}
	if m.Discount < 0 || m.Discount > 100 {
		return wxerr.Invalid("discount", "0 to 100 (percent off)")
	}
	return m.Entries.validate()
}

func (d *DateInfo) validate(field string) error {
	switch d.Type {
	case DatePermanent:
	case DateFixTimeRange:
		if begin := unixSeconds(d.BeginTimestamp); begin <= 0 || unixSeconds(d.EndTimestamp) <= begin {
			return wxerr.Invalid(field, "DATE_TYPE_FIX_TIME_RANGE needs 0 < begin_timestamp < end_timestamp")
		}
	case DateFixTerm:
		if d.FixedTerm <= 0 {
			return wxerr.Invalid(field+".fixed_term", "more than 0 days for DATE_TYPE_FIX_TERM")
		}
		if d.FixedBeginTerm < 0 {
			return wxerr.Invalid(field+".fixed_begin_term", "0 or more days")
		}
	default:
		return wxerr.Invalid(field+".type", "one of DATE_TYPE_PERMANENT, DATE_TYPE_FIX_TIME_RANGE, DATE_TYPE_FIX_TERM")
	}
	return nil
}

// Entries are a member card's custom fields (custom_field1..3: level, points, coupons… shown under
// the card's title) and custom cells (custom_cell1..3: entries in the card's list). Shared by
// MemberCard (card/create) and MemberCardUpdate (card/update); nil entries are not sent.
type Entries struct {
	CustomField1 *CustomField `json:"custom_field1,omitempty"`
	CustomField2 *CustomField `json:"custom_field2,omitempty"`
	CustomField3 *CustomField `json:"custom_field3,omitempty"`
	CustomCell1  *CustomCell  `json:"custom_cell1,omitempty"`
	CustomCell2  *CustomCell  `json:"custom_cell2,omitempty"`
	CustomCell3  *CustomCell  `json:"custom_cell3,omitempty"`
}

func (e *Entries) validate() error {
	f1, f2, f3, c1, c2, c3 := e.CustomField1, e.CustomField2, e.CustomField3, e.CustomCell1, e.CustomCell2, e.CustomCell3
	for i, f := range []*CustomField{f1, f2, f3} {
		if f == nil {
			continue
		}
		field := "custom_field" + strconv.Itoa(i+1)
		if f.NameType == "" && f.Name == "" {
			return wxerr.Invalid(field, "name_type or name required")
		}
		if f.NameType != "" && !f.NameType.Valid() {
			return wxerr.Invalid(field+".name_type", "one of the FIELD_NAME_TYPE_* values (see the NameType constants)")
		}
	}
	for i, c := range []*CustomCell{c1, c2, c3} {
		if c != nil && c.Name == "" {
			return wxerr.Invalid("custom_cell"+strconv.Itoa(i+1)+".name", "required")
		}
	}
	return nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
