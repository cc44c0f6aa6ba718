package wxtest

// Mini program management (API digest sections 4, 5 and 6.1-6.7): the open-platform account,
// fast registration, basic info (name, avatar, introduction, temporary media), and the code
// pipeline commit → submit_audit → (test calls Audit) → release, with revert and undo, server and
// web-view domains and the trial QR code.
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
//     the mini program's categories (85008). The audit stays under review until Audit (or
//     DelayAudit) is called.
//   - release: needs an audit (85019) that is approved (85020) and not yet released (85052). The
//     body must be the JSON "{}" (44002 when empty).
//   - revertcoderelease: back to the previous release (87012 when there is none);
//     action=get_history_version lists the earlier releases.
//   - undocodeaudit: the latest audit must be under review or delayed (85019 when there is no audit,
//     85021 otherwise); at most 5 per day (87013).
//   - modify_domain / setwebviewdomain: the platform's domains are set with SetPlatformDomains; with
//     none configured the calls answer 85017 / 89020. A domain whose host is not a platform domain
//     (or a subdomain of one) is refused with 85018 / 89021; a malformed one (wrong scheme for its
//     list, an IP address, api.weixin.qq.com) is returned in invalid_* and not applied. add with
//     nothing new answers 85017 / 89019; more than 200 per list 85016, more than 100 web-view
//     domains 89029.
//   - setnickname: width 4-30 where a CJK or full-width character counts 2 (85030); no "小程序"
//     (85031); a name another known account uses (85029); not after the first release, and at most
//     2 renames (91002). With materials (license, id_card, naming_other_stuff_N: image media ids of
//     the caller, 40007 otherwise) the answer carries an audit_id and the name is under review until
//     ApproveNickname; without materials it changes at once.
//   - modifyheadimage: an image media id of the caller from media/upload (40007), at most 2 MB
//     (40006), crop x1,y1,x2,y2 in [0,1] with x1<x2 and y1<y2 (40097); 5 changes (85049).
//   - modifysignature: 4-120 characters (85036); 5 changes (85049).
//   - media/upload: type image|voice|video|thumb (40004); file in form field "media" (41005), at
//     most 10 MB (40006); images PNG, JPEG, GIF or BMP by content (40005). Media expire after 3 days.
//   - open/*: 40013 when body appid is not the caller; 89000 already bound; 89001 other subject;
//     89002 not bound (to that open account); 89004 more than 5 mini programs (open accounts made by
//     the API are unverified) or 100 accounts.
//   - fastregisterweapp (component token): create checks the fields (89253 missing, 89248 code_type,
//     89255 code length, 86004 WeChat id) and refuses a second running task for a name (89249);
//     search answers 89250 (no task), 89251 (waiting for the legal person) or 0 (finished).
//     CompleteFastRegistration finishes the task and pushes notify_third_fasteregister.
// Code-management and basic-info calls by an official account answer 85015. Code management
// (commit ... setwebviewdomain) needs permission set 18 and open/* one of 24, 25 and 60 in the
// account's authorisation (Authorize, UpdateAuthorization): 61007 otherwise.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	pathModifyDomain      = "/wxa/modify_domain"
	pathWebviewDomain     = "/wxa/setwebviewdomain"
	pathSetNickname       = "/wxa/setnickname"
	pathMediaUpload       = "/cgi-bin/media/upload"
	pathModifyHeadImage   = "/cgi-bin/account/modifyheadimage"
	pathModifySignature   = "/cgi-bin/account/modifysignature"
	pathBasicInfo         = "/cgi-bin/account/getaccountbasicinfo"
	pathOpenCreate        = "/cgi-bin/open/create"
	pathOpenBind          = "/cgi-bin/open/bind"
	pathOpenUnbind        = "/cgi-bin/open/unbind"
	pathOpenGet           = "/cgi-bin/open/get"
	pathFastRegister      = "/cgi-bin/component/fastregisterweapp"
)

// Limits of this file's rules.
const (
	mediaTTL            = 72 * time.Hour
	maxHeadImage        = 2 << 20
	maxMedia            = 10 << 20 // media/upload
	nicknameQuota       = 2
	headImageQuota      = 5
	signatureQuota      = 5
	undoPerDay          = 5
	maxDomainsPerList   = 200
	maxWebviewDomains   = 100
	openMaxMiniPrograms = 5
	openMaxAccounts     = 100
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

// mpState is the state of this file, kept on the Server with groupState.
type mpState struct {
	apps        map[string]*mpApp // by authorizer appid
	nextAuditID int64
	// Platform domains (SetPlatformDomains): hosts, optionally with a port.
	serverDomains  []string
	webviewDomains []string
	open           map[string]*openAccount // by open appid
	openOf         map[string]string       // account appid → open appid
	media          map[string]*mpMedia     // by media id
	fastTasks      map[string]*fastTask    // by company name
}

// mpApp is the code and basic-info state of one account.
type mpApp struct {
	trial           *mpVersion
	audits          map[int64]*mpAudit
	latest          *mpAudit
	released        *mpVersion
	history         []*mpVersion // earlier releases, oldest first
	nextAppVersion  int64
	tcpDomain       []string // the other lists live in Authorizer.Network
	nicknameUsed    int
	nicknamePending string // a name under review, applied by ApproveNickname
	headUsed        int
	signatureUsed   int
	undos           map[string]int // China date → undocodeaudit calls
}

// mpVersion is a committed version of the code.
type mpVersion struct {
	templateID  int
	extJSON     string
	pages       []string
	userVersion string
	userDesc    string
	commitTime  time.Time
	appVersion  int64 // set on release
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

// openAccount is an open-platform account created by open/create.
type openAccount struct {
	appID     string
	principal string
	members   []string // account appids, in bind order
}

// mpMedia is a temporary media file from media/upload.
type mpMedia struct {
	appID   string
	typ     string
	image   bool
	size    int
	expires time.Time
}

// fastTask is a fast registration task.
type fastTask struct {
	req  fastRegisterBody
	done bool
}

type fastRegisterBody struct {
	Name               string `json:"name"`
	Code               string `json:"code"`
	CodeType           *int   `json:"code_type"`
	LegalPersonaWechat string `json:"legal_persona_wechat"`
	LegalPersonaName   string `json:"legal_persona_name"`
	ComponentPhone     string `json:"component_phone"`
}

// mp returns this file's state. Call with s.mu held.
func (s *Server) mp() *mpState {
	return groupState(s, func() *mpState {
		return &mpState{
			apps:        map[string]*mpApp{},
			nextAuditID: 420000000,
			open:        map[string]*openAccount{},
			openOf:      map[string]string{},
			media:       map[string]*mpMedia{},
			fastTasks:   map[string]*fastTask{},
		}
	})
}

// app returns the state of appID, creating it. Call with s.mu held.
func (m *mpState) app(appID string) *mpApp {
	a := m.apps[appID]
	if a == nil {
		a = &mpApp{audits: map[int64]*mpAudit{}, undos: map[string]int{}}
		m.apps[appID] = a
	}
	return a
}

func (s *Server) registerMiniProgram() {
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
	s.route(http.MethodPost, pathModifyDomain, authAuthorizer, code(s.mpModifyDomain))
	s.route(http.MethodPost, pathWebviewDomain, authAuthorizer, code(s.mpWebviewDomain))
	s.route(http.MethodPost, pathSetNickname, authAuthorizer, s.mpSetNickname)
	s.route(http.MethodPost, pathMediaUpload, authAuthorizer, s.mpMediaUpload)
	s.route(http.MethodPost, pathModifyHeadImage, authAuthorizer, s.mpModifyHeadImage)
	s.route(http.MethodPost, pathModifySignature, authAuthorizer, s.mpModifySignature)
	s.route(http.MethodGet, pathBasicInfo, authAuthorizer, s.mpBasicInfo)
	s.route(http.MethodPost, pathBasicInfo, authAuthorizer, s.mpBasicInfo)
	s.route(http.MethodPost, pathOpenCreate, authAuthorizer, needFunc(s.openCreate, false, 24, 25, 60))
	s.route(http.MethodPost, pathOpenBind, authAuthorizer, needFunc(s.openBind, false, 24, 25, 60))
	s.route(http.MethodPost, pathOpenUnbind, authAuthorizer, needFunc(s.openUnbind, false, 24, 25, 60))
	s.route(http.MethodPost, pathOpenGet, authAuthorizer, needFunc(s.openGet, false, 24, 25, 60))
	s.route(http.MethodPost, pathFastRegister, authComponent, s.fastRegister)
}

// needFunc wraps the handler h of an authorizer route: the account must have granted the platform
// one of the permission sets ids, else 61007. With miniOnly, official accounts are not checked
// (h answers them 85015).
func needFunc(h func(c *call) (any, error), miniOnly bool, ids ...int) func(c *call) (any, error) {
	return func(c *call) (any, error) {
		a := c.authorizer()
		if a != nil && (a.info.MiniProgram || !miniOnly) &&
			!slices.ContainsFunc(ids, func(id int) bool { return slices.Contains(a.funcInfo, id) }) {
			return nil, apiErr(wxerr.CodeAPIUnauthorized, "")
		}
		return h(c)
	}
}

// miniProgram returns the caller's account and its state; 85015 for an official account.
func (s *Server) miniProgram(c *call) (*authorizer, *mpApp, error) {
	a := c.authorizer()
	if a == nil || !a.info.MiniProgram {
		return nil, nil, apiErr(wxerr.CodeNotMiniProgram, "")
	}
	return a, s.mp().app(a.info.AppID), nil
}

// withOK is an answer carrying errcode 0 and errmsg "ok" besides its fields.
func withOK(fields map[string]any) map[string]any {
	fields["errcode"] = 0
	fields["errmsg"] = "ok"
	return fields
}

// ---- Code management ----------------------------------------------------------------------

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

// mpQRCode: GET /wxa/get_qrcode — a JPEG drawn from the mini program, the trial version and path.
func (s *Server) mpQRCode(c *call) (any, error) {
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if app.trial == nil {
		return nil, apiErr(wxerr.CodeNoCommittedCode, "")
	}
	seed := a.info.AppID + "\x00" + app.trial.userVersion + "\x00" + strconv.FormatInt(app.trial.commitTime.UnixNano(), 10) +
		"\x00" + c.query("path")
	img, err := qrLikeJPEG(seed)
	if err != nil {
		return nil, apiErr(wxerr.CodeSystemBusy, "")
	}
	return rawAnswer{ContentType: "image/jpeg", Body: img}, nil
}

// qrLikeJPEG draws a 29x29-module pattern (finder squares in three corners, the rest from the hash
// of seed) at 6 pixels a module and encodes it as JPEG.
func qrLikeJPEG(seed string) ([]byte, error) {
	const modules, scale, quiet = 29, 6, 4
	sum := sha256.Sum256([]byte(seed))
	bits := func(i int) bool {
		h := sha256.Sum256(append(sum[:], byte(i), byte(i>>8)))
		return h[0]&1 == 1
	}
	finder := func(x, y int) (bool, bool) {
		for _, o := range [][2]int{{0, 0}, {modules - 7, 0}, {0, modules - 7}} {
			dx, dy := x-o[0], y-o[1]
			if dx >= 0 && dx < 7 && dy >= 0 && dy < 7 {
				ring := dx == 0 || dy == 0 || dx == 6 || dy == 6
				core := dx >= 2 && dx <= 4 && dy >= 2 && dy <= 4
				return ring || core, true
			}
		}
		return false, false
	}
	size := (modules + 2*quiet) * scale
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := 0; y < modules; y++ {
		for x := 0; x < modules; x++ {
			dark, inFinder := finder(x, y)
			if !inFinder {
				dark = bits(y*modules + x)
			}
			if !dark {
				continue
			}
			for py := 0; py < scale; py++ {
				for px := 0; px < scale; px++ {
					img.SetGray((x+quiet)*scale+px, (y+quiet)*scale+py, color.Gray{})
				}
			}
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
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
		ItemList *[]auditItemJSON `json:"item_list"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
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
	_, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	au := app.latest
	switch {
	case au == nil:
		return nil, apiErr(wxerr.CodeNoAuditVersion, "")
	case au.status != auditApproved:
		return nil, apiErr(wxerr.CodeNotReleasable, "")
	case au.released:
		return nil, apiErr(wxerr.CodeAlreadyReleased, "")
	}
	if app.released != nil {
		app.history = append(app.history, app.released)
	}
	app.nextAppVersion++
	v := au.version
	v.appVersion = app.nextAppVersion
	app.released = &v
	au.released = true
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
	now := s.Now()
	s.mu.Lock()
	a := s.authorizers[appID]
	app := s.mp().apps[appID]
	if a == nil || app == nil || app.latest == nil ||
		(app.latest.status != auditReviewing && app.latest.status != auditDelayed) {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: Audit: %s has no audit under review", appID)
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
	s.mu.Unlock()
	return s.PushAuthorizerEvent(ctx, appID, xmlMessage(fields...))
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

// ---- Domains ------------------------------------------------------------------------------

// SetPlatformDomains registers the platform's mini-program server domains and business (web-view)
// domains, as hosts with an optional port ("api.shop.example", "ws.shop.example:8443"); a scheme
// is ignored. Mini programs may then use these hosts and their subdomains. nil leaves a list
// unchanged; an empty non-nil slice clears it.
func (s *Server) SetPlatformDomains(server, webview []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mp()
	if server != nil {
		m.serverDomains = hostsOf(server)
	}
	if webview != nil {
		m.webviewDomains = hostsOf(webview)
	}
}

func hostsOf(list []string) []string {
	out := make([]string, 0, len(list))
	for _, d := range list {
		if i := strings.Index(d, "://"); i >= 0 {
			d = d[i+3:]
		}
		out = append(out, strings.ToLower(strings.TrimRight(d, "/")))
	}
	return out
}

// domainHost returns the host[:port] of a mini-program domain entry and whether its scheme is one
// of schemes and its host a name (not an IP, not api.weixin.qq.com).
func domainHost(entry string, schemes ...string) (string, bool) {
	u, err := url.Parse(entry)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", false
	}
	if !slices.Contains(schemes, strings.ToLower(u.Scheme)) {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if net.ParseIP(host) != nil || host == "localhost" || host == "api.weixin.qq.com" || !strings.Contains(host, ".") {
		return "", false
	}
	return strings.ToLower(u.Host), true
}

// hostAllowed reports whether host (with an optional port) is a platform domain or under one.
func hostAllowed(platform []string, host string) bool {
	for _, p := range platform {
		if host == p {
			return true
		}
		ph, pp, _ := strings.Cut(p, ":")
		h, hp, _ := strings.Cut(host, ":")
		if pp == hp && (h == ph || strings.HasSuffix(h, "."+ph)) {
			return true
		}
	}
	return false
}

// domainList is one of the six lists of modify_domain.
type domainList struct {
	key     string
	schemes []string
	cur     *[]string
}

// mpModifyDomain: POST /wxa/modify_domain.
func (s *Server) mpModifyDomain(c *call) (any, error) {
	var req struct {
		Action string `json:"action"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	var lists map[string]json.RawMessage
	_ = json.Unmarshal(c.body, &lists)
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	n := &a.info.Network
	all := []domainList{
		{"requestdomain", []string{"https"}, &n.RequestDomain},
		{"wsrequestdomain", []string{"wss"}, &n.WsRequestDomain},
		{"uploaddomain", []string{"https"}, &n.UploadDomain},
		{"downloaddomain", []string{"https"}, &n.DownloadDomain},
		{"udpdomain", []string{"udp"}, &n.UDPDomain},
		{"tcpdomain", []string{"tcp"}, &app.tcpDomain},
	}
	answer := func(invalid map[string][]string) any {
		out := map[string]any{"no_icp_domain": []string{}}
		for _, l := range all {
			out[l.key] = nonNilList(*l.cur)
			out["invalid_"+l.key] = nonNilList(invalid[l.key])
		}
		return withOK(out)
	}
	switch req.Action {
	case "get":
		return answer(nil), nil
	case "add", "delete", "set":
	case "":
		return nil, missing("action")
	default:
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [action]")
	}
	platform := s.mp().serverDomains
	if len(platform) == 0 {
		return nil, apiErr(wxerr.CodeDomainNoChange, "no server domain configured on the platform")
	}
	// Check every list before changing any.
	sent := map[string][]string{}
	invalid := map[string][]string{}
	for _, l := range all {
		raw, found := lists[l.key]
		if !found {
			continue
		}
		var entries []string
		if json.Unmarshal(raw, &entries) != nil {
			return nil, apiErr(wxerr.CodeInvalidJSON, "")
		}
		if len(entries) > maxDomainsPerList {
			return nil, apiErr(wxerr.CodeTooManyDomains, "")
		}
		var good []string
		for _, e := range entries {
			host, valid := domainHost(e, l.schemes...)
			switch {
			case !valid:
				invalid[l.key] = append(invalid[l.key], e)
			case !hostAllowed(platform, host):
				return nil, apiErr(wxerr.CodeDomainNotRegistered, "domain not registered on the platform: "+e)
			default:
				good = append(good, strings.ToLower(e))
			}
		}
		sent[l.key] = good
	}
	// Compute every new list first: a refused call changes none.
	changed := false
	next := make([][]string, len(all))
	for i, l := range all {
		entries := sent[l.key]
		cur := slices.Clone(*l.cur)
		switch req.Action {
		case "set":
			cur = slices.Clone(entries)
		case "add":
			for _, e := range entries {
				if !slices.Contains(cur, e) {
					cur = append(cur, e)
					changed = true
				}
			}
			if len(cur) > maxDomainsPerList {
				return nil, apiErr(wxerr.CodeTooManyDomains, "")
			}
		case "delete":
			before := len(cur)
			cur = slices.DeleteFunc(cur, func(d string) bool { return slices.Contains(entries, d) })
			changed = changed || len(cur) != before
		}
		next[i] = cur
	}
	if !changed && req.Action != "set" && len(invalid) == 0 {
		return nil, apiErr(wxerr.CodeDomainNoChange, "nothing to change")
	}
	for i, l := range all {
		*l.cur = next[i]
	}
	return answer(invalid), nil
}

func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// mpWebviewDomain: POST /wxa/setwebviewdomain.
func (s *Server) mpWebviewDomain(c *call) (any, error) {
	var req struct {
		Action        string   `json:"action"`
		WebviewDomain []string `json:"webviewdomain"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	cur := &a.info.Network.BizDomain
	answer := func() any { return withOK(map[string]any{"webviewdomain": nonNilList(*cur)}) }
	switch req.Action {
	case "get":
		return answer(), nil
	case "add", "delete", "set":
	case "":
		return nil, missing("action")
	default:
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [action]")
	}
	platform := s.mp().webviewDomains
	if len(platform) == 0 {
		return nil, apiErr(wxerr.CodeWebviewNotConfigured, "no business domain configured on the platform")
	}
	var entries []string
	for _, e := range req.WebviewDomain {
		host, valid := domainHost(e, "https", "http")
		if !valid || !hostAllowed(platform, host) {
			return nil, apiErr(wxerr.CodeWebviewNotAllowed, "not a business domain of the platform: "+e)
		}
		entries = append(entries, strings.ToLower(e))
	}
	next := slices.Clone(*cur)
	switch req.Action {
	case "set":
		next = entries
	case "add":
		for _, e := range entries {
			if !slices.Contains(next, e) {
				next = append(next, e)
			}
		}
	case "delete":
		next = slices.DeleteFunc(next, func(d string) bool { return slices.Contains(entries, d) })
	}
	if len(next) > maxWebviewDomains {
		return nil, apiErr(89029, "too many business domains")
	}
	if req.Action != "set" && slices.Equal(next, *cur) {
		return nil, apiErr(wxerr.CodeWebviewNoChange, "nothing to change")
	}
	*cur = next
	return answer(), nil
}

// ---- Basic info ---------------------------------------------------------------------------

// nameWidth counts a name as WeChat does: CJK ideographs, kana, Hangul, CJK punctuation and
// full-width forms 2, anything else 1.
func nameWidth(name string) int {
	w := 0
	for _, r := range name {
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Bopomofo),
			r >= 0x3000 && r <= 0x303F, r >= 0xFF01 && r <= 0xFF60, r >= 0xFFE0 && r <= 0xFFE6:
			w += 2
		default:
			w++
		}
	}
	return w
}

// mediaOf returns the live media id of the caller, or 40007.
func (s *Server) mediaOf(c *call, id string) (*mpMedia, error) {
	m := s.mp().media[id]
	if m == nil || m.appID != c.authorizerAppID || !c.now.Before(m.expires) {
		return nil, apiErr(40007, "invalid media_id")
	}
	return m, nil
}

// mpSetNickname: POST /wxa/setnickname.
func (s *Server) mpSetNickname(c *call) (any, error) {
	var req map[string]any
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	name, _ := req["nick_name"].(string)
	if name == "" {
		return nil, missing("nick_name")
	}
	if w := nameWidth(name); w < 4 || w > 30 {
		return nil, apiErr(wxerr.CodeNicknameLength, "nickname length invalid")
	}
	if strings.Contains(name, "小程序") {
		return nil, apiErr(wxerr.CodeNicknameForbidden, "nickname contains a forbidden word")
	}
	for id, other := range s.authorizers {
		if id != a.info.AppID && other.info.NickName == name {
			return nil, apiErr(wxerr.CodeNicknameUsed, "nickname has been used")
		}
	}
	if app.released != nil {
		return nil, apiErr(91002, "cannot modify nickname after the first release")
	}
	if app.nicknameUsed >= nicknameQuota {
		return nil, apiErr(91002, "nickname modify quota reached")
	}
	materials := false
	for k, v := range req {
		if k != "id_card" && k != "license" && !strings.HasPrefix(k, "naming_other_stuff_") {
			continue
		}
		id, _ := v.(string)
		if _, err := s.mediaOf(c, id); err != nil {
			return nil, err
		}
		materials = true
	}
	app.nicknameUsed++
	if materials {
		// Under review: the account keeps its name until ApproveNickname (digest 5.2).
		app.nicknamePending = name
		return withOK(map[string]any{"audit_id": 10000000 + app.nicknameUsed, "wording": "名称审核中"}), nil
	}
	a.info.NickName = name
	app.nicknamePending = ""
	return withOK(map[string]any{"wording": ""}), nil
}

// ApproveNickname ends the review of the name appID submitted with materials (setnickname answered an
// audit_id): the account takes that name. It is an error when no name is under review.
func (s *Server) ApproveNickname(appID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.authorizers[appID]
	app := s.mp().apps[appID]
	if a == nil || app == nil || app.nicknamePending == "" {
		return fmt.Errorf("wxtest: ApproveNickname: %s has no name under review", appID)
	}
	a.info.NickName = app.nicknamePending
	app.nicknamePending = ""
	return nil
}

// imageKind returns the image format of data by its magic number, or "".
func imageKind(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return "jpeg"
	case bytes.HasPrefix(data, []byte("GIF8")):
		return "gif"
	case bytes.HasPrefix(data, []byte("BM")) && len(data) > 26:
		return "bmp"
	}
	return ""
}

// mpMediaUpload: POST /cgi-bin/media/upload?type=TYPE, multipart with the file in "media".
func (s *Server) mpMediaUpload(c *call) (any, error) {
	typ := c.query("type")
	switch typ {
	case "image", "voice", "video", "thumb":
	default:
		return nil, apiErr(40004, "invalid media type")
	}
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, apiErr(41005, "media data missing")
	}
	mr := multipart.NewReader(bytes.NewReader(c.body), params["boundary"])
	var data []byte
	found := false
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if p.FormName() == "media" && p.FileName() != "" {
			var b bytes.Buffer
			if _, err := b.ReadFrom(p); err != nil {
				return nil, apiErr(41005, "media data missing")
			}
			data, found = b.Bytes(), true
			break
		}
	}
	if !found || len(data) == 0 {
		return nil, apiErr(41005, "media data missing")
	}
	if len(data) > maxMedia {
		return nil, apiErr(40006, "invalid meida size")
	}
	kind := imageKind(data)
	if (typ == "image" || typ == "thumb") && kind == "" {
		return nil, apiErr(40005, "invalid file type")
	}
	id := randAlnum(64)
	s.mp().media[id] = &mpMedia{appID: c.authorizerAppID, typ: typ, image: kind != "", size: len(data), expires: c.now.Add(mediaTTL)}
	return map[string]any{"type": typ, "media_id": id, "created_at": c.now.Unix()}, nil
}

// mpModifyHeadImage: POST /cgi-bin/account/modifyheadimage.
func (s *Server) mpModifyHeadImage(c *call) (any, error) {
	var req struct {
		MediaID *string `json:"head_img_media_id"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	var crop map[string]any
	_ = json.Unmarshal(c.body, &crop)
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if req.MediaID == nil || *req.MediaID == "" {
		return nil, missing("head_img_media_id")
	}
	m, err := s.mediaOf(c, *req.MediaID)
	if err != nil {
		return nil, err
	}
	if !m.image {
		return nil, apiErr(40005, "invalid file type")
	}
	if m.size > maxHeadImage {
		return nil, apiErr(40006, "invalid meida size")
	}
	var box [4]float64
	for i, k := range []string{"x1", "y1", "x2", "y2"} {
		v, isString := crop[k].(string)
		if !isString {
			return nil, missing(k)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: ["+k+"]")
		}
		box[i] = f
	}
	if box[0] >= box[2] || box[1] >= box[3] {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [crop box]")
	}
	if app.headUsed >= headImageQuota {
		return nil, apiErr(wxerr.CodeModifyQuotaReached, "modify quota reached")
	}
	app.headUsed++
	a.info.HeadImg = "http://wx.qlogo.cn/mmhead/" + *req.MediaID + "/0"
	return answerOK(), nil
}

// mpModifySignature: POST /cgi-bin/account/modifysignature.
func (s *Server) mpModifySignature(c *call) (any, error) {
	var req struct {
		Signature *string `json:"signature"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if req.Signature == nil {
		return nil, missing("signature")
	}
	if n := utf8.RuneCountInString(*req.Signature); n < 4 || n > 120 {
		return nil, apiErr(wxerr.CodeSignatureIllegal, "signature length must be 4 to 120")
	}
	if app.signatureUsed >= signatureQuota {
		return nil, apiErr(wxerr.CodeModifyQuotaReached, "modify quota reached")
	}
	app.signatureUsed++
	a.info.Signature = *req.Signature
	return answerOK(), nil
}

// mpBasicInfo: GET (or POST) /cgi-bin/account/getaccountbasicinfo.
func (s *Server) mpBasicInfo(c *call) (any, error) {
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	verified := a.info.VerifyType == 0
	return withOK(map[string]any{
		"appid":              a.info.AppID,
		"account_type":       3, // mini program
		"principal_type":     1,
		"principal_name":     a.info.PrincipalName,
		"credential":         "",
		"realname_status":    1,
		"customer_type":      1,
		"registered_country": 1,
		"nickname":           a.info.NickName,
		"wx_verify_info": map[string]any{
			"qualification_verify": verified, "naming_verify": verified, "annual_review": false,
			"annual_review_begin_time": 0, "annual_review_end_time": 0,
		},
		"signature_info":  map[string]any{"signature": a.info.Signature, "modify_used_count": app.signatureUsed, "modify_quota": signatureQuota},
		"head_image_info": map[string]any{"head_image_url": a.info.HeadImg, "modify_used_count": app.headUsed, "modify_quota": headImageQuota},
		"nickname_info":   map[string]any{"nickname": a.info.NickName, "modify_used_count": app.nicknameUsed, "modify_quota": nicknameQuota},
	}), nil
}

// ---- Open platform account ------------------------------------------------------------------

type openBody struct {
	AppID     *string `json:"appid"`
	OpenAppID *string `json:"open_appid"`
}

// bindOpen decodes an open/* body and checks that appid, when sent, is the caller (40013).
func (s *Server) bindOpen(c *call) (*authorizer, openBody, error) {
	var req openBody
	if err := c.bind(&req); err != nil {
		return nil, req, err
	}
	a := c.authorizer()
	if req.AppID != nil && *req.AppID != a.info.AppID {
		return nil, req, apiErr(wxerr.CodeInvalidAppID, "")
	}
	return a, req, nil
}

// openCreate: POST /cgi-bin/open/create.
func (s *Server) openCreate(c *call) (any, error) {
	a, _, err := s.bindOpen(c)
	if err != nil {
		return nil, err
	}
	m := s.mp()
	if _, bound := m.openOf[a.info.AppID]; bound {
		return nil, apiErr(wxerr.CodeOpenAccountAlreadyBound, "")
	}
	id := "wx" + randHex(8)
	m.open[id] = &openAccount{appID: id, principal: a.info.PrincipalName, members: []string{a.info.AppID}}
	m.openOf[a.info.AppID] = id
	return withOK(map[string]any{"open_appid": id}), nil
}

// openTarget returns the open account named in req (47001 missing, 40013 unknown).
func (s *Server) openTarget(req openBody) (*openAccount, error) {
	if req.OpenAppID == nil || *req.OpenAppID == "" {
		return nil, missing("open_appid")
	}
	o := s.mp().open[*req.OpenAppID]
	if o == nil {
		return nil, apiErr(wxerr.CodeInvalidAppID, "")
	}
	return o, nil
}

// openBind: POST /cgi-bin/open/bind.
func (s *Server) openBind(c *call) (any, error) {
	a, req, err := s.bindOpen(c)
	if err != nil {
		return nil, err
	}
	o, err := s.openTarget(req)
	if err != nil {
		return nil, err
	}
	m := s.mp()
	if _, bound := m.openOf[a.info.AppID]; bound {
		return nil, apiErr(wxerr.CodeOpenAccountAlreadyBound, "")
	}
	if o.principal != a.info.PrincipalName {
		return nil, apiErr(wxerr.CodeOpenAccountSubjectDiff, "")
	}
	minis := 0
	for _, id := range o.members {
		if b := s.authorizers[id]; b != nil && b.info.MiniProgram {
			minis++
		}
	}
	if len(o.members) >= openMaxAccounts || (a.info.MiniProgram && minis >= openMaxMiniPrograms) {
		return nil, apiErr(wxerr.CodeOpenAccountLimit, "")
	}
	o.members = append(o.members, a.info.AppID)
	m.openOf[a.info.AppID] = o.appID
	return answerOK(), nil
}

// openUnbind: POST /cgi-bin/open/unbind.
func (s *Server) openUnbind(c *call) (any, error) {
	a, req, err := s.bindOpen(c)
	if err != nil {
		return nil, err
	}
	o, err := s.openTarget(req)
	if err != nil {
		return nil, err
	}
	m := s.mp()
	if m.openOf[a.info.AppID] != o.appID {
		return nil, apiErr(wxerr.CodeOpenAccountNotBound, "")
	}
	delete(m.openOf, a.info.AppID)
	o.members = slices.DeleteFunc(o.members, func(id string) bool { return id == a.info.AppID })
	return answerOK(), nil
}

// openGet: POST /cgi-bin/open/get.
func (s *Server) openGet(c *call) (any, error) {
	a, _, err := s.bindOpen(c)
	if err != nil {
		return nil, err
	}
	id, bound := s.mp().openOf[a.info.AppID]
	if !bound {
		return nil, apiErr(wxerr.CodeOpenAccountNotBound, "")
	}
	return withOK(map[string]any{"open_appid": id}), nil
}

// OpenAccount returns the open-platform account appID is bound to, and false when it is bound to none.
func (s *Server) OpenAccount(appID string) (openAppID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	openAppID, ok = s.mp().openOf[appID]
	return openAppID, ok
}

// ---- Fast registration --------------------------------------------------------------------

// wechatIDOK reports whether id looks like a WeChat ID: a letter, then 5-19 letters, digits, - or _.
func wechatIDOK(id string) bool {
	if len(id) < 6 || len(id) > 20 || !('a' <= id[0] && id[0] <= 'z' || 'A' <= id[0] && id[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(id); i++ {
		ch := id[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

// companyCodeOK checks the length of code for its code_type: 18, 9 (or "xxxxxxxx-x"), 15.
func companyCodeOK(typ int, code string) bool {
	want := map[int]int{1: 18, 2: 9, 3: 15}[typ]
	if typ == 2 && len(code) == 10 && code[8] == '-' {
		code = code[:8] + code[9:]
	}
	if len(code) != want {
		return false
	}
	for i := 0; i < len(code); i++ {
		ch := code[i]
		if !('0' <= ch && ch <= '9' || 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z') {
			return false
		}
	}
	return true
}

// fastRegister: POST /cgi-bin/component/fastregisterweapp?action=create|search.
func (s *Server) fastRegister(c *call) (any, error) {
	var req fastRegisterBody
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	m := s.mp()
	if req.Name == "" || req.LegalPersonaWechat == "" || req.LegalPersonaName == "" {
		return nil, apiErr(wxerr.CodeFastRegMissingParam, "missing parameter")
	}
	switch c.query("action") {
	case "create":
		switch {
		case req.Code == "" || req.CodeType == nil:
			return nil, apiErr(wxerr.CodeFastRegMissingParam, "missing parameter")
		case *req.CodeType < 1 || *req.CodeType > 3:
			return nil, apiErr(wxerr.CodeFastRegBadCodeType, "invalid code_type")
		case !companyCodeOK(*req.CodeType, req.Code):
			return nil, apiErr(wxerr.CodeFastRegBadCode, "invalid code for its code_type")
		case !wechatIDOK(req.LegalPersonaWechat):
			return nil, apiErr(wxerr.CodeInvalidWeChatID, "invalid wechat id")
		}
		if t := m.fastTasks[req.Name]; t != nil && !t.done {
			return nil, apiErr(wxerr.CodeFastRegTaskRunning, "a task for this company is running")
		}
		m.fastTasks[req.Name] = &fastTask{req: req}
		return answerOK(), nil
	case "search":
		t := m.fastTasks[req.Name]
		if t == nil || t.req.LegalPersonaWechat != req.LegalPersonaWechat || t.req.LegalPersonaName != req.LegalPersonaName {
			return nil, apiErr(wxerr.CodeFastRegNoTask, "task not found")
		}
		if !t.done {
			return nil, apiErr(wxerr.CodeFastRegWaitingFace, "waiting for the legal person's face verification")
		}
		return answerOK(), nil
	}
	return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [action]")
}

// CompleteFastRegistration finishes the fast registration task of the company name with status
// (0 success, or a failure code of digest 2.3 such as 103) and pushes notify_third_fasteregister to
// the auth event URL. On success a new mini program is created (principal name = the company name),
// it authorises the platform, and the push carries its appid and an authorization code that
// api_query_auth accepts; the new appid is returned.
func (s *Server) CompleteFastRegistration(ctx context.Context, name string, status int) (appID string, err error) {
	now := s.Now()
	s.mu.Lock()
	t := s.mp().fastTasks[name]
	if t == nil || t.done {
		s.mu.Unlock()
		return "", fmt.Errorf("wxtest: CompleteFastRegistration: no running task for %q", name)
	}
	t.done = true
	code, msg := "", "OK"
	if status == 0 {
		a := s.addAuthorizer(Authorizer{MiniProgram: true, PrincipalName: name, VerifyType: -1})
		a.authorized, a.everAuthorized = true, true
		a.refreshToken = newRefreshToken()
		a.authTime = now
		a.funcInfo = defaultFuncInfo(true)
		appID = a.info.AppID
		code, _ = s.newAuthCode(a, now, "authorized", "")
	} else {
		msg = "fast registration failed"
	}
	codeType := 0
	if t.req.CodeType != nil {
		codeType = *t.req.CodeType
	}
	info := xmlMessage(xmlField{"name", t.req.Name, false}, xmlField{"code", t.req.Code, false},
		xmlField{"code_type", strconv.Itoa(codeType), true}, xmlField{"legal_persona_wechat", t.req.LegalPersonaWechat, false},
		xmlField{"legal_persona_name", t.req.LegalPersonaName, false}, xmlField{"component_phone", t.req.ComponentPhone, false})
	inner := strings.TrimSuffix(strings.TrimPrefix(string(info), "<xml>"), "</xml>")
	event := platformEvent(s.component.AppID, now, "notify_third_fasteregister",
		xmlField{"appid", appID, false}, xmlField{"status", strconv.Itoa(status), true},
		xmlField{"auth_code", code, false}, xmlField{"msg", msg, false}, xmlField{"info", inner, true})
	s.mu.Unlock()
	if err := s.pushPlatformEvent(ctx, event); err != nil {
		return appID, err
	}
	return appID, nil
}
