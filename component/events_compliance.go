package component

import (
	"context"
	"time"
)

// Event values of the compliance review pushes to the message/event URL (API digest part 2,
// sections 10.5, 11.3 and 15.4).
const (
	EventNicknameAudit Event = "wxa_nickname_audit"
	EventCategoryAudit Event = "wxa_category_audit"
	EventPrivacyApply  Event = "wxa_privacy_apply"
)

// ReviewResult is the outcome of a name or category review (the push's ret).
type ReviewResult int

// Review outcomes.
const (
	ReviewRejected ReviewResult = 2
	ReviewApproved ReviewResult = 3
)

// Approved reports whether the review approved.
func (r ReviewResult) Approved() bool { return r == ReviewApproved }

// NicknameAuditEvent is wxa_nickname_audit: the review of a name submitted with materials ended.
type NicknameAuditEvent struct {
	Message
	Ret      ReviewResult
	Nickname string
	Reason   string
}

// CategoryAuditEvent is wxa_category_audit: the review of a category added with qualifications
// ended. First and Second are the category ids (WeChat sends them as strings).
type CategoryAuditEvent struct {
	Message
	First, Second string
	Ret           ReviewResult
	Reason        string
}

// PrivacyApplyEvent is wxa_privacy_apply: the application for a privacy interface was reviewed.
// Status uses the values of the interface list (3 reviewing, 4 rejected, 5 enabled); poll the list
// (miniprogram PrivacyService.Interfaces) when in doubt, the push rests on one source.
type PrivacyApplyEvent struct {
	Message
	APIName   string
	AuditID   int64
	Status    int
	ApplyTime time.Time
	AuditTime time.Time
	Reason    string
}

// Approved reports whether the interface is now enabled.
func (e *PrivacyApplyEvent) Approved() bool { return e.Status == 5 }

// complianceXML holds the fields of the compliance pushes.
type complianceXML struct {
	Ret      int    `xml:"ret"`
	Nickname string `xml:"nickname"`
	Reason   string `xml:"reason"`
	First    string `xml:"first"`
	Second   string `xml:"second"`
	Result   struct {
		APIName   string `xml:"api_name"`
		ApplyTime int64  `xml:"apply_time"`
		AuditID   int64  `xml:"audit_id"`
		AuditTime int64  `xml:"audit_time"`
		Reason    string `xml:"reason"`
		Status    int    `xml:"status"`
	} `xml:"result_info"`
}

// dispatchCompliance decodes the compliance push m (Event EventNicknameAudit, EventCategoryAudit or
// EventPrivacyApply) and hands it to its callback.
// A push whose callback is nil goes to OnMessage, where wxa_nickname_audit went before it was typed.
func (h *MessageHandler) dispatchCompliance(ctx context.Context, m Message) error {
	cb := &h.cfg
	if m.Event == EventNicknameAudit && cb.OnNicknameAudit == nil || m.Event == EventCategoryAudit && cb.OnCategoryAudit == nil ||
		m.Event == EventPrivacyApply && cb.OnPrivacyApply == nil {
		return call(ctx, cb.OnMessage, &m)
	}
	var x complianceXML
	if err := decodeXML(m.Raw, &x); err != nil {
		return badRequest("malformed message XML: " + err.Error())
	}
	switch m.Event {
	case EventNicknameAudit:
		return call(ctx, h.cfg.OnNicknameAudit, &NicknameAuditEvent{Message: m, Ret: ReviewResult(x.Ret), Nickname: x.Nickname, Reason: x.Reason})
	case EventCategoryAudit:
		return call(ctx, h.cfg.OnCategoryAudit, &CategoryAuditEvent{Message: m, First: x.First, Second: x.Second,
			Ret: ReviewResult(x.Ret), Reason: x.Reason})
	}
	r := x.Result
	return call(ctx, h.cfg.OnPrivacyApply, &PrivacyApplyEvent{Message: m, APIName: r.APIName, AuditID: r.AuditID, Status: r.Status,
		ApplyTime: unixTime(r.ApplyTime), AuditTime: unixTime(r.AuditTime), Reason: r.Reason})
}
