package miniprogram_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestNicknameWidth(t *testing.T) {
	for _, tc := range []struct {
		name  string
		width int
	}{
		{"", 0},
		{"abc", 3},
		{"中", 2},
		{"中a", 3},
		{"小店ab", 6},
		{"ＡＢ", 4},        // full-width Latin
		{"かな", 4},        // kana
		{"한글", 4},        // Hangul
		{"、。", 4},        // CJK punctuation
		{"é", 1},         // Latin with accent
		{"Ω", 1},         // Greek
		{"𠀀", 2},         // CJK extension B
		{"a b", 3},       // a space counts 1
		{"咖啡Coffee", 10}, // mixed
	} {
		assert.Equal(t, tc.width, miniprogram.NicknameWidth(tc.name), "%q", tc.name)
	}
}

func requireInvalid(t *testing.T, err error, field string) *wxerr.ValidationError {
	t.Helper()
	var ve *wxerr.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, field, ve.Field)
	assert.NotEmpty(t, ve.Rule)
	return ve
}

func TestSetNicknameBoundaries(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"中a", false},  // width 3
		{"中ab", true},  // width 4
		{"ab中", true},  // width 4
		{"abcd", true}, // width 4, Latin only
		{"中文", true},   // width 4, Chinese only
		{"abc", false}, // width 3
		{"一二三四五六七八九十abcdefghij", true},   // 10 Chinese + 10 Latin = 30
		{"一二三四五六七八九十abcdefghijk", false}, // 31
		{"一二三四五六七八九十一二三四五", true},        // 15 Chinese = 30
		{"一二三四五六七八九十一二三四五a", false},      // 31
		{"咖啡店Coffee Shop 1", true},       // 6 + 13 = 19
		{strings.Repeat("a", 30), true},  // 30
		{strings.Repeat("a", 31), false}, // 31
		{"我的小程序ab", false},               // forbidden word
		{"\xff\xfeab", false},            // invalid UTF-8
	} {
		e := setup(t)
		e.expect(t, call{method: "POST", path: "/wxa/setnickname",
			body: `{"nick_name":` + quote(tc.name) + `}`, reply: `{"errcode":0,"errmsg":"ok","wording":"done"}`})
		res, err := e.c.SetNickname(context.Background(), miniprogram.SetNicknameRequest{NickName: tc.name})
		if tc.ok {
			require.NoError(t, err, "%q (width %d)", tc.name, miniprogram.NicknameWidth(tc.name))
			assert.Equal(t, "done", res.Wording)
			assert.Equal(t, 1, e.calls("POST", "/wxa/setnickname"))
		} else {
			requireInvalid(t, err, "nick_name")
			assert.Zero(t, e.mt.GetTotalCallCount(), "%q must be refused before sending", tc.name)
		}
	}
}

func TestNicknameRuleNamesTheRule(t *testing.T) {
	e := setup(t)
	_, err := e.c.SetNickname(context.Background(), miniprogram.SetNicknameRequest{NickName: "中a"})
	ve := requireInvalid(t, err, "nick_name")
	assert.Contains(t, ve.Rule, "4 to 30")
	assert.Contains(t, ve.Rule, "counts 2")
	assert.Contains(t, ve.Rule, "width 3")
	_, err = e.c.SetNickname(context.Background(), miniprogram.SetNicknameRequest{NickName: "官方小程序"})
	ve = requireInvalid(t, err, "nick_name")
	assert.Contains(t, ve.Rule, "小程序")
}

func TestSetSignatureBoundaries(t *testing.T) {
	for _, tc := range []struct {
		intro string
		ok    bool
	}{
		{"abc", false},
		{"中文简", false},                         // 3 characters
		{"中文简介", true},                         // 4
		{"abcd", true},                         // 4
		{strings.Repeat("好", 120), true},       // 120 characters, 360 bytes
		{strings.Repeat("好", 121), false},      // 121
		{strings.Repeat("x", 119) + "好", true}, // mixed, 120
		{"", false},
		{"ab\xffc", false},
	} {
		e := setup(t)
		e.expect(t, call{method: "POST", path: "/cgi-bin/account/modifysignature",
			body: `{"signature":` + quote(tc.intro) + `}`, reply: `{"errcode":0,"errmsg":"ok"}`})
		err := e.c.SetSignature(context.Background(), tc.intro)
		if tc.ok {
			require.NoError(t, err)
			assert.Equal(t, 1, e.mt.GetTotalCallCount())
		} else {
			ve := requireInvalid(t, err, "signature")
			assert.NotContains(t, ve.Rule, "bytes")
			assert.Zero(t, e.mt.GetTotalCallCount())
		}
	}
}

func pngImage(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

func jpegImage(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4)), nil))
	return b.Bytes()
}

func gifImage(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, gif.Encode(&b, image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White}), nil))
	return b.Bytes()
}

// bmpImage is a 1x1 24-bit bitmap.
func bmpImage() []byte {
	b := []byte{'B', 'M', 58, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0,
		40, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 24, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 255, 0}
	return b
}

// padded returns img followed by zeros up to size bytes: still recognised by its header.
func padded(img []byte, size int) []byte {
	out := make([]byte, size)
	copy(out, img)
	return out
}

func TestDetectImageFormat(t *testing.T) {
	for _, tc := range []struct {
		data []byte
		want miniprogram.ImageFormat
	}{
		{pngImage(t), miniprogram.ImagePNG},
		{jpegImage(t), miniprogram.ImageJPEG},
		{gifImage(t), miniprogram.ImageGIF},
		{[]byte("GIF87a......"), miniprogram.ImageGIF},
		{bmpImage(), miniprogram.ImageBMP},
	} {
		f, ok := miniprogram.DetectImageFormat(tc.data)
		assert.True(t, ok)
		assert.Equal(t, tc.want, f)
		assert.Equal(t, "image/"+string(tc.want), f.ContentType())
	}
	for _, bad := range [][]byte{nil, []byte("hello, I am text"), []byte("BM"), []byte("\x89PNG"), []byte("GIF88a"),
		[]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), []byte("<svg xmlns='http://www.w3.org/2000/svg'/>")} {
		_, ok := miniprogram.DetectImageFormat(bad)
		assert.False(t, ok, "%q", bad)
	}
}

func TestSetHeadImageSizeBoundary(t *testing.T) {
	for _, tc := range []struct {
		size int
		ok   bool
	}{
		{2*1024*1024 - 1, true},
		{2 * 1024 * 1024, true},
		{2*1024*1024 + 1, false},
	} {
		e := setup(t)
		e.mt.RegisterResponder("POST", base+"/cgi-bin/media/upload", uploadResponder(t, "head.png", "image/png", tc.size))
		e.expect(t, call{method: "POST", path: "/cgi-bin/account/modifyheadimage",
			body: `{"head_img_media_id":"MEDIA","x1":"0","y1":"0","x2":"1","y2":"1"}`, reply: `{"errcode":0,"errmsg":"ok"}`})
		err := e.c.SetHeadImage(context.Background(), padded(pngImage(t), tc.size), miniprogram.Crop{})
		if tc.ok {
			require.NoError(t, err, "size %d", tc.size)
			assert.Equal(t, 1, e.calls("POST", "/cgi-bin/media/upload"))
			assert.Equal(t, 1, e.calls("POST", "/cgi-bin/account/modifyheadimage"))
		} else {
			ve := requireInvalid(t, err, "head_img")
			assert.Contains(t, ve.Rule, "2 MB")
			assert.Zero(t, e.mt.GetTotalCallCount())
		}
	}
}

func TestSetHeadImageFormatByContent(t *testing.T) {
	for _, tc := range []struct {
		data  []byte
		file  string
		ctype string
	}{
		{pngImage(t), "head.png", "image/png"},
		{jpegImage(t), "head.jpeg", "image/jpeg"},
		{gifImage(t), "head.gif", "image/gif"},
		{bmpImage(), "head.bmp", "image/bmp"},
	} {
		e := setup(t)
		e.mt.RegisterResponder("POST", base+"/cgi-bin/media/upload", uploadResponder(t, tc.file, tc.ctype, len(tc.data)))
		e.expect(t, call{method: "POST", path: "/cgi-bin/account/modifyheadimage",
			body: `{"head_img_media_id":"MEDIA","x1":"0","y1":"0","x2":"1","y2":"1"}`, reply: `{"errcode":0,"errmsg":"ok"}`})
		require.NoError(t, e.c.SetHeadImage(context.Background(), tc.data, miniprogram.Crop{}))
	}

	e := setup(t)
	for _, bad := range [][]byte{nil, []byte("just some text, not an image at all"), []byte("<svg/>")} {
		requireInvalid(t, e.c.SetHeadImage(context.Background(), bad, miniprogram.Crop{}), "head_img")
	}
	assert.Zero(t, e.mt.GetTotalCallCount())
}

func TestUploadTempMediaPNGNamedGIF(t *testing.T) {
	e := setup(t)
	img := pngImage(t)
	e.mt.RegisterResponder("POST", base+"/cgi-bin/media/upload", uploadResponder(t, "avatar.gif", "image/png", len(img)))
	m, err := e.c.UploadTempMedia(context.Background(), miniprogram.MediaImage, "avatar.gif", img)
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.Media{Type: "image", MediaID: "MEDIA", CreatedAt: time.Unix(1700000000, 0)}, m)
}

func TestUploadTempMediaTextNamedPNG(t *testing.T) {
	e := setup(t)
	_, err := e.c.UploadTempMedia(context.Background(), miniprogram.MediaImage, "avatar.png", []byte("this is a text file\n"))
	ve := requireInvalid(t, err, "media")
	assert.Contains(t, ve.Rule, "by content")
	assert.Zero(t, e.mt.GetTotalCallCount())
}

// "BM" and 26 bytes are not a bitmap: a text file that happens to start with "BM" must be refused
// before it is uploaded, while real BMP headers (core, info and V4/V5 DIB headers) pass.
func TestDetectImageFormatBMPNeedsABitmapHeader(t *testing.T) {
	for _, text := range []string{
		"BMW owners club newsletter, issue 1",
		"BM" + strings.Repeat(" ", 60),
		"BMP is a format; this file only talks about it.\n",
	} {
		_, ok := miniprogram.DetectImageFormat([]byte(text))
		assert.False(t, ok, "%q", text)
		e := setup(t)
		requireInvalid(t, e.c.SetHeadImage(context.Background(), []byte(text), miniprogram.Crop{}), "head_img")
		_, err := e.c.UploadTempMedia(context.Background(), miniprogram.MediaImage, "a.bmp", []byte(text))
		requireInvalid(t, err, "media")
		assert.Zero(t, e.mt.GetTotalCallCount())
	}
	// A bitmap with each DIB header size in use (core 12, OS/2 16 and 64, info 40, V2 52, V3 56, V4 108, V5 124).
	for _, dib := range []byte{12, 16, 40, 52, 56, 64, 108, 124} {
		b := make([]byte, 14+int(dib)+4)
		b[0], b[1] = 'B', 'M'
		b[2] = byte(len(b))
		b[10] = 14 + dib
		b[14] = dib
		f, ok := miniprogram.DetectImageFormat(b)
		assert.True(t, ok, "DIB header of %d bytes", dib)
		assert.Equal(t, miniprogram.ImageBMP, f)
		_, ok = miniprogram.DetectImageFormat(b[:14+int(dib)-1])
		assert.False(t, ok, "truncated DIB header of %d bytes", dib)
	}
}
