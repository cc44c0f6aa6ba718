package pay_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wxopen-go/wxopen/pay"
)

// BenchmarkJSAPIPrepay measures one prepay round trip to the loopback emulator (request signing,
// the emulator's verification and signing, response verification, paySign), per mode.
func BenchmarkJSAPIPrepay(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	for _, appID := range []string{directAppID, partnerAppID} {
		b.Run(appID, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				_, err := f.client.JSAPIPrepay(ctx, appID, pay.PrepayRequest{OpenID: openID, AmountFen: 1,
					Description: "bench", OutTradeNo: fmt.Sprintf("BENCH%s%08d", appID[len(appID)-2:], i),
					NotifyURL: f.notifyURL(appID)})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNotifyHandler measures handling one payment notification: merchant lookup, signature
// verification, AES-GCM decryption, decoding and the (empty) callback.
func BenchmarkNotifyHandler(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	if _, err := f.client.JSAPIPrepay(ctx, directAppID, pay.PrepayRequest{OpenID: openID, AmountFen: 1,
		Description: "bench", OutTradeNo: "BENCHNOTIFY", NotifyURL: f.notifyURL(directAppID)}); err != nil {
		b.Fatal(err)
	}
	if err := f.emu.Pay(ctx, "BENCHNOTIFY"); err != nil {
		b.Fatal(err)
	}
	n := f.emu.Notifications()[0]
	h, err := pay.NewNotifyHandler(f.client, pay.NotifyConfig{
		OnTransaction: func(context.Context, *pay.TransactionNotification) error { return nil }})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest(http.MethodPost, "/wxpay/notify/"+directAppID, bytes.NewReader(n.Body))
		r.Header = n.Header
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusNoContent {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
