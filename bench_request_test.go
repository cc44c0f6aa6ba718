package wxopen_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/wxtest"
)

// requestPlatform returns a Platform against the emulator with one authorised mini program whose
// access token is warm.
func requestPlatform(b testing.TB) (*wxopen.Platform, string) {
	b.Helper()
	ctx := context.Background()
	emu := wxtest.NewServer()
	b.Cleanup(emu.Close)
	app := emu.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token, EncodingAESKey: app.EncodingAESKey},
		wxopen.WithBaseURL(emu.URL))
	if err != nil {
		b.Fatal(err)
	}
	const appID = "wx1111222233334444"
	rts := emu.AuthorizeAccounts([]string{appID})
	if err := p.Component().SetRefreshToken(ctx, appID, rts[0]); err != nil {
		b.Fatal(err)
	}
	ticket, err := emu.PushVerifyTicket(ctx)
	_ = err // no event URL: the push fails, the ticket is issued all the same
	if err := p.Component().SetVerifyTicket(ctx, ticket); err != nil {
		b.Fatal(err)
	}
	if _, err := p.Authorizer(appID).Token(ctx); err != nil {
		b.Fatal(err)
	}
	return p, appID
}

// BenchmarkPerRequestMiniProgram is what a request handler does before its first call: the mini
// program client of an appid, and the authorizer access token that client sends (warm).
func BenchmarkPerRequestMiniProgram(b *testing.B) {
	p, appID := requestPlatform(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mp := p.MiniProgram(appID)
		if mp.AppID() != appID {
			b.Fatal("wrong client")
		}
		if _, err := p.Authorizer(appID).Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPerRequestMiniProgramParallel is BenchmarkPerRequestMiniProgram from every core at once.
func BenchmarkPerRequestMiniProgramParallel(b *testing.B) {
	p, appID := requestPlatform(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if p.MiniProgram(appID).AppID() != appID {
				b.Error("wrong client")
				return
			}
			if _, err := p.Authorizer(appID).Token(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// The clients a request handler gets per request, up to the warm token, allocate nothing.
func TestPerRequestPathDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	p, appID := requestPlatform(t)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		if p.MiniProgram(appID).AppID() != appID || p.OpenPlatform(appID) == nil {
			t.Fatal("wrong client")
		}
		if _, err := p.Authorizer(appID).Token(ctx); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}
