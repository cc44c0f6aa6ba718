package component_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/component"
)

func TestMessageHandlerCardEvents(t *testing.T) {
	h := hsetup(t)
	var get *component.UserGetCardEvent
	var update *component.UpdateMemberCardEvent
	var consume *component.UserConsumeCardEvent
	var check []*component.CardCheckEvent
	var other []*component.Message
	mh, err := component.NewMessageHandler(h.c, component.MessageHandlerConfig{
		OnUserGetCard:      func(_ context.Context, ev *component.UserGetCardEvent) error { get = ev; return nil },
		OnUpdateMemberCard: func(_ context.Context, ev *component.UpdateMemberCardEvent) error { update = ev; return nil },
		OnUserConsumeCard:  func(_ context.Context, ev *component.UserConsumeCardEvent) error { consume = ev; return nil },
		OnCardCheck:        func(_ context.Context, ev *component.CardCheckEvent) error { check = append(check, ev); return nil },
		OnMessage:          func(_ context.Context, m *component.Message) error { other = append(other, m); return nil },
	})
	require.NoError(t, err)
	post := func(plain string) {
		t.Helper()
		assertSuccess(t, serve(mh, h.wx.push("/wechat/msg/wxoa01", "ToUserName", plain, time.Now())))
	}
	// A card given by a friend, as WeChat's documentation shows it.
	post(msgXML("user_get_card", "<CardId><![CDATA[po2VNuCuRo-8sxxxxxxxxxxx]]></CardId><IsGiveByFriend>1</IsGiveByFriend>"+
		"<UserCardCode><![CDATA[226009850808]]></UserCardCode><FriendUserName><![CDATA[oFRIEND]]></FriendUserName>"+
		"<OuterId>0</OuterId><OldUserCardCode><![CDATA[226009850801]]></OldUserCardCode><OuterStr><![CDATA[12b]]></OuterStr>"+
		"<IsRestoreMemberCard>0</IsRestoreMemberCard><IsRecommendByFriend>0</IsRecommendByFriend><UnionId>o6_bmasdasdsad6_2sgVt7hMZOPfL</UnionId>"))
	// Deltas as text, with spaces and a negative value (SDKs differ on string or int).
	post(msgXML("update_member_card", "<CardId><![CDATA[pC]]></CardId><UserCardCode><![CDATA[C1]]></UserCardCode>"+
		"<ModifyBonus><![CDATA[ -20 ]]></ModifyBonus><ModifyBalance>300</ModifyBalance>"))
	post(msgXML("user_consume_card", "<CardId><![CDATA[pC]]></CardId><UserCardCode><![CDATA[C1]]></UserCardCode>"+
		"<ConsumeSource><![CDATA[FROM_MOBILE_HELPER]]></ConsumeSource><LocationName><![CDATA[天河店]]></LocationName>"+
		"<StaffOpenId><![CDATA[oSTAFF]]></StaffOpenId><VerifyCode><![CDATA[]]></VerifyCode><RemarkAmount><![CDATA[38]]></RemarkAmount>"+
		"<OuterStr><![CDATA[]]></OuterStr>"))
	post(msgXML("card_pass_check", "<CardId><![CDATA[pC]]></CardId><RefuseReason><![CDATA[]]></RefuseReason>"))
	post(msgXML("card_not_pass_check", "<CardId><![CDATA[pC]]></CardId><RefuseReason><![CDATA[logo模糊]]></RefuseReason>"))
	// No typed callback: passed to OnMessage, where v0.1 delivered every card push (a platform that
	// handles them there must not lose them by upgrading).
	post(msgXML("user_del_card", "<CardId><![CDATA[pC]]></CardId><UserCardCode><![CDATA[C1]]></UserCardCode>"))
	// A card event wxopen does not type goes to OnMessage.
	post(msgXML("user_gifting_card", "<CardId><![CDATA[pC]]></CardId>"))

	require.NotNil(t, get)
	assert.Equal(t, "wxoa01", get.AuthorizerAppID)
	assert.Equal(t, component.EventUserGetCard, get.Event)
	assert.Equal(t, "po2VNuCuRo-8sxxxxxxxxxxx", get.CardID)
	assert.Equal(t, "226009850808", get.UserCardCode)
	assert.True(t, get.IsGiveByFriend)
	assert.Equal(t, "oFRIEND", get.FriendUserName)
	assert.Equal(t, "226009850801", get.OldUserCardCode)
	assert.Equal(t, "12b", get.OuterStr)
	assert.False(t, get.IsRestoreMemberCard)
	assert.Equal(t, "o6_bmasdasdsad6_2sgVt7hMZOPfL", get.UnionID)

	require.NotNil(t, update)
	assert.EqualValues(t, -20, update.ModifyBonus)
	assert.EqualValues(t, 300, update.ModifyBalance)

	require.NotNil(t, consume)
	assert.Equal(t, "FROM_MOBILE_HELPER", consume.ConsumeSource)
	assert.Equal(t, "天河店", consume.LocationName)
	assert.Equal(t, "oSTAFF", consume.StaffOpenID)
	assert.Equal(t, "38", consume.RemarkAmount)

	require.Len(t, check, 2)
	assert.True(t, check[0].Passed)
	assert.False(t, check[1].Passed)
	assert.Equal(t, "logo模糊", check[1].RefuseReason)
	assert.Equal(t, component.EventCardNotPassCheck, check[1].Event)

	require.Len(t, other, 2)
	assert.Equal(t, component.EventUserDelCard, other[0].Event)
	assert.Contains(t, string(other[0].Raw), "<UserCardCode><![CDATA[C1]]></UserCardCode>")
	assert.Equal(t, component.Event("user_gifting_card"), other[1].Event)
}

// Every card push reaches OnMessage when its typed callback is not set, as in v0.1.
func TestMessageHandlerCardEventsWithoutTypedCallbacks(t *testing.T) {
	h := hsetup(t)
	var got []component.Event
	mh, err := component.NewMessageHandler(h.c, component.MessageHandlerConfig{
		OnMessage: func(_ context.Context, m *component.Message) error { got = append(got, m.Event); return nil },
	})
	require.NoError(t, err)
	events := []component.Event{component.EventCardPassCheck, component.EventCardNotPassCheck, component.EventUserGetCard,
		component.EventUserDelCard, component.EventUserConsumeCard, component.EventSubmitMemberCardUserInfo,
		component.EventUpdateMemberCard, component.EventUserViewCard, component.EventUserEnterSessionFromCard}
	for _, ev := range events {
		assertSuccess(t, serve(mh, h.wx.push("/wechat/msg/wxoa01", "ToUserName",
			msgXML(string(ev), "<CardId><![CDATA[pC]]></CardId><UserCardCode><![CDATA[C1]]></UserCardCode>"), time.Now())))
	}
	assert.Equal(t, events, got)
}

func TestMessageHandlerCardCallbackErrorAsksForRetry(t *testing.T) {
	h := hsetup(t)
	mh, err := component.NewMessageHandler(h.c, component.MessageHandlerConfig{
		OnUserDelCard: func(context.Context, *component.UserDelCardEvent) error { return errors.New("db down") },
	})
	require.NoError(t, err)
	w := serve(mh, h.wx.push("/wechat/msg/wxoa01", "ToUserName",
		msgXML("user_del_card", "<CardId><![CDATA[pC]]></CardId><UserCardCode><![CDATA[C1]]></UserCardCode>"), time.Now()))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
}
