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

// BenchmarkHandlerVerifyTicketServeHTTP is BenchmarkHandlerVerifyTicket without the test harness's
// own cost: each push's *http.Request and the ResponseWriter are built once and reused (httptest
// builds a Request, a Recorder and their headers per call, about 20 allocations that a real server
// pays in net/http before and after any handler). What it measures is Handler.ServeHTTP.
func BenchmarkHandlerVerifyTicketServeHTTP(b *testing.B) {
	wx := newWeChat(b)
	const n = 4096
	type push struct {
		r    *http.Request
		body *rewindBody
		raw  []byte
	}
	pushes := make([]push, n)
	for i := range pushes {
		r := wx.push("/", "AppId", event("component_verify_ticket", time.Now().Add(time.Duration(i)*time.Second), "ComponentVerifyTicket", "ticket@@@bench"+itoa(i)), time.Now())
		raw, _ := readAll(r)
		body := &rewindBody{}
		r.Body = body
		pushes[i] = push{r, body, raw}
	}
	w := &reusedWriter{h: http.Header{}}
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
		p.body.Reset(p.raw)
		w.reset()
		h.ServeHTTP(w, p.r)
		if w.code != http.StatusOK {
			b.Fatal(w.code)
		}
	}
}

// rewindBody is a request body that can be read again.
type rewindBody struct{ bytes.Reader }

func (*rewindBody) Close() error { return nil }

// reusedWriter is a ResponseWriter kept across requests.
type reusedWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *reusedWriter) reset()               { clear(w.h); w.code, w.n = 0, 0 }
func (w *reusedWriter) Header() http.Header  { return w.h }
func (w *reusedWriter) WriteHeader(code int) { w.code = code }
func (w *reusedWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}
