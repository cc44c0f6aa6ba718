package wxtest

// Card images (API digest 19.1): media/uploadimg, the upload whose URL card/create takes as
// logo_url.

import (
	"bytes"
	"mime"
	"mime/multipart"

	"github.com/wxopen-go/wxopen/wxerr"
)

// cardMaxImage is media/uploadimg's size limit.
const cardMaxImage = 1 << 20

// cardImageFields are the multipart fields media/uploadimg reads the image from: WeChat documents
// "buffer", most SDKs send "media"; both work in practice (API digest 19.1), so the emulator accepts
// either.
var cardImageFields = set("buffer", "media")

// cardUploadImage: POST /cgi-bin/media/uploadimg, multipart with a JPEG or PNG image of at most 1 MB
// in "buffer" (or "media"). The answer is an mmbiz.qpic.cn URL. card/create takes any http(s)
// logo_url: the API digest documents no refusal of a URL that uploadimg did not issue.
func (s *Server) cardUploadImage(c *call) (any, error) {
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, apiErr(41005, "media data missing")
	}
	mr := multipart.NewReader(bytes.NewReader(c.body), params["boundary"])
	var data []byte
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if cardImageFields[p.FormName()] && p.FileName() != "" {
			var b bytes.Buffer
			if _, err := b.ReadFrom(p); err == nil {
				data = b.Bytes()
			}
			break
		}
	}
	if len(data) == 0 {
		return nil, apiErr(41005, "media data missing")
	}
	if len(data) > cardMaxImage {
		return nil, apiErr(wxerr.CodeImageTooLarge, "invalid image size")
	}
	var kind string
	switch imageKind(data) {
	case "png":
		kind = "png"
	case "jpeg":
		kind = "jpg"
	default:
		return nil, apiErr(40005, "invalid file type")
	}
	u := "http://mmbiz.qpic.cn/mmbiz_" + kind + "/" + randAlnum(52) + "/0"
	return struct {
		okBody
		URL string `json:"url"`
	}{okBody{Errmsg: "ok"}, u}, nil
}
