package redisstore

import (
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/tokenstore"
)

// FuzzCodec: every token encodes and decodes to itself, and decode accepts any input without panicking.
func FuzzCodec(f *testing.F) {
	f.Add("ACCESS_TOKEN", int64(1_700_000_000_123_456_789), "1|1700000000|v")
	f.Add("a|b||", int64(0), "1||")
	f.Add("", int64(-1), "garbage")
	f.Fuzz(func(t *testing.T, value string, ns int64, raw string) {
		tok := tokenstore.Token{Value: value}
		if ns != 0 {
			tok.ExpiresAt = time.Unix(0, ns)
		}
		got, ok := decode(encode(tok))
		if !ok || got.Value != tok.Value || !got.ExpiresAt.Equal(tok.ExpiresAt) || got.ExpiresAt.IsZero() != tok.ExpiresAt.IsZero() {
			t.Fatalf("round trip of %v gave %v, %v", tok, got, ok)
		}
		if got, ok := decode(raw); ok { // any input: no panic; what decodes re-encodes to the same token
			again, ok2 := decode(encode(got))
			if !ok2 || again.Value != got.Value || !again.ExpiresAt.Equal(got.ExpiresAt) {
				t.Fatalf("decode(%q) = %v does not round-trip", raw, got)
			}
		}
	})
}

func TestCeilMillis(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		time.Nanosecond:                    time.Millisecond,
		time.Millisecond:                   time.Millisecond,
		time.Millisecond + time.Nanosecond: 2 * time.Millisecond,
		90 * time.Second:                   90 * time.Second,
	} {
		if got := ceilMillis(in); got != want {
			t.Errorf("ceilMillis(%s) = %s, want %s", in, got, want)
		}
	}
}
