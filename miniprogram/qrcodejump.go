package miniprogram

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/wxopen-go/wxopen/wxerr"
)

// QR jump rules (digest 17.2): an ordinary QR code whose URL starts with a registered prefix opens the
// mini program, so a restaurant's existing table codes keep working with its new mini program. The
// paths are WxJava's; the permission set is unverified. WxJava sends the enum-like fields as strings,
// and so does this package.

// OpenVersion is the version of the mini program a QR jump rule opens.
type OpenVersion string

// Values of OpenVersion.
const (
	OpenDevelop OpenVersion = "1"
	OpenTrial   OpenVersion = "2"
	OpenRelease OpenVersion = "3"
)

// QRCodeJumpRule is a rule: codes whose URL starts with Prefix open Path.
type QRCodeJumpRule struct {
	// Prefix is the URL prefix ("https://shop.example.com/t/"). Required.
	Prefix string `json:"prefix"`
	// PermitSubRule: "1" other accounts may not register rules under this prefix, "2" they may.
	PermitSubRule string `json:"permit_sub_rule,omitempty"`
	// Path is the page opened. Required.
	Path string `json:"path"`
	// OpenVersion is the version opened. Required.
	OpenVersion OpenVersion `json:"open_version"`
	// DebugURL lists 1 to 5 full URLs under Prefix for testing the rule. Required.
	DebugURL []string `json:"debug_url"`
	// State is WeChat's: 1 unpublished, 2 published (answers only).
	State int `json:"state,omitempty"`
}

// validate checks r before it is added.
func (r QRCodeJumpRule) validate() error {
	u, err := url.Parse(r.Prefix)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return wxerr.Invalid("prefix", "an absolute http(s) URL prefix")
	}
	if r.Path == "" {
		return wxerr.Invalid("path", "required")
	}
	switch r.OpenVersion {
	case OpenDevelop, OpenTrial, OpenRelease:
	default:
		return wxerr.Invalid("open_version", `"1" develop, "2" trial or "3" release`)
	}
	switch r.PermitSubRule {
	case "", "1", "2":
	default:
		return wxerr.Invalid("permit_sub_rule", `"1" or "2"`)
	}
	if len(r.DebugURL) < 1 || len(r.DebugURL) > 5 {
		return wxerr.Invalid("debug_url", "1 to 5 URLs")
	}
	for _, d := range r.DebugURL {
		if !strings.HasPrefix(d, r.Prefix) {
			return wxerr.Invalid("debug_url", strconv.Quote(d)+" does not start with the prefix")
		}
	}
	return nil
}

// AddQRCodeJump adds the rule r, or replaces the rule of its prefix when edit is true. A rule works
// once published (PublishQRCodeJump), after the verification file is served under the prefix's host
// (QRCodeJumpVerifyFile).
//
// WeChat: POST /cgi-bin/wxopen/qrcodejumpadd
func (c *Client) AddQRCodeJump(ctx context.Context, r QRCodeJumpRule, edit bool) error {
	if err := r.validate(); err != nil {
		return err
	}
	isEdit := "0"
	if edit {
		isEdit = "1"
	}
	body := struct {
		QRCodeJumpRule
		State  int    `json:"state,omitempty"`
		IsEdit string `json:"is_edit"`
	}{QRCodeJumpRule: r, IsEdit: isEdit}
	return c.call(ctx, post("/cgi-bin/wxopen/qrcodejumpadd", body, false), nil)
}

// QRCodeJumps are the mini program's rules and the feature's state.
type QRCodeJumps struct {
	Rules []QRCodeJumpRule `json:"rule_list"`
	// Open says whether the feature is on.
	Open int `json:"qrcodejump_open"`
	// PublishQuota is the number of publishes left this month.
	PublishQuota int `json:"qrcodejump_pub_quota"`
	ListSize     int `json:"list_size"`
}

// QRCodeJumps returns the mini program's QR jump rules.
//
// WeChat: POST /cgi-bin/wxopen/qrcodejumpget
func (c *Client) QRCodeJumps(ctx context.Context) (*QRCodeJumps, error) {
	var out QRCodeJumps
	if err := c.call(ctx, post("/cgi-bin/wxopen/qrcodejumpget", struct{}{}, true), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// VerifyFile is the file WeChat checks under a rule's host before publishing: serve Content as
// https://HOST/FileName.
type VerifyFile struct {
	FileName string `json:"file_name"`
	Content  string `json:"file_content"`
}

// QRCodeJumpVerifyFile returns the verification file of the QR jump rules.
//
// WeChat: POST /cgi-bin/wxopen/qrcodejumpdownload
func (c *Client) QRCodeJumpVerifyFile(ctx context.Context) (*VerifyFile, error) {
	var out VerifyFile
	if err := c.call(ctx, post("/cgi-bin/wxopen/qrcodejumpdownload", struct{}{}, true), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PublishQRCodeJump publishes the rule of prefix (counted in the monthly publish quota).
//
// WeChat: POST /cgi-bin/wxopen/qrcodejumppublish
func (c *Client) PublishQRCodeJump(ctx context.Context, prefix string) error {
	if prefix == "" {
		return wxerr.Invalid("prefix", "required")
	}
	return c.call(ctx, post("/cgi-bin/wxopen/qrcodejumppublish", map[string]string{"prefix": prefix}, false), nil)
}

// DeleteQRCodeJump deletes the rule of prefix.
//
// WeChat: POST /cgi-bin/wxopen/qrcodejumpdelete
func (c *Client) DeleteQRCodeJump(ctx context.Context, prefix string) error {
	if prefix == "" {
		return wxerr.Invalid("prefix", "required")
	}
	return c.call(ctx, post("/cgi-bin/wxopen/qrcodejumpdelete", map[string]string{"prefix": prefix}, false), nil)
}
