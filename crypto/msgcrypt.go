package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// msgBlockSize is the PKCS#7 block size of WXBizMsgCrypt: 32, not the AES block size.
const msgBlockSize = 32

// MsgCrypt encrypts, decrypts and signs WeChat pushes and passive replies with the WXBizMsgCrypt
// scheme (digest section 3) for one Token, EncodingAESKey and AppID (for a third-party platform,
// the component appid). Create it with [NewMsgCrypt]; it is safe for concurrent use.
//
// Printing a MsgCrypt with any fmt verb shows only its AppID, never the token or the key.
type MsgCrypt struct {
	appID string
	// secret returns the token and key. It is a func rather than a pointer because fmt prints a
	// func as an address in every case, while it follows a pointer when it reports a bad verb
	// (fmt.Sprintf("%s", struct{ c MsgCrypt }{...}) would otherwise print the token and key).
	secret func() *msgSecret
}

type msgSecret struct {
	token string
	key   [32]byte
	block cipher.Block // AES-256 with key, created once
}

// NewMsgCrypt validates the platform's message-check token, its 43-character EncodingAESKey and
// the appid the pushes are for, and returns a MsgCrypt for them. An empty token is
// CodeComputeSignature, an empty appID CodeValidateAppID, and a key that is not 43 characters of
// [A-Za-z0-9] CodeIllegalAESKey. The error names the invalid field but never repeats the key.
func NewMsgCrypt(token, encodingAESKey, appID string) (*MsgCrypt, error) {
	if token == "" {
		return nil, newError(CodeComputeSignature, "token is empty")
	}
	if appID == "" {
		return nil, newError(CodeValidateAppID, "appID is empty")
	}
	if len(encodingAESKey) != 43 {
		return nil, newError(CodeIllegalAESKey,
			"EncodingAESKey must be 43 characters, got "+strconv.Itoa(len(encodingAESKey)))
	}
	for i := 0; i < len(encodingAESKey); i++ {
		if ch := encodingAESKey[i]; !('A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9') {
			return nil, newError(CodeIllegalAESKey, "EncodingAESKey must contain only A-Z, a-z and 0-9")
		}
	}
	var in [44]byte
	copy(in[:], encodingAESKey)
	in[43] = '='
	sec := &msgSecret{token: token}
	// Not base64.StdEncoding.Strict: WeChat keys may carry non-zero bits in the last character's
	// two unused bits (the official sample key ends in 'G'), and the official samples ignore them.
	if n, err := base64.StdEncoding.Decode(sec.key[:], in[:]); err != nil || n != 32 {
		return nil, newError(CodeIllegalAESKey, "EncodingAESKey does not decode to 32 bytes")
	}
	block, err := aes.NewCipher(sec.key[:])
	if err != nil {
		return nil, newError(CodeIllegalAESKey, "EncodingAESKey is not a valid AES-256 key")
	}
	sec.block = block
	return &MsgCrypt{appID: appID, secret: func() *msgSecret { return sec }}, nil
}

// AppID returns the appid that decrypted messages must carry and encrypted ones are given.
func (c *MsgCrypt) AppID() string {
	if c == nil {
		return ""
	}
	return c.appID
}

// String returns "crypto.MsgCrypt{AppID: <appid>}", without the token or key.
func (c *MsgCrypt) String() string {
	if c == nil {
		return "crypto.MsgCrypt(nil)"
	}
	return "crypto.MsgCrypt{AppID: " + c.appID + "}"
}

// GoString returns `&crypto.MsgCrypt{AppID:"<appid>"}` for %#v, without the token or key.
func (c *MsgCrypt) GoString() string {
	if c == nil {
		return "(*crypto.MsgCrypt)(nil)"
	}
	return "&crypto.MsgCrypt{AppID:" + strconv.Quote(c.appID) + "}"
}

// Format implements fmt.Formatter so that every verb, %v, %+v and %s included, prints only the
// AppID; %#v prints GoString.
func (c *MsgCrypt) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, c.GoString())
		return
	}
	_, _ = io.WriteString(f, c.String())
}

// Signature returns the msg_signature of an Encrypt value: the lowercase hex SHA-1 of token,
// timestamp, nonce and encrypt sorted and concatenated. It returns "" for a MsgCrypt not made by
// NewMsgCrypt.
func (c *MsgCrypt) Signature(timestamp, nonce, encrypt string) string {
	if c == nil || c.secret == nil {
		return ""
	}
	var out [40]byte
	vals := [4]sigValue{{s: c.secret().token}, {s: timestamp}, {s: nonce}, {s: encrypt}}
	sortedSHA1Hex(&out, vals[:])
	return string(out[:])
}

// VerifySignature reports, in constant time, whether signature is the msg_signature of encrypt
// with this timestamp and nonce.
func (c *MsgCrypt) VerifySignature(signature, timestamp, nonce, encrypt string) bool {
	if c == nil || c.secret == nil {
		return false
	}
	vals := [4]sigValue{{s: c.secret().token}, {s: timestamp}, {s: nonce}, {s: encrypt}}
	return verifySorted(signature, vals[:])
}

// VerifyURLSignature reports, in constant time, whether signature is the plain signature WeChat
// puts on every callback URL: SHA-1 of the token, timestamp and nonce sorted and concatenated.
func (c *MsgCrypt) VerifyURLSignature(signature, timestamp, nonce string) bool {
	if c == nil || c.secret == nil {
		return false
	}
	vals := [3]sigValue{{s: c.secret().token}, {s: timestamp}, {s: nonce}}
	return verifySorted(signature, vals[:])
}

// verifyEncrypt is VerifySignature for an Encrypt value sliced from a request body.
func (c *MsgCrypt) verifyEncrypt(signature, timestamp, nonce string, encrypt []byte) bool {
	vals := [4]sigValue{{s: c.secret().token}, {s: timestamp}, {s: nonce}, {b: encrypt, isBytes: true}}
	return verifySorted(signature, vals[:])
}

func verifySorted(signature string, vals []sigValue) bool {
	var want [40]byte
	sortedSHA1Hex(&want, vals)
	if len(signature) != len(want) {
		return false
	}
	var got [40]byte
	copy(got[:], signature)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// Decrypt decrypts an Encrypt value (standard base64) and returns the message it carries, after
// checking the padding, the layout random(16) | length(4, big-endian) | message | appid and that
// the appid is c.AppID(). Check the signature first (VerifySignature, or use DecryptMessage): the
// ciphertext is not authenticated otherwise.
func (c *MsgCrypt) Decrypt(encrypt string) ([]byte, error) {
	if c == nil || c.secret == nil {
		return nil, errNotInitialised()
	}
	return c.decrypt([]byte(encrypt))
}

func errNotInitialised() error {
	return newError(CodeIllegalAESKey, "MsgCrypt not initialised; use NewMsgCrypt")
}

// decrypt decodes encrypt into one new buffer, decrypts it in place and returns the message as a
// sub-slice of that buffer. encrypt is not modified.
func (c *MsgCrypt) decrypt(encrypt []byte) ([]byte, error) {
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(encrypt)))
	n, err := base64.StdEncoding.Decode(buf, encrypt)
	if err != nil {
		return nil, newError(CodeDecodeBase64, "Encrypt is not valid base64: "+err.Error())
	}
	buf = buf[:n]
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, newError(CodeDecryptAES,
			"ciphertext length "+strconv.Itoa(len(buf))+" is not a positive multiple of 16")
	}
	sec := c.secret()
	cipher.NewCBCDecrypter(sec.block, sec.key[:aes.BlockSize]).CryptBlocks(buf, buf)
	buf, ok := unpad(buf, msgBlockSize)
	if !ok {
		return nil, newError(CodeDecryptAES, "invalid PKCS#7 padding")
	}
	if len(buf) < 20 {
		return nil, newError(CodeIllegalBuffer,
			"decrypted data is "+strconv.Itoa(len(buf))+" bytes, shorter than the 20-byte header")
	}
	msgLen := binary.BigEndian.Uint32(buf[16:20])
	if uint64(msgLen) > uint64(len(buf)-20) {
		return nil, newError(CodeIllegalBuffer, "message length field exceeds the decrypted data")
	}
	end := 20 + int(msgLen)
	if string(buf[end:]) != c.appID {
		return nil, newError(CodeValidateAppID, "decrypted appid is not "+c.appID)
	}
	return buf[20:end:end], nil
}

// unpad checks and strips PKCS#7 padding for blockSize (1..255) without branching on the padding
// bytes. It accepts a pad length from 1 to min(blockSize, len(b)) whose bytes all equal it.
func unpad(b []byte, blockSize int) ([]byte, bool) {
	n := len(b)
	if n == 0 {
		return nil, false
	}
	p := int(b[n-1])
	limit := min(blockSize, n)
	good := subtle.ConstantTimeLessOrEq(1, p) & subtle.ConstantTimeLessOrEq(p, limit)
	for i := 0; i < limit; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i+1, p) // byte n-1-i is padding
		eq := subtle.ConstantTimeByteEq(b[n-1-i], byte(p))
		good &= eq | (inPad ^ 1)
	}
	if good != 1 {
		return nil, false
	}
	return b[:n-p], true
}

// pad appends PKCS#7 padding for blockSize (1..255): 1 to blockSize bytes, each the pad length.
func pad(b []byte, blockSize int) []byte {
	p := blockSize - len(b)%blockSize
	for range p {
		b = append(b, byte(p))
	}
	return b
}

// Encrypt encrypts msg for c.AppID() with 16 fresh random bytes from crypto/rand and returns the
// standard base64 Encrypt value.
func (c *MsgCrypt) Encrypt(msg []byte) (string, error) {
	if c == nil || c.secret == nil {
		return "", errNotInitialised()
	}
	var random [16]byte
	if _, err := rand.Read(random[:]); err != nil {
		return "", newError(CodeEncryptAES, "cannot read random bytes: "+err.Error())
	}
	return c.encrypt(&random, msg)
}

// encrypt is Encrypt with the caller's 16 random bytes, so known-answer tests can reproduce
// WeChat's published ciphertexts.
func (c *MsgCrypt) encrypt(random *[16]byte, msg []byte) (string, error) {
	if uint64(len(msg)) > math.MaxUint32 {
		return "", newError(CodeEncryptAES, "message longer than 4 GiB")
	}
	plainLen := 20 + len(msg) + len(c.appID)
	padded := plainLen + msgBlockSize - plainLen%msgBlockSize
	// One buffer for the ciphertext and, after it, its base64 form.
	buf := make([]byte, 0, padded+base64.StdEncoding.EncodedLen(padded))
	buf = append(buf, random[:]...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(msg)))
	buf = append(buf, msg...)
	buf = append(buf, c.appID...)
	buf = pad(buf, msgBlockSize)
	sec := c.secret()
	cipher.NewCBCEncrypter(sec.block, sec.key[:aes.BlockSize]).CryptBlocks(buf, buf)
	out := buf[padded:cap(buf)]
	base64.StdEncoding.Encode(out, buf)
	return string(out), nil
}

// DecryptMessage opens an encrypted push: it parses the envelope body (see [ParseEnvelope]),
// checks msgSignature (the msg_signature query parameter) against the Encrypt element, timestamp
// and nonce, and returns the decrypted message (the inner XML). A signature mismatch is
// CodeValidateSignature and nothing is decrypted.
func (c *MsgCrypt) DecryptMessage(msgSignature, timestamp, nonce string, body []byte) ([]byte, error) {
	if c == nil || c.secret == nil {
		return nil, errNotInitialised()
	}
	env, err := parseEnvelope(body)
	if err != nil {
		return nil, err
	}
	if !c.verifyEncrypt(msgSignature, timestamp, nonce, env.encrypt) {
		return nil, newError(CodeValidateSignature, "msg_signature does not match")
	}
	return c.decrypt(env.encrypt)
}

// EncryptMessage encrypts msg (a passive reply XML) and returns the reply envelope
//
//	<xml><Encrypt><![CDATA[B64]]></Encrypt><MsgSignature><![CDATA[SIG]]></MsgSignature><TimeStamp>TS</TimeStamp><Nonce><![CDATA[NONCE]]></Nonce></xml>
//
// signed with timestamp and nonce. timestamp must be decimal digits and nonce printable ASCII
// without "]]>", else CodeGenReturnXML.
func (c *MsgCrypt) EncryptMessage(msg []byte, timestamp, nonce string) ([]byte, error) {
	if c == nil || c.secret == nil {
		return nil, errNotInitialised()
	}
	if !isDigits(timestamp) {
		return nil, newError(CodeGenReturnXML, "timestamp must be decimal digits")
	}
	if !isNonce(nonce) {
		return nil, newError(CodeGenReturnXML, `nonce must be printable ASCII without "]]>"`)
	}
	enc, err := c.Encrypt(msg)
	if err != nil {
		return nil, err
	}
	sig := c.Signature(timestamp, nonce, enc)
	const (
		p1 = "<xml><Encrypt><![CDATA["
		p2 = "]]></Encrypt><MsgSignature><![CDATA["
		p3 = "]]></MsgSignature><TimeStamp>"
		p4 = "</TimeStamp><Nonce><![CDATA["
		p5 = "]]></Nonce></xml>"
	)
	out := make([]byte, 0, len(p1)+len(enc)+len(p2)+len(sig)+len(p3)+len(timestamp)+len(p4)+len(nonce)+len(p5))
	out = append(out, p1...)
	out = append(out, enc...)
	out = append(out, p2...)
	out = append(out, sig...)
	out = append(out, p3...)
	out = append(out, timestamp...)
	out = append(out, p4...)
	out = append(out, nonce...)
	out = append(out, p5...)
	return out, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isNonce(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return !strings.Contains(s, "]]>")
}
