package pay

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/partnerpayments"
	partnerjsapi "github.com/wechatpay-apiv3/wechatpay-go/services/partnerpayments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// chinaTime returns the zone WeChat Pay writes its times in (+08:00).
func chinaTime() *time.Location { return time.FixedZone("CST", 8*3600) }

// PrepayRequest is a JSAPI order for a mini program user.
type PrepayRequest struct {
	// OpenID is the payer's openid in the merchant's mini program (payer.openid in direct mode,
	// payer.sub_openid in partner mode). Required.
	OpenID string
	// AmountFen is the total in fen (1 = 0.01 CNY); positive. Required.
	AmountFen int64
	// Description is shown to the payer (1 to 127 characters). Required.
	Description string
	// OutTradeNo is the merchant's order number, unique per merchant: 6 to 32 characters of
	// A-Z a-z 0-9 _ - | *. Required.
	OutTradeNo string
	// NotifyURL receives the payment notification: absolute https (or http), no query parameters.
	// Put the authorizer appid in its path (see NotifyURL) so that NotifyHandler finds the merchant.
	// Required.
	NotifyURL string
	// Attach is returned unchanged in queries and notifications (at most 128 characters). Optional.
	Attach string
	// TimeExpire is when the order stops accepting payment. Optional; zero means WeChat Pay's default.
	TimeExpire time.Time
}

// RequestPayment holds the parameters of wx.requestPayment in the mini program. Its JSON encoding is
// exactly the object wx.requestPayment takes (timeStamp, nonceStr, package, signType, paySign).
type RequestPayment struct {
	// AppID is the mini program appid the signature covers (appid, or sub_appid in partner mode).
	AppID string `json:"-"`
	// PrepayID is WeChat Pay's prepay_id for the order (valid for two hours).
	PrepayID string `json:"-"`
	// TimeStamp is the signing time in Unix seconds, as a decimal string.
	TimeStamp string `json:"timeStamp"`
	// NonceStr is a random 32-character string.
	NonceStr string `json:"nonceStr"`
	// Package is "prepay_id=" followed by PrepayID.
	Package string `json:"package"`
	// SignType is "RSA".
	SignType string `json:"signType"`
	// PaySign is the base64 SHA256-with-RSA signature of "AppID\nTimeStamp\nNonceStr\nPackage\n" by
	// the private key of the account that placed the order (the merchant's, or the service provider's).
	PaySign string `json:"paySign"`
}

// TradeState is the state of a WeChat Pay order.
type TradeState string

// Trade states.
const (
	TradeSuccess    TradeState = "SUCCESS"    // paid
	TradeRefund     TradeState = "REFUND"     // paid, then (partly) refunded
	TradeNotPay     TradeState = "NOTPAY"     // not paid yet
	TradeClosed     TradeState = "CLOSED"     // closed
	TradeRevoked    TradeState = "REVOKED"    // revoked (payment-code orders)
	TradeUserPaying TradeState = "USERPAYING" // the payer is entering the password
	TradePayError   TradeState = "PAYERROR"   // payment failed
)

// Transaction is a WeChat Pay order, the same in both modes.
type Transaction struct {
	// AppID is the mini program: appid in direct mode, sub_appid in partner mode.
	AppID string
	// MchID is the merchant number that received the payment: mchid in direct mode, sub_mchid in
	// partner mode.
	MchID string
	// SpAppID and SpMchID are the service provider's, in partner mode only.
	SpAppID, SpMchID string
	// OutTradeNo is the merchant's order number.
	OutTradeNo string
	// TransactionID is WeChat Pay's order number (empty until paid).
	TransactionID string
	// TradeState is the order's state; TradeStateDesc WeChat Pay's words for it.
	TradeState     TradeState
	TradeStateDesc string
	// TradeType is "JSAPI" for mini program payments.
	TradeType string
	// BankType names the paying bank or balance ("OTHERS" …).
	BankType string
	// Attach is the merchant's attach, unchanged.
	Attach string
	// SuccessTime is when the payment succeeded (zero when not paid).
	SuccessTime time.Time
	// OpenID is the payer (payer.openid, or payer.sub_openid in partner mode).
	OpenID string
	// TotalFen is the order's total; PayerTotalFen what the payer paid (after coupons), in fen.
	TotalFen, PayerTotalFen int64
	// Currency is the order's currency ("CNY").
	Currency string
}

// Paid reports whether the order was paid (SUCCESS, or REFUND after a refund).
func (t *Transaction) Paid() bool { return t.TradeState == TradeSuccess || t.TradeState == TradeRefund }

// JSAPIPrepay places a JSAPI order for the mini program appID and returns the signed parameters of
// wx.requestPayment. In direct mode it orders as the merchant (appid, mchid, payer.openid); in partner
// mode as the platform's service provider for the sub-merchant (sp_appid, sp_mchid, sub_appid = appID,
// sub_mchid, payer.sub_openid), and the service provider's key signs paySign.
//
// WeChat: POST /v3/pay/transactions/jsapi (direct) | POST /v3/pay/partner/transactions/jsapi (partner)
func (c *Client) JSAPIPrepay(ctx context.Context, appID string, req PrepayRequest) (*RequestPayment, error) {
	if err := req.validate(time.Now()); err != nil {
		return nil, err
	}
	t, err := c.resolve(ctx, appID)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var expire *time.Time
	if !req.TimeExpire.IsZero() {
		expire = core.Time(req.TimeExpire.Truncate(time.Second).In(chinaTime()))
	}
	var attach *string
	if req.Attach != "" {
		attach = core.String(req.Attach)
	}
	var (
		op       string
		prepayID *string
	)
	if t.partner {
		op = "POST /v3/pay/partner/transactions/jsapi"
		svc := partnerjsapi.JsapiApiService{Client: t.sdk}
		var resp *partnerjsapi.PrepayResponse
		resp, _, err = svc.Prepay(ctx, partnerjsapi.PrepayRequest{
			SpAppid:     core.String(c.sp.AppID),
			SpMchid:     core.String(c.sp.Account.MchID),
			SubAppid:    core.String(appID),
			SubMchid:    core.String(t.m.SubMchID),
			Description: core.String(req.Description),
			OutTradeNo:  core.String(req.OutTradeNo),
			TimeExpire:  expire,
			Attach:      attach,
			NotifyUrl:   core.String(req.NotifyURL),
			Amount:      &partnerjsapi.Amount{Total: core.Int64(req.AmountFen), Currency: core.String("CNY")},
			Payer:       &partnerjsapi.Payer{SubOpenid: core.String(req.OpenID)},
		})
		if resp != nil {
			prepayID = resp.PrepayId
		}
	} else {
		op = "POST /v3/pay/transactions/jsapi"
		svc := jsapi.JsapiApiService{Client: t.sdk}
		var resp *jsapi.PrepayResponse
		resp, _, err = svc.Prepay(ctx, jsapi.PrepayRequest{
			Appid:       core.String(appID),
			Mchid:       core.String(t.acct.MchID),
			Description: core.String(req.Description),
			OutTradeNo:  core.String(req.OutTradeNo),
			TimeExpire:  expire,
			Attach:      attach,
			NotifyUrl:   core.String(req.NotifyURL),
			Amount:      &jsapi.Amount{Total: core.Int64(req.AmountFen), Currency: core.String("CNY")},
			Payer:       &jsapi.Payer{Openid: core.String(req.OpenID)},
		})
		if resp != nil {
			prepayID = resp.PrepayId
		}
	}
	if err == nil && (prepayID == nil || *prepayID == "") {
		err = fmt.Errorf("%w: no prepay_id", ErrMalformedResponse)
	}
	if err != nil {
		err = fail(op, err)
		c.logCall(ctx, op, t, start, err)
		return nil, err
	}
	rp, err := requestPayment(ctx, t.sdk, appID, *prepayID)
	if err != nil {
		err = fmt.Errorf("wechatpay: %s: sign wx.requestPayment: %w", op, err)
	}
	c.logCall(ctx, op, t, start, err)
	return rp, err
}

// requestPayment signs the wx.requestPayment parameters with the client's signer, as wechatpay-go's
// PrepayWithRequestPayment does (that helper dereferences a missing prepay_id, so it is not used).
func requestPayment(ctx context.Context, sdk *core.Client, appID, prepayID string) (*RequestPayment, error) {
	nonce, err := utils.GenerateNonce()
	if err != nil {
		return nil, err
	}
	rp := &RequestPayment{
		AppID:     appID,
		PrepayID:  prepayID,
		TimeStamp: strconv.FormatInt(time.Now().Unix(), 10),
		NonceStr:  nonce,
		Package:   "prepay_id=" + prepayID,
		SignType:  "RSA",
	}
	sig, err := sdk.Sign(ctx, rp.AppID+"\n"+rp.TimeStamp+"\n"+rp.NonceStr+"\n"+rp.Package+"\n")
	if err != nil {
		return nil, err
	}
	rp.PaySign = sig.Signature
	return rp, nil
}

// QueryByOutTradeNo returns the order outTradeNo of the merchant appID.
//
// WeChat: GET /v3/pay/transactions/out-trade-no/{out_trade_no} (direct) | GET /v3/pay/partner/transactions/out-trade-no/{out_trade_no} (partner)
func (c *Client) QueryByOutTradeNo(ctx context.Context, appID, outTradeNo string) (*Transaction, error) {
	if err := ValidateOutTradeNo(outTradeNo); err != nil {
		return nil, err
	}
	return c.query(ctx, appID, outTradeNo, "")
}

// QueryByTransactionID returns the order WeChat Pay numbered transactionID, of the merchant appID.
//
// WeChat: GET /v3/pay/transactions/id/{transaction_id} (direct) | GET /v3/pay/partner/transactions/id/{transaction_id} (partner)
func (c *Client) QueryByTransactionID(ctx context.Context, appID, transactionID string) (*Transaction, error) {
	if err := validateTransactionID(transactionID); err != nil {
		return nil, err
	}
	return c.query(ctx, appID, "", transactionID)
}

func (c *Client) query(ctx context.Context, appID, outTradeNo, transactionID string) (*Transaction, error) {
	t, err := c.resolve(ctx, appID)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var (
		op string
		tx *Transaction
	)
	if t.partner {
		svc := partnerjsapi.JsapiApiService{Client: t.sdk}
		var resp *partnerpayments.Transaction
		if outTradeNo != "" {
			op = "GET /v3/pay/partner/transactions/out-trade-no/{out_trade_no}"
			resp, _, err = svc.QueryOrderByOutTradeNo(ctx, partnerjsapi.QueryOrderByOutTradeNoRequest{
				OutTradeNo: core.String(outTradeNo), SpMchid: core.String(c.sp.Account.MchID), SubMchid: core.String(t.m.SubMchID)})
		} else {
			op = "GET /v3/pay/partner/transactions/id/{transaction_id}"
			resp, _, err = svc.QueryOrderById(ctx, partnerjsapi.QueryOrderByIdRequest{
				TransactionId: core.String(transactionID), SpMchid: core.String(c.sp.Account.MchID), SubMchid: core.String(t.m.SubMchID)})
		}
		if err == nil {
			tx, err = fromPartnerTransaction(resp)
		}
	} else {
		svc := jsapi.JsapiApiService{Client: t.sdk}
		var resp *payments.Transaction
		if outTradeNo != "" {
			op = "GET /v3/pay/transactions/out-trade-no/{out_trade_no}"
			resp, _, err = svc.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{
				OutTradeNo: core.String(outTradeNo), Mchid: core.String(t.acct.MchID)})
		} else {
			op = "GET /v3/pay/transactions/id/{transaction_id}"
			resp, _, err = svc.QueryOrderById(ctx, jsapi.QueryOrderByIdRequest{
				TransactionId: core.String(transactionID), Mchid: core.String(t.acct.MchID)})
		}
		if err == nil {
			tx, err = fromDirectTransaction(resp)
		}
	}
	if err != nil {
		err = fail(op, err)
	}
	c.logCall(ctx, op, t, start, err)
	return tx, err
}

// Close closes the unpaid order outTradeNo of the merchant appID, so it can no longer be paid.
//
// WeChat: POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close (direct) | POST /v3/pay/partner/transactions/out-trade-no/{out_trade_no}/close (partner)
func (c *Client) Close(ctx context.Context, appID, outTradeNo string) error {
	if err := ValidateOutTradeNo(outTradeNo); err != nil {
		return err
	}
	t, err := c.resolve(ctx, appID)
	if err != nil {
		return err
	}
	start := time.Now()
	var (
		op  string
		res *core.APIResult
	)
	if t.partner {
		op = "POST /v3/pay/partner/transactions/out-trade-no/{out_trade_no}/close"
		svc := partnerjsapi.JsapiApiService{Client: t.sdk}
		res, err = svc.CloseOrder(ctx, partnerjsapi.CloseOrderRequest{
			OutTradeNo: core.String(outTradeNo), SpMchid: core.String(c.sp.Account.MchID), SubMchid: core.String(t.m.SubMchID)})
	} else {
		op = "POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close"
		svc := jsapi.JsapiApiService{Client: t.sdk}
		res, err = svc.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(t.acct.MchID)})
	}
	closeResult(res)
	if err != nil {
		err = fail(op, err)
	}
	c.logCall(ctx, op, t, start, err)
	return err
}

// parseTime parses an RFC 3339 time of WeChat Pay; "" is the zero time.
func parseTime(field string, s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s %q is not RFC 3339", ErrMalformedResponse, field, *s)
	}
	return t, nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func i64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func fromDirectTransaction(in *payments.Transaction) (*Transaction, error) {
	if in == nil || in.OutTradeNo == nil || in.TradeState == nil {
		return nil, fmt.Errorf("%w: transaction without out_trade_no or trade_state", ErrMalformedResponse)
	}
	st, err := parseTime("success_time", in.SuccessTime)
	if err != nil {
		return nil, err
	}
	t := &Transaction{
		AppID: str(in.Appid), MchID: str(in.Mchid), OutTradeNo: str(in.OutTradeNo), TransactionID: str(in.TransactionId),
		TradeState: TradeState(str(in.TradeState)), TradeStateDesc: str(in.TradeStateDesc), TradeType: str(in.TradeType),
		BankType: str(in.BankType), Attach: str(in.Attach), SuccessTime: st,
	}
	if in.Payer != nil {
		t.OpenID = str(in.Payer.Openid)
	}
	if in.Amount != nil {
		t.TotalFen, t.PayerTotalFen, t.Currency = i64(in.Amount.Total), i64(in.Amount.PayerTotal), str(in.Amount.Currency)
	}
	return t, nil
}

func fromPartnerTransaction(in *partnerpayments.Transaction) (*Transaction, error) {
	if in == nil || in.OutTradeNo == nil || in.TradeState == nil {
		return nil, fmt.Errorf("%w: transaction without out_trade_no or trade_state", ErrMalformedResponse)
	}
	st, err := parseTime("success_time", in.SuccessTime)
	if err != nil {
		return nil, err
	}
	t := &Transaction{
		AppID: str(in.SubAppid), MchID: str(in.SubMchid), SpAppID: str(in.SpAppid), SpMchID: str(in.SpMchid),
		OutTradeNo: str(in.OutTradeNo), TransactionID: str(in.TransactionId),
		TradeState: TradeState(str(in.TradeState)), TradeStateDesc: str(in.TradeStateDesc), TradeType: str(in.TradeType),
		BankType: str(in.BankType), Attach: str(in.Attach), SuccessTime: st,
	}
	if in.Payer != nil {
		t.OpenID = str(in.Payer.SubOpenid)
	}
	if in.Amount != nil {
		t.TotalFen, t.PayerTotalFen, t.Currency = i64(in.Amount.Total), i64(in.Amount.PayerTotal), str(in.Amount.Currency)
	}
	return t, nil
}
