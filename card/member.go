package card

import (
	"context"

	"github.com/wxopen-go/wxopen/wxerr"
)

// UserCardStatus is the state of a member's card (values unverified).
type UserCardStatus string

// Card states.
const (
	StatusNormal      UserCardStatus = "NORMAL"
	StatusConsumed    UserCardStatus = "CONSUMED"
	StatusExpire      UserCardStatus = "EXPIRE"
	StatusGifting     UserCardStatus = "GIFTING"
	StatusGiftSucc    UserCardStatus = "GIFT_SUCC"
	StatusGiftTimeout UserCardStatus = "GIFT_TIMEOUT"
	StatusDelete      UserCardStatus = "DELETE"
	StatusUnavailable UserCardStatus = "UNAVAILABLE"
)

// MemberInfo is a member and their card.
type MemberInfo struct {
	OpenID           string         `json:"openid"`
	Nickname         string         `json:"nickname"`
	MembershipNumber string         `json:"membership_number"`
	Bonus            int64          `json:"bonus"`
	Balance          int64          `json:"balance"` // cents (unverified)
	Sex              string         `json:"sex"`
	UserInfo         UserFormInfo   `json:"user_info"`
	UserCardStatus   UserCardStatus `json:"user_card_status"`
	HasActive        bool           `json:"has_active"`
}

// MemberInfo returns the member holding the card code of cardID: membership number, bonus, balance,
// form answers, state.
//
// WeChat: POST /card/membercard/userinfo/get
func (c *Client) MemberInfo(ctx context.Context, cardID, code string) (*MemberInfo, error) {
	if cardID == "" {
		return nil, wxerr.Invalid("card_id", "required")
	}
	if code == "" {
		return nil, wxerr.Invalid("code", "required")
	}
	var out MemberInfo
	if err := c.post(ctx, "/card/membercard/userinfo/get", map[string]string{"card_id": cardID, "code": code}, true, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateMemberRequest changes a member's bonus, balance or custom field values.
//
// UNVERIFIED: the API digest does not detail card/membercard/updateuser. The field names below are
// wxopen's best knowledge (code, card_id, bonus, add_bonus, record_bonus, balance, add_balance,
// record_balance, custom_field_value1..3; answer result_bonus, result_balance, openid) and are kept
// in this one type.
type UpdateMemberRequest struct {
	// Code and CardID identify the member's card. Required.
	Code   string `json:"code"`
	CardID string `json:"card_id"`
	// Bonus sets the points to a value (Int(0) sends 0); AddBonus adds (or, negative, removes) points.
	// Set at most one.
	Bonus       *int64 `json:"bonus,omitempty"`
	AddBonus    int64  `json:"add_bonus,omitempty"`
	RecordBonus string `json:"record_bonus,omitempty"` // why the points changed, shown to the member
	// Balance sets the balance in cents; AddBalance adds (or removes) cents. Set at most one.
	Balance       *int64 `json:"balance,omitempty"`
	AddBalance    int64  `json:"add_balance,omitempty"`
	RecordBalance string `json:"record_balance,omitempty"`
	// CustomFieldValue1..3 set the values shown in custom_field1..3.
	CustomFieldValue1 string `json:"custom_field_value1,omitempty"`
	CustomFieldValue2 string `json:"custom_field_value2,omitempty"`
	CustomFieldValue3 string `json:"custom_field_value3,omitempty"`
}

// UpdateMemberResult is the member's state after UpdateMember.
type UpdateMemberResult struct {
	ResultBonus   int64  `json:"result_bonus"`
	ResultBalance int64  `json:"result_balance"`
	OpenID        string `json:"openid"`
}

// UpdateMember changes a member's bonus, balance or custom field values. It is never retried
// automatically (AddBonus and AddBalance are not idempotent).
//
// WeChat: POST /card/membercard/updateuser
func (c *Client) UpdateMember(ctx context.Context, req UpdateMemberRequest) (*UpdateMemberResult, error) {
	if req.Code == "" {
		return nil, wxerr.Invalid("code", "required")
	}
	if req.CardID == "" {
		return nil, wxerr.Invalid("card_id", "required")
	}
	if req.Bonus != nil && req.AddBonus != 0 {
		return nil, wxerr.Invalid("bonus", "set bonus or add_bonus, not both")
	}
	if req.Balance != nil && req.AddBalance != 0 {
		return nil, wxerr.Invalid("balance", "set balance or add_balance, not both")
	}
	if req.Bonus != nil && *req.Bonus < 0 {
		return nil, wxerr.Invalid("bonus", "0 or more")
	}
	if req.Balance != nil && *req.Balance < 0 {
		return nil, wxerr.Invalid("balance", "0 or more")
	}
	if req.Bonus == nil && req.AddBonus == 0 && req.Balance == nil && req.AddBalance == 0 &&
		req.CustomFieldValue1 == "" && req.CustomFieldValue2 == "" && req.CustomFieldValue3 == "" {
		return nil, wxerr.Invalid("updateuser", "at least one of bonus, add_bonus, balance, add_balance, custom_field_value1..3")
	}
	var out UpdateMemberResult
	if err := c.post(ctx, "/card/membercard/updateuser", req, false, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
