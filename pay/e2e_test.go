package pay_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wechatpay-apiv3/wechatpay-go/core"

	"github.com/wxopen-go/wxopen/pay"
	"github.com/wxopen-go/wxopen/wxtest/paytest"
)

func TestDirectModeEndToEnd(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	expire := time.Now().Add(time.Hour)

	rp, err := f.client.JSAPIPrepay(ctx, directAppID, pay.PrepayRequest{
		OpenID: openID, AmountFen: 990, Description: "Latte 大杯", OutTradeNo: "D20240601-0001",
		NotifyURL: f.notifyURL(directAppID), Attach: "table=7", TimeExpire: expire,
	})
	require.NoError(t, err)

	// The request: the direct endpoint, signed by the merchant, with the merchant's fields.
	req, body := lastRequest(t, f.emu)
	assert.Equal(t, "POST", req.Method)
	assert.Equal(t, "/v3/pay/transactions/jsapi", req.URI)
	assert.Equal(t, directMchID, req.MchID)
	assert.Equal(t, http.StatusOK, req.Status)
	assert.Equal(t, directAppID, body["appid"])
	assert.Equal(t, directMchID, body["mchid"])
	assert.Equal(t, "Latte 大杯", body["description"])
	assert.Equal(t, "D20240601-0001", body["out_trade_no"])
	assert.Equal(t, f.notifyURL(directAppID), body["notify_url"])
	assert.Equal(t, "table=7", body["attach"])
	assert.Equal(t, expire.Truncate(time.Second).In(time.FixedZone("", 8*3600)).Format(time.RFC3339), body["time_expire"])
	assert.Equal(t, map[string]any{"total": float64(990), "currency": "CNY"}, body["amount"])
	assert.Equal(t, map[string]any{"openid": openID}, body["payer"])
	assert.NotContains(t, body, "sp_mchid")

	// The wx.requestPayment parameters, signed by the merchant's key.
	assert.Equal(t, directAppID, rp.AppID)
	assert.True(t, strings.HasPrefix(rp.PrepayID, "wx"), rp.PrepayID)
	assert.Equal(t, "prepay_id="+rp.PrepayID, rp.Package)
	assert.Equal(t, "RSA", rp.SignType)
	assert.Len(t, rp.NonceStr, 32)
	ts, err := time.Parse(time.RFC3339, time.Unix(mustInt(t, rp.TimeStamp), 0).Format(time.RFC3339))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), ts, time.Minute)
	verifyPaySign(t, &key(t, 1).PublicKey, directAppID, rp)
	js, err := json.Marshal(rp)
	require.NoError(t, err)
	assert.JSONEq(t, `{"timeStamp":"`+rp.TimeStamp+`","nonceStr":"`+rp.NonceStr+`","package":"`+rp.Package+
		`","signType":"RSA","paySign":"`+rp.PaySign+`"}`, string(js))

	// Not paid yet.
	tx, err := f.client.QueryByOutTradeNo(ctx, directAppID, "D20240601-0001")
	require.NoError(t, err)
	assert.Equal(t, pay.TradeNotPay, tx.TradeState)
	assert.False(t, tx.Paid())
	req, _ = lastRequest(t, f.emu)
	assert.Equal(t, "GET", req.Method)
	assert.Equal(t, "/v3/pay/transactions/out-trade-no/D20240601-0001?mchid="+directMchID, req.URI)

	// The user pays: the notification reaches the callback, typed.
	require.NoError(t, f.emu.Pay(ctx, "D20240601-0001"))
	require.Len(t, f.got.txs, 1)
	n := f.got.txs[0]
	assert.NotEmpty(t, n.ID)
	assert.Equal(t, "TRANSACTION.SUCCESS", n.EventType)
	assert.Equal(t, directAppID, n.AppID)
	assert.Equal(t, pay.ModeDirect, n.Mode)
	assert.False(t, n.CreateTime.IsZero())
	assert.Equal(t, pay.TradeSuccess, n.Transaction.TradeState)
	assert.Equal(t, "D20240601-0001", n.Transaction.OutTradeNo)
	assert.NotEmpty(t, n.Transaction.TransactionID)
	assert.Equal(t, directMchID, n.Transaction.MchID)
	assert.Equal(t, openID, n.Transaction.OpenID)
	assert.Equal(t, int64(990), n.Transaction.TotalFen)
	assert.Equal(t, "table=7", n.Transaction.Attach)
	assert.False(t, n.Transaction.SuccessTime.IsZero())
	assert.Equal(t, http.StatusNoContent, f.emu.Notifications()[0].Status)

	// Query shows SUCCESS, by out_trade_no and by transaction id.
	tx, err = f.client.QueryByOutTradeNo(ctx, directAppID, "D20240601-0001")
	require.NoError(t, err)
	assert.Equal(t, pay.TradeSuccess, tx.TradeState)
	assert.True(t, tx.Paid())
	assert.Equal(t, n.Transaction.TransactionID, tx.TransactionID)
	assert.Equal(t, "JSAPI", tx.TradeType)
	assert.Equal(t, int64(990), tx.PayerTotalFen)
	byID, err := f.client.QueryByTransactionID(ctx, directAppID, tx.TransactionID)
	require.NoError(t, err)
	assert.Equal(t, tx, byID)
	req, _ = lastRequest(t, f.emu)
	assert.Equal(t, "/v3/pay/transactions/id/"+tx.TransactionID+"?mchid="+directMchID, req.URI)

	// Refund part of it.
	r, err := f.client.Refund(ctx, directAppID, pay.RefundRequest{OutTradeNo: "D20240601-0001", OutRefundNo: "R-0001",
		RefundFen: 300, TotalFen: 990, Reason: "少了一份", NotifyURL: f.notifyURL(directAppID)})
	require.NoError(t, err)
	assert.Equal(t, pay.RefundProcessing, r.Status)
	assert.Equal(t, int64(300), r.RefundFen)
	assert.Equal(t, tx.TransactionID, r.TransactionID)
	assert.NotEmpty(t, r.RefundID)
	req, body = lastRequest(t, f.emu)
	assert.Equal(t, "/v3/refund/domestic/refunds", req.URI)
	assert.Equal(t, directMchID, req.MchID)
	assert.NotContains(t, body, "sub_mchid")
	assert.Equal(t, "少了一份", body["reason"])
	assert.Equal(t, map[string]any{"refund": float64(300), "total": float64(990), "currency": "CNY"}, body["amount"])

	require.NoError(t, f.emu.CompleteRefund(ctx, "R-0001"))
	require.Len(t, f.got.refunds, 1)
	rn := f.got.refunds[0]
	assert.Equal(t, "REFUND.SUCCESS", rn.EventType)
	assert.Equal(t, directAppID, rn.AppID)
	assert.Equal(t, directMchID, rn.MchID)
	assert.Equal(t, pay.RefundSuccess, rn.Refund.Status)
	assert.Equal(t, r.RefundID, rn.Refund.RefundID)
	assert.Equal(t, int64(300), rn.Refund.RefundFen)
	assert.False(t, rn.Refund.SuccessTime.IsZero())

	qr, err := f.client.QueryRefund(ctx, directAppID, "R-0001")
	require.NoError(t, err)
	assert.Equal(t, pay.RefundSuccess, qr.Status)
	req, _ = lastRequest(t, f.emu)
	assert.Equal(t, "/v3/refund/domestic/refunds/R-0001", req.URI)

	tx, err = f.client.QueryByOutTradeNo(ctx, directAppID, "D20240601-0001")
	require.NoError(t, err)
	assert.Equal(t, pay.TradeRefund, tx.TradeState)
	assert.True(t, tx.Paid())
}

func TestPartnerModeEndToEnd(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	rp, err := f.client.JSAPIPrepay(ctx, partnerAppID, pay.PrepayRequest{
		OpenID: openID, AmountFen: 1500, Description: "Bagel", OutTradeNo: "P20240601_0001",
		NotifyURL: f.notifyURL(partnerAppID),
	})
	require.NoError(t, err)

	req, body := lastRequest(t, f.emu)
	assert.Equal(t, "/v3/pay/partner/transactions/jsapi", req.URI)
	assert.Equal(t, spMchID, req.MchID, "partner calls are signed by the service provider")
	assert.Equal(t, spAppID, body["sp_appid"])
	assert.Equal(t, spMchID, body["sp_mchid"])
	assert.Equal(t, partnerAppID, body["sub_appid"])
	assert.Equal(t, partnerSubMch, body["sub_mchid"])
	assert.Equal(t, map[string]any{"sub_openid": openID}, body["payer"])
	assert.NotContains(t, body, "appid")
	assert.NotContains(t, body, "attach")
	assert.NotContains(t, body, "time_expire")

	// paySign: the mini program (sub_appid) is the appId, the service provider's key signs.
	assert.Equal(t, partnerAppID, rp.AppID)
	verifyPaySign(t, &key(t, 2).PublicKey, partnerAppID, rp)

	require.NoError(t, f.emu.Pay(ctx, "P20240601_0001"))
	require.Len(t, f.got.txs, 1)
	n := f.got.txs[0]
	assert.Equal(t, pay.ModePartner, n.Mode)
	assert.Equal(t, partnerAppID, n.AppID)
	assert.Equal(t, partnerAppID, n.Transaction.AppID)
	assert.Equal(t, partnerSubMch, n.Transaction.MchID)
	assert.Equal(t, spMchID, n.Transaction.SpMchID)
	assert.Equal(t, spAppID, n.Transaction.SpAppID)
	assert.Equal(t, openID, n.Transaction.OpenID)
	assert.Equal(t, pay.TradeSuccess, n.Transaction.TradeState)

	tx, err := f.client.QueryByOutTradeNo(ctx, partnerAppID, "P20240601_0001")
	require.NoError(t, err)
	assert.Equal(t, pay.TradeSuccess, tx.TradeState)
	req, _ = lastRequest(t, f.emu)
	assert.Equal(t, "/v3/pay/partner/transactions/out-trade-no/P20240601_0001?sp_mchid="+spMchID+"&sub_mchid="+partnerSubMch, req.URI)
	byID, err := f.client.QueryByTransactionID(ctx, partnerAppID, tx.TransactionID)
	require.NoError(t, err)
	assert.Equal(t, tx, byID)
	req, _ = lastRequest(t, f.emu)
	assert.Equal(t, "/v3/pay/partner/transactions/id/"+tx.TransactionID+"?sp_mchid="+spMchID+"&sub_mchid="+partnerSubMch, req.URI)

	// The same order number at another sub-merchant is another order.
	_, err = f.client.QueryByOutTradeNo(ctx, partner2AppID, "P20240601_0001")
	assert.Equal(t, pay.CodeOrderNotExist, pay.ErrorCode(err))

	r, err := f.client.Refund(ctx, partnerAppID, pay.RefundRequest{TransactionID: tx.TransactionID, OutRefundNo: "PR@0001",
		RefundFen: 1500, TotalFen: 1500, NotifyURL: f.notifyURL(partnerAppID)})
	require.NoError(t, err)
	assert.Equal(t, pay.RefundProcessing, r.Status)
	req, body = lastRequest(t, f.emu)
	assert.Equal(t, spMchID, req.MchID)
	assert.Equal(t, partnerSubMch, body["sub_mchid"])
	assert.Equal(t, tx.TransactionID, body["transaction_id"])

	require.NoError(t, f.emu.CompleteRefund(ctx, "PR@0001"))
	require.Len(t, f.got.refunds, 1)
	rn := f.got.refunds[0]
	assert.Equal(t, partnerAppID, rn.AppID)
	assert.Equal(t, partnerSubMch, rn.MchID)
	assert.Equal(t, spMchID, rn.SpMchID)
	assert.Equal(t, pay.RefundSuccess, rn.Refund.Status)

	qr, err := f.client.QueryRefund(ctx, partnerAppID, "PR@0001")
	require.NoError(t, err)
	assert.Equal(t, pay.RefundSuccess, qr.Status)
	req, _ = lastRequest(t, f.emu)
	assert.Equal(t, "/v3/refund/domestic/refunds/PR@0001?sub_mchid="+partnerSubMch, req.URI)
}

func mustInt(t testing.TB, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		require.True(t, c >= '0' && c <= '9', "timeStamp %q must be decimal", s)
		n = n*10 + int64(c-'0')
	}
	return n
}

func TestWrongKeyGets401AndClearError(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// The merchant's configuration holds a key that is not the one registered with WeChat Pay.
	bad := account(t, f.emu, directMchID, "DIRECTSERIAL01", key(t, 4), directV3)
	require.NoError(t, f.merchants.Put(pay.Merchant{AppID: directAppID, Direct: bad}))

	_, err := f.client.JSAPIPrepay(ctx, directAppID, pay.PrepayRequest{OpenID: openID, AmountFen: 1,
		Description: "x", OutTradeNo: "WRONGKEY01", NotifyURL: f.notifyURL(directAppID)})
	require.Error(t, err)
	var apiErr *pay.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	assert.Equal(t, pay.CodeSignError, apiErr.Code)
	assert.Equal(t, "POST /v3/pay/transactions/jsapi", apiErr.Op)
	assert.NotEmpty(t, apiErr.RequestID)
	assert.Contains(t, err.Error(), "HTTP 401 SIGN_ERROR")
	assert.Contains(t, err.Error(), "certificate serial number and private key")
	assert.True(t, errors.Is(err, &pay.APIError{Code: pay.CodeSignError}))
	assert.True(t, errors.Is(err, &pay.APIError{StatusCode: 401}))
	var coreErr *core.APIError
	assert.ErrorAs(t, err, &coreErr, "wechatpay-go's error stays reachable")

	req, _ := lastRequest(t, f.emu)
	assert.Equal(t, http.StatusUnauthorized, req.Status)
	assert.Equal(t, pay.CodeSignError, req.Code)

	// A wrong certificate serial is refused the same way.
	wrongSerial := account(t, f.emu, directMchID, "OTHERSERIAL", key(t, 1), directV3)
	require.NoError(t, f.merchants.Put(pay.Merchant{AppID: directAppID, Direct: wrongSerial}))
	_, err = f.client.QueryByOutTradeNo(ctx, directAppID, "WRONGKEY01")
	assert.Equal(t, pay.CodeSignError, pay.ErrorCode(err))

	// Nothing was created: with the right key the order does not exist.
	good := account(t, f.emu, directMchID, "DIRECTSERIAL01", key(t, 1), directV3)
	require.NoError(t, f.merchants.Put(pay.Merchant{AppID: directAppID, Direct: good}))
	_, err = f.client.QueryByOutTradeNo(ctx, directAppID, "WRONGKEY01")
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	assert.True(t, errors.Is(err, &pay.APIError{Code: pay.CodeOrderNotExist}))
}

func TestUntrustedResponseIsRejected(t *testing.T) {
	f := newFixture(t)
	// The client trusts another WeChat Pay public key than the one the emulator signs with.
	acct := account(t, f.emu, directMchID, "DIRECTSERIAL01", key(t, 1), directV3)
	acct.PublicKey = &key(t, 4).PublicKey
	require.NoError(t, f.merchants.Put(pay.Merchant{AppID: directAppID, Direct: acct}))
	_, err := f.client.JSAPIPrepay(context.Background(), directAppID, pay.PrepayRequest{OpenID: openID, AmountFen: 1,
		Description: "x", OutTradeNo: "UNTRUSTED1", NotifyURL: f.notifyURL(directAppID)})
	require.ErrorIs(t, err, pay.ErrResponseNotVerified)
	assert.Contains(t, err.Error(), "POST /v3/pay/transactions/jsapi")

	// A trusted key under another id is not used either.
	acct = account(t, f.emu, directMchID, "DIRECTSERIAL01", key(t, 1), directV3)
	acct.PublicKeyID = "PUB_KEY_ID_SOMEOTHER"
	require.NoError(t, f.merchants.Put(pay.Merchant{AppID: directAppID, Direct: acct}))
	_, err = f.client.QueryByOutTradeNo(context.Background(), directAppID, "UNTRUSTED1")
	require.ErrorIs(t, err, pay.ErrResponseNotVerified)
}

func TestCloseOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, appID := range []string{directAppID, partnerAppID} {
		t.Run(appID, func(t *testing.T) {
			no := "CLOSE-" + appID[len(appID)-2:]
			_, err := f.client.JSAPIPrepay(ctx, appID, pay.PrepayRequest{OpenID: openID, AmountFen: 100,
				Description: "x", OutTradeNo: no, NotifyURL: f.notifyURL(appID)})
			require.NoError(t, err)
			require.NoError(t, f.client.Close(ctx, appID, no))
			req, body := lastRequest(t, f.emu)
			assert.Equal(t, "POST", req.Method)
			assert.Equal(t, http.StatusNoContent, req.Status)
			if appID == directAppID {
				assert.Equal(t, "/v3/pay/transactions/out-trade-no/"+no+"/close", req.URI)
				assert.Equal(t, map[string]any{"mchid": directMchID}, body)
			} else {
				assert.Equal(t, "/v3/pay/partner/transactions/out-trade-no/"+no+"/close", req.URI)
				assert.Equal(t, map[string]any{"sp_mchid": spMchID, "sub_mchid": partnerSubMch}, body)
			}
			tx, err := f.client.QueryByOutTradeNo(ctx, appID, no)
			require.NoError(t, err)
			assert.Equal(t, pay.TradeClosed, tx.TradeState)
			require.Error(t, f.emu.Pay(ctx, no), "a closed order cannot be paid")
			// Reusing a closed order number is refused.
			_, err = f.client.JSAPIPrepay(ctx, appID, pay.PrepayRequest{OpenID: openID, AmountFen: 100,
				Description: "x", OutTradeNo: no, NotifyURL: f.notifyURL(appID)})
			assert.Equal(t, pay.CodeOrderClosed, pay.ErrorCode(err))
		})
	}

	// A paid order cannot be closed.
	_, err := f.client.JSAPIPrepay(ctx, directAppID, pay.PrepayRequest{OpenID: openID, AmountFen: 100,
		Description: "x", OutTradeNo: "PAIDCLOSE1", NotifyURL: f.notifyURL(directAppID)})
	require.NoError(t, err)
	require.NoError(t, f.emu.Pay(ctx, "PAIDCLOSE1"))
	err = f.client.Close(ctx, directAppID, "PAIDCLOSE1")
	var apiErr *pay.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	assert.Contains(t, err.Error(), "POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close")
}

func TestPrepayIsIdempotentPerOrderNumber(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := pay.PrepayRequest{OpenID: openID, AmountFen: 100, Description: "x", OutTradeNo: "IDEMPOTENT1",
		NotifyURL: f.notifyURL(directAppID)}
	a, err := f.client.JSAPIPrepay(ctx, directAppID, req)
	require.NoError(t, err)
	b, err := f.client.JSAPIPrepay(ctx, directAppID, req)
	require.NoError(t, err)
	assert.Equal(t, a.PrepayID, b.PrepayID, "the same order placed twice keeps its prepay_id")
	assert.NotEqual(t, a.NonceStr, b.NonceStr, "each signature has its own nonce")
	req.AmountFen = 200
	_, err = f.client.JSAPIPrepay(ctx, directAppID, req)
	assert.Equal(t, pay.CodeOutTradeNoUsed, pay.ErrorCode(err))
	assert.Contains(t, err.Error(), "use a new one")
}

func TestRefundErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.client.JSAPIPrepay(ctx, directAppID, pay.PrepayRequest{OpenID: openID, AmountFen: 500,
		Description: "x", OutTradeNo: "REFUNDERR1", NotifyURL: f.notifyURL(directAppID)})
	require.NoError(t, err)

	// Not paid yet.
	_, err = f.client.Refund(ctx, directAppID, pay.RefundRequest{OutTradeNo: "REFUNDERR1", OutRefundNo: "RE1", RefundFen: 100, TotalFen: 500})
	assert.Equal(t, pay.CodeInvalidRequest, pay.ErrorCode(err))

	require.NoError(t, f.emu.Pay(ctx, "REFUNDERR1"))
	r1, err := f.client.Refund(ctx, directAppID, pay.RefundRequest{OutTradeNo: "REFUNDERR1", OutRefundNo: "RE1", RefundFen: 400, TotalFen: 500})
	require.NoError(t, err)
	// Repeating the same refund refunds once.
	r2, err := f.client.Refund(ctx, directAppID, pay.RefundRequest{OutTradeNo: "REFUNDERR1", OutRefundNo: "RE1", RefundFen: 400, TotalFen: 500})
	require.NoError(t, err)
	assert.Equal(t, r1.RefundID, r2.RefundID)
	// More than what is left.
	_, err = f.client.Refund(ctx, directAppID, pay.RefundRequest{OutTradeNo: "REFUNDERR1", OutRefundNo: "RE2", RefundFen: 200, TotalFen: 500})
	assert.Equal(t, pay.CodeInvalidRequest, pay.ErrorCode(err))
	// The wrong total.
	_, err = f.client.Refund(ctx, directAppID, pay.RefundRequest{OutTradeNo: "REFUNDERR1", OutRefundNo: "RE3", RefundFen: 50, TotalFen: 499})
	assert.Equal(t, pay.CodeParamError, pay.ErrorCode(err))
	// An order of another merchant is not found.
	_, err = f.client.Refund(ctx, direct2AppID, pay.RefundRequest{OutTradeNo: "REFUNDERR1", OutRefundNo: "RE4", RefundFen: 50, TotalFen: 500})
	assert.Equal(t, pay.CodeResourceNotExists, pay.ErrorCode(err))
	// An unknown refund.
	_, err = f.client.QueryRefund(ctx, directAppID, "NOSUCHREFUND")
	var apiErr *pay.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	assert.Equal(t, pay.CodeResourceNotExists, apiErr.Code)
	assert.Equal(t, "GET /v3/refund/domestic/refunds/{out_refund_no}", apiErr.Op)
}

func TestBaseURLOption(t *testing.T) {
	f := newFixture(t)
	// The same merchants, reached through WithBaseURL and a plain http.Client instead of emu.Client().
	c, err := pay.New(pay.Config{Merchants: f.merchants, ServiceProvider: &f.sp}, pay.WithBaseURL(f.emu.URL+"/"))
	require.NoError(t, err)
	rp, err := c.JSAPIPrepay(context.Background(), partnerAppID, pay.PrepayRequest{OpenID: openID, AmountFen: 1,
		Description: "x", OutTradeNo: "BASEURL001", NotifyURL: f.notifyURL(partnerAppID)})
	require.NoError(t, err)
	verifyPaySign(t, &key(t, 2).PublicKey, partnerAppID, rp)
	req, _ := lastRequest(t, f.emu)
	assert.Equal(t, "/v3/pay/partner/transactions/jsapi", req.URI)

	// A base URL with a path prefix puts it in front of the API path on the wire. The signature
	// covers the API path only (for a proxy that strips the prefix), so the emulator, which sees
	// the prefix, refuses it.
	c, err = pay.New(pay.Config{Merchants: f.merchants}, pay.WithBaseURL(f.emu.URL+"/prefix"))
	require.NoError(t, err)
	_, err = c.QueryByOutTradeNo(context.Background(), directAppID, "BASEURL001")
	assert.Equal(t, pay.CodeSignError, pay.ErrorCode(err))
	req, _ = lastRequest(t, f.emu)
	assert.Equal(t, "/prefix/v3/pay/transactions/out-trade-no/BASEURL001?mchid="+directMchID, req.URI)
}

func TestTransportError(t *testing.T) {
	f := newFixture(t)
	f.emu.Close()
	_, err := f.client.QueryByOutTradeNo(context.Background(), directAppID, "TRANSPORT1")
	require.Error(t, err)
	var apiErr *pay.APIError
	assert.False(t, errors.As(err, &apiErr))
	assert.NotErrorIs(t, err, pay.ErrResponseNotVerified)
	assert.Contains(t, err.Error(), "wechatpay: GET /v3/pay/transactions/out-trade-no/{out_trade_no}")
}

func TestConcurrentCallsBothModes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	apps := []string{directAppID, direct2AppID, partnerAppID, partner2AppID}
	signer := map[string]int{directAppID: 1, direct2AppID: 3, partnerAppID: 2, partner2AppID: 2}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			appID := apps[i%len(apps)]
			no := fmt.Sprintf("CONC%s%02d", appID[len(appID)-1:], i)
			rp, err := f.client.JSAPIPrepay(ctx, appID, pay.PrepayRequest{OpenID: openID, AmountFen: int64(i + 1),
				Description: "x", OutTradeNo: no + "xx", NotifyURL: f.notifyURL(appID)})
			if err != nil {
				errs <- err
				return
			}
			verifyPaySign(t, &key(t, signer[appID]).PublicKey, appID, rp)
			if err := f.emu.Pay(ctx, no+"xx"); err != nil {
				errs <- err
				return
			}
			tx, err := f.client.QueryByOutTradeNo(ctx, appID, no+"xx")
			if err != nil {
				errs <- err
				return
			}
			if tx.TradeState != pay.TradeSuccess || tx.TotalFen != int64(i+1) || tx.AppID != appID {
				errs <- errors.New("wrong transaction for " + no)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	txs, _ := f.got.counts()
	assert.Equal(t, 32, txs)
}

func TestEmulatorRefusesOtherHosts(t *testing.T) {
	emu := paytest.NewTestServer(t, paytest.WithWeChatPayKey(key(t, 0), "PUB_KEY_ID_X"))
	_, err := emu.Client().Get("http://127.0.0.1:1/")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "only api.mch.weixin.qq.com is emulated")
}
