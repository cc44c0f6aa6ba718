package miniprogram

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/wxerr"
)

// InterfaceStatus is the state of a privacy interface for the mini program.
type InterfaceStatus int

// Privacy interface states (digest 10.5).
const (
	InterfaceNotApplied   InterfaceStatus = 1
	InterfaceNoPermission InterfaceStatus = 2
	InterfaceReviewing    InterfaceStatus = 3
	InterfaceRejected     InterfaceStatus = 4
	InterfaceEnabled      InterfaceStatus = 5
)

// String names the state.
func (s InterfaceStatus) String() string {
	switch s {
	case InterfaceNotApplied:
		return "not applied"
	case InterfaceNoPermission:
		return "no permission"
	case InterfaceReviewing:
		return "reviewing"
	case InterfaceRejected:
		return "rejected"
	case InterfaceEnabled:
		return "enabled"
	}
	return "InterfaceStatus(" + strconv.Itoa(int(s)) + ")"
}

// PrivacyInterface is one privacy interface (a location API) and the mini program's permission.
type PrivacyInterface struct {
	APIName   string          `json:"api_name"` // "wx.getLocation"
	APIChName string          `json:"api_ch_name"`
	APIDesc   string          `json:"api_desc"`
	APILink   string          `json:"api_link"`
	GroupName string          `json:"group_name"`
	Status    InterfaceStatus `json:"status"`
	// AuditID, ApplyTime: the latest application, if any (ApplyTime is apply_time, unix seconds on
	// the wire; zero when none).
	AuditID   int64     `json:"audit_id"`
	ApplyTime time.Time `json:"-"`
	// FailReason is why the latest application was rejected.
	FailReason string `json:"fail_reason"`
}

// UnmarshalJSON decodes WeChat's form, apply_time in unix seconds.
func (p *PrivacyInterface) UnmarshalJSON(b []byte) error {
	type plain PrivacyInterface
	var w struct {
		plain
		ApplyTime int64 `json:"apply_time"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*p = PrivacyInterface(w.plain)
	p.ApplyTime = unixTime(w.ApplyTime)
	return nil
}

// MarshalJSON encodes WeChat's form again.
func (p PrivacyInterface) MarshalJSON() ([]byte, error) {
	type plain PrivacyInterface
	return json.Marshal(struct {
		plain
		ApplyTime int64 `json:"apply_time"`
	}{plain(p), unixSeconds(p.ApplyTime)})
}

// Interfaces lists the privacy interfaces and the mini program's permission for each.
//
// WeChat: GET /wxa/security/get_privacy_interface
func (p PrivacyService) Interfaces(ctx context.Context) ([]PrivacyInterface, error) {
	var out struct {
		List []PrivacyInterface `json:"interface_list"`
	}
	if err := p.c.call(ctx, get("/wxa/security/get_privacy_interface"), &out); err != nil {
		return nil, err
	}
	return out.List, nil
}

// ApplyInterfaceRequest applies for a privacy interface.
type ApplyInterfaceRequest struct {
	// APIName is the case-sensitive API name ("wx.getLocation"). Required.
	APIName string `json:"api_name"`
	// Content is why the mini program needs it: 1 to 300 characters. Required.
	Content string `json:"content"`
	// URLList, PicList (image URLs, at most 10) and VideoList (one mp4 URL at most) support the
	// application; at least one of them is required.
	URLList   []string `json:"url_list,omitempty"`
	PicList   []string `json:"pic_list,omitempty"`
	VideoList []string `json:"video_list,omitempty"`
}

// ApplyInterface applies for a privacy interface and returns the application's audit id. The
// result is pushed as wxa_privacy_apply (component.PrivacyApplyEvent); Interfaces shows it too.
//
// WeChat: POST /wxa/security/apply_privacy_interface
func (p PrivacyService) ApplyInterface(ctx context.Context, r ApplyInterfaceRequest) (auditID int64, err error) {
	switch n := utf8.RuneCountInString(r.Content); {
	case !strings.HasPrefix(r.APIName, "wx."):
		return 0, wxerr.Invalid("api_name", `the API's name, e.g. "wx.getLocation"`)
	case n == 0 || n > MaxPrivacyApplyContent:
		return 0, wxerr.Invalid("content", "1 to 300 characters; got "+strconv.Itoa(n))
	case len(r.URLList)+len(r.PicList)+len(r.VideoList) == 0:
		return 0, wxerr.Invalid("url_list", "at least one of url_list, pic_list, video_list")
	case len(r.PicList) > maxPrivacyApplyPics:
		return 0, wxerr.Invalid("pic_list", "at most 10 pictures")
	case len(r.VideoList) > maxPrivacyApplyVideos:
		return 0, wxerr.Invalid("video_list", "at most one video")
	}
	for _, l := range []struct {
		field string
		list  []string
	}{{"url_list", r.URLList}, {"pic_list", r.PicList}, {"video_list", r.VideoList}} {
		for i, u := range l.list {
			if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
				return 0, wxerr.Invalid(l.field, "item "+strconv.Itoa(i+1)+" must be an http(s) URL")
			}
		}
	}
	for _, v := range r.VideoList {
		if !strings.HasSuffix(strings.ToLower(strings.SplitN(v, "?", 2)[0]), ".mp4") {
			return 0, wxerr.Invalid("video_list", "the video must be an mp4")
		}
	}
	var out struct {
		AuditID *int64 `json:"audit_id"`
	}
	if err := p.c.call(ctx, post("/wxa/security/apply_privacy_interface", r, false), &out); err != nil {
		return 0, err
	}
	if out.AuditID == nil {
		return 0, errors.New("wxopen: POST /wxa/security/apply_privacy_interface: answer has no audit_id")
	}
	return *out.AuditID, nil
}

// PrivacyGuideTemplate is a platform-wide privacy guide: the purposes of every privacy key the
// platform's template code may use, and the keys it always uses. A merchant's guide is built from it
// and the merchant's scan result (BuildGuide), so that every key the code uses is declared.
type PrivacyGuideTemplate struct {
	// Texts are the purposes by privacy key ("Location": "推荐附近门店"). Every key the scan may
	// detect needs one.
	Texts map[string]string
	// Used are the keys the template code uses, declared even when the scan does not detect them
	// (WeChat's detection is incomplete).
	Used []string
	// Owner is the merchant-independent part of the owner settings (NoticeMethod,
	// StoreExpireTimestamp); BuildGuide takes the contacts from its owner argument.
	Owner PrivacyOwner
}

// MissingTextError is BuildGuide's error when the code uses privacy keys the template has no
// purpose for.
type MissingTextError struct {
	Keys []string
}

// Error names the keys without a purpose.
func (e *MissingTextError) Error() string {
	return "wxopen: the privacy guide template has no purpose for the keys the code uses: " + strings.Join(e.Keys, ", ")
}

// BuildGuide builds the development guide of one merchant: the template's owner settings with the
// merchant's contacts from owner, and one item for every key the scan detected (scan.DetectedKeys)
// or the template uses, with the template's purpose, sorted by key. A detected key without a purpose
// is a *MissingTextError: the guide would not cover the code.
func BuildGuide(tpl PrivacyGuideTemplate, owner PrivacyOwner, scan *PrivacyInfo) (PrivacySetting, error) {
	keys := map[string]bool{}
	for _, k := range tpl.Used {
		keys[k] = true
	}
	if scan != nil {
		for _, k := range scan.DetectedKeys {
			keys[k] = true
		}
	}
	var missing []string
	items := make([]PrivacyItem, 0, len(keys))
	for k := range keys {
		text, ok := tpl.Texts[k]
		if !ok || strings.TrimSpace(text) == "" {
			missing = append(missing, k)
			continue
		}
		items = append(items, PrivacyItem{Key: k, Text: text})
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return PrivacySetting{}, &MissingTextError{Keys: missing}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Key < items[j].Key })
	o := tpl.Owner
	o.ContactEmail, o.ContactPhone, o.ContactQQ, o.ContactWeixin = owner.ContactEmail, owner.ContactPhone, owner.ContactQQ, owner.ContactWeixin
	if owner.NoticeMethod != "" {
		o.NoticeMethod = owner.NoticeMethod
	}
	if owner.StoreExpireTimestamp != "" {
		o.StoreExpireTimestamp = owner.StoreExpireTimestamp
	}
	if owner.ExtFileMediaID != "" {
		o.ExtFileMediaID = owner.ExtFileMediaID
	}
	s := PrivacySetting{Version: PrivacyDevelopment, Owner: o, Items: items}
	if err := o.validate(PrivacyDevelopment); err != nil {
		return PrivacySetting{}, err
	}
	return s, validateItems(items)
}

// DeclareGuide reads the scan's detected keys (Setting), builds the merchant's guide from tpl
// (BuildGuide) and writes it (SetSetting), in two calls. Call it after the privacy scan of the
// last commit has finished (WaitCodePrivacyInfo), or the detected keys may be incomplete.
func (p PrivacyService) DeclareGuide(ctx context.Context, tpl PrivacyGuideTemplate, owner PrivacyOwner) (PrivacySetting, error) {
	info, err := p.Setting(ctx, PrivacyDevelopment)
	if err != nil {
		return PrivacySetting{}, err
	}
	s, err := BuildGuide(tpl, owner, info)
	if err != nil {
		return PrivacySetting{}, err
	}
	return s, p.SetSetting(ctx, s)
}
