package wxtest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCardPushesXML checks the card pushes as WeChat sends them (API digest 19.2): element names,
// the account's original id in ToUserName, the user in FromUserName, the message URL of the owner.
func TestCardPushesXML(t *testing.T) {
	e := newCardEnv(t)
	ctx := context.Background()
	id := e.createCard(func(base, mc map[string]any) {
		base["need_push_on_view"] = true
		mc["wx_activate"] = true
	})
	requireCode(t, 0, e.call("/card/membercard/activateuserform/set", map[string]any{"card_id": id,
		"required_form": map[string]any{"common_field_id_list": []string{"USER_FORM_INFO_FLAG_MOBILE"}}}))
	oa, _ := e.s.Authorizer(cardOA)
	e.s.SetUnionID(cardOA, "oUSER", "uUSER")

	taken, err := e.s.TakeCard(ctx, id, "oUSER", "table-1")
	require.NoError(t, err)
	require.NoError(t, e.s.ViewCard(ctx, taken.Code))
	require.NoError(t, e.s.EnterSessionFromCard(ctx, taken.Code))
	require.NoError(t, e.s.ActivateCard(ctx, taken.Code, map[string]string{"USER_FORM_INFO_FLAG_MOBILE": "13800000000"}))
	requireCode(t, 0, e.call("/card/membercard/updateuser", map[string]any{"card_id": id, "code": taken.Code, "add_bonus": 5, "balance": 300}))
	requireCode(t, 0, e.call("/card/membercard/updateuser", map[string]any{"card_id": id, "code": taken.Code, "custom_field_value1": "gold"}))
	requireCode(t, 0, e.call("/card/code/consume", map[string]any{"code": taken.Code}))
	requireCode(t, 40099, e.call("/card/code/consume", map[string]any{"code": taken.Code}))
	second, err := e.s.TakeCard(ctx, id, "oUSER2", "")
	require.NoError(t, err)
	require.NoError(t, e.s.ConsumeCard(ctx, second.Code, ""))
	require.NoError(t, e.s.DeleteCard(ctx, second.Code))
	require.NoError(t, e.s.ReviewCard(ctx, id, false, "品牌名不符"))
	require.NoError(t, e.s.ReviewCard(ctx, id, true, ""))

	var events []map[string]string
	for _, ev := range e.rx.all() {
		if ev.Path != "/msg/"+cardOA+"/cb" {
			continue
		}
		assert.Equal(t, oa.UserName, ev.Envelope.ToUserName)
		assert.Equal(t, oa.UserName, ev.Fields["ToUserName"])
		assert.Equal(t, "event", ev.Fields["MsgType"])
		assert.NotEmpty(t, ev.Fields["CreateTime"])
		events = append(events, ev.Fields)
	}
	want := []map[string]string{
		{"Event": "user_get_card", "FromUserName": "oUSER", "CardId": id, "UserCardCode": taken.Code, "OuterStr": "table-1",
			"IsGiveByFriend": "0", "UnionId": "uUSER", "IsRestoreMemberCard": "0"},
		{"Event": "user_view_card", "FromUserName": "oUSER", "CardId": id, "UserCardCode": taken.Code, "OuterStr": "table-1"},
		{"Event": "user_enter_session_from_card", "FromUserName": "oUSER", "CardId": id, "UserCardCode": taken.Code},
		{"Event": "submit_membercard_user_info", "FromUserName": "oUSER", "CardId": id, "UserCardCode": taken.Code},
		{"Event": "update_member_card", "FromUserName": "oUSER", "CardId": id, "UserCardCode": taken.Code,
			"ModifyBonus": "5", "ModifyBalance": "300"},
		// The custom field change moved neither bonus nor balance: no push.
		{"Event": "user_consume_card", "FromUserName": "oUSER", "CardId": id, "UserCardCode": taken.Code,
			"ConsumeSource": "FROM_API", "OuterStr": "table-1"},
		{"Event": "user_get_card", "FromUserName": "oUSER2", "CardId": id, "UserCardCode": second.Code},
		{"Event": "user_consume_card", "FromUserName": "oUSER2", "UserCardCode": second.Code, "ConsumeSource": "FROM_MOBILE_HELPER"},
		{"Event": "user_del_card", "FromUserName": "oUSER2", "CardId": id, "UserCardCode": second.Code},
		{"Event": "card_not_pass_check", "CardId": id, "RefuseReason": "品牌名不符"},
		{"Event": "card_pass_check", "CardId": id, "RefuseReason": ""},
	}
	require.Len(t, events, len(want))
	for i, w := range want {
		for k, v := range w {
			assert.Equal(t, v, events[i][k], "push %d (%s): %s", i, w["Event"], k)
		}
	}
	assert.NotEqual(t, "oUSER", events[9]["FromUserName"], "a review comes from WeChat, not a user")
}
