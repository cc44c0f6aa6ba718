package miniprogram

import (
	"context"
	"time"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Name checks (API digest part 1, 5.2; part 2, 15.4): whether a name is free before SetNickname,
// and the state of a name review SetNickname started (its AuditID).

// NicknameCheck is CheckNickname's answer.
type NicknameCheck struct {
	// Hit says the name is protected or taken: it needs materials (trademark, authorisation) or
	// cannot be used; Wording is WeChat's explanation.
	Hit     bool   `json:"-"`
	Wording string `json:"wording"`
}

// CheckNickname asks whether name may be set without further materials.
//
// WeChat: POST /cgi-bin/wxverify/checkwxverifynickname
func (c *Client) CheckNickname(ctx context.Context, name string) (*NicknameCheck, error) {
	if name == "" {
		return nil, wxerr.Invalid("nick_name", "required")
	}
	var out struct {
		HitCondition bool   `json:"hit_condition"`
		Wording      string `json:"wording"`
	}
	if err := c.call(ctx, post("/cgi-bin/wxverify/checkwxverifynickname", map[string]string{"nick_name": name}, true), &out); err != nil {
		return nil, err
	}
	return &NicknameCheck{Hit: out.HitCondition, Wording: out.Wording}, nil
}

// NicknameAudit is the state of a name review.
type NicknameAudit struct {
	Nickname string
	// Status is CategoryReviewing, CategoryRejected or CategoryApproved (audit_stat 1, 2, 3).
	Status     CategoryAuditStatus
	FailReason string
	CreateTime time.Time
	AuditTime  time.Time
}

// NicknameAudit reads the name review auditID (SetNicknameResult.AuditID); the result is also
// pushed as wxa_nickname_audit.
//
// WeChat: POST /wxa/api_wxa_querynickname
func (c *Client) NicknameAudit(ctx context.Context, auditID int64) (*NicknameAudit, error) {
	if auditID <= 0 {
		return nil, wxerr.Invalid("audit_id", "the audit_id SetNickname answered")
	}
	var out struct {
		Nickname   string              `json:"nickname"`
		AuditStat  CategoryAuditStatus `json:"audit_stat"`
		FailReason string              `json:"fail_reason"`
		CreateTime int64               `json:"create_time"`
		AuditTime  int64               `json:"audit_time"`
	}
	if err := c.call(ctx, post("/wxa/api_wxa_querynickname", map[string]int64{"audit_id": auditID}, true), &out); err != nil {
		return nil, err
	}
	r := &NicknameAudit{Nickname: out.Nickname, Status: out.AuditStat, FailReason: out.FailReason}
	if out.CreateTime > 0 {
		r.CreateTime = time.Unix(out.CreateTime, 0)
	}
	if out.AuditTime > 0 {
		r.AuditTime = time.Unix(out.AuditTime, 0)
	}
	return r, nil
}
