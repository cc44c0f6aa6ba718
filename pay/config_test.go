package pay_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/pay"
	"github.com/wxopen-go/wxopen/wxerr"
)

func validAccount(t testing.TB) *pay.Account {
	return &pay.Account{MchID: "1900000001", CertSerial: "SERIAL", PrivateKey: key(t, 1),
		APIv3Key: directV3, PublicKeyID: "PUB_KEY_ID_1", PublicKey: &key(t, 0).PublicKey}
}

func fieldOf(t testing.TB, err error) string {
	t.Helper()
	var v *wxerr.ValidationError
	require.ErrorAs(t, err, &v)
	return v.Field
}

func TestAccountValidate(t *testing.T) {
	require.NoError(t, validAccount(t).Validate())
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	cert := selfSigned(t, key(t, 0))
	cases := map[string]struct {
		mut   func(a *pay.Account)
		field string
	}{
		"mchid":        {func(a *pay.Account) { a.MchID = " " }, "mchid"},
		"serial":       {func(a *pay.Account) { a.CertSerial = "" }, "cert_serial"},
		"key":          {func(a *pay.Account) { a.PrivateKey = nil }, "private_key"},
		"small key":    {func(a *pay.Account) { a.PrivateKey = small }, "private_key"},
		"v3 short":     {func(a *pay.Account) { a.APIv3Key = "short" }, "apiv3_key"},
		"no trust":     {func(a *pay.Account) { a.PublicKey, a.PublicKeyID = nil, "" }, "public_key"},
		"key no id":    {func(a *pay.Account) { a.PublicKeyID = "" }, "public_key_id"},
		"id no key":    {func(a *pay.Account) { a.PublicKey = nil }, "public_key"},
		"nil cert":     {func(a *pay.Account) { a.PlatformCertificates = []*x509.Certificate{nil} }, "platform_certificates"},
		"non-RSA cert": {func(a *pay.Account) { a.PlatformCertificates = []*x509.Certificate{ecCert(t)} }, "platform_certificates"},
		"certs allowed": {func(a *pay.Account) {
			a.PublicKey, a.PublicKeyID = nil, ""
			a.PlatformCertificates = []*x509.Certificate{cert}
		}, ""},
		"both allowed": {func(a *pay.Account) { a.PlatformCertificates = []*x509.Certificate{cert} }, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			a := validAccount(t)
			tc.mut(a)
			err := a.Validate()
			if tc.field == "" {
				assert.NoError(t, err)
				return
			}
			assert.Equal(t, tc.field, fieldOf(t, err))
			assert.NotContains(t, err.Error(), directV3)
		})
	}
	var nilAcct *pay.Account
	assert.Equal(t, "account", fieldOf(t, nilAcct.Validate()))
}

func TestMerchantAndSourceValidate(t *testing.T) {
	acct := validAccount(t)
	assert.Equal(t, pay.ModeDirect, pay.Merchant{AppID: "wx1", Direct: acct}.Mode())
	assert.Equal(t, pay.ModePartner, pay.Merchant{AppID: "wx1", SubMchID: "1"}.Mode())
	assert.Equal(t, pay.Mode(0), pay.Merchant{AppID: "wx1"}.Mode())
	assert.Equal(t, "direct", pay.ModeDirect.String())
	assert.Equal(t, "partner", pay.ModePartner.String())
	assert.Equal(t, "Mode(7)", pay.Mode(7).String())

	assert.Equal(t, "appid", fieldOf(t, pay.Merchant{SubMchID: "1"}.Validate()))
	assert.Equal(t, "merchant", fieldOf(t, pay.Merchant{AppID: "wx1"}.Validate()))
	assert.Equal(t, "merchant", fieldOf(t, pay.Merchant{AppID: "wx1", SubMchID: "1", Direct: acct}.Validate()))
	assert.Equal(t, "mchid", fieldOf(t, pay.Merchant{AppID: "wx1", Direct: &pay.Account{}}.Validate()))

	_, err := pay.NewMemoryMerchants(pay.Merchant{AppID: "wx1"})
	assert.True(t, wxerr.IsValidation(err))
	s, err := pay.NewMemoryMerchants(pay.Merchant{AppID: "wx1", SubMchID: "1"})
	require.NoError(t, err)
	m, err := s.Merchant(context.Background(), "wx1")
	require.NoError(t, err)
	assert.Equal(t, "1", m.SubMchID)
	s.Delete("wx1")
	_, err = s.Merchant(context.Background(), "wx1")
	assert.ErrorIs(t, err, pay.ErrUnknownMerchant)
	assert.Equal(t, 0, s.Len())
	var zero pay.MemoryMerchants
	require.NoError(t, zero.Put(pay.Merchant{AppID: "wx2", SubMchID: "2"}), "the zero value is usable")
	assert.Equal(t, 1, zero.Len())

	sp := &pay.ServiceProvider{Account: *acct}
	assert.Equal(t, "sp_appid", fieldOf(t, sp.Validate()))
	var nilSP *pay.ServiceProvider
	assert.Equal(t, "service_provider", fieldOf(t, nilSP.Validate()))
}

func TestNewValidates(t *testing.T) {
	s, err := pay.NewMemoryMerchants()
	require.NoError(t, err)
	_, err = pay.New(pay.Config{})
	assert.Equal(t, "merchants", fieldOf(t, err))
	_, err = pay.New(pay.Config{Merchants: s}, pay.WithHTTPClient(nil))
	assert.Equal(t, "http_client", fieldOf(t, err))
	_, err = pay.New(pay.Config{Merchants: s}, pay.WithLogger(nil))
	assert.Equal(t, "logger", fieldOf(t, err))
	for _, bad := range []string{"", "ftp://x", "http://", "/relative", "http://x/?q=1", "http://x/#f", "::"} {
		_, err = pay.New(pay.Config{Merchants: s}, pay.WithBaseURL(bad))
		assert.Equal(t, "base_url", fieldOf(t, err), bad)
	}
	_, err = pay.New(pay.Config{Merchants: s, ServiceProvider: &pay.ServiceProvider{AppID: "wxsp"}})
	assert.Equal(t, "mchid", fieldOf(t, err))
	c, err := pay.New(pay.Config{Merchants: s}, nil)
	require.NoError(t, err)
	assert.NotNil(t, c)
}

// TestValidationBeforeSending checks every rule on input and that nothing reaches the emulator.
func TestValidationBeforeSending(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ok := pay.PrepayRequest{OpenID: openID, AmountFen: 1, Description: "x", OutTradeNo: "Az09_-|*",
		NotifyURL: "https://p.example.com/n/wx"}
	prepay := map[string]struct {
		mut   func(r *pay.PrepayRequest)
		field string
	}{
		"amount zero":        {func(r *pay.PrepayRequest) { r.AmountFen = 0 }, "amount.total"},
		"amount negative":    {func(r *pay.PrepayRequest) { r.AmountFen = -5 }, "amount.total"},
		"openid missing":     {func(r *pay.PrepayRequest) { r.OpenID = "" }, "openid"},
		"openid blank":       {func(r *pay.PrepayRequest) { r.OpenID = "  " }, "openid"},
		"openid too long":    {func(r *pay.PrepayRequest) { r.OpenID = strings.Repeat("o", 129) }, "openid"},
		"description empty":  {func(r *pay.PrepayRequest) { r.Description = "" }, "description"},
		"description long":   {func(r *pay.PrepayRequest) { r.Description = strings.Repeat("咖", 128) }, "description"},
		"description utf8":   {func(r *pay.PrepayRequest) { r.Description = "\xff" }, "description"},
		"out_trade_no short": {func(r *pay.PrepayRequest) { r.OutTradeNo = "12345" }, "out_trade_no"},
		"out_trade_no long":  {func(r *pay.PrepayRequest) { r.OutTradeNo = strings.Repeat("1", 33) }, "out_trade_no"},
		"out_trade_no char":  {func(r *pay.PrepayRequest) { r.OutTradeNo = "order#123" }, "out_trade_no"},
		"out_trade_no @":     {func(r *pay.PrepayRequest) { r.OutTradeNo = "order@123" }, "out_trade_no"},
		"out_trade_no space": {func(r *pay.PrepayRequest) { r.OutTradeNo = "order 123" }, "out_trade_no"},
		"out_trade_no 中文":    {func(r *pay.PrepayRequest) { r.OutTradeNo = "订单123456" }, "out_trade_no"},
		"notify missing":     {func(r *pay.PrepayRequest) { r.NotifyURL = "" }, "notify_url"},
		"notify relative":    {func(r *pay.PrepayRequest) { r.NotifyURL = "/notify" }, "notify_url"},
		"notify scheme":      {func(r *pay.PrepayRequest) { r.NotifyURL = "ftp://x/n" }, "notify_url"},
		"notify query":       {func(r *pay.PrepayRequest) { r.NotifyURL = "https://x/n?appid=wx" }, "notify_url"},
		"notify fragment":    {func(r *pay.PrepayRequest) { r.NotifyURL = "https://x/n#a" }, "notify_url"},
		"notify userinfo":    {func(r *pay.PrepayRequest) { r.NotifyURL = "https://u:p@x/n" }, "notify_url"},
		"notify too long":    {func(r *pay.PrepayRequest) { r.NotifyURL = "https://x/" + strings.Repeat("a", 250) }, "notify_url"},
		"attach too long":    {func(r *pay.PrepayRequest) { r.Attach = strings.Repeat("a", 129) }, "attach"},
		"expire past":        {func(r *pay.PrepayRequest) { r.TimeExpire = time.Now().Add(-time.Minute) }, "time_expire"},
	}
	for name, tc := range prepay {
		t.Run("prepay/"+name, func(t *testing.T) {
			r := ok
			tc.mut(&r)
			_, err := f.client.JSAPIPrepay(ctx, directAppID, r)
			assert.Equal(t, tc.field, fieldOf(t, err))
		})
	}
	_, err := f.client.JSAPIPrepay(ctx, "", ok)
	assert.Equal(t, "appid", fieldOf(t, err))

	refundOK := pay.RefundRequest{OutTradeNo: "ORDER123", OutRefundNo: "R1", RefundFen: 1, TotalFen: 2}
	refund := map[string]struct {
		mut   func(r *pay.RefundRequest)
		field string
	}{
		"no order":        {func(r *pay.RefundRequest) { r.OutTradeNo = "" }, "transaction_id"},
		"bad txn id":      {func(r *pay.RefundRequest) { r.TransactionID = "42/00" }, "transaction_id"},
		"long txn id":     {func(r *pay.RefundRequest) { r.TransactionID = strings.Repeat("4", 33) }, "transaction_id"},
		"bad order":       {func(r *pay.RefundRequest) { r.OutTradeNo = "x" }, "out_trade_no"},
		"no refund no":    {func(r *pay.RefundRequest) { r.OutRefundNo = "" }, "out_refund_no"},
		"bad refund no":   {func(r *pay.RefundRequest) { r.OutRefundNo = "r/1" }, "out_refund_no"},
		"long refund no":  {func(r *pay.RefundRequest) { r.OutRefundNo = strings.Repeat("r", 65) }, "out_refund_no"},
		"zero refund":     {func(r *pay.RefundRequest) { r.RefundFen = 0 }, "amount.refund"},
		"refund > total":  {func(r *pay.RefundRequest) { r.RefundFen = 3 }, "amount.refund"},
		"zero total":      {func(r *pay.RefundRequest) { r.TotalFen = 0 }, "amount.total"},
		"reason too long": {func(r *pay.RefundRequest) { r.Reason = strings.Repeat("因", 81) }, "reason"},
		"bad notify":      {func(r *pay.RefundRequest) { r.NotifyURL = "https://x/?a=b" }, "notify_url"},
	}
	for name, tc := range refund {
		t.Run("refund/"+name, func(t *testing.T) {
			r := refundOK
			tc.mut(&r)
			_, err := f.client.Refund(ctx, directAppID, r)
			assert.Equal(t, tc.field, fieldOf(t, err))
		})
	}

	_, err = f.client.QueryByOutTradeNo(ctx, directAppID, "bad")
	assert.Equal(t, "out_trade_no", fieldOf(t, err))
	_, err = f.client.QueryByTransactionID(ctx, directAppID, "")
	assert.Equal(t, "transaction_id", fieldOf(t, err))
	_, err = f.client.QueryByTransactionID(ctx, directAppID, "4200?x")
	assert.Equal(t, "transaction_id", fieldOf(t, err))
	assert.Equal(t, "out_trade_no", fieldOf(t, f.client.Close(ctx, directAppID, "")))
	_, err = f.client.QueryRefund(ctx, directAppID, "")
	assert.Equal(t, "out_refund_no", fieldOf(t, err))

	assert.Empty(t, f.emu.Requests(), "invalid input must never be sent")

	// Valid edge values pass: 6 and 32 characters, every allowed symbol, 127-character descriptions.
	for _, no := range []string{"123456", strings.Repeat("9", 32), "a-b_c|d*e"} {
		assert.NoError(t, pay.ValidateOutTradeNo(no), no)
	}
	assert.NoError(t, pay.ValidateOutRefundNo("r@1-_|*"))
	assert.NoError(t, pay.ValidateNotifyURL("http://127.0.0.1:8080/n/wx1"))
	r := ok
	r.Description = strings.Repeat("咖", 127)
	r.NotifyURL = f.notifyURL(directAppID)
	_, err = f.client.JSAPIPrepay(ctx, directAppID, r)
	assert.NoError(t, err)
}

func TestMerchantResolution(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.client.QueryByOutTradeNo(ctx, "wxnobody000000000", "ORDER123")
	assert.ErrorIs(t, err, pay.ErrUnknownMerchant)
	assert.Equal(t, `pay: merchant "wxnobody000000000": no merchant configured for this appid`, err.Error(),
		"each layer once: the package and the appid")

	// A partner-mode merchant on a Client without a service provider.
	c, err := pay.New(pay.Config{Merchants: f.merchants}, pay.WithHTTPClient(f.emu.Client()))
	require.NoError(t, err)
	_, err = c.QueryByOutTradeNo(ctx, partnerAppID, "ORDER123")
	assert.ErrorIs(t, err, pay.ErrNoServiceProvider)
	assert.Equal(t, 1, strings.Count(err.Error(), "pay:"), err.Error())

	// A source that fails.
	c, err = pay.New(pay.Config{Merchants: brokenSource{}})
	require.NoError(t, err)
	_, err = c.QueryByOutTradeNo(ctx, directAppID, "ORDER123")
	assert.ErrorContains(t, err, "connection refused")

	// A source that returns an invalid or mismatched merchant.
	c, err = pay.New(pay.Config{Merchants: fixedSource{pay.Merchant{AppID: directAppID}}})
	require.NoError(t, err)
	_, err = c.QueryByOutTradeNo(ctx, directAppID, "ORDER123")
	assert.True(t, wxerr.IsValidation(err))
	c, err = pay.New(pay.Config{Merchants: fixedSource{pay.Merchant{AppID: "wxother", SubMchID: "1"}}})
	require.NoError(t, err)
	_, err = c.QueryByOutTradeNo(ctx, directAppID, "ORDER123")
	assert.ErrorContains(t, err, "returned appid")
	assert.Empty(t, f.emu.Requests())
}

type fixedSource struct{ m pay.Merchant }

func (s fixedSource) Merchant(context.Context, string) (pay.Merchant, error) { return s.m, nil }

// secretsOf returns strings that must never be printed: the APIv3 keys and fragments of the
// private keys in several encodings.
func secretsOf(k *rsa.PrivateKey, v3 ...string) []string {
	out := append([]string(nil), v3...)
	d := k.D.String()
	out = append(out, d[:24], k.Primes[0].String()[:24], fmt.Sprintf("%x", k.D.Bytes())[:24])
	der := x509.MarshalPKCS1PrivateKey(k)
	out = append(out, base64.StdEncoding.EncodeToString(der)[100:140])
	return out
}

func TestSecretsNeverPrinted(t *testing.T) {
	f := newFixture(t)
	acct := account(t, f.emu, directMchID, "DIRECTSERIAL01", key(t, 1), directV3)
	merchant := pay.Merchant{AppID: directAppID, Direct: acct}
	secrets := append(secretsOf(key(t, 1), directV3), secretsOf(key(t, 2), spV3)...)

	values := map[string]any{
		"Account":          *acct,
		"*Account":         acct,
		"ServiceProvider":  f.sp,
		"*ServiceProvider": &f.sp,
		"Merchant":         merchant,
		"*Merchant":        &merchant,
		"Client":           f.client,
		"MemoryMerchants":  f.merchants,
		"NotifyHandler":    f.handler,
		"Config":           pay.Config{Merchants: f.merchants, ServiceProvider: &f.sp},
		"nested": struct {
			A pay.Account
			M []pay.Merchant
		}{*acct, []pay.Merchant{merchant}},
		// fmt cannot call Format on an unexported field; a pointer there prints as an address.
		"unexported pointers": struct {
			a  *pay.Account
			sp *pay.ServiceProvider
			m  pay.Merchant
		}{acct, &f.sp, merchant},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
			if name == "unexported pointers" && !strings.HasSuffix(verb, "v") {
				// fmt answers a bad verb on an unexported pointer by printing what it points to,
				// without Format: a documented limitation.
				continue
			}
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("%s printed with %s shows a secret", name, verb)
				}
			}
		}
	}
	assert.Contains(t, fmt.Sprintf("%v", *acct), "[redacted RSA-2048]")
	assert.Contains(t, fmt.Sprintf("%v", *acct), directMchID)

	// slog (text and JSON) and encoding/json.
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("cfg", "account", *acct, "acct", acct, "sp", f.sp, "merchant", merchant)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "account", *acct, "sp", f.sp, "merchant", merchant, "client", f.client)
	js, err := json.Marshal(map[string]any{"a": acct, "sp": f.sp, "m": merchant})
	require.NoError(t, err)
	buf.Write(js)
	for _, s := range secrets {
		assert.NotContains(t, buf.String(), s)
	}
	assert.Contains(t, buf.String(), directMchID)

	// Errors and logs of failing calls.
	var logs bytes.Buffer
	c, err := pay.New(pay.Config{Merchants: f.merchants, ServiceProvider: &f.sp},
		pay.WithHTTPClient(f.emu.Client()), pay.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err)
	_, err = c.QueryByOutTradeNo(context.Background(), directAppID, "NOSUCHORDER")
	require.Error(t, err)
	_, err = c.QueryByOutTradeNo(context.Background(), partnerAppID, "NOSUCHORDER")
	require.Error(t, err)
	all := logs.String() + err.Error()
	for _, s := range secrets {
		assert.NotContains(t, all, s)
	}
	assert.Contains(t, logs.String(), "op=\"GET /v3/pay/transactions/out-trade-no/{out_trade_no}\"")
	assert.Contains(t, logs.String(), "mode=partner")
}

func TestErrorHelpers(t *testing.T) {
	assert.Equal(t, "", pay.ErrorCode(errors.New("x")))
	e := &pay.APIError{Op: "GET /x", StatusCode: 500, Code: pay.CodeSystemError, Message: "busy", RequestID: "rid"}
	assert.Equal(t, "wechatpay: GET /x: HTTP 500 SYSTEM_ERROR: busy (WeChat Pay is busy; retry later with the same parameters) [request-id rid]", e.Error())
	assert.Equal(t, pay.CodeSystemError, pay.ErrorCode(fmt.Errorf("wrapped: %w", e)))
	assert.False(t, errors.Is(e, errors.New("x")))
	assert.False(t, errors.Is(e, &pay.APIError{}))
	assert.Equal(t, "wechatpay: HTTP 404", (&pay.APIError{StatusCode: 404}).Error())
}

func selfSigned(t testing.TB, k *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tpl := &x509.Certificate{SerialNumber: big.NewInt(0x5157F09EFDC096DE), Subject: pkix.Name{CommonName: "Tenpay.com Root CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c
}

func ecCert(t testing.TB) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c
}

// TestPlatformCertificateMode: an account that trusts WeChat Pay through platform certificates
// (the older scheme) verifies answers signed by the certificate's key, announced by its serial.
func TestPlatformCertificateMode(t *testing.T) {
	cert := selfSigned(t, key(t, 0))
	serial := fmt.Sprintf("%X", cert.SerialNumber.Bytes())
	f := newFixtureKeyID(t, serial)
	acct := account(t, f.emu, directMchID, "DIRECTSERIAL01", key(t, 1), directV3)
	acct.PublicKey, acct.PublicKeyID = nil, ""
	acct.PlatformCertificates = []*x509.Certificate{cert}
	require.NoError(t, f.merchants.Put(pay.Merchant{AppID: directAppID, Direct: acct}))
	_, err := f.client.JSAPIPrepay(context.Background(), directAppID, pay.PrepayRequest{OpenID: openID, AmountFen: 1,
		Description: "x", OutTradeNo: "CERTMODE01", NotifyURL: f.notifyURL(directAppID)})
	require.NoError(t, err)
	require.NoError(t, f.emu.Pay(context.Background(), "CERTMODE01"))
	assert.Equal(t, http.StatusNoContent, f.emu.Notifications()[0].Status)

	// Migrating: public key and certificates together. The answer's serial picks the certificate...
	acct.PublicKey, acct.PublicKeyID = &key(t, 4).PublicKey, "PUB_KEY_ID_NEW"
	require.NoError(t, f.merchants.Put(pay.Merchant{AppID: directAppID, Direct: acct}))
	tx, err := f.client.QueryByOutTradeNo(context.Background(), directAppID, "CERTMODE01")
	require.NoError(t, err)
	assert.Equal(t, pay.TradeSuccess, tx.TradeState)
	// ...and the public key id picks the public key, which must then verify.
	acct.PublicKeyID = serial
	require.NoError(t, f.merchants.Put(pay.Merchant{AppID: directAppID, Direct: acct}))
	_, err = f.client.QueryByOutTradeNo(context.Background(), directAppID, "CERTMODE01")
	assert.ErrorIs(t, err, pay.ErrResponseNotVerified)
}
