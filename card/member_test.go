package card_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestMemberInfo(t *testing.T) {
	e := setup(t)
	e.expectPOST(t, "/card/membercard/userinfo/get", `{"card_id":"pC","code":"751234212312"}`,
		`{"errcode":0,"errmsg":"ok","openid":"oUSER","nickname":"小明","membership_number":"M001","bonus":120,"balance":3500,
		"sex":"MALE","user_info":{"common_field_list":[{"name":"USER_FORM_INFO_FLAG_MOBILE","value":"13800000000"}],"custom_field_list":[]},
		"user_card_status":"NORMAL","has_active":true}`)
	m, err := e.card(oaAppID).MemberInfo(context.Background(), "pC", "751234212312")
	require.NoError(t, err)
	assert.Equal(t, &card.MemberInfo{OpenID: "oUSER", Nickname: "小明", MembershipNumber: "M001", Bonus: 120, Balance: 3500, Sex: "MALE",
		UserInfo: card.UserFormInfo{CommonFieldList: []card.FormValue{{Name: "USER_FORM_INFO_FLAG_MOBILE", Value: "13800000000"}},
			CustomFieldList: []card.FormValue{}},
		UserCardStatus: card.StatusNormal, HasActive: true}, m)
}

func TestMemberInfoErrors(t *testing.T) {
	ctx := context.Background()
	e := setup(t)
	_, err := e.card(oaAppID).MemberInfo(ctx, "", "c")
	require.True(t, wxerr.IsValidation(err))
	_, err = e.card(oaAppID).MemberInfo(ctx, "pC", "")
	require.True(t, wxerr.IsValidation(err))
	assert.Zero(t, e.mt.GetTotalCallCount())
	e.expectPOST(t, "/card/membercard/userinfo/get", `{"card_id":"pC","code":"x"}`, `{"errcode":40056,"errmsg":"invalid serial code"}`)
	_, err = e.card(oaAppID).MemberInfo(ctx, "pC", "x")
	assert.EqualValues(t, 40056, wxerr.CodeOf(err))
}

func TestUpdateMember(t *testing.T) {
	e := setup(t)
	n := e.expectPOST(t, "/card/membercard/updateuser", `{"code":"c","card_id":"pC","add_bonus":50,"record_bonus":"消费","balance":0,
		"custom_field_value1":"金卡"}`, `{"errcode":0,"errmsg":"ok","result_bonus":170,"result_balance":0,"openid":"oUSER"}`)
	res, err := e.card(oaAppID).UpdateMember(context.Background(), card.UpdateMemberRequest{Code: "c", CardID: "pC",
		AddBonus: 50, RecordBonus: "消费", Balance: card.Int(0), CustomFieldValue1: "金卡"})
	require.NoError(t, err)
	assert.Equal(t, &card.UpdateMemberResult{ResultBonus: 170, ResultBalance: 0, OpenID: "oUSER"}, res)
	assert.EqualValues(t, 1, n.Load())
}

func TestUpdateMemberErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		req   card.UpdateMemberRequest
		field string
	}{
		{"no code", card.UpdateMemberRequest{CardID: "pC", AddBonus: 1}, "code"},
		{"no card", card.UpdateMemberRequest{Code: "c", AddBonus: 1}, "card_id"},
		{"bonus and add", card.UpdateMemberRequest{Code: "c", CardID: "pC", Bonus: card.Int(1), AddBonus: 1}, "bonus"},
		{"balance and add", card.UpdateMemberRequest{Code: "c", CardID: "pC", Balance: card.Int(1), AddBalance: 1}, "balance"},
		{"negative bonus", card.UpdateMemberRequest{Code: "c", CardID: "pC", Bonus: card.Int(-1)}, "bonus"},
		{"negative balance", card.UpdateMemberRequest{Code: "c", CardID: "pC", Balance: card.Int(-1)}, "balance"},
		{"nothing", card.UpdateMemberRequest{Code: "c", CardID: "pC"}, "updateuser"},
	}
	e := setup(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.card(oaAppID).UpdateMember(ctx, tc.req)
			var ve *wxerr.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
		})
	}
	assert.Zero(t, e.mt.GetTotalCallCount())

	n := e.expectPOST(t, "/card/membercard/updateuser", `{"code":"c","card_id":"pC","add_balance":-100}`, `{"errcode":-1,"errmsg":"system error"}`)
	_, err := e.card(oaAppID).UpdateMember(ctx, card.UpdateMemberRequest{Code: "c", CardID: "pC", AddBalance: -100})
	require.True(t, wxerr.IsTemporary(err))
	assert.EqualValues(t, 1, n.Load(), "add_balance is not idempotent: never retried")
}
