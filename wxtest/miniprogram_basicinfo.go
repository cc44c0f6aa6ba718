package wxtest

// Basic info (API digest 5.2-5.3): name, avatar, introduction, temporary media.
//
// Rules the emulator enforces, and the errcodes it answers:
//   - setnickname: width 4-30 where a CJK or full-width character counts 2 (85030); no "小程序"
//     (85031); a name another known account uses (85029); not after the first release, and at most
//     2 renames (91002). With materials (license, id_card, naming_other_stuff_N: image media ids of
//     the caller, 40007 otherwise) the answer carries an audit_id and the name is under review until
//     ReviewNickname; without materials it changes at once.
//   - modifyheadimage: an image media id of the caller from media/upload (40007), at most 2 MB
//     (40006), crop x1,y1,x2,y2 in [0,1] with x1<x2 and y1<y2 (40097); 5 changes (85049).
//   - modifysignature: 4-120 characters (85036); 5 changes (85049).
//   - media/upload: type image|voice|video|thumb (40004); file in form field "media" (41005), at
//     most 10 MB (40006); images PNG, JPEG, GIF or BMP by content (40005). Media expire after 3 days.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Paths of this file's endpoints.
const (
	pathSetNickname     = "/wxa/setnickname"
	pathMediaUpload     = "/cgi-bin/media/upload"
	pathModifyHeadImage = "/cgi-bin/account/modifyheadimage"
	pathModifySignature = "/cgi-bin/account/modifysignature"
	pathBasicInfo       = "/cgi-bin/account/getaccountbasicinfo"
)

// Limits of this file's rules.
const (
	mediaTTL       = 72 * time.Hour
	maxHeadImage   = 2 << 20
	maxMedia       = 10 << 20 // media/upload
	nicknameQuota  = 2
	headImageQuota = 5
	signatureQuota = 5
)

// mpMedia is a temporary media file from media/upload.
type mpMedia struct {
	appID   string
	typ     string
	image   bool
	size    int
	expires time.Time
}

// registerMPBasicInfo registers the basic-info endpoints.
func (s *Server) registerMPBasicInfo() {
	s.route(http.MethodPost, pathSetNickname, authAuthorizer, s.mpSetNickname)
	s.route(http.MethodPost, pathMediaUpload, authAuthorizer, s.mpMediaUpload)
	s.route(http.MethodPost, pathModifyHeadImage, authAuthorizer, s.mpModifyHeadImage)
	s.route(http.MethodPost, pathModifySignature, authAuthorizer, s.mpModifySignature)
	s.route(http.MethodGet, pathBasicInfo, authAuthorizer, s.mpBasicInfo)
	s.route(http.MethodPost, pathBasicInfo, authAuthorizer, s.mpBasicInfo)
}

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
		// Under review: the account keeps its name until ReviewNickname (digest 5.2).
		app.nicknamePending = name
		s.noteNicknameAudit(a.info.AppID, 10000000+app.nicknameUsed, name, 1, "", c.now) // miniprogram_nickname.go
		return withOK(map[string]any{"audit_id": 10000000 + app.nicknameUsed, "wording": "名称审核中"}), nil
	}
	a.info.NickName = name
	app.nicknamePending = ""
	return withOK(map[string]any{"wording": ""}), nil
}

// ReviewNickname plays WeChat's reviewers on the name appID submitted with materials (setnickname
// answered an audit_id): approve gives the account that name, otherwise it keeps its name. The result
// is pushed as wxa_nickname_audit (ret 3 approved, 2 rejected, nickname, reason) to the message event
// URL. It is an error when no name is under review.
func (s *Server) ReviewNickname(ctx context.Context, appID string, approve bool, reason string) error {
	now := s.Now()
	s.mu.Lock()
	a := s.authorizers[appID]
	app := s.mp().apps[appID]
	if a == nil || app == nil || app.nicknamePending == "" {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: ReviewNickname: %s has no name under review", appID)
	}
	name, ret := app.nicknamePending, 3
	app.nicknamePending = ""
	if approve {
		a.info.NickName, reason = name, ""
	} else {
		ret = 2
		if reason == "" {
			reason = "名称与主体不符"
		}
	}
	s.noteNicknameAudit(appID, 10000000+app.nicknameUsed, name, ret, reason, now) // miniprogram_nickname.go
	msg := xmlMessage(xmlField{"ToUserName", a.info.UserName, false}, xmlField{"FromUserName", auditSystemOpenID, false},
		xmlField{"CreateTime", strconv.FormatInt(now.Unix(), 10), true}, xmlField{"MsgType", "event", false},
		xmlField{"Event", "wxa_nickname_audit", false}, xmlField{"ret", strconv.Itoa(ret), true},
		xmlField{"nickname", name, false}, xmlField{"reason", reason, false})
	s.mu.Unlock()
	return s.PushAuthorizerEvent(ctx, appID, msg)
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
