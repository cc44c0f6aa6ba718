package component

import (
	"context"
	"strconv"
	"strings"
)

// Event values of the card pushes to the message/event URL of an official account that owns cards
// (API digest 19.2).
const (
	EventCardPassCheck            Event = "card_pass_check"
	EventCardNotPassCheck         Event = "card_not_pass_check"
	EventUserGetCard              Event = "user_get_card"
	EventUserDelCard              Event = "user_del_card"
	EventUserConsumeCard          Event = "user_consume_card"
	EventSubmitMemberCardUserInfo Event = "submit_membercard_user_info"
	EventUpdateMemberCard         Event = "update_member_card"
	EventUserViewCard             Event = "user_view_card"
	EventUserEnterSessionFromCard Event = "user_enter_session_from_card"
)

// CardCheckEvent is card_pass_check or card_not_pass_check: the outcome of WeChat's review of a card.
type CardCheckEvent struct {
	Message
	CardID string
	// Passed is true for card_pass_check.
	Passed bool
	// RefuseReason is why the card was rejected (empty when it passed).
	RefuseReason string
}

// UserGetCardEvent is user_get_card: a user took a card (wx.addCard, a QR code, a landing page, a
// friend's gift).
type UserGetCardEvent struct {
	Message
	CardID       string
	UserCardCode string
	// IsGiveByFriend is true when a friend (FriendUserName) gave the card; OldUserCardCode is then
	// the friend's code.
	IsGiveByFriend  bool
	FriendUserName  string
	OldUserCardCode string
	// OuterID is the numeric channel of older integrations; OuterStr the channel tag of the cardExt
	// or QR code.
	OuterID  int64
	OuterStr string
	// IsRestoreMemberCard is true when the user took back a member card they had deleted.
	IsRestoreMemberCard bool
	// IsRecommendByFriend is true when a friend recommended the card (field unverified).
	IsRecommendByFriend bool
	// UnionID is set when the account is bound to an open platform account.
	UnionID string
}

// UserDelCardEvent is user_del_card: a user deleted a card from their card bag.
type UserDelCardEvent struct {
	Message
	CardID       string
	UserCardCode string
}

// UserConsumeCardEvent is user_consume_card: a code was consumed (by API, in the official account's
// back office, or with the mobile helper).
type UserConsumeCardEvent struct {
	Message
	CardID       string
	UserCardCode string
	// ConsumeSource is how: "FROM_API", "FROM_MP", "FROM_MOBILE_HELPER"...
	ConsumeSource string
	LocationName  string
	StaffOpenID   string
	VerifyCode    string
	RemarkAmount  string
	OuterStr      string
}

// SubmitMemberCardUserInfoEvent is submit_membercard_user_info: a member completed the activation
// form; read the answers with the card package's MemberInfo.
type SubmitMemberCardUserInfoEvent struct {
	Message
	CardID       string
	UserCardCode string
}

// UpdateMemberCardEvent is update_member_card: a member's bonus or balance changed.
type UpdateMemberCardEvent struct {
	Message
	CardID       string
	UserCardCode string
	// ModifyBonus and ModifyBalance are the changes (negative for a decrease).
	ModifyBonus   int64
	ModifyBalance int64
}

// UserViewCardEvent is user_view_card: a member opened the card (sent only for cards created with
// need_push_on_view).
type UserViewCardEvent struct {
	Message
	CardID       string
	UserCardCode string
	OuterStr     string
}

// UserEnterSessionFromCardEvent is user_enter_session_from_card: a member opened the official
// account's chat from the card.
type UserEnterSessionFromCardEvent struct {
	Message
	CardID       string
	UserCardCode string
}

// cardXML is every field of the card pushes. Numbers some SDKs read as text (ModifyBonus,
// ModifyBalance, the 0/1 flags) are decoded as text and parsed leniently.
type cardXML struct {
	CardID              string `xml:"CardId"`
	RefuseReason        string `xml:"RefuseReason"`
	UserCardCode        string `xml:"UserCardCode"`
	IsGiveByFriend      string `xml:"IsGiveByFriend"`
	FriendUserName      string `xml:"FriendUserName"`
	OldUserCardCode     string `xml:"OldUserCardCode"`
	OuterID             string `xml:"OuterId"`
	OuterStr            string `xml:"OuterStr"`
	IsRestoreMemberCard string `xml:"IsRestoreMemberCard"`
	IsRecommendByFriend string `xml:"IsRecommendByFriend"`
	UnionID             string `xml:"UnionId"`
	ConsumeSource       string `xml:"ConsumeSource"`
	LocationName        string `xml:"LocationName"`
	StaffOpenID         string `xml:"StaffOpenId"`
	VerifyCode          string `xml:"VerifyCode"`
	RemarkAmount        string `xml:"RemarkAmount"`
	ModifyBonus         string `xml:"ModifyBonus"`
	ModifyBalance       string `xml:"ModifyBalance"`
}

// xmlInt parses a number sent as XML text ("" and garbage read as 0: a push is never refused for a
// field wxopen only passes on).
func xmlInt(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}

func xmlFlag(s string) bool { return xmlInt(s) != 0 }

// cardCallbackSet reports whether the application set the typed callback of the card push ev.
func (cb *MessageHandlerConfig) cardCallbackSet(ev Event) bool {
	switch ev {
	case EventCardPassCheck, EventCardNotPassCheck:
		return cb.OnCardCheck != nil
	case EventUserGetCard:
		return cb.OnUserGetCard != nil
	case EventUserDelCard:
		return cb.OnUserDelCard != nil
	case EventUserConsumeCard:
		return cb.OnUserConsumeCard != nil
	case EventSubmitMemberCardUserInfo:
		return cb.OnSubmitMemberCardUserInfo != nil
	case EventUpdateMemberCard:
		return cb.OnUpdateMemberCard != nil
	case EventUserViewCard:
		return cb.OnUserViewCard != nil
	case EventUserEnterSessionFromCard:
		return cb.OnUserEnterSessionFromCard != nil
	}
	return false
}

// dispatchCard decodes a card push and calls its callback. A push whose typed callback is not set
// goes to OnMessage, where every card push went before they were typed: a platform that handles
// them there keeps receiving them.
func (h *MessageHandler) dispatchCard(ctx context.Context, m Message) error {
	if !h.cfg.cardCallbackSet(m.Event) {
		return call(ctx, h.cfg.OnMessage, &m)
	}
	var x cardXML
	if err := decodeXML(m.Raw, &x); err != nil {
		return badRequest("malformed card event XML: " + err.Error())
	}
	cb := &h.cfg
	switch m.Event {
	case EventCardPassCheck, EventCardNotPassCheck:
		return call(ctx, cb.OnCardCheck, &CardCheckEvent{Message: m, CardID: x.CardID,
			Passed: m.Event == EventCardPassCheck, RefuseReason: x.RefuseReason})
	case EventUserGetCard:
		return call(ctx, cb.OnUserGetCard, &UserGetCardEvent{Message: m, CardID: x.CardID, UserCardCode: x.UserCardCode,
			IsGiveByFriend: xmlFlag(x.IsGiveByFriend), FriendUserName: x.FriendUserName, OldUserCardCode: x.OldUserCardCode,
			OuterID: xmlInt(x.OuterID), OuterStr: x.OuterStr, IsRestoreMemberCard: xmlFlag(x.IsRestoreMemberCard),
			IsRecommendByFriend: xmlFlag(x.IsRecommendByFriend), UnionID: x.UnionID})
	case EventUserDelCard:
		return call(ctx, cb.OnUserDelCard, &UserDelCardEvent{Message: m, CardID: x.CardID, UserCardCode: x.UserCardCode})
	case EventUserConsumeCard:
		return call(ctx, cb.OnUserConsumeCard, &UserConsumeCardEvent{Message: m, CardID: x.CardID, UserCardCode: x.UserCardCode,
			ConsumeSource: x.ConsumeSource, LocationName: x.LocationName, StaffOpenID: x.StaffOpenID,
			VerifyCode: x.VerifyCode, RemarkAmount: x.RemarkAmount, OuterStr: x.OuterStr})
	case EventSubmitMemberCardUserInfo:
		return call(ctx, cb.OnSubmitMemberCardUserInfo, &SubmitMemberCardUserInfoEvent{Message: m, CardID: x.CardID,
			UserCardCode: x.UserCardCode})
	case EventUpdateMemberCard:
		return call(ctx, cb.OnUpdateMemberCard, &UpdateMemberCardEvent{Message: m, CardID: x.CardID, UserCardCode: x.UserCardCode,
			ModifyBonus: xmlInt(x.ModifyBonus), ModifyBalance: xmlInt(x.ModifyBalance)})
	case EventUserViewCard:
		return call(ctx, cb.OnUserViewCard, &UserViewCardEvent{Message: m, CardID: x.CardID, UserCardCode: x.UserCardCode,
			OuterStr: x.OuterStr})
	case EventUserEnterSessionFromCard:
		return call(ctx, cb.OnUserEnterSessionFromCard, &UserEnterSessionFromCardEvent{Message: m, CardID: x.CardID,
			UserCardCode: x.UserCardCode})
	}
	return call(ctx, h.cfg.OnMessage, &m)
}
