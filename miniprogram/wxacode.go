package miniprogram

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Image is an image WeChat generated: its bytes and their content type ("image/jpeg", "image/png").
type Image struct {
	ContentType string
	Data        []byte
}

// RGB is a line colour of a mini-program code.
type RGB struct {
	R uint8 `json:"r"`
	G uint8 `json:"g"`
	B uint8 `json:"b"`
}

// EnvVersion is the version of the mini program a code opens.
type EnvVersion string

// Values of EnvVersion; "" lets WeChat take its default (release).
const (
	EnvRelease EnvVersion = "release"
	EnvTrial   EnvVersion = "trial"
	EnvDevelop EnvVersion = "develop"
)

// Limits of the mini-program code endpoints (digest 17.1).
const (
	CodeMinWidth       = 280
	CodeMaxWidth       = 1280
	CodePathMaxBytes   = 1024 // getwxacode's path
	QRCodePathMaxBytes = 128  // createwxaqrcode's path
	SceneMaxLen        = 32
)

// CodeStyle are the look-and-feel options shared by the round mini-program codes.
type CodeStyle struct {
	// Width in pixels, CodeMinWidth to CodeMaxWidth; 0 takes WeChat's default (430).
	Width int `json:"width,omitempty"`
	// AutoColor picks the line colour from the code's image.
	AutoColor bool `json:"auto_color,omitempty"`
	// LineColor is used when AutoColor is false; nil takes black.
	LineColor *RGB `json:"line_color,omitempty"`
	// IsHyaline makes the background transparent.
	IsHyaline bool `json:"is_hyaline,omitempty"`
	// EnvVersion is the version the code opens; "" takes release.
	EnvVersion EnvVersion `json:"env_version,omitempty"`
}

func (s CodeStyle) validate() error {
	if err := checkWidth(s.Width); err != nil {
		return err
	}
	switch s.EnvVersion {
	case "", EnvRelease, EnvTrial, EnvDevelop:
	default:
		return wxerr.Invalid("env_version", `"release", "trial" or "develop"`)
	}
	return nil
}

func checkWidth(w int) error {
	if w != 0 && (w < CodeMinWidth || w > CodeMaxWidth) {
		return wxerr.Invalid("width", "0 (default 430) or 280 to 1280")
	}
	return nil
}

// CodeRequest is a mini-program code for a page with its query (getwxacode). Codes of this kind are
// permanent but limited to 100 000 per mini program, shared with CreateQRCode: for per-table or
// per-store codes use UnlimitedCode.
type CodeRequest struct {
	// Path is the page with its query ("pages/table/index?id=12"), at most 1024 bytes. Required.
	Path string `json:"path"`
	CodeStyle
}

// Code returns a mini-program code (the round code) that opens r.Path.
//
// WeChat: POST /wxa/getwxacode
func (c *Client) Code(ctx context.Context, r CodeRequest) (*Image, error) {
	if r.Path == "" {
		return nil, wxerr.Invalid("path", "required")
	}
	if len(r.Path) > CodePathMaxBytes {
		return nil, wxerr.Invalid("path", "at most 1024 bytes")
	}
	if err := r.CodeStyle.validate(); err != nil {
		return nil, err
	}
	return c.image(ctx, post("/wxa/getwxacode", r, false))
}

// UnlimitedCodeRequest is a mini-program code carrying a scene (getwxacodeunlimit): unlimited in
// number, the way to print one code per table or per store. The page receives the scene, URL-encoded,
// in its options (options.scene).
type UnlimitedCodeRequest struct {
	// Scene is at most 32 characters of 0-9 A-Z a-z and !#$&'()*+,/:;=?@-._~ ("t=12&s=7"). Required.
	Scene string `json:"scene"`
	// Page is the page to open, without a leading "/" and without a query ("pages/table/index"); ""
	// opens the home page.
	Page string `json:"page,omitempty"`
	// CheckPath, when false, allows a page that is not in the released version yet (before the first
	// release). nil takes WeChat's default, true.
	CheckPath *bool `json:"check_path,omitempty"`
	CodeStyle
}

// ValidScene reports whether scene is one WeChat accepts in getwxacodeunlimit: 1 to 32 characters of
// 0-9 A-Z a-z and !#$&'()*+,/:;=?@-._~.
func ValidScene(scene string) bool {
	if scene == "" || len(scene) > SceneMaxLen {
		return false
	}
	for i := 0; i < len(scene); i++ {
		ch := scene[i]
		if !('0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' ||
			strings.IndexByte("!#$&'()*+,/:;=?@-._~", ch) >= 0) {
			return false
		}
	}
	return true
}

// UnlimitedCode returns a mini-program code (the round code) carrying r.Scene to r.Page.
//
// WeChat: POST /wxa/getwxacodeunlimit
func (c *Client) UnlimitedCode(ctx context.Context, r UnlimitedCodeRequest) (*Image, error) {
	if !ValidScene(r.Scene) {
		return nil, wxerr.Invalid("scene", "1 to 32 characters of 0-9 A-Z a-z !#$&'()*+,/:;=?@-._~")
	}
	if strings.HasPrefix(r.Page, "/") || strings.ContainsAny(r.Page, "?#") {
		return nil, wxerr.Invalid("page", `a page path without a leading "/" and without a query`)
	}
	if err := r.CodeStyle.validate(); err != nil {
		return nil, err
	}
	// Unlimited codes cost nothing: safe to resend after a network error.
	return c.image(ctx, post("/wxa/getwxacodeunlimit", r, true))
}

// CreateQRCodeRequest is a square QR code that opens a page (createwxaqrcode); it counts in the same
// 100 000 as Code.
type CreateQRCodeRequest struct {
	// Path is the page with its query, at most 128 bytes. Required.
	Path string `json:"path"`
	// Width in pixels, 280 to 1280; 0 takes WeChat's default (430).
	Width int `json:"width,omitempty"`
}

// CreateQRCode returns a square QR code that opens r.Path.
//
// WeChat: POST /cgi-bin/wxaapp/createwxaqrcode
func (c *Client) CreateQRCode(ctx context.Context, r CreateQRCodeRequest) (*Image, error) {
	if r.Path == "" {
		return nil, wxerr.Invalid("path", "required")
	}
	if len(r.Path) > QRCodePathMaxBytes {
		return nil, wxerr.Invalid("path", "at most 128 bytes")
	}
	if err := checkWidth(r.Width); err != nil {
		return nil, err
	}
	return c.image(ctx, post("/cgi-bin/wxaapp/createwxaqrcode", r, false))
}

// image sends req and returns the image it answers; a JSON answer is the errcode's *wxerr.APIError.
func (c *Client) image(ctx context.Context, req *wxcall.Request) (*Image, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	data, ctype, err := c.a.CallBytes(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, errors.New("wxopen: " + req.Method + " " + req.Path + ": empty answer")
	}
	if ctype = strings.TrimSpace(ctype); ctype == "" || ctype == "application/octet-stream" {
		ctype = http.DetectContentType(data)
	}
	return &Image{ContentType: ctype, Data: data}, nil
}
