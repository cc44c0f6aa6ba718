package authlink

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"strconv"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Sizes of QRCodePNG, in pixels.
const (
	DefaultQRCodeSize = 512
	MinQRCodeSize     = 128
	MaxQRCodeSize     = 2048
)

// QRCodePNG draws text (the landing URL of Handler) as a PNG QR code of size×size pixels (0 takes
// DefaultQRCodeSize). With a logo, the code uses the highest error correction (30%) and the logo,
// scaled to a fifth of the code's width on a white pad, covers its centre: well within what the
// correction restores.
func QRCodePNG(text string, size int, logo image.Image) ([]byte, error) {
	if text == "" {
		return nil, wxerr.Invalid("text", "required")
	}
	if size == 0 {
		size = DefaultQRCodeSize
	}
	if size < MinQRCodeSize || size > MaxQRCodeSize {
		return nil, wxerr.Invalid("size", strconv.Itoa(MinQRCodeSize)+" to "+strconv.Itoa(MaxQRCodeSize)+" pixels")
	}
	level := qrcode.Medium
	if logo != nil {
		level = qrcode.Highest
	}
	q, err := qrcode.New(text, level)
	if err != nil {
		return nil, wxerr.Invalid("text", "too long for a QR code")
	}
	if logo == nil {
		return q.PNG(size)
	}
	code := q.Image(size)
	b := code.Bounds()
	out := image.NewRGBA(b)
	draw.Draw(out, b, code, b.Min, draw.Src)
	overlay(out, logo)
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// overlay draws logo at the centre of img, scaled (nearest neighbour, aspect kept) into a fifth of
// its width, on a white pad.
func overlay(img *image.RGBA, logo image.Image) {
	w := img.Bounds().Dx()
	box := w / 5
	lb := logo.Bounds()
	if lb.Dx() == 0 || lb.Dy() == 0 || box == 0 {
		return
	}
	lw, lh := box, box
	if lb.Dx() > lb.Dy() {
		lh = box * lb.Dy() / lb.Dx()
	} else {
		lw = box * lb.Dx() / lb.Dy()
	}
	pad := box / 10
	cx, cy := img.Bounds().Min.X+w/2, img.Bounds().Min.Y+img.Bounds().Dy()/2
	padRect := image.Rect(cx-lw/2-pad, cy-lh/2-pad, cx+(lw+1)/2+pad, cy+(lh+1)/2+pad)
	draw.Draw(img, padRect, image.NewUniform(color.White), image.Point{}, draw.Src)
	x0, y0 := cx-lw/2, cy-lh/2
	for y := 0; y < lh; y++ {
		sy := lb.Min.Y + y*lb.Dy()/lh
		for x := 0; x < lw; x++ {
			sx := lb.Min.X + x*lb.Dx()/lw
			src := logo.At(sx, sy)
			if _, _, _, a := src.RGBA(); a == 0 {
				continue
			}
			img.Set(x0+x, y0+y, src)
		}
	}
}

// QRCodeHandler serves the PNG QR code of link (the landing URL of Handler), drawn once: the image
// never changes, since the landing URL creates a fresh pre-auth code on every open. size and logo are
// as for QRCodePNG.
func QRCodeHandler(link string, size int, logo image.Image) (http.Handler, error) {
	img, err := QRCodePNG(link, size, logo)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("Content-Length", strconv.Itoa(len(img)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(img)
		}
	}), nil
}

// TrialQRCoder fetches a mini program's trial-version QR code; *miniprogram.Client is one.
type TrialQRCoder interface {
	QRCode(ctx context.Context, path string) ([]byte, error)
}

// MiniPrograms hands out a client per mini program; *wxopen.Platform is one.
type MiniPrograms interface {
	MiniProgram(appID string) *miniprogram.Client
}

// PlatformTrialQRCoders adapts a Platform for TrialQRCode.
func PlatformTrialQRCoders(p MiniPrograms) func(appID string) TrialQRCoder {
	return func(appID string) TrialQRCoder { return p.MiniProgram(appID) }
}

// TrialQRCode serves the trial-version QR code of a mini program, fetched from WeChat on every open
// (wx/get_qrcode), so a saved link always shows the current trial version. The mini program is the
// path value "appid" of a Go 1.22 pattern ("GET /trial/{appid}") or else the query parameter appid;
// the page to open, the query parameter path. Mount it behind the platform's operator
// authentication: anyone with the link sees the trial code. WeChat's refusals (86001 nothing
// committed…) answer 502 with the errcode.
func TrialQRCode(lookup func(appID string) TrialQRCoder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		appID := r.PathValue("appid")
		if appID == "" {
			appID = r.URL.Query().Get("appid")
		}
		if !validAppID(appID) {
			http.Error(w, "appid required", http.StatusBadRequest)
			return
		}
		img, err := lookup(appID).QRCode(r.Context(), r.URL.Query().Get("path"))
		if err != nil {
			msg := "WeChat is unavailable; try again in a minute"
			if c := wxerr.CodeOf(err); c != 0 {
				msg = "WeChat refused (errcode " + strconv.Itoa(int(c)) + ")"
			}
			http.Error(w, msg, http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", http.DetectContentType(img))
		_, _ = w.Write(img)
	})
}
