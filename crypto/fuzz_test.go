package crypto

import (
	"bytes"
	"encoding/base64"
	"testing"
)

// FuzzDecryptMessage feeds arbitrary signatures, timestamps, nonces and bodies to DecryptMessage.
// Random bodies rarely pass the signature check, so each input is also tried with the correct
// signature for its Encrypt, and the body is also used as raw decrypted bytes (encrypted without
// padding under the key), which puts the padding, length and appid checks in the fuzzer's hands.
// Nothing may panic, and whatever decrypts must round-trip through EncryptMessage.
func FuzzDecryptMessage(f *testing.F) {
	f.Add(b1MsgSig, b1Time, b1Nonce, []byte(b1Body))
	f.Add(a1MsgSig, aTimestamp, aNonce, envelope(a1Encrypt))
	f.Add(a2MsgSig, aTimestamp, aNonce, envelope(a2Encrypt))
	f.Add(b2MsgSig, b2Time, b2Nonce, envelope(b2EchoStr))
	f.Add("", "", "", []byte(nil))
	f.Add("x", "1", "2", []byte("<xml><Encrypt>AAAA</Encrypt></xml>"))
	f.Add("", "", "", pad(layout(5, "hello", bAppID), 32))
	f.Add("", "", "", pad(layout(5, "hello", bAppID+"x"), 32))
	f.Add("", "", "", pad(layout(500, "hello", bAppID), 32))

	c := newB(f)
	f.Fuzz(func(t *testing.T, sig, ts, nonce string, body []byte) {
		check := func(msg []byte, err error) {
			if err != nil {
				if msg != nil {
					t.Fatalf("message and error %v together", err)
				}
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error %T is not an *Error", err)
				}
				noSecrets(t, err.Error())
				return
			}
			roundTrip(t, c, msg)
		}
		check(c.DecryptMessage(sig, ts, nonce, body))
		if env, err := ParseEnvelope(body); err == nil {
			check(c.DecryptMessage(c.Signature(ts, nonce, env.Encrypt), ts, nonce, body))
			check(c.Decrypt(env.Encrypt))
		}
		check(c.Decrypt(string(body)))
		if n := len(body) &^ 15; n > 0 {
			check(c.Decrypt(rawEncrypt(t, c, body[:n])))
		}
	})
}

func roundTrip(t *testing.T, c *MsgCrypt, msg []byte) {
	t.Helper()
	reply, err := c.EncryptMessage(msg, "1700000000", "fuzz")
	if err != nil {
		t.Fatalf("EncryptMessage of a decrypted message: %v", err)
	}
	env, err := ParseEnvelope(reply)
	if err != nil {
		t.Fatalf("ParseEnvelope of our own reply: %v", err)
	}
	got, err := c.DecryptMessage(c.Signature("1700000000", "fuzz", env.Encrypt), "1700000000", "fuzz", reply)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("round trip: %v", err)
	}
}

// FuzzDecryptUserData feeds arbitrary keys, ivs and data to DecryptUserData, and the data also as
// raw decrypted bytes under the official vector's key, so the padding and watermark checks are
// reached. Nothing may panic; whatever decrypts must round-trip through EncryptUserData.
func FuzzDecryptUserData(f *testing.F) {
	f.Add(udSessionKey, udIV, udData, udAppID, []byte(nil))
	f.Add(udSessionKey, udIV, udData, "wx0000000000000000", []byte(udPlain))
	f.Add("", "", "", "", []byte(`{"watermark":{"appid":"wx4f4bc4dec97d474b"}}`+"\x04\x04\x04\x04"))
	f.Add(udIV, udSessionKey, udData[:64], udAppID, []byte(`{"watermark":{"appid":1}}`+"\x07\x07\x07\x07\x07\x07\x07"))
	f.Fuzz(func(t *testing.T, key, iv, data, appID string, raw []byte) {
		check := func(key, iv, appID string, plain []byte, err error) {
			if err != nil {
				if plain != nil {
					t.Fatalf("plaintext and error %v together", err)
				}
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error %T is not an *Error", err)
				}
				noSecrets(t, err.Error())
				return
			}
			enc, err := EncryptUserData(UserData{SessionKey: key, IV: iv}, plain)
			if err != nil {
				t.Fatalf("EncryptUserData after a successful decrypt: %v", err)
			}
			again, err := DecryptUserData(UserData{SessionKey: key, IV: iv, EncryptedData: enc, AppID: appID})
			if err != nil || !bytes.Equal(again, plain) {
				t.Fatalf("round trip: %v", err)
			}
		}
		plain, err := DecryptUserData(UserData{SessionKey: key, IV: iv, EncryptedData: data, AppID: appID})
		check(key, iv, appID, plain, err)
		if n := len(raw) &^ 15; n > 0 {
			enc := rawUserData(t, raw[:n])
			plain, err := DecryptUserData(UserData{SessionKey: udSessionKey, IV: udIV, EncryptedData: enc, AppID: udAppID})
			check(udSessionKey, udIV, udAppID, plain, err)
		}
		if len(raw) > 0 && len(raw) <= 4096 {
			enc, err := EncryptUserData(UserData{SessionKey: udSessionKey, IV: udIV}, raw)
			if err != nil {
				t.Fatalf("EncryptUserData: %v", err)
			}
			// Decrypting our own encryption never fails on padding or length.
			_, err = DecryptUserData(UserData{SessionKey: udSessionKey, IV: udIV, EncryptedData: enc, AppID: udAppID})
			if err != nil {
				if code := err.(*Error).Code; code == CodeDecryptAES || code == CodeDecodeBase64 {
					t.Fatalf("own ciphertext rejected: %v", err)
				}
			}
			if raw, err := base64.StdEncoding.DecodeString(enc); err != nil || len(raw)%16 != 0 {
				t.Fatalf("EncryptUserData produced %d bytes, err %v", len(raw), err)
			}
		}
	})
}

// FuzzParseEnvelope checks that ParseEnvelope never panics, that the allocation-free parser agrees
// with encoding/xml whenever it accepts a body, and that an accepted envelope survives a rebuild.
func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(b1Body))
	f.Add(envelope(a2Encrypt))
	f.Add([]byte("<xml><AppId><![CDATA[wx1]]></AppId><Encrypt>abcd</Encrypt></xml>"))
	f.Add([]byte(`<?xml version="1.0"?><xml><!-- c --><ToUserName>a&amp;b</ToUserName><Encrypt>ab</Encrypt></xml>`))
	f.Add([]byte("<xml><Encrypt>ab</Encrypt><Encrypt>cd</Encrypt></xml>"))
	f.Add([]byte("<xml><Encrypt><![CDATA[a]]><![CDATA[b]]></Encrypt></xml>trailing"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := ParseEnvelope(body)
		if err != nil {
			if env != (Envelope{}) {
				t.Fatalf("envelope %+v with error %v", env, err)
			}
			if e, ok := err.(*Error); !ok || e.Code != CodeParseXML {
				t.Fatalf("error %v is not CodeParseXML", err)
			}
		} else if env.Encrypt == "" {
			t.Fatal("accepted an envelope without Encrypt")
		}
		if fast, ok := parseEnvelopeFast(body); ok {
			slow, err := parseEnvelopeXML(body)
			if err != nil {
				t.Fatalf("fast path accepted what encoding/xml rejects (%v): %q", err, body)
			}
			if !bytes.Equal(fast.encrypt, slow.encrypt) || !bytes.Equal(fast.toUserName, slow.toUserName) ||
				!bytes.Equal(fast.appID, slow.appID) {
				t.Fatalf("fast path %q/%q/%q, encoding/xml %q/%q/%q for %q",
					fast.toUserName, fast.appID, fast.encrypt, slow.toUserName, slow.appID, slow.encrypt, body)
			}
		}
		if err == nil && isBase64Text([]byte(env.Encrypt)) {
			again, err := ParseEnvelope(envelope(env.Encrypt))
			if err != nil || again.Encrypt != env.Encrypt {
				t.Fatalf("rebuilt envelope: %v", err)
			}
		}
	})
}
