package miniprogram_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestLogin(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "GET", path: "/sns/component/jscode2session", token: "component_access_token", value: "comp-1",
		query: url.Values{"appid": {"wxAPP"}, "js_code": {"CODE123"}, "grant_type": {"authorization_code"}, "component_appid": {"wxCOMP"}},
		reply: `{"openid":"oUSER","session_key":"c2Vzc2lvbmtleXNlc3Npb24=","unionid":"uUNION"}`})
	s, err := e.c.Login(ctx, "CODE123")
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.Session{OpenID: "oUSER", SessionKey: "c2Vzc2lvbmtleXNlc3Npb24=", UnionID: "uUNION"}, s)
}

func TestLoginErrors(t *testing.T) {
	for _, code := range []wxerr.Code{40029, 61003, 41021, 45011, -1} {
		e := setup(t)
		e.mt.RegisterResponder("GET", base+"/sns/component/jscode2session", httpmock.NewStringResponder(200, `{"errcode":`+itoa(int(code))+`,"errmsg":"x"}`))
		_, err := e.c.Login(ctx, "CODE")
		assert.Equal(t, code, wxerr.CodeOf(err))
		assert.Equal(t, 1, e.mt.GetTotalCallCount(), "a login code works once: never resent")
	}
	e := setup(t)
	e.mt.RegisterResponder("GET", base+"/sns/component/jscode2session", httpmock.NewStringResponder(200, `{"openid":"o"}`))
	_, err := e.c.Login(ctx, "CODE")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no openid or session_key")

	_, err = e.c.Login(ctx, "")
	requireInvalid(t, err, "js_code")
}

func TestLoginRetriesOnComponentTokenError(t *testing.T) {
	e := setup(t)
	var seen []string
	e.mt.RegisterResponder("GET", base+"/sns/component/jscode2session", func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.URL.Query().Get("component_access_token"))
		if len(seen) == 1 {
			return httpmock.NewStringResponse(200, `{"errcode":42001,"errmsg":"expired"}`), nil
		}
		return httpmock.NewStringResponse(200, `{"openid":"o","session_key":"k"}`), nil
	})
	s, err := e.c.Login(ctx, "CODE")
	require.NoError(t, err)
	assert.Equal(t, "o", s.OpenID)
	assert.Equal(t, []string{"comp-1", "comp-2"}, seen)
}

func TestSessionNeverPrintsKey(t *testing.T) {
	s := miniprogram.Session{OpenID: "oUSER", SessionKey: "SECRETKEY", UnionID: "uU"}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for _, v := range []any{s, &s} {
			out := fmt.Sprintf(f, v)
			assert.NotContains(t, out, "SECRETKEY", f)
			assert.Contains(t, out, "oUSER", f)
		}
	}
	assert.NotContains(t, s.String(), "SECRETKEY")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("login", "session", s)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("login", "session", &s)
	assert.NotContains(t, buf.String(), "SECRETKEY")
	assert.Contains(t, buf.String(), "oUSER")
}

// Official vector, digest section 8.
const (
	vecAppID  = "wx4f4bc4dec97d474b"
	vecKey    = "tiihtNczf5v6AKRyjwEUhQ=="
	vecIV     = "r7BXXKkLb8qrSNn05n0qiA=="
	vecCipher = "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew=="
	otherKey  = "AAAAAAAAAAAAAAAAAAAAAA=="
	otherIV   = "AQIDBAUGBwgJCgsMDQ4PEA=="
)

func TestDecryptUserInfoOfficialVector(t *testing.T) {
	e := setupApp(t, vecAppID)
	u, err := e.c.DecryptUserInfo(miniprogram.UserData{SessionKey: vecKey, EncryptedData: vecCipher, IV: vecIV})
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.UserInfo{
		OpenID: "oGZUI0egBJY1zhBYw2KhdUfwVJJE", UnionID: "ocMvos6NjeKLIBqg5Mr9QjxrP1FA", NickName: "Band", Gender: 1,
		Language: "zh_CN", City: "Guangzhou", Province: "Guangdong", Country: "CN",
		AvatarURL: "http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0",
		Watermark: miniprogram.Watermark{AppID: vecAppID, Timestamp: time.Unix(1477314187, 0)},
	}, u)
	assert.Zero(t, e.mt.GetTotalCallCount(), "decryption sends nothing")
}

func TestDecryptWrongKeyIVAndAppID(t *testing.T) {
	// The official vector decrypted by a client of another mini program: the watermark does not match.
	other := setupApp(t, "wxOTHERAPP")
	_, err := other.c.DecryptUserInfo(miniprogram.UserData{SessionKey: vecKey, EncryptedData: vecCipher, IV: vecIV})
	require.ErrorIs(t, err, crypto.ErrWatermark)

	e := setupApp(t, vecAppID)
	// Wrong key: garbage plaintext, bad padding or not JSON.
	_, err = e.c.DecryptUserInfo(miniprogram.UserData{SessionKey: otherKey, EncryptedData: vecCipher, IV: vecIV})
	var ce *crypto.Error
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, []int{crypto.CodeDecryptAES, crypto.CodeIllegalBuffer}, ce.Code)
	assert.NotContains(t, err.Error(), otherKey)

	// Wrong iv: the first block is garbage, so the plaintext is not JSON.
	_, err = e.c.DecryptUserInfo(miniprogram.UserData{SessionKey: vecKey, EncryptedData: vecCipher, IV: otherIV})
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, crypto.CodeIllegalBuffer, ce.Code)

	// Malformed inputs.
	_, err = e.c.DecryptUserInfo(miniprogram.UserData{SessionKey: "short", EncryptedData: vecCipher, IV: vecIV})
	require.ErrorIs(t, err, crypto.ErrIllegalAESKey)
	_, err = e.c.DecryptUserInfo(miniprogram.UserData{SessionKey: vecKey, EncryptedData: vecCipher, IV: base64.StdEncoding.EncodeToString(make([]byte, 8))})
	require.ErrorAs(t, err, &ce)
	_, err = e.c.DecryptUserInfo(miniprogram.UserData{SessionKey: vecKey, EncryptedData: "!!!notbase64", IV: vecIV})
	require.ErrorIs(t, err, crypto.ErrDecodeBase64)

	// Required inputs.
	_, err = e.c.DecryptUserInfo(miniprogram.UserData{SessionKey: "", EncryptedData: vecCipher, IV: vecIV})
	requireInvalid(t, err, "session_key")
	_, err = e.c.DecryptUserInfo(miniprogram.UserData{SessionKey: vecKey, EncryptedData: "", IV: vecIV})
	requireInvalid(t, err, "encryptedData")
	_, err = e.c.DecryptPhoneNumber(miniprogram.UserData{SessionKey: vecKey, EncryptedData: vecCipher, IV: ""})
	requireInvalid(t, err, "iv")
}

func TestDecryptFailuresAreBadUserData(t *testing.T) {
	e := setupApp(t, vecAppID)
	other := setupApp(t, "wxOTHERAPP")
	for name, call := range map[string]func() error{
		"watermark": func() error {
			_, err := other.c.DecryptUserInfo(miniprogram.UserData{SessionKey: vecKey, EncryptedData: vecCipher, IV: vecIV})
			return err
		},
		"wrong key": func() error {
			_, err := e.c.DecryptUserInfo(miniprogram.UserData{SessionKey: otherKey, EncryptedData: vecCipher, IV: vecIV})
			return err
		},
		"wrong iv": func() error {
			_, err := e.c.DecryptPhoneNumber(miniprogram.UserData{SessionKey: vecKey, EncryptedData: vecCipher, IV: otherIV})
			return err
		},
		"short key": func() error {
			_, err := e.c.DecryptUserInfo(miniprogram.UserData{SessionKey: "short", EncryptedData: vecCipher, IV: vecIV})
			return err
		},
		"base64": func() error {
			_, err := e.c.DecryptPhoneNumber(miniprogram.UserData{SessionKey: vecKey, EncryptedData: "!!!notbase64", IV: vecIV})
			return err
		},
		"short iv": func() error {
			_, err := e.c.DecryptUserInfo(miniprogram.UserData{SessionKey: vecKey, EncryptedData: vecCipher, IV: base64.StdEncoding.EncodeToString(make([]byte, 8))})
			return err
		},
	} {
		err := call()
		require.ErrorIs(t, err, wxerr.ErrBadUserData, name)
		var ce *crypto.Error
		require.ErrorAs(t, err, &ce, "%s: the detail stays in the chain", name)
		assert.Equal(t, 1, strings.Count(err.Error(), "wxopen:"), "%s: %v", name, err)
	}
	// A missing input is a validation error, not bad data.
	_, err := e.c.DecryptUserInfo(miniprogram.UserData{SessionKey: "", EncryptedData: vecCipher, IV: vecIV})
	assert.NotErrorIs(t, err, wxerr.ErrBadUserData)
}

func TestDecryptPhoneNumber(t *testing.T) {
	e := setup(t)
	plain := `{"phoneNumber":"+86 13800000000","purePhoneNumber":"13800000000","countryCode":"86","watermark":{"appid":"wxAPP","timestamp":1700000000}}`
	data, err := crypto.EncryptUserData(crypto.UserData{SessionKey: otherKey, IV: otherIV}, []byte(plain))
	require.NoError(t, err)
	p, err := e.c.DecryptPhoneNumber(miniprogram.UserData{SessionKey: otherKey, EncryptedData: data, IV: otherIV})
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.PhoneNumber{PhoneNumber: "+86 13800000000", PurePhoneNumber: "13800000000", CountryCode: "86",
		Watermark: miniprogram.Watermark{AppID: "wxAPP", Timestamp: time.Unix(1700000000, 0)}}, p)

	// The same data with another mini program's watermark.
	data, err = crypto.EncryptUserData(crypto.UserData{SessionKey: otherKey, IV: otherIV}, []byte(`{"phoneNumber":"1","watermark":{"appid":"wxSOMEONEELSE","timestamp":1}}`))
	require.NoError(t, err)
	_, err = e.c.DecryptPhoneNumber(miniprogram.UserData{SessionKey: otherKey, EncryptedData: data, IV: otherIV})
	require.ErrorIs(t, err, crypto.ErrWatermark)
	assert.True(t, errors.Is(err, crypto.ErrValidateAppID))

	// Wrong key and wrong iv on data we built.
	data, err = crypto.EncryptUserData(crypto.UserData{SessionKey: otherKey, IV: otherIV}, []byte(plain))
	require.NoError(t, err)
	_, err = e.c.DecryptPhoneNumber(miniprogram.UserData{SessionKey: vecKey, EncryptedData: data, IV: otherIV})
	require.Error(t, err)
	_, err = e.c.DecryptPhoneNumber(miniprogram.UserData{SessionKey: otherKey, EncryptedData: data, IV: vecIV})
	require.Error(t, err)

	// A watermark-correct plaintext whose fields have the wrong types fails to decode, typed.
	data, err = crypto.EncryptUserData(crypto.UserData{SessionKey: otherKey, IV: otherIV}, []byte(`{"phoneNumber":5,"watermark":{"appid":"wxAPP","timestamp":1}}`))
	require.NoError(t, err)
	_, err = e.c.DecryptPhoneNumber(miniprogram.UserData{SessionKey: otherKey, EncryptedData: data, IV: otherIV})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "decode")
}

// A Session is what a login handler has in hand when it answers the mini program, and JSON is how it
// answers (and how structured loggers print nested values, bypassing Format and LogValue). The
// session_key must stay on the server: JSON never carries it, while Login still reads it from WeChat.
func TestSessionJSONNeverCarriesKey(t *testing.T) {
	s := miniprogram.Session{OpenID: "oUSER", SessionKey: "SECRETKEY", UnionID: "uU"}
	for _, v := range []any{s, &s, []miniprogram.Session{s}, struct{ Session miniprogram.Session }{s}} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		assert.NotContains(t, string(b), "SECRETKEY")
		assert.NotContains(t, string(b), "session_key")
		assert.Contains(t, string(b), "oUSER")
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("login", "reply", struct {
		Token   string
		Session miniprogram.Session
	}{"t", s}, "all", []miniprogram.Session{s})
	assert.NotContains(t, buf.String(), "SECRETKEY")
	assert.Contains(t, buf.String(), "oUSER")

	e := setup(t)
	e.expect(t, call{method: "GET", path: "/sns/component/jscode2session", token: "component_access_token", value: "comp-1",
		query: url.Values{"appid": {"wxAPP"}, "js_code": {"C"}, "grant_type": {"authorization_code"}, "component_appid": {"wxCOMP"}},
		reply: `{"openid":"oUSER","session_key":"S0VZ","unionid":"uU"}`})
	got, err := e.c.Login(ctx, "C")
	require.NoError(t, err)
	assert.Equal(t, "S0VZ", got.SessionKey, "Login still reads session_key from WeChat's answer")
}
