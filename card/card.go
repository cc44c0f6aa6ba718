package card

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/wxopen-go/wxopen/wxerr"
)

// cardTypeMember is the card_type of membership cards.
const cardTypeMember = "MEMBER_CARD"

type createBody struct {
	Card createCard `json:"card"`
}

type createCard struct {
	CardType   string      `json:"card_type"`
	MemberCard *MemberCard `json:"member_card"`
}

// Create creates a membership card under the official account and returns its card_id. The card is
// validated first (required fields, enums, text limits, date_info consistency). The card goes through
// WeChat's review before users can receive it. Create is never retried automatically.
//
// WeChat: POST /card/create
func (c *Client) Create(ctx context.Context, card *MemberCard) (string, error) {
	if err := card.Validate(); err != nil {
		return "", err
	}
	m := *card
	m.BaseInfo.ID, m.BaseInfo.Status = "", "" // set by WeChat, never sent
	m.BaseInfo.Sku.TotalQuantity = 0
	var out struct {
		CardID string `json:"card_id"`
	}
	body := createBody{Card: createCard{CardType: cardTypeMember, MemberCard: &m}}
	if err := c.post(ctx, "/card/create", body, false, &out); err != nil {
		return "", err
	}
	if out.CardID == "" {
		return "", fmt.Errorf("card: POST /card/create: WeChat answered no card_id")
	}
	return out.CardID, nil
}

// Get returns the membership card cardID, including its BaseInfo.ID and BaseInfo.Status
// (e.g. CARD_STATUS_VERIFY_OK). A card of another type is an error.
//
// WeChat: POST /card/get
func (c *Client) Get(ctx context.Context, cardID string) (*MemberCard, error) {
	if cardID == "" {
		return nil, wxerr.Invalid("card_id", "required")
	}
	var out struct {
		Card struct {
			CardType   string      `json:"card_type"`
			MemberCard *MemberCard `json:"member_card"`
		} `json:"card"`
	}
	if err := c.post(ctx, "/card/get", map[string]string{"card_id": cardID}, true, &out); err != nil {
		return nil, err
	}
	if out.Card.CardType != cardTypeMember || out.Card.MemberCard == nil {
		return nil, fmt.Errorf("card: %s is a %q card, not a membership card", cardID, out.Card.CardType)
	}
	return out.Card.MemberCard, nil
}

// BaseInfoUpdate is the updatable part of BaseInfo. Only the fields that are set are sent.
type BaseInfoUpdate struct {
	LogoURL         string    `json:"logo_url,omitempty"`
	Title           string    `json:"title,omitempty"`
	Notice          string    `json:"notice,omitempty"`
	Description     string    `json:"description,omitempty"`
	ServicePhone    string    `json:"service_phone,omitempty"`
	Color           Color     `json:"color,omitempty"`
	CodeType        CodeType  `json:"code_type,omitempty"`
	DateInfo        *DateInfo `json:"date_info,omitempty"`
	GetLimit        *int      `json:"get_limit,omitempty"`
	CanShare        *bool     `json:"can_share,omitempty"`
	CanGiveFriend   *bool     `json:"can_give_friend,omitempty"`
	LocationIDList  []int64   `json:"location_id_list,omitempty"`
	UseAllLocations *bool     `json:"use_all_locations,omitempty"`
	PayInfo         *PayInfo  `json:"pay_info,omitempty"`
	IsPayAndQRCode  *bool     `json:"is_pay_and_qrcode,omitempty"`

	Links
}

// MemberCardUpdate is a change to a membership card for Update. Only the fields that are set are
// sent; pointers send an explicit false or 0.
type MemberCardUpdate struct {
	BaseInfo                 *BaseInfoUpdate `json:"base_info,omitempty"`
	BackgroundPicURL         string          `json:"background_pic_url,omitempty"`
	Prerogative              string          `json:"prerogative,omitempty"`
	AutoActivate             *bool           `json:"auto_activate,omitempty"`
	WxActivate               *bool           `json:"wx_activate,omitempty"`
	ActivateURL              string          `json:"activate_url,omitempty"`
	ActivateAppBrandUserName string          `json:"activate_app_brand_user_name,omitempty"`
	ActivateAppBrandPass     string          `json:"activate_app_brand_pass,omitempty"`
	SupplyBonus              *bool           `json:"supply_bonus,omitempty"`
	BonusURL                 string          `json:"bonus_url,omitempty"`
	BonusCleared             string          `json:"bonus_cleared,omitempty"`
	BonusRules               string          `json:"bonus_rules,omitempty"`
	BonusRule                *BonusRule      `json:"bonus_rule,omitempty"`
	SupplyBalance            *bool           `json:"supply_balance,omitempty"`
	BalanceURL               string          `json:"balance_url,omitempty"`
	BalanceRules             string          `json:"balance_rules,omitempty"`
	Entries
	Discount *int `json:"discount,omitempty"`
}

// Validate checks the fields that are set, as Update does before sending.
func (u *MemberCardUpdate) Validate() error {
	if u == nil {
		return wxerr.Invalid("member_card", "required")
	}
	if b := u.BaseInfo; b != nil {
		if b.LogoURL != "" && !httpURL(b.LogoURL) {
			return wxerr.Invalid("base_info.logo_url", "an absolute http(s) URL")
		}
		if err := checkWidth("base_info.title", b.Title, maxTitleChars); err != nil {
			return err
		}
		if b.Color != "" && !b.Color.Valid() {
			return wxerr.Invalid("base_info.color", "one of Color010…Color102 (see the Color constants)")
		}
		if b.CodeType != "" && !b.CodeType.Valid() {
			return wxerr.Invalid("base_info.code_type", "one of the CODE_TYPE_* values (see the CodeType constants)")
		}
		if b.DateInfo != nil {
			if err := b.DateInfo.validate("base_info.date_info"); err != nil {
				return err
			}
		}
		if b.GetLimit != nil && *b.GetLimit < 0 {
			return wxerr.Invalid("base_info.get_limit", "0 or more")
		}
	}
	if u.Discount != nil && (*u.Discount < 0 || *u.Discount > 100) {
		return wxerr.Invalid("discount", "0 to 100 (percent off)")
	}
	return u.Entries.validate()
}

// Update changes the membership card cardID. sendCheck reports whether the change sends the card
// through WeChat's review again. Update is never retried automatically.
//
// WeChat: POST /card/update
func (c *Client) Update(ctx context.Context, cardID string, update *MemberCardUpdate) (sendCheck bool, err error) {
	if cardID == "" {
		return false, wxerr.Invalid("card_id", "required")
	}
	if err := update.Validate(); err != nil {
		return false, err
	}
	mc, err := json.Marshal(update)
	if err != nil {
		return false, fmt.Errorf("card: encode update: %w", err)
	}
	if bytes.Equal(mc, []byte("{}")) || bytes.Equal(mc, []byte(`{"base_info":{}}`)) {
		return false, wxerr.Invalid("member_card", "at least one field to change")
	}
	body := struct {
		CardID     string            `json:"card_id"`
		MemberCard *MemberCardUpdate `json:"member_card"`
	}{cardID, update}
	var out struct {
		SendCheck bool `json:"send_check"`
	}
	if err := c.post(ctx, "/card/update", body, false, &out); err != nil {
		return false, err
	}
	return out.SendCheck, nil
}
