package miniprogram

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// SetNicknameRequest is a new name for the mini program with the materials WeChat may ask for. The
// materials are media ids of temporary images (UploadTempMedia).
type SetNicknameRequest struct {
	// NickName is the new name: 4 to 30 wide (see NicknameWidth), without the word "小程序". Required.
	NickName string
	// IDCard is the media id of the administrator's ID photo (personal mini programs).
	IDCard string
	// License is the media id of the business licence (organisations).
	License string
	// NamingOtherStuff are up to five media ids of other supporting documents.
	NamingOtherStuff []string
}

// SetNicknameResult is WeChat's answer to a rename.
type SetNicknameResult struct {
	// AuditID is the id of the name review; 0 when the name was set at once.
	AuditID int64 `json:"audit_id"`
	// Wording is WeChat's explanation of the materials or review needed.
	Wording string `json:"wording"`
}

// SetNickname renames the mini program. The name is checked before anything is sent (width 4 to 30
// where a Chinese character counts 2, no "小程序"). When WeChat reviews the name, the result carries
// the review's audit id.
//
// WeChat: POST /wxa/setnickname
func (c *Client) SetNickname(ctx context.Context, r SetNicknameRequest) (*SetNicknameResult, error) {
	if err := validateNickname(r.NickName); err != nil {
		return nil, err
	}
	if len(r.NamingOtherStuff) > 5 {
		return nil, wxerr.Invalid("naming_other_stuff", "at most 5 media ids")
	}
	body := map[string]string{"nick_name": r.NickName}
	if r.IDCard != "" {
		body["id_card"] = r.IDCard
	}
	if r.License != "" {
		body["license"] = r.License
	}
	for i, id := range r.NamingOtherStuff {
		if id == "" {
			return nil, wxerr.Invalid("naming_other_stuff_"+strconv.Itoa(i+1), "must not be empty")
		}
		body["naming_other_stuff_"+strconv.Itoa(i+1)] = id
	}
	var out SetNicknameResult
	if err := c.call(ctx, post("/wxa/setnickname", body, false), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// MediaType is the kind of a temporary media file.
type MediaType string

// Temporary media types.
const (
	MediaImage MediaType = "image"
	MediaVoice MediaType = "voice"
	MediaVideo MediaType = "video"
	MediaThumb MediaType = "thumb"
)

// Media is an uploaded temporary media file; WeChat keeps it for three days.
type Media struct {
	Type    MediaType `json:"type"`
	MediaID string    `json:"media_id"`
	// CreatedAt is when WeChat stored the file (created_at, unix seconds on the wire); zero when it
	// gave none.
	CreatedAt time.Time `json:"-"`
}

// UnmarshalJSON decodes WeChat's form, created_at in unix seconds.
func (m *Media) UnmarshalJSON(b []byte) error {
	type plain Media
	var w struct {
		plain
		CreatedAt int64 `json:"created_at"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*m = Media(w.plain)
	m.CreatedAt = unixTime(w.CreatedAt)
	return nil
}

// MarshalJSON encodes WeChat's form again.
func (m Media) MarshalJSON() ([]byte, error) {
	type plain Media
	return json.Marshal(struct {
		plain
		CreatedAt int64 `json:"created_at"`
	}{plain(m), unixSeconds(m.CreatedAt)})
}

// UploadTempMedia uploads data as temporary media of the given kind under filename (sent as
// multipart/form-data in the field "media") and returns its media id. An image must be PNG, JPEG,
// GIF or BMP, recognised by its content; the content type sent is the detected one, whatever the
// file name says.
//
// WeChat: POST /cgi-bin/media/upload
func (c *Client) UploadTempMedia(ctx context.Context, kind MediaType, filename string, data []byte) (*Media, error) {
	switch kind {
	case MediaImage, MediaVoice, MediaVideo, MediaThumb:
	default:
		return nil, wxerr.Invalid("type", "image, voice, video or thumb")
	}
	if filename == "" {
		return nil, wxerr.Invalid("filename", "required")
	}
	if len(data) == 0 {
		return nil, wxerr.Invalid("media", "the file is empty")
	}
	ctype := ""
	if f, ok := DetectImageFormat(data); ok {
		ctype = f.ContentType()
	} else if kind == MediaImage {
		return nil, wxerr.Invalid("media", "an image must be PNG, JPEG, GIF or BMP (checked by content, not by file name)")
	}
	req := &wxcall.Request{
		Method: "POST",
		Path:   "/cgi-bin/media/upload",
		Query:  map[string][]string{"type": {string(kind)}},
		Upload: &wxcall.Upload{Field: "media", FileName: filename, ContentType: ctype, Data: data},
	}
	var out Media
	if err := c.call(ctx, req, &out); err != nil {
		return nil, err
	}
	if out.MediaID == "" {
		return nil, errors.New("wxopen: POST /cgi-bin/media/upload: answer has no media_id")
	}
	return &out, nil
}

// Crop is the part of an avatar image to keep, as fractions of its width (X) and height (Y), from the
// top-left corner (X1, Y1) to the bottom-right corner (X2, Y2). The zero Crop keeps the whole image.
type Crop struct {
	X1, Y1, X2, Y2 float64
}

func (cr Crop) validate() error {
	if cr == (Crop{}) {
		return nil
	}
	in := func(v float64) bool { return v >= 0 && v <= 1 }
	if !in(cr.X1) || !in(cr.Y1) || !in(cr.X2) || !in(cr.Y2) || cr.X1 >= cr.X2 || cr.Y1 >= cr.Y2 {
		return wxerr.Invalid("crop", "0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1")
	}
	return nil
}

func fraction(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// SetHeadImage sets the mini program's avatar. The image is checked first (PNG, JPEG, GIF or BMP by
// content, at most 2 MB), uploaded as temporary media, then set with crop (the zero Crop keeps the
// whole image: "0","0","1","1").
//
// WeChat: POST /cgi-bin/media/upload, then POST /cgi-bin/account/modifyheadimage
func (c *Client) SetHeadImage(ctx context.Context, image []byte, crop Crop) error {
	f, err := validateHeadImage(image)
	if err != nil {
		return err
	}
	if err := crop.validate(); err != nil {
		return err
	}
	if err := c.ready(); err != nil {
		return err
	}
	if crop == (Crop{}) {
		crop = Crop{X2: 1, Y2: 1}
	}
	m, err := c.UploadTempMedia(ctx, MediaImage, "head."+string(f), image)
	if err != nil {
		return err
	}
	body := map[string]string{
		"head_img_media_id": m.MediaID,
		"x1":                fraction(crop.X1),
		"y1":                fraction(crop.Y1),
		"x2":                fraction(crop.X2),
		"y2":                fraction(crop.Y2),
	}
	return c.call(ctx, post("/cgi-bin/account/modifyheadimage", body, false), nil)
}

// SetSignature sets the mini program's introduction: 4 to 120 characters, checked before sending.
//
// WeChat: POST /cgi-bin/account/modifysignature
func (c *Client) SetSignature(ctx context.Context, intro string) error {
	if err := validateSignature(intro); err != nil {
		return err
	}
	return c.call(ctx, post("/cgi-bin/account/modifysignature", map[string]string{"signature": intro}, false), nil)
}

// BasicInfo is a mini program's account information.
type BasicInfo struct {
	AppID             string        `json:"appid"`
	AccountType       int           `json:"account_type"`
	PrincipalType     int           `json:"principal_type"`
	PrincipalName     string        `json:"principal_name"`
	Credential        string        `json:"credential"`
	RealnameStatus    int           `json:"realname_status"`
	CustomerType      int           `json:"customer_type"`
	RegisteredCountry int           `json:"registered_country"`
	Nickname          string        `json:"nickname"`
	WxVerifyInfo      WxVerifyInfo  `json:"wx_verify_info"`
	SignatureInfo     SignatureInfo `json:"signature_info"`
	HeadImageInfo     HeadImageInfo `json:"head_image_info"`
	NicknameInfo      NicknameInfo  `json:"nickname_info"`
}

// WxVerifyInfo is the account's WeChat verification state.
type WxVerifyInfo struct {
	QualificationVerify bool `json:"qualification_verify"`
	NamingVerify        bool `json:"naming_verify"`
	AnnualReview        bool `json:"annual_review"`
	// AnnualReviewBeginTime and AnnualReviewEndTime bound the annual review (unix seconds on the
	// wire); zero when WeChat gave none.
	AnnualReviewBeginTime time.Time `json:"-"`
	AnnualReviewEndTime   time.Time `json:"-"`
}

// UnmarshalJSON decodes WeChat's form, the annual review times in unix seconds.
func (v *WxVerifyInfo) UnmarshalJSON(b []byte) error {
	type plain WxVerifyInfo
	var w struct {
		plain
		AnnualReviewBeginTime int64 `json:"annual_review_begin_time"`
		AnnualReviewEndTime   int64 `json:"annual_review_end_time"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*v = WxVerifyInfo(w.plain)
	v.AnnualReviewBeginTime, v.AnnualReviewEndTime = unixTime(w.AnnualReviewBeginTime), unixTime(w.AnnualReviewEndTime)
	return nil
}

// MarshalJSON encodes WeChat's form again.
func (v WxVerifyInfo) MarshalJSON() ([]byte, error) {
	type plain WxVerifyInfo
	return json.Marshal(struct {
		plain
		AnnualReviewBeginTime int64 `json:"annual_review_begin_time"`
		AnnualReviewEndTime   int64 `json:"annual_review_end_time"`
	}{plain(v), unixSeconds(v.AnnualReviewBeginTime), unixSeconds(v.AnnualReviewEndTime)})
}

// SignatureInfo is the introduction and its change quota.
type SignatureInfo struct {
	Signature       string `json:"signature"`
	ModifyUsedCount int    `json:"modify_used_count"`
	ModifyQuota     int    `json:"modify_quota"`
}

// HeadImageInfo is the avatar and its change quota.
type HeadImageInfo struct {
	HeadImageURL    string `json:"head_image_url"`
	ModifyUsedCount int    `json:"modify_used_count"`
	ModifyQuota     int    `json:"modify_quota"`
}

// NicknameInfo is the name and its change quota.
type NicknameInfo struct {
	Nickname        string `json:"nickname"`
	ModifyUsedCount int    `json:"modify_used_count"`
	ModifyQuota     int    `json:"modify_quota"`
}

// BasicInfo returns the mini program's account information: name, introduction, avatar, their
// change quotas, subject and verification.
//
// WeChat: GET /cgi-bin/account/getaccountbasicinfo
func (c *Client) BasicInfo(ctx context.Context) (*BasicInfo, error) {
	var out BasicInfo
	if err := c.call(ctx, get("/cgi-bin/account/getaccountbasicinfo"), &out); err != nil {
		return nil, err
	}
	return &out, nil
}
