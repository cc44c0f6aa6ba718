package miniprogram

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// PrivacyService manages the mini program's user privacy protection guide (用户隐私保护指引), the
// code's privacy scan and the applications for privacy interfaces (API digest part 2, section 10).
// Since 2023 WeChat refuses an audit whose code uses a privacy API that the guide does not declare
// or that is not approved. Get one with Client.Privacy; it is a cheap value.
type PrivacyService struct {
	c *Client
}

// Privacy returns the mini program's privacy service.
func (c *Client) Privacy() PrivacyService { return PrivacyService{c: c} }

// PrivacyVersion says which version of the guide a call reads or writes.
type PrivacyVersion int

// Guide versions (privacy_ver).
const (
	// PrivacyLive is the guide users see now; it may only change its owner settings.
	PrivacyLive PrivacyVersion = 1
	// PrivacyDevelopment is the guide that goes live with the next audited release.
	PrivacyDevelopment PrivacyVersion = 2
)

func (v PrivacyVersion) valid() bool { return v == PrivacyLive || v == PrivacyDevelopment }

// PrivacyOwner is who collects the data (owner_setting): at least one contact and NoticeMethod.
type PrivacyOwner struct {
	ContactEmail  string `json:"contact_email,omitempty"`
	ContactPhone  string `json:"contact_phone,omitempty"`
	ContactQQ     string `json:"contact_qq,omitempty"`
	ContactWeixin string `json:"contact_weixin,omitempty"`
	// ExtFileMediaID is a custom guide text (PrivacyService.UploadExtFile); development version only.
	ExtFileMediaID string `json:"ext_file_media_id,omitempty"`
	// NoticeMethod says how users are told of changes ("弹窗"). Required.
	NoticeMethod string `json:"notice_method"`
	// StoreExpireTimestamp is how long data is kept, "<number>天" ("30天"); empty means the standard
	// "shortest necessary period" wording.
	StoreExpireTimestamp string `json:"store_expire_timestamp,omitempty"`
}

// PrivacyItem declares one kind of data the code collects and why.
type PrivacyItem struct {
	// Key is the privacy_key ("Location", "PhoneNumber"…; PrivacyInfo.Descriptions lists them all).
	Key string `json:"privacy_key"`
	// Text is the purpose; WeChat shows it as "为了{Text}", so it must not start with 为了 or 用于.
	Text string `json:"privacy_text"`
	// Label is WeChat's display name of the key (read only).
	Label string `json:"privacy_label,omitempty"`
}

// PrivacySetting is a privacy guide to write.
type PrivacySetting struct {
	// Version is PrivacyDevelopment (the default when zero) or PrivacyLive.
	Version PrivacyVersion
	Owner   PrivacyOwner
	// Items are the declared keys of the development version (empty when the code uses no privacy
	// key); the live version must have none.
	Items []PrivacyItem
}

// Limits of privacy calls (digest 10).
const (
	// MaxPrivacyExtFileSize is the largest custom guide text file: 100 KB.
	MaxPrivacyExtFileSize = 100 * 1024
	// MaxPrivacyApplyContent is the longest reason of an interface application, in characters.
	MaxPrivacyApplyContent = 300
	maxPrivacyApplyPics    = 10
	maxPrivacyApplyVideos  = 1
)

var storeExpireRE = regexp.MustCompile(`^[1-9][0-9]*天$`)

func (o PrivacyOwner) validate(ver PrivacyVersion) error {
	if o.ContactEmail == "" && o.ContactPhone == "" && o.ContactQQ == "" && o.ContactWeixin == "" {
		return wxerr.Invalid("owner_setting", "at least one of contact_email, contact_phone, contact_qq, contact_weixin")
	}
	if strings.TrimSpace(o.NoticeMethod) == "" {
		return wxerr.Invalid("owner_setting.notice_method", "required (how users are told of changes, e.g. 弹窗)")
	}
	if o.StoreExpireTimestamp != "" && !storeExpireRE.MatchString(o.StoreExpireTimestamp) {
		return wxerr.Invalid("owner_setting.store_expire_timestamp", `"<number>天", e.g. "30天"`)
	}
	if ver == PrivacyLive && o.ExtFileMediaID != "" {
		return wxerr.Invalid("owner_setting.ext_file_media_id", "only the development version may change the custom guide file")
	}
	return nil
}

func validateItems(items []PrivacyItem) error {
	seen := make(map[string]bool, len(items))
	for i, it := range items {
		field := "setting_list[" + strconv.Itoa(i) + "]"
		switch {
		case it.Key == "":
			return wxerr.Invalid(field+".privacy_key", "required")
		case seen[it.Key]:
			return wxerr.Invalid(field+".privacy_key", "declared twice: "+it.Key)
		case strings.TrimSpace(it.Text) == "":
			return wxerr.Invalid(field+".privacy_text", "required: the purpose of "+it.Key)
		case strings.HasPrefix(it.Text, "为了") || strings.HasPrefix(it.Text, "用于"):
			return wxerr.Invalid(field+".privacy_text", "WeChat shows it as 为了{text}; do not start it with 为了 or 用于")
		}
		seen[it.Key] = true
	}
	return nil
}

type privacyItemBody struct {
	Key  string `json:"privacy_key"`
	Text string `json:"privacy_text"`
}

type setPrivacyBody struct {
	Version PrivacyVersion `json:"privacy_ver"`
	Owner   PrivacyOwner   `json:"owner_setting"`
	// SettingList is sent (possibly empty) for the development version, never for the live one.
	SettingList *[]privacyItemBody `json:"setting_list,omitempty"`
}

// SetSetting writes the privacy guide. The development version (the default) declares every key the
// code uses and takes effect with the next audited release; the live version may only change the
// owner settings (no custom file), takes effect at once and exists only after a first release
// (86074). Checked before sending: a contact, notice_method, the store period format, the items.
//
// WeChat: POST /cgi-bin/component/setprivacysetting
func (p PrivacyService) SetSetting(ctx context.Context, s PrivacySetting) error {
	if s.Version == 0 {
		s.Version = PrivacyDevelopment
	}
	if !s.Version.valid() {
		return wxerr.Invalid("privacy_ver", "1 (live) or 2 (development)")
	}
	if err := s.Owner.validate(s.Version); err != nil {
		return err
	}
	body := setPrivacyBody{Version: s.Version, Owner: s.Owner}
	if s.Version == PrivacyLive && len(s.Items) > 0 {
		return wxerr.Invalid("setting_list", "must be empty for the live version (privacy_ver 1)")
	}
	if err := validateItems(s.Items); err != nil {
		return err
	}
	if s.Version == PrivacyDevelopment {
		list := make([]privacyItemBody, 0, len(s.Items))
		for _, it := range s.Items {
			list = append(list, privacyItemBody{Key: it.Key, Text: it.Text})
		}
		body.SettingList = &list
	}
	return p.c.call(ctx, post("/cgi-bin/component/setprivacysetting", body, false), nil)
}

// PrivacyInfo is the privacy guide as WeChat has it, with the keys its scan found in the code.
type PrivacyInfo struct {
	// CodeExist is true when code was committed recently; DetectedKeys may be empty otherwise.
	CodeExist bool
	// DetectedKeys are the privacy keys found in the committed code; each must be declared.
	// Detection is incomplete: declare every key the code really uses.
	DetectedKeys []string
	// Items are the declared keys.
	Items []PrivacyItem
	// UpdateTime is when the guide was last written.
	UpdateTime time.Time
	Owner      PrivacyOwner
	// Descriptions are every privacy key WeChat knows, with its description.
	Descriptions map[string]string
}

// Undeclared returns the detected keys the guide does not declare, sorted.
func (i *PrivacyInfo) Undeclared() []string {
	var out []string
	for _, k := range i.DetectedKeys {
		if !slices.ContainsFunc(i.Items, func(it PrivacyItem) bool { return it.Key == k }) && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Setting reads the guide of version ver (0 means PrivacyDevelopment) and the code scan's keys.
//
// WeChat: POST /cgi-bin/component/getprivacysetting
func (p PrivacyService) Setting(ctx context.Context, ver PrivacyVersion) (*PrivacyInfo, error) {
	if ver == 0 {
		ver = PrivacyDevelopment
	}
	if !ver.valid() {
		return nil, wxerr.Invalid("privacy_ver", "1 (live) or 2 (development)")
	}
	var out struct {
		CodeExist    int           `json:"code_exist"`
		PrivacyList  []string      `json:"privacy_list"`
		SettingList  []PrivacyItem `json:"setting_list"`
		UpdateTime   int64         `json:"update_time"`
		OwnerSetting PrivacyOwner  `json:"owner_setting"`
		PrivacyDesc  struct {
			List []struct {
				Key  string `json:"privacy_key"`
				Desc string `json:"privacy_desc"`
			} `json:"privacy_desc_list"`
		} `json:"privacy_desc"`
	}
	body := map[string]PrivacyVersion{"privacy_ver": ver}
	if err := p.c.call(ctx, post("/cgi-bin/component/getprivacysetting", body, true), &out); err != nil {
		return nil, err
	}
	info := &PrivacyInfo{CodeExist: out.CodeExist == 1, DetectedKeys: out.PrivacyList, Items: out.SettingList,
		Owner: out.OwnerSetting, Descriptions: make(map[string]string, len(out.PrivacyDesc.List))}
	if out.UpdateTime > 0 {
		info.UpdateTime = time.Unix(out.UpdateTime, 0)
	}
	for _, d := range out.PrivacyDesc.List {
		info.Descriptions[d.Key] = d.Desc
	}
	return info, nil
}

// UploadExtFile uploads a custom guide text (a .txt file, UTF-8, at most 100 KB) and returns its
// media id, to set as PrivacyOwner.ExtFileMediaID of the development version.
//
// WeChat: POST /cgi-bin/component/uploadprivacyextfile
func (p PrivacyService) UploadExtFile(ctx context.Context, filename string, text []byte) (mediaID string, err error) {
	switch {
	case !strings.HasSuffix(strings.ToLower(filename), ".txt"):
		return "", wxerr.Invalid("file", "a .txt file name")
	case len(text) == 0:
		return "", wxerr.Invalid("file", "the file is empty")
	case len(text) > MaxPrivacyExtFileSize:
		return "", wxerr.Invalid("file", "at most 100 KB (102400 bytes); got "+strconv.Itoa(len(text)))
	case !utf8.Valid(text):
		return "", wxerr.Invalid("file", "must be UTF-8 text")
	}
	req := &wxcall.Request{Method: "POST", Path: "/cgi-bin/component/uploadprivacyextfile",
		Upload: &wxcall.Upload{Field: "file", FileName: filename, ContentType: "text/plain", Data: text}}
	var out struct {
		MediaID string `json:"ext_file_media_id"`
	}
	if err := p.c.call(ctx, req, &out); err != nil {
		return "", err
	}
	if out.MediaID == "" {
		return "", errors.New("wxopen: POST /cgi-bin/component/uploadprivacyextfile: answer has no ext_file_media_id")
	}
	return out.MediaID, nil
}

// CodePrivacy is the result of the privacy scan of the last commit.
type CodePrivacy struct {
	// WithoutAuth are privacy APIs ("wx.getLocation") the code uses that are not approved for this
	// mini program: apply for them (ApplyInterface) or submit with PrivacyAPINotUse.
	WithoutAuth []string `json:"without_auth_list"`
	// WithoutConf are privacy APIs the code uses that ext_json requiredPrivateInfos does not
	// declare: declare them and commit again.
	WithoutConf []string `json:"without_conf_list"`
}

// Clear reports whether the scan found nothing to fix.
func (s *CodePrivacy) Clear() bool { return len(s.WithoutAuth) == 0 && len(s.WithoutConf) == 0 }

// ScanPendingError is WeChat's 61039 for the privacy scan: the scan of the last commit is not
// finished; the same call succeeds later. It wraps the *wxerr.APIError, so
// errors.Is(err, wxerr.ErrPrivacyScanPending) holds too.
type ScanPendingError struct {
	// RetryAfter is how long WeChat says to wait (about a minute).
	RetryAfter time.Duration
	Err        error
}

// ScanRetryAfter is how long WeChat's documentation says the privacy scan takes (digest 10.4).
const ScanRetryAfter = time.Minute

// Error says the scan is running and when to retry.
func (e *ScanPendingError) Error() string {
	return "wxopen: the privacy scan of the last commit is still running; retry in " + e.RetryAfter.String() + ": " + e.Err.Error()
}

// Unwrap returns the WeChat error.
func (e *ScanPendingError) Unwrap() error { return e.Err }

// scanPending turns a 61039 into a *ScanPendingError.
func scanPending(err error) error {
	if errors.Is(err, wxerr.ErrPrivacyScanPending) {
		return &ScanPendingError{RetryAfter: ScanRetryAfter, Err: err}
	}
	return err
}

// CodePrivacyInfo returns the privacy scan of the last commit. While the scan runs (about a
// minute after each commit) it returns a *ScanPendingError: call again later.
//
// WeChat: GET /wxa/security/get_code_privacy_info
func (p PrivacyService) CodePrivacyInfo(ctx context.Context) (*CodePrivacy, error) {
	var out CodePrivacy
	if err := p.c.call(ctx, get("/wxa/security/get_code_privacy_info"), &out); err != nil {
		return nil, scanPending(err)
	}
	return &out, nil
}

// WaitCodePrivacyInfo calls CodePrivacyInfo until the scan is finished, sleeping with sleep between
// tries (nil sleeps ScanRetryAfter on the real clock, stopping early when ctx ends). Other errors
// end the wait.
func (p PrivacyService) WaitCodePrivacyInfo(ctx context.Context, sleep func(context.Context, time.Duration) error) (*CodePrivacy, error) {
	if sleep == nil {
		sleep = sleepCtx
	}
	for {
		res, err := p.CodePrivacyInfo(ctx)
		var pending *ScanPendingError
		if !errors.As(err, &pending) {
			return res, err
		}
		if err := sleep(ctx, pending.RetryAfter); err != nil {
			return nil, err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
