package crypto

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"testing"
)

// flatField is one child element of a flat push.
type flatField struct{ name, content string }

// scanFlat collects what ScanFlatXML reports.
func scanFlat(body []byte) ([]flatField, bool) {
	var out []flatField
	ok := ScanFlatXML(body, func(name, content []byte) {
		out = append(out, flatField{string(name), string(content)})
	})
	return out, ok
}

// decodeFlat is the reference: encoding/xml, strict, reading a root <xml> whose children each hold
// character data only, and nothing but whitespace after the root. It fails on anything else.
func decodeFlat(body []byte) ([]flatField, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	var out []flatField
	depth := 0
	var cur *flatField
	sawRoot := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if !sawRoot || depth != 0 {
				return nil, errors.New("no complete root")
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(t.Attr) != 0 || t.Name.Space != "" {
				return nil, errors.New("attributes or namespace")
			}
			switch depth {
			case 0:
				if sawRoot || t.Name.Local != "xml" {
					return nil, errors.New("root")
				}
				sawRoot = true
			case 1:
				out = append(out, flatField{name: t.Name.Local})
				cur = &out[len(out)-1]
			default:
				return nil, errors.New("nested")
			}
			depth++
		case xml.EndElement:
			depth--
			cur = nil
		case xml.CharData:
			switch {
			case cur != nil:
				cur.content += string(t)
			case len(bytes.TrimLeft(t, " \t\r\n")) != 0:
				return nil, errors.New("text outside the fields")
			}
		default:
			return nil, errors.New("comment, directive or processing instruction")
		}
	}
}

func TestScanFlatXML(t *testing.T) {
	for _, tc := range []struct {
		body string
		want []flatField
	}{
		{"<xml><AppId><![CDATA[wx1]]></AppId><CreateTime>1413192605</CreateTime></xml>",
			[]flatField{{"AppId", "wx1"}, {"CreateTime", "1413192605"}}},
		{"\n<xml>\n <Reason><![CDATA[1:账号信息不符合规范:<br>]]></Reason>\n</xml>\n",
			[]flatField{{"Reason", "1:账号信息不符合规范:<br>"}}},
		{"<xml><A> spaced text </A><B></B><A>again</A></xml>",
			[]flatField{{"A", " spaced text "}, {"B", ""}, {"A", "again"}}},
		{"<xml></xml>", nil},
	} {
		got, ok := scanFlat([]byte(tc.body))
		if !ok || !equalFields(got, tc.want) {
			t.Errorf("%q: got %v %v, want %v", tc.body, got, ok, tc.want)
		}
		ref, err := decodeFlat([]byte(tc.body))
		if err != nil || !equalFields(ref, tc.want) {
			t.Errorf("%q: encoding/xml gives %v %v", tc.body, ref, err)
		}
	}
	// Outside the subset: the caller falls back to encoding/xml.
	for _, body := range []string{
		`<?xml version="1.0"?><xml></xml>`, "<xml><!-- c --></xml>", `<xml><A x="1">v</A></xml>`,
		"<xml><A>a&amp;b</A></xml>", "<xml><A/></xml>", "<xml><info><name>n</name></info></xml>",
		"<xml><A> <![CDATA[x]]></A></xml>", "<xml><A>a\r\nb</A></xml>", "<xml><A>\xff</A></xml>",
		"<xml><A>x]]>y</A></xml>", "<xml><A>v</B></xml>", "<xml><A>v</A>", "<xml></xml>tail",
		"<root></root>", "<xml><a:b>v</a:b></xml>", "<xml><A><![CDATA[\x01]]></A></xml>",
	} {
		if _, ok := scanFlat([]byte(body)); ok {
			t.Errorf("%q: accepted", body)
		}
	}
	// No allocation of its own.
	body := []byte("<xml><AppId><![CDATA[wx1]]></AppId><CreateTime>1413192605</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType></xml>")
	n := 0
	if allocs := testing.AllocsPerRun(100, func() { ScanFlatXML(body, func(_, _ []byte) { n++ }) }); allocs != 0 {
		t.Errorf("%v allocations", allocs)
	}
}

func equalFields(a, b []flatField) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzScanFlatXML is differential: whatever ScanFlatXML accepts, encoding/xml decodes to the same
// elements with the same contents, in the same order.
func FuzzScanFlatXML(f *testing.F) {
	f.Add([]byte("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType></xml>"))
	f.Add([]byte("<xml><AppId><![CDATA[wx1]]></AppId><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@x]]></ComponentVerifyTicket></xml>"))
	f.Add([]byte("<xml>\n<Reason><![CDATA[审核延后]]></Reason>\n<DelayTime>1488856743</DelayTime>\n</xml>\n"))
	f.Add([]byte("<xml><A>a&amp;b</A><B/><C>x]]>y</C></xml>"))
	f.Add([]byte("<xml><A><![CDATA[a]]]]><![CDATA[>b]]></A></xml>"))
	f.Add([]byte("<xml><A>\xe2\x80\xa8 \xef\xbf\xbe</A></xml>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := scanFlat(body)
		if !ok {
			return
		}
		ref, err := decodeFlat(body)
		if err != nil {
			t.Fatalf("accepted what encoding/xml refuses (%v): %q", err, body)
		}
		if !equalFields(fast, ref) {
			t.Fatalf("fast %q, encoding/xml %q, for %q", fast, ref, body)
		}
	})
}
