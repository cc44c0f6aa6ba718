package card

import (
	"bytes"
	"context"
	"errors"

	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// MaxImageBytes is the largest image UploadImage accepts (WeChat: 1 MB).
const MaxImageBytes = 1 << 20

// UploadImageField is the multipart form field the image is sent in. WeChat's documentation names
// it "buffer"; most SDKs send "media" and WeChat is reported to accept both (API digest 19.1,
// unverified which one the server requires). wxopen sends what WeChat documents; the wxtest emulator
// accepts both. This constant is the one place that choice is made.
const UploadImageField = "buffer"

// UploadImage uploads a JPEG or PNG image of at most MaxImageBytes for cards and returns its URL
// (on mmbiz.qpic.cn), the value card/create and card/update take for BaseInfo.LogoURL,
// MemberCard.BackgroundPicURL and a landing page's banner. The format is checked by content, not
// by file name, and the content type sent is the detected one. Uploading the same image twice
// only yields a second URL, so the call is retried after a network error like a read.
//
// WeChat: POST /cgi-bin/media/uploadimg
func (c *Client) UploadImage(ctx context.Context, filename string, data []byte) (string, error) {
	if filename == "" {
		return "", wxerr.Invalid("filename", "required")
	}
	if len(data) == 0 {
		return "", wxerr.Invalid(UploadImageField, "the image is empty")
	}
	if len(data) > MaxImageBytes {
		return "", wxerr.Invalid(UploadImageField, "at most 1 MB (MaxImageBytes)")
	}
	ctype := imageContentType(data)
	if ctype == "" {
		return "", wxerr.Invalid(UploadImageField, "a JPEG or PNG image (checked by content, not by file name)")
	}
	req := &wxcall.Request{
		Method:     "POST",
		Path:       "/cgi-bin/media/uploadimg",
		Upload:     &wxcall.Upload{Field: UploadImageField, FileName: filename, ContentType: ctype, Data: data},
		Idempotent: true,
	}
	var out struct {
		URL string `json:"url"`
	}
	if err := c.call(ctx, req, &out); err != nil {
		return "", err
	}
	if out.URL == "" {
		return "", errors.New("card: POST /cgi-bin/media/uploadimg: WeChat answered no url")
	}
	return out.URL, nil
}

// imageContentType returns the content type of a JPEG or PNG image, or "".
func imageContentType(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	}
	return ""
}
