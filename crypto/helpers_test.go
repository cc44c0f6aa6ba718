package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// Vector A (digest section 3.1): the official-account sample.
const (
	aKey       = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	aToken     = "pamtest"
	aTimestamp = "1409304348"
	aNonce     = "xxxxxx"
	aAppID     = "wxb11529c136998cb6"
	aRandom    = "aaaabbbbccccdddd"
	a1Msg      = "我是中文abcd123"
	a1Encrypt  = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
	a1MsgSig   = "82c962d39941aa48552f90ef55aa323dc620cc10"
	a2Msg      = "<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>"
	a2Encrypt  = "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb"
	a2MsgSig   = "ea88b765074e41eb8c7a75b449db34fa2fd560d5"
	aURLSig    = "76480565cbe296026c53aaacd1ad523a1ddba24f"
)

// Vector B (digest section 3.1): the WeCom sample, real WeChat-produced ciphertext.
const (
	bToken     = "QDG6eK"
	bKey       = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	bAppID     = "wx5823bf96d3bd56c7"
	b1MsgSig   = "477715d11cdb4164915debcba66cb864d751f3e6"
	b1Time     = "1409659813"
	b1Nonce    = "1372623149"
	b1Body     = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt></xml>"
	b1Msg      = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>"
	b2MsgSig   = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
	b2Time     = "1409659589"
	b2Nonce    = "263014780"
	b2EchoStr  = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
	b2Expected = "1616140317555161061"
)

// Section 8: the official mini-program vector.
const (
	udAppID      = "wx4f4bc4dec97d474b"
	udSessionKey = "tiihtNczf5v6AKRyjwEUhQ=="
	udIV         = "r7BXXKkLb8qrSNn05n0qiA=="
	udData       = "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew=="
	udPlain      = `{"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0","unionId":"ocMvos6NjeKLIBqg5Mr9QjxrP1FA","watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"}}`
)

func newA(tb testing.TB) *MsgCrypt {
	tb.Helper()
	c, err := NewMsgCrypt(aToken, aKey, aAppID)
	if err != nil {
		tb.Fatalf("NewMsgCrypt(vector A): %v", err)
	}
	return c
}

func newB(tb testing.TB) *MsgCrypt {
	tb.Helper()
	c, err := NewMsgCrypt(bToken, bKey, bAppID)
	if err != nil {
		tb.Fatalf("NewMsgCrypt(vector B): %v", err)
	}
	return c
}

// wantCode fails unless err is an *Error with code, errors.Is matches the code's sentinel, the
// message contains every fragment, and the message leaks none of the secrets.
func wantCode(tb testing.TB, err error, code int, fragments ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got nil error, want code %d", code)
	}
	var e *Error
	if !errors.As(err, &e) {
		tb.Fatalf("error %q (%T) is not an *Error", err, err)
	}
	if e.Code != code {
		tb.Fatalf("error %q has code %d, want %d", err, e.Code, code)
	}
	if !errors.Is(err, &Error{Code: code}) {
		tb.Fatalf("errors.Is(%q, code %d) is false", err, code)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "wxcrypto: ") {
		tb.Errorf("error %q lacks the wxcrypto: prefix", msg)
	}
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			tb.Errorf("error %q does not contain %q", msg, f)
		}
	}
	noSecrets(tb, msg)
}

// noSecrets fails if s contains a token, key or session key of the vectors.
func noSecrets(tb testing.TB, s string) {
	tb.Helper()
	for _, secret := range []string{aToken, aKey, bToken, bKey, udSessionKey, aKey[:20], bKey[:20]} {
		if strings.Contains(s, secret) {
			tb.Errorf("%q contains a secret", s)
		}
	}
}

// rawEncrypt encrypts plain, which must be a multiple of 16 bytes, with c's key and IV and no
// padding or layout, so tests can put any decrypted bytes in front of the checks.
func rawEncrypt(tb testing.TB, c *MsgCrypt, plain []byte) string {
	tb.Helper()
	if len(plain)%aes.BlockSize != 0 {
		tb.Fatalf("rawEncrypt: %d bytes is not a multiple of 16", len(plain))
	}
	out := bytes.Clone(plain)
	cipher.NewCBCEncrypter(c.secret().block, c.secret().key[:16]).CryptBlocks(out, out)
	return base64.StdEncoding.EncodeToString(out)
}

// layout builds random16 | len | msg | appid with a given length field.
func layout(msgLen uint32, msg, appID string) []byte {
	b := []byte(aRandom)
	b = append(b, byte(msgLen>>24), byte(msgLen>>16), byte(msgLen>>8), byte(msgLen))
	b = append(b, msg...)
	return append(b, appID...)
}

func envelope(encrypt string) []byte {
	return []byte("<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><Encrypt><![CDATA[" + encrypt + "]]></Encrypt></xml>")
}

func mustEqual[T comparable](tb testing.TB, got, want T, what string) {
	tb.Helper()
	if got != want {
		tb.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func mustNoErr(tb testing.TB, err error, what string) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: unexpected error %v", what, err)
	}
}
