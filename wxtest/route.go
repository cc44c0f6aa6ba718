package wxtest

// Routing, and how to add endpoints to the emulator.
//
// EXTENSION RECIPE (wxtest/miniprogram_code.go, wxtest/card.go, ...): add your file, then ONE line in
// registerRoutes below calling your register method. Nothing else in this package needs editing.
//
//	// miniprogram.go
//	func (s *Server) registerMiniProgram() {
//		s.route(http.MethodPost, "/wxa/commit", authAuthorizer, s.commit)
//	}
//
//	// mpState is this file's state. It lives on the Server and, like all state, is guarded by s.mu.
//	type mpState struct{ versions map[string]*mpVersion } // by authorizer appid
//
//	func (s *Server) mp() *mpState { // call with s.mu held
//		return groupState(s, func() *mpState { return &mpState{versions: map[string]*mpVersion{}} })
//	}
//
//	func (s *Server) commit(c *call) (any, error) {
//		var req struct {
//			TemplateID *int   `json:"template_id"` // pointer: tells "absent" from 0
//			ExtJSON    string `json:"ext_json"`
//		}
//		if err := c.bind(&req); err != nil {
//			return nil, err // 44002 empty body, 47001 bad JSON or wrong type
//		}
//		if req.TemplateID == nil {
//			return nil, missing("template_id") // 47001 "data format error hint: [template_id] missing"
//		}
//		if s.templates[*req.TemplateID] == nil {
//			return nil, apiErr(wxerr.CodeInvalidTemplateID, "") // "" = WeChat's usual errmsg
//		}
//		a := c.authorizer() // the token's account: same record as s.authorizers[c.authorizerAppID]
//		if !a.info.MiniProgram {
//			return nil, apiErr(wxerr.CodeNotMiniProgram, "")
//		}
//		s.mp().versions[a.info.AppID] = &mpVersion{...}
//		return answerOK(), nil // {"errcode":0,"errmsg":"ok"}
//	}
//
// For every call, serveHTTP: counts it under its path (Calls); applies the next injected Fault;
// answers 404 for an unknown path and 43001/43002 for the wrong method; checks the token that the
// route's authKind requires (41001/41021 missing, 40014 malformed, 40001 unknown or of the wrong
// kind, 42001 expired); applies SetDailyQuota (45009); then runs the handler WITH s.mu HELD, so a
// handler reads and writes any state directly (s.authorizers, s.tokens, s.templates, s.drafts,
// s.sessions, s.unionIDs, groupState(...)) and must never block, do I/O or call a public method.
//   - c.now is the emulator time of the call; c.query(name) reads the query string; c.bind(&v)
//     decodes the JSON body; c.authorizerAppID and c.authorizer() name the token's account
//     (authAuthorizer routes); c.after(f) runs f once s.mu is released, before the answer is
//     written: push from there (s.PushAuthorizerEvent(ctx, appID, xml), s.pushPlatformEvent).
//   - Return a value to encode as JSON (a struct, a map, answerOK()); rawAnswer{ContentType, Body}
//     to send bytes (wxa/get_qrcode); or apiErr(code, msg), answered as
//     {"errcode":code,"errmsg":msg + " rid: ..."} ("" msg takes errMsgs[code]).
//   - Account data: a.info (Authorizer: MiniProgram, Categories, Network, NickName...), a.funcInfo
//     (granted permission sets), a.authorized. Helpers: s.authorizerFor(appID) (the account, or 61003
//     unless it authorised the platform), s.issueAuthorizerToken(appID, now), xmlMessage(xmlField...)
//     to render pushed XML, randHex, randAlnum, randDigits.
//   - Public methods of your file (the test-facing API, e.g. ApproveAudit) lock s.mu themselves and
//     push only after unlocking (see Authorize in push.go); use s.Now() before locking.
//   - White-box tests can add routes with NewTestServer(t, func(o *options) { o.register = ... }).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/wxopen-go/wxopen/wxerr"
)

// registerRoutes registers every endpoint group. Add one line per endpoint file.
func (s *Server) registerRoutes() {
	s.registerComponent()            // component.go: section 1 of the API digest
	s.registerTemplates()            // templates.go: code templates, section 6.8
	s.registerMPAccounts()           // miniprogram_accounts.go: open accounts, fast registration (4, 5.1)
	s.registerMPBasicInfo()          // miniprogram_basicinfo.go: name, avatar, introduction, media (5.2-5.3)
	s.registerMPCode()               // miniprogram_code.go: commit, audit, release (6.1-6.6)
	s.registerMPDomain()             // miniprogram_domain.go: server and web-view domains (6.7)
	s.registerMPPrivacy()            // miniprogram_privacy.go: privacy guide, scan and interfaces (part 2, 10)
	s.registerMPCategory()           // miniprogram_category.go: service categories (part 2, 11)
	s.registerMPAudit()              // miniprogram_audit.go: audit quota, grey release, visit status, testers (part 2, 12)
	s.registerMPDomainDirect()       // miniprogram_domain_direct.go: platform domains, direct domains (part 2, 16)
	s.registerCard()                 // card.go: member cards, section 7
	s.registerMPUsers()              // miniprogram_users.go: phone number, checksession, paid unionid (18)
	s.registerMPWxaCode()            // miniprogram_wxacode.go: mini-program codes as PNG QR codes (17.1)
	s.registerSubscribe()            // subscribe.go: subscribe-message templates and sends (20)
	s.registerMPQRCodeJump()         // miniprogram_qrcodejump.go: QR jump rules (17.2)
	s.registerMPICP()                // miniprogram_icp.go: ICP filing and its state machine (part 2, 13)
	s.registerMPFastRegisterRoutes() // miniprogram_fastregister_routes.go: personal, trial, reuse an OA's subject (part 2, 15)
	s.registerMPVerify()             // miniprogram_verify.go: WeChat verification, alone or with the ICP filing (part 2, 14)
	s.registerMPNickname()           // miniprogram_nickname.go: name checks and name review state (part 2, 15.4)
}

// authKind says which token a route requires in its query string.
type authKind int

const (
	// authNone: no token (api_component_token, api_start_push_ticket).
	authNone authKind = iota
	// authComponent: the component access token as component_access_token (or access_token);
	// missing → 41021.
	authComponent
	// authComponentAsAccessToken: the component access token as access_token (code templates);
	// missing → 41001.
	authComponentAsAccessToken
	// authAuthorizer: an authorizer access token as access_token; missing → 41001. Sets
	// c.authorizerAppID.
	authAuthorizer
)

// route is one registered endpoint.
type route struct {
	method string
	path   string
	auth   authKind
	h      func(c *call) (any, error)
}

// route registers h for method and path. Call it only from a register method (registerRoutes).
func (s *Server) route(method, path string, auth authKind, h func(c *call) (any, error)) {
	m := s.routes[path]
	if m == nil {
		m = make(map[string]*route)
		s.routes[path] = m
	}
	m[method] = &route{method: method, path: path, auth: auth, h: h}
}

// call is one request to the emulator, as a handler sees it.
type call struct {
	s   *Server
	r   *http.Request
	now time.Time // emulator time of the call

	body []byte

	// token is the access token the call carried (authComponent*, authAuthorizer).
	token string
	// authorizerAppID is the account the access token belongs to (authAuthorizer only).
	authorizerAppID string

	afters []func()
}

// query returns the query parameter name ("" when absent).
func (c *call) query(name string) string { return c.r.URL.Query().Get(name) }

// bind decodes the JSON body into v: an empty body is 44002, malformed JSON or a value of the wrong
// type is 47001.
func (c *call) bind(v any) error {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return apiErr(44002, "")
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return apiErr(wxerr.CodeInvalidJSON, "")
	}
	return nil
}

// authorizer returns the account of the call's authorizer access token (authAuthorizer routes),
// or nil. Call with s.mu held (handlers are).
func (c *call) authorizer() *authorizer { return c.s.authorizers[c.authorizerAppID] }

// after schedules f to run once s.mu is released, before the answer is written.
func (c *call) after(f func()) { c.afters = append(c.afters, f) }

// apiError is a refusal: {"errcode":Code,"errmsg":Msg}.
type apiError struct {
	Code wxerr.Code
	Msg  string
}

func (e *apiError) Error() string { return "errcode " + strconv.Itoa(int(e.Code)) + ": " + e.Msg }

// apiErr returns the error a handler returns to refuse a call. An empty msg takes WeChat's usual
// text for code.
func apiErr(code wxerr.Code, msg string) error {
	if msg == "" {
		msg = errMsgs[code]
		if msg == "" {
			msg = "error"
		}
	}
	return &apiError{Code: code, Msg: msg}
}

// errMsgs holds WeChat's usual errmsg texts.
var errMsgs = map[wxerr.Code]string{
	-1:                                   "system error",
	wxerr.CodeInvalidCredential:          "invalid credential, access_token is invalid or not latest",
	wxerr.CodeInvalidAppID:               "invalid appid",
	wxerr.CodeInvalidAccessToken:         "invalid access_token",
	wxerr.CodeInvalidCode:                "invalid code",
	wxerr.CodeCodeUsed:                   "code been used",
	40002:                                "invalid grant_type",
	wxerr.CodeInvalidParams:              "invalid args",
	wxerr.CodeInvalidAppSecret:           "invalid appsecret",
	wxerr.CodeListCountTooLarge:          "count exceed limit",
	wxerr.CodeAccessTokenMissing:         "access_token missing",
	41002:                                "appid missing",
	wxerr.CodeAppSecretMissing:           "appsecret missing",
	41008:                                "missing code",
	wxerr.CodeComponentAppIDMiss:         "component_appid missing",
	wxerr.CodeComponentTokenMiss:         "component_access_token missing",
	wxerr.CodeAccessTokenExpired:         "access_token expired",
	43001:                                "require GET method",
	43002:                                "require POST method",
	44002:                                "empty post data",
	wxerr.CodeDailyQuota:                 "reach max api daily quota limit",
	wxerr.CodeInvalidJSON:                "data format error",
	wxerr.CodeAPIUnauthorizedForAccount:  "api unauthorized",
	wxerr.CodeComponentUnauthorized:      "invalid authorizer: the account has not authorized the component",
	wxerr.CodeVerifyTicketExpired:        "component ticket is expired",
	wxerr.CodeVerifyTicketInvalid:        "component ticket is invalid",
	wxerr.CodeAuthCodeInvalid:            "code is invalid",
	wxerr.CodeAuthCodeExpired:            "code is expired",
	wxerr.CodeInvalidComponent:           "invalid component",
	wxerr.CodeRefreshTokenInvalid:        "refresh_token is invalid",
	wxerr.CodeTemplateNotFound:           "template not found",
	wxerr.CodeTemplateLibFull:            "template list is full",
	wxerr.CodeMustUseComponentToken:      "must use component token for component api",
	wxerr.CodeInvalidComponentCredential: "invalid component credential",
	wxerr.CodeInvalidComponentTicket:     "invalid component ticket",
	wxerr.CodeMustUseAPIComponentToken:   "must use api(api_component_token) to get token for component acct",
	wxerr.CodeComponentIPNotRegistered:   "access clientip is not registered",
	wxerr.CodeAPIUnauthorized:            "api is unauthorized to component",
	wxerr.CodeInvalidTemplateID:          "invalid template id",
	wxerr.CodeNotMiniProgram:             "not mini program",
	wxerr.CodeMinuteQuota:                "api minute-quota reach limit",
	wxerr.CodeUserUnauthorized:           "user unauthorized",
	wxerr.CodeAPIBanned:                  "api forbidden for irregularities",
	wxerr.CodeQuotaResetLimit:            "forbid to clear quota because of reaching the limit",
	wxerr.CodeFuncNeedsConfirm:           "funcscope need confirm",
	wxerr.CodeIPNotWhitelisted:           "invalid ip, not in whitelist",
	wxerr.CodeRefreshTokenExpired:        "refresh_token expired",
	wxerr.CodeCallTooFrequent:            "call too frequently",
	wxerr.CodeAuditPending:               "there is already an audit in progress",
	wxerr.CodeNoCommittedCode:            "no committed code",
	wxerr.CodeOpenAccountNotBound:        "not bind to any open account",
	wxerr.CodeOpenAccountAlreadyBound:    "account has bound open",
	wxerr.CodeInvalidCardID:              "invalid card id",
	wxerr.CodeInvalidEncryptCode:         "invalid encrypt code",
	wxerr.CodeInvalidSerialCode:          "invalid serial code",
	wxerr.CodeCodeConsumed:               "code has been consumed",
	wxerr.CodeOpenAccountSubjectDiff:     "account and open not in same contractor",
	wxerr.CodeOpenAccountNotByAPI:        "open not allowed to operate in api",
	wxerr.CodeOpenAccountLimit:           "reach open account bind limit",
	wxerr.CodeStatusNotAllowed:           "status not allowed",
	wxerr.CodeNotReleasable:              "status not allowed to release",
	wxerr.CodeNoAuditVersion:             "no audit version",
	wxerr.CodeAlreadyReleased:            "already released",
	wxerr.CodeCommitFirst:                "please commit code first",
	wxerr.CodeInvalidExtJSON:             "invalid ext_json",
}

// answerOK is the success body {"errcode":0,"errmsg":"ok"}.
func answerOK() any { return okBody{Errmsg: "ok"} }

type okBody struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

// rawAnswer is a non-JSON answer (e.g. an image).
type rawAnswer struct {
	ContentType string
	Body        []byte
}

// Fault is a failure InjectFault makes a path answer instead of its normal reply.
type Fault struct {
	// Times is how many calls fail this way; 0 means 1.
	Times int
	// ErrCode, when not 0, is answered as {"errcode":ErrCode,"errmsg":ErrMsg} (with HTTPStatus, or
	// 200).
	ErrCode int
	// ErrMsg is the errmsg for ErrCode; "" takes WeChat's usual text.
	ErrMsg string
	// HTTPStatus, when not 0, is the HTTP status of the answer; without ErrCode the body is the
	// status text.
	HTTPStatus int
	// Delay is waited before answering (or before failing). A Fault with only Delay delays the
	// call, then answers it normally.
	Delay time.Duration
	// Drop closes the connection without answering (after Delay).
	Drop bool
	// AfterHandler applies the fault once the call has been handled, its effects kept (state
	// changed, pushes sent): with Drop, WeChat acted but its answer is lost.
	AfterHandler bool
}

// InjectFault makes the next f.Times calls of path (e.g. "/cgi-bin/component/api_component_token")
// fail as f says. Faults injected for the same path apply one after the other, in order.
func (s *Server) InjectFault(path string, f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = append(s.faults[path], f)
}

// Calls returns how many requests path has received (whatever their method and outcome, faults
// included) since the start or the last ResetCalls.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// ResetCalls sets every call counter back to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

// nextFault counts a call of path and takes the fault it must suffer, if any.
func (s *Server) nextFault(path string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[path]++
	q := s.faults[path]
	if len(q) == 0 {
		return Fault{}, false
	}
	f := q[0]
	q[0].Times--
	if q[0].Times <= 0 {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(s.faults, path)
	} else {
		s.faults[path] = q
	}
	return f, true
}

// maxBody bounds request bodies: above media/upload's 10 MB files (WeChat's own limits are far
// lower for JSON APIs).
const maxBody = 16 << 20

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	f, hit := s.nextFault(path)
	if hit && !f.AfterHandler {
		if !s.applyFault(w, r, f) {
			return
		}
		hit = false
	}
	methods := s.routes[path]
	if methods == nil {
		if h := s.userHandler(path); h != nil { // Handle (handle.go)
			s.serveUser(w, r, h)
			return
		}
		http.NotFound(w, r)
		return
	}
	rt := methods[r.Method]
	if rt == nil {
		if methods[http.MethodGet] != nil {
			writeErr(w, apiErr(43001, ""))
		} else {
			writeErr(w, apiErr(43002, ""))
		}
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return
	}
	c := &call{s: s, r: r, now: s.Now(), body: body}
	v, err := s.run(rt, c)
	for _, after := range c.afters {
		after()
	}
	if hit && !s.applyFault(w, r, f) {
		return
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	writeValue(w, v)
}

// run checks the token and runs the handler with s.mu held. A JSON answer is encoded before s.mu
// is released: handlers may answer with the emulator's own maps and slices.
func (s *Server) run(rt *route, c *call) (v any, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkToken(rt.auth, c); err != nil {
		return nil, err
	}
	if !s.useQuota(rt.path, c.now) {
		return nil, apiErr(wxerr.CodeDailyQuota, "")
	}
	v, err = rt.h(c)
	if err != nil {
		return nil, err
	}
	if _, isRaw := v.(rawAnswer); !isRaw {
		v = rawAnswer{ContentType: jsonContentType, Body: encodeJSON(v)}
	}
	return v, nil
}

// applyFault answers (or drops) the call as f says. It returns true when the call must then be
// answered normally (a Fault with only a Delay).
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return false
		case <-s.done:
			t.Stop()
			return false
		}
	}
	switch {
	case f.Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return false
			}
		}
		// No hijacking (HTTP/2): the closest thing is an empty gateway error.
		w.WriteHeader(http.StatusBadGateway)
		return false
	case f.ErrCode != 0:
		status := f.HTTPStatus
		if status == 0 {
			status = http.StatusOK
		}
		writeJSON(w, status, errBody(apiErr(wxerr.Code(f.ErrCode), f.ErrMsg).(*apiError)))
		return false
	case f.HTTPStatus != 0:
		http.Error(w, http.StatusText(f.HTTPStatus), f.HTTPStatus)
		return false
	}
	return true
}

type errJSON struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

func errBody(e *apiError) errJSON {
	return errJSON{Errcode: int(e.Code), Errmsg: e.Msg + " rid: " + rid()}
}

func writeErr(w http.ResponseWriter, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = &apiError{Code: wxerr.CodeSystemBusy, Msg: "system error"}
	}
	writeJSON(w, http.StatusOK, errBody(e))
}

func writeValue(w http.ResponseWriter, v any) {
	if r, isRaw := v.(rawAnswer); isRaw {
		w.Header().Set("Content-Type", r.ContentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(r.Body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(r.Body)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// jsonContentType is the Content-Type of WeChat's JSON answers.
const jsonContentType = "application/json; encoding=utf-8"

// writeJSON answers v as WeChat does: raw UTF-8, no HTML escaping.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b := encodeJSON(v)
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// encodeJSON encodes v as WeChat does: raw UTF-8, no HTML escaping.
func encodeJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		fmt.Fprintf(&buf, `{"errcode":-1,"errmsg":"system error"}`)
	}
	return buf.Bytes()
}

// groupState returns the state of an endpoint group defined in another file, creating it with
// newState on first use. Call it with s.mu held. Each group uses its own type T.
func groupState[T any](s *Server, newState func() *T) *T {
	key := (*T)(nil)
	if v, found := s.groups[key]; found {
		return v.(*T)
	}
	v := newState()
	s.groups[key] = v
	return v
}
