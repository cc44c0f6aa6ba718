package component

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
)

// ICP filing pushes (API digest part 2, section 13). WeChat's documents disagree on their delivery:
// the filing pages and the peer SDKs have them on the authorisation event URL as XML with an
// InfoType, the message-push pages on the message URL as JSON (or XML) with an Event. Both
// handlers decode them, in every form, into the same typed events, so one callback serves both
// (set it in HandlerConfig and MessageHandlerConfig).

// InfoType (or Event) values of the ICP filing pushes. The names rest on [WJ] and [SN] (digest 13.2
// and 13.6); kept here only.
const (
	InfoTypeICPVerifyResult InfoType = "notify_icpfiling_verify_result"
	InfoTypeICPFilingResult InfoType = "notify_apply_icpfiling_result"
)

// InfoType values of the WeChat verification pushes (digest 14.1 and 14.3; [WJ] only).
const (
	InfoTypeVerification InfoType = "notify_3rd_wxa_auth"
	InfoTypeVerifyExpiry InfoType = "notify_3rd_wxa_wxverify"
	InfoTypeAuthAndICP   InfoType = "notify_3rd_wxa_auth_and_icp"
)

// Event values of the verification order's account events (digest 14.1), pushed to the mini
// program's message URL. The names are documented; their fields are not (unverified, see
// VerifyPaidEvent and VerifyDispatchEvent); kept here only.
const (
	EventVerifyPaid     Event = "wx_verify_pay_succ"
	EventVerifyDispatch Event = "wx_verify_dispatch"
)

// VerifyPaidEvent is wx_verify_pay_succ: the verification fee of the mini program was paid and
// the review follows. OrderID is the order's id when WeChat sends one (orderid; unverified field:
// read Raw otherwise).
type VerifyPaidEvent struct {
	Message
	OrderID string
}

// VerifyDispatchEvent is wx_verify_dispatch: a verification provider was assigned to review the
// mini program's order (the dispatch_info of queryauth). The fields are unverified: they are read
// flat or inside a dispatch_info element or object; Raw has the push as sent.
type VerifyDispatchEvent struct {
	Message
	OrderID      string
	Provider     string
	Contact      string
	DispatchTime time.Time
}

// VerificationEvent is notify_3rd_wxa_auth: a verification task moved on. TaskStatus and
// ApplyStatus have the values of miniprogram.VerifyTaskStatus and VerifyApplyStatus (4 verified).
type VerificationEvent struct {
	PushSource
	AppID       string
	TaskID      string
	TaskStatus  int
	ApplyStatus int
	Message     string
}

// Verified reports whether the mini program is now verified.
func (e *VerificationEvent) Verified() bool { return e.ApplyStatus == 4 }

// VerifyExpiryEvent is notify_3rd_wxa_wxverify: the verification expires at Expired (reminders on
// the day, 30 and 60 days before); the yearly re-verification is due.
type VerifyExpiryEvent struct {
	PushSource
	AppID   string
	Expired time.Time
	Message string
}

// AuthAndICPEvent is notify_3rd_wxa_auth_and_icp: a combined verification-and-filing procedure
// moved on; ProcedureStatus has the values of miniprogram.ProcedureStatus (26 done).
type AuthAndICPEvent struct {
	PushSource
	ProcedureID     string
	ProcedureStatus int
}

// Done reports whether verification and filing are both done.
func (e *AuthAndICPEvent) Done() bool { return e.ProcedureStatus == 26 }

// PushSource tells where a push that WeChat may deliver to either URL came from: exactly one of
// its fields is set.
type PushSource struct {
	// Platform is set for a push to the authorisation event URL.
	Platform *PlatformEvent
	// Message is set for a push to the message URL; Message.Raw is JSON when the URL is set to JSON.
	Message *Message
}

// ICPVerifyResultEvent is notify_icpfiling_verify_result: the administrator's face check of an ICP
// filing (or of the combined verification-and-filing flow) ended.
type ICPVerifyResultEvent struct {
	PushSource
	TaskID string
	// VerifyAppID is the mini program the task belongs to.
	VerifyAppID string
	// Result is 2 (failed) or 3 (succeeded), the face_status values of the task.
	Result int
	// AlongWithAuthResult is 9 when the verification flow's SMS check passed (combined flow; [WJ]).
	AlongWithAuthResult int
}

// Succeeded reports whether the face check succeeded.
func (e *ICPVerifyResultEvent) Succeeded() bool { return e.Result == 3 }

// ICPFilingResultEvent is notify_apply_icpfiling_result: the filing's review moved on.
// BeianStatus has the values of miniprogram.ICPStatus (6 filed; 3 and 5 rejected: read
// get_icp_entrance_info for the reasons).
type ICPFilingResultEvent struct {
	PushSource
	AuthorizerAppID string
	BeianStatus     int
}

// Filed reports whether the mini program is now filed.
func (e *ICPFilingResultEvent) Filed() bool { return e.BeianStatus == 6 }

// pushFields are the fields of the pushes that come in either form, with both tags.
type pushFields struct {
	TaskID              string `xml:"task_id" json:"task_id"`
	VerifyAppID         string `xml:"verify_appid" json:"verify_appid"`
	Result              int    `xml:"result" json:"result"`
	AlongWithAuthResult int    `xml:"along_with_auth_result" json:"along_with_auth_result"`
	AuthorizerAppID     string `xml:"authorizer_appid" json:"authorizer_appid"`
	BeianStatus         int    `xml:"beian_status" json:"beian_status"`
	AppID               string `xml:"appid" json:"appid"`
	TaskIDv             string `xml:"taskid" json:"taskid"`
	TaskStatus          int    `xml:"task_status" json:"task_status"`
	ApplyStatus         int    `xml:"apply_status" json:"apply_status"`
	Message             string `xml:"message" json:"message"`
	Expired             int64  `xml:"expired" json:"expired"`
	ProcedureID         string `xml:"procedure_id" json:"procedure_id"`
	ProcedureStatus     int    `xml:"procedure_status" json:"procedure_status"`
	OrderID             string `xml:"orderid" json:"orderid"`
	dispatchFields
	DispatchInfo dispatchFields `xml:"dispatch_info" json:"dispatch_info"`
}

// dispatchFields are a verification provider's fields, flat or in dispatch_info.
type dispatchFields struct {
	Provider     string `xml:"provider" json:"provider"`
	Contact      string `xml:"contact" json:"contact"`
	DispatchTime int64  `xml:"dispatch_time" json:"dispatch_time"`
}

func isJSON(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

func decodePushFields(raw []byte, x *pushFields) error {
	if isJSON(raw) {
		return json.Unmarshal(raw, x)
	}
	return decodeXML(raw, x)
}

// twoURLPush reports whether name is a push WeChat may deliver to either URL.
func twoURLPush(name string) bool {
	switch InfoType(name) {
	case InfoTypeICPVerifyResult, InfoTypeICPFilingResult, InfoTypeVerification, InfoTypeVerifyExpiry, InfoTypeAuthAndICP:
		return true
	}
	return false
}

// dispatchTwoURL decodes a push that may come to either URL and hands it to cb's callback.
func dispatchTwoURL(ctx context.Context, name string, src PushSource, raw []byte, cb twoURLCallbacks) error {
	var x pushFields
	if err := decodePushFields(raw, &x); err != nil {
		return badRequest("malformed " + name + " push: " + err.Error())
	}
	switch InfoType(name) {
	case InfoTypeICPVerifyResult:
		if x.TaskID == "" {
			return badRequest(name + " push without task_id")
		}
		return call(ctx, cb.icpVerify, &ICPVerifyResultEvent{PushSource: src, TaskID: x.TaskID, VerifyAppID: x.VerifyAppID,
			Result: x.Result, AlongWithAuthResult: x.AlongWithAuthResult})
	case InfoTypeICPFilingResult:
		return call(ctx, cb.icpFiling, &ICPFilingResultEvent{PushSource: src, AuthorizerAppID: x.AuthorizerAppID, BeianStatus: x.BeianStatus})
	case InfoTypeVerification:
		return call(ctx, cb.verification, &VerificationEvent{PushSource: src, AppID: x.AppID, TaskID: x.TaskIDv,
			TaskStatus: x.TaskStatus, ApplyStatus: x.ApplyStatus, Message: x.Message})
	case InfoTypeVerifyExpiry:
		return call(ctx, cb.verifyExpiry, &VerifyExpiryEvent{PushSource: src, AppID: x.AppID, Expired: unixTime(x.Expired), Message: x.Message})
	case InfoTypeAuthAndICP:
		if x.ProcedureID == "" {
			return badRequest(name + " push without procedure_id")
		}
		return call(ctx, cb.authAndICP, &AuthAndICPEvent{PushSource: src, ProcedureID: x.ProcedureID, ProcedureStatus: x.ProcedureStatus})
	}
	return nil
}

// verifyOrderEvent reports whether the message event name is one of the verification order's.
func verifyOrderEvent(name Event) bool { return name == EventVerifyPaid || name == EventVerifyDispatch }

// dispatchVerifyOrder decodes a verification order event of the message URL (XML or JSON) and
// hands it to its callback; a push whose callback is nil goes to OnMessage.
func (h *MessageHandler) dispatchVerifyOrder(ctx context.Context, m Message) error {
	cb := &h.cfg
	if m.Event == EventVerifyPaid && cb.OnVerifyPaid == nil || m.Event == EventVerifyDispatch && cb.OnVerifyDispatch == nil {
		return call(ctx, cb.OnMessage, &m)
	}
	var x pushFields
	if err := decodePushFields(m.Raw, &x); err != nil {
		return badRequest("malformed " + string(m.Event) + " push: " + err.Error())
	}
	if m.Event == EventVerifyPaid {
		return call(ctx, cb.OnVerifyPaid, &VerifyPaidEvent{Message: m, OrderID: x.OrderID})
	}
	d := x.dispatchFields
	if x.DispatchInfo != (dispatchFields{}) {
		d = x.DispatchInfo
	}
	return call(ctx, cb.OnVerifyDispatch, &VerifyDispatchEvent{Message: m, OrderID: x.OrderID, Provider: d.Provider,
		Contact: d.Contact, DispatchTime: unixTime(d.DispatchTime)})
}

// twoURLCallbacks are the callbacks of the pushes of either URL, from one handler's config.
type twoURLCallbacks struct {
	icpVerify    func(context.Context, *ICPVerifyResultEvent) error
	icpFiling    func(context.Context, *ICPFilingResultEvent) error
	verification func(context.Context, *VerificationEvent) error
	verifyExpiry func(context.Context, *VerifyExpiryEvent) error
	authAndICP   func(context.Context, *AuthAndICPEvent) error
}

func (c *HandlerConfig) twoURL() twoURLCallbacks {
	return twoURLCallbacks{icpVerify: c.OnICPVerifyResult, icpFiling: c.OnICPFilingResult,
		verification: c.OnVerification, verifyExpiry: c.OnVerifyExpiry, authAndICP: c.OnAuthAndICP}
}

func (c *MessageHandlerConfig) twoURL() twoURLCallbacks {
	return twoURLCallbacks{icpVerify: c.OnICPVerifyResult, icpFiling: c.OnICPFilingResult,
		verification: c.OnVerification, verifyExpiry: c.OnVerifyExpiry, authAndICP: c.OnAuthAndICP}
}

// messageJSON is the header of a message pushed as JSON.
type messageJSON struct {
	ToUserName   string `json:"ToUserName"`
	FromUserName string `json:"FromUserName"`
	CreateTime   int64  `json:"CreateTime"`
	MsgType      string `json:"MsgType"`
	Event        string `json:"Event"`
	InfoType     string `json:"InfoType"`
}

// decodeMessageJSON decodes the header of a JSON message into x. A push that names itself by
// InfoType (as on the authorisation URL) is taken as an event of that name.
func decodeMessageJSON(b []byte, x *messageXML) error {
	var j messageJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	x.ToUserName, x.FromUserName, x.CreateTime, x.MsgType, x.Event = j.ToUserName, j.FromUserName, j.CreateTime, j.MsgType, j.Event
	if x.Event == "" && j.InfoType != "" {
		x.Event = j.InfoType
	}
	if x.MsgType == "" && x.Event != "" {
		x.MsgType = "event"
	}
	return nil
}
