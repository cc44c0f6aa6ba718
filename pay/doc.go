// Package pay takes WeChat Pay (API v3) payments in the platform's merchants' mini programs, in
// both ways a third-party platform can set them up:
//
//   - direct mode: the merchant has its own merchant account (mchid, API certificate and private
//     key, APIv3 key, WeChat Pay public key) bound to its mini program;
//   - partner (service-provider) mode: the platform is a WeChat Pay service provider, the merchant
//     its sub-merchant (sub_mchid); the platform's sp_mchid/sp_appid and keys sign every call and the
//     merchant's mini program is the sub_appid.
//
// Every call is keyed by the authorizer appid (the merchant's mini program); a MerchantSource
// (MemoryMerchants, or your own over a database) says which mode and keys apply:
//
//	merchants, _ := pay.NewMemoryMerchants(
//		pay.Merchant{AppID: "wxStoreA", Direct: &pay.Account{MchID: "1900000001", CertSerial: "…",
//			PrivateKey: key, APIv3Key: v3key, PublicKeyID: "PUB_KEY_ID_…", PublicKey: wechatpayPub}},
//		pay.Merchant{AppID: "wxStoreB", SubMchID: "1900000109"},
//	)
//	client, _ := pay.New(pay.Config{Merchants: merchants, ServiceProvider: &sp})
//	params, err := client.JSAPIPrepay(ctx, "wxStoreA", pay.PrepayRequest{OpenID: openid, AmountFen: 990,
//		Description: "Latte", OutTradeNo: "A20240601001", NotifyURL: pay.NotifyURL(base, "wxStoreA")})
//	// send params (JSON) to the mini program: wx.requestPayment({...params})
//
// Request signing, response verification, notification verification and decryption and the API
// services are those of WeChat Pay's own SDK, github.com/wechatpay-apiv3/wechatpay-go; this package
// adds the per-merchant configuration, validation before sending, typed results the same in both
// modes, and the notification handler. Errors from WeChat Pay are *APIError; a response whose
// signature does not verify is ErrResponseNotVerified; bad input is a *wxerr.ValidationError before
// any request.
//
// Printing or logging an Account, ServiceProvider, Merchant or Client never shows a private key or
// APIv3 key.
package pay
