package session_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/wxopen-go/wxopen/session"
	"github.com/wxopen-go/wxopen/tokenstore"
)

// FuzzValidate: whatever a client sends as a token, Validate answers the one live session or
// ErrInvalid, never another error and never a panic; the request parsers never panic either.
func FuzzValidate(f *testing.F) {
	m, err := session.New(tokenstore.NewMemoryStore(), benchLoginer)
	if err != nil {
		f.Fatal(err)
	}
	s, err := m.Login(context.Background(), appA, "1")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"", s.Token, s.Token[:42], s.Token + "=", "Bearer x", "\x00"} {
		f.Add(seed, "https://servicewechat.com/"+appA+"/1/page-frame.html")
	}
	f.Fuzz(func(t *testing.T, token, referer string) {
		got, err := m.Validate(context.Background(), token)
		switch {
		case token == s.Token:
			if err != nil || got.OpenID != s.OpenID {
				t.Fatalf("the live token: %v", err)
			}
		case !errors.Is(err, session.ErrInvalid):
			t.Fatalf("token %q: %v", token, err)
		}
		r, err := http.NewRequest(http.MethodGet, "/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", token)
		r.Header.Set("Referer", referer)
		_ = session.TokenFromRequest(r)
		_ = session.AppIDFromRequest(r)
	})
}
