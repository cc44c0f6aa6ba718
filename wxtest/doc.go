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
// InjectFault makes the next calls of a path fail with an errcode, an HTTP status, a delay or a
// dropped connection, before the call is handled or (Fault.AfterHandler) after it acted; Calls
// counts the calls of each path.
//
// wxtest imports only the standard library and this module's crypto and wxerr packages: it is an
// independent implementation of WeChat, not a mirror of the SDK.
package wxtest
