package wxtest

// Code management (API digest 6.1-6.6): the code pipeline commit → submit_audit → (test calls
// Audit) → release, with revert and undo, and the trial QR code (a real QR code of
// TrialCodeContent, as JPEG).
//
// Rules the emulator enforces, and the errcodes it answers:
//   - commit: template_id must be in the platform's template library (85014); ext_json (required;
//     "" takes the template as is) must be a string holding a JSON object (85048), whose extAppid,
//     if any, is the caller (85013); a standard template (type 1) takes only extAppid, ext and
//     window (85013); "pages" must not be empty (85047); extPages keys must be pages (85045);
//     tabBar.list items need a pagePath among the pages (85046). The committed pages (default
//     ["pages/index/index"]) are what get_page lists.
//   - submit_audit: needs a commit (85086); one audit under review at a time (85009); item_list,
//     when sent, has 1-5 items (85023), each address among the pages (85007) and each category among
//     the mini program's categories (85008). Then today's gates, in this order: name, avatar and
//     introduction set (86002); an approved category (85008); the privacy gates of
//     miniprogram_privacy.go (61039, 61040); the platform's audit quota (85085). The audit stays
//     under review until Audit (or DelayAudit) is called.
//   - release: needs an audit (85019) that is approved (85020) and not yet released (85052). The
//     body must be the JSON "{}" (44002 when empty).
//   - revertcoderelease: back to the previous release (87012 when there is none, 87011 while a grey
//     release runs);
//     action=get_history_version lists the earlier releases.
//   - undocodeaudit: the latest audit must be under review or delayed (85019 when there is no audit,
//     85021 otherwise); at most 5 per day (87013).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"image/jpeg"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Paths of this file's endpoints.
const (
	pathCommit            = "/wxa/commit"
	pathGetQRCode         = "/wxa/get_qrcode"
	pathGetCategory       = "/wxa/get_category"
	pathGetPage           = "/wxa/get_page"
	pathSubmitAudit       = "/wxa/submit_audit"
	pathGetAuditStatus    = "/wxa/get_auditstatus"
	pathLatestAuditStatus = "/wxa/get_latest_auditstatus"
	pathRelease           = "/wxa/release"
	pathRevertRelease     = "/wxa/revertcoderelease"
	pathUndoAudit         = "/wxa/undocodeaudit"
)

// Limits of this file's rules.
const (
	undoPerDay = 5
)

// Audit states (digest 6.5).
const (
	auditApproved  = 0
	auditRejected  = 1
	auditReviewing = 2
	auditWithdrawn = 3
	auditDelayed   = 4
)

// auditSystemOpenID is the FromUserName of audit events.
const auditSystemOpenID = "o0WeChatAuditSystem0000000000"

// mpVersion is a committed version of the code.
type mpVersion struct {
	templateID  int
	extJSON     string
	pages       []string
	userVersion string
	userDesc    string
	commitTime  time.Time
	appVersion  int64     // set on release
	releaseTime time.Time // set on release
}

// mpAudit is one submit_audit.
type mpAudit struct {
	id         int64
	version    mpVersion
	status     int
	reason     string
	screenshot string
	submitTime time.Time
	released   bool
}

// registerMPCode registers the code-management endpoints.
func (s *Server) registerMPCode() {
	code := func(h func(c *call) (any, error)) func(c *call) (any, error) { return needFunc(h, true, 18) }
	s.route(http.MethodPost, pathCommit, authAuthorizer, code(s.mpCommit))
	s.route(http.MethodGet, pathGetQRCode, authAuthorizer, code(s.mpQRCode))
	s.route(http.MethodGet, pathGetCategory, authAuthorizer, code(s.mpCategory))
	s.route(http.MethodGet, pathGetPage, authAuthorizer, code(s.mpPages))
	s.route(http.MethodPost, pathSubmitAudit, authAuthorizer, code(s.mpSubmitAudit))
	s.route(http.MethodPost, pathGetAuditStatus, authAuthorizer, code(s.mpAuditStatus))
	s.route(http.MethodGet, pathLatestAuditStatus, authAuthorizer, code(s.mpLatestAuditStatus))
	s.route(http.MethodPost, pathRelease, authAuthorizer, code(s.mpRelease))
	s.route(http.MethodGet, pathRevertRelease, authAuthorizer, code(s.mpRevert))
	s.route(http.MethodGet, pathUndoAudit, authAuthorizer, code(s.mpUndoAudit))
}

// mpCommit: POST /wxa/commit.
func (s *Server) mpCommit(c *call) (any, error) {
	var req struct {
		TemplateID  json.RawMessage `json:"template_id"`
		ExtJSON     *string         `json:"ext_json"`
		UserVersion *string         `json:"user_version"`
		UserDesc    *string         `json:"user_desc"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if len(req.TemplateID) == 0 {
		return nil, missing("template_id")
	}
	// Older docs send the id as a string ("0"): accept both, as WeChat does.
	id, convErr := strconv.Atoi(strings.Trim(string(req.TemplateID), `"`))
	tpl := s.templates[id]
	if convErr != nil || tpl == nil {
		return nil, apiErr(wxerr.CodeInvalidTemplateID, "")
	}
	switch {
	case req.UserVersion == nil || *req.UserVersion == "":
		return nil, missing("user_version")
	case utf8.RuneCountInString(*req.UserVersion) > 64:
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [user_version] longer than 64")
	case req.UserDesc == nil:
		return nil, missing("user_desc")
	case req.ExtJSON == nil:
		return nil, missing("ext_json")
	}
	ext := *req.ExtJSON
	pages, err := checkExtJSON(ext, a.info.AppID, tpl.typ)
	if err != nil {
		return nil, err
	}
	app.trial = &mpVersion{templateID: id, extJSON: ext, pages: pages, userVersion: *req.UserVersion,
		userDesc: *req.UserDesc, commitTime: c.now}
	return answerOK(), nil
}

// checkExtJSON applies WeChat's ext_json rules and returns the committed pages.
func checkExtJSON(ext, appID string, templateType int) ([]string, error) {
	pages := []string{"pages/index/index"}
	if strings.TrimSpace(ext) == "" {
		return pages, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(ext), &m); err != nil || m == nil {
		return nil, apiErr(85048, "ext_json parse error")
	}
	if raw, found := m["extAppid"]; found {
		var id string
		if json.Unmarshal(raw, &id) != nil || id != appID {
			return nil, apiErr(wxerr.CodeInvalidExtJSON, "invalid ext_json: extAppid is not this mini program")
		}
	}
	if templateType == 1 {
		for k := range m {
			if k != "extAppid" && k != "ext" && k != "window" {
				return nil, apiErr(wxerr.CodeInvalidExtJSON, "invalid ext_json: "+k+" not allowed for a standard template")
			}
		}
	}
	if raw, found := m["pages"]; found {
		var ps []string
		if json.Unmarshal(raw, &ps) != nil {
			return nil, apiErr(wxerr.CodeInvalidExtJSON, "invalid ext_json: pages")
		}
		if len(ps) == 0 {
			return nil, apiErr(85047, "pages are empty")
		}
		pages = ps
	}
	if raw, found := m["extPages"]; found {
		var ep map[string]json.RawMessage
		if json.Unmarshal(raw, &ep) != nil {
			return nil, apiErr(wxerr.CodeInvalidExtJSON, "invalid ext_json: extPages")
		}
		for p := range ep {
			if !slices.Contains(pages, p) {
				return nil, apiErr(85045, "ext_json has a non-existent path: "+p)
			}
		}
	}
	if raw, found := m["tabBar"]; found {
		var tb struct {
			List []struct {
				PagePath string `json:"pagePath"`
			} `json:"list"`
		}
		if json.Unmarshal(raw, &tb) != nil {
			return nil, apiErr(wxerr.CodeInvalidExtJSON, "invalid ext_json: tabBar")
		}
		for _, it := range tb.List {
			if it.PagePath == "" || !slices.Contains(pages, it.PagePath) {
				return nil, apiErr(85046, "tabBar item has no valid pagePath")
			}
		}
	}
	return pages, nil
}

// Trial QR codes (get_qrcode, digest 6.2).
const (
	trialCodeSize    = 430 // pixels a side
	trialCodeQuality = 90  // JPEG quality
	trialCodeURL     = "https://open.weixin.qq.com/sns/getexpappinfo"
)

// TrialCodeContent is the text of the trial-version QR code get_qrcode answers for the mini program
// appID and path (the page with its query; "" opens the home page): the URL WeChat's trial codes
// carry, https://open.weixin.qq.com/sns/getexpappinfo?appid=APPID&path=PAGE.html%3FQUERY#wechat-redirect,
// where the page takes ".html" before its query and the whole is URL-encoded once, and without a
// path there is no path parameter. WeChat does not document the form; it is the one public trial
// codes decode to. Unlike the round mini-program codes, a trial code is an ordinary QR code, so the
// emulator's carries the same text.
func TrialCodeContent(appID, path string) string {
	u := trialCodeURL + "?appid=" + url.QueryEscape(appID)
	if path != "" {
		page, query, hasQuery := strings.Cut(path, "?")
		page += ".html"
		if hasQuery {
			page += "?" + query
		}
		u += "&path=" + url.QueryEscape(page)
	}
	return u + "#wechat-redirect"
}

// mpQRCode: GET /wxa/get_qrcode[?path=] — a JPEG QR code of TrialCodeContent, as WeChat answers
// (image/jpeg); 86001 before the first commit.
func (s *Server) mpQRCode(c *call) (any, error) {
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if app.trial == nil {
		return nil, apiErr(wxerr.CodeNoCommittedCode, "")
	}
	q, err := qrcode.New(TrialCodeContent(a.info.AppID, c.query("path")), qrcode.Medium)
	if err != nil {
		return nil, apiErr(wxerr.CodeSystemBusy, "")
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, q.Image(trialCodeSize), &jpeg.Options{Quality: trialCodeQuality}); err != nil {
		return nil, apiErr(wxerr.CodeSystemBusy, "")
	}
	return rawAnswer{ContentType: "image/jpeg", Body: b.Bytes()}, nil
}

// categoryID is the stable id the emulator gives a category name.
func categoryID(name string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return int(h.Sum32()%9000) + 1000
}

type categoryJSON struct {
	FirstClass  string `json:"first_class"`
	SecondClass string `json:"second_class"`
	FirstID     int    `json:"first_id"`
	SecondID    int    `json:"second_id"`
}

// mpCategory: GET /wxa/get_category.
func (s *Server) mpCategory(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	list := make([]categoryJSON, 0, len(a.info.Categories))
	for _, cat := range a.info.Categories {
		list = append(list, categoryJSON{cat.First, cat.Second, categoryID(cat.First), categoryID(cat.First + "/" + cat.Second)})
	}
	return withOK(map[string]any{"category_list": list}), nil
}

// mpPages: GET /wxa/get_page.
func (s *Server) mpPages(c *call) (any, error) {
	_, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if app.trial == nil {
		return nil, apiErr(wxerr.CodeNoCommittedCode, "")
	}
	return withOK(map[string]any{"page_list": app.trial.pages}), nil
}

type auditItemJSON struct {
	Address     string `json:"address"`
	Tag         string `json:"tag"`
	FirstClass  string `json:"first_class"`
	SecondClass string `json:"second_class"`
	ThirdClass  string `json:"third_class"`
	FirstID     int    `json:"first_id"`
	SecondID    int    `json:"second_id"`
	ThirdID     int    `json:"third_id"`
	Title       string `json:"title"`
}

// mpSubmitAudit: POST /wxa/submit_audit.
func (s *Server) mpSubmitAudit(c *call) (any, error) {
	var req struct {
		ItemList         *[]auditItemJSON `json:"item_list"`
		PrivacyAPINotUse bool             `json:"privacy_api_not_use"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	app.submitCalls++
	if app.trial == nil {
		return nil, apiErr(wxerr.CodeCommitFirst, "")
	}
	if app.latest != nil && (app.latest.status == auditReviewing || app.latest.status == auditDelayed) {
		return nil, apiErr(wxerr.CodeAuditPending, "")
	}
	if req.ItemList != nil {
		items := *req.ItemList
		if len(items) == 0 || len(items) > 5 {
			return nil, apiErr(wxerr.CodeItemListSize, "item_list size must be 1 to 5")
		}
		for _, it := range items {
			if it.Address != "" && !slices.Contains(app.trial.pages, it.Address) {
				return nil, apiErr(85007, "page path not in the committed code: "+it.Address)
			}
			if !categoryAllowed(a.info.Categories, it) {
				return nil, apiErr(85008, "category not approved for this mini program")
			}
		}
	}
	if a.info.NickName == "" || a.info.HeadImg == "" || a.info.Signature == "" {
		return nil, apiErr(wxerr.CodeBasicInfoMissing, "name, avatar or introduction not set")
	}
	if len(a.info.Categories) == 0 {
		return nil, apiErr(wxerr.CodeCategoryNotApproved, "no approved category")
	}
	if err := s.privacyGate(c, a.info.AppID, app, req.PrivacyAPINotUse); err != nil {
		return nil, err
	}
	if err := s.useAuditQuota(c); err != nil {
		return nil, err
	}
	m := s.mp()
	m.nextAuditID++
	au := &mpAudit{id: m.nextAuditID, version: *app.trial, status: auditReviewing, submitTime: c.now}
	app.audits[au.id] = au
	app.latest = au
	return withOK(map[string]any{"auditid": au.id}), nil
}

// categoryAllowed reports whether the category of it (by names or ids; none given is fine) is one
// of cats.
func categoryAllowed(cats []Category, it auditItemJSON) bool {
	if it.FirstClass == "" && it.SecondClass == "" && it.FirstID == 0 && it.SecondID == 0 {
		return true
	}
	for _, cat := range cats {
		byName := it.FirstClass == cat.First && it.SecondClass == cat.Second
		byID := it.FirstID == categoryID(cat.First) && it.SecondID == categoryID(cat.First+"/"+cat.Second)
		if byName && (it.FirstID == 0 || byID) || byID && it.FirstClass == "" {
			return true
		}
	}
	return false
}

func auditFields(au *mpAudit, screenshotKey string) map[string]any {
	f := map[string]any{
		"status":            au.status,
		"user_version":      au.version.userVersion,
		"user_desc":         au.version.userDesc,
		"submit_audit_time": au.submitTime.Unix(),
	}
	if au.status == auditRejected || au.status == auditDelayed {
		f["reason"] = au.reason
		f[screenshotKey] = au.screenshot
	}
	return withOK(f)
}

// mpAuditStatus: POST /wxa/get_auditstatus.
func (s *Server) mpAuditStatus(c *call) (any, error) {
	var req struct {
		AuditID *int64 `json:"auditid"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	_, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if req.AuditID == nil {
		return nil, missing("auditid")
	}
	au := app.audits[*req.AuditID]
	if au == nil {
		return nil, apiErr(wxerr.CodeInvalidAuditID, "invalid auditid")
	}
	return auditFields(au, "screenshot"), nil
}

// mpLatestAuditStatus: GET /wxa/get_latest_auditstatus (ScreenShot capitalised, as WeChat does).
func (s *Server) mpLatestAuditStatus(c *call) (any, error) {
	_, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if app.latest == nil {
		return nil, apiErr(wxerr.CodeInvalidAuditID, "no audit")
	}
	f := auditFields(app.latest, "ScreenShot")
	f["auditid"] = app.latest.id
	return f, nil
}

// mpRelease: POST /wxa/release with the body {}.
func (s *Server) mpRelease(c *call) (any, error) {
	var req map[string]json.RawMessage
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	app.releaseCalls++
	au := app.latest
	switch {
	case au == nil:
		return nil, apiErr(wxerr.CodeNoAuditVersion, "")
	case au.status != auditApproved:
		return nil, apiErr(wxerr.CodeNotReleasable, "")
	case au.released:
		return nil, apiErr(wxerr.CodeAlreadyReleased, "")
	case !s.icpFiled(a.info.AppID): // miniprogram_icp.go
		return nil, apiErr(wxerr.CodeReleaseNotICPFiled, "mini program not ICP filed")
	}
	if app.released != nil {
		app.history = append(app.history, app.released)
	}
	app.nextAppVersion++
	v := au.version
	v.appVersion, v.releaseTime = app.nextAppVersion, c.now
	app.released = &v
	au.released = true
	s.promotePrivacy(a.info.AppID)
	s.finishGray(a.info.AppID)
	return answerOK(), nil
}

// mpRevert: GET /wxa/revertcoderelease[?action=get_history_version | app_version=N].
func (s *Server) mpRevert(c *call) (any, error) {
	_, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if action := c.query("action"); action != "" {
		if action != "get_history_version" {
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [action]")
		}
		list := make([]map[string]any, 0, len(app.history))
		for i := len(app.history) - 1; i >= 0; i-- {
			v := app.history[i]
			list = append(list, map[string]any{"commit_time": v.commitTime.Unix(), "user_version": v.userVersion,
				"user_desc": v.userDesc, "app_version": v.appVersion})
		}
		return withOK(map[string]any{"version_list": list}), nil
	}
	if s.grayRunningFor(c.authorizerAppID) {
		return nil, apiErr(wxerr.CodeGrayReleaseBlocks, "a grey release is running")
	}
	if len(app.history) == 0 {
		return nil, apiErr(87012, "no version to revert to")
	}
	i := len(app.history) - 1
	if av := c.query("app_version"); av != "" {
		n, err := strconv.ParseInt(av, 10, 64)
		i = slices.IndexFunc(app.history, func(v *mpVersion) bool { return v.appVersion == n })
		if err != nil || i < 0 {
			return nil, apiErr(87012, "no such version to revert to")
		}
	}
	app.released = app.history[i]
	app.history = app.history[:i]
	return answerOK(), nil
}

// chinaDate is the date in China of t, which quotas count by.
func chinaDate(t time.Time) string {
	return t.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
}

// mpUndoAudit: GET /wxa/undocodeaudit.
func (s *Server) mpUndoAudit(c *call) (any, error) {
	_, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	au := app.latest
	switch {
	case au == nil:
		return nil, apiErr(wxerr.CodeNoAuditVersion, "")
	case au.status != auditReviewing && au.status != auditDelayed:
		return nil, apiErr(wxerr.CodeStatusNotAllowed, "")
	}
	day := chinaDate(c.now)
	if app.undos[day] >= undoPerDay {
		return nil, apiErr(87013, "undo audit quota reached")
	}
	app.undos[day]++
	au.status = auditWithdrawn
	return answerOK(), nil
}

// Audit plays WeChat's reviewers on the audit under review of the mini program appID: approve makes
// it releasable and pushes weapp_audit_success; otherwise it is rejected with reason (and a
// screenshot media id) and weapp_audit_fail is pushed. Both go to the message event URL.
func (s *Server) Audit(ctx context.Context, appID string, approve bool, reason string) error {
	msg, err := s.decideAudit(s.Now(), appID, approve, reason)
	if err != nil {
		return err
	}
	return s.PushAuthorizerEvent(ctx, appID, msg)
}

// decideAudit decides the audit under review of appID at now and returns the push that tells it.
func (s *Server) decideAudit(now time.Time, appID string, approve bool, reason string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.authorizers[appID]
	app := s.mp().apps[appID]
	if a == nil || app == nil || app.latest == nil ||
		(app.latest.status != auditReviewing && app.latest.status != auditDelayed) {
		return nil, fmt.Errorf("wxtest: Audit: %s has no audit under review", appID)
	}
	au := app.latest
	ts := strconv.FormatInt(now.Unix(), 10)
	fields := []xmlField{{"ToUserName", a.info.UserName, false}, {"FromUserName", auditSystemOpenID, false},
		{"CreateTime", ts, true}, {"MsgType", "event", false}}
	if approve {
		au.status, au.reason, au.screenshot = auditApproved, "", ""
		fields = append(fields, xmlField{"Event", "weapp_audit_success", false}, xmlField{"SuccTime", ts, true})
	} else {
		if reason == "" {
			reason = "The mini program does not comply with the platform's rules"
		}
		au.status, au.reason, au.screenshot = auditRejected, reason, "shot"+randAlnum(20)
		fields = append(fields, xmlField{"Event", "weapp_audit_fail", false}, xmlField{"Reason", reason, false},
			xmlField{"FailTime", ts, true}, xmlField{"ScreenShot", au.screenshot, false})
	}
	return xmlMessage(fields...), nil
}

// DelayAudit marks the audit under review of appID as delayed (status 4) with reason and pushes
// weapp_audit_delay. Audit later decides it.
func (s *Server) DelayAudit(ctx context.Context, appID, reason string) error {
	now := s.Now()
	s.mu.Lock()
	a := s.authorizers[appID]
	app := s.mp().apps[appID]
	if a == nil || app == nil || app.latest == nil || app.latest.status != auditReviewing {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: DelayAudit: %s has no audit under review", appID)
	}
	app.latest.status, app.latest.reason = auditDelayed, reason
	ts := strconv.FormatInt(now.Unix(), 10)
	msg := xmlMessage(xmlField{"ToUserName", a.info.UserName, false}, xmlField{"FromUserName", auditSystemOpenID, false},
		xmlField{"CreateTime", ts, true}, xmlField{"MsgType", "event", false}, xmlField{"Event", "weapp_audit_delay", false},
		xmlField{"Reason", reason, false}, xmlField{"DelayTime", ts, true})
	s.mu.Unlock()
	return s.PushAuthorizerEvent(ctx, appID, msg)
}

// Release describes the released version of a mini program, for tests.
type Release struct {
	TemplateID  int
	ExtJSON     string
	UserVersion string
	UserDesc    string
	AppVersion  int64
}

// Released returns the version of appID that is live, and false when nothing is released.
func (s *Server) Released(appID string) (Release, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.mp().apps[appID]
	if app == nil || app.released == nil {
		return Release{}, false
	}
	v := app.released
	return Release{TemplateID: v.templateID, ExtJSON: v.extJSON, UserVersion: v.userVersion, UserDesc: v.userDesc, AppVersion: v.appVersion}, true
}
