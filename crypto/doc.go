// Package crypto implements the cryptography WeChat third-party platforms need, with no I/O:
//
//   - [MsgCrypt]: WeChat's WXBizMsgCrypt scheme for encrypted pushes and passive replies
//     (AES-256-CBC with the EncodingAESKey, PKCS#7 padding to 32 bytes, the
//     random|length|message|appid layout, and the sorted-SHA1 msg_signature);
//   - [DecryptUserData] and [EncryptUserData]: mini-program encryptedData
//     (AES-128-CBC with the session_key, checked against watermark.appid);
//   - [SortedSHA1]: the sort-concatenate-SHA1 signature used by URL verification,
//     msg_signature and the card cardExt signature.
//
// Every failure is an [*Error] carrying one of WeChat's sample error codes (-40001 … -40011);
// compare with errors.Is against the sentinels such as [ErrSignature]. Error strings and the
// printed form of a [MsgCrypt] never contain the token, the EncodingAESKey or plaintext.
//
// The package imports the standard library only.
package crypto
