package wxtest

// Privacy guide, code privacy scan and privacy interfaces (API digest part 2, section 10).
//
// Rules the emulator enforces, and the errcodes it answers:
//   - The code of a template uses the privacy keys and privacy APIs its draft lists
//     (TemplateDraft.PrivacyKeys, PrivacyAPIs). After every commit the scan runs for PrivacyScanTime
//     of the emulator clock: get_code_privacy_info and submit_audit answer 61039 meanwhile.
//   - get_code_privacy_info: without_conf_list = used APIs missing from ext_json requiredPrivateInfos
//     (by their name without "wx."), without_auth_list = used APIs not enabled for the mini program.
//   - setprivacysetting: privacy_ver 1 or 2 (86071); owner_setting with notice_method and one contact
//     (86069); store_expire_timestamp "<n>天" (87072); ver 1 only over a live guide (86074), without
//     setting_list or ext_file_media_id (40097); ver 2 needs setting_list with known keys (40097);
//     ext_file_media_id from uploadprivacyextfile of the caller (40007). The development guide goes
//     live with the next release.
//   - uploadprivacyextfile: multipart field "file", a .txt (40006), at most 100 KB (40126).
//   - apply_privacy_interface: a known interface (61035), content 1-300 characters and one of
//     url_list/pic_list/video_list (61034), video mp4 (61032), no application under review (61031);
//     the application stays under review until ReviewPrivacyInterface, which pushes wxa_privacy_apply.
//   - submit_audit (the gates of this file, after the category gate): 61039 while scanning; 61040 when
//     a used API is undeclared in requiredPrivateInfos, or not enabled and privacy_api_not_use is
//     not set; 61040 when a detected privacy key is not declared in the development guide. WeChat
//     itself lets an incomplete guide through to a rejected audit (digest 10.6); the emulator refuses
//     at once with 61040, the code WeChat gives undeclared privacy use — wxopen's readiness check
//     reports the same code for the same gate.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/wxerr"
)

// PrivacyScanTime is how long the privacy scan of a commit takes on the emulator clock (WeChat says
// about a minute).
const PrivacyScanTime = time.Minute

const (
	pathSetPrivacy      = "/cgi-bin/component/setprivacysetting"
	pathGetPrivacy      = "/cgi-bin/component/getprivacysetting"
	pathPrivacyExtFile  = "/cgi-bin/component/uploadprivacyextfile"
	pathCodePrivacyInfo = "/wxa/security/get_code_privacy_info"
	pathPrivacyIfaces   = "/wxa/security/get_privacy_interface"
	pathApplyPrivacy    = "/wxa/security/apply_privacy_interface"
	maxPrivacyExtFile   = 100 << 10
)

// privacyKeys are the privacy keys the emulator knows, with WeChat's description.
var privacyKeys = []struct{ key, desc string }{
	{"UserInfo", "用户信息（微信昵称、头像）"}, {"Location", "位置信息"}, {"Address", "地址"}, {"Invoice", "发票信息"},
	{"RunData", "微信运动步数"}, {"Record", "麦克风"}, {"Album", "选中的照片或视频信息"}, {"Camera", "摄像头"},
	{"PhoneNumber", "手机号码"}, {"Contact", "通讯录（仅写入）权限"}, {"DeviceInfo", "设备信息"},
	{"EXIDNumber", "身份证号码"}, {"EXOrderInfo", "订单信息"}, {"EXUserPublishContent", "发布内容"},
	{"EXUserFollowAcct", "所关注账号"}, {"EXUserOpLog", "操作日志"}, {"AlbumWriteOnly", "相册（仅写入）权限"},
	{"LicensePlate", "车牌号"}, {"BlueTooth", "蓝牙"}, {"CalendarWriteOnly", "日历（仅写入）权限"}, {"Email", "邮箱"},
	{"MessageFile", "选中的文件"}, {"ChooseLocation", "选择的位置信息"},
}

// privacyInterfaces are the privacy interfaces that need an application (digest 10.5).
var privacyInterfaces = []struct{ name, ch string }{
	{"wx.chooseAddress", "获取用户收货地址"}, {"wx.chooseLocation", "打开地图选择位置"}, {"wx.choosePoi", "打开POI列表选择位置"},
	{"wx.getFuzzyLocation", "获取模糊地理位置"}, {"wx.getLocation", "获取当前的地理位置、速度"},
	{"wx.onLocationChange", "监听实时地理位置变化事件"}, {"wx.startLocationUpdate", "开启小程序进入前台时接收位置消息"},
	{"wx.startLocationUpdateBackground", "开启小程序进入前后台时均接收位置消息"},
}

// Privacy interface states (digest 10.5).
const (
	ifaceNotApplied = 1
	ifaceReviewing  = 3
	ifaceRejected   = 4
	ifaceEnabled    = 5
)

// privacyState is this file's state, kept on the Server with groupState.
type privacyState struct {
	apps    map[string]*mpPrivacy // by authorizer appid
	nextID  int64
	extFile map[string]string // ext_file_media_id → appid
}

// mpPrivacy is the privacy state of one mini program.
type mpPrivacy struct {
	dev, live *privacyGuide
	ifaces    map[string]*privacyIface // by api_name
}

type privacyGuide struct {
	owner   map[string]string
	items   []privacyItem
	updated time.Time
}

type privacyItem struct {
	Key  string `json:"privacy_key"`
	Text string `json:"privacy_text"`
}

type privacyIface struct {
	status     int
	auditID    int64
	applyTime  time.Time
	failReason string
}

// privacyGroup returns this file's state. Call with s.mu held.
func (s *Server) privacyGroup() *privacyState {
	return groupState(s, func() *privacyState {
		return &privacyState{apps: map[string]*mpPrivacy{}, nextID: 800000000, extFile: map[string]string{}}
	})
}

// privacy returns the privacy state of appID, creating it. Call with s.mu held.
func (s *Server) privacy(appID string) *mpPrivacy {
	st := s.privacyGroup()
	p := st.apps[appID]
	if p == nil {
		p = &mpPrivacy{ifaces: map[string]*privacyIface{}}
		st.apps[appID] = p
	}
	return p
}

func (s *Server) registerMPPrivacy() {
	code := func(h func(c *call) (any, error)) func(c *call) (any, error) { return needFunc(h, true, 18) }
	s.route(http.MethodPost, pathSetPrivacy, authAuthorizer, code(s.mpSetPrivacy))
	s.route(http.MethodPost, pathGetPrivacy, authAuthorizer, code(s.mpGetPrivacy))
	s.route(http.MethodPost, pathPrivacyExtFile, authAuthorizer, code(s.mpPrivacyExtFile))
	s.route(http.MethodGet, pathCodePrivacyInfo, authAuthorizer, code(s.mpCodePrivacyInfo))
	s.route(http.MethodGet, pathPrivacyIfaces, authAuthorizer, code(s.mpPrivacyInterfaces))
	s.route(http.MethodPost, pathApplyPrivacy, authAuthorizer, code(s.mpApplyPrivacy))
}

var storeExpire = regexp.MustCompile(`^[1-9][0-9]*天$`)

// mpSetPrivacy: POST /cgi-bin/component/setprivacysetting.
func (s *Server) mpSetPrivacy(c *call) (any, error) {
	var req struct {
		Ver         *int               `json:"privacy_ver"`
		Owner       *map[string]string `json:"owner_setting"`
		SettingList *[]privacyItem     `json:"setting_list"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	ver := 2
	if req.Ver != nil {
		ver = *req.Ver
	}
	if ver != 1 && ver != 2 {
		return nil, apiErr(wxerr.CodePrivacyVersionInvalid, "invalid privacy_ver")
	}
	if req.Owner == nil {
		return nil, apiErr(wxerr.CodePrivacyOwnerSetting, "owner_setting is required")
	}
	owner := *req.Owner
	if owner["notice_method"] == "" || owner["contact_email"]+owner["contact_phone"]+owner["contact_qq"]+owner["contact_weixin"] == "" {
		return nil, apiErr(wxerr.CodePrivacyOwnerSetting, "owner_setting lacks notice_method or a contact")
	}
	if v := owner["store_expire_timestamp"]; v != "" && !storeExpire.MatchString(v) {
		return nil, apiErr(wxerr.CodePrivacyStoreExpireFormat, "invalid store_expire_timestamp")
	}
	p := s.privacy(a.info.AppID)
	if id := owner["ext_file_media_id"]; id != "" {
		if ver == 1 {
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [ext_file_media_id] not allowed for privacy_ver 1")
		}
		if s.privacyGroup().extFile[id] != a.info.AppID {
			return nil, apiErr(40007, "invalid media_id")
		}
	}
	if ver == 1 {
		if p.live == nil {
			return nil, apiErr(wxerr.CodePrivacyNoLiveGuide, "no live privacy setting")
		}
		if req.SettingList != nil {
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [setting_list] not allowed for privacy_ver 1")
		}
		owner["ext_file_media_id"] = p.live.owner["ext_file_media_id"] // ver 1 keeps the custom file
		p.live = &privacyGuide{owner: owner, items: p.live.items, updated: c.now}
		return answerOK(), nil
	}
	if req.SettingList == nil {
		return nil, missing("setting_list")
	}
	for _, it := range *req.SettingList {
		if !slices.ContainsFunc(privacyKeys, func(k struct{ key, desc string }) bool { return k.key == it.Key }) || it.Text == "" {
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [setting_list] privacy_key "+it.Key)
		}
	}
	p.dev = &privacyGuide{owner: owner, items: slices.Clone(*req.SettingList), updated: c.now}
	return answerOK(), nil
}

// mpGetPrivacy: POST /cgi-bin/component/getprivacysetting.
func (s *Server) mpGetPrivacy(c *call) (any, error) {
	var req struct {
		Ver *int `json:"privacy_ver"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	ver := 2
	if req.Ver != nil {
		ver = *req.Ver
	}
	if ver != 1 && ver != 2 {
		return nil, apiErr(wxerr.CodePrivacyVersionInvalid, "invalid privacy_ver")
	}
	p := s.privacy(a.info.AppID)
	g := p.dev
	if ver == 1 {
		g = p.live
	}
	owner := map[string]string{"contact_email": "", "contact_phone": "", "contact_qq": "", "contact_weixin": "",
		"ext_file_media_id": "", "notice_method": "", "store_expire_timestamp": ""}
	settings := []map[string]string{}
	var updated int64
	if g != nil {
		for k, v := range g.owner {
			owner[k] = v
		}
		for _, it := range g.items {
			settings = append(settings, map[string]string{"privacy_key": it.Key, "privacy_text": it.Text, "privacy_label": privacyDesc(it.Key)})
		}
		updated = g.updated.Unix()
	}
	detected := []string{}
	codeExist := 0
	if app.trial != nil && !s.scanning(app, c.now) {
		codeExist = 1
		detected = append(detected, s.codeUse(app.trial).keys...)
	}
	desc := make([]map[string]string, 0, len(privacyKeys))
	for _, k := range privacyKeys {
		desc = append(desc, map[string]string{"privacy_key": k.key, "privacy_desc": k.desc})
	}
	return withOK(map[string]any{"code_exist": codeExist, "privacy_list": detected, "setting_list": settings,
		"update_time": updated, "owner_setting": owner, "privacy_desc": map[string]any{"privacy_desc_list": desc}}), nil
}

func privacyDesc(key string) string {
	for _, k := range privacyKeys {
		if k.key == key {
			return k.desc
		}
	}
	return ""
}

// formFile returns the file in the multipart form field of c's body.
func formFile(c *call, field string) (name string, data []byte, ok bool) {
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return "", nil, false
	}
	mr := multipart.NewReader(bytes.NewReader(c.body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return "", nil, false
		}
		if p.FormName() == field && p.FileName() != "" {
			var b bytes.Buffer
			if _, err := b.ReadFrom(p); err != nil {
				return "", nil, false
			}
			return p.FileName(), b.Bytes(), true
		}
	}
}

// mpPrivacyExtFile: POST /cgi-bin/component/uploadprivacyextfile, the file in "file".
func (s *Server) mpPrivacyExtFile(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	name, data, ok := formFile(c, "file")
	switch {
	case !ok || len(data) == 0:
		return nil, apiErr(41005, "media data missing")
	case len(data) > maxPrivacyExtFile:
		return nil, apiErr(wxerr.CodePrivacyFileTooLarge, "file size exceeds 100KB")
	case !strings.HasSuffix(strings.ToLower(name), ".txt") || !utf8.Valid(data):
		return nil, apiErr(wxerr.CodeFileInvalid, "invalid file type")
	}
	id := "ext" + randAlnum(40)
	s.privacyGroup().extFile[id] = a.info.AppID
	return withOK(map[string]any{"ext_file_media_id": id}), nil
}

// codeUse is what a committed version uses.
type codeUse struct {
	keys, apis, declared []string // declared: requiredPrivateInfos of ext_json
}

// codeUse returns the privacy keys and APIs the template of v uses. Call with s.mu held.
func (s *Server) codeUse(v *mpVersion) codeUse {
	var u codeUse
	if tpl := s.templates[v.templateID]; tpl != nil {
		u.keys = slices.Clone(tpl.draft.PrivacyKeys)
		u.apis = slices.Clone(tpl.draft.PrivacyAPIs)
	}
	var ext struct {
		Required []string `json:"requiredPrivateInfos"`
	}
	_ = json.Unmarshal([]byte(v.extJSON), &ext)
	u.declared = ext.Required
	return u
}

// scanning reports whether the privacy scan of app's last commit is still running at now.
func (s *Server) scanning(app *mpApp, now time.Time) bool {
	return app.trial != nil && now.Before(app.trial.commitTime.Add(PrivacyScanTime))
}

// privacyScan returns the without_auth and without_conf lists of the committed code.
func (s *Server) privacyScan(appID string, v *mpVersion) (withoutAuth, withoutConf []string) {
	u := s.codeUse(v)
	p := s.privacy(appID)
	withoutAuth, withoutConf = []string{}, []string{}
	for _, api := range u.apis {
		if !slices.Contains(u.declared, strings.TrimPrefix(api, "wx.")) {
			withoutConf = append(withoutConf, api)
		}
		if f := p.ifaces[api]; f == nil || f.status != ifaceEnabled {
			withoutAuth = append(withoutAuth, api)
		}
	}
	return withoutAuth, withoutConf
}

// mpCodePrivacyInfo: GET /wxa/security/get_code_privacy_info.
func (s *Server) mpCodePrivacyInfo(c *call) (any, error) {
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if app.trial == nil {
		return nil, apiErr(wxerr.CodeCommitFirst, "")
	}
	if s.scanning(app, c.now) {
		return nil, apiErr(wxerr.CodePrivacyScanPending, "the privacy scan is not finished, retry in a minute")
	}
	auth, conf := s.privacyScan(a.info.AppID, app.trial)
	return withOK(map[string]any{"without_auth_list": auth, "without_conf_list": conf}), nil
}

// privacyGate applies the privacy gates of submit_audit. Call with s.mu held.
func (s *Server) privacyGate(c *call, appID string, app *mpApp, notUse bool) error {
	if s.scanning(app, c.now) {
		return apiErr(wxerr.CodePrivacyScanPending, "the privacy scan is not finished, retry in a minute")
	}
	auth, conf := s.privacyScan(appID, app.trial)
	if len(conf) > 0 {
		return apiErr(wxerr.CodePrivacyConfigMissing, "requiredPrivateInfos does not declare "+strings.Join(conf, ","))
	}
	if len(auth) > 0 && !notUse {
		return apiErr(wxerr.CodePrivacyConfigMissing, "privacy interface not enabled: "+strings.Join(auth, ","))
	}
	dev := s.privacy(appID).dev
	for _, k := range s.codeUse(app.trial).keys {
		if dev == nil {
			return apiErr(wxerr.CodePrivacyConfigMissing, "no privacy guide (setprivacysetting) while the code uses "+k)
		}
		if !slices.ContainsFunc(dev.items, func(it privacyItem) bool { return it.Key == k }) {
			return apiErr(wxerr.CodePrivacyConfigMissing, "the privacy guide does not declare "+k)
		}
	}
	return nil
}

// promotePrivacy makes the development guide live, on release. Call with s.mu held.
func (s *Server) promotePrivacy(appID string) {
	p := s.privacy(appID)
	if p.dev != nil {
		g := *p.dev
		p.live = &g
	}
}

// mpPrivacyInterfaces: GET /wxa/security/get_privacy_interface.
func (s *Server) mpPrivacyInterfaces(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	p := s.privacy(a.info.AppID)
	list := make([]map[string]any, 0, len(privacyInterfaces))
	for _, pi := range privacyInterfaces {
		e := map[string]any{"api_name": pi.name, "api_ch_name": pi.ch, "api_desc": pi.ch, "group_name": "地理位置",
			"api_link": "https://developers.weixin.qq.com/miniprogram/dev/api/location/" + pi.name + ".html", "status": ifaceNotApplied}
		if f := p.ifaces[pi.name]; f != nil {
			e["status"], e["audit_id"], e["apply_time"] = f.status, f.auditID, f.applyTime.Unix()
			if f.status == ifaceRejected {
				e["fail_reason"] = f.failReason
			}
		}
		list = append(list, e)
	}
	return withOK(map[string]any{"interface_list": list}), nil
}

// mpApplyPrivacy: POST /wxa/security/apply_privacy_interface.
func (s *Server) mpApplyPrivacy(c *call) (any, error) {
	var req struct {
		APIName   string   `json:"api_name"`
		Content   string   `json:"content"`
		URLList   []string `json:"url_list"`
		PicList   []string `json:"pic_list"`
		VideoList []string `json:"video_list"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(privacyInterfaces, func(pi struct{ name, ch string }) bool { return pi.name == req.APIName }) {
		return nil, apiErr(wxerr.CodePrivacyApplyNotNeeded, "this api does not need to apply")
	}
	if n := utf8.RuneCountInString(req.Content); n == 0 || n > 300 || len(req.URLList)+len(req.PicList)+len(req.VideoList) == 0 {
		return nil, apiErr(wxerr.CodePrivacyApplyArgsMissing, "content and one of url_list, pic_list, video_list are required")
	}
	for _, v := range req.VideoList {
		if !strings.HasSuffix(strings.ToLower(strings.SplitN(v, "?", 2)[0]), ".mp4") {
			return nil, apiErr(wxerr.CodePrivacyApplyVideoFormat, "video must be mp4")
		}
	}
	p := s.privacy(a.info.AppID)
	if f := p.ifaces[req.APIName]; f != nil && f.status == ifaceReviewing {
		return nil, apiErr(wxerr.CodePrivacyApplyPending, "an application is under review")
	}
	st := s.privacyGroup()
	st.nextID++
	p.ifaces[req.APIName] = &privacyIface{status: ifaceReviewing, auditID: st.nextID, applyTime: c.now}
	return withOK(map[string]any{"audit_id": st.nextID}), nil
}

// ReviewPrivacyInterface plays WeChat's reviewers on the application of the mini program appID for
// the privacy interface apiName ("wx.getLocation"): approve enables it, otherwise it is rejected
// with reason. The result is pushed as wxa_privacy_apply to the message event URL. It is an error
// when no application for apiName is under review.
func (s *Server) ReviewPrivacyInterface(ctx context.Context, appID, apiName string, approve bool, reason string) error {
	now := s.Now()
	s.mu.Lock()
	a := s.authorizers[appID]
	var f *privacyIface
	if a != nil {
		f = s.privacy(appID).ifaces[apiName]
	}
	if f == nil || f.status != ifaceReviewing {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: ReviewPrivacyInterface: %s has no application for %s under review", appID, apiName)
	}
	f.status, f.failReason = ifaceEnabled, ""
	if !approve {
		if reason == "" {
			reason = "申请场景与小程序类目不符"
		}
		f.status, f.failReason = ifaceRejected, reason
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	result := xmlMessage(xmlField{"api_name", apiName, false}, xmlField{"apply_time", strconv.FormatInt(f.applyTime.Unix(), 10), true},
		xmlField{"audit_id", strconv.FormatInt(f.auditID, 10), true}, xmlField{"audit_time", ts, true},
		xmlField{"reason", f.failReason, false}, xmlField{"status", strconv.Itoa(f.status), true})
	inner := strings.TrimSuffix(strings.TrimPrefix(string(result), "<xml>"), "</xml>")
	msg := xmlMessage(xmlField{"ToUserName", a.info.UserName, false}, xmlField{"FromUserName", auditSystemOpenID, false},
		xmlField{"CreateTime", ts, true}, xmlField{"MsgType", "event", false}, xmlField{"Event", "wxa_privacy_apply", false},
		xmlField{"result_info", inner, true})
	s.mu.Unlock()
	return s.PushAuthorizerEvent(ctx, appID, msg)
}
