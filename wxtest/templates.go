package wxtest

import (
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Code template endpoints (API digest 6.8); their access_token is the component access token.
const (
	pathTemplateDraftList = "/wxa/gettemplatedraftlist"
	pathTemplateList      = "/wxa/gettemplatelist"
	pathAddToTemplate     = "/wxa/addtotemplate"
	pathDeleteTemplate    = "/wxa/deletetemplate"
)

// defaultTemplateLimit is how many templates the library holds before 85065.
const defaultTemplateLimit = 100

// TemplateDraft is a draft in the platform's code draft box: a version a developer uploaded from
// the source mini program, which addtotemplate turns into a code template.
type TemplateDraft struct {
	// UserVersion and UserDesc are the version and description the developer gave.
	UserVersion, UserDesc string
	// SourceMiniProgramAppID and SourceMiniProgram name the development mini program.
	SourceMiniProgramAppID, SourceMiniProgram string
	// Developer is the uploader.
	Developer string
	// CreateTime is the upload time; zero means the emulator clock's now.
	CreateTime time.Time
	// PrivacyKeys are the privacy keys ("Location", "PhoneNumber") the code uses: the privacy scan
	// detects them after a commit, and submit_audit wants them declared in the privacy guide.
	PrivacyKeys []string
	// PrivacyAPIs are the privacy interfaces ("wx.getLocation") the code calls: they must be declared
	// in ext_json requiredPrivateInfos and enabled (apply_privacy_interface) before submit_audit.
	PrivacyAPIs []string
}

// codeTemplate is a code template in the platform's library. Endpoint files check template ids
// against s.templates (commit: 85014 when absent).
type codeTemplate struct {
	draft      TemplateDraft
	id         int
	typ        int // 0 normal, 1 standard
	createTime time.Time
}

func (s *Server) registerTemplates() {
	s.route(http.MethodGet, pathTemplateDraftList, authComponentAsAccessToken, s.templateDraftList)
	s.route(http.MethodGet, pathTemplateList, authComponentAsAccessToken, s.templateList)
	s.route(http.MethodPost, pathAddToTemplate, authComponentAsAccessToken, s.addToTemplate)
	s.route(http.MethodPost, pathDeleteTemplate, authComponentAsAccessToken, s.deleteTemplate)
}

// AddTemplateDraft puts d in the platform's draft box and returns its draft_id.
func (s *Server) AddTemplateDraft(d TemplateDraft) int {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.CreateTime.IsZero() {
		d.CreateTime = now
	}
	id := s.nextDraftID
	s.nextDraftID++
	s.drafts[id] = &d
	return id
}

// TemplateIDs returns the ids of the code templates in the platform's library, in ascending order.
func (s *Server) TemplateIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, 0, len(s.templates))
	for id := range s.templates {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}

type draftJSON struct {
	CreateTime             int64  `json:"create_time"`
	UserVersion            string `json:"user_version"`
	UserDesc               string `json:"user_desc"`
	DraftID                int    `json:"draft_id"`
	SourceMiniProgramAppID string `json:"source_miniprogram_appid"`
	SourceMiniProgram      string `json:"source_miniprogram"`
	Developer              string `json:"developer"`
}

// templateDraftList: GET /wxa/gettemplatedraftlist.
func (s *Server) templateDraftList(c *call) (any, error) {
	ids := make([]int, 0, len(s.drafts))
	for id := range s.drafts {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	list := make([]draftJSON, 0, len(ids))
	for _, id := range ids {
		d := s.drafts[id]
		list = append(list, draftJSON{d.CreateTime.Unix(), d.UserVersion, d.UserDesc, id,
			d.SourceMiniProgramAppID, d.SourceMiniProgram, d.Developer})
	}
	return struct {
		okBody
		DraftList []draftJSON `json:"draft_list"`
	}{okBody{Errmsg: "ok"}, list}, nil
}

type templateJSON struct {
	CreateTime             int64    `json:"create_time"`
	UserVersion            string   `json:"user_version"`
	UserDesc               string   `json:"user_desc"`
	TemplateID             int      `json:"template_id"`
	TemplateType           int      `json:"template_type"`
	SourceMiniProgramAppID string   `json:"source_miniprogram_appid"`
	SourceMiniProgram      string   `json:"source_miniprogram"`
	Developer              string   `json:"developer"`
	CategoryList           []string `json:"category_list"`
	AuditScene             int      `json:"audit_scene"`
	AuditStatus            int      `json:"audit_status"`
	Reason                 string   `json:"reason"`
}

// templateList: GET /wxa/gettemplatelist[?template_type=0|1].
func (s *Server) templateList(c *call) (any, error) {
	filter := -1
	if v, given := c.r.URL.Query()["template_type"]; given {
		n, err := strconv.Atoi(v[0])
		if err != nil || (n != 0 && n != 1) {
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid template_type")
		}
		filter = n
	}
	ids := make([]int, 0, len(s.templates))
	for id, t := range s.templates {
		if filter < 0 || t.typ == filter {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	list := make([]templateJSON, 0, len(ids))
	for _, id := range ids {
		t := s.templates[id]
		list = append(list, templateJSON{
			CreateTime: t.createTime.Unix(), UserVersion: t.draft.UserVersion, UserDesc: t.draft.UserDesc,
			TemplateID: id, TemplateType: t.typ, SourceMiniProgramAppID: t.draft.SourceMiniProgramAppID,
			SourceMiniProgram: t.draft.SourceMiniProgram, Developer: t.draft.Developer,
			CategoryList: []string{},
		})
	}
	return struct {
		okBody
		TemplateList []templateJSON `json:"template_list"`
	}{okBody{Errmsg: "ok"}, list}, nil
}

// addToTemplate: POST /wxa/addtotemplate.
func (s *Server) addToTemplate(c *call) (any, error) {
	var req struct {
		DraftID      *int `json:"draft_id"`
		TemplateType *int `json:"template_type"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if req.DraftID == nil {
		return nil, missing("draft_id")
	}
	typ := 0
	if req.TemplateType != nil {
		typ = *req.TemplateType
		if typ != 0 && typ != 1 {
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid template_type")
		}
	}
	d := s.drafts[*req.DraftID]
	if d == nil {
		return nil, apiErr(wxerr.CodeTemplateNotFound, "")
	}
	if len(s.templates) >= s.templateLimit {
		return nil, apiErr(wxerr.CodeTemplateLibFull, "")
	}
	id := s.nextTemplate
	s.nextTemplate++
	s.templates[id] = &codeTemplate{draft: *d, id: id, typ: typ, createTime: c.now}
	return answerOK(), nil
}

// deleteTemplate: POST /wxa/deletetemplate.
func (s *Server) deleteTemplate(c *call) (any, error) {
	var req struct {
		TemplateID *int `json:"template_id"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if req.TemplateID == nil {
		return nil, missing("template_id")
	}
	if s.templates[*req.TemplateID] == nil {
		return nil, apiErr(wxerr.CodeTemplateNotFound, "")
	}
	delete(s.templates, *req.TemplateID)
	return answerOK(), nil
}
