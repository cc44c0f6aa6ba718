package wxtest_test

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/wxtest"
)

const cardOA = "wx0a0a0a0a0a0a0a0a"

// cardEnv is an emulator with an authorised official account and its access token.
type cardEnv struct {
	*env
	at string
}

func newCardEnv(t *testing.T) *cardEnv {
	t.Helper()
	e := newEnv(t)
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: cardOA, Business: wxtest.BusinessInfo{OpenCard: 1}})
	at, _ := e.authorize(e.componentToken(), cardOA)
	return &cardEnv{env: e, at: at}
}

// call POSTs body to a card endpoint with the official account's token.
func (e *cardEnv) call(path string, body any) result {
	e.t.Helper()
	return e.do(http.MethodPost, path, url.Values{"access_token": {e.at}}, body)
}

func memberCardBody(edit func(base, mc map[string]any)) map[string]any {
	base := map[string]any{
		"logo_url": "https://mmbiz.qpic.cn/logo.png", "brand_name": "海风咖啡", "code_type": "CODE_TYPE_QRCODE",
		"title": "海风会员卡", "color": "Color010", "notice": "出示会员卡", "description": "会员享九折",
		"date_info": map[string]any{"type": "DATE_TYPE_PERMANENT"}, "sku": map[string]any{"quantity": 2},
	}
	mc := map[string]any{"base_info": base, "prerogative": "九折", "supply_bonus": true, "supply_balance": false}
	if edit != nil {
		edit(base, mc)
	}
	return map[string]any{"card": map[string]any{"card_type": "MEMBER_CARD", "member_card": mc}}
}

func (e *cardEnv) createCard(edit func(base, mc map[string]any)) string {
	e.t.Helper()
	r := e.call("/card/create", memberCardBody(edit))
	requireCode(e.t, 0, r)
	id := r.str("card_id")
	require.Regexp(e.t, `^p[A-Za-z0-9]{27}$`, id)
	return id
}

func TestCardTicket(t *testing.T) {
	e := newCardEnv(t)
	q := url.Values{"access_token": {e.at}, "type": {"wx_card"}}
	r := e.do(http.MethodGet, "/cgi-bin/ticket/getticket", q, nil)
	requireCode(t, 0, r)
	assert.Equal(t, 7200, r.num("expires_in"))
	first := r.str("ticket")
	require.NotEmpty(t, first)
	second := e.do(http.MethodGet, "/cgi-bin/ticket/getticket", q, nil).str("ticket")
	assert.NotEqual(t, first, second)
	assert.Equal(t, 2, e.s.Calls("/cgi-bin/ticket/getticket"))

	requireCode(t, 40097, e.do(http.MethodGet, "/cgi-bin/ticket/getticket", url.Values{"access_token": {e.at}}, nil))
	requireCode(t, 40097, e.do(http.MethodGet, "/cgi-bin/ticket/getticket", url.Values{"access_token": {e.at}, "type": {"jsapi"}}, nil))
	requireCode(t, 41001, e.do(http.MethodGet, "/cgi-bin/ticket/getticket", url.Values{"type": {"wx_card"}}, nil))
	requireCode(t, 43001, e.do(http.MethodPost, "/cgi-bin/ticket/getticket", q, "{}"))
	assert.Equal(t, 6, e.s.Calls("/cgi-bin/ticket/getticket"), "every call counts, refused ones too")
}

// signExt computes a cardExt signature independently: sort, concatenate, SHA-1.
func signExt(vals ...string) string {
	sort.Strings(vals)
	sum := sha1.Sum([]byte(strings.Join(vals, "")))
	return hex.EncodeToString(sum[:])
}

func TestVerifyCardExt(t *testing.T) {
	e := newCardEnv(t)
	id := e.createCard(nil)
	ticket := e.do(http.MethodGet, "/cgi-bin/ticket/getticket", url.Values{"access_token": {e.at}, "type": {"wx_card"}}, nil).str("ticket")
	ext := func(sig string) string {
		return `{"openid":"oU","timestamp":"1700000000","nonce_str":"n1","signature":"` + sig + `"}`
	}
	require.NoError(t, e.s.VerifyCardExt(id, ext(signExt(ticket, "1700000000", id, "n1", "oU"))))
	assert.Error(t, e.s.VerifyCardExt(id, ext(signExt(ticket, "1700000000", id, "n1"))), "openid is signed")
	assert.Error(t, e.s.VerifyCardExt(id, ext(signExt("other", "1700000000", id, "n1", "oU"))))
	assert.Error(t, e.s.VerifyCardExt("pUNKNOWN", ext(signExt(ticket, "1700000000", "pUNKNOWN", "n1", "oU"))))
	assert.Error(t, e.s.VerifyCardExt(id, "not json"))
	assert.Error(t, e.s.VerifyCardExt(id, `{"timestamp":"x","nonce_str":"n","signature":"s"}`))
	assert.Error(t, e.s.VerifyCardExt(id, `{"timestamp":1,"nonce_str":"`+strings.Repeat("n", 33)+`","signature":"s"}`))
	assert.Error(t, e.s.VerifyCardExt(id, `{"timestamp":1,"nonce_str":"n"}`))
	numeric := `{"timestamp":1700000000,"nonce_str":"n1","signature":"` + signExt(ticket, "1700000000", id, "n1") + `"}`
	require.NoError(t, e.s.VerifyCardExt(id, numeric), "a numeric timestamp is accepted")

	e.s.Advance(7200 * time.Second)
	assert.ErrorContains(t, e.s.VerifyCardExt(id, ext(signExt(ticket, "1700000000", id, "n1", "oU"))), "live api_ticket",
		"tickets expire after 7200 s on the emulator clock")
}

func TestCardCreateAndGet(t *testing.T) {
	e := newCardEnv(t)
	id := e.createCard(func(base, mc map[string]any) { base["can_share"] = false; mc["discount"] = 10 })
	r := e.call("/card/get", map[string]string{"card_id": id})
	requireCode(t, 0, r)
	card := r.obj("card")
	assert.Equal(t, "MEMBER_CARD", card.str("card_type"))
	mc := card.obj("member_card")
	base := mc.obj("base_info")
	assert.Equal(t, id, base.str("id"))
	assert.Equal(t, "CARD_STATUS_VERIFY_OK", base.str("status"))
	assert.Equal(t, "海风会员卡", base.str("title"))
	assert.Equal(t, false, base["can_share"])
	assert.Equal(t, 2, base.obj("sku").num("total_quantity"))
	assert.Equal(t, 10, mc.num("discount"))
	assert.Equal(t, true, mc["supply_bonus"])

	requireCode(t, 40073, e.call("/card/get", map[string]string{"card_id": "pNOPE"}))
	requireCode(t, 47001, e.call("/card/get", map[string]string{}))

	// Another account does not see the card.
	other := "wx0b0b0b0b0b0b0b0b"
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: other})
	at2, _ := e.authorize(e.componentToken(), other)
	requireCode(t, 40073, e.do(http.MethodPost, "/card/get", url.Values{"access_token": {at2}}, map[string]string{"card_id": id}))
}

func TestCardCreateRefusals(t *testing.T) {
	e := newCardEnv(t)
	for _, f := range []string{"logo_url", "brand_name", "code_type", "title", "color", "notice", "description", "date_info", "sku"} {
		r := e.call("/card/create", memberCardBody(func(base, _ map[string]any) { delete(base, f) }))
		requireCode(t, 47001, r, f)
		assert.Contains(t, r.str("errmsg"), f)
	}
	for _, f := range []string{"prerogative", "supply_bonus", "supply_balance", "base_info"} {
		requireCode(t, 47001, e.call("/card/create", memberCardBody(func(_, mc map[string]any) { delete(mc, f) })), f)
	}
	for name, edit := range map[string]func(base, mc map[string]any){
		"color":      func(b, _ map[string]any) { b["color"] = "Color011" },
		"code type":  func(b, _ map[string]any) { b["code_type"] = "CODE_TYPE_PDF417" },
		"long title": func(b, _ map[string]any) { b["title"] = strings.Repeat("卡", 10) },
		"long brand": func(b, _ map[string]any) { b["brand_name"] = strings.Repeat("海", 13) },
		"logo":       func(b, _ map[string]any) { b["logo_url"] = "logo.png" },
		"date type":  func(b, _ map[string]any) { b["date_info"] = map[string]any{"type": "DATE_TYPE_SOMETIMES"} },
		"date range": func(b, _ map[string]any) {
			b["date_info"] = map[string]any{"type": "DATE_TYPE_FIX_TIME_RANGE", "begin_timestamp": 5, "end_timestamp": 5}
		},
		"fixed term":   func(b, _ map[string]any) { b["date_info"] = map[string]any{"type": "DATE_TYPE_FIX_TERM"} },
		"name type":    func(_, mc map[string]any) { mc["custom_field1"] = map[string]any{"name_type": "FIELD_NAME_TYPE_GOLD"} },
		"no date type": func(b, _ map[string]any) { b["date_info"] = map[string]any{} },
	} {
		r := e.call("/card/create", memberCardBody(edit))
		if name == "no date type" {
			requireCode(t, 47001, r, name)
			continue
		}
		requireCode(t, 40097, r, name)
	}
	requireCode(t, 40122, e.call("/card/create", memberCardBody(func(b, _ map[string]any) { b["sku"] = map[string]any{"quantity": -1} })))
	requireCode(t, 47001, e.call("/card/create", memberCardBody(func(b, _ map[string]any) { b["title"] = 7 })), "wrong type")
	requireCode(t, 40097, e.call("/card/create", map[string]any{"card": map[string]any{"card_type": "GROUPON", "groupon": map[string]any{}}}))
	requireCode(t, 47001, e.call("/card/create", map[string]any{"card": map[string]any{"member_card": map[string]any{}}}))
	requireCode(t, 47001, e.call("/card/create", map[string]any{"card": map[string]any{"card_type": "MEMBER_CARD"}}))
	requireCode(t, 47001, e.call("/card/create", map[string]any{}))
	requireCode(t, 44002, e.call("/card/create", ""))
}

func TestCardUpdate(t *testing.T) {
	e := newCardEnv(t)
	id := e.createCard(nil)
	r := e.call("/card/update", map[string]any{"card_id": id, "member_card": map[string]any{
		"base_info": map[string]any{"notice": "新须知"}, "prerogative": "八折"}})
	requireCode(t, 0, r)
	assert.Equal(t, false, r["send_check"])
	r = e.call("/card/update", map[string]any{"card_id": id, "member_card": map[string]any{"base_info": map[string]any{"title": "新卡"}}})
	assert.Equal(t, true, r["send_check"], "a new title goes through review again")
	mc := e.call("/card/get", map[string]string{"card_id": id}).obj("card").obj("member_card")
	assert.Equal(t, "新须知", mc.obj("base_info").str("notice"))
	assert.Equal(t, "新卡", mc.obj("base_info").str("title"))
	assert.Equal(t, "海风咖啡", mc.obj("base_info").str("brand_name"), "other fields are kept")
	assert.Equal(t, "八折", mc.str("prerogative"))

	requireCode(t, 40097, e.call("/card/update", map[string]any{"card_id": id, "member_card": map[string]any{"base_info": map[string]any{"brand_name": "X"}}}))
	requireCode(t, 40097, e.call("/card/update", map[string]any{"card_id": id, "member_card": map[string]any{"base_info": map[string]any{"color": "red"}}}))
	requireCode(t, 40097, e.call("/card/update", map[string]any{"card_id": id, "member_card": map[string]any{"base_info": map[string]any{}}}))
	requireCode(t, 47001, e.call("/card/update", map[string]any{"card_id": id}))
	requireCode(t, 40073, e.call("/card/update", map[string]any{"card_id": "pX", "member_card": map[string]any{"prerogative": "P"}}))
}

func TestAddCardAndDecrypt(t *testing.T) {
	e := newCardEnv(t)
	id := e.createCard(func(base, _ map[string]any) { base["get_limit"] = 1 })
	enc, err := e.s.AddCard(id, "oUSER")
	require.NoError(t, err)
	raw, err := base64.StdEncoding.DecodeString(enc)
	require.NoError(t, err)
	assert.Len(t, raw, 32)
	assert.True(t, strings.HasSuffix(enc, "="), "encrypt_code keeps its padding")

	r := e.call("/card/code/decrypt", map[string]string{"encrypt_code": enc})
	requireCode(t, 0, r)
	assert.Regexp(t, `^[0-9]{12}$`, r.str("code"))
	requireCode(t, 40075, e.call("/card/code/decrypt", map[string]string{"encrypt_code": strings.TrimSuffix(enc, "=")}))
	requireCode(t, 47001, e.call("/card/code/decrypt", map[string]string{}))

	_, err = e.s.AddCard(id, "oUSER")
	assert.ErrorContains(t, err, "get_limit")
	_, err = e.s.AddCard(id, "oOTHER") // takes the last of 2
	require.NoError(t, err)
	_, err = e.s.AddCard(id, "oTHIRD")
	assert.ErrorContains(t, err, "out of stock")
	assert.Equal(t, 0, e.call("/card/get", map[string]string{"card_id": id}).obj("card").obj("member_card").obj("base_info").obj("sku").num("quantity"))
	_, err = e.s.AddCard("pNOPE", "oU")
	assert.Error(t, err)
	_, err = e.s.AddCard(id, "")
	assert.Error(t, err)
	custom := e.createCard(func(base, _ map[string]any) { base["use_custom_code"] = true })
	_, err = e.s.AddCard(custom, "oU")
	assert.ErrorContains(t, err, "custom codes")
}

var cardForm = map[string]any{
	"required_form": map[string]any{"can_modify": false, "common_field_id_list": []string{"USER_FORM_INFO_FLAG_MOBILE"},
		"custom_field_list": []string{"口味"}},
	"optional_form": map[string]any{"can_modify": true, "common_field_id_list": []string{"USER_FORM_INFO_FLAG_SEX"},
		"rich_field_list": []map[string]any{{"type": "FORM_FIELD_RADIO", "name": "门店", "values": []string{"A", "B"}}}},
}

func withCardID(m map[string]any, id string) map[string]any {
	out := map[string]any{"card_id": id}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestActivationFlow(t *testing.T) {
	e := newCardEnv(t)
	id := e.createCard(nil)
	enc, err := e.s.AddCard(id, "oUSER")
	require.NoError(t, err)
	code := e.call("/card/code/decrypt", map[string]string{"encrypt_code": enc}).str("code")

	_, err = e.s.SubmitActivateForm(id, enc, map[string]string{"USER_FORM_INFO_FLAG_MOBILE": "138"})
	assert.ErrorContains(t, err, "no activation form")
	requireCode(t, 0, e.call("/card/membercard/activateuserform/set", withCardID(cardForm, id)))

	// The activation URL: base64 values percent-encoded in the raw query, '=' padding kept.
	r := e.call("/card/membercard/activate/geturl", map[string]string{"card_id": id, "outer_str": "shop 1"})
	requireCode(t, 0, r)
	u, err := url.Parse(r.str("url"))
	require.NoError(t, err)
	assert.Equal(t, "mp.weixin.qq.com", u.Host)
	assert.Contains(t, u.RawQuery, "%3D")
	q := u.Query()
	for _, k := range []string{"encrypt_card_id", "biz"} {
		v := q.Get(k)
		assert.True(t, strings.HasSuffix(v, "="), "%s %q keeps its padding", k, v)
		_, err := base64.StdEncoding.DecodeString(v)
		assert.NoError(t, err, k)
	}
	assert.Equal(t, "shop 1", q.Get("outer_str"))
	again := e.call("/card/membercard/activate/geturl", map[string]string{"card_id": id}).str("url")
	au, _ := url.Parse(again)
	assert.Equal(t, q.Get("encrypt_card_id"), au.Query().Get("encrypt_card_id"), "stable per card")

	// The member fills the form in the plugin.
	_, err = e.s.SubmitActivateForm(id, enc, map[string]string{"USER_FORM_INFO_FLAG_MOBILE": "138"})
	assert.ErrorContains(t, err, "口味", "required custom field")
	_, err = e.s.SubmitActivateForm("pNOPE", enc, nil)
	assert.Error(t, err)
	_, err = e.s.SubmitActivateForm(id, "bogus", nil)
	assert.Error(t, err)
	ticket, err := e.s.SubmitActivateForm(id, enc, map[string]string{"USER_FORM_INFO_FLAG_MOBILE": "13800000000",
		"USER_FORM_INFO_FLAG_SEX": "FEMALE", "口味": "甜"})
	require.NoError(t, err)
	info := e.call("/card/membercard/activatetempinfo/get", map[string]string{"activate_ticket": ticket})
	requireCode(t, 0, info)
	common := fmt.Sprint(info.obj("info")["common_field_list"])
	assert.Contains(t, common, "13800000000")
	assert.Contains(t, fmt.Sprint(info.obj("info")["custom_field_list"]), "甜")
	requireCode(t, 40097, e.call("/card/membercard/activatetempinfo/get", map[string]string{"activate_ticket": "nope"}))
	requireCode(t, 47001, e.call("/card/membercard/activatetempinfo/get", map[string]string{}))

	// Before activation.
	ui := e.call("/card/membercard/userinfo/get", map[string]string{"card_id": id, "code": code})
	requireCode(t, 0, ui)
	assert.Equal(t, false, ui["has_active"])
	assert.Equal(t, "oUSER", ui.str("openid"))

	// Activation refusals, then success.
	requireCode(t, 40056, e.call("/card/membercard/activate", map[string]any{"membership_number": "M1", "code": "000000000000"}))
	otherCard := e.createCard(nil)
	requireCode(t, 40056, e.call("/card/membercard/activate", map[string]any{"membership_number": "M1", "code": code, "card_id": otherCard}),
		"a code of another card")
	requireCode(t, 40073, e.call("/card/membercard/activate", map[string]any{"membership_number": "M1", "code": code, "card_id": "pNOPE"}))
	requireCode(t, 47001, e.call("/card/membercard/activate", map[string]any{"code": code}))
	requireCode(t, 0, e.call("/card/membercard/activate", map[string]any{"membership_number": "M001", "code": code, "card_id": id,
		"init_bonus": 100, "init_balance": 500}))

	ui = e.call("/card/membercard/userinfo/get", map[string]string{"card_id": id, "code": code})
	assert.Equal(t, true, ui["has_active"])
	assert.Equal(t, "M001", ui.str("membership_number"))
	assert.Equal(t, 100, ui.num("bonus"))
	assert.Equal(t, 500, ui.num("balance"))
	assert.Equal(t, "FEMALE", ui.str("sex"))
	assert.Equal(t, "NORMAL", ui.str("user_card_status"))
	assert.Contains(t, fmt.Sprint(ui.obj("user_info")["common_field_list"]), "13800000000")

	// Bonus and balance updates.
	up := e.call("/card/membercard/updateuser", map[string]any{"code": code, "card_id": id, "add_bonus": 20, "balance": 0})
	requireCode(t, 0, up)
	assert.Equal(t, 120, up.num("result_bonus"))
	assert.Equal(t, 0, up.num("result_balance"))
	assert.Equal(t, "oUSER", up.str("openid"))
	requireCode(t, 40097, e.call("/card/membercard/updateuser", map[string]any{"code": code, "card_id": id, "add_bonus": -121}))
	requireCode(t, 40056, e.call("/card/membercard/updateuser", map[string]any{"code": "1", "card_id": id, "add_bonus": 1}))
	assert.Equal(t, 120, e.call("/card/membercard/userinfo/get", map[string]string{"card_id": id, "code": code}).num("bonus"))

	// The activate_ticket expires.
	e.s.Advance(31 * time.Minute)
	requireCode(t, 40097, e.call("/card/membercard/activatetempinfo/get", map[string]string{"activate_ticket": ticket}))
}

func TestActivateFormRefusals(t *testing.T) {
	e := newCardEnv(t)
	id := e.createCard(nil)
	requireCode(t, 40073, e.call("/card/membercard/activateuserform/set", withCardID(cardForm, "pNOPE")))
	requireCode(t, 47001, e.call("/card/membercard/activateuserform/set", map[string]any{"card_id": id}))
	requireCode(t, 40097, e.call("/card/membercard/activateuserform/set", map[string]any{"card_id": id,
		"required_form": map[string]any{"common_field_id_list": []string{"USER_FORM_INFO_FLAG_SHOE"}}}))
	requireCode(t, 40097, e.call("/card/membercard/activateuserform/set", map[string]any{"card_id": id,
		"optional_form": map[string]any{"rich_field_list": []map[string]any{{"type": "FORM_FIELD_TEXT", "name": "x", "values": []string{"a"}}}}}))
	requireCode(t, 40073, e.call("/card/membercard/activate/geturl", map[string]string{"card_id": "pNOPE"}))
}

// TestCardGetDuringUpdates reads a card while other requests change it (run with -race): an answer
// is encoded from the card's state while the emulator's lock is held, never after.
func TestCardGetDuringUpdates(t *testing.T) {
	e := newCardEnv(t)
	id := e.createCard(func(base, _ map[string]any) { base["sku"] = map[string]any{"quantity": 100} })
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 50; i++ {
			_, _ = e.s.AddCard(id, fmt.Sprintf("o%027d", i))
			body := fmt.Sprintf(`{"card_id":%q,"member_card":{"base_info":{"notice":"须知%d"},"prerogative":"折扣%d"}}`, id, i, i)
			resp, err := http.Post(e.s.URL+"/card/update?access_token="+e.at, "application/json", strings.NewReader(body))
			if err == nil {
				resp.Body.Close()
			}
		}
	}()
	for i := 0; i < 50; i++ {
		requireCode(t, 0, e.call("/card/get", map[string]string{"card_id": id}))
	}
	<-done
}

// TestVerifyCardExtCustomCodeAndBoundOpenID: a use_custom_code card needs the code in its cardExt,
// a bind_openid card the openid (API digest 7.7).
func TestVerifyCardExtCustomCodeAndBoundOpenID(t *testing.T) {
	e := newCardEnv(t)
	custom := e.createCard(func(base, _ map[string]any) { base["use_custom_code"] = true })
	bound := e.createCard(func(base, _ map[string]any) { base["bind_openid"] = true })
	ticket := e.do(http.MethodGet, "/cgi-bin/ticket/getticket", url.Values{"access_token": {e.at}, "type": {"wx_card"}}, nil).str("ticket")
	ext := func(code, openid, sig string) string {
		return `{"code":"` + code + `","openid":"` + openid + `","timestamp":"1700000000","nonce_str":"n1","signature":"` + sig + `"}`
	}
	assert.Error(t, e.s.VerifyCardExt(custom, ext("", "", signExt(ticket, "1700000000", custom, "n1"))), "no code")
	require.NoError(t, e.s.VerifyCardExt(custom, ext("C1", "", signExt(ticket, "1700000000", custom, "n1", "C1"))))
	assert.Error(t, e.s.VerifyCardExt(bound, ext("", "", signExt(ticket, "1700000000", bound, "n1"))), "no openid")
	require.NoError(t, e.s.VerifyCardExt(bound, ext("", "oU", signExt(ticket, "1700000000", bound, "n1", "oU"))))
}

// TestCardAPIsNeedAnOfficialAccount: card APIs are official-account APIs (API digest 7): a mini
// program's token is refused with 48001, so the cardExt of a mini program must be signed with its
// official account's api_ticket.
func TestCardAPIsNeedAnOfficialAccount(t *testing.T) {
	e := newCardEnv(t)
	const mini = "wx0b0b0b0b0b0b0b0b"
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: mini, MiniProgram: true})
	mt, _ := e.authorize(e.componentToken(), mini)
	q := url.Values{"access_token": {mt}, "type": {"wx_card"}}
	requireCode(t, 48001, e.do(http.MethodGet, "/cgi-bin/ticket/getticket", q, nil))
	requireCode(t, 48001, e.do(http.MethodPost, "/card/create", url.Values{"access_token": {mt}}, memberCardBody(nil)))
	assert.Equal(t, 0, e.call("/card/create", memberCardBody(nil)).code(), "the official account may")
}
