package wxtest

// Card codes: a user taking a card (AddCard, TakeCard), cardExt verification, code decryption, code
// reading and consumption (API digest sections 7.4 and 19.1).

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/wxopen-go/wxopen/wxerr"
)

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
