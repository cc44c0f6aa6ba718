package wxerr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/wxopen-go/wxopen/wxerr"
)

func TestAPIErrorMessage(t *testing.T) {
	e := &wxerr.APIError{Code: 61023, Msg: "refresh_token is invalid", RequestID: "6571a4cd-2e5a7b1f-6c3f2d1a", Op: "POST /cgi-bin/component/api_authorizer_token"}
	assert.Equal(t, "wechat: POST /cgi-bin/component/api_authorizer_token: errcode 61023: refresh_token is invalid rid: 6571a4cd-2e5a7b1f-6c3f2d1a "+
		"(the authorizer refresh token is invalid (lost, replaced or revoked); the merchant must authorise the platform again)", e.Error())
	assert.Equal(t, "wechat: errcode 12345", (&wxerr.APIError{Code: 12345}).Error(), "no op, no message, no hint")
}

func TestAPIErrorIsByCode(t *testing.T) {
	err := fmt.Errorf("authorizer wx1: %w", &wxerr.APIError{Code: 40001, Msg: "invalid credential", Op: "GET /x"})
	assert.ErrorIs(t, err, wxerr.ErrInvalidCredential)
	assert.NotErrorIs(t, err, wxerr.ErrAccessTokenExpired)
	assert.NotErrorIs(t, errors.New("40001"), wxerr.ErrInvalidCredential)
	var ae *wxerr.APIError
	assert.ErrorAs(t, err, &ae)
	assert.Equal(t, wxerr.CodeInvalidCredential, ae.Code)
}

func TestPredicates(t *testing.T) {
	api := func(c wxerr.Code) error { return fmt.Errorf("wrapped: %w", &wxerr.APIError{Code: c}) }
	for _, c := range []wxerr.Code{40001, 40014, 42001} {
		assert.True(t, wxerr.IsTokenInvalid(api(c)), c)
	}
	for _, c := range []wxerr.Code{-1, 0, 40013, 41001, 42002, 61023} {
		assert.False(t, wxerr.IsTokenInvalid(api(c)), c)
	}
	for _, c := range []wxerr.Code{45009, 45011, 45047, 48006} {
		assert.True(t, wxerr.IsQuota(api(c)), c)
	}
	assert.False(t, wxerr.IsQuota(api(40001)))
	assert.True(t, wxerr.IsTemporary(api(-1)))
	assert.True(t, (&wxerr.APIError{Code: -1}).Temporary())
	assert.False(t, wxerr.IsTemporary(api(45009)))
	assert.Equal(t, wxerr.Code(0), wxerr.CodeOf(nil))
	assert.Equal(t, wxerr.Code(0), wxerr.CodeOf(errors.New("network")))
	assert.Equal(t, wxerr.CodeAuditPending, wxerr.CodeOf(api(85009)))
	assert.False(t, wxerr.IsTokenInvalid(nil))
}

func TestHints(t *testing.T) {
	for _, c := range []wxerr.Code{61004, 61005, 61006, 61023, 45009} {
		assert.NotEmpty(t, wxerr.Hint(c), "operators need to know what to do about %d", c)
	}
	assert.Contains(t, wxerr.Hint(61005), "StartPushTicket")
	assert.Contains(t, wxerr.Hint(61004), "whitelist")
	assert.Empty(t, wxerr.Hint(99999))
}

func TestValidationError(t *testing.T) {
	err := fmt.Errorf("commit: %w", wxerr.Invalid("user_version", "1 to 64 characters"))
	assert.True(t, wxerr.IsValidation(err))
	assert.False(t, wxerr.IsValidation(errors.New("x")))
	var v *wxerr.ValidationError
	assert.ErrorAs(t, err, &v)
	assert.Equal(t, "user_version", v.Field)
	assert.Equal(t, "wxopen: invalid user_version: 1 to 64 characters", v.Error())
}

func TestHTTPError(t *testing.T) {
	assert.Equal(t, "wechat: GET /wxa/get_category: HTTP status 502", (&wxerr.HTTPError{StatusCode: 502, Op: "GET /wxa/get_category"}).Error())
}

func TestLocalSentinelsSayWhatToDo(t *testing.T) {
	assert.Contains(t, wxerr.ErrNoVerifyTicket.Error(), "every 10 minutes")
	assert.Contains(t, wxerr.ErrNotAuthorized.Error(), "refresh token")
}
