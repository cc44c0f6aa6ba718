package wxtest_test

import (
	"testing"

	"github.com/wxopen-go/wxopen/wxtest"
)

func TestApproveNicknameNeedsANameUnderReview(t *testing.T) {
	s := wxtest.NewTestServer(t)
	if err := s.ApproveNickname("wx0000000000000001"); err == nil {
		t.Fatal("approved a review that does not exist")
	}
	s.AddAuthorizer(wxtest.Authorizer{AppID: "wx0000000000000001", MiniProgram: true})
	if err := s.ApproveNickname("wx0000000000000001"); err == nil {
		t.Fatal("approved a review that was never submitted")
	}
}
