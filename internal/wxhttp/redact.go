package wxhttp

import (
	"errors"
	"net/url"
	"strings"
)

// secretParams are the query and form names whose values are secrets. WeChat carries tokens in the
// query string, so every URL that reaches an error or a log passes through Redact.
var secretParams = []string{
	"access_token", "component_access_token", "authorizer_access_token", "authorizer_refresh_token",
	"refresh_token", "component_appsecret", "component_secret", "appsecret", "secret", "js_code",
	"ticket", "component_verify_ticket", "session_key",
}

// Redact replaces the values of secret query parameters in s (a URL or any text that contains one)
// with "REDACTED".
func Redact(s string) string {
	if !strings.Contains(s, "=") {
		return s
	}
	for _, p := range secretParams {
		s = redactParam(s, p)
	}
	return s
}

func redactParam(s, name string) string {
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, name+"=")
		if i < 0 {
			break
		}
		// Only a parameter boundary counts: start of text or one of ?&; or a space or quote.
		if i > 0 && !strings.ContainsRune("?&; \"'", rune(rest[i-1])) {
			b.WriteString(rest[:i+len(name)+1])
			rest = rest[i+len(name)+1:]
			continue
		}
		start := i + len(name) + 1
		end := start
		for end < len(rest) && !strings.ContainsRune("&#; \"'\n", rune(rest[end])) {
			end++
		}
		b.WriteString(rest[:start])
		if end > start {
			b.WriteString("REDACTED")
		}
		rest = rest[end:]
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(rest)
	return b.String()
}

// redactErr strips the *url.Error that net/http puts around every transport error: it repeats the
// method and the URL (with the token) that the caller's "wxopen: METHOD PATH:" prefix already names
// without the token. The cause (a *net.OpError, a timeout…) is kept.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}
