package miniprogram

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"

	"github.com/wxopen-go/wxopen/wxerr"
)

// PhoneNumber returns the user's phone number for the code of the mini program's getPhoneNumber
// button (the current route; DecryptPhoneNumber is the older one). A code works once and for about
// five minutes: 40029 means invalid, used or expired. The watermark must name this mini program.
//
// WeChat: POST /wxa/business/getuserphonenumber
func (c *Client) PhoneNumber(ctx context.Context, code string) (*PhoneNumber, error) {
	if code == "" {
		return nil, wxerr.Invalid("code", "required")
	}
	var out struct {
		PhoneInfo *PhoneNumber `json:"phone_info"`
	}
	// Not idempotent: the code is single-use, so a resent request would fail with 40029.
	if err := c.call(ctx, post("/wxa/business/getuserphonenumber", map[string]string{"code": code}, false), &out); err != nil {
		return nil, err
	}
	const op = "wxopen: POST /wxa/business/getuserphonenumber"
	if out.PhoneInfo == nil || out.PhoneInfo.PhoneNumber == "" {
		return nil, errors.New(op + ": answer has no phone_info")
	}
	if out.PhoneInfo.Watermark.AppID != c.AppID() {
		return nil, fmt.Errorf("%s: watermark appid %q is not %s", op, out.PhoneInfo.Watermark.AppID, c.AppID())
	}
	return out.PhoneInfo, nil
}

// SessionSignature is the signature checksession requires: the hex HMAC-SHA256 of the empty message
// keyed with the session_key string's bytes as received (not base64-decoded). The digest (18.2) marks
// this as taken from two SDKs, not re-read in WeChat's documentation; should WeChat disagree, change
// it here only.
func SessionSignature(sessionKey string) string {
	m := hmac.New(sha256.New, []byte(sessionKey))
	return hex.EncodeToString(m.Sum(nil))
}

// CheckSessionRequest names the session CheckSession asks about: the user and the session key
// component jscode2session gave for them. Both are required.
type CheckSessionRequest struct {
	OpenID     string
	SessionKey string
}

// CheckSession asks WeChat whether r.SessionKey is still the current session key of the user
// r.OpenID (from component jscode2session). A nil error means it is; 87009 (wxerr.CodeOf) means it
// is stale and the mini program must call wx.login again. The key itself is never sent, only its
// signature.
//
// WeChat: GET /wxa/checksession
func (c *Client) CheckSession(ctx context.Context, r CheckSessionRequest) error {
	if r.OpenID == "" {
		return wxerr.Invalid("openid", "required")
	}
	if r.SessionKey == "" {
		return wxerr.Invalid("session_key", "required")
	}
	req := get("/wxa/checksession")
	req.Query = url.Values{"openid": {r.OpenID}, "signature": {SessionSignature(r.SessionKey)}, "sig_method": {"hmac_sha256"}}
	return c.call(ctx, req, nil)
}

// PaidOrder names a payment for PaidUnionID: by WeChat Pay's TransactionID, or by MchID and
// OutTradeNo together. The zero PaidOrder asks for the user's latest payment.
type PaidOrder struct {
	TransactionID string
	MchID         string
	OutTradeNo    string
}

// PaidUnionID returns the unionid of the user openID who paid in the last five minutes, without the
// user's consent. The mini program must be bound to an open-platform account (89002 otherwise).
//
// WeChat: GET /wxa/getpaidunionid
func (c *Client) PaidUnionID(ctx context.Context, openID string, order PaidOrder) (string, error) {
	if openID == "" {
		return "", wxerr.Invalid("openid", "required")
	}
	q := url.Values{"openid": {openID}}
	switch {
	case order.TransactionID != "" && (order.MchID != "" || order.OutTradeNo != ""):
		return "", wxerr.Invalid("transaction_id", "either transaction_id or mch_id with out_trade_no, not both")
	case order.TransactionID != "":
		q.Set("transaction_id", order.TransactionID)
	case order.MchID != "" && order.OutTradeNo != "":
		q.Set("mch_id", order.MchID)
		q.Set("out_trade_no", order.OutTradeNo)
	case order.MchID != "" || order.OutTradeNo != "":
		return "", wxerr.Invalid("out_trade_no", "mch_id and out_trade_no go together")
	}
	req := get("/wxa/getpaidunionid")
	req.Query = q
	var out struct {
		UnionID string `json:"unionid"`
	}
	if err := c.call(ctx, req, &out); err != nil {
		return "", err
	}
	if out.UnionID == "" {
		return "", errors.New("wxopen: GET /wxa/getpaidunionid: answer has no unionid")
	}
	return out.UnionID, nil
}
