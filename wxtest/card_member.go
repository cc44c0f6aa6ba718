package wxtest

// Membership: activation by API, the activation form and plugin, member information and updates
// (API digest sections 7.5 and 7.6).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
)

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
		if _, err := s.liveCard(c, req.CardID); err != nil {
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
	card, err := s.liveCard(c, req.CardID)
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
	card, err := s.liveCard(c, req.CardID)
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
	a.common, a.custom = splitFormValues(fields)
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
// add to it; a result below 0 is refused. A change of bonus or balance is pushed (update_member_card
// with the deltas ModifyBonus and ModifyBalance) when a message URL is configured.
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
	if _, err := s.liveCard(c, req.CardID); err != nil {
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
	if bonus != cc.bonus || balance != cc.balance {
		s.pushCardEventLater(c, cardPush{c.authorizerAppID, s.cardEvent(c.authorizerAppID, cc.openID, c.now, "update_member_card",
			xmlField{"CardId", cc.cardID, false}, xmlField{"UserCardCode", cc.code, false},
			xmlField{"ModifyBonus", strconv.FormatInt(bonus-cc.bonus, 10), true},
			xmlField{"ModifyBalance", strconv.FormatInt(balance-cc.balance, 10), true})})
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

// ActivateCard plays a member completing one-click activation (wx_activate) of the card with code:
// fields maps common field ids (USER_FORM_INFO_FLAG_MOBILE...) and custom field names to values, and
// every field of the card's required_form must be there. The card becomes active (its membership
// number is the code, as WeChat's one-click activation does) and submit_membercard_user_info is
// pushed; membercard/userinfo/get then answers the values.
func (s *Server) ActivateCard(ctx context.Context, code string, fields map[string]string) error {
	now := s.Now()
	s.mu.Lock()
	cc, err := s.userCode(code)
	var card *emuCard
	if err == nil {
		card = s.cards().cards[cc.cardID]
		err = checkActivation(card, cc, fields)
	}
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: ActivateCard: %w", err)
	}
	cc.commonFields, cc.customFields = splitFormValues(fields)
	cc.active, cc.membershipNumber = true, cc.code
	msg := s.cardEvent(card.owner, cc.openID, now, "submit_membercard_user_info",
		xmlField{"CardId", cc.cardID, false}, xmlField{"UserCardCode", cc.code, false})
	s.mu.Unlock()
	return s.PushAuthorizerEvent(ctx, card.owner, msg)
}

// checkActivation checks a one-click activation of cc: a wx_activate card with a form, a code that
// is not active yet, and the required fields filled in.
func checkActivation(card *emuCard, cc *cardCode, fields map[string]string) error {
	if on, _ := card.memberCard["wx_activate"].(bool); !on {
		return errors.New("the card was not created with wx_activate")
	}
	if card.form == nil {
		return errors.New("the card has no activation form (activateuserform/set)")
	}
	if cc.active {
		return errors.New("the card is already active")
	}
	if cc.status != codeNormal {
		return fmt.Errorf("the code is %s", cc.status)
	}
	var form emuForm
	_ = json.Unmarshal(card.form, &form) // checked when it was set
	if r := form.RequiredForm; r != nil {
		for _, name := range append(append([]string(nil), r.CommonFieldIDList...), r.CustomFieldList...) {
			if fields[name] == "" {
				return fmt.Errorf("required field %s is empty", name)
			}
		}
	}
	return nil
}

// splitFormValues sorts form answers into common fields and custom fields, by name.
func splitFormValues(fields map[string]string) (common, custom []formValue) {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := formValue{Name: name, Value: fields[name]}
		if cardFormFields[name] {
			common = append(common, v)
		} else {
			custom = append(custom, v)
		}
	}
	return common, custom
}
