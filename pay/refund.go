package pay

import (
	"context"
	"fmt"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
)

// RefundRequest asks WeChat Pay to refund (part of) a paid order.
type RefundRequest struct {
	// TransactionID or OutTradeNo names the order; at least one is required (WeChat Pay prefers
	// TransactionID when both are given).
	TransactionID string
	OutTradeNo    string
	// OutRefundNo is the merchant's refund number, unique per merchant: 1 to 64 characters of
	// A-Z a-z 0-9 _ - | * @. Repeating a request with the same OutRefundNo refunds only once.
	OutRefundNo string
	// RefundFen is the amount to refund, in fen; positive, at most TotalFen.
	RefundFen int64
	// TotalFen is the order's total, in fen, as placed.
	TotalFen int64
	// Reason is shown to the payer (at most 80 characters). Optional.
	Reason string
	// NotifyURL receives the refund notification (absolute URL, no query parameters). Optional:
	// without it WeChat Pay uses the refund notification URL set on the merchant platform, if any.
	// Put the authorizer appid in its path (see NotifyURL).
	NotifyURL string
}

// RefundStatus is the state of a refund.
type RefundStatus string

// Refund states.
const (
	RefundSuccess    RefundStatus = "SUCCESS"    // the money is back with the payer
	RefundClosed     RefundStatus = "CLOSED"     // closed
	RefundProcessing RefundStatus = "PROCESSING" // in progress
	RefundAbnormal   RefundStatus = "ABNORMAL"   // failed (e.g. the payer's card was cancelled); handle manually
)

// Refund is a WeChat Pay refund, the same in both modes.
type Refund struct {
	// RefundID is WeChat Pay's refund number; OutRefundNo the merchant's.
	RefundID, OutRefundNo string
	// TransactionID and OutTradeNo name the refunded order.
	TransactionID, OutTradeNo string
	// Channel is where the money goes back: ORIGINAL, BALANCE, OTHER_BALANCE, OTHER_BANKCARD.
	Channel string
	// UserReceivedAccount describes the account credited, in WeChat Pay's words.
	UserReceivedAccount string
	// Status is the refund's state.
	Status RefundStatus
	// CreateTime is when the refund was accepted; SuccessTime when it completed (zero until then).
	CreateTime, SuccessTime time.Time
	// RefundFen and TotalFen are the refund and the order's total; PayerRefundFen and PayerTotalFen
	// the payer's share of each (after coupons), all in fen.
	RefundFen, TotalFen, PayerRefundFen, PayerTotalFen int64
	// Currency is "CNY".
	Currency string
}

// Refund asks WeChat Pay to refund an order of the merchant appID. The answer is usually PROCESSING;
// the result arrives as a refund notification (NotifyHandler) or through QueryRefund.
//
// WeChat: POST /v3/refund/domestic/refunds
func (c *Client) Refund(ctx context.Context, appID string, req RefundRequest) (*Refund, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	t, err := c.resolve(ctx, appID)
	if err != nil {
		return nil, err
	}
	const op = "POST /v3/refund/domestic/refunds"
	start := time.Now()
	in := refunddomestic.CreateRequest{
		OutRefundNo: core.String(req.OutRefundNo),
		Amount: &refunddomestic.AmountReq{
			Refund: core.Int64(req.RefundFen), Total: core.Int64(req.TotalFen), Currency: core.String("CNY"),
		},
	}
	if t.partner {
		in.SubMchid = core.String(t.m.SubMchID)
	}
	if req.TransactionID != "" {
		in.TransactionId = core.String(req.TransactionID)
	}
	if req.OutTradeNo != "" {
		in.OutTradeNo = core.String(req.OutTradeNo)
	}
	if req.Reason != "" {
		in.Reason = core.String(req.Reason)
	}
	if req.NotifyURL != "" {
		in.NotifyUrl = core.String(req.NotifyURL)
	}
	svc := refunddomestic.RefundsApiService{Client: t.sdk}
	resp, _, err := svc.Create(ctx, in)
	var r *Refund
	if err == nil {
		r, err = fromRefund(resp)
	}
	if err != nil {
		err = fail(op, err)
	}
	c.logCall(ctx, op, t, start, err)
	return r, err
}

// QueryRefund returns the refund outRefundNo of the merchant appID.
//
// WeChat: GET /v3/refund/domestic/refunds/{out_refund_no}
func (c *Client) QueryRefund(ctx context.Context, appID, outRefundNo string) (*Refund, error) {
	if err := ValidateOutRefundNo(outRefundNo); err != nil {
		return nil, err
	}
	t, err := c.resolve(ctx, appID)
	if err != nil {
		return nil, err
	}
	const op = "GET /v3/refund/domestic/refunds/{out_refund_no}"
	start := time.Now()
	in := refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(outRefundNo)}
	if t.partner {
		in.SubMchid = core.String(t.m.SubMchID)
	}
	svc := refunddomestic.RefundsApiService{Client: t.sdk}
	resp, _, err := svc.QueryByOutRefundNo(ctx, in)
	var r *Refund
	if err == nil {
		r, err = fromRefund(resp)
	}
	if err != nil {
		err = fail(op, err)
	}
	c.logCall(ctx, op, t, start, err)
	return r, err
}

func fromRefund(in *refunddomestic.Refund) (*Refund, error) {
	if in == nil || in.OutRefundNo == nil || in.Status == nil {
		return nil, fmt.Errorf("%w: refund without out_refund_no or status", ErrMalformedResponse)
	}
	r := &Refund{
		RefundID: str(in.RefundId), OutRefundNo: str(in.OutRefundNo),
		TransactionID: str(in.TransactionId), OutTradeNo: str(in.OutTradeNo),
		UserReceivedAccount: str(in.UserReceivedAccount), Status: RefundStatus(*in.Status),
	}
	if in.Channel != nil {
		r.Channel = string(*in.Channel)
	}
	if in.CreateTime != nil {
		r.CreateTime = *in.CreateTime
	}
	if in.SuccessTime != nil {
		r.SuccessTime = *in.SuccessTime
	}
	if a := in.Amount; a != nil {
		r.RefundFen, r.TotalFen = i64(a.Refund), i64(a.Total)
		r.PayerRefundFen, r.PayerTotalFen = i64(a.PayerRefund), i64(a.PayerTotal)
		r.Currency = str(a.Currency)
	}
	return r, nil
}
