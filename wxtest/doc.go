// Package wxtest is a WeChat that runs in-process on a loopback port, the way net/http/httptest
// or miniredis do: point a WeChat client at Server.URL instead of https://api.weixin.qq.com and it
// talks to an emulator with real state.
//
// The emulator behaves like WeChat rather than echoing canned bodies: component and authorizer
// access tokens are random and expire on the emulator clock (Advance), api_component_token
// requires the latest verify ticket the emulator pushed, pre-auth codes and authorization codes are
// single-use and expire, api_authorizer_token honours only the refresh token it issued, every call
// that takes a token checks it (41001/41021 missing, 40014 malformed, 40001 unknown, 42001
// expired), and bad input gets WeChat's errcodes.
//
// Pushes (PushVerifyTicket, Authorize, UpdateAuthorization, Unauthorize, PushAuthorizerEvent) are
// encrypted and signed POSTs exactly as WeChat sends them, to the URLs of the ComponentApp; a push
// fails unless the handler answers HTTP 200 "success" (and with NewTestServer, the test fails too).
// Card users are played by TakeCard, ViewCard, EnterSessionFromCard, ActivateCard, ConsumeCard and
// DeleteCard, and card reviewers by ReviewCard, each pushing its card event to the owner's message
// URL; code/consume and membercard/updateuser push user_consume_card and update_member_card when a
// message URL is configured.
//
// Mini programs' users are played by IssueLoginCode (a new session key per login, so checksession
// refuses the previous one), IssuePhoneCode (single-use, 5 minutes) and RecordPayment
// (getpaidunionid). Mini-program codes are answered as real PNG QR codes whose text is
// CodeContent or UnlimitedCodeContent: WeChat's round codes cannot be decoded outside WeChat, so a
// QR code carrying the same appid, page and scene is the testable stand-in. The trial QR code
// (get_qrcode) is a JPEG QR code of TrialCodeContent, as WeChat's trial codes are. Subscribe messages
// use a
// public library the test fills (AddPublicTemplate); AcceptSubscription plays the user's consent and
// SentSubscribeMessages returns what was sent.
//
// Mini programs meet today's gates: submit_audit is refused without name, avatar and introduction
// (86002), an approved category (85008), a finished privacy scan (61039 for PrivacyScanTime after
// each commit), declared and approved privacy APIs and a privacy guide covering the scan (61040), or
// the platform's monthly audit quota (85085; SetAuditQuota, AuditsSubmitted). Reviews are played by
// Audit, ReviewCategory, ReviewPrivacyInterface and ReviewNickname, each pushing its event.
//
// Filing and verification run as state machines on the emulator clock that refuse any move WeChat
// would not make. The controls are:
//   - ICP filing: CompleteICPFaceCheck, ReviewICPFiling, RegulateICPFiling and ICPStatus. A
//     mini program that is not filed cannot be released.
//   - WeChat verification: VerificationStep, AdvanceAuthAndICP, and PushVerifyExpiryReminders. A
//     task left untouched for 24 h times out.
//
// The fast-registration routes each have their own completion:
//   - CompleteFastRegistration;
//   - CompletePersonalRegistration;
//   - CompleteBetaRegistration and CompleteBetaVerification;
//   - ScanFastRegisterAuth, with SetOASubject for the official account's subject.
//
// Rollouts are tested with SetAuditReview and ReviewDue: audits are decided on the emulator clock, a
// share is rejected with reasons, and a share of the pushes is dropped (DroppedPushes).
//
// InjectFault makes the next calls of a path fail with an errcode, an HTTP status, a delay or a
// dropped connection, before the call is handled or (Fault.AfterHandler) after it acted; Calls
// counts the calls of each path.
//
// wxtest imports only the standard library, this module's crypto and wxerr packages, and
// github.com/skip2/go-qrcode to draw codes: it is an independent implementation of WeChat, not a
// mirror of the SDK.
package wxtest
