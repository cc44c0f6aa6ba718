package paytest_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"

	"github.com/wxopen-go/wxopen/wxtest/paytest"
)

var testKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
})

func keys(t testing.TB) (wechatpay, merchant, sp *rsa.PrivateKey) {
	t.Helper()
	ks, err := testKeys()
	require.NoError(t, err)
	return ks[0], ks[1], ks[2]
}

const (
	mchID  = "1230000109"
	serial = "MERCHANTSERIAL"
	appID  = "wxd678efh567hg6787"
	v3     = "0123456789abcdef0123456789abcdef"
	keyID  = "PUB_KEY_ID_TEST"
)

func newServer(t *testing.T, opts ...paytest.Option) *paytest.Server {
	t.Helper()
	wk, mk, sk := keys(t)
	s := paytest.NewTestServer(t, append([]paytest.Option{paytest.WithWeChatPayKey(wk, keyID)}, opts...)...)
	require.NoError(t, s.AddMerchant(paytest.Merchant{MchID: mchID, SerialNo: serial, PublicKey: &mk.PublicKey, APIv3Key: v3, AppIDs: []string{appID}}))
	require.NoError(t, s.AddMerchant(paytest.Merchant{MchID: "1900000100", SerialNo: "SPSERIAL", PublicKey: &sk.PublicKey, APIv3Key: strings.Repeat("s", 32)}))
	require.NoError(t, s.AddSubMerchant(paytest.SubMerchant{SpMchID: "1900000100", SubMchID: "1900000109", AppIDs: []string{"wxsub"}}))
	return s
}

// sdk is wechatpay-go configured for the merchant, trusting the emulator's key.
func sdk(t *testing.T, s *paytest.Server) *core.Client {
	t.Helper()
	_, mk, _ := keys(t)
	c, err := core.NewClient(context.Background(),
		option.WithWechatPayPublicKeyAuthCipher(mchID, serial, mk, s.PublicKeyID(), s.PublicKey()),
		option.WithHTTPClient(s.Client()))
	require.NoError(t, err)
	return c
}

func TestWechatpayGoAgainstEmulator(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	svc := jsapi.JsapiApiService{Client: sdk(t, s)}

	// A notification receiver built only from wechatpay-go.
	var (
		mu  sync.Mutex
		got []payments.Transaction
	)
	h, err := notify.NewRSANotifyHandler(v3, verifiers.NewSHA256WithRSAPubkeyVerifier(keyID, *s.PublicKey()))
	require.NoError(t, err)
	ns := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var tx payments.Transaction
		if _, err := h.ParseNotifyRequest(r.Context(), r, &tx); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		got = append(got, tx)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ns.Close()

	resp, _, err := svc.PrepayWithRequestPayment(ctx, jsapi.PrepayRequest{
		Appid: core.String(appID), Mchid: core.String(mchID), Description: core.String("Image形象店-深圳腾大-QQ公仔"),
		OutTradeNo: core.String("1217752501201407033233368018"), NotifyUrl: core.String(ns.URL + "/notify"),
		Amount: &jsapi.Amount{Total: core.Int64(100)}, Payer: &jsapi.Payer{Openid: core.String("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")},
	})
	require.NoError(t, err)
	assert.NotEmpty(t, *resp.PrepayId)

	tx, _, err := svc.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String("1217752501201407033233368018"), Mchid: core.String(mchID)})
	require.NoError(t, err)
	assert.Equal(t, "NOTPAY", *tx.TradeState)
	assert.Nil(t, tx.TransactionId)

	require.NoError(t, s.Pay(ctx, "1217752501201407033233368018"))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1)
	assert.Equal(t, "SUCCESS", *got[0].TradeState)
	assert.Equal(t, appID, *got[0].Appid)
	assert.Equal(t, int64(100), *got[0].Amount.Total)
	n := s.Notifications()[0]
	assert.Equal(t, "TRANSACTION.SUCCESS", n.EventType)
	assert.Equal(t, 1, n.Attempts)
	assert.Equal(t, keyID, n.Header.Get("Wechatpay-Serial"))

	tx, _, err = svc.QueryOrderById(ctx, jsapi.QueryOrderByIdRequest{TransactionId: got[0].TransactionId, Mchid: core.String(mchID)})
	require.NoError(t, err)
	assert.Equal(t, "SUCCESS", *tx.TradeState)
	assert.Equal(t, *got[0].SuccessTime, *tx.SuccessTime)
	assert.Error(t, s.Pay(ctx, "1217752501201407033233368018"), "an order is paid once")
	assert.Error(t, s.Pay(ctx, "NOSUCHORDER"))
	assert.Error(t, s.CompleteRefund(ctx, "NOSUCHREFUND"))
	assert.Error(t, s.Redeliver(ctx, "nosuchid"))
}

// signed sends a raw request signed with key as mchid/serial at time ts.
func signed(t *testing.T, s *paytest.Server, method, uri, body string, key *rsa.PrivateKey, mch, ser string, ts time.Time) (*http.Response, map[string]string) {
	t.Helper()
	nonce := "NONCE" + strconv.FormatInt(ts.UnixNano(), 36)
	msg := fmt.Sprintf("%s\n%s\n%d\n%s\n%s\n", method, uri, ts.Unix(), nonce, body)
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	require.NoError(t, err)
	auth := fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="%s",timestamp="%d",serial_no="%s",signature="%s"`,
		mch, nonce, ts.Unix(), ser, base64.StdEncoding.EncodeToString(sig))
	return raw(t, s, method, uri, body, auth)
}

func raw(t *testing.T, s *paytest.Server, method, uri, body, auth string) (*http.Response, map[string]string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+uri, strings.NewReader(body))
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	// Every answer is signed by the emulator's key.
	wk, _, _ := keys(t)
	h := resp.Header
	sum := sha256.Sum256([]byte(h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(b) + "\n"))
	sig, err := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
	require.NoError(t, err)
	require.NoError(t, rsa.VerifyPKCS1v15(&wk.PublicKey, crypto.SHA256, sum[:], sig))
	assert.Equal(t, keyID, h.Get("Wechatpay-Serial"))
	var m map[string]string
	if len(b) > 0 {
		_ = json.Unmarshal(b, &m)
	}
	return resp, m
}

func TestAuthorizationChecks(t *testing.T) {
	s := newServer(t)
	_, mk, sk := keys(t)
	now := time.Now()
	const uri = "/v3/pay/transactions/out-trade-no/ORDER123456?mchid=" + mchID
	cases := []struct {
		name   string
		do     func() (*http.Response, map[string]string)
		status int
		code   string
	}{
		{"no header", func() (*http.Response, map[string]string) { return raw(t, s, "GET", uri, "", "") }, 401, "SIGN_ERROR"},
		{"other scheme", func() (*http.Response, map[string]string) { return raw(t, s, "GET", uri, "", "Bearer x") }, 401, "SIGN_ERROR"},
		{"malformed", func() (*http.Response, map[string]string) {
			return raw(t, s, "GET", uri, "", `WECHATPAY2-SHA256-RSA2048 mchid=1230000109`)
		}, 401, "SIGN_ERROR"},
		{"missing fields", func() (*http.Response, map[string]string) {
			return raw(t, s, "GET", uri, "", `WECHATPAY2-SHA256-RSA2048 mchid="1230000109"`)
		}, 401, "SIGN_ERROR"},
		{"repeated field", func() (*http.Response, map[string]string) {
			return raw(t, s, "GET", uri, "", `WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="2"`)
		}, 401, "SIGN_ERROR"},
		{"unknown merchant", func() (*http.Response, map[string]string) {
			return signed(t, s, "GET", uri, "", mk, "999", serial, now)
		}, 401, "SIGN_ERROR"},
		{"wrong serial", func() (*http.Response, map[string]string) {
			return signed(t, s, "GET", uri, "", mk, mchID, "OTHER", now)
		}, 401, "SIGN_ERROR"},
		{"wrong key", func() (*http.Response, map[string]string) {
			return signed(t, s, "GET", uri, "", sk, mchID, serial, now)
		}, 401, "SIGN_ERROR"},
		{"stale", func() (*http.Response, map[string]string) {
			return signed(t, s, "GET", uri, "", mk, mchID, serial, now.Add(-6*time.Minute))
		}, 401, "SIGN_ERROR"},
		{"future", func() (*http.Response, map[string]string) {
			return signed(t, s, "GET", uri, "", mk, mchID, serial, now.Add(6*time.Minute))
		}, 401, "SIGN_ERROR"},
		{"signed for another path", func() (*http.Response, map[string]string) {
			// Sign one URI, send another.
			return signedMismatch(t, s, mk)
		}, 401, "SIGN_ERROR"},
		{"valid: not found", func() (*http.Response, map[string]string) {
			return signed(t, s, "GET", uri, "", mk, mchID, serial, now)
		}, 404, "ORDER_NOT_EXIST"},
		{"valid: unknown API", func() (*http.Response, map[string]string) {
			return signed(t, s, "GET", "/v3/nothing", "", mk, mchID, serial, now)
		}, 404, "NOT_FOUND"},
		{"valid: other merchant's orders", func() (*http.Response, map[string]string) {
			return signed(t, s, "GET", "/v3/pay/transactions/out-trade-no/ORDER123456?mchid=1900000100", "", mk, mchID, serial, now)
		}, 400, "PARAM_ERROR"},
		{"valid: bad JSON", func() (*http.Response, map[string]string) {
			return signed(t, s, "POST", "/v3/pay/transactions/jsapi", "{", mk, mchID, serial, now)
		}, 400, "PARAM_ERROR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := tc.do()
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Equal(t, tc.code, body["code"])
			assert.NotEmpty(t, body["message"])
		})
	}
	reqs := s.Requests()
	require.Len(t, reqs, len(cases))
	assert.Equal(t, "", reqs[0].MchID)
	assert.Equal(t, "999", reqs[5].MchID)
	assert.Equal(t, 401, reqs[5].Status)
}

func signedMismatch(t *testing.T, s *paytest.Server, key *rsa.PrivateKey) (*http.Response, map[string]string) {
	t.Helper()
	ts := time.Now()
	msg := fmt.Sprintf("GET\n/v3/pay/transactions/out-trade-no/A?mchid=%s\n%d\nN\n\n", mchID, ts.Unix())
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	require.NoError(t, err)
	auth := fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="N",timestamp="%d",serial_no="%s",signature="%s"`,
		mchID, ts.Unix(), serial, base64.StdEncoding.EncodeToString(sig))
	return raw(t, s, "GET", "/v3/pay/transactions/out-trade-no/B?mchid="+mchID, "", auth)
}

func TestPrepayChecks(t *testing.T) {
	s := newServer(t)
	_, mk, sk := keys(t)
	now := time.Now()
	direct := func(body string) (int, string) {
		resp, m := signed(t, s, "POST", "/v3/pay/transactions/jsapi", body, mk, mchID, serial, now)
		return resp.StatusCode, m["code"]
	}
	partner := func(body string) (int, string) {
		resp, m := signed(t, s, "POST", "/v3/pay/partner/transactions/jsapi", body, sk, "1900000100", "SPSERIAL", now)
		return resp.StatusCode, m["code"]
	}
	ok := `"description":"d","out_trade_no":"ORDER000001","notify_url":"https://x/n","amount":{"total":1}`
	cases := []struct {
		name   string
		do     func(string) (int, string)
		body   string
		status int
		code   string
	}{
		{"direct ok", direct, `{"appid":"` + appID + `","mchid":"` + mchID + `",` + ok + `,"payer":{"openid":"o"}}`, 200, ""},
		{"mchid not signer", direct, `{"appid":"` + appID + `","mchid":"1",` + ok + `,"payer":{"openid":"o"}}`, 400, "PARAM_ERROR"},
		{"appid not bound", direct, `{"appid":"wxother","mchid":"` + mchID + `",` + ok + `,"payer":{"openid":"o"}}`, 400, "APPID_MCHID_NOT_MATCH"},
		{"no openid", direct, `{"appid":"` + appID + `","mchid":"` + mchID + `",` + ok + `}`, 400, "PARAM_ERROR"},
		{"zero amount", direct, `{"appid":"` + appID + `","mchid":"` + mchID + `","description":"d","out_trade_no":"ORDER000002","notify_url":"https://x/n","amount":{"total":0},"payer":{"openid":"o"}}`, 400, "PARAM_ERROR"},
		{"bad out_trade_no", direct, `{"appid":"` + appID + `","mchid":"` + mchID + `","description":"d","out_trade_no":"A#1","notify_url":"https://x/n","amount":{"total":1},"payer":{"openid":"o"}}`, 400, "PARAM_ERROR"},
		{"notify with query", direct, `{"appid":"` + appID + `","mchid":"` + mchID + `","description":"d","out_trade_no":"ORDER000003","notify_url":"https://x/n?a=1","amount":{"total":1},"payer":{"openid":"o"}}`, 400, "PARAM_ERROR"},
		{"no description", direct, `{"appid":"` + appID + `","mchid":"` + mchID + `","out_trade_no":"ORDER000004","notify_url":"https://x/n","amount":{"total":1},"payer":{"openid":"o"}}`, 400, "PARAM_ERROR"},
		{"USD", direct, `{"appid":"` + appID + `","mchid":"` + mchID + `","description":"d","out_trade_no":"ORDER000005","notify_url":"https://x/n","amount":{"total":1,"currency":"USD"},"payer":{"openid":"o"}}`, 400, "PARAM_ERROR"},
		{"bad time_expire", direct, `{"appid":"` + appID + `","mchid":"` + mchID + `",` + ok + `,"time_expire":"tomorrow","payer":{"openid":"o"}}`, 400, "PARAM_ERROR"},
		{"partner ok", partner, `{"sp_appid":"wxsp","sp_mchid":"1900000100","sub_appid":"wxsub","sub_mchid":"1900000109",` + ok + `,"payer":{"sub_openid":"o"}}`, 200, ""},
		{"partner unknown sub", partner, `{"sp_appid":"wxsp","sp_mchid":"1900000100","sub_appid":"wxsub","sub_mchid":"1",` + ok + `,"payer":{"sub_openid":"o"}}`, 400, "INVALID_REQUEST"},
		{"partner sub_appid not bound", partner, `{"sp_appid":"wxsp","sp_mchid":"1900000100","sub_appid":"wxother","sub_mchid":"1900000109",` + ok + `,"payer":{"sub_openid":"o"}}`, 400, "APPID_MCHID_NOT_MATCH"},
		{"partner sp_mchid not signer", partner, `{"sp_appid":"wxsp","sp_mchid":"1","sub_appid":"wxsub","sub_mchid":"1900000109",` + ok + `,"payer":{"sub_openid":"o"}}`, 400, "PARAM_ERROR"},
		{"partner openid instead of sub_openid", partner, `{"sp_appid":"wxsp","sp_mchid":"1900000100","sub_appid":"wxsub","sub_mchid":"1900000109",` + ok + `,"payer":{"openid":"o"}}`, 400, "PARAM_ERROR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, code := tc.do(tc.body)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.code, code)
		})
	}
	// A merchant's direct order is not visible through the partner API, and the reverse.
	resp, m := signed(t, s, "GET", "/v3/pay/partner/transactions/out-trade-no/ORDER000001?sp_mchid=1900000100&sub_mchid=1900000109", "", sk, "1900000100", "SPSERIAL", now)
	assert.Equal(t, 200, resp.StatusCode, m)
	resp, m = signed(t, s, "GET", "/v3/pay/transactions/out-trade-no/ORDER000001?mchid=1900000109", "", sk, "1900000109", "SPSERIAL", now)
	assert.Equal(t, 401, resp.StatusCode, "a sub-merchant does not sign: %v", m)
}

func TestExpiredOrderCannotBePaid(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now()
	s := newServer(t, paytest.WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }))
	_, mk, _ := keys(t)
	exp := clock.Add(time.Minute).Format(time.RFC3339)
	resp, m := signed(t, s, "POST", "/v3/pay/transactions/jsapi", `{"appid":"`+appID+`","mchid":"`+mchID+
		`","description":"d","out_trade_no":"EXPIRE0001","notify_url":"https://x/n","amount":{"total":1},"time_expire":"`+exp+
		`","payer":{"openid":"o"}}`, mk, mchID, serial, clock)
	require.Equal(t, 200, resp.StatusCode, m)
	mu.Lock()
	clock = clock.Add(2 * time.Minute)
	mu.Unlock()
	err := s.Pay(context.Background(), "EXPIRE0001")
	assert.ErrorContains(t, err, "expired")
}

func TestDeliveryFailures(t *testing.T) {
	s := newServer(t)
	_, mk, _ := keys(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	resp, m := signed(t, s, "POST", "/v3/pay/transactions/jsapi", `{"appid":"`+appID+`","mchid":"`+mchID+
		`","description":"d","out_trade_no":"DEADURL001","notify_url":"`+deadURL+`/n","amount":{"total":1},"payer":{"openid":"o"}}`,
		mk, mchID, serial, time.Now())
	require.Equal(t, 200, resp.StatusCode, m)
	err := s.Pay(context.Background(), "DEADURL001")
	var de *paytest.DeliveryError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, 0, de.StatusCode)
	assert.Error(t, de.Unwrap())
	assert.Contains(t, de.Error(), de.ID)
	n := s.Notifications()[0]
	assert.Equal(t, 1, n.Attempts)
	assert.Equal(t, 0, n.Status)
	// The order is paid all the same.
	resp, m = signed(t, s, "GET", "/v3/pay/transactions/out-trade-no/DEADURL001?mchid="+mchID, "", mk, mchID, serial, time.Now())
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "SUCCESS", m["trade_state"])
}

func TestRegistrationErrors(t *testing.T) {
	s := newServer(t)
	_, mk, _ := keys(t)
	assert.Error(t, s.AddMerchant(paytest.Merchant{MchID: "1"}))
	assert.Error(t, s.AddMerchant(paytest.Merchant{MchID: "1", SerialNo: "s", PublicKey: &mk.PublicKey, APIv3Key: "short"}))
	assert.Error(t, s.AddSubMerchant(paytest.SubMerchant{SpMchID: "nobody", SubMchID: "2"}))
	assert.Error(t, s.AddSubMerchant(paytest.SubMerchant{}))
	_, err := paytest.NewServer(paytest.WithWeChatPayKey(nil, ""))
	assert.Error(t, err)
	_, err = paytest.NewServer(paytest.WithNotifyClient(nil))
	assert.Error(t, err)
	_, err = paytest.NewServer(paytest.WithClock(nil))
	assert.Error(t, err)
	m := paytest.Merchant{MchID: "1", APIv3Key: v3}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		assert.NotContains(t, fmt.Sprintf(verb, m), v3)
	}
}
