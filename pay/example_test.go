package pay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log"
	"strings"

	"github.com/wxopen-go/wxopen/pay"
	"github.com/wxopen-go/wxopen/wxtest/paytest"
)

// JSAPIPrepay places an order for a user of a merchant's mini program and returns the signed
// parameters of wx.requestPayment. Here the merchant takes payments with its own merchant account
// (direct mode), against the WeChat Pay emulator.
func ExampleClient_JSAPIPrepay() {
	const (
		shop     = "wxc0ffee0000000001" // the merchant's mini program (authorizer appid)
		mchID    = "1900000001"
		serial   = "3775B6A45ACD588826D15E583A95F5DD0000DEMO"
		apiV3Key = "CafeAPIv3Key-0123456789abcdefghi"
	)
	// In production the merchant's API private key is apiclient_key.pem and the WeChat Pay public
	// key pub_key.pem, both from the merchant platform; here the key is generated and the emulator
	// plays WeChat Pay.
	merchantKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	emu, err := paytest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	err = emu.AddMerchant(paytest.Merchant{MchID: mchID, SerialNo: serial, PublicKey: &merchantKey.PublicKey,
		APIv3Key: apiV3Key, AppIDs: []string{shop}})
	if err != nil {
		log.Fatal(err)
	}

	merchants, err := pay.NewMemoryMerchants(pay.Merchant{AppID: shop, Direct: &pay.Account{
		MchID: mchID, CertSerial: serial, PrivateKey: merchantKey, APIv3Key: apiV3Key,
		PublicKeyID: emu.PublicKeyID(), PublicKey: emu.PublicKey(),
	}})
	if err != nil {
		log.Fatal(err)
	}
	client, err := pay.New(pay.Config{Merchants: merchants}, pay.WithHTTPClient(emu.Client()))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(merchants) // never shows a key

	ctx := context.Background()
	params, err := client.JSAPIPrepay(ctx, shop, pay.PrepayRequest{
		OpenID:      "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
		AmountFen:   990,
		Description: "Latte",
		OutTradeNo:  "A20240601001",
		NotifyURL:   pay.NotifyURL("https://pay.example.com/wxpay/notify", shop),
	})
	if err != nil {
		log.Fatal(err)
	}
	// json.Marshal(params) is the object the mini program passes to wx.requestPayment.
	fmt.Println("signType:", params.SignType)
	fmt.Println("package:", strings.HasPrefix(params.Package, "prepay_id="), params.Package == "prepay_id="+params.PrepayID)

	order, err := client.QueryByOutTradeNo(ctx, shop, "A20240601001")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("order:", order.TradeState, order.TotalFen, order.Paid())
	// Output:
	// pay.MemoryMerchants{1 merchants}
	// signType: RSA
	// package: true true
	// order: NOTPAY 990 false
}
