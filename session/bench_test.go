package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/wxopen-go/wxopen/internal/teststores"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/session"
	"github.com/wxopen-go/wxopen/tokenstore"
)

// benchLoginer answers every code at once, with a fixed key: the benchmarks measure the Manager and
// the store, not WeChat.
var benchLoginer = session.LoginFunc(func(_ context.Context, _, code string) (*miniprogram.Session, error) {
	return &miniprogram.Session{OpenID: "o" + code, SessionKey: "tiihtNczf5v6AKRyjwEUhQ=="}, nil
})

func BenchmarkLogin(b *testing.B) {
	m, err := session.New(tokenstore.NewMemoryStore(), benchLoginer)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := m.Login(ctx, appA, fmt.Sprint(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate validates one of n live sessions in a memory store, and reports the heap the
// store holds per session.
func BenchmarkValidate(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			ctx := context.Background()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			st := tokenstore.NewMemoryStore()
			m, err := session.New(st, benchLoginer)
			if err != nil {
				b.Fatal(err)
			}
			tokens := make([]string, n)
			for i := range tokens {
				s, err := m.Login(ctx, appA, fmt.Sprint(i))
				if err != nil {
					b.Fatal(err)
				}
				tokens[i] = s.Token
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			// The tokens slice (43-byte strings) is the benchmark's, not the store's.
			perSession := float64(after.HeapAlloc-before.HeapAlloc)/float64(n) - 43 - 16
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Validate(ctx, tokens[i%n]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(perSession, "heapB/session")
			runtime.KeepAlive(st)
		})
	}
}

func BenchmarkMiddleware(b *testing.B) {
	m, err := session.New(tokenstore.NewMemoryStore(), benchLoginer)
	if err != nil {
		b.Fatal(err)
	}
	s, err := m.Login(context.Background(), appA, "1")
	if err != nil {
		b.Fatal(err)
	}
	h := m.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/orders", nil)
	r.Header.Set("Authorization", "Bearer "+s.Token)
	r.Header.Set("Referer", "https://servicewechat.com/"+appA+"/3/page-frame.html")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for range b.N {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkValidateRedis is Validate over the network: one GET on loopback Redis.
func BenchmarkValidateRedis(b *testing.B) {
	m, err := session.New(teststores.Redis(b, "session"), benchLoginer)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s, err := m.Login(ctx, appA, "1")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := m.Validate(ctx, s.Token); err != nil {
			b.Fatal(err)
		}
	}
}
