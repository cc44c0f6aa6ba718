package wxhttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/wxopen-go/wxopen/wxerr"
)

// checkErrcode is the one decode path for WeChat's errors: an absent or zero errcode is success.
// The top-level errcode is read by a small scanner that allocates nothing on success; only a failure
// (or an answer the scanner cannot vouch for) goes through encoding/json.
func checkErrcode(op string, body []byte) (wxerr.Code, error) {
	code, found, ok := scanErrcode(body)
	if ok && (!found || code == 0) {
		return 0, nil
	}
	var eb struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(body, &eb); err != nil {
		return 0, fmt.Errorf("wxopen: %s: answer is not JSON: %w", op, err)
	}
	if eb.ErrCode == nil || *eb.ErrCode == 0 {
		return 0, nil
	}
	c := wxerr.Code(*eb.ErrCode)
	msg, rid := splitRequestID(eb.ErrMsg)
	return c, &wxerr.APIError{Code: c, Msg: Redact(msg), Op: op, RequestID: rid}
}

// splitRequestID separates WeChat's request id from an errmsg. WeChat ends the errmsg of a refused
// call with " rid: ID" (today's form, ID hex groups joined by '-', e.g. "rid: 6571a4cd-2e5a7b1f-6c3f2d1a")
// or, in older answers, " hint: [ID]"; WeChat support asks for that id. An errmsg without one is
// returned unchanged with an empty id.
func splitRequestID(msg string) (text, id string) {
	if i := strings.LastIndex(msg, "rid: "); i >= 0 && (i == 0 || msg[i-1] == ' ') && isRequestID(msg[i+len("rid: "):]) {
		return strings.TrimRight(msg[:i], " "), msg[i+len("rid: "):]
	}
	if i := strings.LastIndex(msg, "hint: ["); i >= 0 && (i == 0 || msg[i-1] == ' ') && strings.HasSuffix(msg, "]") {
		if h := msg[i+len("hint: [") : len(msg)-1]; isRequestID(h) {
			return strings.TrimRight(msg[:i], " "), h
		}
	}
	return msg, ""
}

// isRequestID reports whether s looks like a request id: 1 to 64 letters, digits and dashes.
func isRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// scanErrcode finds the value of the top-level "errcode" key of a JSON object. ok is false when body
// is not a well-formed object as far as the scanner looks (it is then decoded by encoding/json, which
// reports the error); nested "errcode" keys (per-item codes of batch answers) are not the call's.
func scanErrcode(body []byte) (code int, found, ok bool) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return 0, false, false
	}
	depth := 0
	expectKey := false
	for ; i < len(body); i++ {
		switch c := body[i]; c {
		case '{':
			depth++
			expectKey = depth == 1
		case '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				if !json.Valid(body) { // keep "not JSON" answers an error, as encoding/json would
					return 0, false, false
				}
				return code, found, true
			}
		case ',':
			expectKey = depth == 1
		case '"':
			end := endOfString(body, i+1)
			if end < 0 {
				return 0, false, false
			}
			if expectKey && depth == 1 {
				key := body[i+1 : end]
				expectKey = false
				if bytes.IndexByte(key, '\\') >= 0 {
					return 0, false, false // an escaped key may spell errcode: let encoding/json decide
				}
				if bytes.Equal(key, []byte("errcode")) {
					j := skipSpace(body, end+1)
					if j >= len(body) || body[j] != ':' {
						return 0, false, false
					}
					n, k, numOK := parseInt(body, skipSpace(body, j+1))
					if !numOK {
						return 0, false, false
					}
					code, found = n, true
					i = k - 1
					continue
				}
			}
			i = end
		}
	}
	return 0, false, false
}

// parseInt reads a JSON integer at i (at most 9 digits: every errcode fits) and returns it with the
// index after it. A fraction, an exponent or anything else is not an integer errcode.
func parseInt(b []byte, i int) (n, end int, ok bool) {
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int(b[i]-'0')
		i++
	}
	if i == start || i-start > 9 || (i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E')) {
		return 0, i, false
	}
	if neg {
		n = -n
	}
	return n, i, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// endOfString returns the index of the quote closing the string that starts at i, or -1.
func endOfString(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}
