package component

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// MessageHandlerConfig configures MessageHandler. Every callback is optional; a callback error makes
// the handler answer HTTP 500 so that WeChat pushes the message again.
type MessageHandlerConfig struct {
	// OnAuditSuccess receives weapp_audit_success.
	OnAuditSuccess func(context.Context, *AuditSuccessEvent) error
	// OnAuditFail receives weapp_audit_fail.
	OnAuditFail func(context.Context, *AuditFailEvent) error
	// OnAuditDelay receives weapp_audit_delay.
	OnAuditDelay func(context.Context, *AuditDelayEvent) error
	// OnNicknameAudit, OnCategoryAudit and OnPrivacyApply receive the compliance review results
	// (events_compliance.go). A compliance push whose callback is nil goes to OnMessage.
	OnNicknameAudit func(context.Context, *NicknameAuditEvent) error
	OnCategoryAudit func(context.Context, *CategoryAuditEvent) error
	OnPrivacyApply  func(context.Context, *PrivacyApplyEvent) error

	// Card pushes (official accounts that own cards; see the card package and events_card.go). A
	// card push whose callback is nil goes to OnMessage.
	// OnCardCheck receives card_pass_check and card_not_pass_check.
	OnCardCheck                func(context.Context, *CardCheckEvent) error
	OnUserGetCard              func(context.Context, *UserGetCardEvent) error
	OnUserDelCard              func(context.Context, *UserDelCardEvent) error
	OnUserConsumeCard          func(context.Context, *UserConsumeCardEvent) error
	OnSubmitMemberCardUserInfo func(context.Context, *SubmitMemberCardUserInfoEvent) error
	OnUpdateMemberCard         func(context.Context, *UpdateMemberCardEvent) error
	OnUserViewCard             func(context.Context, *UserViewCardEvent) error
	OnUserEnterSessionFromCard func(context.Context, *UserEnterSessionFromCardEvent) error

	// OnICPVerifyResult and OnICPFilingResult receive the ICP filing pushes when WeChat sends them
	// here, as JSON or XML (events_icp.go); give HandlerConfig the same callbacks.
	OnICPVerifyResult func(context.Context, *ICPVerifyResultEvent) error
	OnICPFilingResult func(context.Context, *ICPFilingResultEvent) error

	// OnVerification, OnVerifyExpiry and OnAuthAndICP receive the WeChat verification pushes
	// (events_icp.go), on either URL.
	OnVerification func(context.Context, *VerificationEvent) error
	OnVerifyExpiry func(context.Context, *VerifyExpiryEvent) error
	OnAuthAndICP   func(context.Context, *AuthAndICPEvent) error
	// OnVerifyPaid and OnVerifyDispatch receive the verification order's events, as XML or JSON
	// (events_icp.go). One whose callback is nil goes to OnMessage.
	OnVerifyPaid     func(context.Context, *VerifyPaidEvent) error
	OnVerifyDispatch func(context.Context, *VerifyDispatchEvent) error
	// OnMessage receives every other message and event.
	OnMessage func(context.Context, *Message) error

	// AppIDFromRequest returns the authorizer appid of a request, for routers that keep it elsewhere.
	// By default it is r.PathValue("appid") (a ServeMux pattern such as "/wechat/{appid}/callback"),
	// or else the last path segment, either only when it looks like an appid ("wx" and letters or
	// digits; "" otherwise); the last segment fits a message URL configured as ".../$APPID$".
	AppIDFromRequest func(r *http.Request) string

	// MaxBodyBytes, MaxClockSkew, Now and Logger are as in HandlerConfig.
	MaxBodyBytes int64
	MaxClockSkew time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
}

// MessageHandler is the http.Handler for the authorizers' message and event URL (configured on the
// platform with a $APPID$ segment). It checks and decrypts pushes like Handler (same status codes),
// refuses with 403 a push whose ToUserName is not the original id (gh_…) of the account its URL names
// (binding.go; 400 when the URL names none), dispatches the mini-program audit events and the card
// events to typed callbacks and everything else to OnMessage, and answers "success". It sends no
// passive replies.
type MessageHandler struct {
	rcv receiver
	cfg MessageHandlerConfig
}

// NewMessageHandler returns the MessageHandler for c's message/event URL.
func NewMessageHandler(c *Client, cfg MessageHandlerConfig) (*MessageHandler, error) {
	rcv, err := newReceiver(c, cfg.MaxBodyBytes, cfg.MaxClockSkew, cfg.Now, cfg.Logger)
	if err != nil {
		return nil, err
	}
	if cfg.AppIDFromRequest == nil {
		cfg.AppIDFromRequest = defaultAppID
	}
	return &MessageHandler{rcv: rcv, cfg: cfg}, nil
}

// ServeHTTP implements http.Handler.
func (h *MessageHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	appID := ""
	if r.Method == http.MethodPost {
		appID = h.cfg.AppIDFromRequest(r)
	}
	h.rcv.serve(w, r, func(ctx context.Context, plain []byte) error {
		return h.dispatch(ctx, appID, plain)
	})
}

func (h *MessageHandler) dispatch(ctx context.Context, appID string, plain []byte) error {
	var x messageXML
	if isJSON(plain) { // a message URL set to JSON
		if err := decodeMessageJSON(plain, &x); err != nil {
			return badRequest("malformed message JSON: " + err.Error())
		}
	} else if err := decodeMessageXML(plain, &x); err != nil {
		return badRequest("malformed message XML: " + err.Error())
	}
	if x.MsgType == "" {
		return badRequest("message has no MsgType")
	}
	if err := h.rcv.c.checkAccount(ctx, appID, x.ToUserName); err != nil {
		return err
	}
	m := Message{
		AuthorizerAppID: appID, ToUserName: x.ToUserName, FromUserName: x.FromUserName,
		CreateTime: unixTime(x.CreateTime), MsgType: x.MsgType, Event: Event(x.Event), Raw: plain,
	}
	if x.MsgType == "event" && twoURLPush(x.Event) {
		return dispatchTwoURL(ctx, x.Event, PushSource{Message: &m}, plain, h.cfg.twoURL())
	}
	if x.MsgType == "event" && verifyOrderEvent(m.Event) {
		return h.dispatchVerifyOrder(ctx, m)
	}
	if x.MsgType == "event" && !isJSON(plain) {
		switch Event(x.Event) {
		case EventAuditSuccess:
			return call(ctx, h.cfg.OnAuditSuccess, &AuditSuccessEvent{Message: m, SuccTime: unixTime(x.SuccTime)})
		case EventAuditFail:
			return call(ctx, h.cfg.OnAuditFail, &AuditFailEvent{Message: m, FailTime: unixTime(x.FailTime),
				Reason: x.Reason, ScreenShots: splitScreenShots(x.ScreenShot)})
		case EventAuditDelay:
			return call(ctx, h.cfg.OnAuditDelay, &AuditDelayEvent{Message: m, DelayTime: unixTime(x.DelayTime), Reason: x.Reason})
		case EventNicknameAudit, EventCategoryAudit, EventPrivacyApply:
			return h.dispatchCompliance(ctx, m)
		case EventCardPassCheck, EventCardNotPassCheck, EventUserGetCard, EventUserDelCard, EventUserConsumeCard,
			EventSubmitMemberCardUserInfo, EventUpdateMemberCard, EventUserViewCard, EventUserEnterSessionFromCard:
			return h.dispatchCard(ctx, m)
		}
	}
	return call(ctx, h.cfg.OnMessage, &m)
}

// defaultAppID is MessageHandlerConfig.AppIDFromRequest's default.
func defaultAppID(r *http.Request) string {
	if v := r.PathValue("appid"); v != "" {
		if looksLikeAppID(v) {
			return v
		}
		return ""
	}
	p := r.URL.Path
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	seg := p
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			seg = p[i+1:]
			break
		}
	}
	if looksLikeAppID(seg) {
		return seg
	}
	return ""
}

func looksLikeAppID(s string) bool {
	if len(s) < 3 || len(s) > 64 || s[0] != 'w' || s[1] != 'x' {
		return false
	}
	for i := 2; i < len(s); i++ {
		ch := s[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9') {
			return false
		}
	}
	return true
}
