package crypto

import "strconv"

// Error codes of WeChat's official WXBizMsgCrypt samples. Every error this package returns is an
// [*Error] carrying one of them.
const (
	CodeValidateSignature = -40001 // signature does not match
	CodeParseXML          = -40002 // envelope XML is malformed or lacks Encrypt
	CodeComputeSignature  = -40003 // signature could not be computed
	CodeIllegalAESKey     = -40004 // EncodingAESKey or session_key is invalid
	CodeValidateAppID     = -40005 // decrypted appid (or watermark appid) is not the expected one
	CodeEncryptAES        = -40006 // encryption failed
	CodeDecryptAES        = -40007 // decryption failed: bad ciphertext length or padding
	CodeIllegalBuffer     = -40008 // decrypted buffer has an invalid layout, or an input has a bad length
	CodeEncodeBase64      = -40009 // base64 encoding failed
	CodeDecodeBase64      = -40010 // input is not valid standard base64
	CodeGenReturnXML      = -40011 // reply envelope could not be generated
)

// Error is a local crypto failure carrying WeChat's sample error code (Code*) and a short
// description. Its message never contains key material, tokens or plaintext.
//
// Errors compare by code: errors.Is(err, ErrSignature) reports whether err is an *Error with
// Code == CodeValidateSignature, whatever its Msg.
type Error struct {
	Code int    // one of the Code* constants
	Msg  string // what went wrong, without secrets
}

// Error returns "wxcrypto: <msg> (<code>)".
func (e *Error) Error() string {
	return "wxcrypto: " + e.Msg + " (" + strconv.Itoa(e.Code) + ")"
}

// Is reports whether target is an *Error with the same Code, so that errors.Is works against the
// sentinels regardless of the message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && e != nil && t.Code == e.Code
}

// Sentinels for errors.Is, one per code. The errors returned carry more specific messages; compare
// them with errors.Is, never with ==.
var (
	// ErrSignature: msg_signature or signature does not match (CodeValidateSignature).
	ErrSignature = &Error{Code: CodeValidateSignature, Msg: "signature mismatch"}
	// ErrParseXML: the envelope is not the expected XML or lacks Encrypt (CodeParseXML).
	ErrParseXML = &Error{Code: CodeParseXML, Msg: "malformed envelope XML"}
	// ErrComputeSignature: a signature could not be computed (CodeComputeSignature).
	ErrComputeSignature = &Error{Code: CodeComputeSignature, Msg: "cannot compute signature"}
	// ErrIllegalAESKey: the EncodingAESKey or session_key is invalid (CodeIllegalAESKey).
	ErrIllegalAESKey = &Error{Code: CodeIllegalAESKey, Msg: "illegal AES key"}
	// ErrValidateAppID: the appid found after decryption is not the expected one (CodeValidateAppID).
	ErrValidateAppID = &Error{Code: CodeValidateAppID, Msg: "appid mismatch"}
	// ErrEncryptAES: encryption failed (CodeEncryptAES).
	ErrEncryptAES = &Error{Code: CodeEncryptAES, Msg: "AES encryption failed"}
	// ErrDecryptAES: the ciphertext length or its padding is invalid (CodeDecryptAES).
	ErrDecryptAES = &Error{Code: CodeDecryptAES, Msg: "AES decryption failed"}
	// ErrIllegalBuffer: the decrypted layout, or the length of an input, is invalid (CodeIllegalBuffer).
	ErrIllegalBuffer = &Error{Code: CodeIllegalBuffer, Msg: "illegal buffer"}
	// ErrEncodeBase64: base64 encoding failed (CodeEncodeBase64).
	ErrEncodeBase64 = &Error{Code: CodeEncodeBase64, Msg: "base64 encoding failed"}
	// ErrDecodeBase64: an input is not valid standard base64 (CodeDecodeBase64).
	ErrDecodeBase64 = &Error{Code: CodeDecodeBase64, Msg: "base64 decoding failed"}
	// ErrGenReturnXML: the reply envelope could not be generated (CodeGenReturnXML).
	ErrGenReturnXML = &Error{Code: CodeGenReturnXML, Msg: "cannot generate reply XML"}

	// ErrWatermark: mini-program data decrypted correctly but its watermark.appid is missing or
	// is not the expected appid. It is an *Error with CodeValidateAppID, so errors.Is treats it
	// and ErrValidateAppID as the same failure.
	ErrWatermark = &Error{Code: CodeValidateAppID, Msg: "watermark appid mismatch"}
)

// newError returns a fresh *Error; msg must never contain secrets or plaintext.
func newError(code int, msg string) *Error {
	return &Error{Code: code, Msg: msg}
}
