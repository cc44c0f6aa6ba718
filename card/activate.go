package card

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/wxopen-go/wxopen/wxerr"
)

// DecryptCode turns the encrypt_code that wx.addCard returns (or that WeChat appends to a redirect
// URL) into the card code. Pass the value as received: raw from wx.addCard, or read from a URL with a
// query parser. Because the value is base64, which never contains '%' or ' ', a value that still
// carries %XX escapes is decoded once more, and spaces (a '+' that a query parser read as a space) are
// turned back into '+'; a raw value passes unchanged.
//
// WeChat: POST /card/code/decrypt
func (c *Client) DecryptCode(ctx context.Context, encryptCode string) (string, error) {
	enc, err := NormalizeEncryptCode(encryptCode)
	if err != nil {
		return "", err
	}
	var out struct {
		Code string `json:"code"`
	}
	if err := c.post(ctx, "/card/code/decrypt", map[string]string{"encrypt_code": enc}, true, &out); err != nil {
		return "", err
	}
	if out.Code == "" {
		return "", fmt.Errorf("card: POST /card/code/decrypt: WeChat answered no code")
	}
	return out.Code, nil
}

// NormalizeEncryptCode returns the base64 encrypt_code in s as DecryptCode sends it: trimmed, %XX
// escapes decoded (repeatedly, for values encoded twice), spaces turned back into '+'.
func NormalizeEncryptCode(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", wxerr.Invalid("encrypt_code", "required")
	}
	s, err := unescapeBase64(s)
	if err != nil {
		return "", wxerr.Invalid("encrypt_code", "base64, raw or percent-encoded")
	}
	return s, nil
}

// unescapeBase64 undoes percent-encoding of a base64 value (at most three rounds) and restores '+'
// read as ' '. It never splits or trims '=' padding.
func unescapeBase64(s string) (string, error) {
	for i := 0; i < 3 && strings.Contains(s, "%"); i++ {
		u, err := url.PathUnescape(s) // PathUnescape keeps a literal '+'
		if err != nil {
			return "", err
		}
		s = u
	}
	if strings.Contains(s, "%") {
		return "", fmt.Errorf("still percent-encoded")
	}
	return strings.ReplaceAll(s, " ", "+"), nil
}

// ActivateRequest activates a member's card by API (when the merchant runs its own activation).
type ActivateRequest struct {
	// MembershipNumber is the member number shown on the card. Required.
	MembershipNumber string `json:"membership_number"`
	// Code is the card code (see DecryptCode). Required.
	Code string `json:"code"`
	// CardID is needed for cards with custom codes.
	CardID           string `json:"card_id,omitempty"`
	BackgroundPicURL string `json:"background_pic_url,omitempty"`
	// ActivateBeginTime and ActivateEndTime bound the membership (activate_begin_time and
	// activate_end_time, unix seconds on the wire); the zero time is left out.
	ActivateBeginTime time.Time `json:"-"`
	ActivateEndTime   time.Time `json:"-"`
	InitBonus         int64     `json:"init_bonus,omitempty"`
	InitBonusRecord   string    `json:"init_bonus_record,omitempty"`
	// InitBalance is in cents (unverified).
	InitBalance           int64  `json:"init_balance,omitempty"`
	InitCustomFieldValue1 string `json:"init_custom_field_value1,omitempty"`
	InitCustomFieldValue2 string `json:"init_custom_field_value2,omitempty"`
	InitCustomFieldValue3 string `json:"init_custom_field_value3,omitempty"`
}

// MarshalJSON sends WeChat's form, the activation times in unix seconds.
func (r ActivateRequest) MarshalJSON() ([]byte, error) {
	type plain ActivateRequest
	return json.Marshal(struct {
		plain
		ActivateBeginTime int64 `json:"activate_begin_time,omitempty"`
		ActivateEndTime   int64 `json:"activate_end_time,omitempty"`
	}{plain(r), unixSeconds(r.ActivateBeginTime), unixSeconds(r.ActivateEndTime)})
}

// UnmarshalJSON reads WeChat's form back, the activation times in unix seconds.
func (r *ActivateRequest) UnmarshalJSON(b []byte) error {
	type plain ActivateRequest
	var w struct {
		plain
		ActivateBeginTime int64 `json:"activate_begin_time"`
		ActivateEndTime   int64 `json:"activate_end_time"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = ActivateRequest(w.plain)
	r.ActivateBeginTime, r.ActivateEndTime = unixOrZero(w.ActivateBeginTime), unixOrZero(w.ActivateEndTime)
	return nil
}

// Activate activates the member card with code, giving it a membership number and initial values.
//
// WeChat: POST /card/membercard/activate
func (c *Client) Activate(ctx context.Context, req ActivateRequest) error {
	if req.MembershipNumber == "" {
		return wxerr.Invalid("membership_number", "required")
	}
	if req.Code == "" {
		return wxerr.Invalid("code", "required")
	}
	if t := req.ActivateBeginTime; !t.IsZero() && t.Unix() <= 0 {
		return wxerr.Invalid("activate_begin_time", "after 1970, or the zero time to leave it out")
	}
	if !req.ActivateEndTime.IsZero() && unixSeconds(req.ActivateEndTime) <= unixSeconds(req.ActivateBeginTime) {
		return wxerr.Invalid("activate_end_time", "after activate_begin_time")
	}
	if req.InitBonus < 0 || req.InitBalance < 0 {
		return wxerr.Invalid("init_bonus", "init_bonus and init_balance 0 or more")
	}
	return c.post(ctx, "/card/membercard/activate", req, false, nil)
}

// FormFieldID is a common field of the activation form (common_field_id_list).
type FormFieldID string

// Common form fields.
const (
	FieldMobile              FormFieldID = "USER_FORM_INFO_FLAG_MOBILE"
	FieldSex                 FormFieldID = "USER_FORM_INFO_FLAG_SEX"
	FieldName                FormFieldID = "USER_FORM_INFO_FLAG_NAME"
	FieldBirthday            FormFieldID = "USER_FORM_INFO_FLAG_BIRTHDAY"
	FieldIDCard              FormFieldID = "USER_FORM_INFO_FLAG_IDCARD"
	FieldEmail               FormFieldID = "USER_FORM_INFO_FLAG_EMAIL"
	FieldLocation            FormFieldID = "USER_FORM_INFO_FLAG_LOCATION"
	FieldEducationBackground FormFieldID = "USER_FORM_INFO_FLAG_EDUCATION_BACKGROUND"
	FieldIndustry            FormFieldID = "USER_FORM_INFO_FLAG_INDUSTRY"
	FieldIncome              FormFieldID = "USER_FORM_INFO_FLAG_INCOME"
	FieldHabit               FormFieldID = "USER_FORM_INFO_FLAG_HABIT"
)

// Valid reports whether f is one of WeChat's common form fields.
func (f FormFieldID) Valid() bool {
	switch f {
	case FieldMobile, FieldSex, FieldName, FieldBirthday, FieldIDCard, FieldEmail, FieldLocation,
		FieldEducationBackground, FieldIndustry, FieldIncome, FieldHabit:
		return true
	}
	return false
}

// RichFieldType is the kind of a choice field of the activation form.
type RichFieldType string

// Rich field types.
const (
	RichFieldRadio    RichFieldType = "FORM_FIELD_RADIO"
	RichFieldSelect   RichFieldType = "FORM_FIELD_SELECT"
	RichFieldCheckBox RichFieldType = "FORM_FIELD_CHECK_BOX"
)

// Valid reports whether t is one of WeChat's rich field types.
func (t RichFieldType) Valid() bool {
	return t == RichFieldRadio || t == RichFieldSelect || t == RichFieldCheckBox
}

// RichField is a choice field of the activation form.
type RichField struct {
	Type   RichFieldType `json:"type"`
	Name   string        `json:"name"`
	Values []string      `json:"values"`
}

// FormSection is the required or the optional part of the activation form.
type FormSection struct {
	// CanModify lets the member change the values WeChat pre-fills.
	CanModify         bool          `json:"can_modify"`
	CommonFieldIDList []FormFieldID `json:"common_field_id_list,omitempty"`
	CustomFieldList   []string      `json:"custom_field_list,omitempty"`
	RichFieldList     []RichField   `json:"rich_field_list,omitempty"`
}

// FormLink is a named link shown on the activation form.
type FormLink struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// ActivateUserForm is the form a member fills in to activate a card with wx_activate or the
// activation plugin.
type ActivateUserForm struct {
	CardID           string       `json:"card_id"`
	ServiceStatement *FormLink    `json:"service_statement,omitempty"`
	BindOldCard      *FormLink    `json:"bind_old_card,omitempty"`
	RequiredForm     *FormSection `json:"required_form,omitempty"`
	OptionalForm     *FormSection `json:"optional_form,omitempty"`
}

// Validate checks the form as SetActivateUserForm does before sending.
func (f *ActivateUserForm) Validate() error {
	if f.CardID == "" {
		return wxerr.Invalid("card_id", "required")
	}
	if f.RequiredForm == nil && f.OptionalForm == nil {
		return wxerr.Invalid("required_form", "required_form or optional_form required")
	}
	for _, l := range []struct {
		name string
		v    *FormLink
	}{{"service_statement", f.ServiceStatement}, {"bind_old_card", f.BindOldCard}} {
		if l.v != nil && (l.v.Name == "" || !httpURL(l.v.URL)) {
			return wxerr.Invalid(l.name, "a name and an absolute http(s) url")
		}
	}
	seen := map[string]bool{}
	for _, sec := range []struct {
		name string
		v    *FormSection
	}{{"required_form", f.RequiredForm}, {"optional_form", f.OptionalForm}} {
		if sec.v == nil {
			continue
		}
		if len(sec.v.CommonFieldIDList)+len(sec.v.CustomFieldList)+len(sec.v.RichFieldList) == 0 {
			return wxerr.Invalid(sec.name, "at least one field")
		}
		for _, id := range sec.v.CommonFieldIDList {
			if !id.Valid() {
				return wxerr.Invalid(sec.name+".common_field_id_list", "USER_FORM_INFO_FLAG_* values (see the Field constants), not "+string(id))
			}
			if seen[string(id)] {
				return wxerr.Invalid(sec.name+".common_field_id_list", string(id)+" listed twice")
			}
			seen[string(id)] = true
		}
		for _, name := range sec.v.CustomFieldList {
			if name == "" {
				return wxerr.Invalid(sec.name+".custom_field_list", "non-empty names")
			}
			if seen["custom:"+name] {
				return wxerr.Invalid(sec.name+".custom_field_list", name+" listed twice")
			}
			seen["custom:"+name] = true
		}
		for _, r := range sec.v.RichFieldList {
			if !r.Type.Valid() {
				return wxerr.Invalid(sec.name+".rich_field_list.type", "FORM_FIELD_RADIO, FORM_FIELD_SELECT or FORM_FIELD_CHECK_BOX")
			}
			if r.Name == "" || len(r.Values) == 0 {
				return wxerr.Invalid(sec.name+".rich_field_list", "a name and at least one value")
			}
		}
	}
	return nil
}

// SetActivateUserForm sets the activation form of a card (used by wx_activate and the activation
// plugin). The plugin works only with codes WeChat generates (UseCustomCode false). Like every write,
// it is never retried automatically.
//
// WeChat: POST /card/membercard/activateuserform/set
func (c *Client) SetActivateUserForm(ctx context.Context, form ActivateUserForm) error {
	if err := form.Validate(); err != nil {
		return err
	}
	return c.post(ctx, "/card/membercard/activateuserform/set", form, false, nil)
}

// PluginAppID is the appid of WeChat's activate-form plugin, the mini program that
// wx.navigateToMiniProgram opens to activate a membership card.
const PluginAppID = "wxeb490c6f9b154ef9"

// ActivateExtraData is the extraData object wx.navigateToMiniProgram passes to the activation
// plugin; it marshals to {"encrypt_card_id", "outer_str", "biz"} with decoded values.
type ActivateExtraData struct {
	EncryptCardID string `json:"encrypt_card_id"`
	OuterStr      string `json:"outer_str"`
	Biz           string `json:"biz"`
}

// ActivatePlugin is what a mini program needs to open the activation plugin:
// wx.navigateToMiniProgram({appId: AppID, extraData: ExtraData}).
type ActivatePlugin struct {
	// URL is the activation URL as WeChat answered it (for a web page: open it in WeChat).
	URL string `json:"url"`
	// EncryptCardID, OuterStr and Biz are the URL's query values, percent-decoded (base64 '='
	// padding kept).
	EncryptCardID string `json:"encrypt_card_id"`
	OuterStr      string `json:"outer_str"`
	Biz           string `json:"biz"`
	// AppID is PluginAppID.
	AppID string `json:"app_id"`
	// ExtraData holds EncryptCardID, OuterStr and Biz for wx.navigateToMiniProgram.
	ExtraData ActivateExtraData `json:"extra_data"`
}

// ActivateURL asks WeChat for the activation URL of cardID and parses it into the activation plugin's
// parameters. outerStr is a channel tag returned in the activation events ("" for none). The plugin
// works only with cards whose codes WeChat generates (UseCustomCode false).
//
// WeChat: POST /card/membercard/activate/geturl
func (c *Client) ActivateURL(ctx context.Context, cardID, outerStr string) (*ActivatePlugin, error) {
	if cardID == "" {
		return nil, wxerr.Invalid("card_id", "required")
	}
	body := struct {
		CardID   string `json:"card_id"`
		OuterStr string `json:"outer_str,omitempty"`
	}{cardID, outerStr}
	var out struct {
		URL string `json:"url"`
	}
	if err := c.post(ctx, "/card/membercard/activate/geturl", body, true, &out); err != nil {
		return nil, err
	}
	p, err := ParseActivateURL(out.URL)
	if err != nil {
		return nil, fmt.Errorf("card: POST /card/membercard/activate/geturl answered an unusable url: %w", err)
	}
	return p, nil
}

// ParseActivateURL parses the URL answered by activate/geturl into the activation plugin's
// parameters. It accepts the URL as WeChat sends it (query values percent-encoded), a URL that is
// itself percent-encoded once or twice (decoded first), and values encoded twice. The query is read
// with net/url, never split by hand, so the '=' padding of the base64 values survives; a '+' that a
// lax encoder left raw in a base64 value is kept as '+'. encrypt_card_id and biz are required.
func ParseActivateURL(raw string) (*ActivatePlugin, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, wxerr.Invalid("url", "required")
	}
	// A URL that is itself percent-encoded has no '?' or "://" of its own until decoded.
	for i := 0; i < 3 && !strings.Contains(s, "://") && strings.Contains(s, "%"); i++ {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, wxerr.Invalid("url", "a URL, plain or percent-encoded")
		}
		s = u
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, wxerr.Invalid("url", "an absolute http(s) URL")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, wxerr.Invalid("url", "a well-formed query string")
	}
	p := &ActivatePlugin{URL: raw, AppID: PluginAppID}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"encrypt_card_id", &p.EncryptCardID}, {"biz", &p.Biz}} {
		v := q.Get(f.name)
		if v == "" {
			return nil, wxerr.Invalid("url", "query parameter "+f.name+" missing")
		}
		if v, err = unescapeBase64(v); err != nil {
			return nil, wxerr.Invalid("url", f.name+" is not base64")
		}
		*f.dst = v
	}
	p.OuterStr = q.Get("outer_str")
	p.ExtraData = ActivateExtraData{EncryptCardID: p.EncryptCardID, OuterStr: p.OuterStr, Biz: p.Biz}
	return p, nil
}

// FormValue is one answer of an activation form.
type FormValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// ValueList holds the choices of a check-box field.
	ValueList []string `json:"value_list,omitempty"`
}

// UserFormInfo is what a member filled into the activation form.
type UserFormInfo struct {
	CommonFieldList []FormValue `json:"common_field_list"`
	CustomFieldList []FormValue `json:"custom_field_list"`
}

// Common returns the value of the common field id ("" when absent).
func (i *UserFormInfo) Common(id FormFieldID) string {
	for _, v := range i.CommonFieldList {
		if v.Name == string(id) {
			return v.Value
		}
	}
	return ""
}

// ActivateTempInfo returns what the member submitted in the activation form, for the activate_ticket
// found in the query of the page WeChat opens after the submission (pass it decoded, as a query parser
// returns it). Call Activate afterwards with your membership number.
//
// WeChat: POST /card/membercard/activatetempinfo/get
func (c *Client) ActivateTempInfo(ctx context.Context, activateTicket string) (*UserFormInfo, error) {
	if activateTicket == "" {
		return nil, wxerr.Invalid("activate_ticket", "required")
	}
	var out struct {
		Info UserFormInfo `json:"info"`
	}
	if err := c.post(ctx, "/card/membercard/activatetempinfo/get", map[string]string{"activate_ticket": activateTicket}, true, &out); err != nil {
		return nil, err
	}
	return &out.Info, nil
}
