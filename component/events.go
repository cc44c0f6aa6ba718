package component

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// InfoType is the kind of a push to the authorisation event URL (its <InfoType>).
type InfoType string

// InfoType values of the pushes to the authorisation event URL.
const (
	InfoTypeVerifyTicket     InfoType = "component_verify_ticket"
	InfoTypeAuthorized       InfoType = "authorized"
	InfoTypeUpdateAuthorized InfoType = "updateauthorized"
	InfoTypeUnauthorized     InfoType = "unauthorized"
	InfoTypeFastRegister     InfoType = "notify_third_fasteregister"
)

// Event is the kind of an event pushed to the message/event URL (its <Event>, when MsgType is
// "event").
type Event string

// Event values of the mini-program code audit pushes to the message/event URL.
const (
	EventAuditSuccess Event = "weapp_audit_success"
	EventAuditFail    Event = "weapp_audit_fail"
	EventAuditDelay   Event = "weapp_audit_delay"
)

// PlatformEvent is what every push to the authorisation event URL carries; it is also what
// HandlerConfig.OnOther receives for an InfoType wxopen does not type.
type PlatformEvent struct {
	// AppID is the component appid the push is for.
	AppID      string
	CreateTime time.Time
	InfoType   InfoType
	// Raw is the decrypted XML, for fields wxopen does not decode. It may hold credentials
	// (a verify ticket, an authorisation code): do not log it.
	Raw []byte
}

// VerifyTicketEvent is the component_verify_ticket push (every 10 minutes). Handler has stored the
// ticket before the callback runs. Printing it never shows the ticket.
type VerifyTicketEvent struct {
	PlatformEvent
	Ticket string
	// Stored is false when the ticket was not stored because it was already older than
	// VerifyTicketTTL by the handler's clock.
	Stored bool
}

// String describes e without the ticket.
func (e VerifyTicketEvent) String() string {
	return fmt.Sprintf("component.VerifyTicketEvent{AppID: %s, CreateTime: %s, Ticket: %s, Stored: %t}",
		e.AppID, e.CreateTime.Format(time.RFC3339), redacted(e.Ticket), e.Stored)
}

// GoString is String, for %#v.
func (e VerifyTicketEvent) GoString() string { return e.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (e VerifyTicketEvent) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, e.String()) }

// AuthorizedEvent is the authorized push: an account has just authorised the platform.
type AuthorizedEvent struct {
	PlatformEvent
	AuthorizerAppID   string
	AuthorizationCode string
	// AuthorizationCodeExpiredTime is when AuthorizationCode expires; zero when the push gave none.
	// WeChat's documentation does not say whether its number is a unix time or a lifetime in
	// seconds; the emulator sends a unix time. A number too small to be a unix time of this century
	// (under 10^9) is read as a lifetime counted from CreateTime (or from receipt, without one).
	AuthorizationCodeExpiredTime time.Time
	PreAuthCode                  string
	// Authorization is the result of exchanging AuthorizationCode (QueryAuth; tokens and record
	// already stored), or nil when the handler was configured with ManualQueryAuth, the push carried
	// no AuthorizationCode, or it is Superseded.
	Authorization *Authorization
	// Superseded is true when the credential store holds a newer authorisation event for the
	// account (a revocation or an authorisation with a later CreateTime, handled before this late
	// push): the code was not exchanged and nothing was stored.
	Superseded bool
}

// codeExpiry is the time of the push's AuthorizationCodeExpiredTime n: a unix time, or, when n is
// too small to be one, a lifetime in seconds from the event's time at; 0 or less is the zero time.
func codeExpiry(n int64, at time.Time) time.Time {
	const minUnixTime = 1_000_000_000 // 2001-09-09: no expiry WeChat sends can be earlier
	switch {
	case n <= 0:
		return time.Time{}
	case n < minUnixTime:
		return at.Add(time.Duration(n) * time.Second)
	}
	return time.Unix(n, 0)
}

// UpdateAuthorizedEvent is the updateauthorized push: an account changed the permission sets it
// grants. Its fields are those of AuthorizedEvent.
type UpdateAuthorizedEvent AuthorizedEvent

// UnauthorizedEvent is the unauthorized push: an account revoked its authorisation. Handler has
// dropped the account's access token and refresh token and left a revocation record before the
// callback runs, unless the push is Superseded.
type UnauthorizedEvent struct {
	PlatformEvent
	AuthorizerAppID string
	// Superseded is true when the credential store holds a newer authorisation of the account (the
	// merchant authorised again after revoking, and this push arrived late): nothing was dropped.
	Superseded bool
}

// FastRegisterEvent is the notify_third_fasteregister push: the result of a fast mini-program
// registration.
type FastRegisterEvent struct {
	PlatformEvent
	// MiniProgramAppID is the new mini program's appid (the push's lower-case appid element).
	MiniProgramAppID string
	// Status is 0 on success; otherwise one of WeChat's registration failure codes (digest 2.3).
	Status int
	// AuthCode is the authorisation code of the new mini program, for QueryAuth.
	AuthCode string
	Msg      string
	Info     FastRegisterInfo
	// TaskID is the personal-registration task id, when sent.
	TaskID string
	// Authorization is the result of exchanging AuthCode (tokens and record already stored), or nil
	// when the registration failed, no code came, or the handler was configured with ManualQueryAuth.
	Authorization *Authorization
}

// Succeeded reports whether the registration succeeded (status 0).
func (e *FastRegisterEvent) Succeeded() bool { return e.Status == 0 }

// FastRegisterInfo echoes the registration request.
type FastRegisterInfo struct {
	Name               string `xml:"name"`
	Code               string `xml:"code"`
	CodeType           int    `xml:"code_type"`
	LegalPersonaWechat string `xml:"legal_persona_wechat"`
	LegalPersonaName   string `xml:"legal_persona_name"`
	ComponentPhone     string `xml:"component_phone"`
	// WxUser and IDName are sent for personal registrations.
	WxUser string `xml:"wxuser"`
	IDName string `xml:"idname"`
}

// platformXML is every field of every platform push, decoded at once. encoding/xml matches
// element names exactly, so AppId and appid are different fields.
type platformXML struct {
	AppID                        string           `xml:"AppId"`
	CreateTime                   int64            `xml:"CreateTime"`
	InfoType                     string           `xml:"InfoType"`
	ComponentVerifyTicket        string           `xml:"ComponentVerifyTicket"`
	AuthorizerAppid              string           `xml:"AuthorizerAppid"`
	AuthorizationCode            string           `xml:"AuthorizationCode"`
	AuthorizationCodeExpiredTime int64            `xml:"AuthorizationCodeExpiredTime"`
	PreAuthCode                  string           `xml:"PreAuthCode"`
	RegAppID                     string           `xml:"appid"`
	Status                       int              `xml:"status"`
	AuthCode                     string           `xml:"auth_code"`
	Msg                          string           `xml:"msg"`
	Info                         FastRegisterInfo `xml:"info"`
	TaskID                       string           `xml:"taskid"`
}

// Message is what every push to the message/event URL carries; it is also what
// MessageHandlerConfig.OnMessage receives for messages and events wxopen does not type.
type Message struct {
	// AuthorizerAppID is the appid taken from the request URL (the $APPID$ segment), or "" when
	// none was found. It is not covered by WeChat's signature; ToUserName is.
	AuthorizerAppID string
	// ToUserName is the account's original id (gh_…).
	ToUserName   string
	FromUserName string
	CreateTime   time.Time
	MsgType      string
	Event        Event
	// Raw is the decrypted XML, for fields wxopen does not decode.
	Raw []byte
}

// AuditSuccessEvent is weapp_audit_success: the submitted code passed review.
type AuditSuccessEvent struct {
	Message
	SuccTime time.Time
}

// AuditFailEvent is weapp_audit_fail: the submitted code was rejected.
type AuditFailEvent struct {
	Message
	FailTime time.Time
	// Reason is WeChat's explanation (it may contain <br> markup).
	Reason string
	// ScreenShots are the media ids of the reviewer's screenshots (ScreenShot split on "|"); fetch
	// them with the permanent-material API.
	ScreenShots []string
}

// AuditDelayEvent is weapp_audit_delay: the review takes longer than usual.
type AuditDelayEvent struct {
	Message
	DelayTime time.Time
	Reason    string
}

type messageXML struct {
	ToUserName   string `xml:"ToUserName"`
	FromUserName string `xml:"FromUserName"`
	CreateTime   int64  `xml:"CreateTime"`
	MsgType      string `xml:"MsgType"`
	Event        string `xml:"Event"`
	SuccTime     int64  `xml:"SuccTime"`
	FailTime     int64  `xml:"FailTime"`
	DelayTime    int64  `xml:"DelayTime"`
	Reason       string `xml:"Reason"`
	ScreenShot   string `xml:"ScreenShot"`
}

// decodeXML decodes a decrypted push whose root element must be <xml>.
func decodeXML(b []byte, v any) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var start xml.StartElement
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok {
			start = se
			break
		}
	}
	if start.Name.Local != "xml" {
		return fmt.Errorf("root element is <%s>, want <xml>", start.Name.Local)
	}
	if err := d.DecodeElement(v, &start); err != nil {
		return err
	}
	// Nothing but whitespace, comments or processing instructions may follow the root.
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return fmt.Errorf("text after the root element")
			}
		case xml.StartElement:
			return fmt.Errorf("a second root element <%s>", t.Name.Local)
		}
	}
}

func splitScreenShots(s string) []string {
	var out []string
	for _, p := range strings.Split(s, "|") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
