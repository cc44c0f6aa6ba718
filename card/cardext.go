package card

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/wxerr"
)

// CardExtRequest is what one card of a wx.addCard call needs signed.
type CardExtRequest struct {
	// CardID is the card to add. Required.
	CardID string
	// Code is the card code, only for cards created with UseCustomCode (signed).
	Code string
	// OpenID restricts the card to one user, only for cards created with BindOpenID (signed).
	OpenID string
	// FixedBeginTimestamp is the real start of a DATE_TYPE_FIX_TERM card (fixed_begintimestamp, unix
	// seconds on the wire); the zero time leaves it out. Not signed.
	FixedBeginTimestamp time.Time
	// OuterStr is a channel tag WeChat returns in the card-received event; "" leaves it out. Not signed.
	OuterStr string
}

// CardExt is one entry of wx.addCard's cardList: it marshals to {"cardId": ..., "cardExt": ...},
// with Ext the JSON string WeChat expects (not an object).
type CardExt struct {
	CardID string `json:"cardId"`
	Ext    string `json:"cardExt"`
}

// CardExt signs req with the account's card api_ticket (cached; the ticket of the official account
// that owns the card, also when wx.addCard is called from a mini program), a fresh timestamp and a
// random nonce_str, and returns the cardList entry for wx.addCard.
func (c *Client) CardExt(ctx context.Context, req CardExtRequest) (CardExt, error) {
	if err := req.validate(); err != nil {
		return CardExt{}, err
	}
	ticket, err := c.APITicket(ctx)
	if err != nil {
		return CardExt{}, err
	}
	nonce, err := newNonce()
	if err != nil {
		return CardExt{}, err
	}
	return SignCardExt(ticket, req, c.tickets.Now().Unix(), nonce) // the tickets' clock, as their expiry
}

// newNonce returns 32 random lowercase hex characters (the most nonce_str may hold).
func newNonce() (string, error) {
	var b [maxNonceLen / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("card: nonce_str: %w", err)
	}
	var h [maxNonceLen]byte
	hex.Encode(h[:], b[:])
	return string(h[:]), nil
}

func (r *CardExtRequest) validate() error {
	if r.CardID == "" {
		return wxerr.Invalid("card_id", "required")
	}
	for _, f := range [...]struct{ name, v string }{{"card_id", r.CardID}, {"code", r.Code}, {"openid", r.OpenID}, {"outer_str", r.OuterStr}} {
		if !utf8.ValidString(f.v) {
			return wxerr.Invalid(f.name, "valid UTF-8")
		}
	}
	if t := r.FixedBeginTimestamp; !t.IsZero() && t.Unix() <= 0 {
		return wxerr.Invalid("fixed_begintimestamp", "after 1970, or the zero time to leave it out")
	}
	return nil
}

// SignCardExt builds the cardExt of req signed with ticket, for the given timestamp (unix seconds) and
// nonceStr (1 to 32 ASCII letters and digits, different for every request). It is CardExt without the
// clock, the random source and the ticket cache, for tests and for callers that keep the ticket
// themselves.
//
// The signature is crypto.SortedSHA1 over the values present among api_ticket, timestamp, card_id,
// code, openid and nonce_str; a Code or OpenID that is "" is left out of both the signature and the
// JSON. fixed_begintimestamp and outer_str go into the JSON unsigned.
func SignCardExt(ticket string, req CardExtRequest, timestamp int64, nonceStr string) (CardExt, error) {
	if ticket == "" {
		return CardExt{}, wxerr.Invalid("api_ticket", "required")
	}
	if err := req.validate(); err != nil {
		return CardExt{}, err
	}
	if timestamp <= 0 {
		return CardExt{}, wxerr.Invalid("timestamp", "a unix time in seconds")
	}
	if nonceStr == "" || len(nonceStr) > maxNonceLen || !alnum(nonceStr) {
		return CardExt{}, wxerr.Invalid("nonce_str", "1 to 32 ASCII letters and digits")
	}
	var tsBuf [20]byte
	ts := strconv.AppendInt(tsBuf[:0], timestamp, 10)

	var signed [6]string
	n := 0
	signed[n], n = ticket, n+1
	signed[n], n = string(ts), n+1
	signed[n], n = req.CardID, n+1
	signed[n], n = nonceStr, n+1
	if req.Code != "" {
		signed[n], n = req.Code, n+1
	}
	if req.OpenID != "" {
		signed[n], n = req.OpenID, n+1
	}
	sig := crypto.SortedSHA1(signed[:n]...)

	var b strings.Builder
	b.Grow(96 + len(req.Code) + len(req.OpenID) + len(req.OuterStr) + len(nonceStr) + len(sig))
	b.WriteByte('{')
	if req.Code != "" {
		b.WriteString(`"code":`)
		writeJSONString(&b, req.Code)
		b.WriteByte(',')
	}
	if req.OpenID != "" {
		b.WriteString(`"openid":`)
		writeJSONString(&b, req.OpenID)
		b.WriteByte(',')
	}
	b.WriteString(`"timestamp":"`)
	b.Write(ts)
	b.WriteString(`","nonce_str":"`)
	b.WriteString(nonceStr)
	b.WriteString(`",`)
	if fixed := unixSeconds(req.FixedBeginTimestamp); fixed > 0 {
		b.WriteString(`"fixed_begintimestamp":`)
		b.Write(strconv.AppendInt(tsBuf[:0], fixed, 10))
		b.WriteByte(',')
	}
	if req.OuterStr != "" {
		b.WriteString(`"outer_str":`)
		writeJSONString(&b, req.OuterStr)
		b.WriteByte(',')
	}
	b.WriteString(`"signature":"`)
	b.WriteString(sig)
	b.WriteString(`"}`)
	return CardExt{CardID: req.CardID, Ext: b.String()}, nil
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// writeJSONString writes s (valid UTF-8) as a JSON string: quotes, backslashes and control
// characters escaped, U+2028 and U+2029 escaped for JavaScript, everything else as raw UTF-8.
func writeJSONString(b *strings.Builder, s string) {
	const hexDigits = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			b.WriteString(s[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(hexDigits[r&0xf])
			start = i + size
		}
		i += size
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}
