package wxtest

// Card codes: a user taking a card (AddCard, TakeCard), cardExt verification, code decryption, code
// reading and consumption (API digest sections 7.4 and 19.1).

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/wxopen-go/wxopen/wxerr"
)

// AddCard is what a user's wx.addCard does: the user openID receives the card cardID. The emulator
// generates the code (12 digits) and returns the encrypt_code wx.addCard hands the mini program,
// which card/code/decrypt resolves. It fails for an unknown, deleted or rejected card, a card with
// custom codes (the code would come from the cardExt), a card out of stock, or a user at the card's
// get_limit. AddCard pushes nothing; TakeCard does the same and pushes user_get_card.
func (s *Server) AddCard(cardID, openID string) (encryptCode string, err error) {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	_, enc, err := s.takeCard(now, cardID, openID, "")
	if err != nil {
		return "", fmt.Errorf("wxtest: AddCard: %w", err)
	}
	return enc, nil
}

// TakenCard is a card a user took with TakeCard.
type TakenCard struct {
	// Code is the card code (what code/get and code/consume take).
	Code string
	// EncryptCode is what wx.addCard hands the mini program (card/code/decrypt resolves it).
	EncryptCode string
}

// TakeCard plays a user taking the card cardID (wx.addCard, a card QR code, a landing page) with
// the channel tag outerStr, as AddCard does, and pushes user_get_card (CardId, UserCardCode,
// OuterStr, IsGiveByFriend 0...) to the owner's message URL. The card is returned even when the
// push fails.
func (s *Server) TakeCard(ctx context.Context, cardID, openID, outerStr string) (TakenCard, error) {
	now := s.Now()
	s.mu.Lock()
	cc, enc, err := s.takeCard(now, cardID, openID, outerStr)
	if err != nil {
		s.mu.Unlock()
		return TakenCard{}, fmt.Errorf("wxtest: TakeCard: %w", err)
	}
	p := s.getCardEvent(cc, now)
	s.mu.Unlock()
	return TakenCard{Code: cc.code, EncryptCode: enc}, s.PushAuthorizerEvent(ctx, p.owner, p.msg)
}

// getCardEvent renders user_get_card for a code just taken. Call with s.mu held.
func (s *Server) getCardEvent(cc *cardCode, now time.Time) cardPush {
	owner := s.cards().cards[cc.cardID].owner
	return cardPush{owner, s.cardEvent(owner, cc.openID, now, "user_get_card",
		xmlField{"CardId", cc.cardID, false},
		xmlField{"IsGiveByFriend", "0", true},
		xmlField{"UserCardCode", cc.code, false},
		xmlField{"FriendUserName", "", false},
		xmlField{"OuterId", "0", true},
		xmlField{"OldUserCardCode", "", false},
		xmlField{"OuterStr", cc.outerStr, false},
		xmlField{"IsRestoreMemberCard", "0", true},
		xmlField{"IsRecommendByFriend", "0", true},
		xmlField{"UnionId", s.unionIDOf(owner, cc.openID), false})}
}

// takeCard gives the user openID a new code of cardID. Call with s.mu held.
func (s *Server) takeCard(now time.Time, cardID, openID, outerStr string) (*cardCode, string, error) {
	if openID == "" {
		return nil, "", errors.New("openID is empty")
	}
	st := s.cards()
	card := st.cards[cardID]
	if card == nil {
		return nil, "", fmt.Errorf("unknown card %q", cardID)
	}
	if status := card.status(); status != cardStatusVerifyOK {
		return nil, "", fmt.Errorf("the card is %s: users can take only approved cards", status)
	}
	base := card.baseInfo()
	if b, _ := base["use_custom_code"].(bool); b {
		return nil, "", errors.New("the card uses custom codes, which the emulator does not issue")
	}
	sku, _ := base["sku"].(map[string]any)
	qty, _ := sku["quantity"].(float64)
	if qty < 1 {
		return nil, "", errors.New("the card is out of stock (sku.quantity is 0)")
	}
	holder := cardHolder{cardID, openID}
	if limit, _ := base["get_limit"].(float64); limit > 0 && float64(st.held[holder]) >= limit {
		return nil, "", fmt.Errorf("%s already holds get_limit=%v of this card", openID, limit)
	}
	st.held[holder]++
	sku["quantity"] = qty - 1
	code := randDigits(12)
	for st.codes[code] != nil {
		code = randDigits(12)
	}
	cc := &cardCode{code: code, cardID: cardID, openID: openID, status: codeNormal, takenAt: now, outerStr: outerStr}
	st.codes[code] = cc
	// 32 random bytes: 44 base64 characters with '=' padding, often '+' and '/'.
	enc := base64.StdEncoding.EncodeToString(randBytes(32))
	st.encrypted[enc] = code
	return cc, enc, nil
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

// codeRequest names a code in the body of code/get and code/consume.
type codeRequest struct {
	Code   string `json:"code"`
	CardID string `json:"card_id"`
}

// requestedCode binds the request body to body, which embeds (or is) names, and returns the code
// names names: the card_id, when given, must be one of the calling account's cards, and the code one
// of its codes (of that card). Call with s.mu held.
func (s *Server) requestedCode(c *call, body any, names *codeRequest) (*cardCode, error) {
	if err := c.bind(body); err != nil {
		return nil, err
	}
	if names.CardID != "" {
		if _, err := s.ownCard(c, names.CardID); err != nil {
			return nil, err
		}
	}
	return s.ownCode(c, names.Code, names.CardID)
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

// States of a code in a user's card bag (user_card_status). codeExpired and codeUnavailable are
// computed when the code is read: from date_info, ExpireCode, or a deleted card.
const (
	codeNormal      = "NORMAL"
	codeConsumed    = "CONSUMED"
	codeExpired     = "EXPIRE"
	codeDeleted     = "DELETE"
	codeUnavailable = "UNAVAILABLE"
)

// unionIDOf is the UnionID SetUnionID gave the user openID of appID ("" when none). Call with s.mu
// held.
func (s *Server) unionIDOf(appID, openID string) string { return s.unionIDs[userKey{appID, openID}] }

// validity is the span in which the code can be consumed (unix seconds; end 0: no end), from the
// card's date_info: the fixed range, or FixedBeginTerm days after the user took the card for
// FixedTerm days, or from the day it was taken for a permanent card.
func (cc *cardCode) validity(card *emuCard) (begin, end int64) {
	d, _ := card.baseInfo()["date_info"].(map[string]any)
	num := func(k string) int64 { f, _ := d[k].(float64); return int64(f) }
	const day = 24 * 60 * 60
	switch d["type"] {
	case "DATE_TYPE_FIX_TIME_RANGE":
		return num("begin_timestamp"), num("end_timestamp")
	case "DATE_TYPE_FIX_TERM":
		begin = cc.takenAt.Unix() + num("fixed_begin_term")*day
		return begin, begin + num("fixed_term")*day
	}
	return cc.takenAt.Unix(), 0
}

// state is the code's user_card_status at now and whether it can be consumed. Call with s.mu held.
func (st *cardState) state(cc *cardCode, now time.Time) (status string, canConsume bool) {
	card := st.cards[cc.cardID]
	switch {
	case cc.status != codeNormal:
		return cc.status, false
	case card.status() == cardStatusDelete:
		return codeUnavailable, false
	}
	begin, end := cc.validity(card)
	if cc.expired || (end > 0 && now.Unix() >= end) {
		return codeExpired, false
	}
	return codeNormal, now.Unix() >= begin
}

// consumeRefusal is WeChat's errcode for consuming a code in status (40099 consumed, 40127 expired,
// deleted or unavailable, 40079 not valid yet).
func consumeRefusal(status string) error {
	switch status {
	case codeConsumed:
		return apiErr(wxerr.CodeCodeConsumed, "invalid code, this code has consumed.")
	case codeNormal:
		return apiErr(wxerr.CodeInvalidCardTime, "invalid time: the code is not valid yet")
	}
	return apiErr(wxerr.CodeUserCardStatus, "invalid user-card status: "+status)
}

// cardCodeGet: POST /card/code/get. With check_consume true a code that cannot be consumed is
// refused with consumeRefusal's errcode; otherwise its state is answered.
func (s *Server) cardCodeGet(c *call) (any, error) {
	var req struct {
		codeRequest
		CheckConsume bool `json:"check_consume"`
	}
	cc, err := s.requestedCode(c, &req, &req.codeRequest)
	if err != nil {
		return nil, err
	}
	st := s.cards()
	status, can := st.state(cc, c.now)
	if req.CheckConsume && !can {
		return nil, consumeRefusal(status)
	}
	begin, end := cc.validity(st.cards[cc.cardID])
	type cardBody struct {
		CardID    string `json:"card_id"`
		BeginTime int64  `json:"begin_time"`
		EndTime   int64  `json:"end_time"`
	}
	return struct {
		okBody
		OpenID         string   `json:"openid"`
		Card           cardBody `json:"card"`
		CanConsume     bool     `json:"can_consume"`
		UserCardStatus string   `json:"user_card_status"`
		OuterStr       string   `json:"outer_str,omitempty"`
		UnionID        string   `json:"unionid,omitempty"`
	}{okBody{Errmsg: "ok"}, cc.openID, cardBody{cc.cardID, begin, end}, can, status, cc.outerStr,
		s.unionIDOf(c.authorizerAppID, cc.openID)}, nil
}

// cardCodeConsume: POST /card/code/consume. A code is consumed once: a second consume is refused
// with 40099. The consume is pushed (user_consume_card, ConsumeSource FROM_API) to the owner's
// message URL when one is configured, before the answer is written.
func (s *Server) cardCodeConsume(c *call) (any, error) {
	var req codeRequest
	cc, err := s.requestedCode(c, &req, &req)
	if err != nil {
		return nil, err
	}
	if status, can := s.cards().state(cc, c.now); !can {
		return nil, consumeRefusal(status)
	}
	cc.status = codeConsumed
	s.pushCardEventLater(c, s.consumeEvent(cc, c.now, "FROM_API"))
	type cardBody struct {
		CardID string `json:"card_id"`
	}
	return struct {
		okBody
		Card   cardBody `json:"card"`
		OpenID string   `json:"openid"`
	}{okBody{Errmsg: "ok"}, cardBody{cc.cardID}, cc.openID}, nil
}

// consumeEvent renders user_consume_card for cc. Call with s.mu held.
func (s *Server) consumeEvent(cc *cardCode, now time.Time, source string) cardPush {
	owner := s.cards().cards[cc.cardID].owner
	return cardPush{owner, s.cardEvent(owner, cc.openID, now, "user_consume_card",
		xmlField{"CardId", cc.cardID, false},
		xmlField{"UserCardCode", cc.code, false},
		xmlField{"ConsumeSource", source, false},
		xmlField{"LocationName", "", false},
		xmlField{"StaffOpenId", "", false},
		xmlField{"VerifyCode", "", false},
		xmlField{"RemarkAmount", "", false},
		xmlField{"OuterStr", cc.outerStr, false})}
}

// userCode returns the code a test names, for the public methods. Call with s.mu held.
func (s *Server) userCode(code string) (*cardCode, error) {
	cc := s.cards().codes[code]
	if cc == nil {
		return nil, fmt.Errorf("unknown code %q", code)
	}
	return cc, nil
}

// ConsumeCard plays a consumption outside the API — staff using the official account's back office
// (source "FROM_MP") or the mobile helper ("FROM_MOBILE_HELPER", the default for "") — and pushes
// user_consume_card. A code that cannot be consumed is an error, as WeChat would refuse it.
func (s *Server) ConsumeCard(ctx context.Context, code, source string) error {
	if source == "" {
		source = "FROM_MOBILE_HELPER"
	}
	now := s.Now()
	s.mu.Lock()
	cc, err := s.userCode(code)
	if err == nil {
		if status, can := s.cards().state(cc, now); !can {
			err = fmt.Errorf("the code is %s (%v)", status, consumeRefusal(status))
		}
	}
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: ConsumeCard: %w", err)
	}
	cc.status = codeConsumed
	p := s.consumeEvent(cc, now, source)
	s.mu.Unlock()
	return s.PushAuthorizerEvent(ctx, p.owner, p.msg)
}

// DeleteCard plays the user deleting the card from their card bag: the code becomes DELETE (no
// longer consumable) and user_del_card is pushed.
func (s *Server) DeleteCard(ctx context.Context, code string) error {
	return s.userAction(ctx, "DeleteCard", code, "user_del_card", func(cc *cardCode) error {
		if cc.status == codeDeleted {
			return errors.New("the card was already deleted")
		}
		cc.status = codeDeleted
		s.cards().release(cc)
		return nil
	})
}

// ViewCard plays the user opening the card in their card bag. WeChat pushes user_view_card only for
// cards created with need_push_on_view; for other cards ViewCard pushes nothing.
func (s *Server) ViewCard(ctx context.Context, code string) error {
	return s.userAction(ctx, "ViewCard", code, "user_view_card", nil)
}

// EnterSessionFromCard plays the user opening the official account's chat from the card, and pushes
// user_enter_session_from_card.
func (s *Server) EnterSessionFromCard(ctx context.Context, code string) error {
	return s.userAction(ctx, "EnterSessionFromCard", code, "user_enter_session_from_card", nil)
}

// ExpireCode makes the code expired (EXPIRE) whatever its card's date_info says: code/get reports it
// and consume refuses it with 40127. It pushes nothing.
func (s *Server) ExpireCode(code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cc, err := s.userCode(code)
	if err != nil {
		return fmt.Errorf("wxtest: ExpireCode: %w", err)
	}
	cc.expired = true
	return nil
}

// userAction applies change (may be nil) to the code and pushes event with CardId and UserCardCode
// (and OuterStr for user_view_card).
func (s *Server) userAction(ctx context.Context, name, code, event string, change func(cc *cardCode) error) error {
	now := s.Now()
	s.mu.Lock()
	cc, err := s.userCode(code)
	if err == nil && change != nil {
		err = change(cc)
	}
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: %s: %w", name, err)
	}
	card := s.cards().cards[cc.cardID]
	fields := []xmlField{{"CardId", cc.cardID, false}, {"UserCardCode", cc.code, false}}
	if event == "user_view_card" {
		if push, _ := card.baseInfo()["need_push_on_view"].(bool); !push {
			s.mu.Unlock()
			return nil
		}
		fields = append(fields, xmlField{"OuterStr", cc.outerStr, false})
	}
	msg := s.cardEvent(card.owner, cc.openID, now, event, fields...)
	s.mu.Unlock()
	return s.PushAuthorizerEvent(ctx, card.owner, msg)
}

// release forgets that cc's holder holds it (get_limit counts the codes a user holds). Call with
// s.mu held.
func (st *cardState) release(cc *cardCode) {
	k := cardHolder{cc.cardID, cc.openID}
	if st.held[k]--; st.held[k] <= 0 {
		delete(st.held, k)
	}
}
