package wxtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Lifetimes, as WeChat documents them (API digest, section 0).
const (
	accessTokenTTL  = 7200 * time.Second // component and authorizer access tokens
	tokenGrace      = 5 * time.Minute    // a superseded access token keeps working this long
	ticketTTL       = 12 * time.Hour     // component_verify_ticket
	preAuthCodeTTL  = 1800 * time.Second
	authCodeTTL     = 600 * time.Second
	loginCodeTTL    = 5 * time.Minute
	accessTokenRand = 64 // random bytes in an access token
)

// tokenKind tells the access tokens apart.
type tokenKind int

const (
	componentToken tokenKind = iota + 1
	authorizerToken
)

// accessToken is an issued component or authorizer access token.
type accessToken struct {
	kind    tokenKind
	appID   string    // component appid, or authorizer appid
	expires time.Time // natural end of life: 42001 from then on
	// cutoff, when not zero, is when a newer token superseded this one and the grace period ends:
	// 40001 from then on.
	cutoff time.Time
}

// preAuthCode is a pre_auth_code from api_create_preauthcode.
type preAuthCode struct {
	expires time.Time
	used    bool
}

// authCode is an authorization code: issued on consent, exchanged once by api_query_auth.
type authCode struct {
	appID    string // authorizer appid
	expires  time.Time
	funcInfo []int
}

// authorizer is an account the emulator knows: its data and its authorisation of the platform.
type authorizer struct {
	info Authorizer
	// authorized is true between consent (Authorize) and revocation (Unauthorize).
	authorized bool
	// everAuthorized tells a revoked authorisation (61023) from an unknown account (61003).
	everAuthorized bool
	refreshToken   string
	funcInfo       []int
	authTime       time.Time
	options        map[string]string // authorizer options: location_report, voice_recognize, customer_service
}

// userKey identifies a user of a mini program.
type userKey struct{ appID, openID string }

// loginCode is a js_code from IssueLoginCode.
type loginCode struct {
	user    userKey
	expires time.Time
	used    bool
}

// checkToken enforces the token rule of auth on c. Call with s.mu held.
func (s *Server) checkToken(auth authKind, c *call) error {
	var tok string
	switch auth {
	case authNone:
		return nil
	case authComponent:
		q := c.r.URL.Query()
		tok = q.Get("component_access_token")
		if tok == "" {
			tok = q.Get("access_token")
		}
		if tok == "" {
			return apiErr(wxerr.CodeComponentTokenMiss, "")
		}
	case authComponentAsAccessToken, authAuthorizer:
		tok = c.query("access_token")
		if tok == "" {
			return apiErr(wxerr.CodeAccessTokenMissing, "")
		}
	}
	if !isAccessTokenFormat(tok) {
		return apiErr(wxerr.CodeInvalidAccessToken, "")
	}
	want := componentToken
	if auth == authAuthorizer {
		want = authorizerToken
	}
	t := s.tokens[tok]
	if t == nil || t.kind != want {
		return apiErr(wxerr.CodeInvalidCredential, "")
	}
	if !c.now.Before(t.expires) {
		return apiErr(wxerr.CodeAccessTokenExpired, "")
	}
	if !t.cutoff.IsZero() && !c.now.Before(t.cutoff) {
		return apiErr(wxerr.CodeInvalidCredential, "")
	}
	if t.kind == authorizerToken {
		if a := s.authorizers[t.appID]; a == nil || !a.authorized {
			return apiErr(wxerr.CodeInvalidCredential, "")
		}
		c.authorizerAppID = t.appID
	}
	c.token = tok
	return nil
}

// tokenValid reports whether tok is a live token of kind for appID. Call with s.mu held.
func (s *Server) tokenValid(kind tokenKind, appID, tok string, now time.Time) bool {
	t := s.tokens[tok]
	if t == nil || t.kind != kind || t.appID != appID || !now.Before(t.expires) {
		return false
	}
	if !t.cutoff.IsZero() && !now.Before(t.cutoff) {
		return false
	}
	if kind == authorizerToken {
		a := s.authorizers[appID]
		return a != nil && a.authorized
	}
	return true
}

// tokenOwner is the kind and appid a token was issued for.
type tokenOwner struct {
	kind  tokenKind
	appID string
}

// issueToken creates a new access token of kind for appID, valid accessTokenTTL; every live token of
// the same kind and appid keeps working at most tokenGrace longer. Call with s.mu held.
func (s *Server) issueToken(kind tokenKind, appID string, now time.Time) string {
	cutoff := now.Add(tokenGrace)
	owner := tokenOwner{kind, appID}
	live := s.tokensOf[owner][:0]
	for _, v := range s.tokensOf[owner] {
		t := s.tokens[v]
		if t == nil {
			continue // revoked
		}
		if !t.cutoff.IsZero() && !now.Before(t.cutoff) {
			// Past its grace period it answers 40001 like an unknown token: forget it, so that
			// the emulator keeps at most a few tokens per appid however often they are refreshed.
			delete(s.tokens, v)
			continue
		}
		if t.cutoff.IsZero() || t.cutoff.After(cutoff) {
			t.cutoff = cutoff
		}
		live = append(live, v)
	}
	tok := randToken()
	s.tokens[tok] = &accessToken{kind: kind, appID: appID, expires: now.Add(accessTokenTTL)}
	s.tokensOf[owner] = append(live, tok)
	return tok
}

// issueAuthorizerToken creates a new access token for the authorised account appID (the previous
// one keeps working for 5 minutes). Call with s.mu held.
func (s *Server) issueAuthorizerToken(appID string, now time.Time) string {
	return s.issueToken(authorizerToken, appID, now)
}

// revokeTokens deletes every access token of kind for appID. Call with s.mu held.
func (s *Server) revokeTokens(kind tokenKind, appID string) {
	owner := tokenOwner{kind, appID}
	for _, v := range s.tokensOf[owner] {
		delete(s.tokens, v)
	}
	delete(s.tokensOf, owner)
}

// authorizerFor returns the account appID if it has authorised the platform, else 61003 (or 61023
// when it revoked an earlier authorisation and revoked is true). Call with s.mu held.
func (s *Server) authorizerFor(appID string) (*authorizer, error) {
	a := s.authorizers[appID]
	if a == nil || !a.authorized {
		return nil, apiErr(wxerr.CodeComponentUnauthorized, "")
	}
	return a, nil
}

// ComponentAccessTokenValid reports whether tok is a component access token the emulator accepts
// now (issued, not expired, not past its grace period after a newer one).
func (s *Server) ComponentAccessTokenValid(tok string) bool {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenValid(componentToken, s.component.AppID, tok, now)
}

// AuthorizerAccessTokenValid reports whether tok is an access token of the authorizer appID that the
// emulator accepts now.
func (s *Server) AuthorizerAccessTokenValid(appID, tok string) bool {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenValid(authorizerToken, appID, tok, now)
}

// isAccessTokenFormat reports whether tok looks like an access token the emulator issues:
// two digits, "_", then base64url characters.
func isAccessTokenFormat(tok string) bool {
	n := base64.RawURLEncoding.EncodedLen(accessTokenRand)
	if len(tok) != 3+n || tok[0] < '0' || tok[0] > '9' || tok[1] < '0' || tok[1] > '9' || tok[2] != '_' {
		return false
	}
	for i := 3; i < len(tok); i++ {
		ch := tok[i]
		if !('A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

// randToken returns a new access token: "88_" and 86 base64url characters, like WeChat's.
func randToken() string {
	return "88_" + base64.RawURLEncoding.EncodeToString(randBytes(accessTokenRand))
}

// randBytes returns n random bytes.
func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+) or fails only on broken systems.
	return b
}

// randHex returns 2n random hex digits.
func randHex(n int) string { return hex.EncodeToString(randBytes(n)) }

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randAlnum returns n random characters from [A-Za-z0-9].
func randAlnum(n int) string {
	b := randBytes(n)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// randDigits returns n random decimal digits.
func randDigits(n int) string {
	b := randBytes(n)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

// rid returns a request id like the one WeChat appends to errmsg.
func rid() string {
	return randHex(4) + "-" + randHex(4) + "-" + randHex(4)
}
