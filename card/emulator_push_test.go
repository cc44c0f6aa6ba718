package card_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/component"
)

// TestEmulatorCardPushesTyped: each user action a test triggers on the emulator is pushed, encrypted,
// to the platform's MessageHandler, which decodes it into its typed event.
func TestEmulatorCardPushesTyped(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	c := e.card(emuOA)
	ctx := context.Background()
	cardID := e.createWithUploadedLogo(func(mc *card.MemberCard) {
		mc.WxActivate = true
		mc.SupplyBonus, mc.SupplyBalance = true, true
		mc.BaseInfo.NeedPushOnView = true
	})
	require.NoError(t, c.SetActivateUserForm(ctx, card.ActivateUserForm{CardID: cardID,
		RequiredForm: &card.FormSection{CommonFieldIDList: []card.FormFieldID{card.FieldMobile}}}))
	e.s.SetUnionID(emuOA, "oUSER", "uUNION")
	oa, ok := e.s.Authorizer(emuOA)
	require.True(t, ok)

	require.NoError(t, e.s.ReviewCard(ctx, cardID, true, ""))
	taken, err := e.s.TakeCard(ctx, cardID, "oUSER", "table-9")
	require.NoError(t, err)
	require.NoError(t, e.s.ViewCard(ctx, taken.Code))
	require.NoError(t, e.s.EnterSessionFromCard(ctx, taken.Code))
	require.NoError(t, e.s.ActivateCard(ctx, taken.Code, map[string]string{string(card.FieldMobile): "13800000000"}))
	_, err = c.UpdateMember(ctx, card.UpdateMemberRequest{Code: taken.Code, CardID: cardID, AddBonus: 30})
	require.NoError(t, err)
	_, err = c.UpdateMember(ctx, card.UpdateMemberRequest{Code: taken.Code, CardID: cardID, AddBonus: -10, Balance: card.Int(500)})
	require.NoError(t, err)
	res, err := c.Consume(ctx, card.ConsumeRequest{Code: taken.Code})
	require.NoError(t, err)
	require.Equal(t, card.Consumed, res.Outcome)
	second, err := e.s.TakeCard(ctx, cardID, "oUSER2", "")
	require.NoError(t, err)
	require.NoError(t, e.s.ConsumeCard(ctx, second.Code, "FROM_MP"))
	require.NoError(t, e.s.DeleteCard(ctx, second.Code))
	require.NoError(t, e.s.ReviewCard(ctx, cardID, false, "logo unclear"))

	got := e.received()
	require.Len(t, got, 12)
	base := func(ev component.Message, event component.Event, from string) {
		t.Helper()
		assert.Equal(t, emuOA, ev.AuthorizerAppID)
		assert.Equal(t, oa.UserName, ev.ToUserName)
		assert.Equal(t, from, ev.FromUserName)
		assert.Equal(t, "event", ev.MsgType)
		assert.Equal(t, event, ev.Event)
		assertAround(t, e.s.Now(), ev.CreateTime)
	}

	pass := got[0].(*component.CardCheckEvent)
	base(pass.Message, component.EventCardPassCheck, pass.FromUserName)
	assert.Equal(t, cardID, pass.CardID)
	assert.True(t, pass.Passed)
	assert.Empty(t, pass.RefuseReason)

	get := got[1].(*component.UserGetCardEvent)
	base(get.Message, component.EventUserGetCard, "oUSER")
	assert.Equal(t, &component.UserGetCardEvent{Message: get.Message, CardID: cardID, UserCardCode: taken.Code,
		OuterStr: "table-9", UnionID: "uUNION"}, get)

	view := got[2].(*component.UserViewCardEvent)
	base(view.Message, component.EventUserViewCard, "oUSER")
	assert.Equal(t, &component.UserViewCardEvent{Message: view.Message, CardID: cardID, UserCardCode: taken.Code, OuterStr: "table-9"}, view)

	session := got[3].(*component.UserEnterSessionFromCardEvent)
	base(session.Message, component.EventUserEnterSessionFromCard, "oUSER")
	assert.Equal(t, taken.Code, session.UserCardCode)

	submit := got[4].(*component.SubmitMemberCardUserInfoEvent)
	base(submit.Message, component.EventSubmitMemberCardUserInfo, "oUSER")
	assert.Equal(t, cardID, submit.CardID)
	m, err := c.MemberInfo(ctx, submit.CardID, submit.UserCardCode)
	require.NoError(t, err)
	assert.True(t, m.HasActive)
	assert.Equal(t, "13800000000", m.UserInfo.Common(card.FieldMobile))

	up1 := got[5].(*component.UpdateMemberCardEvent)
	base(up1.Message, component.EventUpdateMemberCard, "oUSER")
	assert.EqualValues(t, 30, up1.ModifyBonus)
	assert.EqualValues(t, 0, up1.ModifyBalance)
	up2 := got[6].(*component.UpdateMemberCardEvent)
	assert.EqualValues(t, -10, up2.ModifyBonus)
	assert.EqualValues(t, 500, up2.ModifyBalance)

	api := got[7].(*component.UserConsumeCardEvent)
	base(api.Message, component.EventUserConsumeCard, "oUSER")
	assert.Equal(t, "FROM_API", api.ConsumeSource)
	assert.Equal(t, "table-9", api.OuterStr)
	assert.Equal(t, taken.Code, api.UserCardCode)

	get2 := got[8].(*component.UserGetCardEvent)
	assert.Equal(t, second.Code, get2.UserCardCode)
	mp := got[9].(*component.UserConsumeCardEvent)
	base(mp.Message, component.EventUserConsumeCard, "oUSER2")
	assert.Equal(t, "FROM_MP", mp.ConsumeSource)

	del := got[10].(*component.UserDelCardEvent)
	base(del.Message, component.EventUserDelCard, "oUSER2")
	assert.Equal(t, second.Code, del.UserCardCode)

	fail := got[11].(*component.CardCheckEvent)
	base(fail.Message, component.EventCardNotPassCheck, pass.FromUserName)
	assert.False(t, fail.Passed)
	assert.Equal(t, "logo unclear", fail.RefuseReason)
	assert.NotEmpty(t, fail.FromUserName)
}

func TestEmulatorUserActionsRefusedLikeWeChat(t *testing.T) {
	e := newEmu(t)
	e.addOfficialAccount(emuOA)
	ctx := context.Background()
	plain := e.createWithUploadedLogo(nil) // no wx_activate, no need_push_on_view
	taken, err := e.s.TakeCard(ctx, plain, "oUSER", "")
	require.NoError(t, err)
	n := len(e.received())

	require.NoError(t, e.s.ViewCard(ctx, taken.Code))
	assert.Len(t, e.received(), n, "user_view_card only for cards with need_push_on_view")
	assert.ErrorContains(t, e.s.ActivateCard(ctx, taken.Code, nil), "wx_activate")

	form := e.createWithUploadedLogo(func(mc *card.MemberCard) { mc.WxActivate = true })
	require.NoError(t, e.card(emuOA).SetActivateUserForm(ctx, card.ActivateUserForm{CardID: form,
		RequiredForm: &card.FormSection{CommonFieldIDList: []card.FormFieldID{card.FieldMobile}}}))
	member, err := e.s.TakeCard(ctx, form, "oUSER", "")
	require.NoError(t, err)
	assert.ErrorContains(t, e.s.ActivateCard(ctx, member.Code, map[string]string{"name": "x"}), "USER_FORM_INFO_FLAG_MOBILE")
	require.NoError(t, e.s.ActivateCard(ctx, member.Code, map[string]string{string(card.FieldMobile): "13800000000"}))
	assert.ErrorContains(t, e.s.ActivateCard(ctx, member.Code, map[string]string{string(card.FieldMobile): "1"}), "already active")

	require.NoError(t, e.s.DeleteCard(ctx, taken.Code))
	assert.ErrorContains(t, e.s.DeleteCard(ctx, taken.Code), "already deleted")
	assert.ErrorContains(t, e.s.ConsumeCard(ctx, taken.Code, ""), "DELETE")
	assert.ErrorContains(t, e.s.ViewCard(ctx, "000000000000"), "unknown code")
}
