package crypto

import "testing"

func TestVectorAEncryptKnownAnswer(t *testing.T) {
	c := newA(t)
	random := [16]byte([]byte(aRandom))
	for _, tc := range []struct{ name, msg, encrypt, sig string }{
		{"A1", a1Msg, a1Encrypt, a1MsgSig},
		{"A2", a2Msg, a2Encrypt, a2MsgSig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.encrypt(&random, []byte(tc.msg))
			mustNoErr(t, err, "encrypt")
			mustEqual(t, got, tc.encrypt, "Encrypt")

			plain, err := c.Decrypt(tc.encrypt)
			mustNoErr(t, err, "Decrypt")
			mustEqual(t, string(plain), tc.msg, "decrypted message")

			mustEqual(t, c.Signature(aTimestamp, aNonce, tc.encrypt), tc.sig, "msg_signature")
			mustEqual(t, c.VerifySignature(tc.sig, aTimestamp, aNonce, tc.encrypt), true, "VerifySignature")

			msg, err := c.DecryptMessage(tc.sig, aTimestamp, aNonce, envelope(tc.encrypt))
			mustNoErr(t, err, "DecryptMessage")
			mustEqual(t, string(msg), tc.msg, "DecryptMessage")
		})
	}
}

func TestVectorAURLSignature(t *testing.T) {
	c := newA(t)
	mustEqual(t, c.VerifyURLSignature(aURLSig, aTimestamp, aNonce), true, "VerifyURLSignature")
	mustEqual(t, SortedSHA1(aToken, aTimestamp, aNonce), aURLSig, "SortedSHA1")
	mustEqual(t, c.VerifyURLSignature(aURLSig, aTimestamp, "yyyyyy"), false, "VerifyURLSignature(other nonce)")
	mustEqual(t, c.VerifyURLSignature("", aTimestamp, aNonce), false, "VerifyURLSignature(empty)")
}

func TestVectorB1DecryptMessage(t *testing.T) {
	c := newB(t)
	msg, err := c.DecryptMessage(b1MsgSig, b1Time, b1Nonce, []byte(b1Body))
	mustNoErr(t, err, "DecryptMessage")
	mustEqual(t, string(msg), b1Msg, "message")

	env, err := ParseEnvelope([]byte(b1Body))
	mustNoErr(t, err, "ParseEnvelope")
	mustEqual(t, env.ToUserName, bAppID, "ToUserName")
	mustEqual(t, c.Signature(b1Time, b1Nonce, env.Encrypt), b1MsgSig, "Signature")
}

func TestVectorB2EchoStr(t *testing.T) {
	c := newB(t)
	mustEqual(t, c.VerifySignature(b2MsgSig, b2Time, b2Nonce, b2EchoStr), true, "VerifySignature")
	msg, err := c.Decrypt(b2EchoStr)
	mustNoErr(t, err, "Decrypt")
	mustEqual(t, string(msg), b2Expected, "echostr")
}

func TestVectorUserData(t *testing.T) {
	plain, err := DecryptUserData(UserData{SessionKey: udSessionKey, IV: udIV, EncryptedData: udData, AppID: udAppID})
	mustNoErr(t, err, "DecryptUserData")
	mustEqual(t, string(plain), udPlain, "plaintext")

	enc, err := EncryptUserData(UserData{SessionKey: udSessionKey, IV: udIV}, []byte(udPlain))
	mustNoErr(t, err, "EncryptUserData")
	mustEqual(t, enc, udData, "EncryptUserData (known answer)")
}

func TestSortedSHA1CardExt(t *testing.T) {
	// Digest section 7.7, order as the caller might pass them.
	mustEqual(t, SortedSHA1("TEST_API_TICKET", "1700000000", "pCARD_ID_EXAMPLE", "CODE123", "NONCE01"),
		"dd4dd7944708af09f9a63242c633b5d037f28d55", "cardExt signature")
	// An empty value (no openid) sorts first and adds nothing.
	mustEqual(t, SortedSHA1("TEST_API_TICKET", "1700000000", "pCARD_ID_EXAMPLE", "CODE123", "", "NONCE01"),
		"dd4dd7944708af09f9a63242c633b5d037f28d55", "cardExt signature with empty openid")
}
