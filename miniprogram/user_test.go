package miniprogram_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestPhoneNumber(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/wxa/business/getuserphonenumber", body: `{"code":"PHONECODE"}`,
		reply: `{"errcode":0,"errmsg":"ok","phone_info":{"phoneNumber":"+1 5550100","purePhoneNumber":"5550100","countryCode":"1",
		"watermark":{"timestamp":1700000000,"appid":"wxAPP"}}}`})
	p, err := e.c.PhoneNumber(ctx, "PHONECODE")
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.PhoneNumber{PhoneNumber: "+1 5550100", PurePhoneNumber: "5550100", CountryCode: "1",
		Watermark: miniprogram.Watermark{AppID: "wxAPP", Timestamp: time.Unix(1700000000, 0)}}, p)
}

func TestPhoneNumberErrors(t *testing.T) {
	e := setup(t)
	_, err := e.c.PhoneNumber(ctx, "")
	assert.True(t, wxerr.IsValidation(err))
	assert.Zero(t, e.mt.GetTotalCallCount())

	e.expect(t, call{method: "POST", path: "/wxa/business/getuserphonenumber", body: `{"code":"USED"}`, reply: `{"errcode":40029,"errmsg":"invalid code"}`})
	_, err = e.c.PhoneNumber(ctx, "USED")
	assert.Equal(t, wxerr.CodeInvalidCode, wxerr.CodeOf(err))

	e.expect(t, call{method: "POST", path: "/wxa/business/getuserphonenumber", body: `{"code":"C"}`,
		reply: `{"errcode":0,"phone_info":{"phoneNumber":"1","watermark":{"appid":"wxOTHER"}}}`})
	_, err = e.c.PhoneNumber(ctx, "C")
	require.ErrorContains(t, err, "watermark")

	e.expect(t, call{method: "POST", path: "/wxa/business/getuserphonenumber", body: `{"code":"C"}`, reply: `{"errcode":0}`})
	_, err = e.c.PhoneNumber(ctx, "C")
	require.ErrorContains(t, err, "no phone_info")

	e.mt.RegisterResponder("POST", base+"/wxa/business/getuserphonenumber", httpmock.NewErrorResponder(errors.New("connection reset")))
	n := e.mt.GetTotalCallCount()
	_, err = e.c.PhoneNumber(ctx, "C")
	require.ErrorContains(t, err, "connection reset")
	assert.Equal(t, 1, e.mt.GetTotalCallCount()-n, "a single-use code is sent once")
}

func TestSessionSignature(t *testing.T) {
	// HMAC-SHA256 of "" keyed with the key string's bytes, computed independently.
	key := "tiihtNczf5v6AKRyjwEUhQ=="
	m := hmac.New(sha256.New, []byte(key))
	m.Write(nil)
	assert.Equal(t, hex.EncodeToString(m.Sum(nil)), miniprogram.SessionSignature(key))
	assert.Len(t, miniprogram.SessionSignature(key), 64)
	assert.NotEqual(t, miniprogram.SessionSignature(key), miniprogram.SessionSignature("other"))
}

func TestCheckSession(t *testing.T) {
	e := setup(t)
	key := "tiihtNczf5v6AKRyjwEUhQ=="
	e.expect(t, call{method: "GET", path: "/wxa/checksession",
		query: url.Values{"openid": {"oUSER"}, "signature": {miniprogram.SessionSignature(key)}, "sig_method": {"hmac_sha256"}},
		reply: `{"errcode":0,"errmsg":"ok"}`})
	require.NoError(t, e.c.CheckSession(ctx, miniprogram.CheckSessionRequest{OpenID: "oUSER", SessionKey: key}))

	e.expect(t, call{method: "GET", path: "/wxa/checksession",
		query: url.Values{"openid": {"oUSER"}, "signature": {miniprogram.SessionSignature("stale")}, "sig_method": {"hmac_sha256"}},
		reply: `{"errcode":87009,"errmsg":"invalid signature"}`})
	err := e.c.CheckSession(ctx, miniprogram.CheckSessionRequest{OpenID: "oUSER", SessionKey: "stale"})
	assert.Equal(t, wxerr.Code(87009), wxerr.CodeOf(err))
	assert.NotContains(t, err.Error(), "stale")

	n := e.mt.GetTotalCallCount()
	assert.True(t, wxerr.IsValidation(e.c.CheckSession(ctx, miniprogram.CheckSessionRequest{OpenID: "", SessionKey: key})))
	assert.True(t, wxerr.IsValidation(e.c.CheckSession(ctx, miniprogram.CheckSessionRequest{OpenID: "o", SessionKey: ""})))
	assert.Equal(t, n, e.mt.GetTotalCallCount())
}

func TestPaidUnionID(t *testing.T) {
	e := setup(t)
	for _, c := range []struct {
		order miniprogram.PaidOrder
		query url.Values
	}{
		{miniprogram.PaidOrder{}, url.Values{"openid": {"oUSER"}}},
		{miniprogram.PaidOrder{TransactionID: "42000001"}, url.Values{"openid": {"oUSER"}, "transaction_id": {"42000001"}}},
		{miniprogram.PaidOrder{MchID: "1900000001", OutTradeNo: "NO-1"}, url.Values{"openid": {"oUSER"}, "mch_id": {"1900000001"}, "out_trade_no": {"NO-1"}}},
	} {
		e.expect(t, call{method: "GET", path: "/wxa/getpaidunionid", query: c.query, reply: `{"errcode":0,"errmsg":"ok","unionid":"uUNION"}`})
		u, err := e.c.PaidUnionID(ctx, "oUSER", c.order)
		require.NoError(t, err)
		assert.Equal(t, "uUNION", u)
	}
	e.expect(t, call{method: "GET", path: "/wxa/getpaidunionid", query: url.Values{"openid": {"oUSER"}}, reply: `{"errcode":89002,"errmsg":"not bind"}`})
	_, err := e.c.PaidUnionID(ctx, "oUSER", miniprogram.PaidOrder{})
	assert.Equal(t, wxerr.CodeOpenAccountNotBound, wxerr.CodeOf(err))
	e.expect(t, call{method: "GET", path: "/wxa/getpaidunionid", query: url.Values{"openid": {"oUSER"}}, reply: `{"errcode":0}`})
	_, err = e.c.PaidUnionID(ctx, "oUSER", miniprogram.PaidOrder{})
	require.ErrorContains(t, err, "no unionid")

	n := e.mt.GetTotalCallCount()
	for _, bad := range []miniprogram.PaidOrder{{TransactionID: "t", MchID: "m"}, {MchID: "m"}, {OutTradeNo: "n"}} {
		_, err := e.c.PaidUnionID(ctx, "oUSER", bad)
		assert.True(t, wxerr.IsValidation(err), "%+v", bad)
	}
	_, err = e.c.PaidUnionID(ctx, "", miniprogram.PaidOrder{})
	assert.True(t, wxerr.IsValidation(err))
	assert.Equal(t, n, e.mt.GetTotalCallCount())
}
