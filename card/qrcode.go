package card

import (
	"context"
	"errors"
	"strconv"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Bounds of QRCodeRequest.ExpireSeconds (0 means a permanent code).
const (
	MinQRCodeExpire = 60
	MaxQRCodeExpire = 1800
)

// QRCard is the one card a QR code hands out (action_info.card).
type QRCard struct {
	CardID string `json:"card_id"`
	// Code is the code to give (custom-code cards).
	Code string `json:"code,omitempty"`
	// OpenID restricts the code to one user (bind_openid cards).
	OpenID string `json:"openid,omitempty"`
	// IsUniqueCode makes the QR code usable once.
	IsUniqueCode bool `json:"is_unique_code,omitempty"`
	// OuterStr is a channel tag, returned in the user_get_card push.
	OuterStr string `json:"outer_str,omitempty"`
}

// QRCardItem is one of several cards a QR code hands out (multiple_card.card_list).
type QRCardItem struct {
	CardID   string `json:"card_id"`
	Code     string `json:"code,omitempty"`
	OuterStr string `json:"outer_str,omitempty"`
}

// QRCodeRequest asks for a QR code that gives cards when scanned: exactly one of Card (one card,
// QR_CARD) and Cards (several, QR_MULTIPLE_CARD).
type QRCodeRequest struct {
	// ExpireSeconds is the code's lifetime, MinQRCodeExpire to MaxQRCodeExpire; 0 makes it permanent.
	ExpireSeconds int
	Card          *QRCard
	Cards         []QRCardItem
}

// Validate checks the request as CreateQRCode does before sending.
func (r *QRCodeRequest) Validate() error {
	if r.ExpireSeconds != 0 && (r.ExpireSeconds < MinQRCodeExpire || r.ExpireSeconds > MaxQRCodeExpire) {
		return wxerr.Invalid("expire_seconds", strconv.Itoa(MinQRCodeExpire)+" to "+strconv.Itoa(MaxQRCodeExpire)+", or 0 for a permanent code")
	}
	switch {
	case r.Card == nil && len(r.Cards) == 0:
		return wxerr.Invalid("action_info", "one of card and multiple_card required")
	case r.Card != nil && len(r.Cards) > 0:
		return wxerr.Invalid("action_info", "card or multiple_card, not both")
	case r.Card != nil:
		if r.Card.CardID == "" {
			return wxerr.Invalid("action_info.card.card_id", "required")
		}
	default:
		for i, it := range r.Cards {
			if it.CardID == "" {
				return wxerr.Invalid("action_info.multiple_card.card_list["+strconv.Itoa(i)+"].card_id", "required")
			}
		}
	}
	return nil
}

// QRCode is a card QR code: show the image at ShowQRCodeURL, or encode URL in a QR code yourself.
type QRCode struct {
	Ticket        string `json:"ticket"`
	ExpireSeconds int    `json:"expire_seconds"`
	URL           string `json:"url"`
	ShowQRCodeURL string `json:"show_qrcode_url"`
}

// CreateQRCode creates a QR code that gives the card (or cards) to the user who scans it.
//
// WeChat: POST /card/qrcode/create
func (c *Client) CreateQRCode(ctx context.Context, req QRCodeRequest) (*QRCode, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	type multiple struct {
		CardList []QRCardItem `json:"card_list"`
	}
	type actionInfo struct {
		Card         *QRCard   `json:"card,omitempty"`
		MultipleCard *multiple `json:"multiple_card,omitempty"`
	}
	body := struct {
		ActionName    string     `json:"action_name"`
		ExpireSeconds int        `json:"expire_seconds,omitempty"`
		ActionInfo    actionInfo `json:"action_info"`
	}{ActionName: "QR_CARD", ExpireSeconds: req.ExpireSeconds, ActionInfo: actionInfo{Card: req.Card}}
	if req.Card == nil {
		body.ActionName = "QR_MULTIPLE_CARD"
		body.ActionInfo.MultipleCard = &multiple{CardList: req.Cards}
	}
	var out QRCode
	if err := c.post(ctx, "/card/qrcode/create", body, false, &out); err != nil {
		return nil, err
	}
	if out.Ticket == "" && out.URL == "" {
		return nil, errors.New("card: POST /card/qrcode/create: WeChat answered no ticket")
	}
	return &out, nil
}

// Scene is where a landing page is shown (landingpage/create scene).
type Scene string

// Landing page scenes.
const (
	SceneNearBy         Scene = "SCENE_NEAR_BY"
	SceneMenu           Scene = "SCENE_MENU"
	SceneQRCode         Scene = "SCENE_QRCODE"
	SceneArticle        Scene = "SCENE_ARTICLE"
	SceneH5             Scene = "SCENE_H5"
	SceneIVR            Scene = "SCENE_IVR"
	SceneCardCustomCell Scene = "SCENE_CARD_CUSTOM_CELL"
)

// Valid reports whether s is one of WeChat's scenes.
func (s Scene) Valid() bool {
	switch s {
	case SceneNearBy, SceneMenu, SceneQRCode, SceneArticle, SceneH5, SceneIVR, SceneCardCustomCell:
		return true
	}
	return false
}

// LandingCard is a card listed on a landing page, with its thumbnail.
type LandingCard struct {
	CardID   string `json:"card_id"`
	ThumbURL string `json:"thumb_url"`
}

// LandingPage is a page listing cards for users to take.
type LandingPage struct {
	// Banner is the page's banner image, uploaded with UploadImage. Required.
	Banner string `json:"banner"`
	// PageTitle is the page's title. Required.
	PageTitle string `json:"page_title"`
	CanShare  bool   `json:"can_share"`
	// Scene is where the page is shown. Required.
	Scene Scene `json:"scene"`
	// CardList holds the cards on the page; at least one.
	CardList []LandingCard `json:"card_list"`
}

// Validate checks the page as CreateLandingPage does before sending.
func (p *LandingPage) Validate() error {
	if !httpURL(p.Banner) {
		return wxerr.Invalid("banner", "an absolute http(s) URL (upload the image with UploadImage)")
	}
	if p.PageTitle == "" {
		return wxerr.Invalid("page_title", "required")
	}
	if !p.Scene.Valid() {
		return wxerr.Invalid("scene", "one of the SCENE_* values (see the Scene constants)")
	}
	if len(p.CardList) == 0 {
		return wxerr.Invalid("card_list", "at least one card")
	}
	for i, c := range p.CardList {
		if c.CardID == "" || !httpURL(c.ThumbURL) {
			return wxerr.Invalid("card_list["+strconv.Itoa(i)+"]", "a card_id and an absolute http(s) thumb_url")
		}
	}
	return nil
}

// LandingPageResult is a created landing page.
type LandingPageResult struct {
	URL    string `json:"url"`
	PageID int64  `json:"page_id"`
}

// CreateLandingPage creates a page listing cards for users to take, and returns its URL.
//
// WeChat: POST /card/landingpage/create
func (c *Client) CreateLandingPage(ctx context.Context, p LandingPage) (*LandingPageResult, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var out LandingPageResult
	if err := c.post(ctx, "/card/landingpage/create", p, false, &out); err != nil {
		return nil, err
	}
	if out.URL == "" {
		return nil, errors.New("card: POST /card/landingpage/create: WeChat answered no url")
	}
	return &out, nil
}
