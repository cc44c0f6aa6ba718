package realtime

import "testing"

// FuzzRoomKey checks the isolation of merchants at its root: two valid targets share a socket.io room
// only if they are the same target (same kind, same merchant, same name), whatever the names hold.
func FuzzRoomKey(f *testing.F) {
	f.Add(uint8(1), "wxa", "orders", uint8(1), "wxb", "orders")
	f.Add(uint8(1), "wxa", "b\x00c", uint8(1), "wxa\x00b", "c")
	f.Add(uint8(2), "wxa", "x", uint8(1), "wxa", "x")
	f.Add(uint8(3), "wx", "aorders", uint8(1), "wxa", "orders")
	f.Fuzz(func(t *testing.T, k1 uint8, app1, name1 string, k2 uint8, app2, name2 string) {
		a := Target{Kind: Kind(k1), AppID: app1, Name: name1}
		b := Target{Kind: Kind(k2), AppID: app2, Name: name2}
		if a.validate() != nil || b.validate() != nil {
			return
		}
		if (roomKey(a) == roomKey(b)) != (a == b) {
			t.Fatalf("%q and %q: room keys %q and %q", a, b, roomKey(a), roomKey(b))
		}
	})
}

func TestValidNames(t *testing.T) {
	for name, want := range map[string]bool{
		"orders": true, "订单:42": true, "a b": true, "": false, "a\x00b": false, "a\nb": false,
		"\x7f": false, string([]byte{0xff}): false, string(make([]byte, 128)): false,
	} {
		if got := validName(name); got != want {
			t.Errorf("validName(%q) = %v, want %v", name, got, want)
		}
	}
	long := ""
	for range 128 {
		long += "x"
	}
	if !validName(long) || validName(long+"x") {
		t.Error("the 128-byte bound")
	}
}
