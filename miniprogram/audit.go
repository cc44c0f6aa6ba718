package miniprogram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Audit operations (API digest part 2, section 12): the platform's audit quota, expediting, the
// versions on trial and live, media for submit_audit, grey release and visit status.

// AuditQuota is the platform's audit quota for this month. It belongs to the platform and is shared
// by all its mini programs: any authorizer reads the same numbers.
type AuditQuota struct {
	// Rest submissions are left this month out of Limit.
	Rest  int `json:"rest"`
	Limit int `json:"limit"`
	// SpeedUpRest expedites are left out of SpeedUpLimit.
	SpeedUpRest  int `json:"speedup_rest"`
	SpeedUpLimit int `json:"speedup_limit"`
}

// AuditQuota reads the platform's audit quota. Read it before a fleet-wide resubmission: a submit
// without quota fails with 85085 until next month.
//
// WeChat: GET /wxa/queryquota
func (c *Client) AuditQuota(ctx context.Context) (*AuditQuota, error) {
	var out AuditQuota
	if err := c.call(ctx, get("/wxa/queryquota"), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SpeedUpAudit asks WeChat to expedite the audit auditID, using one of the platform's expedites
// (89402 not pending, 89404 already expedited, 89405 no expedite left).
//
// WeChat: POST /wxa/speedupaudit
func (c *Client) SpeedUpAudit(ctx context.Context, auditID int64) error {
	if auditID <= 0 {
		return wxerr.Invalid("auditid", "must be positive")
	}
	return c.call(ctx, post("/wxa/speedupaudit", map[string]int64{"auditid": auditID}, false), nil)
}

// VersionInfo are the trial and live versions; each is nil when there is none.
type VersionInfo struct {
	Trial   *VersionDetail
	Release *VersionDetail
}

// VersionDetail is one version of the code.
type VersionDetail struct {
	Time        time.Time
	Version     string
	Description string
}

// VersionInfo returns the trial version (the last commit) and the live version.
//
// WeChat: POST /wxa/getversioninfo
func (c *Client) VersionInfo(ctx context.Context) (*VersionInfo, error) {
	var out struct {
		Exp *struct {
			Time    int64  `json:"exp_time"`
			Version string `json:"exp_version"`
			Desc    string `json:"exp_desc"`
		} `json:"exp_info"`
		Release *struct {
			Time    int64  `json:"release_time"`
			Version string `json:"release_version"`
			Desc    string `json:"release_desc"`
		} `json:"release_info"`
	}
	if err := c.call(ctx, post("/wxa/getversioninfo", json.RawMessage(`{}`), true), &out); err != nil {
		return nil, err
	}
	info := &VersionInfo{}
	if e := out.Exp; e != nil && e.Version != "" {
		info.Trial = &VersionDetail{Time: time.Unix(e.Time, 0), Version: e.Version, Description: e.Desc}
	}
	if r := out.Release; r != nil && r.Version != "" {
		info.Release = &VersionDetail{Time: time.Unix(r.Time, 0), Version: r.Version, Description: r.Desc}
	}
	return info, nil
}

// Limits of wxa/uploadmedia. WeChat's documentation does not state them (digest 12.4, unverified);
// these are the commonly reported ones, kept here only.
const (
	MaxAuditImageSize = 2 << 20
	MaxAuditVideoSize = 20 << 20
)

// AuditMedia is a picture or video uploaded for submit_audit (PreviewInfo, FeedbackStuff).
type AuditMedia struct {
	Type    string `json:"type"` // "image" or "video"
	MediaID string `json:"mediaid"`
}

// isMP4 reports whether data starts like an MP4 file (an ftyp box).
func isMP4(data []byte) bool { return len(data) >= 12 && bytes.Equal(data[4:8], []byte("ftyp")) }

// UploadAuditMedia uploads a screenshot (PNG, JPEG, GIF or BMP, at most 2 MB) or a video (MP4, at
// most 20 MB) for submit_audit, recognised by content, and returns its media id.
//
// WeChat: POST /wxa/uploadmedia
func (c *Client) UploadAuditMedia(ctx context.Context, filename string, data []byte) (*AuditMedia, error) {
	if filename == "" {
		return nil, wxerr.Invalid("filename", "required")
	}
	ctype := "video/mp4"
	if f, ok := DetectImageFormat(data); ok {
		if len(data) > MaxAuditImageSize {
			return nil, wxerr.Invalid("media", "an image is at most 2 MB; got "+strconv.Itoa(len(data))+" bytes")
		}
		ctype = f.ContentType()
	} else if !isMP4(data) {
		return nil, wxerr.Invalid("media", "a PNG, JPEG, GIF or BMP image or an MP4 video (checked by content)")
	} else if len(data) > MaxAuditVideoSize {
		return nil, wxerr.Invalid("media", "a video is at most 20 MB; got "+strconv.Itoa(len(data))+" bytes")
	}
	req := &wxcall.Request{Method: "POST", Path: "/wxa/uploadmedia",
		Upload: &wxcall.Upload{Field: "media", FileName: filename, ContentType: ctype, Data: data}}
	var out AuditMedia
	if err := c.call(ctx, req, &out); err != nil {
		return nil, err
	}
	if out.MediaID == "" {
		return nil, errors.New("wxopen: POST /wxa/uploadmedia: answer has no mediaid")
	}
	return &out, nil
}

// GrayReleaseRequest starts or raises a grey (phased) release of the approved version.
type GrayReleaseRequest struct {
	// Percentage of users who get the new version: 1 to 100. Required.
	Percentage int `json:"gray_percentage"`
	// SupportExperiencerFirst and SupportDebugerFirst give it to testers or project members first
	// (as request fields these rest on one source, digest 12.6; sent only when true).
	SupportExperiencerFirst bool `json:"support_experiencer_first,omitempty"`
	SupportDebugerFirst     bool `json:"support_debuger_first,omitempty"`
}

// GrayRelease starts or raises a grey release of the approved, unreleased version. Release then
// gives it to everyone; RevertGrayRelease cancels it. While it runs RevertRelease fails (87011).
//
// WeChat: POST /wxa/grayrelease
func (c *Client) GrayRelease(ctx context.Context, r GrayReleaseRequest) error {
	if r.Percentage < 1 || r.Percentage > 100 {
		return wxerr.Invalid("gray_percentage", "1 to 100; got "+strconv.Itoa(r.Percentage))
	}
	return c.call(ctx, post("/wxa/grayrelease", r, false), nil)
}

// RevertGrayRelease cancels the running grey release.
//
// WeChat: GET /wxa/revertgrayrelease
func (c *Client) RevertGrayRelease(ctx context.Context) error {
	req := get("/wxa/revertgrayrelease")
	req.Idempotent = false
	return c.call(ctx, req, nil)
}

// GrayStatus is the state of a grey release plan.
type GrayStatus int

// Grey release states.
const (
	GrayInitial  GrayStatus = 0
	GrayRunning  GrayStatus = 1
	GrayPaused   GrayStatus = 2
	GrayFinished GrayStatus = 3
	GrayDeleted  GrayStatus = 4
)

// GrayReleasePlan is the grey release plan.
type GrayReleasePlan struct {
	Status GrayStatus `json:"status"`
	// CreateTimestamp is when the plan was made (create_timestamp, unix seconds on the wire); zero
	// when WeChat gave none.
	CreateTimestamp         time.Time `json:"-"`
	Percentage              int       `json:"gray_percentage"`
	SupportExperiencerFirst bool      `json:"support_experiencer_first"`
	SupportDebugerFirst     bool      `json:"support_debuger_first"`
}

// UnmarshalJSON decodes WeChat's form, create_timestamp in unix seconds.
func (g *GrayReleasePlan) UnmarshalJSON(b []byte) error {
	type plain GrayReleasePlan
	var w struct {
		plain
		CreateTimestamp int64 `json:"create_timestamp"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*g = GrayReleasePlan(w.plain)
	g.CreateTimestamp = unixTime(w.CreateTimestamp)
	return nil
}

// MarshalJSON encodes WeChat's form again.
func (g GrayReleasePlan) MarshalJSON() ([]byte, error) {
	type plain GrayReleasePlan
	return json.Marshal(struct {
		plain
		CreateTimestamp int64 `json:"create_timestamp"`
	}{plain(g), unixSeconds(g.CreateTimestamp)})
}

// GrayReleasePlan returns the grey release plan.
//
// WeChat: GET /wxa/getgrayreleaseplan
func (c *Client) GrayReleasePlan(ctx context.Context) (*GrayReleasePlan, error) {
	var out struct {
		Plan GrayReleasePlan `json:"gray_release_plan"`
	}
	if err := c.call(ctx, get("/wxa/getgrayreleaseplan"), &out); err != nil {
		return nil, err
	}
	return &out.Plan, nil
}

// VisitAction opens or closes the live mini program to users.
type VisitAction string

// Visit actions.
const (
	VisitOpen  VisitAction = "open"
	VisitClose VisitAction = "close"
)

// SetVisitStatus takes the live mini program offline (VisitClose) or back online (VisitOpen).
//
// WeChat: POST /wxa/change_visitstatus
func (c *Client) SetVisitStatus(ctx context.Context, action VisitAction) error {
	if action != VisitOpen && action != VisitClose {
		return wxerr.Invalid("action", `"open" or "close"`)
	}
	return c.call(ctx, post("/wxa/change_visitstatus", map[string]VisitAction{"action": action}, false), nil)
}

// VisitStatus values. WeChat does not document them (digest 12.7, unverified); this is the one
// place wxopen reads them: 0 open to users, 1 closed by SetVisitStatus(VisitClose).
const (
	VisitStatusOpen   = 0
	VisitStatusClosed = 1
)

// VisitStatus returns the visit status of the live mini program (VisitStatusOpen or
// VisitStatusClosed).
//
// WeChat: POST /wxa/getvisitstatus
func (c *Client) VisitStatus(ctx context.Context) (int, error) {
	var out struct {
		Status *int `json:"status"`
	}
	if err := c.call(ctx, post("/wxa/getvisitstatus", json.RawMessage(`{}`), true), &out); err != nil {
		return 0, err
	}
	if out.Status == nil {
		return 0, errors.New("wxopen: POST /wxa/getvisitstatus: answer has no status")
	}
	return *out.Status, nil
}
