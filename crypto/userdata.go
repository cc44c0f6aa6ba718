package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// UserData is a mini program's encrypted user data (getPhoneNumber, wx.getUserInfo…) with what
// decrypts and checks it. Its fields are all strings, named so that they cannot be swapped silently.
// Printing it never shows the session key.
type UserData struct {
	// SessionKey is the user's base64 session_key from jscode2session (a secret; never sent to
	// the client).
	SessionKey string
	// EncryptedData is the base64 encryptedData the mini program received.
	EncryptedData string
	// IV is the base64 iv that came with it.
	IV string
	// AppID is the mini program the data must be for (its watermark.appid). Required.
	AppID string
}

// String describes d without the session key or the data.
func (d UserData) String() string {
	return "crypto.UserData{AppID: " + d.AppID + ", SessionKey: <redacted>, EncryptedData: " +
		strconv.Itoa(len(d.EncryptedData)) + " bytes, IV: " + d.IV + "}"
}

// GoString is String, for %#v.
func (d UserData) GoString() string { return d.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (d UserData) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, d.String()) }

// DecryptUserData decrypts a mini program's encryptedData (digest section 8): AES-128-CBC with
// key = base64(d.SessionKey) (16 bytes, from jscode2session) and IV = base64(d.IV) (16 bytes), strict
// PKCS#7 padding to 16 bytes. The plaintext must be a JSON object whose watermark.appid equals
// d.AppID (which must not be empty); otherwise the error matches [ErrWatermark] (CodeValidateAppID).
// It returns the JSON plaintext; checking watermark.timestamp for freshness is left to the caller.
//
// Errors: a bad session key is CodeIllegalAESKey; a bad iv length CodeIllegalBuffer; bad base64
// CodeDecodeBase64; a bad ciphertext length or padding CodeDecryptAES (usually a wrong
// session_key or iv); a plaintext that is not a JSON object CodeIllegalBuffer. Tell the client only
// that decryption failed: the distinctions are for logs.
func DecryptUserData(d UserData) ([]byte, error) {
	sessionKey, iv, encryptedData, appID := d.SessionKey, d.IV, d.EncryptedData, d.AppID
	if appID == "" {
		return nil, newError(CodeValidateAppID, "appID is empty")
	}
	mode, err := userDataCBC(sessionKey, iv, false)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(encryptedData)))
	n, err := base64.StdEncoding.Decode(buf, []byte(encryptedData))
	if err != nil {
		return nil, newError(CodeDecodeBase64, "encryptedData is not valid base64: "+err.Error())
	}
	buf = buf[:n]
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, newError(CodeDecryptAES,
			"encryptedData length "+strconv.Itoa(len(buf))+" is not a positive multiple of 16")
	}
	mode.CryptBlocks(buf, buf)
	plain, ok := unpad(buf, aes.BlockSize)
	if !ok {
		return nil, newError(CodeDecryptAES, "invalid PKCS#7 padding (wrong session_key or iv?)")
	}
	// One pass: a type error inside watermark (say a numeric appid) is a watermark failure; any
	// other error means the plaintext is not a JSON object.
	var v struct {
		Watermark *struct {
			AppID *string `json:"appid"`
		} `json:"watermark"`
	}
	err = json.Unmarshal(plain, &v)
	var typeErr *json.UnmarshalTypeError
	if err != nil && !(errors.As(err, &typeErr) && strings.HasPrefix(typeErr.Field, "watermark")) {
		return nil, newError(CodeIllegalBuffer, "decrypted data is not a JSON object (wrong session_key or iv?)")
	}
	if err != nil || v.Watermark == nil || v.Watermark.AppID == nil {
		return nil, newError(CodeValidateAppID, "decrypted data has no string watermark.appid")
	}
	if *v.Watermark.AppID != appID {
		return nil, newError(CodeValidateAppID, "watermark appid is not "+appID)
	}
	return plain[:len(plain):len(plain)], nil
}

// EncryptUserData is the inverse of [DecryptUserData]: it pads plaintext with PKCS#7 to 16 bytes,
// encrypts it with AES-128-CBC under the base64 key.SessionKey and key.IV (key's EncryptedData and
// AppID are not used), and returns standard base64, the EncryptedData that DecryptUserData takes. The
// WeChat emulator and tests use it to produce encryptedData.
func EncryptUserData(key UserData, plaintext []byte) (string, error) {
	mode, err := userDataCBC(key.SessionKey, key.IV, true)
	if err != nil {
		return "", err
	}
	buf := make([]byte, 0, len(plaintext)+aes.BlockSize)
	buf = append(buf, plaintext...)
	buf = pad(buf, aes.BlockSize)
	mode.CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// userDataCBC decodes and checks the session key and iv and returns the CBC mode for them.
func userDataCBC(sessionKey, iv string, encrypt bool) (cipher.BlockMode, error) {
	var key, ivb [aes.BlockSize]byte
	if err := decode16(&key, sessionKey); err != nil {
		return nil, newError(err.Code, "session_key "+err.Msg)
	}
	if err := decode16(&ivb, iv); err != nil {
		code := err.Code
		if code == CodeIllegalAESKey {
			code = CodeIllegalBuffer
		}
		return nil, newError(code, "iv "+err.Msg)
	}
	block, aerr := aes.NewCipher(key[:])
	if aerr != nil {
		return nil, newError(CodeIllegalAESKey, "session_key is not a valid AES-128 key")
	}
	if encrypt {
		return cipher.NewCBCEncrypter(block, ivb[:]), nil
	}
	return cipher.NewCBCDecrypter(block, ivb[:]), nil
}

// decode16 decodes standard base64 s into exactly 16 bytes. Its error messages never include s.
func decode16(dst *[16]byte, s string) *Error {
	// 16 bytes are 24 base64 characters; checking the length first keeps decoding on the stack.
	if len(s) != 24 {
		return &Error{Code: CodeIllegalAESKey, Msg: "must be 16 bytes in base64 (24 characters), got " +
			strconv.Itoa(len(s)) + " characters"}
	}
	var tmp [18]byte
	n, err := base64.StdEncoding.Decode(tmp[:], []byte(s))
	if err != nil {
		return &Error{Code: CodeDecodeBase64, Msg: "is not valid base64"}
	}
	if n != 16 {
		return &Error{Code: CodeIllegalAESKey, Msg: "must decode to 16 bytes, got " + strconv.Itoa(n)}
	}
	copy(dst[:], tmp[:16])
	return nil
}
