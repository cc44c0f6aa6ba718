package paytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// refund is one refund of an order.
type refund struct {
	o           *order
	refundID    string
	outRefundNo string
	reason      string
	notifyURL   string
	amount      int64
	status      string
	createTime  time.Time
	successTime time.Time
}

func (r *refund) key() string { return r.o.mchID + "/" + r.outRefundNo }

// json is the refund as WeChat Pay answers refund calls.
func (r *refund) json() map[string]any {
	m := map[string]any{
		"refund_id":             r.refundID,
		"out_refund_no":         r.outRefundNo,
		"transaction_id":        r.o.transactionID,
		"out_trade_no":          r.o.outTradeNo,
		"channel":               "ORIGINAL",
		"user_received_account": "支付用户零钱",
		"create_time":           r.createTime.Format(time.RFC3339),
		"status":                r.status,
		"funds_account":         "AVAILABLE",
		"amount": map[string]any{
			"total": r.o.total, "refund": r.amount, "payer_total": r.o.total, "payer_refund": r.amount,
			"settlement_total": r.o.total, "settlement_refund": r.amount, "discount_refund": 0,
			"currency": "CNY", "from": []any{},
		},
		"promotion_detail": []any{},
	}
	if !r.successTime.IsZero() {
		m["success_time"] = r.successTime.Format(time.RFC3339)
	}
	return m
}

// notifyJSON is the refund as the resource of a refund notification.
func (r *refund) notifyJSON() map[string]any {
	m := map[string]any{
		"out_trade_no":          r.o.outTradeNo,
		"transaction_id":        r.o.transactionID,
		"out_refund_no":         r.outRefundNo,
		"refund_id":             r.refundID,
		"refund_status":         r.status,
		"user_received_account": "支付用户零钱",
		"amount": map[string]any{
			"total": r.o.total, "refund": r.amount, "payer_total": r.o.total, "payer_refund": r.amount,
		},
	}
	if r.o.partner {
		m["sp_mchid"], m["sub_mchid"] = r.o.spMchID, r.o.mchID
	} else {
		m["mchid"] = r.o.mchID
	}
	if !r.successTime.IsZero() {
		m["success_time"] = r.successTime.Format(time.RFC3339)
	}
	return m
}

func validOutRefundNo(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '_' || c == '-' || c == '|' || c == '*' || c == '@') {
			return false
		}
	}
	return true
}

// refundOwner is the merchant whose refunds a call addresses: the caller, or the sub-merchant named
// by sub_mchid (which must belong to the calling service provider). partner reports the latter.
func (s *Server) refundOwner(caller *Merchant, subMchID string) (string, bool, *apiError) {
	if subMchID == "" {
		return caller.MchID, false, nil
	}
	if sub := s.subs[subMchID]; sub == nil || sub.SpMchID != caller.MchID {
		return "", false, errorf(http.StatusBadRequest, "INVALID_REQUEST", "sub_mchid is not a sub-merchant of the signing merchant")
	}
	return subMchID, true, nil
}

func (s *Server) createRefund(_ *http.Request, caller *Merchant, body []byte) (int, any, *apiError) {
	var in struct {
		SubMchID      string `json:"sub_mchid"`
		TransactionID string `json:"transaction_id"`
		OutTradeNo    string `json:"out_trade_no"`
		OutRefundNo   string `json:"out_refund_no"`
		Reason        string `json:"reason"`
		NotifyURL     string `json:"notify_url"`
		Amount        *struct {
			Refund   int64  `json:"refund"`
			Total    int64  `json:"total"`
			Currency string `json:"currency"`
		} `json:"amount"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "body is not JSON")
	}
	switch {
	case !validOutRefundNo(in.OutRefundNo):
		return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "out_refund_no must be 1 to 64 characters of A-Z a-z 0-9 _ - | * @")
	case in.TransactionID == "" && in.OutTradeNo == "":
		return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "transaction_id or out_trade_no is required")
	case in.Amount == nil || in.Amount.Refund <= 0 || in.Amount.Total <= 0:
		return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "amount.refund and amount.total must be positive")
	case in.Amount.Currency != "CNY":
		return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "amount.currency must be CNY")
	case in.NotifyURL != "" && !validNotifyURL(in.NotifyURL):
		return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "notify_url must be an absolute http(s) URL without parameters")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, partner, ae := s.refundOwner(caller, in.SubMchID)
	if ae != nil {
		return 0, nil, ae
	}
	o := s.findOrder(owner, in.OutTradeNo, in.TransactionID)
	if o == nil || o.partner != partner {
		return 0, nil, errorf(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在")
	}
	if old := s.refunds[owner+"/"+in.OutRefundNo]; old != nil {
		if old.o != o || old.amount != in.Amount.Refund {
			return 0, nil, errorf(http.StatusBadRequest, "INVALID_REQUEST", "out_refund_no is already used for another refund")
		}
		return http.StatusOK, old.json(), nil // the same refund again: refunded once
	}
	switch {
	case o.state != "SUCCESS" && o.state != "REFUND":
		return 0, nil, errorf(http.StatusBadRequest, "INVALID_REQUEST", "the order is not paid")
	case in.Amount.Total != o.total:
		return 0, nil, errorf(http.StatusBadRequest, "PARAM_ERROR", "amount.total is not the order's total")
	case o.refunded+in.Amount.Refund > o.total:
		return 0, nil, errorf(http.StatusBadRequest, "INVALID_REQUEST", "refunds would exceed the order's total")
	}
	r := &refund{
		o: o, refundID: fmt.Sprintf("5030%026d", s.nextSeq()), outRefundNo: in.OutRefundNo, reason: in.Reason,
		notifyURL: in.NotifyURL, amount: in.Amount.Refund, status: "PROCESSING", createTime: s.nowCST(),
	}
	o.refunded += r.amount
	s.refunds[r.key()] = r
	return http.StatusOK, r.json(), nil
}

func (s *Server) queryRefund(req *http.Request, caller *Merchant, _ []byte) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, _, ae := s.refundOwner(caller, req.URL.Query().Get("sub_mchid"))
	if ae != nil {
		return 0, nil, ae
	}
	r := s.refunds[owner+"/"+req.PathValue("out_refund_no")]
	if r == nil {
		return 0, nil, errorf(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在")
	}
	return http.StatusOK, r.json(), nil
}
