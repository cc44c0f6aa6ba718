package wxtest

// Card pushes (API digest 19.2): events about cards and codes, sent to the message URL of the
// official account that owns the card. Test-facing methods (TakeCard, DeleteCard, ConsumeCard,
// ActivateCard, ReviewCard...) push and report a failed push; endpoints that cause a push
// (code/consume, membercard/updateuser) push only when a message URL is configured.

import (
	"context"
	"strconv"
	"time"
)

// cardPush is a rendered card event and the account it goes to.
type cardPush struct {
	owner string
	msg   []byte
}

// cardEvent renders a card event from the user openID (or the review system) to the owner account:
// ToUserName, FromUserName, CreateTime, MsgType event, Event, then fields. Call with s.mu held.
func (s *Server) cardEvent(owner, openID string, now time.Time, event string, fields ...xmlField) []byte {
	userName := ""
	if a := s.authorizers[owner]; a != nil {
		userName = a.info.UserName
	}
	all := append([]xmlField{
		{"ToUserName", userName, false},
		{"FromUserName", openID, false},
		{"CreateTime", strconv.FormatInt(now.Unix(), 10), true},
		{"MsgType", "event", false},
		{"Event", event, false},
	}, fields...)
	return xmlMessage(all...)
}

// pushCardEventLater pushes p once s.mu is released, before the call's answer is written, when a
// message URL is configured. Call from a handler.
func (s *Server) pushCardEventLater(c *call, p cardPush) {
	ctx := context.WithoutCancel(c.r.Context())
	c.after(func() {
		s.mu.Lock()
		configured := s.component.MessageEventURL != ""
		s.mu.Unlock()
		if configured {
			_ = s.PushAuthorizerEvent(ctx, p.owner, p.msg)
		}
	})
}
