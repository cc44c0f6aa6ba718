package crypto

import (
	"bytes"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

func TestNewMsgCryptValidation(t *testing.T) {
	for _, tc := range []struct {
		name, token, key, appID string
		code                    int
		fragment                string
	}{
		{"empty token", "", aKey, aAppID, CodeComputeSignature, "token"},
		{"empty appID", aToken, aKey, "", CodeValidateAppID, "appID"},
		{"empty key", aToken, "", aAppID, CodeIllegalAESKey, "43 characters, got 0"},
		{"short key", aToken, aKey[:42], aAppID, CodeIllegalAESKey, "43 characters, got 42"},
		{"long key", aToken, aKey + "H", aAppID, CodeIllegalAESKey, "43 characters, got 44"},
		{"key with +", aToken, aKey[:42] + "+", aAppID, CodeIllegalAESKey, "A-Z, a-z and 0-9"},
		{"key with =", aToken, aKey[:42] + "=", aAppID, CodeIllegalAESKey, "A-Z, a-z and 0-9"},
		{"key with space", aToken, " " + aKey[1:], aAppID, CodeIllegalAESKey, "A-Z, a-z and 0-9"},
		{"key with non-ASCII", aToken, "é" + aKey[2:], aAppID, CodeIllegalAESKey, "A-Z, a-z and 0-9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewMsgCrypt(tc.token, tc.key, tc.appID)
			if c != nil {
				t.Fatalf("got a MsgCrypt with an error")
			}
			wantCode(t, err, tc.code, tc.fragment)
			if tc.key != "" && strings.Contains(err.Error(), tc.key) {
				t.Fatalf("error %q echoes the key", err)
			}
		})
	}
}

func TestAppID(t *testing.T) {
	mustEqual(t, newA(t).AppID(), aAppID, "AppID")
	var nilC *MsgCrypt
	mustEqual(t, nilC.AppID(), "", "nil AppID")
}

func TestMsgCryptPrintsNoSecrets(t *testing.T) {
	c := newA(t)
	type holder struct {
		mc    *MsgCrypt
		val   MsgCrypt
		Pub   *MsgCrypt
		PubV  MsgCrypt
		inner struct{ mc *MsgCrypt }
	}
	h := holder{mc: c, val: *c, Pub: c, PubV: *c}
	h.inner.mc = c
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for _, arg := range []any{c, *c, h, &h, []*MsgCrypt{c}, map[string]*MsgCrypt{"k": c}} {
			out := fmt.Sprintf(verb, arg)
			noSecrets(t, out)
			if strings.Contains(out, string(c.secret().key[:8])) {
				t.Errorf("%s of %T prints key bytes", verb, arg)
			}
		}
	}
	mustEqual(t, fmt.Sprintf("%v", c), "crypto.MsgCrypt{AppID: "+aAppID+"}", "%v")
	mustEqual(t, fmt.Sprintf("%+v", c), "crypto.MsgCrypt{AppID: "+aAppID+"}", "%+v")
	mustEqual(t, fmt.Sprintf("%#v", c), `&crypto.MsgCrypt{AppID:"`+aAppID+`"}`, "%#v")
	mustEqual(t, c.String(), "crypto.MsgCrypt{AppID: "+aAppID+"}", "String")
	var nilC *MsgCrypt
	mustEqual(t, fmt.Sprintf("%v|%#v", nilC, nilC), "crypto.MsgCrypt(nil)|(*crypto.MsgCrypt)(nil)", "nil")
}

func TestZeroMsgCryptFailsClosed(t *testing.T) {
	for name, c := range map[string]*MsgCrypt{"nil": nil, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			mustEqual(t, c.Signature(aTimestamp, aNonce, a1Encrypt), "", "Signature")
			mustEqual(t, c.VerifySignature("", aTimestamp, aNonce, a1Encrypt), false, "VerifySignature")
			mustEqual(t, c.VerifyURLSignature(aURLSig, aTimestamp, aNonce), false, "VerifyURLSignature")
			_, err := c.Decrypt(a1Encrypt)
			wantCode(t, err, CodeIllegalAESKey, "NewMsgCrypt")
			_, err = c.Encrypt([]byte("x"))
			wantCode(t, err, CodeIllegalAESKey, "NewMsgCrypt")
			_, err = c.DecryptMessage(a1MsgSig, aTimestamp, aNonce, envelope(a1Encrypt))
			wantCode(t, err, CodeIllegalAESKey, "NewMsgCrypt")
			_, err = c.EncryptMessage([]byte("x"), aTimestamp, aNonce)
			wantCode(t, err, CodeIllegalAESKey, "NewMsgCrypt")
		})
	}
}

func TestVerifySignatureRejects(t *testing.T) {
	c := newA(t)
	for _, sig := range []string{
		"",
		a1MsgSig[:39],
		a1MsgSig + "0",
		strings.ToUpper(a1MsgSig), // WeChat sends lowercase; the comparison is exact
		"0" + a1MsgSig[1:],
		a2MsgSig,
	} {
		if c.VerifySignature(sig, aTimestamp, aNonce, a1Encrypt) {
			t.Errorf("VerifySignature(%q) = true", sig)
		}
	}
	if c.VerifySignature(a1MsgSig, aTimestamp+"1", aNonce, a1Encrypt) {
		t.Error("VerifySignature accepted another timestamp")
	}
	other, err := NewMsgCrypt("othertoken", aKey, aAppID)
	mustNoErr(t, err, "NewMsgCrypt")
	if other.VerifySignature(a1MsgSig, aTimestamp, aNonce, a1Encrypt) {
		t.Error("VerifySignature accepted a signature made with another token")
	}
}

func TestDecryptMessageErrors(t *testing.T) {
	c := newA(t)
	sign := func(encrypt string) string { return c.Signature(aTimestamp, aNonce, encrypt) }
	valid := func(plain []byte) string { return rawEncrypt(t, c, pad(plain, 32)) }
	withPad := func(plain []byte, padding ...byte) string {
		return rawEncrypt(t, c, append(bytes.Clone(plain), padding...))
	}
	msg := "<xml>hello</xml>"
	good := layout(uint32(len(msg)), msg, aAppID) // 16+4+16+18 = 54 bytes: pad 10
	rep := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

	cases := []struct {
		name     string
		encrypt  string // signed correctly unless body or sig is set
		body     []byte
		sig      string
		code     int
		fragment string
	}{
		{name: "wrong signature", encrypt: a1Encrypt, sig: a2MsgSig, code: CodeValidateSignature, fragment: "msg_signature"},
		{name: "empty signature", encrypt: a1Encrypt, sig: "-", code: CodeValidateSignature},
		{name: "bad base64", encrypt: "not base64!", code: CodeDecodeBase64, fragment: "base64"}, // parsed by encoding/xml
		{name: "bad base64 alphabet", encrypt: "abc$", code: CodeDecodeBase64, fragment: "base64"},
		{name: "bad base64 length", encrypt: "abcde", code: CodeDecodeBase64, fragment: "base64"},
		{name: "ciphertext not multiple of 16", encrypt: "AAAAAAAAAAAAAAAAAAAA", code: CodeDecryptAES, fragment: "length 15"},
		{name: "ciphertext of 17 bytes", encrypt: "AAAAAAAAAAAAAAAAAAAAAAA=", code: CodeDecryptAES, fragment: "length 17"},
		{name: "padding byte 0", encrypt: withPad(good, append(rep(9, 9), 0)...), code: CodeDecryptAES, fragment: "padding"},
		{name: "padding byte 33", encrypt: withPad(good[:31], 33), code: CodeDecryptAES, fragment: "padding"},
		{name: "padding byte 255", encrypt: withPad(good[:31], 255), code: CodeDecryptAES, fragment: "padding"},
		{name: "padding bytes inconsistent", encrypt: withPad(good, append(rep(10, 8), 9, 10)...), code: CodeDecryptAES, fragment: "padding"},
		{name: "padding first byte inconsistent", encrypt: withPad(good, append([]byte{11}, rep(10, 9)...)...), code: CodeDecryptAES, fragment: "padding"},
		{name: "padding longer than data", encrypt: withPad(rep('x', 15), 17), code: CodeDecryptAES, fragment: "padding"},
		{name: "padding 32 inconsistent", encrypt: withPad(good[:32], append(rep(32, 31), 31)...), code: CodeDecryptAES, fragment: "padding"},
		{name: "shorter than header", encrypt: valid(rep('r', 19)), code: CodeIllegalBuffer, fragment: "19 bytes"},
		{name: "empty after padding", encrypt: withPad(nil, rep(16, 16)...), code: CodeIllegalBuffer, fragment: "0 bytes"},
		{name: "length field beyond buffer", encrypt: valid(layout(uint32(len(msg)+len(aAppID)+1), msg, aAppID)), code: CodeIllegalBuffer, fragment: "length field"},
		{name: "length field 0xffffffff", encrypt: valid(layout(0xffffffff, msg, aAppID)), code: CodeIllegalBuffer, fragment: "length field"},
		{name: "wrong appid", encrypt: valid(layout(uint32(len(msg)), msg, "wx0000000000000000")), code: CodeValidateAppID, fragment: aAppID},
		{name: "appid prefix only", encrypt: valid(layout(uint32(len(msg)), msg, aAppID[:17])), code: CodeValidateAppID},
		{name: "appid with extra byte", encrypt: valid(layout(uint32(len(msg)), msg, aAppID+"x")), code: CodeValidateAppID},
		{name: "length field eats appid", encrypt: valid(layout(uint32(len(msg)+len(aAppID)), msg, aAppID)), code: CodeValidateAppID},
		{name: "malformed XML", body: []byte("<xml><Encrypt>abc</Encrypt>"), code: CodeParseXML},
		{name: "not XML", body: []byte("success"), code: CodeParseXML},
		{name: "empty body", body: nil, code: CodeParseXML},
		{name: "wrong root", body: []byte("<root><Encrypt>abcd</Encrypt></root>"), code: CodeParseXML, fragment: "root"},
		{name: "missing Encrypt", body: []byte("<xml><ToUserName><![CDATA[gh_1]]></ToUserName></xml>"), code: CodeParseXML, fragment: "no Encrypt"},
		{name: "empty Encrypt", body: []byte("<xml><Encrypt><![CDATA[]]></Encrypt></xml>"), code: CodeParseXML, fragment: "no Encrypt"},
		{name: "two Encrypt", body: []byte("<xml><Encrypt>abcd</Encrypt><Encrypt>efgh</Encrypt></xml>"), code: CodeParseXML, fragment: "repeats"},
		{name: "trailing data", body: []byte("<xml><Encrypt>abcd</Encrypt></xml><xml/>"), code: CodeParseXML, fragment: "after </xml>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if body == nil && tc.encrypt != "" {
				body = envelope(tc.encrypt)
			}
			sig := tc.sig
			if sig == "" {
				sig = sign(tc.encrypt)
			}
			if sig == "-" {
				sig = ""
			}
			got, err := c.DecryptMessage(sig, aTimestamp, aNonce, body)
			if got != nil {
				t.Fatalf("got message %q with an error", got)
			}
			wantCode(t, err, tc.code, tc.fragment)
			if tc.body == nil && tc.code != CodeValidateSignature && tc.code != CodeParseXML {
				// Decrypt alone reports the same failure.
				_, err := c.Decrypt(tc.encrypt)
				wantCode(t, err, tc.code, tc.fragment)
			}
		})
	}
	// Sanity: the helpers produce a valid message when nothing is wrong.
	got, err := c.Decrypt(valid(good))
	mustNoErr(t, err, "Decrypt(valid)")
	mustEqual(t, string(got), msg, "message")
}

func TestPaddingAccepted(t *testing.T) {
	// Every pad length 1..32 that WeChat can produce, including a full block of 32.
	c := newA(t)
	for n := 0; n < 64; n++ {
		msg := strings.Repeat("m", n)
		plain := layout(uint32(n), msg, aAppID)
		p := 32 - len(plain)%32
		got, err := c.Decrypt(rawEncrypt(t, c, pad(plain, 32)))
		mustNoErr(t, err, fmt.Sprintf("Decrypt(len %d, pad %d)", n, p))
		mustEqual(t, string(got), msg, "message")
	}
}

func TestUnpad(t *testing.T) {
	for _, tc := range []struct {
		in        []byte
		blockSize int
		want      int // remaining length, -1 for invalid
	}{
		{nil, 32, -1},
		{[]byte{1}, 32, 0},
		{[]byte{2}, 32, -1},
		{[]byte{'a', 1}, 16, 1},
		{[]byte{'a', 2, 2}, 16, 1},
		{[]byte{'a', 3, 2}, 16, -1},
		{[]byte{'a', 0}, 16, -1},
		{append([]byte{'a'}, bytes.Repeat([]byte{16}, 16)...), 16, 1},
		{append([]byte{'a'}, bytes.Repeat([]byte{17}, 17)...), 16, -1},
		{append([]byte{'a'}, bytes.Repeat([]byte{32}, 32)...), 32, 1},
		{bytes.Repeat([]byte{32}, 32), 32, 0},
		{append([]byte{'a'}, bytes.Repeat([]byte{33}, 33)...), 32, -1},
	} {
		got, ok := unpad(tc.in, tc.blockSize)
		if tc.want < 0 {
			if ok {
				t.Errorf("unpad(%v, %d) accepted invalid padding", tc.in, tc.blockSize)
			}
			continue
		}
		if !ok || len(got) != tc.want {
			t.Errorf("unpad(%v, %d) = %d, %v; want %d", tc.in, tc.blockSize, len(got), ok, tc.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	c := newA(t)
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 15, 16, 31, 32, 33, 4999, 5000}
	// Sizes whose plaintext 20+n+18 is a multiple of 32: padding is a full block of 32.
	for n := 0; n <= 5000; n++ {
		if (20+n+len(aAppID))%32 == 0 && len(sizes) < 20 {
			sizes = append(sizes, n)
		}
	}
	for range 200 {
		sizes = append(sizes, rng.IntN(5001))
	}
	fullBlock := 0
	for _, n := range sizes {
		msg := make([]byte, n)
		_, _ = crand.Read(msg)
		enc, err := c.Encrypt(msg)
		mustNoErr(t, err, "Encrypt")
		if (20+n+len(aAppID))%32 == 0 {
			fullBlock++
			mustEqual(t, len(enc), (20+n+len(aAppID)+32)/3*4+map[int]int{0: 0, 1: 4, 2: 4}[(20+n+len(aAppID)+32)%3], "base64 length with a full pad block")
		}
		got, err := c.Decrypt(enc)
		mustNoErr(t, err, fmt.Sprintf("Decrypt(%d bytes)", n))
		if !bytes.Equal(got, msg) {
			t.Fatalf("round trip of %d bytes differs", n)
		}
		if n <= 300 || n%7 == 0 {
			body, err := c.EncryptMessage(msg, "1700000000", "nonce42")
			mustNoErr(t, err, "EncryptMessage")
			got, err := c.DecryptMessage(c.Signature("1700000000", "nonce42", mustEnvelope(t, body).Encrypt), "1700000000", "nonce42", body)
			mustNoErr(t, err, "DecryptMessage")
			if !bytes.Equal(got, msg) {
				t.Fatalf("message round trip of %d bytes differs", n)
			}
		}
	}
	if fullBlock == 0 {
		t.Fatal("no size produced a full block of padding")
	}
	// Encrypt uses fresh randomness: the same message never encrypts the same way twice.
	e1, _ := c.Encrypt([]byte("same"))
	e2, _ := c.Encrypt([]byte("same"))
	if e1 == e2 {
		t.Fatal("two encryptions of the same message are identical")
	}
}

func mustEnvelope(tb testing.TB, body []byte) Envelope {
	tb.Helper()
	env, err := ParseEnvelope(body)
	mustNoErr(tb, err, "ParseEnvelope")
	return env
}

func TestEncryptMessageEnvelope(t *testing.T) {
	c := newA(t)
	body, err := c.EncryptMessage([]byte(a2Msg), aTimestamp, aNonce)
	mustNoErr(t, err, "EncryptMessage")
	env := mustEnvelope(t, body)
	sig := c.Signature(aTimestamp, aNonce, env.Encrypt)
	want := "<xml><Encrypt><![CDATA[" + env.Encrypt + "]]></Encrypt><MsgSignature><![CDATA[" + sig +
		"]]></MsgSignature><TimeStamp>" + aTimestamp + "</TimeStamp><Nonce><![CDATA[" + aNonce + "]]></Nonce></xml>"
	mustEqual(t, string(body), want, "reply envelope")
	got, err := c.DecryptMessage(sig, aTimestamp, aNonce, body)
	mustNoErr(t, err, "DecryptMessage(reply)")
	mustEqual(t, string(got), a2Msg, "reply message")
	if bytes.Contains(body, []byte("中文")) {
		t.Fatal("reply envelope contains plaintext")
	}

	for _, tc := range []struct{ ts, nonce, fragment string }{
		{"", aNonce, "timestamp"},
		{"12a", aNonce, "timestamp"},
		{"<1>", aNonce, "timestamp"},
		{aTimestamp, "", "nonce"},
		{aTimestamp, "a]]>b", "nonce"},
		{aTimestamp, "line\nbreak", "nonce"},
		{aTimestamp, "中文", "nonce"},
	} {
		_, err := c.EncryptMessage([]byte("x"), tc.ts, tc.nonce)
		wantCode(t, err, CodeGenReturnXML, tc.fragment)
	}
}

func TestErrorIsByCode(t *testing.T) {
	sentinels := map[int]*Error{
		CodeValidateSignature: ErrSignature, CodeParseXML: ErrParseXML, CodeComputeSignature: ErrComputeSignature,
		CodeIllegalAESKey: ErrIllegalAESKey, CodeValidateAppID: ErrValidateAppID, CodeEncryptAES: ErrEncryptAES,
		CodeDecryptAES: ErrDecryptAES, CodeIllegalBuffer: ErrIllegalBuffer, CodeEncodeBase64: ErrEncodeBase64,
		CodeDecodeBase64: ErrDecodeBase64, CodeGenReturnXML: ErrGenReturnXML,
	}
	mustEqual(t, len(sentinels), 11, "distinct codes")
	for code, s := range sentinels {
		mustEqual(t, s.Code, code, "sentinel code")
		if code < -40011 || code > -40001 {
			t.Errorf("code %d outside -40011..-40001", code)
		}
		err := fmt.Errorf("op: %w", newError(code, "specific"))
		if !errors.Is(err, s) {
			t.Errorf("errors.Is(code %d, its sentinel) = false", code)
		}
		for other, o := range sentinels {
			if other != code && errors.Is(err, o) {
				t.Errorf("errors.Is(code %d, sentinel %d) = true", code, other)
			}
		}
		mustEqual(t, newError(code, "specific").Error(), fmt.Sprintf("wxcrypto: specific (%d)", code), "Error()")
	}
	if errors.Is(ErrSignature, errors.New("wxcrypto: signature mismatch (-40001)")) {
		t.Error("an *Error matched a non-*Error")
	}
	var nilErr *Error
	if ErrSignature.Is(nilErr) {
		t.Error("Is(nil *Error) = true")
	}
	if !errors.Is(ErrWatermark, ErrValidateAppID) {
		t.Error("ErrWatermark is not an appid validation error")
	}
}

func TestConcurrentUse(t *testing.T) {
	c := newB(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				msg, err := c.DecryptMessage(b1MsgSig, b1Time, b1Nonce, []byte(b1Body))
				if err != nil || string(msg) != b1Msg {
					t.Errorf("DecryptMessage: %v", err)
					return
				}
				plain := []byte(fmt.Sprintf("goroutine %d message %d", i, j))
				enc, err := c.Encrypt(plain)
				if err != nil {
					t.Errorf("Encrypt: %v", err)
					return
				}
				if got, err := c.Decrypt(enc); err != nil || !bytes.Equal(got, plain) {
					t.Errorf("Decrypt: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestDecryptDoesNotModifyInput(t *testing.T) {
	c := newB(t)
	body := []byte(b1Body)
	msg, err := c.DecryptMessage(b1MsgSig, b1Time, b1Nonce, body)
	mustNoErr(t, err, "DecryptMessage")
	mustEqual(t, string(body), b1Body, "body after DecryptMessage")
	// The message does not alias the body, and appending to it cannot reach the appid tail.
	msg = append(msg, "more"...)
	mustEqual(t, string(body), b1Body, "body after append")
	_ = msg
}
