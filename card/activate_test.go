package card_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestDecryptCode(t *testing.T) {
	e := setup(t)
	e.expectPOST(t, "/card/code/decrypt", `{"encrypt_code":"XXIzTtMqCxwOaawoE91+VJdsFmv7b8g0VZIZkqf4GWA60Fzpc8ksZ/5ZZ0DVkXdE"}`,
		`{"errcode":0,"errmsg":"ok","code":"751234212312"}`)
	c := e.card(oaAppID)
	for _, in := range []string{
		"XXIzTtMqCxwOaawoE91+VJdsFmv7b8g0VZIZkqf4GWA60Fzpc8ksZ/5ZZ0DVkXdE",         // raw from wx.addCard
		"XXIzTtMqCxwOaawoE91%2BVJdsFmv7b8g0VZIZkqf4GWA60Fzpc8ksZ%2F5ZZ0DVkXdE",     // still percent-encoded
		"XXIzTtMqCxwOaawoE91%252BVJdsFmv7b8g0VZIZkqf4GWA60Fzpc8ksZ%252F5ZZ0DVkXdE", // encoded twice
		"XXIzTtMqCxwOaawoE91 VJdsFmv7b8g0VZIZkqf4GWA60Fzpc8ksZ/5ZZ0DVkXdE",         // '+' read as a space
		" XXIzTtMqCxwOaawoE91+VJdsFmv7b8g0VZIZkqf4GWA60Fzpc8ksZ/5ZZ0DVkXdE\n",
	} {
		code, err := c.DecryptCode(context.Background(), in)
		require.NoError(t, err, in)
		assert.Equal(t, "751234212312", code)
	}
}

func TestNormalizeEncryptCodeKeepsPadding(t *testing.T) {
	for in, want := range map[string]string{
		"ab+/cd==":            "ab+/cd==",
		"ab%2B%2Fcd%3D%3D":    "ab+/cd==",
		"ab%252B%252Fcd%253D": "ab+/cd=",
		"ab cd=":              "ab+cd=",
	} {
		got, err := card.NormalizeEncryptCode(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "  ", "ab%zz", "a%25252525"} {
		_, err := card.NormalizeEncryptCode(bad)
		require.True(t, wxerr.IsValidation(err), bad)
	}
}

func TestDecryptCodeErrors(t *testing.T) {
	ctx := context.Background()
	e := setup(t)
	_, err := e.card(oaAppID).DecryptCode(ctx, "")
	require.True(t, wxerr.IsValidation(err))
	assert.Zero(t, e.mt.GetTotalCallCount())

	e.expectPOST(t, "/card/code/decrypt", `{"encrypt_code":"bad"}`, `{"errcode":40075,"errmsg":"invalid encrypt code"}`)
	_, err = e.card(oaAppID).DecryptCode(ctx, "bad")
	assert.EqualValues(t, 40075, wxerr.CodeOf(err))

	e2 := setup(t)
	e2.expectPOST(t, "/card/code/decrypt", `{"encrypt_code":"x"}`, `{"errcode":0,"errmsg":"ok"}`)
	_, err = e2.card(oaAppID).DecryptCode(ctx, "x")
	require.ErrorContains(t, err, "no code")
}

func TestActivate(t *testing.T) {
	e := setup(t)
	e.expectPOST(t, "/card/membercard/activate", `{"membership_number":"M001","code":"751234212312","card_id":"pC",
		"activate_begin_time":100,"activate_end_time":200,"init_bonus":10,"init_bonus_record":"welcome","init_custom_field_value1":"银卡"}`,
		`{"errcode":0,"errmsg":"ok"}`)
	err := e.card(oaAppID).Activate(context.Background(), card.ActivateRequest{MembershipNumber: "M001", Code: "751234212312", CardID: "pC",
		ActivateBeginTime: time.Unix(100, 0), ActivateEndTime: time.Unix(200, 0), InitBonus: 10, InitBonusRecord: "welcome", InitCustomFieldValue1: "银卡"})
	require.NoError(t, err)
}

func TestActivateErrors(t *testing.T) {
	ctx := context.Background()
	e := setup(t)
	for _, tc := range []struct {
		req   card.ActivateRequest
		field string
	}{
		{card.ActivateRequest{Code: "c"}, "membership_number"},
		{card.ActivateRequest{MembershipNumber: "m"}, "code"},
		{card.ActivateRequest{MembershipNumber: "m", Code: "c", ActivateBeginTime: time.Unix(200, 0), ActivateEndTime: time.Unix(100, 0)}, "activate_end_time"},
		{card.ActivateRequest{MembershipNumber: "m", Code: "c", ActivateBeginTime: time.Unix(200, 0), ActivateEndTime: time.Unix(200, 900e6)}, "activate_end_time"},
		{card.ActivateRequest{MembershipNumber: "m", Code: "c", ActivateBeginTime: time.Unix(0, 0)}, "activate_begin_time"},
		{card.ActivateRequest{MembershipNumber: "m", Code: "c", InitBalance: -1}, "init_bonus"},
	} {
		err := e.card(oaAppID).Activate(ctx, tc.req)
		var ve *wxerr.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, tc.field, ve.Field)
	}
	assert.Zero(t, e.mt.GetTotalCallCount())
	e.expectPOST(t, "/card/membercard/activate", `{"membership_number":"m","code":"c"}`, `{"errcode":40056,"errmsg":"invalid serial code"}`)
	err := e.card(oaAppID).Activate(ctx, card.ActivateRequest{MembershipNumber: "m", Code: "c"})
	assert.EqualValues(t, 40056, wxerr.CodeOf(err))
}

func validForm() card.ActivateUserForm {
	return card.ActivateUserForm{
		CardID:           "pC",
		ServiceStatement: &card.FormLink{Name: "会员守则", URL: "https://example.com/rules"},
		RequiredForm: &card.FormSection{
			CanModify:         false,
			CommonFieldIDList: []card.FormFieldID{card.FieldMobile, card.FieldName},
			RichFieldList:     []card.RichField{{Type: card.RichFieldRadio, Name: "口味", Values: []string{"甜", "咸"}}},
		},
		OptionalForm: &card.FormSection{CanModify: true, CommonFieldIDList: []card.FormFieldID{card.FieldBirthday}, CustomFieldList: []string{"喜好"}},
	}
}

func TestSetActivateUserForm(t *testing.T) {
	e := setup(t)
	e.expectPOST(t, "/card/membercard/activateuserform/set", `{"card_id":"pC",
		"service_statement":{"name":"会员守则","url":"https://example.com/rules"},
		"required_form":{"can_modify":false,"common_field_id_list":["USER_FORM_INFO_FLAG_MOBILE","USER_FORM_INFO_FLAG_NAME"],
			"rich_field_list":[{"type":"FORM_FIELD_RADIO","name":"口味","values":["甜","咸"]}]},
		"optional_form":{"can_modify":true,"common_field_id_list":["USER_FORM_INFO_FLAG_BIRTHDAY"],"custom_field_list":["喜好"]}}`,
		`{"errcode":0,"errmsg":"ok"}`)
	require.NoError(t, e.card(oaAppID).SetActivateUserForm(context.Background(), validForm()))
}

func TestSetActivateUserFormValidation(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(f *card.ActivateUserForm)
		field string
	}{
		{"no card", func(f *card.ActivateUserForm) { f.CardID = "" }, "card_id"},
		{"no sections", func(f *card.ActivateUserForm) { f.RequiredForm, f.OptionalForm = nil, nil }, "required_form"},
		{"empty section", func(f *card.ActivateUserForm) { f.OptionalForm = &card.FormSection{CanModify: true} }, "optional_form"},
		{"unknown field", func(f *card.ActivateUserForm) {
			f.RequiredForm.CommonFieldIDList = []card.FormFieldID{"USER_FORM_INFO_FLAG_SHOE_SIZE"}
		}, "required_form.common_field_id_list"},
		{"field twice across sections", func(f *card.ActivateUserForm) {
			f.OptionalForm.CommonFieldIDList = []card.FormFieldID{card.FieldMobile}
		}, "optional_form.common_field_id_list"},
		{"empty custom name", func(f *card.ActivateUserForm) { f.OptionalForm.CustomFieldList = []string{""} }, "optional_form.custom_field_list"},
		{"custom twice", func(f *card.ActivateUserForm) { f.OptionalForm.CustomFieldList = []string{"a", "a"} }, "optional_form.custom_field_list"},
		{"bad rich type", func(f *card.ActivateUserForm) { f.RequiredForm.RichFieldList[0].Type = "FORM_FIELD_TEXT" }, "required_form.rich_field_list.type"},
		{"rich without values", func(f *card.ActivateUserForm) { f.RequiredForm.RichFieldList[0].Values = nil }, "required_form.rich_field_list"},
		{"statement without url", func(f *card.ActivateUserForm) { f.ServiceStatement.URL = "" }, "service_statement"},
		{"bind old card without name", func(f *card.ActivateUserForm) {
			f.BindOldCard = &card.FormLink{URL: "https://example.com/bind"}
		}, "bind_old_card"},
	}
	e := setup(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := validForm()
			tc.edit(&f)
			err := e.card(oaAppID).SetActivateUserForm(context.Background(), f)
			var ve *wxerr.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
		})
	}
	assert.Zero(t, e.mt.GetTotalCallCount())
	for _, id := range []card.FormFieldID{card.FieldMobile, card.FieldSex, card.FieldName, card.FieldBirthday, card.FieldIDCard,
		card.FieldEmail, card.FieldLocation, card.FieldEducationBackground, card.FieldIndustry, card.FieldIncome, card.FieldHabit} {
		assert.True(t, id.Valid(), id)
	}
}

// The activation URL as WeChat answers it: base64 values with '=' padding, percent-encoded.
const (
	encCardID = "pbLatjnrwUUdZI641gKdTMJ9Mpd8+bs/vGE30=="
	bizID     = "MzIyMjQ5NjQ4MA=="
	activURL  = "https://mp.weixin.qq.com/bizmall/activatemembercard?action=preshow&&encrypt_card_id=pbLatjnrwUUdZI641gKdTMJ9Mpd8%2Bbs%2FvGE30%3D%3D&outer_str=shop%2042&biz=MzIyMjQ5NjQ4MA%3D%3D#wechat_redirect"
)

func TestActivateURL(t *testing.T) {
	e := setup(t)
	e.expectPOST(t, "/card/membercard/activate/geturl", `{"card_id":"pC","outer_str":"shop 42"}`,
		`{"errcode":0,"errmsg":"ok","url":"`+activURL+`"}`)
	p, err := e.card(oaAppID).ActivateURL(context.Background(), "pC", "shop 42")
	require.NoError(t, err)
	assert.Equal(t, activURL, p.URL)
	assert.Equal(t, encCardID, p.EncryptCardID)
	assert.Equal(t, bizID, p.Biz)
	assert.Equal(t, "shop 42", p.OuterStr)
	assert.Equal(t, "wxeb490c6f9b154ef9", p.AppID)

	// extraData for wx.navigateToMiniProgram.
	b, err := json.Marshal(p.ExtraData)
	require.NoError(t, err)
	assert.JSONEq(t, `{"encrypt_card_id":"`+encCardID+`","outer_str":"shop 42","biz":"`+bizID+`"}`, string(b))
}

func TestActivateURLErrors(t *testing.T) {
	ctx := context.Background()
	e := setup(t)
	_, err := e.card(oaAppID).ActivateURL(ctx, "", "")
	require.True(t, wxerr.IsValidation(err))
	e.expectPOST(t, "/card/membercard/activate/geturl", `{"card_id":"pC"}`, `{"errcode":0,"url":"https://mp.weixin.qq.com/x?encrypt_card_id=abc"}`)
	_, err = e.card(oaAppID).ActivateURL(ctx, "pC", "")
	require.ErrorContains(t, err, "biz missing")

	e2 := setup(t)
	e2.expectPOST(t, "/card/membercard/activate/geturl", `{"card_id":"pC"}`, `{"errcode":40073,"errmsg":"invalid card id"}`)
	_, err = e2.card(oaAppID).ActivateURL(ctx, "pC", "")
	assert.EqualValues(t, 40073, wxerr.CodeOf(err))
}

func TestParseActivateURL(t *testing.T) {
	onceEncoded := url.QueryEscape(activURL)     // the whole URL percent-encoded
	twiceEncoded := url.QueryEscape(onceEncoded) // and again
	cases := map[string]string{
		"as WeChat sends it": activURL,
		"whole URL encoded":  onceEncoded,
		"whole URL twice":    twiceEncoded,
		"path-escaped URL":   url.PathEscape(activURL),
		"values encoded twice": "https://mp.weixin.qq.com/bizmall/activatemembercard?action=preshow&encrypt_card_id=" +
			"pbLatjnrwUUdZI641gKdTMJ9Mpd8%252Bbs%252FvGE30%253D%253D&outer_str=shop%2042&biz=MzIyMjQ5NjQ4MA%253D%253D#wechat_redirect",
		"raw padding and plus": "https://mp.weixin.qq.com/bizmall/activatemembercard?action=preshow&encrypt_card_id=" +
			encCardID + "&outer_str=shop%2042&biz=" + bizID,
		"surrounding space": "  " + activURL + "\n",
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := card.ParseActivateURL(raw)
			require.NoError(t, err)
			assert.Equal(t, encCardID, p.EncryptCardID, "'=' padding and '+' survive")
			assert.Equal(t, bizID, p.Biz)
			assert.Equal(t, "shop 42", p.OuterStr)
			assert.Equal(t, raw, p.URL)
			assert.Equal(t, card.PluginAppID, p.AppID)
			assert.Equal(t, card.ActivateExtraData{EncryptCardID: encCardID, OuterStr: "shop 42", Biz: bizID}, p.ExtraData)
		})
	}
	p, err := card.ParseActivateURL("https://mp.weixin.qq.com/a?encrypt_card_id=QQ%3D%3D&biz=Qg%3D%3D")
	require.NoError(t, err)
	assert.Equal(t, "", p.OuterStr, "outer_str is optional")
	assert.Equal(t, "QQ==", p.EncryptCardID)
}

func TestParseActivateURLRejects(t *testing.T) {
	for name, raw := range map[string]string{
		"empty":       "",
		"not a URL":   "encrypt_card_id=abc&biz=def",
		"relative":    "/bizmall/activatemembercard?encrypt_card_id=abc&biz=def",
		"bad escape":  "https%3A%2F%2Fmp.weixin.qq.com%2Fx%3Fbiz%3D%zz",
		"bad query":   "https://mp.weixin.qq.com/x?encrypt_card_id=%zz&biz=a",
		"no card id":  "https://mp.weixin.qq.com/x?biz=abc%3D",
		"no biz":      "https://mp.weixin.qq.com/x?encrypt_card_id=abc",
		"ftp":         "ftp://mp.weixin.qq.com/x?encrypt_card_id=a&biz=b",
		"biz not b64": "https://mp.weixin.qq.com/x?encrypt_card_id=a&biz=%2525zz",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := card.ParseActivateURL(raw)
			var ve *wxerr.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "url", ve.Field)
		})
	}
}

func TestActivateTempInfo(t *testing.T) {
	e := setup(t)
	e.expectPOST(t, "/card/membercard/activatetempinfo/get", `{"activate_ticket":"fDZv9eMQAFfrNr3XBoqhb%2F"}`,
		`{"errcode":0,"errmsg":"ok","info":{"common_field_list":[{"name":"USER_FORM_INFO_FLAG_MOBILE","value":"13800000000"}],
		"custom_field_list":[{"name":"口味","value":"","value_list":["甜","咸"]}]}}`)
	info, err := e.card(oaAppID).ActivateTempInfo(context.Background(), "fDZv9eMQAFfrNr3XBoqhb%2F")
	require.NoError(t, err)
	assert.Equal(t, "13800000000", info.Common(card.FieldMobile))
	assert.Equal(t, "", info.Common(card.FieldEmail))
	assert.Equal(t, []card.FormValue{{Name: "口味", ValueList: []string{"甜", "咸"}}}, info.CustomFieldList)

	_, err = e.card(oaAppID).ActivateTempInfo(context.Background(), "")
	require.True(t, wxerr.IsValidation(err))
}

// Every write of the package is sent once, whatever happens (WeChat's -1 or a lost connection could
// follow a change that was made); every read is retried after -1. The table covers every call that
// sends a request.
func TestWritesAreSentOnceReadsAreRetried(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		path  string
		write bool
		call  func(c *card.Client) error
	}{
		{"Create", "/card/create", true, func(c *card.Client) error { _, err := c.Create(ctx, validCard()); return err }},
		{"Update", "/card/update", true, func(c *card.Client) error {
			_, err := c.Update(ctx, "pC", &card.MemberCardUpdate{Prerogative: "P"})
			return err
		}},
		{"Activate", "/card/membercard/activate", true, func(c *card.Client) error {
			return c.Activate(ctx, card.ActivateRequest{MembershipNumber: "M1", Code: "C1"})
		}},
		{"UpdateMember", "/card/membercard/updateuser", true, func(c *card.Client) error {
			_, err := c.UpdateMember(ctx, card.UpdateMemberRequest{Code: "C1", CardID: "pC", AddBonus: 1})
			return err
		}},
		{"SetActivateUserForm", "/card/membercard/activateuserform/set", true, func(c *card.Client) error {
			return c.SetActivateUserForm(ctx, validForm())
		}},
		{"Get", "/card/get", false, func(c *card.Client) error { _, err := c.Get(ctx, "pC"); return err }},
		{"DecryptCode", "/card/code/decrypt", false, func(c *card.Client) error { _, err := c.DecryptCode(ctx, "ENC"); return err }},
		{"MemberInfo", "/card/membercard/userinfo/get", false, func(c *card.Client) error { _, err := c.MemberInfo(ctx, "pC", "C1"); return err }},
		{"ActivateTempInfo", "/card/membercard/activatetempinfo/get", false, func(c *card.Client) error {
			_, err := c.ActivateTempInfo(ctx, "T")
			return err
		}},
		{"ActivateURL", "/card/membercard/activate/geturl", false, func(c *card.Client) error {
			_, err := c.ActivateURL(ctx, "pC", "")
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			e.mt.RegisterResponder("POST", base+tc.path, httpmock.NewStringResponder(200, `{"errcode":-1,"errmsg":"system error"}`))
			err := tc.call(e.card(oaAppID))
			require.True(t, wxerr.IsTemporary(err), "%v", err)
			n := e.mt.GetCallCountInfo()["POST "+base+tc.path]
			if tc.write {
				assert.Equal(t, 1, n, "a write is never sent twice")
			} else {
				assert.Greater(t, n, 1, "a read is retried after -1")
			}
		})
	}
}
