package wxopen_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/wxtest"
)

// BenchmarkColdStartStampede: a freshly started instance (empty stores) receives 100 concurrent
// requests that all need the component access token. Each iteration is one cold start against the
// emulator; the upstream-calls/op metric is how many times WeChat was asked for a token per cold start
// (1 is the goal: singleflight).
func BenchmarkColdStartStampede(b *testing.B) {
	ctx := context.Background()
	emu := wxtest.NewServer()
	defer emu.Close()
	app := emu.Component()
	cfg := wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token, EncodingAESKey: app.EncodingAESKey}

	// One instance receives WeChat's verify-ticket push; the cold instances get that ticket as if from
	// a shared credential store.
	first, err := wxopen.New(cfg, wxopen.WithBaseURL(emu.URL))
	if err != nil {
		b.Fatal(err)
	}
	h, err := first.Handler(component.HandlerConfig{Now: emu.Now})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	emu.SetEventURLs(srv.URL, srv.URL+"/msg/$APPID$")
	ticket, err := emu.PushVerifyTicket(ctx)
	if err != nil {
		b.Fatal(err)
	}

	const path = "/cgi-bin/component/api_component_token"
	before := emu.Calls(path)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := wxopen.New(cfg, wxopen.WithBaseURL(emu.URL))
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Component().SetVerifyTicket(ctx, ticket); err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := 0; g < 100; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := p.Component().ComponentToken(ctx); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(emu.Calls(path)-before)/float64(b.N), "upstream-calls/op")
}
