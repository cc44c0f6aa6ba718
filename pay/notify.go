package pay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/services/partnerpayments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"

	"github.com/wxopen-go/wxopen/wxerr"
)

// DefaultMaxNotifyBytes bounds the body of a notification (WeChat Pay's are a few KiB).
const DefaultMaxNotifyBytes = 64 << 10

// NotifyURL returns base with the authorizer appid appended as the last path segment, e.g.
// NotifyURL("https://pay.example.com/wxpay/notify", "wx123") = "https://pay.example.com/wxpay/notify/wx123".
// Mount NotifyHandler on the matching pattern ("POST /wxpay/notify/{appid}").
func NotifyURL(base, appID string) string {
	return strings.TrimSuffix(base, "/") + "/" + url.PathEscape(appID)
}

// Notification is what every WeChat Pay notification carries besides its resource.
type Notification struct {
	// ID is the notification id. WeChat Pay repeats a notification until it is acknowledged, and
	// every repetition carries the same ID.
	ID string
	// EventType is e.g. "TRANSACTION.SUCCESS", "REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED".
	EventType string
	// CreateTime is when WeChat Pay created the notification.
	CreateTime time.Time
	// Summary is WeChat Pay's one-line summary ("支付成功").
	Summary string
	// AppID is the merchant's authorizer appid, from the notify URL, checked against the resource.
	AppID string
	// Mode is the merchant's mode.
	Mode Mode
}

// TransactionNotification is a payment notification, verified and decrypted.
type TransactionNotification struct {
	Notification
	// Transaction is the paid order.
	Transaction Transaction
}

// RefundNotification is a refund notification, verified and decrypted.
type RefundNotification struct {
	Notification
	// Refund is the refund; Status says how it ended (SUCCESS, CLOSED or ABNORMAL).
	Refund Refund
	// MchID is the merchant number (mchid, or sub_mchid in partner mode); SpMchID the service
	// provider's, in partner mode only.
	MchID, SpMchID string
}

// NotifyConfig is the user's side of a NotifyHandler.
type NotifyConfig struct {
	// OnTransaction receives payment notifications. Return nil once the payment is durably recorded;
	// an error makes the handler answer 500 so that WeChat Pay delivers the notification again.
	//
	// It must be idempotent: WeChat Pay delivers a notification again when it did not see the
	// answer in time, and the order can also be seen paid through QueryByOutTradeNo. Key the work on
	// Transaction.TransactionID (or OutTradeNo) and its TradeState, e.g. "mark order paid if it is
	// not yet"; the notification ID and SuccessTime are there to record and compare.
	OnTransaction func(ctx context.Context, n *TransactionNotification) error
	// OnRefund receives refund notifications; the same rules apply, keyed on Refund.RefundID (or
	// OutRefundNo) and Refund.Status.
	OnRefund func(ctx context.Context, n *RefundNotification) error
	// AppID extracts the authorizer appid from a notification request. The default is
	// r.PathValue("appid") (ServeMux pattern "POST /wxpay/notify/{appid}"), falling back to the last
	// segment of the URL path. WeChat Pay's notify URLs may not carry query parameters.
	AppID func(r *http.Request) string
	// MaxBodyBytes bounds the request body; 0 means DefaultMaxNotifyBytes.
	MaxBodyBytes int64
}

// NotifyHandler is the http.Handler for WeChat Pay's payment and refund notifications of all the
// platform's merchants.
//
// A notification names neither the mini program nor the merchant in its headers, and its resource
// is encrypted with the receiving account's APIv3 key, so the handler finds the merchant from the
// notify URL: build each order's NotifyURL with NotifyURL(base, appID) and mount the handler on
// "POST /base/{appid}". For a direct merchant it verifies the signature with the merchant's
// WeChat Pay public key (or platform certificates) and decrypts with the merchant's APIv3 key; for a
// partner-mode merchant with the service provider's. After decryption it checks that the resource
// belongs to that merchant (appid/mchid, or sp_mchid/sub_mchid/sub_appid) — in partner mode every
// sub-merchant's notification verifies with the same keys, so this check is what keeps merchant A's
// payment from being credited to merchant B.
//
// Answers: 204 when the callback returned nil (or no callback is set for the event: the notification
// is acknowledged and logged); 500 {"code":"FAIL",...} when the callback failed or the merchant lookup
// failed, so WeChat Pay retries; 401 when the signature does not verify; 400 when the body cannot be
// decrypted or belongs to another merchant; 404 for an unknown merchant; 405 for a method other than
// POST; 413 for a body over MaxBodyBytes. The callback is called only for verified notifications.
type NotifyHandler struct {
	c        *Client
	cfg      NotifyConfig
	maxBytes int64
}

// NewNotifyHandler returns a NotifyHandler that uses c's merchants and service provider.
func NewNotifyHandler(c *Client, cfg NotifyConfig) (*NotifyHandler, error) {
	if c == nil {
		return nil, wxerr.Invalid("client", "required")
	}
	if cfg.OnTransaction == nil && cfg.OnRefund == nil {
		return nil, wxerr.Invalid("callbacks", "set OnTransaction, OnRefund or both")
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, wxerr.Invalid("max_body_bytes", "zero (the default) or positive")
	}
	h := &NotifyHandler{c: c, cfg: cfg, maxBytes: cfg.MaxBodyBytes}
	if h.maxBytes == 0 {
		h.maxBytes = DefaultMaxNotifyBytes
	}
	if h.cfg.AppID == nil {
		h.cfg.AppID = defaultNotifyAppID
	}
	return h, nil
}

func defaultNotifyAppID(r *http.Request) string {
	if v := r.PathValue("appid"); v != "" {
		return v
	}
	p := strings.TrimSuffix(r.URL.Path, "/")
	return p[strings.LastIndexByte(p, '/')+1:]
}

// String describes the handler.
func (h *NotifyHandler) String() string { return "pay.NotifyHandler{}" }

// Format writes String for every verb.
func (h *NotifyHandler) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, h.String()) }

// notifyFail is an answer to WeChat Pay other than success.
type notifyFail struct {
	status int
	msg    string // sent to WeChat Pay
	err    error  // logged only
}

func (e *notifyFail) Error() string { return e.msg }

// ServeHTTP verifies, decrypts and dispatches one notification.
func (h *NotifyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := h.handle(ctx, w, r)
	if err == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var nf *notifyFail
	if !errors.As(err, &nf) {
		nf = &notifyFail{status: http.StatusInternalServerError, msg: "internal error", err: err}
	}
	level := slog.LevelWarn
	if nf.status >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{slog.Int("status", nf.status), slog.String("reason", nf.msg),
		slog.String("path", r.URL.Path), slog.String("notification_id", id)}
	if nf.err != nil {
		attrs = append(attrs, slog.String("error", nf.err.Error()))
	}
	h.c.logger.LogAttrs(ctx, level, "wechatpay notification rejected", attrs...)
	if nf.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(nf.status)
	_ = json.NewEncoder(w).Encode(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{"FAIL", nf.msg})
}

// handle returns the notification id (when known) and nil on success, or a *notifyFail.
func (h *NotifyHandler) handle(ctx context.Context, w http.ResponseWriter, r *http.Request) (string, error) {
	if r.Method != http.MethodPost {
		return "", &notifyFail{status: http.StatusMethodNotAllowed, msg: "method not allowed"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", &notifyFail{status: http.StatusRequestEntityTooLarge, msg: "body too large"}
		}
		return "", &notifyFail{status: http.StatusBadRequest, msg: "cannot read body", err: err}
	}
	appID := h.cfg.AppID(r)
	if appID == "" {
		return "", &notifyFail{status: http.StatusNotFound, msg: "no merchant appid in the notify URL"}
	}
	m, err := h.c.merchants.Merchant(ctx, appID)
	if errors.Is(err, ErrUnknownMerchant) {
		return "", &notifyFail{status: http.StatusNotFound, msg: "unknown merchant", err: err}
	}
	if err != nil {
		return "", &notifyFail{status: http.StatusInternalServerError, msg: "merchant lookup failed", err: err}
	}
	if err := m.Validate(); err != nil || m.AppID != appID {
		return "", &notifyFail{status: http.StatusInternalServerError, msg: "merchant misconfigured", err: err}
	}
	acct := m.Direct
	if m.Mode() == ModePartner {
		if h.c.sp == nil {
			return "", &notifyFail{status: http.StatusInternalServerError, msg: "merchant misconfigured", err: ErrNoServiceProvider}
		}
		acct = &h.c.sp.Account
	}

	// Verify first, with wechatpay-go's notification validator, so that a forged or tampered
	// notification gets a clean 401 before anything is decrypted.
	verifier := acct.verifier()
	req := r.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(body))
	if err := validators.NewWechatPayNotifyValidator(verifier).Validate(ctx, req); err != nil {
		return "", &notifyFail{status: http.StatusUnauthorized, msg: "signature verification failed", err: err}
	}
	nh, err := notify.NewRSANotifyHandler(acct.APIv3Key, verifier)
	if err != nil {
		return "", &notifyFail{status: http.StatusInternalServerError, msg: "merchant misconfigured", err: err}
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	var plain json.RawMessage
	nreq, err := nh.ParseNotifyRequest(ctx, req, &plain)
	if err != nil {
		// wechatpay-go's message embeds the whole *http.Request; keep only its first line.
		msg := err.Error()
		if i := strings.Index(msg, ", request: "); i >= 0 {
			msg = msg[:i]
		}
		return "", &notifyFail{status: http.StatusBadRequest, msg: "cannot decrypt the resource", err: errors.New(msg)}
	}
	n := Notification{ID: nreq.ID, EventType: nreq.EventType, Summary: nreq.Summary, AppID: appID, Mode: m.Mode()}
	if nreq.CreateTime != nil {
		n.CreateTime = *nreq.CreateTime
	}
	original := ""
	if nreq.Resource != nil {
		original = nreq.Resource.OriginalType
	}
	switch {
	case strings.HasPrefix(n.EventType, "TRANSACTION.") || original == "transaction":
		return n.ID, h.transaction(ctx, n, m, plain)
	case strings.HasPrefix(n.EventType, "REFUND.") || original == "refund":
		return n.ID, h.refund(ctx, n, m, plain)
	}
	h.c.logger.LogAttrs(ctx, slog.LevelInfo, "wechatpay notification of unknown type acknowledged",
		slog.String("notification_id", n.ID), slog.String("event_type", n.EventType), slog.String("appid", appID))
	return n.ID, nil
}

func (h *NotifyHandler) transaction(ctx context.Context, n Notification, m Merchant, plain []byte) error {
	var (
		tx  *Transaction
		err error
	)
	if m.Mode() == ModePartner {
		var in partnerpayments.Transaction
		if err = json.Unmarshal(plain, &in); err == nil {
			tx, err = fromPartnerTransaction(&in)
		}
		if err == nil && (tx.SpMchID != h.c.sp.Account.MchID || tx.MchID != m.SubMchID || (tx.AppID != "" && tx.AppID != m.AppID)) {
			return &notifyFail{status: http.StatusBadRequest, msg: "notification is for another merchant",
				err: fmt.Errorf("sp_mchid %q sub_mchid %q sub_appid %q", tx.SpMchID, tx.MchID, tx.AppID)}
		}
	} else {
		var in payments.Transaction
		if err = json.Unmarshal(plain, &in); err == nil {
			tx, err = fromDirectTransaction(&in)
		}
		if err == nil && (tx.MchID != m.Direct.MchID || tx.AppID != m.AppID) {
			return &notifyFail{status: http.StatusBadRequest, msg: "notification is for another merchant",
				err: fmt.Errorf("mchid %q appid %q", tx.MchID, tx.AppID)}
		}
	}
	if err != nil {
		return &notifyFail{status: http.StatusBadRequest, msg: "malformed transaction", err: err}
	}
	if h.cfg.OnTransaction == nil {
		h.c.logger.LogAttrs(ctx, slog.LevelInfo, "wechatpay payment notification acknowledged without callback",
			slog.String("notification_id", n.ID), slog.String("out_trade_no", tx.OutTradeNo))
		return nil
	}
	if err := h.cfg.OnTransaction(ctx, &TransactionNotification{Notification: n, Transaction: *tx}); err != nil {
		return &notifyFail{status: http.StatusInternalServerError, msg: "notification handler failed", err: err}
	}
	return nil
}

// refundResource is the decrypted resource of a refund notification (wechatpay-go has no model
// for it).
type refundResource struct {
	MchID               string  `json:"mchid"`
	SpMchID             string  `json:"sp_mchid"`
	SubMchID            string  `json:"sub_mchid"`
	OutTradeNo          string  `json:"out_trade_no"`
	TransactionID       string  `json:"transaction_id"`
	OutRefundNo         string  `json:"out_refund_no"`
	RefundID            string  `json:"refund_id"`
	RefundStatus        string  `json:"refund_status"`
	SuccessTime         *string `json:"success_time"`
	UserReceivedAccount string  `json:"user_received_account"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

func (h *NotifyHandler) refund(ctx context.Context, n Notification, m Merchant, plain []byte) error {
	var in refundResource
	if err := json.Unmarshal(plain, &in); err != nil || in.OutRefundNo == "" || in.RefundStatus == "" {
		return &notifyFail{status: http.StatusBadRequest, msg: "malformed refund", err: err}
	}
	st, err := parseTime("success_time", in.SuccessTime)
	if err != nil {
		return &notifyFail{status: http.StatusBadRequest, msg: "malformed refund", err: err}
	}
	rn := &RefundNotification{Notification: n, Refund: Refund{
		RefundID: in.RefundID, OutRefundNo: in.OutRefundNo, TransactionID: in.TransactionID, OutTradeNo: in.OutTradeNo,
		UserReceivedAccount: in.UserReceivedAccount, Status: RefundStatus(in.RefundStatus), SuccessTime: st,
		RefundFen: in.Amount.Refund, TotalFen: in.Amount.Total, PayerRefundFen: in.Amount.PayerRefund,
		PayerTotalFen: in.Amount.PayerTotal, Currency: "CNY",
	}}
	if m.Mode() == ModePartner {
		rn.MchID, rn.SpMchID = in.SubMchID, in.SpMchID
		if in.SpMchID != h.c.sp.Account.MchID || in.SubMchID != m.SubMchID {
			return &notifyFail{status: http.StatusBadRequest, msg: "notification is for another merchant",
				err: fmt.Errorf("sp_mchid %q sub_mchid %q", in.SpMchID, in.SubMchID)}
		}
	} else {
		rn.MchID = in.MchID
		if in.MchID != m.Direct.MchID {
			return &notifyFail{status: http.StatusBadRequest, msg: "notification is for another merchant",
				err: fmt.Errorf("mchid %q", in.MchID)}
		}
	}
	if h.cfg.OnRefund == nil {
		h.c.logger.LogAttrs(ctx, slog.LevelInfo, "wechatpay refund notification acknowledged without callback",
			slog.String("notification_id", n.ID), slog.String("out_refund_no", in.OutRefundNo))
		return nil
	}
	if err := h.cfg.OnRefund(ctx, rn); err != nil {
		return &notifyFail{status: http.StatusInternalServerError, msg: "notification handler failed", err: err}
	}
	return nil
}
