package wxtest

// Mini-program codes (API digest section 17.1): getwxacode, getwxacodeunlimit and createwxaqrcode.
//
// A real mini-program code is WeChat's round "sun" code, which only WeChat can read. The emulator
// answers a real PNG QR code instead (drawn with github.com/skip2/go-qrcode, in the requested width,
// line colour and transparency), whose text says what the code opens: CodeContent(appid, path) for
// getwxacode and createwxaqrcode, UnlimitedCodeContent(appid, page, scene) for getwxacodeunlimit.
// A test decodes the image with any QR decoder and compares; the shape differs from WeChat's, what it
// carries does not.

import (
	"image/color"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/wxopen-go/wxopen/wxerr"
)

const (
	pathGetWxaCode        = "/wxa/getwxacode"
	pathGetWxaCodeUnlimit = "/wxa/getwxacodeunlimit"
	pathCreateWxaQRCode   = "/cgi-bin/wxaapp/createwxaqrcode"
)

// Limits of the code endpoints (digest 17.1).
const (
	wxaCodeLimit        = 100000 // getwxacode + createwxaqrcode codes per mini program
	wxaCodePathMax      = 1024
	wxaQRCodePathMax    = 128
	wxaSceneMax         = 32
	wxaDefaultWidth     = 430
	wxaMinWidth         = 280
	wxaMaxWidth         = 1280
	codeInvalidPage     = 41030
	codeCodeLimit       = 45029
	codeSceneInvalid    = 40169
	wxaDefaultHomeEntry = "pages/index/index"
)

func (s *Server) registerMPWxaCode() {
	// Basic capabilities: permission set 17 or 18 (digest: unverified).
	code := func(h func(c *call) (any, error)) func(c *call) (any, error) { return needFunc(h, true, 17, 18) }
	s.route(http.MethodPost, pathGetWxaCode, authAuthorizer, code(s.mpWxaCode))
	s.route(http.MethodPost, pathGetWxaCodeUnlimit, authAuthorizer, code(s.mpWxaCodeUnlimit))
	s.route(http.MethodPost, pathCreateWxaQRCode, authAuthorizer, code(s.mpCreateWxaQRCode))
}

// wxaCodeState counts the limited codes of each mini program.
type wxaCodeState struct {
	issued map[string]int // by appid
	limit  map[string]int // by appid, when SetCodeLimit changed it
}

func (s *Server) wxaCodes() *wxaCodeState {
	return groupState(s, func() *wxaCodeState { return &wxaCodeState{issued: map[string]int{}, limit: map[string]int{}} })
}

// CodeContent is the text of the QR code the emulator answers to getwxacode and createwxaqrcode for
// the mini program appID and path (the page with its query): "appID:path".
func CodeContent(appID, path string) string { return appID + ":" + path }

// UnlimitedCodeContent is the text of the QR code the emulator answers to getwxacodeunlimit: the
// page ("" is the home page, pages/index/index) and the scene as the page receives it, URL-encoded:
// "appID:page?scene=ENCODED".
func UnlimitedCodeContent(appID, page, scene string) string {
	if page == "" {
		page = wxaDefaultHomeEntry
	}
	return appID + ":" + page + "?scene=" + url.QueryEscape(scene)
}

// SetCodeLimit sets how many getwxacode and createwxaqrcode codes the mini program appID may still
// make (WeChat: 100 000 in its life), so that a test reaches 45029 without drawing them all.
func (s *Server) SetCodeLimit(appID string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.wxaCodes()
	st.limit[appID] = st.issued[appID] + n
}

type wxaStyle struct {
	Width      *int    `json:"width"`
	AutoColor  bool    `json:"auto_color"`
	IsHyaline  bool    `json:"is_hyaline"`
	EnvVersion *string `json:"env_version"`
	LineColor  *struct {
		R, G, B any
	} `json:"line_color"`
}

// check applies WeChat's rules to the style and returns the width.
func (st wxaStyle) check() (int, error) {
	w := wxaDefaultWidth
	if st.Width != nil {
		w = *st.Width
		if w < wxaMinWidth || w > wxaMaxWidth {
			return 0, apiErr(wxerr.CodeInvalidParams, "invalid args hint: width must be 280 to 1280")
		}
	}
	if st.EnvVersion != nil {
		switch *st.EnvVersion {
		case "release", "trial", "develop":
		default:
			return 0, apiErr(wxerr.CodeInvalidParams, "invalid args hint: env_version")
		}
	}
	return w, nil
}

// lineColor reads line_color's r, g and b (numbers or strings of numbers, 0-255).
func (st wxaStyle) lineColor() (color.Color, error) {
	if st.LineColor == nil || st.AutoColor {
		return color.Black, nil
	}
	var rgb [3]uint8
	for i, v := range []any{st.LineColor.R, st.LineColor.G, st.LineColor.B} {
		var n float64
		switch x := v.(type) {
		case nil:
		case float64:
			n = x
		case string:
			var err error
			if n, err = strconv.ParseFloat(x, 64); err != nil {
				return nil, apiErr(wxerr.CodeInvalidJSON, "")
			}
		default:
			return nil, apiErr(wxerr.CodeInvalidJSON, "")
		}
		if n < 0 || n > 255 {
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: line_color")
		}
		rgb[i] = uint8(n)
	}
	return color.RGBA{R: rgb[0], G: rgb[1], B: rgb[2], A: 255}, nil
}

// drawCode renders text as a PNG QR code in the style.
func drawCode(text string, width int, st wxaStyle) (any, error) {
	fg, err := st.lineColor()
	if err != nil {
		return nil, err
	}
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, apiErr(wxerr.CodeSystemBusy, "")
	}
	q.ForegroundColor = fg
	if st.IsHyaline {
		q.BackgroundColor = color.Transparent
	}
	img, err := q.PNG(width)
	if err != nil {
		return nil, apiErr(wxerr.CodeSystemBusy, "")
	}
	return rawAnswer{ContentType: "image/png", Body: img}, nil
}

// countCode takes one of appID's limited codes: 45029 once they are used up.
func (s *Server) countCode(appID string) error {
	st := s.wxaCodes()
	limit, ok := st.limit[appID]
	if !ok {
		limit = wxaCodeLimit
	}
	if st.issued[appID] >= limit {
		return apiErr(codeCodeLimit, "qrcode count out of limit")
	}
	st.issued[appID]++
	return nil
}

// mpWxaCode: POST /wxa/getwxacode.
func (s *Server) mpWxaCode(c *call) (any, error) {
	var req struct {
		Path *string `json:"path"`
		wxaStyle
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if req.Path == nil || *req.Path == "" {
		return nil, missing("path")
	}
	if len(*req.Path) > wxaCodePathMax {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: path longer than 1024 bytes")
	}
	w, err := req.check()
	if err != nil {
		return nil, err
	}
	if err := s.countCode(a.info.AppID); err != nil {
		return nil, err
	}
	return drawCode(CodeContent(a.info.AppID, *req.Path), w, req.wxaStyle)
}

// validScene applies getwxacodeunlimit's scene rule: 1 to 32 of 0-9A-Za-z!#$&'()*+,/:;=?@-._~.
func validScene(scene string) bool {
	if scene == "" || len(scene) > wxaSceneMax {
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

// mpWxaCodeUnlimit: POST /wxa/getwxacodeunlimit — unlimited; with check_path (default true) the page
// must be in the released version (41030), as before the first release.
func (s *Server) mpWxaCodeUnlimit(c *call) (any, error) {
	var req struct {
		Scene     *string `json:"scene"`
		Page      string  `json:"page"`
		CheckPath *bool   `json:"check_path"`
		wxaStyle
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if req.Scene == nil {
		return nil, missing("scene")
	}
	if !validScene(*req.Scene) {
		return nil, apiErr(codeSceneInvalid, "invalid length for scene, or the data is not json string")
	}
	if strings.HasPrefix(req.Page, "/") || strings.ContainsAny(req.Page, "?#") {
		return nil, apiErr(codeInvalidPage, "invalid page hint: no leading / and no query")
	}
	if req.Page != "" && (req.CheckPath == nil || *req.CheckPath) {
		if app.released == nil || !slices.Contains(app.released.pages, req.Page) {
			return nil, apiErr(codeInvalidPage, "invalid page hint: not in the released version (check_path)")
		}
	}
	w, err := req.check()
	if err != nil {
		return nil, err
	}
	return drawCode(UnlimitedCodeContent(a.info.AppID, req.Page, *req.Scene), w, req.wxaStyle)
}

// mpCreateWxaQRCode: POST /cgi-bin/wxaapp/createwxaqrcode.
func (s *Server) mpCreateWxaQRCode(c *call) (any, error) {
	var req struct {
		Path  *string `json:"path"`
		Width *int    `json:"width"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if req.Path == nil || *req.Path == "" {
		return nil, missing("path")
	}
	if len(*req.Path) > wxaQRCodePathMax {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: path longer than 128 bytes")
	}
	st := wxaStyle{Width: req.Width}
	w, err := st.check()
	if err != nil {
		return nil, err
	}
	if err := s.countCode(a.info.AppID); err != nil {
		return nil, err
	}
	return drawCode(CodeContent(a.info.AppID, *req.Path), w, st)
}
