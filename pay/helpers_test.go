package pay_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/pay"
	"github.com/wxopen-go/wxopen/wxtest/paytest"
)

// Test keys are generated once per test binary: 2048-bit RSA generation is the slow part.
var testKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, 5)
	var wg sync.WaitGroup
	errs := make([]error, len(keys))
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = rsa.GenerateKey(rand.Reader, 2048)
		}()
	}
	wg.Wait()
	return keys, errors.Join(errs...)
})

// key returns test key i: 0 WeChat Pay, 1 direct merchant, 2 service provider, 3 second direct
// merchant, 4 a key nobody registered.
func key(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	keys, err := testKeys()
	require.NoError(t, err)
	return keys[i]
}

const (
	directAppID   = "wxd1rect00000000a1"
	directMchID   = "1900000001"
	direct2AppID  = "wxd1rect00000000b2"
	direct2MchID  = "1900000002"
	spAppID       = "wxspapp0000000001"
	spMchID       = "1900000100"
	partnerAppID  = "wxpartner00000000c"
	partnerSubMch = "1900000109"
	partner2AppID = "wxpartner00000000d"
	partner2Sub   = "1900000110"
	openID        = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

	directV3  = "directAPIv3Key0123456789abcdefgh"
	direct2V3 = "direct2APIv3Key0123456789abcdefg"
	spV3      = "spAPIv3Key0123456789abcdefghijkl"
)

// received collects what the notification callbacks saw.
type received struct {
	mu      sync.Mutex
	txs     []*pay.TransactionNotification
	refunds []*pay.RefundNotification
	fail    int // the next fail calls return an error
}

func (r *received) onTransaction(_ context.Context, n *pay.TransactionNotification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.txs = append(r.txs, n)
	if r.fail > 0 {
		r.fail--
		return errors.New("database unavailable")
	}
	return nil
}

func (r *received) onRefund(_ context.Context, n *pay.RefundNotification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refunds = append(r.refunds, n)
	if r.fail > 0 {
		r.fail--
		return errors.New("database unavailable")
	}
	return nil
}

func (r *received) counts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.txs), len(r.refunds)
}

// fixture is an emulator, a Client configured for two direct and two partner merchants, and a
// notification server running NotifyHandler at /wxpay/notify/{appid}.
type fixture struct {
	emu       *paytest.Server
	merchants *pay.MemoryMerchants
	sp        pay.ServiceProvider
	client    *pay.Client
	handler   *pay.NotifyHandler
	notify    *httptest.Server
	got       *received
}

func account(t testing.TB, emu *paytest.Server, mchID, serial string, k *rsa.PrivateKey, v3 string) *pay.Account {
	t.Helper()
	return &pay.Account{MchID: mchID, CertSerial: serial, PrivateKey: k, APIv3Key: v3,
		PublicKeyID: emu.PublicKeyID(), PublicKey: emu.PublicKey()}
}

func newFixture(t testing.TB, opts ...pay.Option) *fixture {
	t.Helper()
	return newFixtureKeyID(t, "PUB_KEY_ID_0114232134912410000000000000TEST", opts...)
}

// newFixtureKeyID is newFixture with the emulator announcing its key under keyID.
func newFixtureKeyID(t testing.TB, keyID string, opts ...pay.Option) *fixture {
	t.Helper()
	emu := paytest.NewTestServer(t, paytest.WithWeChatPayKey(key(t, 0), keyID))
	require.NoError(t, emu.AddMerchant(paytest.Merchant{MchID: directMchID, SerialNo: "DIRECTSERIAL01",
		PublicKey: &key(t, 1).PublicKey, APIv3Key: directV3, AppIDs: []string{directAppID}}))
	require.NoError(t, emu.AddMerchant(paytest.Merchant{MchID: direct2MchID, SerialNo: "DIRECTSERIAL02",
		PublicKey: &key(t, 3).PublicKey, APIv3Key: direct2V3, AppIDs: []string{direct2AppID}}))
	require.NoError(t, emu.AddMerchant(paytest.Merchant{MchID: spMchID, SerialNo: "SPSERIAL0001",
		PublicKey: &key(t, 2).PublicKey, APIv3Key: spV3, AppIDs: []string{spAppID}}))
	require.NoError(t, emu.AddSubMerchant(paytest.SubMerchant{SpMchID: spMchID, SubMchID: partnerSubMch, AppIDs: []string{partnerAppID}}))
	require.NoError(t, emu.AddSubMerchant(paytest.SubMerchant{SpMchID: spMchID, SubMchID: partner2Sub, AppIDs: []string{partner2AppID}}))

	merchants, err := pay.NewMemoryMerchants(
		pay.Merchant{AppID: directAppID, Direct: account(t, emu, directMchID, "DIRECTSERIAL01", key(t, 1), directV3)},
		pay.Merchant{AppID: direct2AppID, Direct: account(t, emu, direct2MchID, "DIRECTSERIAL02", key(t, 3), direct2V3)},
		pay.Merchant{AppID: partnerAppID, SubMchID: partnerSubMch},
		pay.Merchant{AppID: partner2AppID, SubMchID: partner2Sub},
	)
	require.NoError(t, err)
	sp := pay.ServiceProvider{AppID: spAppID, Account: *account(t, emu, spMchID, "SPSERIAL0001", key(t, 2), spV3)}
	client, err := pay.New(pay.Config{Merchants: merchants, ServiceProvider: &sp},
		append([]pay.Option{pay.WithHTTPClient(emu.Client())}, opts...)...)
	require.NoError(t, err)

	got := &received{}
	h, err := pay.NewNotifyHandler(client, pay.NotifyConfig{OnTransaction: got.onTransaction, OnRefund: got.onRefund})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("POST /wxpay/notify/{appid}", h)
	ns := httptest.NewServer(mux)
	t.Cleanup(ns.Close)
	return &fixture{emu: emu, merchants: merchants, sp: sp, client: client, handler: h, notify: ns, got: got}
}

func (f *fixture) notifyURL(appID string) string {
	return pay.NotifyURL(f.notify.URL+"/wxpay/notify", appID)
}

// verifyPaySign checks the wx.requestPayment signature with pub, on the message the mini program
// sends to WeChat: appId\ntimeStamp\nnonceStr\npackage\n.
func verifyPaySign(t testing.TB, pub *rsa.PublicKey, appID string, rp *pay.RequestPayment) {
	t.Helper()
	sig, err := base64.StdEncoding.DecodeString(rp.PaySign)
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(appID + "\n" + rp.TimeStamp + "\n" + rp.NonceStr + "\n" + rp.Package + "\n"))
	require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig), "paySign must verify with the signer's public key")
}

// lastRequest returns the emulator's last recorded request and its decoded JSON body (nil for GET).
func lastRequest(t testing.TB, emu *paytest.Server) (paytest.Request, map[string]any) {
	t.Helper()
	reqs := emu.Requests()
	require.NotEmpty(t, reqs)
	r := reqs[len(reqs)-1]
	var body map[string]any
	if len(r.Body) > 0 {
		require.NoError(t, json.Unmarshal(r.Body, &body))
	}
	return r, body
}
