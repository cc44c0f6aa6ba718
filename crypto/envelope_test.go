package crypto

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseEnvelope(t *testing.T) {
	const enc = "AbC+/9=="
	for _, tc := range []struct {
		name string
		body string
		want Envelope
		fast bool // the allocation-free path accepts it
	}{
		{"platform event", "<xml><AppId><![CDATA[wxcomponent]]></AppId><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>",
			Envelope{AppID: "wxcomponent", Encrypt: enc}, true},
		{"account event", "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>",
			Envelope{ToUserName: "gh_1", Encrypt: enc}, true},
		{"Encrypt only, whitespace", "\n <xml>\n\t<Encrypt><![CDATA[" + enc + "]]></Encrypt>\r\n</xml>\n",
			Envelope{Encrypt: enc}, true},
		{"text content", "<xml><Encrypt>" + enc + "</Encrypt><AppId>wx1</AppId></xml>",
			Envelope{AppID: "wx1", Encrypt: enc}, true},
		{"unknown elements ignored", "<xml><AgentID>218</AgentID><Encrypt>" + enc + "</Encrypt><X.y-z></X.y-z></xml>",
			Envelope{Encrypt: enc}, true},
		{"empty ToUserName", "<xml><ToUserName></ToUserName><Encrypt>" + enc + "</Encrypt></xml>",
			Envelope{Encrypt: enc}, true},
		{"CDATA with ]]", "<xml><ToUserName><![CDATA[a]]b]]></ToUserName><Encrypt>" + enc + "</Encrypt></xml>",
			Envelope{ToUserName: "a]]b", Encrypt: enc}, true},
		// Shapes only encoding/xml handles.
		{"declaration", `<?xml version="1.0" encoding="UTF-8"?><xml><Encrypt>` + enc + "</Encrypt></xml>",
			Envelope{Encrypt: enc}, false},
		{"comment", "<xml><!-- c --><Encrypt>" + enc + "</Encrypt></xml>", Envelope{Encrypt: enc}, false},
		{"attributes", `<xml a="1"><Encrypt>` + enc + "</Encrypt></xml>", Envelope{Encrypt: enc}, false},
		{"self-closing unknown", "<xml><X/><Encrypt>" + enc + "</Encrypt></xml>", Envelope{Encrypt: enc}, false},
		{"nested unknown", "<xml><X><Y>1</Y></X><Encrypt>" + enc + "</Encrypt></xml>", Envelope{Encrypt: enc}, false},
		{"entity in ToUserName", "<xml><ToUserName>a&amp;b</ToUserName><Encrypt>" + enc + "</Encrypt></xml>",
			Envelope{ToUserName: "a&b", Encrypt: enc}, false},
		{"non-ASCII ToUserName", "<xml><ToUserName><![CDATA[中文]]></ToUserName><Encrypt>" + enc + "</Encrypt></xml>",
			Envelope{ToUserName: "中文", Encrypt: enc}, false},
		{"CDATA split", "<xml><Encrypt><![CDATA[AbC+]]><![CDATA[/9==]]></Encrypt></xml>", Envelope{Encrypt: enc}, false},
		{"namespaced", `<xml xmlns:w="urn:w"><w:Encrypt>` + enc + "</w:Encrypt></xml>", Envelope{Encrypt: enc}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEnvelope([]byte(tc.body))
			mustNoErr(t, err, "ParseEnvelope")
			mustEqual(t, got, tc.want, "envelope")
			_, fast := parseEnvelopeFast([]byte(tc.body))
			mustEqual(t, fast, tc.fast, "fast path")
			slow, err := parseEnvelopeXML([]byte(tc.body))
			mustNoErr(t, err, "parseEnvelopeXML")
			mustEqual(t, string(slow.encrypt), tc.want.Encrypt, "encoding/xml Encrypt")
		})
	}
}

func TestParseEnvelopeErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, fragment string }{
		{"empty", "", "not <xml>"},
		{"plain text", "success", "not <xml>"},
		{"JSON without Encrypt", `{"ToUserName":"gh_1"}`, "no Encrypt"},
		{"broken JSON", `{"Encrypt":`, "neither"},
		{"JSON Encrypt not a string", `{"Encrypt":1}`, "neither"},
		{"wrong root", "<Root><Encrypt>abcd</Encrypt></Root>", "root"},
		{"unclosed root", "<xml><Encrypt>abcd</Encrypt>", "not <xml>"},
		{"unclosed child", "<xml><Encrypt>abcd</xml>", "not <xml>"},
		{"mismatched tags", "<xml><Encrypt>abcd</Encrypt2></xml>", "not <xml>"},
		{"unterminated CDATA", "<xml><Encrypt><![CDATA[abcd</Encrypt></xml>", "not <xml>"},
		{"missing Encrypt", "<xml><ToUserName>gh</ToUserName></xml>", "no Encrypt"},
		{"empty Encrypt", "<xml><Encrypt></Encrypt></xml>", "no Encrypt"},
		{"self-closing Encrypt", "<xml><Encrypt/></xml>", "no Encrypt"},
		{"Encrypt not a child of root", "<xml><X><Encrypt>abcd</Encrypt></X></xml>", "no Encrypt"},
		{"two Encrypt", "<xml><Encrypt>abcd</Encrypt><Encrypt>abcd</Encrypt></xml>", "repeats"},
		{"two AppId", "<xml><AppId>a</AppId><AppId>b</AppId><Encrypt>abcd</Encrypt></xml>", "repeats"},
		{"two ToUserName", "<xml><ToUserName>a</ToUserName><ToUserName>b</ToUserName><Encrypt>abcd</Encrypt></xml>", "repeats"},
		{"data after root", "<xml><Encrypt>abcd</Encrypt></xml>trailing", "after </xml>"},
		{"second root", "<xml><Encrypt>abcd</Encrypt></xml><xml><Encrypt>efgh</Encrypt></xml>", "after </xml>"},
		{"undefined entity", "<xml><Encrypt>ab&x;cd</Encrypt></xml>", "not <xml>"},
		{"invalid UTF-8", "<xml><ToUserName>\xff</ToUserName><Encrypt>abcd</Encrypt></xml>", "not <xml>"},
		{"control character", "<xml><ToUserName>\x01</ToUserName><Encrypt>abcd</Encrypt></xml>", "not <xml>"},
		{"other encoding", `<?xml version="1.0" encoding="GBK"?><xml><Encrypt>abcd</Encrypt></xml>`, "not <xml>"},
		{"deep nesting", strings.Repeat("<a>", 20000) + strings.Repeat("</a>", 20000), "not <xml>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := ParseEnvelope([]byte(tc.body))
			mustEqual(t, env, Envelope{}, "envelope on error")
			wantCode(t, err, CodeParseXML, tc.fragment)
		})
	}
}

// TestParseEnvelopeJSON: a message URL set to JSON receives the envelope as a JSON object.
func TestParseEnvelopeJSON(t *testing.T) {
	env, err := ParseEnvelope([]byte(` {"ToUserName":"gh_1","Encrypt":"abcd"}`))
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, env, Envelope{ToUserName: "gh_1", Encrypt: "abcd"}, "JSON envelope")
}

func TestParseEnvelopeFastRejectsWhatItCannotVouchFor(t *testing.T) {
	base := "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[abcd]]></Encrypt></xml>"
	if _, ok := parseEnvelopeFast([]byte(base)); !ok {
		t.Fatal("fast path rejected the canonical envelope")
	}
	// Every truncation of the canonical envelope is rejected by the fast path and by ParseEnvelope.
	for i := range len(base) {
		if _, ok := parseEnvelopeFast([]byte(base[:i])); ok {
			t.Errorf("fast path accepted truncation %q", base[:i])
		}
		if _, err := ParseEnvelope([]byte(base[:i])); err == nil {
			t.Errorf("ParseEnvelope accepted truncation %q", base[:i])
		}
	}
	for _, body := range []string{
		"<xml><Encrypt><![CDATA[ab cd]]></Encrypt></xml>",
		"<xml><Encrypt><![CDATA[ab\ncd]]></Encrypt></xml>",
		"<xml><Encrypt> abcd</Encrypt></xml>",
		"<xml><Encrypt><![CDATA[abcd]]> </Encrypt></xml>",
		"<xml><ToUserName>a]b</ToUserName><Encrypt>abcd</Encrypt></xml>",
		"<xml><ToUserName>a\rb</ToUserName><Encrypt>abcd</Encrypt></xml>",
		"<xml><1a>x</1a><Encrypt>abcd</Encrypt></xml>",
		"<xml ><Encrypt>abcd</Encrypt></xml>",
		"<xml><Encrypt >abcd</Encrypt></xml>",
		"<xml><Encrypt>abcd</Encrypt ></xml>",
		"<xml><Encrypt>abcd</Encrypt></xml >",
		"<xml><Encrypt>abcd</Encrypt><Encrypt>abcd</Encrypt></xml>",
		"<xml><Encrypt>abcd</Encrypt></xml>x",
		"\ufeff<xml><Encrypt>abcd</Encrypt></xml>",
	} {
		if _, ok := parseEnvelopeFast([]byte(body)); ok {
			t.Errorf("fast path accepted %q", body)
		}
	}
}

func TestParseEnvelopeFastAliasesBody(t *testing.T) {
	body := envelope(a1Encrypt)
	env, ok := parseEnvelopeFast(body)
	if !ok {
		t.Fatal("fast path rejected a WeChat envelope")
	}
	i := bytes.Index(body, []byte(a1Encrypt))
	if &env.encrypt[0] != &body[i] {
		t.Fatal("fast path copied Encrypt")
	}
}
