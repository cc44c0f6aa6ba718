package component_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/tokenstore"
)

// BenchmarkAuthorizerTokenWarm is the hot path of every authorizer call: a cached token.
func BenchmarkAuthorizerTokenWarm(b *testing.B) {
	e := setup(b)
	ctx := context.Background()
	if err := e.tokens.Set(ctx, authKey("wxA", "access_token"), tokenstore.Token{Value: "AT", ExpiresAt: time.Now().Add(2 * time.Hour)}); err != nil {
		b.Fatal(err)
	}
	src := e.c.AuthorizerTokenSource("wxA")
	if _, err := src.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := src.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandlerVerifyTicket is one verify-ticket push end to end: size cap, signature, decrypt,
// XML decode, the handled-push memory (a read and a compare-and-swap in the credential store, here the
// MemoryStore), the ticket's compare-and-swap, reply. Each iteration is a distinct, newer push; every
// n iterations the platform starts afresh (timer stopped), so that the memory does not grow with b.N.
func BenchmarkHandlerVerifyTicket(b *testing.B) {
	wx := newWeChat(b)
	const n = 4096
	type push struct {
		url  string
		body []byte
	}
	pushes := make([]push, n)
	for i := range pushes {
		r := wx.push("/", "AppId", event("component_verify_ticket", time.Now().Add(time.Duration(i)*time.Second), "ComponentVerifyTicket", "ticket@@@bench"+itoa(i)), time.Now())
		body, _ := readAll(r)
		pushes[i] = push{r.URL.String(), body}
	}
	var h *component.Handler
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%n == 0 {
			b.StopTimer()
			var err error
			if h, err = component.NewHandler(setup(b).c, component.HandlerConfig{}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		p := pushes[i%n]
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, p.url, bytes.NewReader(p.body)))
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
