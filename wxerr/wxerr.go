// Package wxerr holds the errors of wxopen: *APIError for every WeChat answer whose errcode is not 0,
// named constants for the codes the SDK treats specially, the local sentinel errors (no verify ticket,
// not authorised) and *ValidationError for input rejected before any request is sent.
//
// Callers test errors with the standard library:
//
//	var apiErr *wxerr.APIError
//	if errors.As(err, &apiErr) { log.Println(apiErr.Code) }
//	if errors.Is(err, wxerr.ErrAccessTokenExpired) { ... }
//
// wxerr is a leaf package: it imports only the standard library.
package wxerr

import (
	"errors"
	"strconv"
	"strings"
)

// Code is a WeChat errcode.
type Code int

// APIError is a WeChat answer whose errcode is not 0. It is returned (wrapped or not) by every call of
// the SDK that reached WeChat and was refused; a non-zero errcode is never turned into a zero value.
type APIError struct {
	// Code is WeChat's errcode.
	Code Code
	// Msg is WeChat's errmsg without the request id at its end.
	Msg string
	// Op names the operation: the HTTP method and the API path, without the query string, so it never
	// carries a token ("POST /cgi-bin/component/api_query_auth").
	Op string
	// RequestID is WeChat's id of the refused request, from the " rid: …" at the end of its errmsg
	// (" hint: […]" in older answers); empty when WeChat gave none. Cite it in a ticket to WeChat support.
	RequestID string
}

// Error renders "wechat: OP: errcode N: MSG rid: ID", followed by what the operator must do for the
// codes where that is known (see Hint).
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("wechat: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString("errcode ")
	b.WriteString(strconv.Itoa(int(e.Code)))
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.RequestID != "" {
		b.WriteString(" rid: ")
		b.WriteString(e.RequestID)
	}
	if h := Hint(e.Code); h != "" {
		b.WriteString(" (")
		b.WriteString(h)
		b.WriteString(")")
	}
	return b.String()
}

// Is reports whether target is an *APIError with the same Code, so that
// errors.Is(err, wxerr.ErrInvalidCredential) matches any 40001 answer whatever its Msg and Op.
func (e *APIError) Is(target error) bool {
	t, ok := target.(*APIError)
	return ok && t.Code == e.Code
}

// Temporary reports whether WeChat said it was busy (-1): the same call may succeed later.
func (e *APIError) Temporary() bool { return e.Code == CodeSystemBusy }

// CodeOf returns the errcode of the first *APIError in err's chain, and 0 when there is none.
func CodeOf(err error) Code {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// IsTokenInvalid reports whether err is WeChat refusing the access token that was sent
// (40001, 40014 or 42001): the token must be invalidated and fetched again.
func IsTokenInvalid(err error) bool {
	switch CodeOf(err) {
	case CodeInvalidCredential, CodeInvalidAccessToken, CodeAccessTokenExpired:
		return true
	}
	return false
}

// IsQuota reports whether err is a quota or rate limit answer (45009, 45011, 45047…); such calls are
// never retried automatically.
func IsQuota(err error) bool {
	switch CodeOf(err) {
	case CodeDailyQuota, CodeMinuteQuota, CodeQuotaResetLimit, CodeCallTooFrequent:
		return true
	}
	return false
}

// IsTemporary reports whether err is WeChat's "system busy" (-1).
func IsTemporary(err error) bool { return CodeOf(err) == CodeSystemBusy }

// Sentinels for errors.Is. Each matches any *APIError with its code.
var (
	ErrSystemBusy            = &APIError{Code: CodeSystemBusy}
	ErrInvalidCredential     = &APIError{Code: CodeInvalidCredential}
	ErrInvalidAccessToken    = &APIError{Code: CodeInvalidAccessToken}
	ErrAccessTokenExpired    = &APIError{Code: CodeAccessTokenExpired}
	ErrDailyQuota            = &APIError{Code: CodeDailyQuota}
	ErrMinuteQuota           = &APIError{Code: CodeMinuteQuota}
	ErrIPNotWhitelisted      = &APIError{Code: CodeComponentIPNotRegistered}
	ErrVerifyTicketExpired   = &APIError{Code: CodeVerifyTicketExpired}
	ErrVerifyTicketInvalid   = &APIError{Code: CodeVerifyTicketInvalid}
	ErrRefreshTokenInvalid   = &APIError{Code: CodeRefreshTokenInvalid}
	ErrComponentUnauthorized = &APIError{Code: CodeComponentUnauthorized}
	ErrOpenAccountNotBound   = &APIError{Code: CodeOpenAccountNotBound}
)

// Local sentinel errors: conditions the SDK detects itself, before or instead of a request. Their
// text has no package prefix: wxopen returns them wrapped with the account or the call they concern.
var (
	// ErrNoVerifyTicket: no component_verify_ticket is stored, so no component access token can be had.
	ErrNoVerifyTicket = errors.New("no component_verify_ticket stored: WeChat pushes one every 10 minutes " +
		"to the platform's authorization event URL; serve component.Handler there, or call StartPushTicket to ask for one now")
	// ErrNotAuthorized: no refresh token is stored for an authorizer appid (never authorised, or unauthorised).
	ErrNotAuthorized = errors.New("has not authorised the platform (no refresh token stored)")
	// ErrBadUserData: data a user's client sent (a mini program's encryptedData and iv) does not decrypt
	// with the session key, or is not for this mini program (watermark). The client's request was bad:
	// a server answers it 400 (and lets the user log in again), not 5xx. The *crypto.Error with the
	// detail is in the chain too.
	ErrBadUserData = errors.New("bad user data")
)

// ValidationError is input rejected before any request is sent. It names the field and the rule broken.
type ValidationError struct {
	// Field is the name of the offending field, as WeChat names it where it has a name (e.g. "nick_name").
	Field string
	// Rule says what the value must be, e.g. "4 to 30 characters, a Chinese character counting 2".
	Rule string
}

// Error renders "wxopen: invalid FIELD: RULE".
func (e *ValidationError) Error() string {
	return "wxopen: invalid " + e.Field + ": " + e.Rule
}

// Invalid returns a *ValidationError for field and rule.
func Invalid(field, rule string) error { return &ValidationError{Field: field, Rule: rule} }

// IsValidation reports whether err is (or wraps) a *ValidationError.
func IsValidation(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}

// HTTPError is an HTTP answer other than 200 from WeChat (or a proxy in front of it). WeChat itself
// answers 200 even for failures, so this usually means a gateway problem; 5xx answers are retried for
// idempotent calls.
type HTTPError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Op names the operation, as in APIError.
	Op string
}

// Error renders "wechat: OP: HTTP status N".
func (e *HTTPError) Error() string {
	return "wechat: " + e.Op + ": HTTP status " + strconv.Itoa(e.StatusCode)
}
