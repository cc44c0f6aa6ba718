package card_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/wxerr"
)

// validCard is the smallest card WeChat accepts.
func validCard() *card.MemberCard {
	return &card.MemberCard{
		BaseInfo: card.BaseInfo{
			LogoURL:     "https://mmbiz.qpic.cn/logo.png",
			BrandName:   "海风咖啡",
			CodeType:    card.CodeTypeQRCode,
			Title:       "海风会员卡",
			Color:       card.Color010,
			Notice:      "出示会员卡",
			Description: "会员享九折",
			DateInfo:    card.DateInfo{Type: card.DatePermanent},
			Sku:         card.Sku{Quantity: 0},
		},
		Prerogative: "九折",
	}
}

const validCardJSON = `{"card":{"card_type":"MEMBER_CARD","member_card":{
	"base_info":{"logo_url":"https://mmbiz.qpic.cn/logo.png","brand_name":"海风咖啡","code_type":"CODE_TYPE_QRCODE",
		"title":"海风会员卡","color":"Color010","notice":"出示会员卡","description":"会员享九折",
		"date_info":{"type":"DATE_TYPE_PERMANENT"},"sku":{"quantity":0}},
	"prerogative":"九折","supply_bonus":false,"supply_balance":false}}}`

func TestCreateSendsTypedCard(t *testing.T) {
	e := setup(t)
	n := e.expectPOST(t, "/card/create", validCardJSON, `{"errcode":0,"errmsg":"ok","card_id":"pNEW"}`)
	mc := validCard()
	mc.BaseInfo.ID, mc.BaseInfo.Status = "stale", "CARD_STATUS_VERIFY_OK" // from a Get: never sent
	id, err := e.card(oaAppID).Create(context.Background(), mc)
	require.NoError(t, err)
	assert.Equal(t, "pNEW", id)
	assert.EqualValues(t, 1, n.Load())
	assert.Equal(t, "stale", mc.BaseInfo.ID, "the caller's card is not modified")
}

func TestCreateSendsOptionalFieldsThatAreSet(t *testing.T) {
	e := setup(t)
	mc := validCard()
	mc.BaseInfo.DateInfo = card.DateInfo{Type: card.DateFixTerm, FixedTerm: 365}
	mc.BaseInfo.CanShare = card.Bool(false)
	mc.BaseInfo.ServicePhone = "020-1234"
	mc.BaseInfo.CenterTitle, mc.BaseInfo.CenterAppBrandUserName, mc.BaseInfo.CenterAppBrandPass = "点单", "gh_abc@app", "pages/index"
	mc.SupplyBonus = true
	mc.BonusRule = &card.BonusRule{CostMoneyUnit: 100, IncreaseBonus: 1}
	mc.WxActivate = true
	mc.CustomField1 = &card.CustomField{NameType: card.NameTypeLevel, URL: "https://example.com/level"}
	mc.CustomCell1 = &card.CustomCell{Name: "预约", Tips: "立即", URL: "https://example.com/book"}
	mc.Discount = 10
	want := `{"card":{"card_type":"MEMBER_CARD","member_card":{
	"base_info":{"logo_url":"https://mmbiz.qpic.cn/logo.png","brand_name":"海风咖啡","code_type":"CODE_TYPE_QRCODE",
		"title":"海风会员卡","color":"Color010","notice":"出示会员卡","description":"会员享九折","service_phone":"020-1234",
		"date_info":{"type":"DATE_TYPE_FIX_TERM","fixed_term":365,"fixed_begin_term":0},"sku":{"quantity":0},"can_share":false,
		"center_title":"点单","center_app_brand_user_name":"gh_abc@app","center_app_brand_pass":"pages/index"},
	"prerogative":"九折","wx_activate":true,"supply_bonus":true,"bonus_rule":{"cost_money_unit":100,"increase_bonus":1},
	"supply_balance":false,"custom_field1":{"name_type":"FIELD_NAME_TYPE_LEVEL","url":"https://example.com/level"},
	"custom_cell1":{"name":"预约","tips":"立即","url":"https://example.com/book"},"discount":10}}}`
	e.expectPOST(t, "/card/create", want, `{"errcode":0,"errmsg":"ok","card_id":"pNEW"}`)
	_, err := e.card(oaAppID).Create(context.Background(), mc)
	require.NoError(t, err)
}

func TestCreateErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("errcode", func(t *testing.T) {
		e := setup(t)
		e.expectPOST(t, "/card/create", validCardJSON, `{"errcode":40122,"errmsg":"invalid quantity"}`)
		_, err := e.card(oaAppID).Create(ctx, validCard())
		assert.EqualValues(t, 40122, wxerr.CodeOf(err))
		assert.ErrorContains(t, err, "POST /card/create")
	})
	t.Run("busy is not retried", func(t *testing.T) {
		e := setup(t)
		n := e.expectPOST(t, "/card/create", validCardJSON, `{"errcode":-1,"errmsg":"system error"}`)
		_, err := e.card(oaAppID).Create(ctx, validCard())
		require.True(t, wxerr.IsTemporary(err))
		assert.EqualValues(t, 1, n.Load(), "card/create is never sent twice")
	})
	t.Run("transport failure is not retried", func(t *testing.T) {
		e := setup(t)
		e.mt.RegisterResponder("POST", base+"/card/create", httpmock.NewErrorResponder(errors.New("connection reset")))
		_, err := e.card(oaAppID).Create(ctx, validCard())
		require.ErrorContains(t, err, "connection reset")
		assert.Equal(t, 1, e.mt.GetTotalCallCount())
	})
	t.Run("no card_id", func(t *testing.T) {
		e := setup(t)
		e.expectPOST(t, "/card/create", validCardJSON, `{"errcode":0,"errmsg":"ok"}`)
		_, err := e.card(oaAppID).Create(ctx, validCard())
		require.ErrorContains(t, err, "no card_id")
	})
}

func TestCreateValidation(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(m *card.MemberCard)
		field string
	}{
		{"no logo", func(m *card.MemberCard) { m.BaseInfo.LogoURL = "" }, "base_info.logo_url"},
		{"relative logo", func(m *card.MemberCard) { m.BaseInfo.LogoURL = "/logo.png" }, "base_info.logo_url"},
		{"no brand", func(m *card.MemberCard) { m.BaseInfo.BrandName = "" }, "base_info.brand_name"},
		{"brand 13 Chinese chars", func(m *card.MemberCard) { m.BaseInfo.BrandName = strings.Repeat("海", 13) }, "base_info.brand_name"},
		{"brand 25 ASCII chars", func(m *card.MemberCard) { m.BaseInfo.BrandName = strings.Repeat("a", 25) }, "base_info.brand_name"},
		{"no code type", func(m *card.MemberCard) { m.BaseInfo.CodeType = "" }, "base_info.code_type"},
		{"bad code type", func(m *card.MemberCard) { m.BaseInfo.CodeType = "CODE_TYPE_PDF417" }, "base_info.code_type"},
		{"no title", func(m *card.MemberCard) { m.BaseInfo.Title = "" }, "base_info.title"},
		{"title 10 Chinese chars", func(m *card.MemberCard) { m.BaseInfo.Title = strings.Repeat("卡", 10) }, "base_info.title"},
		{"no color", func(m *card.MemberCard) { m.BaseInfo.Color = "" }, "base_info.color"},
		{"bad color", func(m *card.MemberCard) { m.BaseInfo.Color = "Color011" }, "base_info.color"},
		{"hex color", func(m *card.MemberCard) { m.BaseInfo.Color = "#63b359" }, "base_info.color"},
		{"no notice", func(m *card.MemberCard) { m.BaseInfo.Notice = "" }, "base_info.notice"},
		{"no description", func(m *card.MemberCard) { m.BaseInfo.Description = "" }, "base_info.description"},
		{"no date type", func(m *card.MemberCard) { m.BaseInfo.DateInfo = card.DateInfo{} }, "base_info.date_info.type"},
		{"bad date type", func(m *card.MemberCard) { m.BaseInfo.DateInfo.Type = "DATE_TYPE_FOREVER" }, "base_info.date_info.type"},
		{"range end before begin", func(m *card.MemberCard) {
			m.BaseInfo.DateInfo = card.DateInfo{Type: card.DateFixTimeRange, BeginTimestamp: time.Unix(2000, 0), EndTimestamp: time.Unix(1000, 0)}
		}, "base_info.date_info"},
		{"range equal", func(m *card.MemberCard) {
			m.BaseInfo.DateInfo = card.DateInfo{Type: card.DateFixTimeRange, BeginTimestamp: time.Unix(2000, 0), EndTimestamp: time.Unix(2000, 0)}
		}, "base_info.date_info"},
		{"range without begin", func(m *card.MemberCard) {
			m.BaseInfo.DateInfo = card.DateInfo{Type: card.DateFixTimeRange, EndTimestamp: time.Unix(2000, 0)}
		}, "base_info.date_info"},
		{"term 0", func(m *card.MemberCard) { m.BaseInfo.DateInfo = card.DateInfo{Type: card.DateFixTerm} }, "base_info.date_info.fixed_term"},
		{"term negative begin", func(m *card.MemberCard) {
			m.BaseInfo.DateInfo = card.DateInfo{Type: card.DateFixTerm, FixedTerm: 30, FixedBeginTerm: -1}
		}, "base_info.date_info.fixed_begin_term"},
		{"negative quantity", func(m *card.MemberCard) { m.BaseInfo.Sku.Quantity = -1 }, "base_info.sku.quantity"},
		{"negative get limit", func(m *card.MemberCard) { m.BaseInfo.GetLimit = -1 }, "base_info.get_limit"},
		{"negative use limit", func(m *card.MemberCard) { m.BaseInfo.UseLimit = -1 }, "base_info.use_limit"},
		{"no prerogative", func(m *card.MemberCard) { m.Prerogative = "" }, "prerogative"},
		{"submit url without flag", func(m *card.MemberCard) { m.WxActivateAfterSubmitURL = "https://x" }, "wx_activate_after_submit_url"},
		{"discount over 100", func(m *card.MemberCard) { m.Discount = 101 }, "discount"},
		{"empty custom field", func(m *card.MemberCard) { m.CustomField2 = &card.CustomField{URL: "https://x"} }, "custom_field2"},
		{"bad name type", func(m *card.MemberCard) { m.CustomField3 = &card.CustomField{NameType: "FIELD_NAME_TYPE_GOLD"} }, "custom_field3.name_type"},
		{"custom cell without name", func(m *card.MemberCard) { m.CustomCell2 = &card.CustomCell{URL: "https://x"} }, "custom_cell2.name"},
	}
	e := setup(t)
	c := e.card(oaAppID)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := validCard()
			tc.edit(m)
			_, err := c.Create(context.Background(), m)
			var ve *wxerr.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
		})
	}
	_, err := c.Create(context.Background(), nil)
	require.True(t, wxerr.IsValidation(err))
	assert.Zero(t, e.mt.GetTotalCallCount(), "nothing is sent for invalid cards")

	// The limits accept what they promise.
	ok := validCard()
	ok.BaseInfo.BrandName = strings.Repeat("海", 12)
	ok.BaseInfo.Title = strings.Repeat("a", 18)
	ok.BaseInfo.DateInfo = card.DateInfo{Type: card.DateFixTimeRange, BeginTimestamp: time.Unix(1, 0), EndTimestamp: time.Unix(2, 0)}
	for _, col := range []card.Color{card.Color010, card.Color020, card.Color030, card.Color040, card.Color050, card.Color060,
		card.Color070, card.Color080, card.Color081, card.Color082, card.Color090, card.Color100, card.Color101, card.Color102} {
		ok.BaseInfo.Color = col
		require.NoError(t, ok.Validate(), col)
	}
	for _, ct := range []card.CodeType{card.CodeTypeText, card.CodeTypeBarcode, card.CodeTypeQRCode, card.CodeTypeOnlyQRCode,
		card.CodeTypeOnlyBarcode, card.CodeTypeNone} {
		ok.BaseInfo.CodeType = ct
		require.NoError(t, ok.Validate(), ct)
	}
	for _, nt := range []card.NameType{card.NameTypeLevel, card.NameTypeCoupon, card.NameTypeStamp, card.NameTypeDiscount,
		card.NameTypeAchievement, card.NameTypeMileage, card.NameTypeSetPoints, card.NameTypeTimes} {
		ok.CustomField1 = &card.CustomField{NameType: nt}
		require.NoError(t, ok.Validate(), nt)
	}
}

func TestGet(t *testing.T) {
	e := setup(t)
	e.expectPOST(t, "/card/get", `{"card_id":"pC"}`, `{"errcode":0,"errmsg":"ok","card":{"card_type":"MEMBER_CARD","member_card":{
		"base_info":{"id":"pC","status":"CARD_STATUS_VERIFY_OK","logo_url":"https://l","brand_name":"B","code_type":"CODE_TYPE_TEXT",
		"title":"T","color":"Color020","notice":"N","description":"D","date_info":{"type":2,"fixed_term":30},
		"sku":{"quantity":5,"total_quantity":10},"can_share":true},
		"prerogative":"P","supply_bonus":true,"supply_balance":false,"wx_activate":true}}}`)
	mc, err := e.card(oaAppID).Get(context.Background(), "pC")
	require.NoError(t, err)
	assert.Equal(t, "pC", mc.BaseInfo.ID)
	assert.Equal(t, "CARD_STATUS_VERIFY_OK", mc.BaseInfo.Status)
	assert.Equal(t, card.Color020, mc.BaseInfo.Color)
	assert.Equal(t, card.DateInfo{Type: card.DateFixTerm, FixedTerm: 30}, mc.BaseInfo.DateInfo, "numeric date types are understood")
	assert.Equal(t, card.Sku{Quantity: 5, TotalQuantity: 10}, mc.BaseInfo.Sku)
	assert.Equal(t, card.Bool(true), mc.BaseInfo.CanShare)
	assert.True(t, mc.SupplyBonus)
	assert.True(t, mc.WxActivate)
	assert.Equal(t, "P", mc.Prerogative)
}

func TestGetErrors(t *testing.T) {
	ctx := context.Background()
	e := setup(t)
	_, err := e.card(oaAppID).Get(ctx, "")
	require.True(t, wxerr.IsValidation(err))

	e.expectPOST(t, "/card/get", `{"card_id":"pGROUPON"}`, `{"errcode":0,"card":{"card_type":"GROUPON","groupon":{}}}`)
	_, err = e.card(oaAppID).Get(ctx, "pGROUPON")
	require.ErrorContains(t, err, "not a membership card")

	e2 := setup(t)
	e2.expectPOST(t, "/card/get", `{"card_id":"pX"}`, `{"errcode":40073,"errmsg":"invalid card id"}`)
	_, err = e2.card(oaAppID).Get(ctx, "pX")
	assert.EqualValues(t, 40073, wxerr.CodeOf(err))

	e3 := setup(t)
	e3.expectPOST(t, "/card/get", `{"card_id":"pC"}`, `{"errcode":0,"card":{"card_type":"MEMBER_CARD","member_card":{"base_info":{"date_info":{"type":[]}}}}}`)
	_, err = e3.card(oaAppID).Get(ctx, "pC")
	require.ErrorContains(t, err, "decode response")
}

func TestGetIsRetriedWhenBusy(t *testing.T) {
	e := setup(t)
	n := 0
	e.mt.RegisterResponder("POST", base+"/card/get", func(*http.Request) (*http.Response, error) {
		n++
		if n == 1 {
			return httpmock.NewStringResponse(200, `{"errcode":-1}`), nil
		}
		return httpmock.NewStringResponse(200, `{"errcode":0,"card":{"card_type":"MEMBER_CARD","member_card":{"prerogative":"P"}}}`), nil
	})
	mc, err := e.card(oaAppID).Get(context.Background(), "pC")
	require.NoError(t, err)
	assert.Equal(t, "P", mc.Prerogative)
	assert.Equal(t, 2, n)
}

func TestUpdate(t *testing.T) {
	e := setup(t)
	e.expectPOST(t, "/card/update", `{"card_id":"pC","member_card":{"base_info":{"title":"新卡","color":"Color030",
		"can_share":false,"date_info":{"type":"DATE_TYPE_FIX_TIME_RANGE","begin_timestamp":100,"end_timestamp":200}},
		"supply_bonus":false,"discount":0}}`, `{"errcode":0,"errmsg":"ok","send_check":true}`)
	zero := 0
	sendCheck, err := e.card(oaAppID).Update(context.Background(), "pC", &card.MemberCardUpdate{
		BaseInfo: &card.BaseInfoUpdate{Title: "新卡", Color: card.Color030, CanShare: card.Bool(false),
			DateInfo: &card.DateInfo{Type: card.DateFixTimeRange, BeginTimestamp: time.Unix(100, 0), EndTimestamp: time.Unix(200, 0)}},
		SupplyBonus: card.Bool(false),
		Discount:    &zero,
	})
	require.NoError(t, err)
	assert.True(t, sendCheck)
}

func TestUpdateErrors(t *testing.T) {
	ctx := context.Background()
	neg := -1
	cases := []struct {
		name   string
		cardID string
		u      *card.MemberCardUpdate
		field  string
	}{
		{"no card id", "", &card.MemberCardUpdate{Prerogative: "P"}, "card_id"},
		{"nil", "pC", nil, "member_card"},
		{"empty", "pC", &card.MemberCardUpdate{}, "member_card"},
		{"empty base info", "pC", &card.MemberCardUpdate{BaseInfo: &card.BaseInfoUpdate{}}, "member_card"},
		{"bad color", "pC", &card.MemberCardUpdate{BaseInfo: &card.BaseInfoUpdate{Color: "red"}}, "base_info.color"},
		{"bad code type", "pC", &card.MemberCardUpdate{BaseInfo: &card.BaseInfoUpdate{CodeType: "X"}}, "base_info.code_type"},
		{"long title", "pC", &card.MemberCardUpdate{BaseInfo: &card.BaseInfoUpdate{Title: strings.Repeat("卡", 10)}}, "base_info.title"},
		{"relative logo", "pC", &card.MemberCardUpdate{BaseInfo: &card.BaseInfoUpdate{LogoURL: "logo.png"}}, "base_info.logo_url"},
		{"bad dates", "pC", &card.MemberCardUpdate{BaseInfo: &card.BaseInfoUpdate{DateInfo: &card.DateInfo{Type: card.DateFixTerm}}}, "base_info.date_info.fixed_term"},
		{"negative get limit", "pC", &card.MemberCardUpdate{BaseInfo: &card.BaseInfoUpdate{GetLimit: &neg}}, "base_info.get_limit"},
		{"bad discount", "pC", &card.MemberCardUpdate{Discount: &neg}, "discount"},
		{"bad custom field", "pC", &card.MemberCardUpdate{Entries: card.Entries{CustomField1: &card.CustomField{}}}, "custom_field1"},
	}
	e := setup(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.card(oaAppID).Update(ctx, tc.cardID, tc.u)
			var ve *wxerr.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
		})
	}
	assert.Zero(t, e.mt.GetTotalCallCount())

	e.expectPOST(t, "/card/update", `{"card_id":"pC","member_card":{"prerogative":"P"}}`, `{"errcode":40073,"errmsg":"invalid card id"}`)
	_, err := e.card(oaAppID).Update(ctx, "pC", &card.MemberCardUpdate{Prerogative: "P"})
	assert.EqualValues(t, 40073, wxerr.CodeOf(err))
}

func TestDateTypeJSON(t *testing.T) {
	for in, want := range map[string]card.DateType{`1`: card.DateFixTimeRange, `2`: card.DateFixTerm,
		`"DATE_TYPE_PERMANENT"`: card.DatePermanent} {
		var d card.DateType
		require.NoError(t, json.Unmarshal([]byte(in), &d))
		assert.Equal(t, want, d)
		assert.True(t, d.Valid())
	}
	var d card.DateType
	require.Error(t, json.Unmarshal([]byte(`{}`), &d))
	assert.False(t, card.DateType("DATE_TYPE_SOMETIMES").Valid())
}

// A DATE_TYPE_FIX_TERM card that starts on the day it is received has fixed_begin_term 0, and WeChat's
// card/create documents 0 as the value to send for that ("领取后当天生效填写0"): the 0 must reach the body,
// not vanish under omitempty. The other date types never carry the fixed_* fields.
func TestDateInfoSendsFixedBeginTermZeroForFixTerm(t *testing.T) {
	for _, tc := range []struct {
		in   card.DateInfo
		want string
	}{
		{card.DateInfo{Type: card.DateFixTerm, FixedTerm: 30}, `{"type":"DATE_TYPE_FIX_TERM","fixed_term":30,"fixed_begin_term":0}`},
		{card.DateInfo{Type: card.DateFixTerm, FixedTerm: 30, FixedBeginTerm: 2}, `{"type":"DATE_TYPE_FIX_TERM","fixed_term":30,"fixed_begin_term":2}`},
		{card.DateInfo{Type: card.DatePermanent}, `{"type":"DATE_TYPE_PERMANENT"}`},
		{card.DateInfo{Type: card.DateFixTimeRange, BeginTimestamp: time.Unix(1, 0), EndTimestamp: time.Unix(2, 0)}, `{"type":"DATE_TYPE_FIX_TIME_RANGE","begin_timestamp":1,"end_timestamp":2}`},
	} {
		b, err := json.Marshal(tc.in)
		require.NoError(t, err)
		assert.JSONEq(t, tc.want, string(b))
		p, err := json.Marshal(&tc.in)
		require.NoError(t, err)
		assert.JSONEq(t, tc.want, string(p), "through a pointer (BaseInfoUpdate.DateInfo)")
		var back card.DateInfo
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, tc.in, back)
	}

	e := setup(t)
	mc := validCard()
	mc.BaseInfo.DateInfo = card.DateInfo{Type: card.DateFixTerm, FixedTerm: 365}
	want := strings.Replace(validCardJSON, `"date_info":{"type":"DATE_TYPE_PERMANENT"}`,
		`"date_info":{"type":"DATE_TYPE_FIX_TERM","fixed_term":365,"fixed_begin_term":0}`, 1)
	require.NotEqual(t, validCardJSON, want)
	n := e.expectPOST(t, "/card/create", want, `{"errcode":0,"errmsg":"ok","card_id":"pNEW"}`)
	_, err := e.card(oaAppID).Create(context.Background(), mc)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n.Load())
}

// DateInfo's range is time.Time in Go and unix seconds on the wire, both ways; card/get's 0 or a
// missing timestamp is the zero time.
func TestDateInfoTimesAreUnixSecondsOnTheWire(t *testing.T) {
	var d card.DateInfo
	require.NoError(t, json.Unmarshal([]byte(`{"type":"DATE_TYPE_FIX_TIME_RANGE","begin_timestamp":1700000000,"end_timestamp":1700086400}`), &d))
	assert.Equal(t, card.DateInfo{Type: card.DateFixTimeRange, BeginTimestamp: time.Unix(1700000000, 0), EndTimestamp: time.Unix(1700086400, 0)}, d)
	require.NoError(t, json.Unmarshal([]byte(`{"type":1,"begin_timestamp":0}`), &d))
	assert.Equal(t, card.DateInfo{Type: card.DateFixTimeRange}, d, "0 and absent are the zero time")
	require.Error(t, json.Unmarshal([]byte(`{"type":1,"begin_timestamp":"x"}`), &d))

	b, err := json.Marshal(card.DateInfo{Type: card.DateFixTimeRange, BeginTimestamp: time.Unix(1700000000, 0).In(time.UTC),
		EndTimestamp: time.Unix(1700086400, 0).In(time.FixedZone("CST", 8*3600))})
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"DATE_TYPE_FIX_TIME_RANGE","begin_timestamp":1700000000,"end_timestamp":1700086400}`, string(b), "any zone: the same instant")
	// Within the same second the range is empty on the wire, so it is refused before sending.
	mc := validCard()
	mc.BaseInfo.DateInfo = card.DateInfo{Type: card.DateFixTimeRange, BeginTimestamp: time.Unix(2000, 0), EndTimestamp: time.Unix(2000, 500e6)}
	var ve *wxerr.ValidationError
	require.ErrorAs(t, mc.Validate(), &ve)
	assert.Equal(t, "base_info.date_info", ve.Field)
}
