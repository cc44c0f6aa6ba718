package miniprogram_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestCode(t *testing.T) {
	e := setup(t)
	img := pngImage(t)
	e.expect(t, call{method: "POST", path: "/wxa/getwxacode",
		body:  `{"path":"pages/table/index?id=12","width":430,"line_color":{"r":255,"g":0,"b":8},"is_hyaline":true,"env_version":"trial"}`,
		reply: string(img), ctype: "image/png"})
	got, err := e.c.Code(ctx, miniprogram.CodeRequest{Path: "pages/table/index?id=12",
		CodeStyle: miniprogram.CodeStyle{Width: 430, LineColor: &miniprogram.RGB{R: 255, B: 8}, IsHyaline: true, EnvVersion: miniprogram.EnvTrial}})
	require.NoError(t, err)
	assert.Equal(t, &miniprogram.Image{ContentType: "image/png", Data: img}, got)

	// The content type is sniffed when WeChat sends none.
	e.expect(t, call{method: "POST", path: "/wxa/getwxacode", body: `{"path":"p","auto_color":true}`, reply: string(jpegImage(t)), ctype: " "})
	got, err = e.c.Code(ctx, miniprogram.CodeRequest{Path: "p", CodeStyle: miniprogram.CodeStyle{AutoColor: true}})
	require.NoError(t, err)
	assert.Equal(t, "image/jpeg", got.ContentType)
}

func TestUnlimitedCode(t *testing.T) {
	e := setup(t)
	img := jpegImage(t)
	no := false
	e.expect(t, call{method: "POST", path: "/wxa/getwxacodeunlimit",
		body:  `{"scene":"t=12&s=7","page":"pages/table/index","check_path":false,"width":280,"env_version":"develop"}`,
		reply: string(img), ctype: "image/jpeg"})
	got, err := e.c.UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{Scene: "t=12&s=7", Page: "pages/table/index", CheckPath: &no,
		CodeStyle: miniprogram.CodeStyle{Width: 280, EnvVersion: miniprogram.EnvDevelop}})
	require.NoError(t, err)
	assert.Equal(t, img, got.Data)
	assert.Equal(t, "image/jpeg", got.ContentType)

	e.expect(t, call{method: "POST", path: "/wxa/getwxacodeunlimit", body: `{"scene":"x"}`, reply: `{"errcode":41030,"errmsg":"invalid page"}`})
	_, err = e.c.UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{Scene: "x"})
	var apiErr *wxerr.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, wxerr.Code(41030), apiErr.Code)
}

func TestCreateQRCode(t *testing.T) {
	e := setup(t)
	img := pngImage(t)
	e.expect(t, call{method: "POST", path: "/cgi-bin/wxaapp/createwxaqrcode", body: `{"path":"pages/index?x=1","width":1280}`, reply: string(img), ctype: "image/png"})
	got, err := e.c.CreateQRCode(ctx, miniprogram.CreateQRCodeRequest{Path: "pages/index?x=1", Width: 1280})
	require.NoError(t, err)
	assert.Equal(t, img, got.Data)

	e.expect(t, call{method: "POST", path: "/cgi-bin/wxaapp/createwxaqrcode", body: `{"path":"p"}`, reply: `{"errcode":45029,"errmsg":"qrcode count out of limit"}`})
	_, err = e.c.CreateQRCode(ctx, miniprogram.CreateQRCodeRequest{Path: "p"})
	assert.Equal(t, wxerr.Code(45029), wxerr.CodeOf(err))

	e.mt.RegisterResponder("POST", base+"/cgi-bin/wxaapp/createwxaqrcode", httpmock.NewErrorResponder(errors.New("connection reset")))
	_, err = e.c.CreateQRCode(ctx, miniprogram.CreateQRCodeRequest{Path: "p"})
	require.ErrorContains(t, err, "connection reset")

	e.expect(t, call{method: "POST", path: "/cgi-bin/wxaapp/createwxaqrcode", body: `{"path":"p"}`, reply: "", ctype: "image/png"})
	_, err = e.c.CreateQRCode(ctx, miniprogram.CreateQRCodeRequest{Path: "p"})
	require.ErrorContains(t, err, "empty")
}

func TestCodesValidateBeforeSending(t *testing.T) {
	e := setup(t)
	long := strings.Repeat("a", 1025)
	for name, err := range map[string]error{
		"code no path":        second(e.c.Code(ctx, miniprogram.CodeRequest{})),
		"code long path":      second(e.c.Code(ctx, miniprogram.CodeRequest{Path: long})),
		"code narrow":         second(e.c.Code(ctx, miniprogram.CodeRequest{Path: "p", CodeStyle: miniprogram.CodeStyle{Width: 279}})),
		"code wide":           second(e.c.Code(ctx, miniprogram.CodeRequest{Path: "p", CodeStyle: miniprogram.CodeStyle{Width: 1281}})),
		"code env":            second(e.c.Code(ctx, miniprogram.CodeRequest{Path: "p", CodeStyle: miniprogram.CodeStyle{EnvVersion: "beta"}})),
		"unlimit no scene":    second(e.c.UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{})),
		"unlimit long scene":  second(e.c.UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{Scene: strings.Repeat("a", 33)})),
		"unlimit scene chars": second(e.c.UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{Scene: "t=1 2"})),
		"unlimit scene cjk":   second(e.c.UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{Scene: "桌1"})),
		"unlimit slash page":  second(e.c.UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{Scene: "a", Page: "/pages/index"})),
		"unlimit query page":  second(e.c.UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{Scene: "a", Page: "pages/index?x=1"})),
		"unlimit width":       second(e.c.UnlimitedCode(ctx, miniprogram.UnlimitedCodeRequest{Scene: "a", CodeStyle: miniprogram.CodeStyle{Width: 100}})),
		"qrcode no path":      second(e.c.CreateQRCode(ctx, miniprogram.CreateQRCodeRequest{})),
		"qrcode long path":    second(e.c.CreateQRCode(ctx, miniprogram.CreateQRCodeRequest{Path: strings.Repeat("a", 129)})),
		"qrcode width":        second(e.c.CreateQRCode(ctx, miniprogram.CreateQRCodeRequest{Path: "p", Width: 2000})),
	} {
		assert.True(t, wxerr.IsValidation(err), name)
	}
	assert.Zero(t, e.mt.GetTotalCallCount())
}

func TestValidScene(t *testing.T) {
	assert.True(t, miniprogram.ValidScene("0-9A-Za-z!#$&'()*+,/:;=?@-._~"))
	assert.True(t, miniprogram.ValidScene(strings.Repeat("z", 32)))
	for _, bad := range []string{"", strings.Repeat("z", 33), "a b", "a%20", "a\"", "a<", "é", "a[", "a^"} {
		assert.False(t, miniprogram.ValidScene(bad), bad)
	}
}

func second[T any](_ T, err error) error { return err }
