// Command pay walks a third-party platform's payment flow for two merchants' mini programs against
// the in-process WeChat Pay emulator (wxtest/paytest): one merchant with its own merchant account
// (direct mode), one as a sub-merchant of the platform's service-provider account (partner mode).
//
// For each: JSAPI prepay → the parameters for wx.requestPayment → the user pays (emulated) →
// the signed, encrypted notification is verified and handled → query shows SUCCESS → refund →
// the refund notification is handled → refund query shows SUCCESS.
//
//	go run ./examples/pay
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"time"

	"github.com/wxopen-go/wxopen/pay"
	"github.com/wxopen-go/wxopen/wxtest/paytest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// shop is one merchant's mini program.
type shop struct {
	name, appID string
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Keys. In production these come from the merchant platform (apiclient_key.pem, the APIv3 key,
	// the WeChat Pay public key pub_key.pem and its id); here they are generated.
	fmt.Println("generating test keys (RSA-2048)...")
	var (
		keys = make([]*rsa.PrivateKey, 3) // WeChat Pay, direct merchant, service provider
		errs = make([]error, 3)
		wg   sync.WaitGroup
	)
	for i := range keys {
		wg.Add(1)
		go func() { defer wg.Done(); keys[i], errs[i] = rsa.GenerateKey(rand.Reader, 2048) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	wechatpayKey, merchantKey, spKey := keys[0], keys[1], keys[2]

	// The WeChat Pay emulator, with the two merchant accounts registered as WeChat Pay knows them.
	emu, err := paytest.NewServer(paytest.WithWeChatPayKey(wechatpayKey, "PUB_KEY_ID_0114232134912410000000000000DEMO"))
	if err != nil {
		return err
	}
	defer emu.Close()
	direct := shop{"Corner Café (direct merchant)", "wxc0ffee0000000001"}
	partner := shop{"Bagel Bar (sub-merchant)", "wxbage10000000002"}
	const (
		directMchID = "1900000001"
		spAppID     = "wxplatform00000001"
		spMchID     = "1900000100"
		subMchID    = "1900000109"
		directV3    = "CafeAPIv3Key-0123456789abcdefghi"
		spV3        = "PlatformAPIv3Key-0123456789abcde"
	)
	steps := []error{
		emu.AddMerchant(paytest.Merchant{MchID: directMchID, SerialNo: "3775B6A45ACD588826D15E583A95F5DD********",
			PublicKey: &merchantKey.PublicKey, APIv3Key: directV3, AppIDs: []string{direct.appID}}),
		emu.AddMerchant(paytest.Merchant{MchID: spMchID, SerialNo: "5157F09EFDC096DE15EBE81A47057A72********",
			PublicKey: &spKey.PublicKey, APIv3Key: spV3, AppIDs: []string{spAppID}}),
		emu.AddSubMerchant(paytest.SubMerchant{SpMchID: spMchID, SubMchID: subMchID, AppIDs: []string{partner.appID}}),
	}
	for _, err := range steps {
		if err != nil {
			return err
		}
	}

	// The platform's payment configuration: merchants keyed by authorizer appid.
	merchants, err := pay.NewMemoryMerchants(
		pay.Merchant{AppID: direct.appID, Direct: &pay.Account{
			MchID: directMchID, CertSerial: "3775B6A45ACD588826D15E583A95F5DD********", PrivateKey: merchantKey,
			APIv3Key: directV3, PublicKeyID: emu.PublicKeyID(), PublicKey: emu.PublicKey(),
		}},
		pay.Merchant{AppID: partner.appID, SubMchID: subMchID},
	)
	if err != nil {
		return err
	}
	sp := &pay.ServiceProvider{AppID: spAppID, Account: pay.Account{
		MchID: spMchID, CertSerial: "5157F09EFDC096DE15EBE81A47057A72********", PrivateKey: spKey,
		APIv3Key: spV3, PublicKeyID: emu.PublicKeyID(), PublicKey: emu.PublicKey(),
	}}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	client, err := pay.New(pay.Config{Merchants: merchants, ServiceProvider: sp},
		pay.WithHTTPClient(emu.Client()), pay.WithLogger(logger))
	if err != nil {
		return err
	}
	fmt.Printf("configured: %v\n            %v\n", merchants, sp)

	// The notification endpoint: one handler for every merchant, the appid in the path.
	events := make(chan string, 8)
	handler, err := pay.NewNotifyHandler(client, pay.NotifyConfig{
		OnTransaction: func(_ context.Context, n *pay.TransactionNotification) error {
			// Idempotent in a real service: "mark order paid unless it already is", keyed on
			// n.Transaction.TransactionID.
			events <- fmt.Sprintf("payment notification %s for %s: %s %s, %d fen, transaction %s",
				n.ID[:8], n.AppID, n.EventType, n.Transaction.OutTradeNo, n.Transaction.TotalFen, n.Transaction.TransactionID)
			return nil
		},
		OnRefund: func(_ context.Context, n *pay.RefundNotification) error {
			events <- fmt.Sprintf("refund notification %s for %s: %s %s, %d fen",
				n.ID[:8], n.AppID, n.EventType, n.Refund.OutRefundNo, n.Refund.RefundFen)
			return nil
		},
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("POST /wxpay/notify/{appid}", handler)
	notifySrv := httptest.NewServer(mux)
	defer notifySrv.Close()

	for i, s := range []shop{direct, partner} {
		if err := walk(ctx, client, emu, notifySrv.URL+"/wxpay/notify", s, i, events); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	fmt.Println("\ndone: both modes paid, notified, queried and refunded")
	return nil
}

func walk(ctx context.Context, client *pay.Client, emu *paytest.Server, notifyBase string, s shop, i int, events <-chan string) error {
	fmt.Printf("\n== %s, mini program %s\n", s.name, s.appID)
	outTradeNo := fmt.Sprintf("DEMO%s%02d", time.Now().Format("20060102150405"), i)
	notifyURL := pay.NotifyURL(notifyBase, s.appID)

	params, err := client.JSAPIPrepay(ctx, s.appID, pay.PrepayRequest{
		OpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", AmountFen: 2800, Description: "2 × flat white",
		OutTradeNo: outTradeNo, NotifyURL: notifyURL, Attach: "table=4",
	})
	if err != nil {
		return err
	}
	js, _ := json.Marshal(params)
	fmt.Printf("1. prepay %s → wx.requestPayment(%s)\n", outTradeNo, js)

	if err := emu.Pay(ctx, outTradeNo); err != nil {
		return err
	}
	fmt.Println("2. the user paid (emulated); WeChat Pay sent a signed, encrypted notification")
	fmt.Println("3.", <-events)

	tx, err := client.QueryByOutTradeNo(ctx, s.appID, outTradeNo)
	if err != nil {
		return err
	}
	fmt.Printf("4. query %s: %s (%s), paid %d fen at %s\n", outTradeNo, tx.TradeState, tx.TradeStateDesc,
		tx.PayerTotalFen, tx.SuccessTime.Format(time.RFC3339))

	refund, err := client.Refund(ctx, s.appID, pay.RefundRequest{
		TransactionID: tx.TransactionID, OutRefundNo: outTradeNo + "R1", RefundFen: 1400, TotalFen: 2800,
		Reason: "one coffee was cold", NotifyURL: notifyURL,
	})
	if err != nil {
		return err
	}
	fmt.Printf("5. refund %s: %s, %d of %d fen\n", refund.OutRefundNo, refund.Status, refund.RefundFen, refund.TotalFen)

	if err := emu.CompleteRefund(ctx, refund.OutRefundNo); err != nil {
		return err
	}
	fmt.Println("6.", <-events)

	refund, err = client.QueryRefund(ctx, s.appID, refund.OutRefundNo)
	if err != nil {
		return err
	}
	tx, err = client.QueryByOutTradeNo(ctx, s.appID, outTradeNo)
	if err != nil {
		return err
	}
	fmt.Printf("7. refund query: %s; order now %s\n", refund.Status, tx.TradeState)
	return nil
}
