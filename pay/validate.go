package pay

import (
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Limits WeChat Pay documents for JSAPI orders and refunds.
const (
	MinOutTradeNoLen  = 6
	MaxOutTradeNoLen  = 32
	MaxOutRefundNoLen = 64
	MaxDescriptionLen = 127 // characters
	MaxAttachLen      = 128 // characters
	MaxOpenIDLen      = 128
	MaxNotifyURLLen   = 256
	MaxReasonLen      = 80 // characters
)

// merchantNoChar reports whether c may appear in out_trade_no: digits, letters and _ - | *.
func merchantNoChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '-' || c == '|' || c == '*'
}

// ValidateOutTradeNo checks a merchant order number: 6 to 32 characters of A-Z a-z 0-9 _ - | *.
func ValidateOutTradeNo(s string) error {
	if len(s) < MinOutTradeNoLen || len(s) > MaxOutTradeNoLen {
		return wxerr.Invalid("out_trade_no", "6 to 32 characters of A-Z a-z 0-9 _ - | *")
	}
	for i := 0; i < len(s); i++ {
		if !merchantNoChar(s[i]) {
			return wxerr.Invalid("out_trade_no", "6 to 32 characters of A-Z a-z 0-9 _ - | *")
		}
	}
	return nil
}

// ValidateOutRefundNo checks a merchant refund number: 1 to 64 characters of A-Z a-z 0-9 _ - | * @.
func ValidateOutRefundNo(s string) error {
	if s == "" || len(s) > MaxOutRefundNoLen {
		return wxerr.Invalid("out_refund_no", "1 to 64 characters of A-Z a-z 0-9 _ - | * @")
	}
	for i := 0; i < len(s); i++ {
		if !merchantNoChar(s[i]) && s[i] != '@' {
			return wxerr.Invalid("out_refund_no", "1 to 64 characters of A-Z a-z 0-9 _ - | * @")
		}
	}
	return nil
}

// validateTransactionID checks a WeChat Pay transaction id: 1 to 32 printable ASCII characters
// without '/', '?' or '#', so that it is one path segment.
func validateTransactionID(s string) error {
	if s == "" || len(s) > 32 {
		return wxerr.Invalid("transaction_id", "1 to 32 characters")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '/' || c == '?' || c == '#' || c == '%' {
			return wxerr.Invalid("transaction_id", "letters and digits only")
		}
	}
	return nil
}

// ValidateNotifyURL checks a notification URL: absolute http or https, at most 256 characters,
// without query parameters (WeChat Pay does not allow them) or a fragment.
func ValidateNotifyURL(s string) error {
	const rule = "an absolute https (or http) URL of at most 256 characters without query parameters"
	if s == "" || len(s) > MaxNotifyURLLen {
		return wxerr.Invalid("notify_url", rule)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return wxerr.Invalid("notify_url", rule)
	}
	return nil
}

// validate checks a prepay request before anything is sent.
func (r *PrepayRequest) validate(now time.Time) error {
	if strings.TrimSpace(r.OpenID) == "" || len(r.OpenID) > MaxOpenIDLen {
		return wxerr.Invalid("openid", "the payer's openid in the mini program is required (at most 128 characters)")
	}
	if r.AmountFen <= 0 {
		return wxerr.Invalid("amount.total", "a positive number of fen (1 = 0.01 CNY)")
	}
	if strings.TrimSpace(r.Description) == "" || utf8.RuneCountInString(r.Description) > MaxDescriptionLen ||
		!utf8.ValidString(r.Description) {
		return wxerr.Invalid("description", "1 to 127 characters of UTF-8")
	}
	if err := ValidateOutTradeNo(r.OutTradeNo); err != nil {
		return err
	}
	if err := ValidateNotifyURL(r.NotifyURL); err != nil {
		return err
	}
	if utf8.RuneCountInString(r.Attach) > MaxAttachLen || !utf8.ValidString(r.Attach) {
		return wxerr.Invalid("attach", "at most 128 characters of UTF-8")
	}
	if !r.TimeExpire.IsZero() && !r.TimeExpire.After(now) {
		return wxerr.Invalid("time_expire", "in the future")
	}
	return nil
}

// validate checks a refund request before anything is sent.
func (r *RefundRequest) validate() error {
	if r.TransactionID == "" && r.OutTradeNo == "" {
		return wxerr.Invalid("transaction_id", "transaction_id or out_trade_no is required")
	}
	if r.TransactionID != "" {
		if err := validateTransactionID(r.TransactionID); err != nil {
			return err
		}
	}
	if r.OutTradeNo != "" {
		if err := ValidateOutTradeNo(r.OutTradeNo); err != nil {
			return err
		}
	}
	if err := ValidateOutRefundNo(r.OutRefundNo); err != nil {
		return err
	}
	if r.TotalFen <= 0 {
		return wxerr.Invalid("amount.total", "the order's total in fen, positive")
	}
	if r.RefundFen <= 0 || r.RefundFen > r.TotalFen {
		return wxerr.Invalid("amount.refund", "a positive number of fen, at most the order's total")
	}
	if utf8.RuneCountInString(r.Reason) > MaxReasonLen || !utf8.ValidString(r.Reason) {
		return wxerr.Invalid("reason", "at most 80 characters of UTF-8")
	}
	if r.NotifyURL != "" {
		if err := ValidateNotifyURL(r.NotifyURL); err != nil {
			return err
		}
	}
	return nil
}
