package card_test

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/wxerr"
)

// pngImage is a PNG signature padded to size bytes.
func pngImage(size int) []byte {
	b := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, size)...)
	return b[:size]
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestUploadImageSendsMultipart(t *testing.T) {
	for _, tc := range []struct {
		name, file, ctype string
		data              []byte
	}{
		{"png", "logo.png", "image/png", pngImage(2048)},
		{"jpeg named .png", "logo.png", "image/jpeg", append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 500)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			e.mt.RegisterResponder("POST", base+"/cgi-bin/media/uploadimg", func(r *http.Request) (*http.Response, error) {
				assert.Equal(t, url.Values{"access_token": {"AT-" + oaAppID}}, r.URL.Query())
				mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
				require.NoError(t, err)
				assert.Equal(t, "multipart/form-data", mt)
				mr := multipart.NewReader(r.Body, params["boundary"])
				part, err := mr.NextPart()
				require.NoError(t, err)
				assert.Equal(t, "buffer", part.FormName(), "the field WeChat documents")
				assert.Equal(t, tc.file, part.FileName())
				assert.Equal(t, tc.ctype, part.Header.Get("Content-Type"), "detected from the content")
				data, err := io.ReadAll(part)
				require.NoError(t, err)
				assert.Equal(t, tc.data, data)
				_, err = mr.NextPart()
				assert.ErrorIs(t, err, io.EOF)
				return httpmock.NewStringResponse(200, `{"url":"http://mmbiz.qpic.cn/mmbiz_png/abc/0"}`), nil
			})
			u, err := e.card(oaAppID).UploadImage(context.Background(), tc.file, tc.data)
			require.NoError(t, err)
			assert.Equal(t, "http://mmbiz.qpic.cn/mmbiz_png/abc/0", u)
		})
	}
}

func TestUploadImageValidates(t *testing.T) {
	e := setup(t)
	c := e.card(oaAppID)
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"no name":   func() error { _, err := c.UploadImage(ctx, "", pngImage(100)); return err },
		"empty":     func() error { _, err := c.UploadImage(ctx, "a.png", nil); return err },
		"too large": func() error { _, err := c.UploadImage(ctx, "a.png", pngImage(card.MaxImageBytes+1)); return err },
		"gif":       func() error { _, err := c.UploadImage(ctx, "a.png", []byte("GIF89a.........")); return err },
	} {
		assert.True(t, wxerr.IsValidation(call()), name)
	}
	_, err := c.UploadImage(ctx, "a.png", pngImage(card.MaxImageBytes))
	assert.False(t, wxerr.IsValidation(err), "exactly 1 MB is allowed")
}

func TestUploadImageWithoutURL(t *testing.T) {
	e := setup(t)
	e.mt.RegisterResponder("POST", base+"/cgi-bin/media/uploadimg", httpmock.NewStringResponder(200, `{"errcode":0}`))
	_, err := e.card(oaAppID).UploadImage(context.Background(), "a.png", pngImage(100))
	assert.ErrorContains(t, err, "no url")
}
