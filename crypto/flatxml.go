package crypto

import (
	"bytes"
	"unicode/utf8"
)

// ScanFlatXML reads body as the flat XML WeChat sends in its pushes, outer envelope and decrypted
// message alike, without allocating:
//
//	ws "<xml>" { ws "<" Name ">" ( "<![CDATA[" data "]]>" | text ) "</" Name ">" } ws "</xml>" ws
//
// where Name is [A-Za-z_][A-Za-z0-9_.-]*, data is any XML characters but carriage return, and
// text is the same without '&' and ']'. It calls field for each child element of the root, in
// order, with its name and content (sub-slices of body). Within that subset the content is exactly
// the string encoding/xml decodes for the element (the differential fuzz target checks it). Anything
// else — a declaration, comment, attribute, entity, namespace, empty-element tag, nested element,
// mixed text and CDATA, a carriage return, invalid UTF-8 — makes it return false, possibly after
// some calls to field: the caller then decodes body with encoding/xml, which is authoritative.
func ScanFlatXML(body []byte, field func(name, content []byte)) bool {
	s := skipSpace(body)
	s, ok := bytes.CutPrefix(s, []byte("<xml>"))
	if !ok {
		return false
	}
	for {
		s = skipSpace(s)
		if rest, ok := bytes.CutPrefix(s, []byte("</xml>")); ok {
			return len(skipSpace(rest)) == 0
		}
		// <Name>
		if len(s) < 2 || s[0] != '<' {
			return false
		}
		nameLen := scanName(s[1:])
		if nameLen == 0 || 1+nameLen >= len(s) || s[1+nameLen] != '>' {
			return false
		}
		name := s[1 : 1+nameLen]
		s = s[2+nameLen:]
		// content
		var content []byte
		if rest, ok := bytes.CutPrefix(s, []byte("<![CDATA[")); ok {
			end := bytes.Index(rest, []byte("]]>"))
			if end < 0 {
				return false
			}
			content, s = rest[:end], rest[end+3:]
			if !xmlChars(content, classCDATA) {
				return false
			}
		} else {
			end := bytes.IndexByte(s, '<')
			if end < 0 {
				return false
			}
			content, s = s[:end], s[end:]
			if !xmlChars(content, classText) {
				return false
			}
		}
		// </Name>
		if len(s) < 3+nameLen || s[0] != '<' || s[1] != '/' ||
			!bytes.Equal(s[2:2+nameLen], name) || s[2+nameLen] != '>' {
			return false
		}
		s = s[3+nameLen:]
		field(name, content)
	}
}

// xmlChars reports whether b holds only ASCII of class (classCDATA or classText) and valid UTF-8
// of the XML character range above ASCII.
func xmlChars(b []byte, class uint8) bool {
	if allOf(b, class) {
		return true // the common case: ASCII only
	}
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			if charClass[b[i]]&class == 0 {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 ||
			!(r <= 0xD7FF || 0xE000 <= r && r <= 0xFFFD || 0x10000 <= r && r <= 0x10FFFF) {
			return false
		}
		i += size
	}
	return true
}
