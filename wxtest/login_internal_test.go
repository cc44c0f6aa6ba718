package wxtest

import (
	"testing"
)

// Login codes that expired are forgotten as new ones are issued: the emulator's memory holds the codes
// of the last minutes, not of the whole test run.
func TestLoginCodesAreSwept(t *testing.T) {
	s := NewTestServer(t, WithManualClock())
	for range 1000 {
		s.IssueLoginCode("wx1111111111111111", "")
	}
	s.Advance(loginCodeTTL)
	for range 1000 {
		s.IssueLoginCode("wx1111111111111111", "")
	}
	s.mu.Lock()
	n := len(s.loginCodes)
	s.mu.Unlock()
	if n > 1000+64 {
		t.Fatalf("%d login codes kept; the 1000 expired ones should be gone", n)
	}
}

// Phone codes likewise.
func TestPhoneCodesAreSwept(t *testing.T) {
	s := NewTestServer(t, WithManualClock())
	for range 1000 {
		s.IssuePhoneCode("wx1111111111111111", "86", "13800000000")
	}
	s.Advance(phoneCodeTTL)
	for range 1000 {
		s.IssuePhoneCode("wx1111111111111111", "86", "13800000000")
	}
	s.mu.Lock()
	n := len(s.users().phoneCodes)
	s.mu.Unlock()
	if n > 1000+64 {
		t.Fatalf("%d phone codes kept; the 1000 expired ones should be gone", n)
	}
}
