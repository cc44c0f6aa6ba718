package wxtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wxopen-go/wxopen/crypto"
)

// PushVerifyTicket issues a new component_verify_ticket ("ticket@@@" + random), which from now on is
// the only one api_component_token accepts, and pushes it to AuthEventURL as WeChat does every 10
// minutes. The ticket is returned even when the push fails.
func (s *Server) PushVerifyTicket(ctx context.Context) (ticket string, err error) {
	now := s.Now()
	s.mu.Lock()
	ticket = s.newTicket(now)
	msg := platformEvent(s.component.AppID, now, "component_verify_ticket",
		xmlField{"ComponentVerifyTicket", ticket, false})
	s.mu.Unlock()
	return ticket, s.pushPlatformEvent(ctx, msg)
}

// newTicket replaces the verify ticket. Call with s.mu held.
func (s *Server) newTicket(now time.Time) string {
	s.ticket = "ticket@@@" + randAlnum(86)
	s.ticketIssuedAt = now
	return s.ticket
}

// AuthorizeRequest is a merchant's consent on the authorisation page.
type AuthorizeRequest struct {
	// AuthorizerAppID is the consenting account. An appid the emulator does not know is added as a
	// mini program with defaults.
	AuthorizerAppID string
	// PreAuthCode, when set, must be a valid, unexpired and unused pre_auth_code from
	// api_create_preauthcode; Authorize consumes it and echoes it in the push.
	PreAuthCode string
	// FuncInfo lists the permission sets granted; empty grants a default set.
	FuncInfo []int
}

// Authorize plays the merchant's consent: the account authorises the platform (a new refresh token
// when it was not authorised), a single-use authorization code valid 600 s on the emulator clock is
// issued, and the event is pushed to AuthEventURL with AuthorizerAppid, AuthorizationCode,
// AuthorizationCodeExpiredTime (absolute unix time) and PreAuthCode. The event is "authorized", or
// "updateauthorized" when the account had already authorised the platform, as WeChat does. The code
// is returned even when the push fails.
func (s *Server) Authorize(ctx context.Context, r AuthorizeRequest) (authCode string, err error) {
	if r.AuthorizerAppID == "" {
		return "", errors.New("wxtest: Authorize: AuthorizerAppID is empty")
	}
	now := s.Now()
	s.mu.Lock()
	if r.PreAuthCode != "" {
		p := s.preAuthCodes[r.PreAuthCode]
		switch {
		case p == nil:
			s.mu.Unlock()
			return "", errors.New("wxtest: Authorize: unknown pre_auth_code")
		case p.used:
			s.mu.Unlock()
			return "", errors.New("wxtest: Authorize: pre_auth_code already used")
		case !now.Before(p.expires):
			s.mu.Unlock()
			return "", errors.New("wxtest: Authorize: pre_auth_code expired")
		}
		p.used = true
	}
	a := s.authorizers[r.AuthorizerAppID]
	if a == nil {
		a = s.addAuthorizer(Authorizer{AppID: r.AuthorizerAppID, MiniProgram: true})
	}
	infoType := "updateauthorized"
	if !a.authorized {
		infoType = "authorized"
		a.authorized = true
		a.everAuthorized = true
		a.refreshToken = newRefreshToken()
		a.authTime = now
	}
	a.funcInfo = append([]int(nil), r.FuncInfo...)
	if len(a.funcInfo) == 0 {
		a.funcInfo = defaultFuncInfo(a.info.MiniProgram)
	}
	code, msg := s.newAuthCode(a, now, infoType, r.PreAuthCode)
	s.mu.Unlock()
	return code, s.pushPlatformEvent(ctx, msg)
}

// newAuthCode issues an authorization code for a and returns it with the event announcing it. Call
// with s.mu held.
func (s *Server) newAuthCode(a *authorizer, now time.Time, infoType, preAuthCode string) (string, []byte) {
	code := "queryauthcode@@@" + randAlnum(86)
	expires := now.Add(authCodeTTL)
	s.authCodes[code] = &authCode{appID: a.info.AppID, expires: expires, funcInfo: append([]int(nil), a.funcInfo...)}
	msg := platformEvent(s.component.AppID, now, infoType,
		xmlField{"AuthorizerAppid", a.info.AppID, false},
		xmlField{"AuthorizationCode", code, false},
		xmlField{"AuthorizationCodeExpiredTime", strconv.FormatInt(expires.Unix(), 10), true},
		xmlField{"PreAuthCode", preAuthCode, false})
	return code, msg
}

// UpdateAuthorization plays the merchant changing the granted permission sets (funcInfo; none keeps
// them): a new authorization code is issued and "updateauthorized" is pushed. The account must have
// authorised the platform.
func (s *Server) UpdateAuthorization(ctx context.Context, appID string, funcInfo ...int) (authCode string, err error) {
	now := s.Now()
	s.mu.Lock()
	a := s.authorizers[appID]
	if a == nil || !a.authorized {
		s.mu.Unlock()
		return "", fmt.Errorf("wxtest: UpdateAuthorization: %s has not authorised the platform", appID)
	}
	if len(funcInfo) > 0 {
		a.funcInfo = append([]int(nil), funcInfo...)
	}
	code, msg := s.newAuthCode(a, now, "updateauthorized", "")
	s.mu.Unlock()
	return code, s.pushPlatformEvent(ctx, msg)
}

// Unauthorize plays the merchant revoking the authorisation: the refresh token stops working (61023),
// the account's access tokens stop working (40001), its pending authorization codes are void, and
// "unauthorized" is pushed.
func (s *Server) Unauthorize(ctx context.Context, appID string) error {
	now := s.Now()
	s.mu.Lock()
	a := s.authorizers[appID]
	if a == nil || !a.authorized {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: Unauthorize: %s has not authorised the platform", appID)
	}
	a.authorized = false
	a.refreshToken = ""
	s.revokeTokens(authorizerToken, appID)
	for c, ac := range s.authCodes {
		if ac.appID == appID {
			delete(s.authCodes, c)
		}
	}
	msg := platformEvent(s.component.AppID, now, "unauthorized", xmlField{"AuthorizerAppid", appID, false})
	s.mu.Unlock()
	return s.pushPlatformEvent(ctx, msg)
}

// PushAuthorizerEvent encrypts plainXML (an account event such as weapp_audit_success) and POSTs it
// to MessageEventURL, "$APPID$" replaced by appID, in the envelope
// <xml><ToUserName>gh_...</ToUserName><Encrypt>...</Encrypt></xml>. The account must be known.
func (s *Server) PushAuthorizerEvent(ctx context.Context, appID string, plainXML []byte) error {
	s.mu.Lock()
	a := s.authorizers[appID]
	if a == nil {
		s.mu.Unlock()
		return s.pushFailed(ctx, fmt.Errorf("wxtest: push to %s: unknown authorizer", appID))
	}
	userName := a.info.UserName
	target := ""
	if s.component.MessageEventURL != "" {
		target = s.messageURL(appID)
	}
	s.mu.Unlock()
	return s.push(ctx, "MessageEventURL", target, plainXML, func(enc string) []byte {
		return envelope("ToUserName", userName, enc)
	})
}

// pushPlatformEvent POSTs a platform event to AuthEventURL in the envelope
// <xml><AppId>...</AppId><Encrypt>...</Encrypt></xml>.
func (s *Server) pushPlatformEvent(ctx context.Context, plainXML []byte) error {
	s.mu.Lock()
	target, appID := s.component.AuthEventURL, s.component.AppID
	s.mu.Unlock()
	return s.push(ctx, "AuthEventURL", target, plainXML, func(enc string) []byte {
		return envelope("AppId", appID, enc)
	})
}

// maxPushAnswer bounds how much of a push answer is read.
const maxPushAnswer = 64 << 10

// push encrypts and signs plainXML like WeChat and POSTs it to target; the handler must answer
// HTTP 200 with the body "success".
func (s *Server) push(ctx context.Context, what, target string, plainXML []byte, wrap func(enc string) []byte) error {
	if target == "" {
		return s.pushFailed(ctx, fmt.Errorf("wxtest: push: no %s configured (WithComponent or SetEventURLs)", what))
	}
	u, err := url.Parse(target)
	if err != nil {
		return s.pushFailed(ctx, fmt.Errorf("wxtest: push: bad %s: %w", what, err))
	}
	if s.crypt == nil {
		return s.pushFailed(ctx, errors.New("wxtest: push: the component's Token or EncodingAESKey is invalid"))
	}
	enc, err := s.crypt.Encrypt(plainXML)
	if err != nil {
		return s.pushFailed(ctx, fmt.Errorf("wxtest: push: encrypt: %w", err))
	}
	s.mu.Lock()
	token := s.component.Token
	s.mu.Unlock()
	ts := strconv.FormatInt(s.Now().Unix(), 10)
	nonce := randDigits(10)
	q := u.Query()
	q.Set("signature", crypto.SortedSHA1(token, ts, nonce))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", s.crypt.Signature(ts, nonce, enc))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(wrap(enc)))
	if err != nil {
		return s.pushFailed(ctx, fmt.Errorf("wxtest: push to %s: %w", what, err))
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	resp, err := s.client.Do(req)
	if err != nil {
		return s.handlerFailed(ctx, &PushError{Target: what, Err: err})
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPushAnswer))
	if err != nil {
		return s.handlerFailed(ctx, &PushError{Target: what, StatusCode: resp.StatusCode, Err: err})
	}
	if resp.StatusCode != http.StatusOK || string(body) != "success" {
		return s.handlerFailed(ctx, &PushError{Target: what, StatusCode: resp.StatusCode, Body: string(body)})
	}
	return nil
}

// PushError is a push the handler did not accept: it answered something other than HTTP 200
// "success", or the request failed on the way (Err). WeChat then retries the push later (three
// times for a message event, at the next interval for a verify ticket); a test plays a retry by
// pushing again.
type PushError struct {
	// Target is "AuthEventURL" or "MessageEventURL".
	Target string
	// StatusCode is the handler's HTTP status; 0 when no answer came.
	StatusCode int
	// Body is the handler's answer (at most 64 KiB).
	Body string
	// Err is the transport error when no whole answer came.
	Err error
}

// Error renders the failure.
func (e *PushError) Error() string {
	if e.Err != nil {
		return "wxtest: push to " + e.Target + ": " + e.Err.Error()
	}
	return fmt.Sprintf("wxtest: push to %s: the handler answered HTTP %d %q, want HTTP 200 \"success\"",
		e.Target, e.StatusCode, truncate(e.Body, 200))
}

// Unwrap returns Err.
func (e *PushError) Unwrap() error { return e.Err }

type allowFailureKey struct{}

// AllowPushFailure returns a context for a push whose refusal by the handler is part of the test
// (say, a handler answering 500 so that WeChat retries): a *PushError from a push made with it is
// returned, but not reported on the test by NewTestServer. Failures of the emulator's own setup (no
// URL configured, an unknown account) are still reported.
func AllowPushFailure(ctx context.Context) context.Context {
	return context.WithValue(ctx, allowFailureKey{}, true)
}

// handlerFailed is pushFailed for a refusal by the handler, which AllowPushFailure lets through.
func (s *Server) handlerFailed(ctx context.Context, err *PushError) error {
	if allowed, _ := ctx.Value(allowFailureKey{}).(bool); allowed {
		return err
	}
	return s.pushFailed(ctx, err)
}

// pushFailed reports err on the test (NewTestServer) and returns it.
func (s *Server) pushFailed(_ context.Context, err error) error {
	if s.tb != nil {
		s.tb.Errorf("%v", err)
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// xmlField is one element of a pushed XML message; number fields are written without CDATA.
type xmlField struct {
	name, value string
	number      bool
}

// platformEvent renders a platform event (InfoType) for the component appID.
func platformEvent(appID string, now time.Time, infoType string, fields ...xmlField) []byte {
	all := append([]xmlField{
		{"AppId", appID, false},
		{"CreateTime", strconv.FormatInt(now.Unix(), 10), true},
		{"InfoType", infoType, false},
	}, fields...)
	return xmlMessage(all...)
}

// xmlMessage renders <xml> with fields in order, text in CDATA.
func xmlMessage(fields ...xmlField) []byte {
	var b bytes.Buffer
	b.WriteString("<xml>")
	for _, f := range fields {
		b.WriteString("<" + f.name + ">")
		if f.number {
			b.WriteString(f.value)
		} else {
			writeCDATA(&b, f.value)
		}
		b.WriteString("</" + f.name + ">")
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

// writeCDATA writes v as CDATA sections, splitting any "]]>".
func writeCDATA(b *bytes.Buffer, v string) {
	b.WriteString("<![CDATA[")
	b.WriteString(strings.ReplaceAll(v, "]]>", "]]]]><![CDATA[>"))
	b.WriteString("]]>")
}

func envelope(idName, id, enc string) []byte {
	return xmlMessage(xmlField{idName, id, false}, xmlField{"Encrypt", enc, false})
}
