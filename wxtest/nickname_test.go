package wxtest_test

import (
	"context"
	"testing"

	"github.com/wxopen-go/wxopen/wxtest"
)

func TestReviewNicknameNeedsANameUnderReview(t *testing.T) {
	s := wxtest.NewTestServer(t)
	if err := s.ReviewNickname(context.Background(), "wx0000000000000001", true, ""); err == nil {
		t.Fatal("approved a review that does not exist")
	}
	s.AddAuthorizer(wxtest.Authorizer{AppID: "wx0000000000000001", MiniProgram: true})
	if err := s.ReviewNickname(context.Background(), "wx0000000000000001", true, ""); err == nil {
		t.Fatal("approved a review that was never submitted")
	}
}
