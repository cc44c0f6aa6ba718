package wxerr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/wxopen-go/wxopen/wxerr"
)

func TestComplianceHints(t *testing.T) {
	// Every code the digest's tables ask the operator to act on carries a hint.
	for _, c := range []wxerr.Code{40006, 40126, 44002, 53300, 53306, 53307, 53308, 53311, 61031, 61032, 61033, 61034, 61035,
		61039, 61040, 85001, 85002, 85003, 85004, 85008, 85077, 85085, 85086, 86002, 86069, 86071, 86074, 86103, 87072,
		89401, 89402, 89403, 89404, 89405} {
		assert.NotEmpty(t, wxerr.Hint(c), "hint of %d", c)
	}
	// The older hints still win for their codes.
	assert.Contains(t, wxerr.Hint(wxerr.CodeAuditPending), "already under review")
	err := fmt.Errorf("submit: %w", &wxerr.APIError{Code: 85085, Msg: "quota", Op: "POST /wxa/submit_audit"})
	assert.Contains(t, err.Error(), "monthly audit quota")
	assert.True(t, errors.Is(err, wxerr.ErrAuditQuota))
}

func TestIsRetryLater(t *testing.T) {
	for code, want := range map[wxerr.Code]bool{-1: true, 61039: true, 89401: true, 61040: false, 85085: false, 45009: false} {
		assert.Equal(t, want, wxerr.IsRetryLater(&wxerr.APIError{Code: code}), "code %d", code)
	}
	assert.False(t, wxerr.IsRetryLater(errors.New("x")))
}
