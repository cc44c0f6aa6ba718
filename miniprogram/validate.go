package miniprogram

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Limits WeChat sets on basic info (digest 5.2).
const (
	// NicknameMinWidth and NicknameMaxWidth bound a name's width (see NicknameWidth).
	NicknameMinWidth = 4
	NicknameMaxWidth = 30
	// MaxHeadImageSize is the largest avatar image WeChat accepts: 2 MB.
	MaxHeadImageSize = 2 * 1024 * 1024
	// SignatureMinLen and SignatureMaxLen bound an introduction, in characters (runes).
	SignatureMinLen = 4
	SignatureMaxLen = 120
)

// nicknameRule is the rule named in validation errors for names.
const nicknameRule = "4 to 30 wide: a Chinese, Japanese or Korean character or a full-width form counts 2, any other character 1"

// NicknameWidth returns the width WeChat counts for a mini program name: 2 for every East Asian wide
// or full-width character (CJK ideographs and their extensions, CJK symbols and punctuation, kana,
// Bopomofo, Hangul, Yi, CJK compatibility forms, full-width ASCII and signs; the Unicode
// East_Asian_Width W and F classes of those blocks), 1 for every other character (Latin letters,
// digits, spaces, other scripts). A name must be NicknameMinWidth to NicknameMaxWidth wide.
func NicknameWidth(name string) int {
	w := 0
	for _, r := range name {
		if isWide(r) {
			w += 2
		} else {
			w++
		}
	}
	return w
}

// wideRanges are the East Asian Wide (W) and Fullwidth (F) blocks counted as 2 in a name.
var wideRanges = [...][2]rune{
	{0x1100, 0x115F},   // Hangul Jamo initials
	{0x2E80, 0x303E},   // CJK radicals, Kangxi radicals, ideographic description, CJK symbols and punctuation
	{0x3041, 0x33FF},   // Hiragana, Katakana, Bopomofo, Hangul compatibility Jamo, Kanbun, CJK strokes, enclosed CJK, CJK compatibility
	{0x3400, 0x4DBF},   // CJK unified ideographs extension A
	{0x4E00, 0x9FFF},   // CJK unified ideographs
	{0xA000, 0xA4CF},   // Yi syllables and radicals
	{0xA960, 0xA97F},   // Hangul Jamo extended A
	{0xAC00, 0xD7A3},   // Hangul syllables
	{0xF900, 0xFAFF},   // CJK compatibility ideographs
	{0xFE10, 0xFE19},   // vertical forms
	{0xFE30, 0xFE6F},   // CJK compatibility forms, small form variants
	{0xFF01, 0xFF60},   // full-width ASCII variants and brackets
	{0xFFE0, 0xFFE6},   // full-width signs
	{0x20000, 0x2FFFD}, // CJK unified ideographs extensions B-F, compatibility supplement
	{0x30000, 0x3FFFD}, // CJK unified ideographs extensions G-H
}

func isWide(r rune) bool {
	if r < 0x1100 {
		return false
	}
	for _, rg := range wideRanges {
		if r < rg[0] {
			return false
		}
		if r <= rg[1] {
			return true
		}
	}
	return false
}

// validateNickname checks a mini program name before it is sent to WeChat.
func validateNickname(name string) error {
	if !utf8.ValidString(name) {
		return wxerr.Invalid("nick_name", "must be valid UTF-8")
	}
	if w := NicknameWidth(name); w < NicknameMinWidth || w > NicknameMaxWidth {
		return wxerr.Invalid("nick_name", nicknameRule+"; got width "+strconv.Itoa(w))
	}
	if strings.Contains(name, "小程序") {
		return wxerr.Invalid("nick_name", `must not contain the word "小程序"`)
	}
	return nil
}

// validateSignature checks an introduction: SignatureMinLen to SignatureMaxLen characters.
func validateSignature(intro string) error {
	if !utf8.ValidString(intro) {
		return wxerr.Invalid("signature", "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(intro); n < SignatureMinLen || n > SignatureMaxLen {
		return wxerr.Invalid("signature", "4 to 120 characters; got "+strconv.Itoa(n))
	}
	return nil
}

// ImageFormat is an image format recognised by its content.
type ImageFormat string

// Image formats WeChat accepts for a mini program's avatar.
const (
	ImagePNG  ImageFormat = "png"
	ImageJPEG ImageFormat = "jpeg"
	ImageGIF  ImageFormat = "gif"
	ImageBMP  ImageFormat = "bmp"
)

// ContentType returns the MIME type of the format ("image/png"…).
func (f ImageFormat) ContentType() string { return "image/" + string(f) }

// DetectImageFormat returns the format of data by its leading bytes (its magic number), never by a
// file name: PNG, JPEG, GIF (87a or 89a) or BMP. ok is false for anything else.
func DetectImageFormat(data []byte) (f ImageFormat, ok bool) {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return ImagePNG, true
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return ImageJPEG, true
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return ImageGIF, true
	case isBMP(data):
		return ImageBMP, true
	}
	return "", false
}

// isBMP reports whether data starts with a bitmap header: "BM", the file size, two reserved words and
// the pixel-data offset (14 bytes), then a DIB header whose first word is its own size, one of the
// sizes in use, all present. "BM" alone is not enough: text starting with "BM" would pass.
func isBMP(data []byte) bool {
	if len(data) < 18 || !bytes.HasPrefix(data, []byte("BM")) {
		return false
	}
	dib := binary.LittleEndian.Uint32(data[14:18])
	switch dib {
	case 12, 16, 40, 52, 56, 64, 108, 124: // core, OS/2 1.x/2.x, info, V2, V3, V4, V5
		return uint32(len(data)) >= 14+dib
	}
	return false
}

// validateHeadImage checks an avatar before it is uploaded: PNG, JPEG, GIF or BMP by content, at most
// MaxHeadImageSize bytes.
func validateHeadImage(image []byte) (ImageFormat, error) {
	if len(image) == 0 {
		return "", wxerr.Invalid("head_img", "the image is empty")
	}
	if len(image) > MaxHeadImageSize {
		return "", wxerr.Invalid("head_img", "at most 2 MB (2097152 bytes); got "+strconv.Itoa(len(image))+" bytes")
	}
	f, ok := DetectImageFormat(image)
	if !ok {
		return "", wxerr.Invalid("head_img", "must be a PNG, JPEG, GIF or BMP image (checked by content, not by file name)")
	}
	return f, nil
}
