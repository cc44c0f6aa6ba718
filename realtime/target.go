package realtime

import (
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Kind says what a Target names: a topic, a room or one user.
type Kind uint8

const (
	// KindTopic is a topic a connection subscribes to ("subscribe"/"unsubscribe").
	KindTopic Kind = iota + 1
	// KindRoom is a room a connection enters and leaves ("join"/"leave").
	KindRoom
	// KindUser is every connection of one user of one merchant.
	KindUser
)

// String returns "topic", "room" or "user".
func (k Kind) String() string {
	switch k {
	case KindTopic:
		return "topic"
	case KindRoom:
		return "room"
	case KindUser:
		return "user"
	}
	return "unknown"
}

// Limits on names. They keep the per-connection and per-merchant memory bounded and the Redis envelope small.
const (
	// MaxNameBytes is the longest topic, room or user name, in bytes of UTF-8.
	MaxNameBytes = 128
	// MaxEventBytes is the longest event name a publish may use.
	MaxEventBytes = 64
	// maxAppIDBytes bounds the merchant's AppID (WeChat's are 18 characters: "wx" and 16 hex digits).
	maxAppIDBytes = 32
)

// Target is where a publish goes: a topic, a room or a user, always inside one merchant (AppID). Build it
// with Topic, Room or User.
type Target struct {
	// Kind is topic, room or user.
	Kind Kind
	// AppID is the merchant's mini program AppID, as the user's session carries it.
	AppID string
	// Name is the topic or room name, or the user's key (see User).
	Name string
}

// Topic is the topic name of the merchant appID.
func Topic(appID, name string) Target { return Target{Kind: KindTopic, AppID: appID, Name: name} }

// Room is the room name of the merchant appID.
func Room(appID, name string) Target { return Target{Kind: KindRoom, AppID: appID, Name: name} }

// User is every connection of one user of the merchant appID. userKey is the session's UserID, or its
// OpenID when the session has no UserID (see UserKey).
func User(appID, userKey string) Target { return Target{Kind: KindUser, AppID: appID, Name: userKey} }

// String renders "topic appid/name"; it is for logs (names are not secrets).
func (t Target) String() string { return t.Kind.String() + " " + t.AppID + "/" + t.Name }

// validate checks the target before anything is sent.
func (t Target) validate() error {
	if t.Kind < KindTopic || t.Kind > KindUser {
		return wxerr.Invalid("target", "a Topic, Room or User")
	}
	if !validAppID(t.AppID) {
		return wxerr.Invalid("appid", "1 to 32 letters, digits, '_' or '-'")
	}
	if !validName(t.Name) {
		return wxerr.Invalid(t.Kind.String(), nameRule)
	}
	return nil
}

const nameRule = "1 to 128 bytes of UTF-8 without control characters"

// validName reports whether s is a usable topic, room or user name.
func validName(s string) bool {
	if s == "" || len(s) > MaxNameBytes || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func validAppID(s string) bool {
	if s == "" || len(s) > maxAppIDBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// reservedEvents are the names the clients use for their own events: a server event with one of these
// names would be mistaken for a connection event (socket.io v4 refuses them; the v2 client behind
// socket.io-mp-client also raises "error", "reconnect…", "ping" and "pong" itself).
var reservedEvents = map[string]bool{
	"connect": true, "connect_error": true, "connect_timeout": true, "connecting": true,
	"disconnect": true, "disconnecting": true, "error": true, "newListener": true, "removeListener": true,
	"reconnect": true, "reconnect_attempt": true, "reconnect_error": true, "reconnect_failed": true,
	"reconnecting": true, "ping": true, "pong": true,
}

// validEvent checks an event name of a publish: 1 to 64 of [A-Za-z0-9_.:-], not one of the clients' own.
func validEvent(ev string) error {
	const rule = "1 to 64 of A-Z a-z 0-9 _ . : -, and not a name the clients reserve (connect, error, …)"
	if ev == "" || len(ev) > MaxEventBytes || reservedEvents[ev] {
		return wxerr.Invalid("event", rule)
	}
	for i := 0; i < len(ev); i++ {
		c := ev[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return wxerr.Invalid("event", rule)
		}
	}
	return nil
}

// roomKey is the socket.io room that holds a target's connections. Every room of a merchant carries its
// AppID, and a NUL separates the parts: no client-chosen name can reach into another merchant's rooms,
// and none collides with the socket ids socket.io puts every connection in.
func roomKey(t Target) string {
	var k byte
	switch t.Kind {
	case KindTopic:
		k = 't'
	case KindRoom:
		k = 'r'
	default:
		k = 'u'
	}
	b := make([]byte, 0, 3+len(t.AppID)+len(t.Name))
	b = append(b, 0, k)
	b = append(b, t.AppID...)
	b = append(b, 0)
	b = append(b, t.Name...)
	return string(b)
}
