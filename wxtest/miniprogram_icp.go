package wxtest

// ICP filing of mini programs (小程序备案, API digest part 2, section 13), on the emulator clock.
//
// A mini program added with AddAuthorizer counts as filed (existing mini programs had to be filed
// by 2024-03-31); a fast-registered one starts not filed, and wxa/release refuses it with
// wxerr.CodeReleaseNotICPFiled until the filing reaches status 6. The state machine:
//
//	1024 not filed (1025/1026/1027 while the name or an approved category is missing; 1028-1031
//	     the same while the mini program must be verified first and is not)
//	  ─apply_icp_filing→ 2 platform review ─ReviewICPFiling(approve)→ 4 regulator review
//	  ─RegulateICPFiling(approve)→ 6 filed
//	2 ─ReviewICPFiling(reject, reasons)→ 3 platform rejected ─apply→ 2 …
//	4 ─RegulateICPFiling(reject, reasons)→ 5 regulator rejected ─apply (new face check)→ 2 …
//	2 ─cancel_apply_icp_filing→ back to 1024
//
// Every transition pushes notify_apply_icpfiling_result (beian_status) to the authorisation event
// URL. The face check: create_icp_verifytask makes a task; CompleteICPFaceCheck plays the
// administrator (pushes notify_icpfiling_verify_result); a task nobody completes within 24 h of
// its creation reads as failed (is_finish, face_status 2), and a task is usable by one apply
// (accepted or refused) for 3 days (1 along with verification). Rules enforced at apply_icp_filing (86202 with hints naming the
// field, as WeChat): required fields, known area codes, subject/certificate types, level-2 service
// content types, pre-approval types, media ids uploaded by this app for that field (86328 when the
// certificate_type of the upload differs), a passed and unexpired face check of this app; 86358
// while an order is open or the app is filed; 86202 when the name or category is missing.
// cancel_apply_icp_filing: 86368 no order, 86330 past the platform review. cancel_icp_filing: 86353
// not filed, 86324 a cancellation is already running.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wxopen-go/wxopen/wxerr"
)

const (
	pathICPEntranceInfo   = "/wxa/icp/get_icp_entrance_info"
	pathICPOnlineOrder    = "/wxa/icp/get_online_icp_order"
	pathICPCreateTask     = "/wxa/icp/create_icp_verifytask"
	pathICPQueryTask      = "/wxa/icp/query_icp_verifytask"
	pathICPUploadMedia    = "/wxa/icp/upload_icp_media"
	pathICPGetMedia       = "/wxa/icp/get_icp_media"
	pathICPApply          = "/wxa/icp/apply_icp_filing"
	pathICPCancelApply    = "/wxa/icp/cancel_apply_icp_filing"
	pathICPCancelFiling   = "/wxa/icp/cancel_icp_filing"
	pathICPSubjectTypes   = "/wxa/icp/query_icp_subject_types"
	pathICPCertTypes      = "/wxa/icp/query_icp_certificate_types"
	pathICPDistricts      = "/wxa/icp/query_icp_district_code"
	pathICPNrlxTypes      = "/wxa/icp/query_icp_nrlx_types"
	pathICPServiceContent = "/wxa/icp/query_icp_service_content_types"

	icpNoticeTTL       = 24 * time.Hour // the administrator's notice
	icpTaskTTL         = 72 * time.Hour
	icpTaskWithAuthTTL = 24 * time.Hour
	icpMaxImage        = 5 << 20
	icpMaxVideo        = 100 << 20
)

// ICP statuses (digest 13.6).
const (
	icpNotFiled          = 1024
	icpNoInfo            = 1025
	icpNoCategory        = 1026
	icpNoInfoNoCategory  = 1027
	icpNotVerified       = 1028 // 1028-1031: 1024-1027 and not verified
	icpPlatformReview    = 2
	icpPlatformRejected  = 3
	icpRegulatorReview   = 4
	icpRegulatorRejected = 5
	icpFiled             = 6
)

// The emulator's look-up tables: a small but consistent part of the regulator's.
var (
	icpSubjectTypes = []map[string]any{{"type": 1, "name": "企业", "remark": ""}, {"type": 5, "name": "个人", "remark": ""}}
	icpCertTypes    = []map[string]any{
		{"type": 1, "subject_type": 1, "name": "营业执照（个人或企业）", "remark": ""},
		{"type": 2, "subject_type": 5, "name": "居民身份证", "remark": ""},
	}
	icpDistricts = []map[string]any{
		{"type": 1, "code": 110000, "name": "北京市", "sub_list": []map[string]any{
			{"type": 2, "code": 110100, "name": "市辖区", "sub_list": []map[string]any{{"type": 3, "code": 110105, "name": "朝阳区"}}}}},
		{"type": 1, "code": 440000, "name": "广东省", "sub_list": []map[string]any{
			{"type": 2, "code": 440300, "name": "深圳市", "sub_list": []map[string]any{{"type": 3, "code": 440305, "name": "南山区"}}}}},
	}
	icpNrlxTypes    = []map[string]any{{"type": 2, "name": "新闻"}, {"type": 23, "name": "以上都不涉及"}}
	icpContentTypes = []map[string]any{
		{"type": 1, "parent_type": 0, "name": "生活服务", "remark": ""},
		{"type": 11, "parent_type": 1, "name": "餐饮", "remark": ""},
		{"type": 12, "parent_type": 1, "name": "外卖", "remark": ""},
	}
	icpDistrictCodes = map[[3]string]bool{{"110000", "110100", "110105"}: true, {"440000", "440300", "440305"}: true}
	icpCertSubject   = map[int]int{1: 1, 2: 5} // certificate type → subject type
)

const icpNrlxNone = 23

// icpState is this file's state, kept on the Server with groupState.
type icpState struct {
	apps  map[string]*icpApp    // by appid; an app absent here is filed
	tasks map[string]*icpTask   // by task id
	media map[string]*icpMedium // by media id
}

func (s *Server) icp() *icpState { // call with s.mu held
	return groupState(s, func() *icpState {
		return &icpState{apps: map[string]*icpApp{}, tasks: map[string]*icpTask{}, media: map[string]*icpMedium{}}
	})
}

// icpApp is the filing of one mini program that was not filed when it came to the emulator.
type icpApp struct {
	status int
	// mustVerify marks a mini program registered unverified through a route of
	// miniprogram_fastregister_routes.go: while not verified it reads 1028-1031 and cannot apply
	// alone (digest 13.6). The enterprise route does not set it (see markICPMustVerify).
	mustVerify  bool
	canceling   bool
	sms         int
	auditData   []ICPAuditReason
	order       json.RawMessage // the application under review or filed
	subjectName string
	record      string
}

type icpTask struct {
	appID         string
	created       time.Time
	alongWithAuth bool
	finished      bool
	face          int  // 0 not started, 1 waiting, 2 failed, 3 succeeded
	used          bool // by an apply, accepted or refused: a task serves one apply
}

// state reads the task at now: a notice nobody answered within 24 h has failed.
func (t *icpTask) state(now time.Time) (finished bool, face int) {
	if !t.finished && !now.Before(t.created.Add(icpNoticeTTL)) {
		return true, 2
	}
	return t.finished, t.face
}

func (t *icpTask) usable(now time.Time) bool {
	ttl := icpTaskTTL
	if t.alongWithAuth {
		ttl = icpTaskWithAuthTTL
	}
	fin, face := t.state(now)
	return fin && face == 3 && !t.used && now.Before(t.created.Add(ttl))
}

type icpMedium struct {
	appID, kind, field string
	certType           int
	data               []byte
	contentType        string
}

// ICPAuditReason is one reason of a rejected filing (audit_data).
type ICPAuditReason struct {
	KeyName string `json:"key_name"`
	Error   string `json:"error"`
	Suggest string `json:"suggest"`
}

// registerMPICP registers the ICP filing endpoints.
func (s *Server) registerMPICP() {
	s.route(http.MethodGet, pathICPEntranceInfo, authAuthorizer, s.icpEntranceInfo)
	s.route(http.MethodGet, pathICPOnlineOrder, authAuthorizer, s.icpOnlineOrder)
	s.route(http.MethodPost, pathICPCreateTask, authAuthorizer, s.icpCreateTask)
	s.route(http.MethodPost, pathICPQueryTask, authAuthorizer, s.icpQueryTask)
	s.route(http.MethodPost, pathICPUploadMedia, authAuthorizer, s.icpUploadMedia)
	s.route(http.MethodGet, pathICPGetMedia, authAuthorizer, s.icpGetMedia)
	s.route(http.MethodPost, pathICPApply, authAuthorizer, s.icpApply)
	s.route(http.MethodPost, pathICPCancelApply, authAuthorizer, s.icpCancelApply)
	s.route(http.MethodPost, pathICPCancelFiling, authAuthorizer, s.icpCancelFiling)
	for path, items := range map[string]any{pathICPSubjectTypes: icpSubjectTypes, pathICPCertTypes: icpCertTypes,
		pathICPDistricts: icpDistricts, pathICPNrlxTypes: icpNrlxTypes, pathICPServiceContent: icpContentTypes} {
		h := s.icpLookup(items)
		s.route(http.MethodGet, path, authAuthorizer, h)
		s.route(http.MethodPost, path, authAuthorizer, h) // the doc pages were not re-read: accept both
	}
}

// markICPUnfiled records appID as a new mini program that is not filed (fast registration).
func (s *Server) markICPUnfiled(appID string) { // call with s.mu held
	s.icp().apps[appID] = &icpApp{status: icpNotFiled}
}

// markICPMustVerify records that appID, a new unverified mini program, must be verified before
// it files alone (1028-1031 until then; the combined flow is open). It is set by the personal,
// trial and official-account routes; the enterprise route (miniprogram_accounts.go) leaves it
// unset so that its mini programs file alone as before.
func (s *Server) markICPMustVerify(appID string) { // call with s.mu held
	if f := s.icp().apps[appID]; f != nil {
		f.mustVerify = true
	}
}

// icpFiled reports whether appID may be released as far as filing goes.
func (s *Server) icpFiled(appID string) bool { // call with s.mu held
	f := s.icp().apps[appID]
	return f == nil || f.status == icpFiled
}

// icpStatus is the status get_icp_entrance_info reports for a.
func (s *Server) icpStatus(a *authorizer) int {
	f := s.icp().apps[a.info.AppID]
	if f == nil {
		return icpFiled
	}
	if f.status != icpNotFiled {
		return f.status
	}
	st := icpNotFiled
	noInfo, noCat := a.info.NickName == "", len(a.info.Categories) == 0
	switch {
	case noInfo && noCat:
		st = icpNoInfoNoCategory
	case noInfo:
		st = icpNoInfo
	case noCat:
		st = icpNoCategory
	}
	if f.mustVerify && a.info.VerifyType != 0 {
		st += icpNotVerified - icpNotFiled
	}
	return st
}

func (s *Server) icpLookup(items any) func(c *call) (any, error) {
	return func(c *call) (any, error) {
		if _, _, err := s.miniProgram(c); err != nil {
			return nil, err
		}
		return struct {
			okBody
			Items any `json:"items"`
		}{okBody{Errmsg: "ok"}, items}, nil
	}
}

// icpEntranceInfo: GET /wxa/icp/get_icp_entrance_info.
func (s *Server) icpEntranceInfo(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	info := map[string]any{"status": s.icpStatus(a), "is_canceling": false, "available": 1}
	if f := s.icp().apps[a.info.AppID]; f != nil {
		info["is_canceling"] = f.canceling
		if f.status == icpRegulatorReview {
			info["sms_verify_status"] = f.sms
		}
		if len(f.auditData) > 0 {
			info["audit_data"] = f.auditData
		}
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "info": info}, nil
}

// icpOnlineOrder: GET /wxa/icp/get_online_icp_order (filed apps only; 86353 otherwise).
func (s *Server) icpOnlineOrder(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	f := s.icp().apps[a.info.AppID]
	if f == nil { // filed before it came to the emulator
		return map[string]any{"errcode": 0, "errmsg": "ok",
			"icp_subject": map[string]any{"base_info": map[string]any{"name": a.info.PrincipalName, "record_number": "京ICP备00000000号"}},
			"icp_applets": map[string]any{"base_info": map[string]any{"appid": a.info.AppID, "name": a.info.NickName, "record_number": "京ICP备00000000号-1X"}}}, nil
	}
	if f.status != icpFiled {
		return nil, apiErr(wxerr.CodeICPNotFiled, "not filed")
	}
	var order map[string]map[string]map[string]any
	_ = json.Unmarshal(f.order, &order)
	out := map[string]any{"errcode": 0, "errmsg": "ok"}
	for _, part := range []string{"icp_subject", "icp_applets"} {
		p := order[part]
		if p == nil {
			p = map[string]map[string]any{}
		}
		if p["base_info"] == nil {
			p["base_info"] = map[string]any{}
		}
		rec := f.record
		if part == "icp_applets" {
			rec += "-1X"
			p["base_info"]["name"] = a.info.NickName
		}
		p["base_info"]["record_number"] = rec
		out[part] = p
	}
	return out, nil
}

// icpCreateTask: POST /wxa/icp/create_icp_verifytask {"along_with_auth": bool}.
func (s *Server) icpCreateTask(c *call) (any, error) {
	var req struct {
		AlongWithAuth *bool `json:"along_with_auth"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	t := &icpTask{appID: a.info.AppID, created: c.now, face: 1, alongWithAuth: req.AlongWithAuth != nil && *req.AlongWithAuth}
	id := "icptask_" + randHex(16)
	s.icp().tasks[id] = t
	out := map[string]any{"errcode": 0, "errmsg": "ok", "task_id": id}
	if t.alongWithAuth {
		out["verify_url"] = "https://mp.weixin.qq.com/wxamp/verify?task_id=" + id
	}
	return out, nil
}

// icpQueryTask: POST /wxa/icp/query_icp_verifytask {"task_id"}.
func (s *Server) icpQueryTask(c *call) (any, error) {
	var req struct {
		TaskID string `json:"task_id"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if req.TaskID == "" {
		return nil, missing("task_id")
	}
	t := s.icp().tasks[req.TaskID]
	if t == nil || t.appID != a.info.AppID {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid task_id")
	}
	fin, face := t.state(c.now)
	out := map[string]any{"errcode": 0, "errmsg": "ok", "is_finish": fin, "face_status": face}
	if t.alongWithAuth && fin && face == 3 {
		out["along_with_auth_result"] = 9
	}
	return out, nil
}

// icpUploadMedia: POST /wxa/icp/upload_icp_media, multipart: type, icp_order_field,
// certificate_type (optional), media (file).
func (s *Server) icpUploadMedia(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, apiErr(41005, "media data missing")
	}
	form, err := multipart.NewReader(bytes.NewReader(c.body), params["boundary"]).ReadForm(icpMaxVideo + 1<<20)
	if err != nil {
		return nil, apiErr(41005, "media data missing")
	}
	defer func() { _ = form.RemoveAll() }()
	val := func(k string) string {
		if v := form.Value[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	kind, field := val("type"), val("icp_order_field")
	var cert int
	if v := val("certificate_type"); v != "" {
		if cert, err = strconv.Atoi(v); err != nil || cert < 0 {
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid certificate_type")
		}
	}
	files := form.File["media"]
	switch {
	case kind != "image" && kind != "video":
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid type")
	case field == "":
		return nil, missing("icp_order_field")
	case len(files) != 1:
		return nil, apiErr(41005, "media data missing")
	}
	f, err := files[0].Open()
	if err != nil {
		return nil, apiErr(41005, "media data missing")
	}
	var b bytes.Buffer
	_, _ = b.ReadFrom(f)
	_ = f.Close()
	data := b.Bytes()
	ctype := ""
	switch kind {
	case "image":
		k := imageKind(data)
		if (k != "png" && k != "jpeg") || len(data) > icpMaxImage {
			return nil, apiErr(wxerr.CodeICPMediaUploadFailed, "upload icp media fail")
		}
		ctype = "image/" + k
	case "video":
		if len(data) < 12 || string(data[4:8]) != "ftyp" || len(data) > icpMaxVideo {
			return nil, apiErr(wxerr.CodeICPMediaUploadFailed, "upload icp media fail")
		}
		ctype = "video/mp4"
	}
	id := "icpmedia_" + randAlnum(40)
	s.icp().media[id] = &icpMedium{appID: a.info.AppID, kind: kind, field: field, certType: cert, data: data, contentType: ctype}
	return map[string]any{"errcode": 0, "errmsg": "ok", "type": kind, "media_id": id, "created_at": c.now.Unix()}, nil
}

// icpGetMedia: GET /wxa/icp/get_icp_media?media_id=… → the file.
func (s *Server) icpGetMedia(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	m := s.icp().media[c.query("media_id")]
	if m == nil || m.appID != a.info.AppID {
		return nil, apiErr(40007, "invalid media_id")
	}
	return rawAnswer{ContentType: m.contentType, Body: m.data}, nil
}

// icpHint is one field error of a refused application.
type icpHint struct {
	Errcode  int    `json:"errcode"`
	Errmsg   string `json:"errmsg"`
	ErrField string `json:"err_field"`
}

// icpApplyBody is what the emulator reads of apply_icp_filing.
type icpApplyBody struct {
	Subject *struct {
		BaseInfo struct {
			Type                                    int
			Name, Province, City, District, Address string
		} `json:"base_info"`
		OrganizeInfo struct {
			CertificateType int `json:"certificate_type"`
		} `json:"organize_info"`
		PrincipalInfo icpPrincipalBody `json:"principal_info"`
	} `json:"icp_subject"`
	Applets *struct {
		BaseInfo struct {
			AppID               string `json:"appid"`
			ServiceContentTypes []int  `json:"service_content_types"`
			NrlxDetails         []struct {
				Type  int    `json:"type"`
				Code  string `json:"code"`
				Media string `json:"media"`
			} `json:"nrlx_details"`
			Comment string `json:"comment"`
		} `json:"base_info"`
		PrincipalInfo icpPrincipalBody `json:"principal_info"`
	} `json:"icp_applets"`
	Materials map[string][]string `json:"icp_materials"`
}

type icpPrincipalBody struct {
	Name                  string `json:"name"`
	Mobile                string `json:"mobile"`
	CertificateType       int    `json:"certificate_type"`
	CertificateNumber     string `json:"certificate_number"`
	CertificatePhotoFront string `json:"certificate_photo_front"`
	CertificatePhotoBack  string `json:"certificate_photo_back"`
	VerifyTaskID          string `json:"verify_task_id"`
}

// icpApply: POST /wxa/icp/apply_icp_filing.
func (s *Server) icpApply(c *call) (any, error) {
	var req icpApplyBody
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	appID := a.info.AppID
	st := s.icp()
	f := st.apps[appID]
	status := s.icpStatus(a)
	switch {
	case f == nil || status == icpFiled || status == icpPlatformReview || status == icpRegulatorReview:
		return nil, apiErr(wxerr.CodeICPUnfinishedOrder, "an unfinished or finished order exists")
	case status == icpNoInfo || status == icpNoCategory || status == icpNoInfoNoCategory:
		return icpRefusal(icpHint{int(wxerr.CodeICPApplyFailed), "mini program basic info or category not filled", "icp_applets.base_info"}), nil
	case status >= icpNotVerified && status <= icpNotVerified+3:
		return icpRefusal(icpHint{int(wxerr.CodeICPApplyFailed), "mini program not verified: verify it first or use submit_auth_and_icp", "icp_applets.base_info.appid"}), nil
	}
	hints := s.icpCheck(c, appID, &req)
	if len(hints) > 0 {
		return icpRefusal(hints...), nil
	}
	f.status, f.auditData, f.sms, f.order, f.subjectName = icpPlatformReview, nil, 0, append(json.RawMessage(nil), c.body...), req.Subject.BaseInfo.Name
	s.icpPushAfter(c, appID, icpPlatformReview)
	return answerOK(), nil
}

// icpCheck applies WeChat's rules to a filing body (apply_icp_filing, submit_auth_and_icp) and
// returns the hints of the fields to fix (none: accepted). It consumes the face-check task.
func (s *Server) icpCheck(c *call, appID string, req *icpApplyBody) []icpHint { // call with s.mu held
	st := s.icp()
	// The raw body's fields are read generically for the required-field rules.
	var raw map[string]any
	_ = json.Unmarshal(c.body, &raw)
	var hints []icpHint
	hint := func(code wxerr.Code, field, msg string) { hints = append(hints, icpHint{int(code), msg, field}) }
	for _, p := range []string{
		"icp_subject.base_info.name", "icp_subject.base_info.province", "icp_subject.base_info.city", "icp_subject.base_info.district",
		"icp_subject.base_info.address", "icp_subject.organize_info.certificate_number", "icp_subject.organize_info.certificate_address",
		"icp_subject.principal_info.name", "icp_subject.principal_info.mobile", "icp_subject.principal_info.email",
		"icp_subject.principal_info.emergency_contact", "icp_subject.principal_info.certificate_number",
		"icp_subject.principal_info.certificate_validity_date_start", "icp_subject.principal_info.certificate_validity_date_end",
		"icp_applets.base_info.comment", "icp_applets.principal_info.name", "icp_applets.principal_info.mobile",
		"icp_applets.principal_info.email", "icp_applets.principal_info.emergency_contact", "icp_applets.principal_info.certificate_number",
		"icp_applets.principal_info.certificate_validity_date_start", "icp_applets.principal_info.certificate_validity_date_end",
		"icp_applets.principal_info.verify_task_id",
	} {
		if v, _ := dig(raw, p).(string); strings.TrimSpace(v) == "" {
			hint(wxerr.CodeICPApplyFailed, p, "missing")
		}
	}
	if req.Subject == nil || req.Applets == nil || raw["icp_materials"] == nil {
		return append(hints, icpHint{int(wxerr.CodeICPApplyFailed), "missing", "icp_subject|icp_applets|icp_materials"})
	}
	sb := req.Subject.BaseInfo
	if !slices.ContainsFunc(icpSubjectTypes, func(m map[string]any) bool { return m["type"] == sb.Type }) {
		hint(wxerr.CodeICPApplyFailed, "icp_subject.base_info.type", "invalid subject type")
	}
	if !icpDistrictCodes[[3]string{sb.Province, sb.City, sb.District}] {
		hint(wxerr.CodeICPApplyFailed, "icp_subject.base_info.district", "invalid area code")
	}
	if icpCertSubject[req.Subject.OrganizeInfo.CertificateType] != sb.Type {
		hint(wxerr.CodeICPApplyFailed, "icp_subject.organize_info.certificate_type", "certificate type does not match the subject type")
	}
	for _, p := range []struct {
		path string
		pr   icpPrincipalBody
	}{{"icp_subject.principal_info", req.Subject.PrincipalInfo}, {"icp_applets.principal_info", req.Applets.PrincipalInfo}} {
		if icpCertSubject[p.pr.CertificateType] != 5 {
			hint(wxerr.CodeICPApplyFailed, p.path+".certificate_type", "personal certificate types only")
		}
	}
	ab := req.Applets.BaseInfo
	if ab.AppID != appID {
		hint(wxerr.CodeICPApplyFailed, "icp_applets.base_info.appid", "appid mismatch")
	}
	if n := len(ab.ServiceContentTypes); n == 0 || n > 5 {
		hint(wxerr.CodeICPApplyFailed, "icp_applets.base_info.service_content_types", "1 to 5 level-2 types")
	}
	for _, t := range ab.ServiceContentTypes {
		if !slices.ContainsFunc(icpContentTypes, func(m map[string]any) bool { return m["type"] == t && m["parent_type"] != 0 }) {
			hint(wxerr.CodeICPApplyFailed, "icp_applets.base_info.service_content_types", "not a level-2 service content type")
		}
	}
	if len(ab.NrlxDetails) == 0 {
		hint(wxerr.CodeICPApplyFailed, "icp_applets.base_info.nrlx_details", "missing")
	}
	seen := map[int]bool{}
	for _, d := range ab.NrlxDetails {
		known := slices.ContainsFunc(icpNrlxTypes, func(m map[string]any) bool { return m["type"] == d.Type })
		switch {
		case !known || seen[d.Type]:
			hint(wxerr.CodeICPApplyFailed, "icp_applets.base_info.nrlx_details", "unknown or repeated type")
		case d.Type != icpNrlxNone && (d.Code == "" || d.Media == ""):
			hint(wxerr.CodeICPApplyFailed, "icp_applets.base_info.nrlx_details", "approval number and media required")
		}
		seen[d.Type] = true
	}
	if n := len([]rune(ab.Comment)); n < 20 || n > 200 {
		hint(wxerr.CodeICPApplyFailed, "icp_applets.base_info.comment", "20 to 200 characters")
	}
	// Media: uploaded by this app; a certificate photo with the certificate type it was uploaded for.
	checkMedia := func(field, id string, certType int) {
		if id == "" {
			hint(wxerr.CodeICPApplyFailed, field, "missing")
			return
		}
		m := st.media[id]
		switch {
		case m == nil || m.appID != appID:
			hint(wxerr.CodeICPImageUnreadable, field, "resource not found")
		case certType > 0 && m.certType != certType:
			hint(wxerr.CodeICPImageUnreadable, field, "cannot read the image")
		}
	}
	checkMedia("icp_subject.organize_info.certificate_photo", str(dig(raw, "icp_subject.organize_info.certificate_photo")), req.Subject.OrganizeInfo.CertificateType)
	for _, p := range []struct {
		path string
		pr   icpPrincipalBody
	}{{"icp_subject.principal_info", req.Subject.PrincipalInfo}, {"icp_applets.principal_info", req.Applets.PrincipalInfo}} {
		checkMedia(p.path+".certificate_photo_front", p.pr.CertificatePhotoFront, p.pr.CertificateType)
		checkMedia(p.path+".certificate_photo_back", p.pr.CertificatePhotoBack, p.pr.CertificateType)
	}
	for k, ids := range req.Materials {
		for _, id := range ids {
			checkMedia("icp_materials."+k, id, 0)
		}
	}
	if id := req.Applets.PrincipalInfo.VerifyTaskID; id != "" {
		t := st.tasks[id]
		if t == nil || t.appID != appID || !t.usable(c.now) {
			hint(wxerr.CodeICPApplyFailed, "icp_applets.principal_info.verify_task_id", "face verification task not passed, expired or already used")
		}
		if t != nil && t.appID == appID {
			t.used = true // a task wasted by a refused apply must be recreated (digest 13.2)
		}
	}
	return hints
}

// str is v when it is a string, else "".
func str(v any) string { s, _ := v.(string); return s }

// dig returns the value at a dotted path of a decoded JSON object, or nil.
func dig(m map[string]any, path string) any {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = o[k]
	}
	return cur
}

// icpRefusal is WeChat's 86202 answer with its hints.
func icpRefusal(hints ...icpHint) any {
	return struct {
		okBody
		Hints []icpHint `json:"hints"`
	}{okBody{Errcode: int(wxerr.CodeICPApplyFailed), Errmsg: "apply icp filing fail rid: " + randHex(8)}, hints}
}

// icpPushAfter pushes notify_apply_icpfiling_result once the call's lock is released.
func (s *Server) icpPushAfter(c *call, appID string, status int) {
	ev := platformEvent(s.component.AppID, c.now, "notify_apply_icpfiling_result",
		xmlField{"authorizer_appid", appID, false}, xmlField{"beian_status", strconv.Itoa(status), true})
	c.after(func() { _ = s.pushPlatformEvent(context.Background(), ev) })
}

// icpCancelApply: POST /wxa/icp/cancel_apply_icp_filing with {}.
func (s *Server) icpCancelApply(c *call) (any, error) {
	var req map[string]any
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	f := s.icp().apps[a.info.AppID]
	switch {
	case f == nil || f.order == nil || f.status == icpFiled:
		return nil, apiErr(wxerr.CodeICPNoWithdrawableOrder, "no withdrawable order")
	case f.status != icpPlatformReview:
		return nil, apiErr(wxerr.CodeICPNotWithdrawable, "order not withdrawable now")
	}
	f.status, f.order, f.auditData = icpNotFiled, nil, nil
	s.icpPushAfter(c, a.info.AppID, icpNotFiled)
	return answerOK(), nil
}

// icpCancelFiling: POST /wxa/icp/cancel_icp_filing {"cancel_type", "reason_type"}.
func (s *Server) icpCancelFiling(c *call) (any, error) {
	var req struct {
		CancelType *int `json:"cancel_type"`
		ReasonType int  `json:"reason_type"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	switch {
	case req.CancelType == nil:
		return nil, missing("cancel_type")
	case *req.CancelType < 1 || *req.CancelType > 3 || req.ReasonType < 0 || req.ReasonType > 2:
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid cancel_type or reason_type")
	}
	st := s.icp()
	f := st.apps[a.info.AppID]
	if f == nil { // filed before it came: it has a filing to cancel
		f = &icpApp{status: icpFiled, record: "京ICP备00000000号"}
		st.apps[a.info.AppID] = f
	}
	switch {
	case f.status != icpFiled:
		return nil, apiErr(wxerr.CodeICPNotFiled, "app not filed")
	case f.canceling:
		return nil, apiErr(wxerr.CodeICPUnderReview, "already under review")
	}
	f.canceling = true
	return answerOK(), nil
}

// CompleteICPFaceCheck plays the administrator answering the face check taskID: passed or failed.
// The task's mini program gets notify_icpfiling_verify_result (result 3 or 2) on the authorisation
// event URL. It is an error when the task does not exist or is finished (or its 24 h notice ran out).
func (s *Server) CompleteICPFaceCheck(ctx context.Context, taskID string, passed bool) error {
	now := s.Now()
	s.mu.Lock()
	t := s.icp().tasks[taskID]
	if t == nil {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: CompleteICPFaceCheck: no task %q", taskID)
	}
	if fin, _ := t.state(now); fin {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: CompleteICPFaceCheck: task %q is finished or its notice expired", taskID)
	}
	t.finished, t.face = true, 2
	if passed {
		t.face = 3
	}
	fields := []xmlField{{"task_id", taskID, false}, {"verify_appid", t.appID, false}, {"result", strconv.Itoa(t.face), true}}
	if t.alongWithAuth && passed {
		fields = append(fields, xmlField{"along_with_auth_result", "9", true})
	}
	ev := platformEvent(s.component.AppID, now, "notify_icpfiling_verify_result", fields...)
	s.mu.Unlock()
	return s.pushPlatformEvent(ctx, ev)
}

// ReviewICPFiling plays WeChat's platform review of appID's filing (status 2): approve sends it to
// the regulator (4, the principal's MIIT SMS waiting), reject sends it back (3) with reasons (a
// default one when none). Pushes notify_apply_icpfiling_result.
func (s *Server) ReviewICPFiling(ctx context.Context, appID string, approve bool, reasons ...ICPAuditReason) error {
	return s.icpDecide(ctx, "ReviewICPFiling", appID, icpPlatformReview, approve, icpRegulatorReview, icpPlatformRejected, reasons)
}

// RegulateICPFiling plays the regulator (管局) on appID's filing (status 4): approve files it (6;
// wxa/release then works and get_online_icp_order has record numbers), reject sends it back (5) with
// reasons. Pushes notify_apply_icpfiling_result.
func (s *Server) RegulateICPFiling(ctx context.Context, appID string, approve bool, reasons ...ICPAuditReason) error {
	return s.icpDecide(ctx, "RegulateICPFiling", appID, icpRegulatorReview, approve, icpFiled, icpRegulatorRejected, reasons)
}

func (s *Server) icpDecide(ctx context.Context, op, appID string, from int, approve bool, yes, no int, reasons []ICPAuditReason) error {
	now := s.Now()
	s.mu.Lock()
	f := s.icp().apps[appID]
	if f == nil || f.status != from {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: %s: %s has no filing in status %d", op, appID, from)
	}
	if approve {
		f.status, f.auditData = yes, nil
		switch yes {
		case icpRegulatorReview:
			f.sms = 1
		case icpFiled:
			f.sms = 2
			f.record = "京ICP备" + randDigits(8) + "号"
		}
	} else {
		if len(reasons) == 0 {
			reasons = []ICPAuditReason{{KeyName: "icp_applets.base_info.comment", Error: "备注内容不符合要求", Suggest: "请具体描述小程序实际经营内容"}}
		}
		f.status, f.auditData = no, append([]ICPAuditReason(nil), reasons...)
	}
	ev := platformEvent(s.component.AppID, now, "notify_apply_icpfiling_result",
		xmlField{"authorizer_appid", appID, false}, xmlField{"beian_status", strconv.Itoa(f.status), true})
	s.mu.Unlock()
	return s.pushPlatformEvent(ctx, ev)
}

// ICPStatus returns appID's filing status as get_icp_entrance_info reports it (6 for a mini program
// added with AddAuthorizer), or 0 when the account is unknown.
func (s *Server) ICPStatus(appID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.authorizers[appID]
	if a == nil {
		return 0
	}
	return s.icpStatus(a)
}
