package pay

import (
	"errors"
	"strconv"
	"strings"
)

// WeChat Pay API v3 error codes the SDK names (the "code" of an error response). WeChat Pay answers
// errors with an HTTP status >= 400 and a JSON body {"code": ..., "message": ...}. The list is not
// exhaustive; compare APIError.Code with any other code WeChat Pay documents.
const (
	CodeSignError          = "SIGN_ERROR"            // 401: the request signature did not verify
	CodeParamError         = "PARAM_ERROR"           // 400: a parameter is missing or malformed
	CodeInvalidRequest     = "INVALID_REQUEST"       // 400: the request is not allowed in the current state
	CodeAppIDMchIDNotMatch = "APPID_MCHID_NOT_MATCH" // 400: the appid is not bound to the mchid
	CodeOutTradeNoUsed     = "OUT_TRADE_NO_USED"     // 400: out_trade_no already used with other parameters
	CodeOrderClosed        = "ORDER_CLOSED"          // 400: the order is closed
	CodeOrderNotExist      = "ORDER_NOT_EXIST"       // 404: no such order
	CodeResourceNotExists  = "RESOURCE_NOT_EXISTS"   // 404: no such refund
	CodeNoAuth             = "NO_AUTH"               // 403: the merchant lacks the permission
	CodeFrequencyLimited   = "FREQUENCY_LIMITED"     // 429: too many requests
	CodeSystemError        = "SYSTEM_ERROR"          // 500: WeChat Pay failed; retry with the same parameters
)

var codeHints = map[string]string{
	CodeSignError: "WeChat Pay could not verify the request signature: the certificate serial number and private key " +
		"must be the pair registered for this mchid",
	CodeAppIDMchIDNotMatch: "bind the mini program appid to the merchant account (direct mode) or the sub_appid to the " +
		"sub_mchid (service-provider mode) in the WeChat Pay merchant platform",
	CodeOutTradeNoUsed:   "out_trade_no was already used for a different order; use a new one",
	CodeSystemError:      "WeChat Pay is busy; retry later with the same parameters",
	CodeFrequencyLimited: "slow down and retry later",
}

// APIError is an error answer from WeChat Pay (HTTP status >= 400). It wraps wechatpay-go's
// *core.APIError, so errors.As works for either type.
type APIError struct {
	// Op names the call: the method and the API path template, e.g. "POST /v3/pay/transactions/jsapi".
	Op string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is WeChat Pay's error code, e.g. "SIGN_ERROR" (see the Code constants).
	Code string
	// Message is WeChat Pay's message, verbatim.
	Message string
	// RequestID is WeChat Pay's Request-ID header: quote it to WeChat Pay support.
	RequestID string

	cause error
}

// Error renders "wechatpay: OP: HTTP STATUS CODE: MESSAGE (hint) [request-id ID]".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("wechatpay: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString("HTTP ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if h := codeHints[e.Code]; h != "" {
		b.WriteString(" (")
		b.WriteString(h)
		b.WriteString(")")
	}
	if e.RequestID != "" {
		b.WriteString(" [request-id ")
		b.WriteString(e.RequestID)
		b.WriteString("]")
	}
	return b.String()
}

// Unwrap returns wechatpay-go's *core.APIError.
func (e *APIError) Unwrap() error { return e.cause }

// Is reports whether target is an *APIError with the same Code (or, when target has no Code, the
// same StatusCode), so errors.Is(err, &pay.APIError{Code: pay.CodeOrderNotExist}) works.
func (e *APIError) Is(target error) bool {
	t, ok := target.(*APIError)
	if !ok {
		return false
	}
	if t.Code != "" {
		return t.Code == e.Code
	}
	return t.StatusCode != 0 && t.StatusCode == e.StatusCode
}

// ErrorCode returns the WeChat Pay code of the first *APIError in err's chain, or "".
func ErrorCode(err error) string {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Sentinel errors of the pay package. Their text has no package prefix: pay returns them wrapped with
// the operation or the merchant they concern.
var (
	// ErrResponseNotVerified: a WeChat Pay answer did not carry a valid signature from a trusted
	// WeChat Pay key (wrong public key or key id configured, stale platform certificates, or a
	// response that did not come from WeChat Pay). The result is discarded.
	ErrResponseNotVerified = errors.New("WeChat Pay response signature did not verify")
	// ErrNoServiceProvider: a merchant is configured in service-provider mode but the Client has
	// no ServiceProvider.
	ErrNoServiceProvider = errors.New("merchant is in service-provider mode but no ServiceProvider is configured")
	// ErrMalformedResponse: WeChat Pay answered 2xx with a body that lacks a required field.
	ErrMalformedResponse = errors.New("malformed WeChat Pay response")
)
