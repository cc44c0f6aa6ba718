package wxhttp

import (
	"encoding/json"
	"testing"
)

func TestScanErrcode(t *testing.T) {
	cases := []struct {
		body      string
		code      int
		found, ok bool
	}{
		{`{"errcode":0,"errmsg":"ok"}`, 0, true, true},
		{` { "errcode" : 40001 , "errmsg":"x"}`, 40001, true, true},
		{`{"errcode":-1}`, -1, true, true},
		{`{"errmsg":"ok","errcode":85009}`, 85009, true, true},
		{`{"list":[{"errcode":5}],"x":{"errcode":7}}`, 0, false, true}, // nested codes are per item
		{`{"a":"errcode","b":"\"errcode\":3"}`, 0, false, true},        // in strings
		{`{"component_access_token":"t","expires_in":7200}`, 0, false, true},
		{`{}`, 0, false, true},
		{`{"errcode":1.5}`, 0, false, false},
		{`{"errcode":1e3}`, 0, false, false},
		{`{"errcode":"40001"}`, 0, false, false},
		{`{"errcode":}`, 0, false, false},
		{`[]`, 0, false, false},
		{``, 0, false, false},
		{`{"a":1}garbage`, 0, false, false},
		{`{"a":"unterminated`, 0, false, false},
		{`{"errcode":0`, 0, false, false},
		{`{"err\u0063ode":5}`, 0, false, false}, // escaped key: decided by encoding/json
	}
	for _, c := range cases {
		code, found, ok := scanErrcode([]byte(c.body))
		if code != c.code || found != c.found || ok != c.ok {
			t.Errorf("scanErrcode(%s) = %d, %v, %v; want %d, %v, %v", c.body, code, found, ok, c.code, c.found, c.ok)
		}
	}
}

func TestScanErrcodeAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("under -race sync.Pool drops items at random, so json.Valid's pooled scanner allocates; run without -race")
	}
	body := []byte(`{"errcode":0,"errmsg":"ok","category_list":[{"first_class":"餐饮","first_id":220}]}`)
	if n := testing.AllocsPerRun(100, func() { scanErrcode(body) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// FuzzScanErrcode: whenever the scanner vouches for an answer, encoding/json agrees on the top-level
// errcode.
func FuzzScanErrcode(f *testing.F) {
	for _, s := range []string{`{"errcode":0}`, `{"errcode":40001,"errmsg":"x"}`, `{"a":{"errcode":1}}`, `{"a":"\"errcode\":1"}`, `{"errcode":-1}`, `[]`, `{"err\u0063ode":5}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code, found, ok := scanErrcode(body)
		if !ok {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("scanner accepted %q, encoding/json says %v", body, err)
		}
		raw, has := m["errcode"]
		if has != found {
			t.Fatalf("found=%v but encoding/json has=%v for %q", found, has, body)
		}
		if has {
			var n int
			if err := json.Unmarshal(raw, &n); err != nil || n != code {
				t.Fatalf("code %d, encoding/json %s (%v) for %q", code, raw, err, body)
			}
		}
	})
}
