package component

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"time"

	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// TemplateType is a code template's type (template_type).
type TemplateType int

// Template types. AnyTemplateType is not a WeChat value: passed to Templates it lists every type.
const (
	TemplateNormal   TemplateType = 0
	TemplateStandard TemplateType = 1
	AnyTemplateType  TemplateType = -1
)

// TemplateDraft is a code draft uploaded from a developer's mini program, ready to become a template.
type TemplateDraft struct {
	DraftID                int64
	CreateTime             time.Time
	UserVersion            string
	UserDesc               string
	SourceMiniProgramAppID string
	SourceMiniProgram      string
	Developer              string
}

// Template is a code template of the platform's template library.
type Template struct {
	TemplateID             int64
	TemplateType           TemplateType
	CreateTime             time.Time
	UserVersion            string
	UserDesc               string
	SourceMiniProgramAppID string
	SourceMiniProgram      string
	Developer              string
	// CategoryList, AuditScene, AuditStatus and Reason concern standard templates; CategoryList is
	// passed through as WeChat sent it.
	CategoryList json.RawMessage
	AuditScene   int
	AuditStatus  int
	Reason       string
}

type templateJSON struct {
	DraftID                int64           `json:"draft_id"`
	TemplateID             int64           `json:"template_id"`
	TemplateType           int             `json:"template_type"`
	CreateTime             int64           `json:"create_time"`
	UserVersion            string          `json:"user_version"`
	UserDesc               string          `json:"user_desc"`
	SourceMiniProgramAppID string          `json:"source_miniprogram_appid"`
	SourceMiniProgram      string          `json:"source_miniprogram"`
	Developer              string          `json:"developer"`
	CategoryList           json.RawMessage `json:"category_list"`
	AuditScene             int             `json:"audit_scene"`
	AuditStatus            int             `json:"audit_status"`
	Reason                 string          `json:"reason"`
}

func unixTime(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// TemplateDrafts lists the platform's code drafts.
//
// WeChat: GET /wxa/gettemplatedraftlist
func (c *Client) TemplateDrafts(ctx context.Context) ([]TemplateDraft, error) {
	var out struct {
		List []templateJSON `json:"draft_list"`
	}
	err := c.componentCall(ctx, &wxcall.Request{Method: "GET", Path: "/wxa/gettemplatedraftlist", Idempotent: true}, "access_token", &out)
	if err != nil {
		return nil, err
	}
	drafts := make([]TemplateDraft, 0, len(out.List))
	for _, d := range out.List {
		drafts = append(drafts, TemplateDraft{
			DraftID: d.DraftID, CreateTime: unixTime(d.CreateTime), UserVersion: d.UserVersion, UserDesc: d.UserDesc,
			SourceMiniProgramAppID: d.SourceMiniProgramAppID, SourceMiniProgram: d.SourceMiniProgram, Developer: d.Developer,
		})
	}
	return drafts, nil
}

// Templates lists the platform's code templates of type t, or of every type for AnyTemplateType.
//
// WeChat: GET /wxa/gettemplatelist
func (c *Client) Templates(ctx context.Context, t TemplateType) ([]Template, error) {
	var q url.Values
	switch t {
	case AnyTemplateType:
	case TemplateNormal, TemplateStandard:
		q = url.Values{"template_type": {strconv.Itoa(int(t))}}
	default:
		return nil, wxerr.Invalid("template_type", "TemplateNormal, TemplateStandard or AnyTemplateType")
	}
	var out struct {
		List []templateJSON `json:"template_list"`
	}
	err := c.componentCall(ctx, &wxcall.Request{Method: "GET", Path: "/wxa/gettemplatelist", Query: q, Idempotent: true}, "access_token", &out)
	if err != nil {
		return nil, err
	}
	list := make([]Template, 0, len(out.List))
	for _, d := range out.List {
		list = append(list, Template{
			TemplateID: d.TemplateID, TemplateType: TemplateType(d.TemplateType), CreateTime: unixTime(d.CreateTime),
			UserVersion: d.UserVersion, UserDesc: d.UserDesc,
			SourceMiniProgramAppID: d.SourceMiniProgramAppID, SourceMiniProgram: d.SourceMiniProgram, Developer: d.Developer,
			CategoryList: d.CategoryList, AuditScene: d.AuditScene, AuditStatus: d.AuditStatus, Reason: d.Reason,
		})
	}
	return list, nil
}

// AddToTemplate turns the draft draftID into a template of type t (TemplateNormal or
// TemplateStandard). 85064: draft not found; 85065: template library full.
//
// WeChat: POST /wxa/addtotemplate
func (c *Client) AddToTemplate(ctx context.Context, draftID int64, t TemplateType) error {
	if draftID < 0 {
		return wxerr.Invalid("draft_id", "0 or more")
	}
	if t != TemplateNormal && t != TemplateStandard {
		return wxerr.Invalid("template_type", "TemplateNormal or TemplateStandard")
	}
	return c.componentCall(ctx, &wxcall.Request{
		Method: "POST", Path: "/wxa/addtotemplate",
		Body: map[string]int64{"draft_id": draftID, "template_type": int64(t)},
	}, "access_token", nil)
}

// DeleteTemplate deletes template templateID from the library. 85064: template not found.
//
// WeChat: POST /wxa/deletetemplate
func (c *Client) DeleteTemplate(ctx context.Context, templateID int64) error {
	if templateID < 0 {
		return wxerr.Invalid("template_id", "0 or more")
	}
	return c.componentCall(ctx, &wxcall.Request{
		Method: "POST", Path: "/wxa/deletetemplate",
		Body: map[string]int64{"template_id": templateID},
	}, "access_token", nil)
}
