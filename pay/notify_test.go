package pay_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/pay"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest/paytest"
)

// paidNotification places and pays an order of appID and returns the notification the emulator
// delivered (already handled once).
func paidNotification(t *testing.T, f *fixture, appID, outTradeNo string) paytest.Notification {
	t.Helper()
	ctx := context.Background()
	_, err := f.client.JSAPIPrepay(ctx, appID, pay.PrepayRequest{OpenID: openID, AmountFen: 100, Description: "x",
		OutTradeNo: outTradeNo, NotifyURL: f.notifyURL(appID)})
	require.NoError(t, err)
	require.NoError(t, f.emu.Pay(ctx, outTradeNo))
	ns := f.emu.Notifications()
	require.NotEmpty(t, ns)
	return ns[len(ns)-1]
}

// replay posts a (possibly altered) notification to the handler directly.
func replay(f *fixture, path string, header http.Header, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header = header.Clone()
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	return w
}

func failBody(t *testing.T, w *httptest.ResponseRecorder) map[string]string {
	t.Helper()
	var m map[string]string
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &m), w.Body.String())
	assert.Equal(t, "FAIL", m["code"])
	assert.Equal(t, "application/json; charset=utf-8", w.Header().Get("Content-Type"))
	return m
}

func TestTamperedNotificationIsRejected(t *testing.T) {
	f := newFixture(t)
	n := paidNotification(t, f, directAppID, "TAMPER0001")
	path := "/wxpay/notify/" + directAppID
	before, _ := f.got.counts()
	require.Equal(t, 1, before)

	var env map[string]any
	require.NoError(t, json.Unmarshal(n.Body, &env))
	resource := env["resource"].(map[string]any)
	ct, err := base64.StdEncoding.DecodeString(resource["ciphertext"].(string))
	require.NoError(t, err)

	reencode := func(mut func(env map[string]any)) []byte {
		var e map[string]any
		require.NoError(t, json.Unmarshal(n.Body, &e))
		mut(e)
		b, err := json.Marshal(e)
		require.NoError(t, err)
		return b
	}
	flipped := append([]byte(nil), ct...)
	flipped[0] ^= 1

	cases := []struct {
		name   string
		header func(h http.Header)
		body   []byte
		status int
	}{
		{"body: amount in ciphertext", nil, reencode(func(e map[string]any) {
			e["resource"].(map[string]any)["ciphertext"] = base64.StdEncoding.EncodeToString(flipped)
		}), http.StatusUnauthorized},
		{"body: summary", nil, bytes.Replace(n.Body, []byte(`"summary":"`), []byte(`"summary":"X`), 1), http.StatusUnauthorized},
		{"body: one trailing byte", nil, append(append([]byte(nil), n.Body...), ' '), http.StatusUnauthorized},
		{"signature", func(h http.Header) {
			sig, _ := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
			sig[10] ^= 0xff
			h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
		}, n.Body, http.StatusUnauthorized},
		{"signature missing", func(h http.Header) { h.Del("Wechatpay-Signature") }, n.Body, http.StatusUnauthorized},
		{"timestamp", func(h http.Header) {
			ts, _ := strconv.ParseInt(h.Get("Wechatpay-Timestamp"), 10, 64)
			h.Set("Wechatpay-Timestamp", strconv.FormatInt(ts+1, 10))
		}, n.Body, http.StatusUnauthorized},
		{"nonce", func(h http.Header) { h.Set("Wechatpay-Nonce", "x"+h.Get("Wechatpay-Nonce")) }, n.Body, http.StatusUnauthorized},
		{"serial (probe signature)", func(h http.Header) { h.Set("Wechatpay-Serial", "WECHATPAY/SIGNTEST/123") }, n.Body, http.StatusUnauthorized},
		{"signature type", func(h http.Header) { h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3") }, n.Body, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := n.Header.Clone()
			if tc.header != nil {
				tc.header(h)
			}
			w := replay(f, path, h, tc.body)
			assert.Equal(t, tc.status, w.Code, w.Body.String())
			failBody(t, w)
			after, _ := f.got.counts()
			assert.Equal(t, before, after, "the callback must not be called")
		})
	}

	// A notification signed more than 5 minutes ago is refused even with a valid signature.
	t.Run("expired", func(t *testing.T) {
		var offset atomic.Int64
		emu := paytest.NewTestServer(t, paytest.WithWeChatPayKey(key(t, 0), f.emu.PublicKeyID()),
			paytest.WithClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }))
		require.NoError(t, emu.AddMerchant(paytest.Merchant{MchID: directMchID, SerialNo: "DIRECTSERIAL01",
			PublicKey: &key(t, 1).PublicKey, APIv3Key: directV3}))
		c, err := pay.New(pay.Config{Merchants: f.merchants}, pay.WithHTTPClient(emu.Client()))
		require.NoError(t, err)
		_, err = c.JSAPIPrepay(context.Background(), directAppID, pay.PrepayRequest{OpenID: openID, AmountFen: 1,
			Description: "x", OutTradeNo: "EXPIRED001", NotifyURL: f.notifyURL(directAppID)})
		require.NoError(t, err)
		offset.Store(int64(-10 * time.Minute))
		err = emu.Pay(context.Background(), "EXPIRED001")
		var de *paytest.DeliveryError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, http.StatusUnauthorized, de.StatusCode)
		after, _ := f.got.counts()
		assert.Equal(t, before, after, "the callback must not be called")
	})

	// The untouched notification is still accepted (a duplicate delivery), with the same id.
	w := replay(f, path, n.Header, n.Body)
	assert.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	after, _ := f.got.counts()
	require.Equal(t, 2, after)
	assert.Equal(t, f.got.txs[0].ID, f.got.txs[1].ID, "a duplicate carries the same notification id")
	assert.Equal(t, f.got.txs[0].Transaction.TransactionID, f.got.txs[1].Transaction.TransactionID)
	assert.Equal(t, f.got.txs[0].Transaction.SuccessTime, f.got.txs[1].Transaction.SuccessTime)
}

func TestNotificationForAnotherMerchantIsRejected(t *testing.T) {
	f := newFixture(t)
	// Partner mode: every sub-merchant's notification verifies and decrypts with the service
	// provider's keys, so only the resource tells whose payment it is.
	n := paidNotification(t, f, partnerAppID, "CROSS00001")
	w := replay(f, "/wxpay/notify/"+partner2AppID, n.Header, n.Body)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, "notification is for another merchant", failBody(t, w)["message"])

	// Direct mode: another merchant's notification does not decrypt with its APIv3 key (the
	// emulator signs for every merchant with one WeChat Pay key, so the signature itself verifies).
	n = paidNotification(t, f, directAppID, "CROSS00002")
	w = replay(f, "/wxpay/notify/"+direct2AppID, n.Header, n.Body)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, "cannot decrypt the resource", failBody(t, w)["message"])

	// A merchant that switched from direct to partner mode: the direct notification is refused.
	require.NoError(t, f.merchants.Put(pay.Merchant{AppID: directAppID, SubMchID: partnerSubMch}))
	w = replay(f, "/wxpay/notify/"+directAppID, n.Header, n.Body)
	assert.Equal(t, http.StatusBadRequest, w.Code)

	txs, _ := f.got.counts()
	assert.Equal(t, 2, txs, "only the two genuine deliveries reached the callback")
}

func TestCallbackFailureIsRetried(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.got.fail = 1
	_, err := f.client.JSAPIPrepay(ctx, partnerAppID, pay.PrepayRequest{OpenID: openID, AmountFen: 100, Description: "x",
		OutTradeNo: "RETRY00001", NotifyURL: f.notifyURL(partnerAppID)})
	require.NoError(t, err)

	err = f.emu.Pay(ctx, "RETRY00001")
	var de *paytest.DeliveryError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, http.StatusInternalServerError, de.StatusCode)
	assert.JSONEq(t, `{"code":"FAIL","message":"notification handler failed"}`, de.Body)
	assert.NotContains(t, de.Body, "database unavailable", "the callback's error stays in the logs")

	// WeChat Pay delivers again; this time the callback succeeds.
	require.NoError(t, f.emu.Redeliver(ctx, de.ID))
	ns := f.emu.Notifications()
	require.Len(t, ns, 1)
	assert.Equal(t, 2, ns[0].Attempts)
	assert.Equal(t, http.StatusNoContent, ns[0].Status)
	require.Len(t, f.got.txs, 2)
	assert.Equal(t, de.ID, f.got.txs[0].ID)
	assert.Equal(t, de.ID, f.got.txs[1].ID)
	assert.Equal(t, f.got.txs[0].Transaction, f.got.txs[1].Transaction)

	// Refund notifications likewise.
	_, err = f.client.Refund(ctx, partnerAppID, pay.RefundRequest{OutTradeNo: "RETRY00001", OutRefundNo: "RETRYR1",
		RefundFen: 100, TotalFen: 100, NotifyURL: f.notifyURL(partnerAppID)})
	require.NoError(t, err)
	f.got.fail = 1
	err = f.emu.CompleteRefund(ctx, "RETRYR1")
	require.ErrorAs(t, err, &de)
	assert.Equal(t, http.StatusInternalServerError, de.StatusCode)
	require.NoError(t, f.emu.Redeliver(ctx, de.ID))
	_, refunds := f.got.counts()
	assert.Equal(t, 2, refunds)
}

func TestNotifyHandlerRequestErrors(t *testing.T) {
	var logs bytes.Buffer
	f := newFixture(t, pay.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	n := paidNotification(t, f, directAppID, "HANDLER001")

	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/wxpay/notify/"+directAppID, nil))
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	assert.Equal(t, "POST", w.Header().Get("Allow"))
	failBody(t, w)

	big := append(bytes.Repeat([]byte(" "), pay.DefaultMaxNotifyBytes), n.Body...)
	w = replay(f, "/wxpay/notify/"+directAppID, n.Header, big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)

	w = replay(f, "/wxpay/notify/wxunknown000000000", n.Header, n.Body)
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Equal(t, "unknown merchant", failBody(t, w)["message"])

	w = replay(f, "/", n.Header, n.Body)
	assert.Equal(t, http.StatusNotFound, w.Code)

	// The default appid extraction falls back to the last path segment (trailing slash allowed).
	w = replay(f, "/anything/"+directAppID+"/", n.Header, n.Body)
	assert.Equal(t, http.StatusNoContent, w.Code, w.Body.String())

	assert.NotContains(t, logs.String(), directV3)
	assert.Contains(t, logs.String(), "wechatpay notification rejected")
	assert.Contains(t, logs.String(), `"status":413`)
}

func TestNotifyHandlerLookupFailureIs5xx(t *testing.T) {
	f := newFixture(t)
	n := paidNotification(t, f, directAppID, "LOOKUP0001")
	broken := brokenSource{f.merchants}
	c, err := pay.New(pay.Config{Merchants: broken, ServiceProvider: &f.sp})
	require.NoError(t, err)
	h, err := pay.NewNotifyHandler(c, pay.NotifyConfig{OnTransaction: f.got.onTransaction,
		AppID: func(r *http.Request) string { return r.Header.Get("X-Test-AppID") }})
	require.NoError(t, err)
	hdr := n.Header.Clone()
	hdr.Set("X-Test-AppID", directAppID)
	r := httptest.NewRequest(http.MethodPost, "/notify", bytes.NewReader(n.Body))
	r.Header = hdr
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusInternalServerError, w.Code, "a store outage must make WeChat Pay retry")
	assert.Equal(t, "merchant lookup failed", failBody(t, w)["message"])

	// The custom AppID function is used: with the header missing there is no merchant.
	r = httptest.NewRequest(http.MethodPost, "/notify/"+directAppID, bytes.NewReader(n.Body))
	r.Header = n.Header.Clone()
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusNotFound, w.Code)
}

type brokenSource struct{ pay.MerchantSource }

func (brokenSource) Merchant(context.Context, string) (pay.Merchant, error) {
	return pay.Merchant{}, errors.New("connection refused")
}

func TestNotificationWithoutCallbackIsAcknowledged(t *testing.T) {
	f := newFixture(t)
	// Only refunds are handled: a payment notification is acknowledged, not retried forever.
	h, err := pay.NewNotifyHandler(f.client, pay.NotifyConfig{OnRefund: f.got.onRefund})
	require.NoError(t, err)
	n := paidNotification(t, f, directAppID, "NOCALLBACK")
	r := httptest.NewRequest(http.MethodPost, "/n/"+directAppID, bytes.NewReader(n.Body))
	r.Header = n.Header.Clone()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusNoContent, w.Code)
	txs, refunds := f.got.counts()
	assert.Equal(t, 1, txs, "only the fixture handler's own delivery")
	assert.Equal(t, 0, refunds)
}

func TestNewNotifyHandlerValidates(t *testing.T) {
	f := newFixture(t)
	_, err := pay.NewNotifyHandler(nil, pay.NotifyConfig{OnTransaction: f.got.onTransaction})
	assert.True(t, wxerr.IsValidation(err))
	_, err = pay.NewNotifyHandler(f.client, pay.NotifyConfig{})
	assert.True(t, wxerr.IsValidation(err))
	_, err = pay.NewNotifyHandler(f.client, pay.NotifyConfig{OnRefund: f.got.onRefund, MaxBodyBytes: -1})
	assert.True(t, wxerr.IsValidation(err))
}

func TestNotifyURL(t *testing.T) {
	assert.Equal(t, "https://p.example.com/wxpay/notify/wx123", pay.NotifyURL("https://p.example.com/wxpay/notify/", "wx123"))
	assert.Equal(t, "https://p.example.com/n/a%2Fb", pay.NotifyURL("https://p.example.com/n", "a/b"))
	assert.NoError(t, pay.ValidateNotifyURL(pay.NotifyURL("https://p.example.com/n", "wx123")))
	assert.True(t, strings.HasSuffix(pay.NotifyURL("http://x", "wx"), "/wx"))
}
