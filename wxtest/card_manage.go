package wxtest

// Managing cards (API digest 19.1): the card list, deletion, stock, the pay cell, card QR codes and
// landing pages, and the review that WeChat pushes the outcome of (ReviewCard).

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Limits of the card management endpoints.
const (
	cardBatchMaxCount = 50   // card/batchget count
	cardQRMinExpire   = 60   // card/qrcode/create expire_seconds
	cardQRMaxExpire   = 1800 //
)

var (
	cardStatuses = set("CARD_STATUS_NOT_VERIFY", "CARD_STATUS_VERIFY_FAIL", "CARD_STATUS_VERIFY_OK",
		"CARD_STATUS_DELETE", "CARD_STATUS_DISPATCH")
	cardScenes = set("SCENE_NEAR_BY", "SCENE_MENU", "SCENE_QRCODE", "SCENE_ARTICLE", "SCENE_H5", "SCENE_IVR",
		"SCENE_CARD_CUSTOM_CELL")
)

// cardQRCode is a QR code created by card/qrcode/create.
type cardQRCode struct {
	owner   string
	items   []cardQRItem
	openID  string    // QR_CARD openid: only this user may scan it
	unique  bool      // is_unique_code: usable once
	used    bool      // a unique code already scanned
	expires time.Time // zero: permanent
}

// cardQRItem is one card a QR code hands out, with its channel tag.
type cardQRItem struct{ cardID, outerStr string }

// cardBatchGet: POST /card/batchget. Cards are listed in creation order, deleted ones included
// (status CARD_STATUS_DELETE); status_list keeps the cards in those states.
func (s *Server) cardBatchGet(c *call) (any, error) {
	var req struct {
		Offset     *int     `json:"offset"`
		Count      *int     `json:"count"`
		StatusList []string `json:"status_list"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if req.Offset == nil {
		return nil, missing("offset")
	}
	if req.Count == nil {
		return nil, missing("count")
	}
	if *req.Offset < 0 {
		return nil, invalidArg("offset", "negative")
	}
	if *req.Count < 1 || *req.Count > cardBatchMaxCount {
		return nil, invalidArg("count", "1 to 50")
	}
	keep := map[string]bool{}
	for _, st := range req.StatusList {
		if !cardStatuses[st] {
			return nil, invalidArg("status_list", "unknown status "+st)
		}
		keep[st] = true
	}
	st := s.cards()
	var match []string
	for _, id := range st.byOwner[c.authorizerAppID] {
		if len(keep) == 0 || keep[st.cards[id].status()] {
			match = append(match, id)
		}
	}
	page := []string{}
	if *req.Offset < len(match) {
		page = match[*req.Offset:min(len(match), *req.Offset+*req.Count)]
	}
	return struct {
		okBody
		CardIDList []string `json:"card_id_list"`
		TotalNum   int      `json:"total_num"`
	}{okBody{Errmsg: "ok"}, page, len(match)}, nil
}

// cardDelete: POST /card/delete. The card stays listed as CARD_STATUS_DELETE; its codes become
// UNAVAILABLE and every later change or issue of the card is refused with 40127.
func (s *Server) cardDelete(c *call) (any, error) {
	var req struct {
		CardID string `json:"card_id"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	card, err := s.liveCard(c, req.CardID)
	if err != nil {
		return nil, err
	}
	card.setStatus(cardStatusDelete)
	return answerOK(), nil
}

// cardModifyStock: POST /card/modifystock. Exactly one of increase_stock_value and
// reduce_stock_value, positive; the stock cannot go below 0 (40122).
func (s *Server) cardModifyStock(c *call) (any, error) {
	var req struct {
		CardID   string `json:"card_id"`
		Increase *int64 `json:"increase_stock_value"`
		Reduce   *int64 `json:"reduce_stock_value"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	card, err := s.liveCard(c, req.CardID)
	if err != nil {
		return nil, err
	}
	var delta int64
	switch {
	case req.Increase != nil && req.Reduce != nil:
		return nil, invalidArg("increase_stock_value", "increase_stock_value or reduce_stock_value, not both")
	case req.Increase != nil:
		delta = *req.Increase
	case req.Reduce != nil:
		delta = -*req.Reduce
	default:
		return nil, missing("increase_stock_value")
	}
	if (req.Increase != nil && *req.Increase <= 0) || (req.Reduce != nil && *req.Reduce <= 0) {
		return nil, apiErr(wxerr.CodeInvalidQuantity, "invalid quantity")
	}
	sku, _ := card.baseInfo()["sku"].(map[string]any)
	qty, _ := sku["quantity"].(float64)
	total, _ := sku["total_quantity"].(float64)
	if qty+float64(delta) < 0 {
		return nil, apiErr(wxerr.CodeInvalidQuantity, "invalid quantity: the stock would be negative")
	}
	sku["quantity"] = qty + float64(delta)
	sku["total_quantity"] = total + float64(delta)
	return answerOK(), nil
}

// cardPayCell: POST /card/paycell/set. Opening the pay cell needs a card bound to stores
// (location_id_list or use_all_locations); WeChat's errcode for that refusal is not documented, the
// emulator answers 40097.
func (s *Server) cardPayCell(c *call) (any, error) {
	var req struct {
		CardID string `json:"card_id"`
		IsOpen *bool  `json:"is_open"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	card, err := s.liveCard(c, req.CardID)
	if err != nil {
		return nil, err
	}
	if req.IsOpen == nil {
		return nil, missing("is_open")
	}
	base := card.baseInfo()
	locations, _ := base["location_id_list"].([]any)
	all, _ := base["use_all_locations"].(bool)
	if *req.IsOpen && len(locations) == 0 && !all {
		return nil, invalidArg("card_id", "the card has no stores (location_id_list or use_all_locations)")
	}
	card.payCell = *req.IsOpen
	return answerOK(), nil
}

// issuableCard is liveCard for the calls that hand a card out: the card must have passed review
// (40078). Call with s.mu held.
func (s *Server) issuableCard(c *call, id string) (*emuCard, error) {
	card, err := s.liveCard(c, id)
	if err == nil && card.status() != cardStatusVerifyOK {
		return nil, apiErr(wxerr.CodeCardNotApproved, "card not approved")
	}
	return card, err
}

// cardQRCode: POST /card/qrcode/create. QR_CARD takes action_info.card, QR_MULTIPLE_CARD
// action_info.multiple_card.card_list; expire_seconds, when sent, is 60 to 1800.
func (s *Server) cardQRCode(c *call) (any, error) {
	type item struct {
		CardID       string `json:"card_id"`
		Code         string `json:"code"`
		OpenID       string `json:"openid"`
		IsUniqueCode bool   `json:"is_unique_code"`
		OuterStr     string `json:"outer_str"`
	}
	var req struct {
		ActionName    string `json:"action_name"`
		ExpireSeconds *int   `json:"expire_seconds"`
		ActionInfo    *struct {
			Card         *item `json:"card"`
			MultipleCard *struct {
				CardList []item `json:"card_list"`
			} `json:"multiple_card"`
		} `json:"action_info"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if req.ActionInfo == nil {
		return nil, missing("action_info")
	}
	qr := &cardQRCode{owner: c.authorizerAppID}
	var items []item
	switch req.ActionName {
	case "QR_CARD":
		if req.ActionInfo.Card == nil {
			return nil, missing("action_info.card")
		}
		items = []item{*req.ActionInfo.Card}
		qr.openID, qr.unique = items[0].OpenID, items[0].IsUniqueCode
	case "QR_MULTIPLE_CARD":
		if req.ActionInfo.MultipleCard == nil || len(req.ActionInfo.MultipleCard.CardList) == 0 {
			return nil, missing("action_info.multiple_card.card_list")
		}
		items = req.ActionInfo.MultipleCard.CardList
	case "":
		return nil, missing("action_name")
	default:
		return nil, invalidArg("action_name", "QR_CARD or QR_MULTIPLE_CARD")
	}
	if e := req.ExpireSeconds; e != nil {
		if *e < cardQRMinExpire || *e > cardQRMaxExpire {
			return nil, invalidArg("expire_seconds", "60 to 1800")
		}
		qr.expires = c.now.Add(time.Duration(*e) * time.Second)
	}
	for _, it := range items {
		if _, err := s.issuableCard(c, it.CardID); err != nil {
			return nil, err
		}
		qr.items = append(qr.items, cardQRItem{it.CardID, it.OuterStr})
	}
	ticket := "gQ" + randAlnum(94)
	s.cards().qrcodes[ticket] = qr
	expire := 0
	if req.ExpireSeconds != nil {
		expire = *req.ExpireSeconds
	}
	return struct {
		okBody
		Ticket        string `json:"ticket"`
		ExpireSeconds int    `json:"expire_seconds"`
		URL           string `json:"url"`
		ShowQRCodeURL string `json:"show_qrcode_url"`
	}{okBody{Errmsg: "ok"}, ticket, expire, "http://weixin.qq.com/q/" + randAlnum(22),
		"https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=" + url.QueryEscape(ticket)}, nil
}

// cardLandingPage: POST /card/landingpage/create.
func (s *Server) cardLandingPage(c *call) (any, error) {
	var req struct {
		Banner    string `json:"banner"`
		PageTitle string `json:"page_title"`
		CanShare  *bool  `json:"can_share"`
		Scene     string `json:"scene"`
		CardList  []struct {
			CardID   string `json:"card_id"`
			ThumbURL string `json:"thumb_url"`
		} `json:"card_list"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	switch {
	case req.Banner == "":
		return nil, missing("banner")
	case req.PageTitle == "":
		return nil, missing("page_title")
	case req.Scene == "":
		return nil, missing("scene")
	case len(req.CardList) == 0:
		return nil, missing("card_list")
	}
	if !cardScenes[req.Scene] {
		return nil, invalidArg("scene", "unknown")
	}
	if !isHTTPURL(req.Banner) {
		return nil, invalidArg("banner", "not a URL")
	}
	for i, it := range req.CardList {
		if !isHTTPURL(it.ThumbURL) {
			return nil, invalidArg("card_list."+strconv.Itoa(i)+".thumb_url", "not a URL")
		}
		if _, err := s.issuableCard(c, it.CardID); err != nil {
			return nil, err
		}
	}
	st := s.cards()
	st.pages++
	return struct {
		okBody
		URL    string `json:"url"`
		PageID int64  `json:"page_id"`
	}{okBody{Errmsg: "ok"}, "https://mp.weixin.qq.com/bizmall/cardlandingpage?biz=" + url.QueryEscape(c.authorizerAppID) +
		"&page_id=" + strconv.FormatInt(st.pages, 10) + "&scene=" + req.Scene + "#wechat_redirect", st.pages}, nil
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// ReviewCard plays WeChat's reviewers on the card cardID: pass makes it CARD_STATUS_VERIFY_OK and
// pushes card_pass_check; otherwise it becomes CARD_STATUS_VERIFY_FAIL (users cannot take it, QR
// codes and landing pages refuse it with 40078) and card_not_pass_check is pushed with reason. The
// emulator approves cards at creation, so a test calls ReviewCard for the push, or to reject.
func (s *Server) ReviewCard(ctx context.Context, cardID string, pass bool, reason string) error {
	now := s.Now()
	s.mu.Lock()
	card := s.cards().cards[cardID]
	if card == nil || card.status() == cardStatusDelete {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: ReviewCard: unknown or deleted card %q", cardID)
	}
	event, status := "card_pass_check", cardStatusVerifyOK
	if !pass {
		event, status = "card_not_pass_check", cardStatusVerifyFail
		if reason == "" {
			reason = "卡券信息不符合规范"
		}
	} else {
		reason = ""
	}
	card.setStatus(status)
	msg := s.cardEvent(card.owner, auditSystemOpenID, now, event,
		xmlField{"CardId", cardID, false}, xmlField{"RefuseReason", reason, false})
	s.mu.Unlock()
	return s.PushAuthorizerEvent(ctx, card.owner, msg)
}

// ScanQRCode plays the user openID scanning the card QR code ticket (card/qrcode/create) and taking
// its cards: each is taken as TakeCard does, with the QR code's outer_str, and user_get_card is pushed
// for each. An expired code, a code bound to another openid, or a unique code already scanned is an
// error, as WeChat would show one.
func (s *Server) ScanQRCode(ctx context.Context, ticket, openID string) ([]TakenCard, error) {
	now := s.Now()
	s.mu.Lock()
	qr := s.cards().qrcodes[ticket]
	var err error
	switch {
	case qr == nil:
		err = errors.New("unknown ticket")
	case !qr.expires.IsZero() && !now.Before(qr.expires):
		err = errors.New("the QR code expired")
	case qr.openID != "" && qr.openID != openID:
		err = fmt.Errorf("the QR code is for %s only", qr.openID)
	case qr.unique && qr.used:
		err = errors.New("the unique QR code was already scanned")
	}
	var taken []TakenCard
	var pushes []cardPush
	for i := 0; err == nil && i < len(qr.items); i++ {
		cc, enc, terr := s.takeCard(now, qr.items[i].cardID, openID, qr.items[i].outerStr)
		if terr != nil {
			err = terr
			break
		}
		taken = append(taken, TakenCard{Code: cc.code, EncryptCode: enc})
		pushes = append(pushes, s.getCardEvent(cc, now))
	}
	if err == nil {
		qr.used = true
	}
	s.mu.Unlock()
	var perr error
	for _, p := range pushes {
		perr = errors.Join(perr, s.PushAuthorizerEvent(ctx, p.owner, p.msg))
	}
	if err != nil {
		return taken, errors.Join(fmt.Errorf("wxtest: ScanQRCode: %w", err), perr)
	}
	return taken, perr
}
