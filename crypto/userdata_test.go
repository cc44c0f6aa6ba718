package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// rawUserData encrypts plain (a multiple of 16 bytes) under the vector's key and iv, unpadded.
func rawUserData(tb testing.TB, plain []byte) string {
	tb.Helper()
	key, _ := base64.StdEncoding.DecodeString(udSessionKey)
	iv, _ := base64.StdEncoding.DecodeString(udIV)
	block, err := aes.NewCipher(key)
	mustNoErr(tb, err, "aes.NewCipher")
	out := bytes.Clone(plain)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, out)
	return base64.StdEncoding.EncodeToString(out)
}

func encUserData(tb testing.TB, plain string) string {
	tb.Helper()
	s, err := EncryptUserData(UserData{SessionKey: udSessionKey, IV: udIV}, []byte(plain))
	mustNoErr(tb, err, "EncryptUserData")
	return s
}

func TestDecryptUserDataErrors(t *testing.T) {
	otherKey := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	otherIV := base64.StdEncoding.EncodeToString([]byte("fedcba9876543210"))
	key15 := base64.StdEncoding.EncodeToString(make([]byte, 15))
	key24 := base64.StdEncoding.EncodeToString(make([]byte, 24))
	validPrefix := []byte(udPlain[:32])
	for _, tc := range []struct {
		name, key, iv, data, appID string
		code                       int
		fragment                   string
	}{
		{"wrong appid", udSessionKey, udIV, udData, "wx0000000000000000", CodeValidateAppID, "watermark appid is not wx0000000000000000"},
		{"wrong key", otherKey, udIV, udData, udAppID, CodeDecryptAES, "padding"},
		{"wrong iv", udSessionKey, otherIV, udData, udAppID, CodeIllegalBuffer, "not a JSON object"}, // CBC: only the first block garbles
		{"empty key", "", udIV, udData, udAppID, CodeIllegalAESKey, "session_key must be 16 bytes"},
		{"15-byte key", key15, udIV, udData, udAppID, CodeIllegalAESKey, "session_key must be 16 bytes"},
		{"24-byte key", key24, udIV, udData, udAppID, CodeIllegalAESKey, "session_key must be 16 bytes"},
		{"key unpadded base64", udSessionKey[:22], udIV, udData, udAppID, CodeIllegalAESKey, "session_key"},
		{"key bad base64", "!!!!!!!!!!!!!!!!!!!!!!!!", udIV, udData, udAppID, CodeDecodeBase64, "session_key is not valid base64"},
		{"key 24 chars decoding to 17 bytes", "AAAAAAAAAAAAAAAAAAAAAAA=", udIV, udData, udAppID, CodeIllegalAESKey, "got 17"},
		{"empty iv", udSessionKey, "", udData, udAppID, CodeIllegalBuffer, "iv must be 16 bytes"},
		{"short iv", udSessionKey, key15, udData, udAppID, CodeIllegalBuffer, "iv must be 16 bytes"},
		{"iv bad base64", udSessionKey, "r7BXXKkLb8qrSNn05n0qiA=!", udData, udAppID, CodeDecodeBase64, "iv is not valid base64"},
		{"data bad base64", udSessionKey, udIV, udData[:10] + "*" + udData[11:], udAppID, CodeDecodeBase64, "encryptedData is not valid base64"},
		{"data empty", udSessionKey, udIV, "", udAppID, CodeDecryptAES, "length 0"},
		{"data truncated", udSessionKey, udIV, udData[:len(udData)-4], udAppID, CodeDecryptAES, "not a positive multiple of 16"},
		{"padding 0", udSessionKey, udIV, rawUserData(t, append(validPrefix[:31:31], 0)), udAppID, CodeDecryptAES, "padding"},
		{"padding 17", udSessionKey, udIV, rawUserData(t, append(validPrefix[:31:31], 17)), udAppID, CodeDecryptAES, "padding"},
		{"padding inconsistent", udSessionKey, udIV, rawUserData(t, append(validPrefix[:29:29], 2, 3, 3)), udAppID, CodeDecryptAES, "padding"},
		{"not JSON", udSessionKey, udIV, encUserData(t, "hello"), udAppID, CodeIllegalBuffer, "not a JSON object"},
		{"JSON array", udSessionKey, udIV, encUserData(t, `[1,2]`), udAppID, CodeIllegalBuffer, "not a JSON object"},
		{"no watermark", udSessionKey, udIV, encUserData(t, `{"openId":"o"}`), udAppID, CodeValidateAppID, "no string watermark.appid"},
		{"null watermark", udSessionKey, udIV, encUserData(t, `{"watermark":null}`), udAppID, CodeValidateAppID, "no string watermark.appid"},
		{"watermark without appid", udSessionKey, udIV, encUserData(t, `{"watermark":{"timestamp":1}}`), udAppID, CodeValidateAppID, "no string watermark.appid"},
		{"numeric appid", udSessionKey, udIV, encUserData(t, `{"watermark":{"appid":1}}`), udAppID, CodeValidateAppID, "no string watermark.appid"},
		{"watermark string", udSessionKey, udIV, encUserData(t, `{"watermark":"wx4f4bc4dec97d474b"}`), udAppID, CodeValidateAppID, "no string watermark.appid"},
		{"empty appid expected", udSessionKey, udIV, udData, "", CodeValidateAppID, "appID is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecryptUserData(UserData{SessionKey: tc.key, IV: tc.iv, EncryptedData: tc.data, AppID: tc.appID})
			if got != nil {
				t.Fatalf("got plaintext with an error")
			}
			wantCode(t, err, tc.code, tc.fragment)
			if tc.code == CodeValidateAppID && !errors.Is(err, ErrWatermark) {
				t.Fatalf("errors.Is(%v, ErrWatermark) = false", err)
			}
			// No plaintext in the message either.
			for _, frag := range []string{"oGZUI0egBJY1zhBYw2KhdUfwVJJE", "Guangzhou", "openId"} {
				if bytes.Contains([]byte(err.Error()), []byte(frag)) {
					t.Fatalf("error %q contains plaintext", err)
				}
			}
		})
	}
}

func TestEncryptUserDataErrors(t *testing.T) {
	_, err := EncryptUserData(UserData{SessionKey: "short", IV: udIV}, []byte("{}"))
	wantCode(t, err, CodeIllegalAESKey, "session_key")
	_, err = EncryptUserData(UserData{SessionKey: udSessionKey, IV: ""}, []byte("{}"))
	wantCode(t, err, CodeIllegalBuffer, "iv")
	_, err = EncryptUserData(UserData{SessionKey: udSessionKey, IV: "########################"}, []byte("{}"))
	wantCode(t, err, CodeDecodeBase64, "iv")
}

func TestUserDataRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		filler := make([]byte, rng.IntN(2000))
		for j := range filler {
			filler[j] = 'a' + byte(rng.IntN(26))
		}
		if i < 32 {
			filler = filler[:min(i, len(filler))]
		}
		plain := fmt.Sprintf(`{"f":"%s","watermark":{"timestamp":1,"appid":"%s"}}`, filler, udAppID)
		enc := encUserData(t, plain)
		got, err := DecryptUserData(UserData{SessionKey: udSessionKey, IV: udIV, EncryptedData: enc, AppID: udAppID})
		mustNoErr(t, err, "DecryptUserData")
		mustEqual(t, string(got), plain, "round trip")
		n, _ := base64.StdEncoding.DecodeString(enc)
		if len(n)%16 != 0 || len(n) <= len(plain) {
			t.Fatalf("ciphertext of %d bytes for %d bytes of plaintext", len(n), len(plain))
		}
	}
	// Empty plaintext encrypts to one full block of padding.
	enc, err := EncryptUserData(UserData{SessionKey: udSessionKey, IV: udIV}, nil)
	mustNoErr(t, err, "EncryptUserData(nil)")
	raw, _ := base64.StdEncoding.DecodeString(enc)
	mustEqual(t, len(raw), 16, "ciphertext length for empty plaintext")
}

func TestUserDataNeverPrintsTheSessionKey(t *testing.T) {
	d := UserData{SessionKey: udSessionKey, EncryptedData: udData, IV: udIV, AppID: udAppID}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		out := fmt.Sprintf(verb, d)
		if strings.Contains(out, udSessionKey) || strings.Contains(out, udData[:16]) {
			t.Errorf("%s prints a secret: %s", verb, out)
		}
		if !strings.Contains(out, udAppID) {
			t.Errorf("%s does not name the app: %s", verb, out)
		}
	}
}
