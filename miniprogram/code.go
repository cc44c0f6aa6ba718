package miniprogram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/wxerr"
)

// ExtJSON is the typed form of a commit's ext_json: the configuration the platform injects into its
// template for this mini program. Empty fields are left out. For keys it does not list, commit a map or
// a json.RawMessage instead.
type ExtJSON struct {
	// ExtAppID is the mini program's appid; Commit fills it in when it is empty.
	ExtAppID string `json:"extAppid,omitempty"`
	// Ext holds custom values the mini program reads with wx.getExtConfig.
	Ext map[string]any `json:"ext,omitempty"`
	// ExtPages holds per-page configuration, keyed by page path.
	ExtPages map[string]any `json:"extPages,omitempty"`
	// Pages replaces the template's page list (a subset of the template's pages).
	Pages []string `json:"pages,omitempty"`
	// Window overrides the template's window settings.
	Window map[string]any `json:"window,omitempty"`
	// TabBar replaces the template's tab bar.
	TabBar map[string]any `json:"tabBar,omitempty"`
	// NetworkTimeout sets network timeouts in milliseconds.
	NetworkTimeout *NetworkTimeout `json:"networkTimeout,omitempty"`
	// SubPackages replaces the template's sub-packages (a subset of them).
	SubPackages []SubPackage `json:"subPackages,omitempty"`
	// RequiredPrivateInfos declares the location APIs the code uses ("getLocation"…); WeChat refuses
	// the audit (61040) when the code uses one that is not declared.
	RequiredPrivateInfos []string `json:"requiredPrivateInfos,omitempty"`
}

// NetworkTimeout are network timeouts in milliseconds; zero fields are left out.
type NetworkTimeout struct {
	Request       int `json:"request,omitempty"`
	ConnectSocket int `json:"connectSocket,omitempty"`
	UploadFile    int `json:"uploadFile,omitempty"`
	DownloadFile  int `json:"downloadFile,omitempty"`
}

// SubPackage is one sub-package of the code.
type SubPackage struct {
	Root        string   `json:"root"`
	Name        string   `json:"name,omitempty"`
	Pages       []string `json:"pages,omitempty"`
	Independent bool     `json:"independent,omitempty"`
}

// CommitRequest is a template commit: it makes the template, configured by ExtJSON, the mini
// program's trial version.
type CommitRequest struct {
	// TemplateID is the id of a template in the platform's template library (0 is a valid id).
	TemplateID int64
	// ExtJSON configures the template. It is sent as a string holding a JSON object and may be an
	// ExtJSON or *ExtJSON (whose empty ExtAppID becomes the mini program's appid), a json.RawMessage
	// or []byte holding a JSON object (sent as it is, compacted), or any other value that encodes to a
	// JSON object (a map, a struct). Required.
	ExtJSON any
	// UserVersion is the version number shown to the merchant: 1 to 64 characters. Required.
	UserVersion string
	// UserDesc describes the version. Required.
	UserDesc string
}

type commitBody struct {
	TemplateID  int64  `json:"template_id"`
	ExtJSON     string `json:"ext_json"`
	UserVersion string `json:"user_version"`
	UserDesc    string `json:"user_desc"`
}

// extJSONString turns the ExtJSON of a commit into the string WeChat expects.
func (c *Client) extJSONString(v any) (string, error) {
	const rule = "required: an ExtJSON, a json.RawMessage or a map that encodes to a JSON object"
	var raw []byte
	switch x := v.(type) {
	case nil:
		return "", wxerr.Invalid("ext_json", rule)
	case ExtJSON:
		if x.ExtAppID == "" {
			x.ExtAppID = c.AppID()
		}
		v = x
	case *ExtJSON:
		if x == nil {
			return "", wxerr.Invalid("ext_json", rule)
		}
		e := *x
		if e.ExtAppID == "" {
			e.ExtAppID = c.AppID()
		}
		v = e
	case json.RawMessage:
		raw = x
	case []byte:
		raw = x
	case string:
		return "", wxerr.Invalid("ext_json", "pass json.RawMessage(s) for JSON text, not a string")
	}
	if raw == nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", wxerr.Invalid("ext_json", "cannot be encoded as JSON: "+err.Error())
		}
		raw = buf.Bytes()
	}
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return "", wxerr.Invalid("ext_json", "must be valid JSON: "+err.Error())
	}
	if out.Len() == 0 || out.Bytes()[0] != '{' {
		return "", wxerr.Invalid("ext_json", "must be a JSON object")
	}
	return out.String(), nil
}

// Commit uploads the template TemplateID, configured by ExtJSON, as the mini program's trial
// version. ext_json is sent as a string, template_id as a number.
//
// WeChat: POST /wxa/commit
func (c *Client) Commit(ctx context.Context, r CommitRequest) error {
	if r.TemplateID < 0 {
		return wxerr.Invalid("template_id", "must not be negative")
	}
	if n := utf8.RuneCountInString(r.UserVersion); n < 1 || n > 64 {
		return wxerr.Invalid("user_version", "1 to 64 characters")
	}
	if r.UserDesc == "" {
		return wxerr.Invalid("user_desc", "required")
	}
	ext, err := c.extJSONString(r.ExtJSON)
	if err != nil {
		return err
	}
	body := commitBody{TemplateID: r.TemplateID, ExtJSON: ext, UserVersion: r.UserVersion, UserDesc: r.UserDesc}
	return c.call(ctx, post("/wxa/commit", body, false), nil)
}

// QRCode returns the trial version's QR code image (JPEG as WeChat sends it). path, when not empty,
// is the page to open with its query ("pages/index?action=1"). A JSON answer is an error.
//
// WeChat: GET /wxa/get_qrcode
func (c *Client) QRCode(ctx context.Context, path string) ([]byte, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	req := get("/wxa/get_qrcode")
	if path != "" {
		req.Query = url.Values{"path": {path}}
	}
	img, _, err := c.a.CallBytes(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(img) == 0 {
		return nil, errors.New("wxopen: GET /wxa/get_qrcode: empty answer")
	}
	return img, nil
}

// Category is a service category the mini program may use in an audit item.
type Category struct {
	FirstClass  string `json:"first_class"`
	SecondClass string `json:"second_class"`
	ThirdClass  string `json:"third_class,omitempty"`
	FirstID     int64  `json:"first_id"`
	SecondID    int64  `json:"second_id"`
	ThirdID     int64  `json:"third_id,omitempty"`
}

// Categories returns the service categories the mini program has been approved for.
//
// WeChat: GET /wxa/get_category
func (c *Client) Categories(ctx context.Context) ([]Category, error) {
	var out struct {
		CategoryList []Category `json:"category_list"`
	}
	if err := c.call(ctx, get("/wxa/get_category"), &out); err != nil {
		return nil, err
	}
	return out.CategoryList, nil
}

// Pages returns the page paths of the committed code.
//
// WeChat: GET /wxa/get_page
func (c *Client) Pages(ctx context.Context) ([]string, error) {
	var out struct {
		PageList []string `json:"page_list"`
	}
	if err := c.call(ctx, get("/wxa/get_page"), &out); err != nil {
		return nil, err
	}
	return out.PageList, nil
}

// AuditItem is one page submitted for audit, with its category (from Categories).
type AuditItem struct {
	Address     string `json:"address,omitempty"`
	Tag         string `json:"tag,omitempty"` // tags separated by spaces
	FirstClass  string `json:"first_class,omitempty"`
	SecondClass string `json:"second_class,omitempty"`
	ThirdClass  string `json:"third_class,omitempty"`
	FirstID     int64  `json:"first_id,omitempty"`
	SecondID    int64  `json:"second_id,omitempty"`
	ThirdID     int64  `json:"third_id,omitempty"`
	Title       string `json:"title,omitempty"`
}

// PreviewInfo are preview videos and pictures (media ids from wxa/uploadmedia).
type PreviewInfo struct {
	VideoIDList []string `json:"video_id_list,omitempty"`
	PicIDList   []string `json:"pic_id_list,omitempty"`
}

// UGCDeclare declares the user-generated content of the mini program.
type UGCDeclare struct {
	Scene          []int  `json:"scene,omitempty"`
	OtherSceneDesc string `json:"other_scene_desc,omitempty"`
	Method         []int  `json:"method,omitempty"`
	HasAuditTeam   int    `json:"has_audit_team,omitempty"`
	AuditDesc      string `json:"audit_desc,omitempty"`
}

// SubmitAuditRequest submits the trial version for audit.
type SubmitAuditRequest struct {
	// ItemList are 1 to 5 pages with their categories.
	ItemList    []AuditItem
	PreviewInfo *PreviewInfo
	VersionDesc string
	// FeedbackInfo is a note for the reviewers.
	FeedbackInfo string
	// FeedbackStuff are media ids of pictures or videos for the reviewers (sent joined by "|").
	FeedbackStuff []string
	UGCDeclare    *UGCDeclare
	// PrivacyAPINotUse declares that the privacy APIs found in the code are not used.
	PrivacyAPINotUse bool
	OrderPath        string
}

type submitAuditBody struct {
	ItemList         []AuditItem  `json:"item_list"`
	PreviewInfo      *PreviewInfo `json:"preview_info,omitempty"`
	VersionDesc      string       `json:"version_desc,omitempty"`
	FeedbackInfo     string       `json:"feedback_info,omitempty"`
	FeedbackStuff    string       `json:"feedback_stuff,omitempty"`
	UGCDeclare       *UGCDeclare  `json:"ugc_declare,omitempty"`
	PrivacyAPINotUse bool         `json:"privacy_api_not_use,omitempty"`
	OrderPath        string       `json:"order_path,omitempty"`
}

// SubmitAudit submits the committed trial version for audit and returns the audit id. Only one
// version may be under review (85009); while the privacy scan of the commit runs the error is a
// *ScanPendingError (61039), and Readiness tells every other gate that would refuse it. The outcome is pushed as weapp_audit_success or
// weapp_audit_fail; AuditStatus asks for it. It is never retried automatically.
//
// WeChat: POST /wxa/submit_audit
func (c *Client) SubmitAudit(ctx context.Context, r SubmitAuditRequest) (auditID int64, err error) {
	if n := len(r.ItemList); n < 1 || n > 5 {
		return 0, wxerr.Invalid("item_list", "1 to 5 items; got "+strconv.Itoa(n))
	}
	for i, s := range r.FeedbackStuff {
		if s == "" || strings.Contains(s, "|") {
			return 0, wxerr.Invalid("feedback_stuff", "media id "+strconv.Itoa(i+1)+" must be non-empty and contain no '|'")
		}
	}
	body := submitAuditBody{
		ItemList: r.ItemList, PreviewInfo: r.PreviewInfo, VersionDesc: r.VersionDesc,
		FeedbackInfo: r.FeedbackInfo, FeedbackStuff: strings.Join(r.FeedbackStuff, "|"),
		UGCDeclare: r.UGCDeclare, PrivacyAPINotUse: r.PrivacyAPINotUse, OrderPath: r.OrderPath,
	}
	var out struct {
		AuditID *int64 `json:"auditid"`
	}
	if err := c.call(ctx, post("/wxa/submit_audit", body, false), &out); err != nil {
		return 0, scanPending(err) // 61039: the privacy scan of the commit still runs; retry later
	}
	if out.AuditID == nil {
		return 0, errors.New("wxopen: POST /wxa/submit_audit: answer has no auditid")
	}
	return *out.AuditID, nil
}

// AuditState is the state of an audit.
type AuditState int

// Audit states (digest 6.5).
const (
	AuditApproved  AuditState = 0
	AuditRejected  AuditState = 1
	AuditReviewing AuditState = 2
	AuditWithdrawn AuditState = 3
	AuditDelayed   AuditState = 4
)

// String names the state.
func (s AuditState) String() string {
	switch s {
	case AuditApproved:
		return "approved"
	case AuditRejected:
		return "rejected"
	case AuditReviewing:
		return "reviewing"
	case AuditWithdrawn:
		return "withdrawn"
	case AuditDelayed:
		return "delayed"
	}
	return "AuditState(" + strconv.Itoa(int(s)) + ")"
}

// AuditStatus is the state of one audit.
type AuditStatus struct {
	// AuditID is the audit's id (set by LatestAuditStatus; by AuditStatus, the id asked for).
	AuditID int64
	Status  AuditState
	// Reason is why it was rejected or delayed; it may contain <br> markup.
	Reason string
	// ScreenShots are media ids of the reviewers' screenshots (permanent material).
	ScreenShots []string
	UserVersion string
	UserDesc    string
	// SubmitAuditTime is when the version was submitted; zero when WeChat gave none.
	SubmitAuditTime time.Time
}

// UnmarshalJSON decodes WeChat's answer, whose screenshot field is spelt "screenshot" in
// get_auditstatus and "ScreenShot" in get_latest_auditstatus; both are read.
func (s *AuditStatus) UnmarshalJSON(b []byte) error {
	var raw struct {
		AuditID         int64       `json:"auditid"`
		Status          *AuditState `json:"status"`
		Reason          string      `json:"reason"`
		ScreenShot      string      `json:"ScreenShot"`
		Screenshot      string      `json:"screenshot"`
		UserVersion     string      `json:"user_version"`
		UserDesc        string      `json:"user_desc"`
		SubmitAuditTime int64       `json:"submit_audit_time"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw.Status == nil {
		return errors.New("answer has no status")
	}
	shots := raw.Screenshot
	if shots == "" {
		shots = raw.ScreenShot
	}
	*s = AuditStatus{AuditID: raw.AuditID, Status: *raw.Status, Reason: raw.Reason, ScreenShots: splitIDs(shots),
		UserVersion: raw.UserVersion, UserDesc: raw.UserDesc, SubmitAuditTime: unixTime(raw.SubmitAuditTime)}
	return nil
}

func splitIDs(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, "|")
	out := parts[:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// AuditStatus returns the state of the audit auditID (85012 for an unknown id).
//
// WeChat: POST /wxa/get_auditstatus
func (c *Client) AuditStatus(ctx context.Context, auditID int64) (*AuditStatus, error) {
	if auditID <= 0 {
		return nil, wxerr.Invalid("auditid", "must be positive")
	}
	var out AuditStatus
	if err := c.call(ctx, post("/wxa/get_auditstatus", map[string]int64{"auditid": auditID}, true), &out); err != nil {
		return nil, err
	}
	if out.AuditID == 0 {
		out.AuditID = auditID
	}
	return &out, nil
}

// LatestAuditStatus returns the state of the latest audit.
//
// WeChat: GET /wxa/get_latest_auditstatus
func (c *Client) LatestAuditStatus(ctx context.Context) (*AuditStatus, error) {
	var out AuditStatus
	if err := c.call(ctx, get("/wxa/get_latest_auditstatus"), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Release publishes the approved version (85019 when there is none, 85020 when the audit state does
// not allow it, 85052 when it is already released). It is never retried automatically.
//
// WeChat: POST /wxa/release
func (c *Client) Release(ctx context.Context) error {
	return c.call(ctx, post("/wxa/release", json.RawMessage(`{}`), false), nil)
}

// RevertRelease reverts the mini program to its previous release (87012 when there is none).
//
// WeChat: GET /wxa/revertcoderelease
func (c *Client) RevertRelease(ctx context.Context) error {
	req := get("/wxa/revertcoderelease")
	req.Idempotent = false
	return c.call(ctx, req, nil)
}

// ReleaseVersion is a past release RevertRelease may go back to.
type ReleaseVersion struct {
	AppVersion  int64
	UserVersion string
	UserDesc    string
	// CommitTime is when the version's code was committed; zero when WeChat gave none.
	CommitTime time.Time
}

// UnmarshalJSON decodes WeChat's form, commit_time in unix seconds.
func (v *ReleaseVersion) UnmarshalJSON(b []byte) error {
	var raw struct {
		AppVersion  int64  `json:"app_version"`
		UserVersion string `json:"user_version"`
		UserDesc    string `json:"user_desc"`
		CommitTime  int64  `json:"commit_time"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*v = ReleaseVersion{AppVersion: raw.AppVersion, UserVersion: raw.UserVersion, UserDesc: raw.UserDesc, CommitTime: unixTime(raw.CommitTime)}
	return nil
}

// unixTime is the time of WeChat's unix seconds s; 0 (none given) is the zero time.
func unixTime(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// ReleaseHistory lists the releases the mini program can revert to.
//
// WeChat: GET /wxa/revertcoderelease?action=get_history_version
func (c *Client) ReleaseHistory(ctx context.Context) ([]ReleaseVersion, error) {
	req := get("/wxa/revertcoderelease")
	req.Query = url.Values{"action": {"get_history_version"}}
	var out struct {
		VersionList []ReleaseVersion `json:"version_list"`
	}
	if err := c.call(ctx, req, &out); err != nil {
		return nil, err
	}
	return out.VersionList, nil
}

// UndoAudit withdraws the version under review (87013 when the withdraw limit is reached).
//
// WeChat: GET /wxa/undocodeaudit
func (c *Client) UndoAudit(ctx context.Context) error {
	req := get("/wxa/undocodeaudit")
	req.Idempotent = false
	return c.call(ctx, req, nil)
}
