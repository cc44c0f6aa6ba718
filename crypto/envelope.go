package crypto

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
)

// Envelope is the outer XML of an encrypted push: <xml><ToUserName/> or <AppId/>, and
// <Encrypt/></xml>. Platform events carry AppId (the component appid); events for an authorised
// account carry ToUserName (its original id, gh_…). Neither is signed: only Encrypt is.
type Envelope struct {
	ToUserName string // <ToUserName>, optional
	AppID      string // <AppId>, optional
	Encrypt    string // <Encrypt>, required: the base64 ciphertext
}

// ParseEnvelope parses a push body: a root <xml> element holding exactly one non-empty <Encrypt>
// and at most one <ToUserName> and <AppId>; other child elements are ignored, and nothing but
// whitespace may follow the root. A message URL configured for JSON receives the same envelope as
// a JSON object ({"ToUserName": …, "Encrypt": …}), accepted too. Any failure is CodeParseXML. It never panics; callers should
// still cap the body size (a few KiB is plenty for WeChat pushes).
func ParseEnvelope(body []byte) (Envelope, error) {
	raw, err := parseEnvelope(body)
	if err != nil {
		return Envelope{}, err
	}
	return Envelope{ToUserName: string(raw.toUserName), AppID: string(raw.appID), Encrypt: string(raw.encrypt)}, nil
}

// rawEnvelope holds the envelope fields as byte slices, sub-slices of the body when the fast path
// parsed it.
type rawEnvelope struct {
	toUserName, appID, encrypt []byte
}

func parseEnvelope(body []byte) (rawEnvelope, error) {
	if env, ok := parseEnvelopeFast(body); ok {
		return env, nil
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return parseEnvelopeJSON(t)
	}
	return parseEnvelopeXML(body)
}

// parseEnvelopeJSON parses the JSON form of the envelope (message URLs set to JSON).
func parseEnvelopeJSON(body []byte) (rawEnvelope, error) {
	var v struct {
		ToUserName string `json:"ToUserName"`
		AppID      string `json:"AppId"`
		Encrypt    string `json:"Encrypt"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return rawEnvelope{}, newError(CodeParseXML, "envelope is neither <xml> XML nor a JSON object")
	}
	if v.Encrypt == "" {
		return rawEnvelope{}, newError(CodeParseXML, "envelope has no Encrypt")
	}
	return rawEnvelope{toUserName: []byte(v.ToUserName), appID: []byte(v.AppID), encrypt: []byte(v.Encrypt)}, nil
}

// parseEnvelopeXML is the general path: encoding/xml, then the same rules as the fast path.
func parseEnvelopeXML(body []byte) (rawEnvelope, error) {
	var v struct {
		XMLName    xml.Name `xml:"xml"`
		ToUserName []string `xml:"ToUserName"`
		AppID      []string `xml:"AppId"`
		Encrypt    []string `xml:"Encrypt"`
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&v); err != nil {
		return rawEnvelope{}, newError(CodeParseXML, "envelope is not <xml> XML: "+xmlErrorText(err))
	}
	if len(bytes.TrimLeft(body[d.InputOffset():], " \t\r\n")) != 0 {
		return rawEnvelope{}, newError(CodeParseXML, "envelope has data after </xml>")
	}
	if len(v.ToUserName) > 1 || len(v.AppID) > 1 || len(v.Encrypt) > 1 {
		return rawEnvelope{}, newError(CodeParseXML, "envelope repeats ToUserName, AppId or Encrypt")
	}
	if len(v.Encrypt) == 0 || v.Encrypt[0] == "" {
		return rawEnvelope{}, newError(CodeParseXML, "envelope has no Encrypt")
	}
	var env rawEnvelope
	env.encrypt = []byte(v.Encrypt[0])
	if len(v.ToUserName) == 1 {
		env.toUserName = []byte(v.ToUserName[0])
	}
	if len(v.AppID) == 1 {
		env.appID = []byte(v.AppID[0])
	}
	return env, nil
}

// xmlErrorText describes an encoding/xml error without echoing element content: a SyntaxError
// gives its message and line, anything else a fixed phrase.
func xmlErrorText(err error) string {
	if se, ok := err.(*xml.SyntaxError); ok {
		return se.Error()
	}
	if _, ok := err.(xml.UnmarshalError); ok {
		return "unexpected root element"
	}
	if err == io.EOF {
		return "no root element"
	}
	return "cannot decode"
}

// parseEnvelopeFast parses, without allocating, the strict subset of XML that WeChat sends
// (ScanFlatXML), where moreover ToUserName and AppId are printable ASCII and Encrypt's content is
// non-empty base64 alphabet, each at most once. Within that subset encoding/xml yields the same
// fields. Anything else returns ok=false and the caller falls back to encoding/xml, which is
// authoritative.
func parseEnvelopeFast(body []byte) (env rawEnvelope, ok bool) {
	valid := true
	ok = ScanFlatXML(body, func(name, content []byte) {
		var field *[]byte
		switch string(name) {
		case "Encrypt":
			field = &env.encrypt
			valid = valid && isBase64Text(content)
		case "ToUserName":
			field = &env.toUserName
		case "AppId":
			field = &env.appID
		default:
			return
		}
		if field != &env.encrypt {
			valid = valid && allOf(content, classCDATA)
		}
		if *field != nil {
			valid = false // repeated: let the general path report it
		}
		*field = content // never nil: it slices body
	})
	if !ok || !valid || env.encrypt == nil {
		return rawEnvelope{}, false
	}
	return env, true
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}

// scanName returns the length of the [A-Za-z_][A-Za-z0-9_.-]* name at the start of b.
func scanName(b []byte) int {
	for i, ch := range b {
		switch {
		case 'A' <= ch && ch <= 'Z', 'a' <= ch && ch <= 'z', ch == '_':
		case i > 0 && ('0' <= ch && ch <= '9' || ch == '.' || ch == '-'):
		default:
			return i
		}
	}
	return len(b)
}

// Character classes of the fast path, as lookup tables: a table lookup per byte is several times
// faster than a chain of range comparisons on a 500-byte Encrypt.
const (
	classBase64 = 1 << iota // standard base64 alphabet and '='
	classCDATA              // printable ASCII, tab and newline (no carriage return: encoding/xml would normalise it)
	classText               // classCDATA without '&' and ']'
)

var charClass = func() (t [256]uint8) {
	for ch := 0x20; ch <= 0x7e; ch++ {
		t[ch] = classCDATA | classText
	}
	for _, ch := range "\t\n" {
		t[ch] = classCDATA | classText
	}
	t['&'] &^= classText
	t[']'] &^= classText
	for _, ch := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=" {
		t[ch] |= classBase64
	}
	return t
}()

// isBase64Text reports whether b is non-empty and only standard base64 alphabet and '='.
func isBase64Text(b []byte) bool {
	return len(b) > 0 && allOf(b, classBase64)
}

func allOf(b []byte, class uint8) bool {
	acc := class
	for _, ch := range b {
		acc &= charClass[ch]
	}
	return acc == class
}
