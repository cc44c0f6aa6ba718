package wxtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/wxtest"
)

// uploadImage sends media/uploadimg with the image in field.
func (e *cardEnv) uploadImage(field, filename string, data []byte) result {
	e.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if field != "" {
		part, err := w.CreateFormFile(field, filename)
		require.NoError(e.t, err)
		_, _ = part.Write(data)
	}
	require.NoError(e.t, w.Close())
	req, err := http.NewRequest(http.MethodPost, e.s.URL+"/cgi-bin/media/uploadimg?access_token="+url.QueryEscape(e.at), &b)
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	var r result
	require.NoError(e.t, json.NewDecoder(resp.Body).Decode(&r))
	return r
}

func TestCardUploadImage(t *testing.T) {
	e := newCardEnv(t)
	png := append(append([]byte(nil), pngHeader...), make([]byte, 200)...)
	for _, field := range []string{"buffer", "media"} { // documented, and what most SDKs send
		r := e.uploadImage(field, "logo.png", png)
		requireCode(t, 0, r)
		assert.Regexp(t, `^http://mmbiz\.qpic\.cn/mmbiz_png/[A-Za-z0-9]+/0$`, r.str("url"), field)
	}
	jpg := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 200)...)
	assert.Regexp(t, `^http://mmbiz\.qpic\.cn/mmbiz_jpg/`, e.uploadImage("buffer", "a.jpg", jpg).str("url"))

	requireCode(t, 41005, e.uploadImage("", "", nil))
	requireCode(t, 41005, e.uploadImage("file", "logo.png", png), "another field name")
	requireCode(t, 40005, e.uploadImage("buffer", "logo.gif", []byte("GIF89a0123456789")))
	requireCode(t, 40009, e.uploadImage("buffer", "big.png", append(append([]byte(nil), pngHeader...), make([]byte, 1<<20)...)))
	requireCode(t, 41005, e.call("/cgi-bin/media/uploadimg", map[string]any{"url": "x"}), "a JSON body")

	// The uploaded URL is a logo card/create takes.
	logo := e.uploadImage("buffer", "logo.png", png).str("url")
	r := e.call("/card/create", memberCardBody(func(base, _ map[string]any) { base["logo_url"] = logo }))
	requireCode(t, 0, r)
	got := e.call("/card/get", map[string]any{"card_id": r.str("card_id")})
	assert.Equal(t, logo, got.obj("card").obj("member_card").obj("base_info").str("logo_url"))
}

func TestCardCodeGetAndConsume(t *testing.T) {
	e := newCardEnv(t)
	id := e.createCard(nil)
	enc, err := e.s.AddCard(id, "oUSER")
	require.NoError(t, err)
	code := e.call("/card/code/decrypt", map[string]any{"encrypt_code": enc}).str("code")

	r := e.call("/card/code/get", map[string]any{"code": code, "check_consume": true})
	requireCode(t, 0, r)
	assert.Equal(t, "oUSER", r.str("openid"))
	assert.Equal(t, id, r.obj("card").str("card_id"))
	assert.Equal(t, "NORMAL", r.str("user_card_status"))
	assert.Equal(t, true, r["can_consume"])

	requireCode(t, 40056, e.call("/card/code/get", map[string]any{"code": "000000000000"}))
	requireCode(t, 47001, e.call("/card/code/get", map[string]any{"card_id": id}))
	requireCode(t, 40073, e.call("/card/code/get", map[string]any{"code": code, "card_id": "pNOPE"}))

	r = e.call("/card/code/consume", map[string]any{"code": code, "card_id": id})
	requireCode(t, 0, r)
	assert.Equal(t, "oUSER", r.str("openid"))
	assert.Equal(t, id, r.obj("card").str("card_id"))
	r = e.call("/card/code/consume", map[string]any{"code": code})
	requireCode(t, 40099, r, "consumed twice")
	assert.Contains(t, r.str("errmsg"), "consumed")
	r = e.call("/card/code/get", map[string]any{"code": code})
	assert.Equal(t, "CONSUMED", r.str("user_card_status"))
	assert.Equal(t, false, r["can_consume"])
	requireCode(t, 40099, e.call("/card/code/get", map[string]any{"code": code, "check_consume": true}))
}

func TestCardConsumeAnswerDroppedAfterHandling(t *testing.T) {
	e := newCardEnv(t)
	id := e.createCard(nil)
	taken, err := e.s.AddCard(id, "oUSER")
	require.NoError(t, err)
	code := e.call("/card/code/decrypt", map[string]any{"encrypt_code": taken}).str("code")
	e.s.InjectFault("/card/code/consume", wxtest.Fault{Drop: true, AfterHandler: true})
	body := strings.NewReader(`{"code":"` + code + `"}`)
	resp, err := http.Post(e.s.URL+"/card/code/consume?access_token="+url.QueryEscape(e.at), "application/json", body)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	require.Error(t, err, "no answer")
	assert.False(t, errors.Is(err, context.Canceled))
	assert.Equal(t, "CONSUMED", e.call("/card/code/get", map[string]any{"code": code}).str("user_card_status"),
		"the consume happened")
	requireCode(t, 40099, e.call("/card/code/consume", map[string]any{"code": code}))
}

func TestCardManageRefusals(t *testing.T) {
	e := newCardEnv(t)
	id := e.createCard(nil)
	requireCode(t, 47001, e.call("/card/batchget", map[string]any{"count": 5}))
	requireCode(t, 40097, e.call("/card/batchget", map[string]any{"offset": 0, "count": 51}))
	requireCode(t, 40097, e.call("/card/batchget", map[string]any{"offset": 0, "count": 0}))
	requireCode(t, 40097, e.call("/card/batchget", map[string]any{"offset": 0, "count": 5, "status_list": []string{"NOPE"}}))
	r := e.call("/card/batchget", map[string]any{"offset": 0, "count": 5})
	requireCode(t, 0, r)
	assert.Equal(t, 1, r.num("total_num"))

	requireCode(t, 40097, e.call("/card/modifystock", map[string]any{"card_id": id, "increase_stock_value": 1, "reduce_stock_value": 1}))
	requireCode(t, 47001, e.call("/card/modifystock", map[string]any{"card_id": id}))
	requireCode(t, 40122, e.call("/card/modifystock", map[string]any{"card_id": id, "increase_stock_value": 0}))
	requireCode(t, 40122, e.call("/card/modifystock", map[string]any{"card_id": id, "reduce_stock_value": 3}), "stock is 2")
	requireCode(t, 40073, e.call("/card/modifystock", map[string]any{"card_id": "pNOPE", "increase_stock_value": 1}))

	requireCode(t, 47001, e.call("/card/paycell/set", map[string]any{"card_id": id}))
	requireCode(t, 40097, e.call("/card/paycell/set", map[string]any{"card_id": id, "is_open": true}))

	qr := func(body map[string]any) result { return e.call("/card/qrcode/create", body) }
	one := map[string]any{"card": map[string]any{"card_id": id}}
	requireCode(t, 47001, qr(map[string]any{"action_info": one}))
	requireCode(t, 40097, qr(map[string]any{"action_name": "QR_SCENE", "action_info": one}))
	requireCode(t, 40097, qr(map[string]any{"action_name": "QR_CARD", "expire_seconds": 30, "action_info": one}))
	requireCode(t, 47001, qr(map[string]any{"action_name": "QR_MULTIPLE_CARD", "action_info": one}))
	requireCode(t, 0, qr(map[string]any{"action_name": "QR_MULTIPLE_CARD",
		"action_info": map[string]any{"multiple_card": map[string]any{"card_list": []any{map[string]any{"card_id": id}}}}}))

	page := func(edit func(m map[string]any)) result {
		m := map[string]any{"banner": "http://mmbiz.qpic.cn/b/0", "page_title": "t", "scene": "SCENE_H5",
			"card_list": []any{map[string]any{"card_id": id, "thumb_url": "http://mmbiz.qpic.cn/t/0"}}}
		edit(m)
		return e.call("/card/landingpage/create", m)
	}
	requireCode(t, 0, page(func(map[string]any) {}))
	requireCode(t, 47001, page(func(m map[string]any) { delete(m, "banner") }))
	requireCode(t, 40097, page(func(m map[string]any) { m["scene"] = "SCENE_MOON" }))
	requireCode(t, 47001, page(func(m map[string]any) { m["card_list"] = []any{} }))

	requireCode(t, 0, e.call("/card/delete", map[string]any{"card_id": id}))
	requireCode(t, 40127, e.call("/card/delete", map[string]any{"card_id": id}))
	requireCode(t, 40127, qr(map[string]any{"action_name": "QR_CARD", "action_info": one}))
}
