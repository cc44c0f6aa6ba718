package wxtest

import (
	"testing"
)

// Access tokens past their grace period are forgotten as new ones are issued: they answer 40001 like
// unknown tokens, so keeping them changes nothing but the emulator's memory, which would otherwise grow
// by one token per refresh for the whole run (a fleet test refreshes every authorizer).
func TestSupersededTokensAreForgotten(t *testing.T) {
	s := NewTestServer(t, WithManualClock())
	const app = "wx1111111111111111"
	var first string
	s.mu.Lock()
	first = s.issueToken(authorizerToken, app, s.Now())
	s.mu.Unlock()
	for range 100 {
		s.Advance(tokenGrace)
		s.mu.Lock()
		s.issueToken(authorizerToken, app, s.Now())
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.tokens); n > 2 {
		t.Fatalf("%d access tokens kept for one appid after 100 refreshes; at most the live one and the one in its grace period should be", n)
	}
	if s.tokenValid(authorizerToken, app, first, s.Now()) {
		t.Fatal("the first token is still valid")
	}
}
