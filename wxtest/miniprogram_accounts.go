package wxtest

// The open-platform account (API digest 4) and fast registration (API digest 5.1).
//
// Rules the emulator enforces, and the errcodes it answers:
//   - open/*: 40013 when body appid is not the caller; 89000 already bound; 89001 other subject;
//     89002 not bound (to that open account); 89004 more than 5 mini programs (open accounts made by
//     the API are unverified) or 100 accounts.
//   - fastregisterweapp (component token): create checks the fields (89253 missing, 89248 code_type,
//     89255 code length, 86004 WeChat id) and refuses a second running task for a name (89249);
//     search answers 89250 (no task), 89251 (waiting for the legal person) or 0 (finished).
//     CompleteFastRegistration finishes the task and pushes notify_third_fasteregister.

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Paths of this file's endpoints.
const (
	pathOpenCreate   = "/cgi-bin/open/create"
	pathOpenBind     = "/cgi-bin/open/bind"
	pathOpenUnbind   = "/cgi-bin/open/unbind"
	pathOpenGet      = "/cgi-bin/open/get"
	pathFastRegister = "/cgi-bin/component/fastregisterweapp"
)

// Limits of this file's rules.
const (
	openMaxMiniPrograms = 5
	openMaxAccounts     = 100
)

// openAccount is an open-platform account created by open/create.
type openAccount struct {
	appID     string
	principal string
	members   []string // account appids, in bind order
}

// fastTask is a fast registration task.
type fastTask struct {
	req  fastRegisterBody
	done bool
}

type fastRegisterBody struct {
	Name               string `json:"name"`
	Code               string `json:"code"`
	CodeType           *int   `json:"code_type"`
	LegalPersonaWechat string `json:"legal_persona_wechat"`
	LegalPersonaName   string `json:"legal_persona_name"`
	ComponentPhone     string `json:"component_phone"`
}

// registerMPAccounts registers the open-account and fast-registration endpoints.
func (s *Server) registerMPAccounts() {
	s.route(http.MethodPost, pathOpenCreate, authAuthorizer, needFunc(s.openCreate, false, 24, 25, 60))
	s.route(http.MethodPost, pathOpenBind, authAuthorizer, needFunc(s.openBind, false, 24, 25, 60))
	s.route(http.MethodPost, pathOpenUnbind, authAuthorizer, needFunc(s.openUnbind, false, 24, 25, 60))
	s.route(http.MethodPost, pathOpenGet, authAuthorizer, needFunc(s.openGet, false, 24, 25, 60))
	s.route(http.MethodPost, pathFastRegister, authComponent, s.fastRegister)
}

type openBody struct {
	AppID     *string `json:"appid"`
	OpenAppID *string `json:"open_appid"`
}

// bindOpen decodes an open/* body and checks that appid, when sent, is the caller (40013).
func (s *Server) bindOpen(c *call) (*authorizer, openBody, error) {
	var req openBody
	if err := c.bind(&req); err != nil {
		return nil, req, err
	}
	a := c.authorizer()
	if req.AppID != nil && *req.AppID != a.info.AppID {
		return nil, req, apiErr(wxerr.CodeInvalidAppID, "")
	}
	return a, req, nil
}

// openCreate: POST /cgi-bin/open/create.
func (s *Server) openCreate(c *call) (any, error) {
	a, _, err := s.bindOpen(c)
	if err != nil {
		return nil, err
	}
	m := s.mp()
	if _, bound := m.openOf[a.info.AppID]; bound {
		return nil, apiErr(wxerr.CodeOpenAccountAlreadyBound, "")
	}
	id := "wx" + randHex(8)
	m.open[id] = &openAccount{appID: id, principal: a.info.PrincipalName, members: []string{a.info.AppID}}
	m.openOf[a.info.AppID] = id
	return withOK(map[string]any{"open_appid": id}), nil
}

// openTarget returns the open account named in req (47001 missing, 40013 unknown).
func (s *Server) openTarget(req openBody) (*openAccount, error) {
	if req.OpenAppID == nil || *req.OpenAppID == "" {
		return nil, missing("open_appid")
	}
	o := s.mp().open[*req.OpenAppID]
	if o == nil {
		return nil, apiErr(wxerr.CodeInvalidAppID, "")
	}
	return o, nil
}

// openBind: POST /cgi-bin/open/bind.
func (s *Server) openBind(c *call) (any, error) {
	a, req, err := s.bindOpen(c)
	if err != nil {
		return nil, err
	}
	o, err := s.openTarget(req)
	if err != nil {
		return nil, err
	}
	m := s.mp()
	if _, bound := m.openOf[a.info.AppID]; bound {
		return nil, apiErr(wxerr.CodeOpenAccountAlreadyBound, "")
	}
	if o.principal != a.info.PrincipalName {
		return nil, apiErr(wxerr.CodeOpenAccountSubjectDiff, "")
	}
	minis := 0
	for _, id := range o.members {
		if b := s.authorizers[id]; b != nil && b.info.MiniProgram {
			minis++
		}
	}
	if len(o.members) >= openMaxAccounts || (a.info.MiniProgram && minis >= openMaxMiniPrograms) {
		return nil, apiErr(wxerr.CodeOpenAccountLimit, "")
	}
	o.members = append(o.members, a.info.AppID)
	m.openOf[a.info.AppID] = o.appID
	return answerOK(), nil
}

// openUnbind: POST /cgi-bin/open/unbind.
func (s *Server) openUnbind(c *call) (any, error) {
	a, req, err := s.bindOpen(c)
	if err != nil {
		return nil, err
	}
	o, err := s.openTarget(req)
	if err != nil {
		return nil, err
	}
	m := s.mp()
	if m.openOf[a.info.AppID] != o.appID {
		return nil, apiErr(wxerr.CodeOpenAccountNotBound, "")
	}
	delete(m.openOf, a.info.AppID)
	o.members = slices.DeleteFunc(o.members, func(id string) bool { return id == a.info.AppID })
	return answerOK(), nil
}

// openGet: POST /cgi-bin/open/get.
func (s *Server) openGet(c *call) (any, error) {
	a, _, err := s.bindOpen(c)
	if err != nil {
		return nil, err
	}
	id, bound := s.mp().openOf[a.info.AppID]
	if !bound {
		return nil, apiErr(wxerr.CodeOpenAccountNotBound, "")
	}
	return withOK(map[string]any{"open_appid": id}), nil
}

// OpenAccount returns the open-platform account appID is bound to, and false when it is bound to none.
func (s *Server) OpenAccount(appID string) (openAppID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	openAppID, ok = s.mp().openOf[appID]
	return openAppID, ok
}

// ---- Fast registration --------------------------------------------------------------------

// wechatIDOK reports whether id looks like a WeChat ID: a letter, then 5-19 letters, digits, - or _.
func wechatIDOK(id string) bool {
	if len(id) < 6 || len(id) > 20 || !('a' <= id[0] && id[0] <= 'z' || 'A' <= id[0] && id[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(id); i++ {
		ch := id[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

// companyCodeOK checks the length of code for its code_type: 18, 9 (or "xxxxxxxx-x"), 15.
func companyCodeOK(typ int, code string) bool {
	want := map[int]int{1: 18, 2: 9, 3: 15}[typ]
	if typ == 2 && len(code) == 10 && code[8] == '-' {
		code = code[:8] + code[9:]
	}
	if len(code) != want {
		return false
	}
	for i := 0; i < len(code); i++ {
		ch := code[i]
		if !('0' <= ch && ch <= '9' || 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z') {
			return false
		}
	}
	return true
}

// fastRegister: POST /cgi-bin/component/fastregisterweapp?action=create|search.
func (s *Server) fastRegister(c *call) (any, error) {
	var req fastRegisterBody
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	m := s.mp()
	if req.Name == "" || req.LegalPersonaWechat == "" || req.LegalPersonaName == "" {
		return nil, apiErr(wxerr.CodeFastRegMissingParam, "missing parameter")
	}
	switch c.query("action") {
	case "create":
		switch {
		case req.Code == "" || req.CodeType == nil:
			return nil, apiErr(wxerr.CodeFastRegMissingParam, "missing parameter")
		case *req.CodeType < 1 || *req.CodeType > 3:
			return nil, apiErr(wxerr.CodeFastRegBadCodeType, "invalid code_type")
		case !companyCodeOK(*req.CodeType, req.Code):
			return nil, apiErr(wxerr.CodeFastRegBadCode, "invalid code for its code_type")
		case !wechatIDOK(req.LegalPersonaWechat):
			return nil, apiErr(wxerr.CodeInvalidWeChatID, "invalid wechat id")
		}
		if t := m.fastTasks[req.Name]; t != nil && !t.done {
			return nil, apiErr(wxerr.CodeFastRegTaskRunning, "a task for this company is running")
		}
		m.fastTasks[req.Name] = &fastTask{req: req}
		return answerOK(), nil
	case "search":
		t := m.fastTasks[req.Name]
		if t == nil || t.req.LegalPersonaWechat != req.LegalPersonaWechat || t.req.LegalPersonaName != req.LegalPersonaName {
			return nil, apiErr(wxerr.CodeFastRegNoTask, "task not found")
		}
		if !t.done {
			return nil, apiErr(wxerr.CodeFastRegWaitingFace, "waiting for the legal person's face verification")
		}
		return answerOK(), nil
	}
	return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [action]")
}

// CompleteFastRegistration finishes the fast registration task of the company name with status
// (0 success, or a failure code of digest 2.3 such as 103) and pushes notify_third_fasteregister to
// the auth event URL. On success a new mini program is created (principal name = the company name),
// it authorises the platform, and the push carries its appid and an authorization code that
// api_query_auth accepts; the new appid is returned.
func (s *Server) CompleteFastRegistration(ctx context.Context, name string, status int) (appID string, err error) {
	now := s.Now()
	s.mu.Lock()
	t := s.mp().fastTasks[name]
	if t == nil || t.done {
		s.mu.Unlock()
		return "", fmt.Errorf("wxtest: CompleteFastRegistration: no running task for %q", name)
	}
	t.done = true
	code, msg := "", "OK"
	if status == 0 {
		a := s.addAuthorizer(Authorizer{MiniProgram: true, PrincipalName: name, VerifyType: -1})
		a.authorized, a.everAuthorized = true, true
		a.refreshToken = newRefreshToken()
		a.authTime = now
		a.funcInfo = defaultFuncInfo(true)
		// A fast-registered mini program starts bare: no name, avatar, introduction or category.
		a.info.NickName, a.info.HeadImg, a.info.Signature, a.info.Categories = "", "", "", nil
		appID = a.info.AppID
		s.markICPUnfiled(appID) // a new mini program must be ICP-filed before release
		code, _ = s.newAuthCode(a, now, "authorized", "")
	} else {
		msg = "fast registration failed"
	}
	codeType := 0
	if t.req.CodeType != nil {
		codeType = *t.req.CodeType
	}
	info := xmlMessage(xmlField{"name", t.req.Name, false}, xmlField{"code", t.req.Code, false},
		xmlField{"code_type", strconv.Itoa(codeType), true}, xmlField{"legal_persona_wechat", t.req.LegalPersonaWechat, false},
		xmlField{"legal_persona_name", t.req.LegalPersonaName, false}, xmlField{"component_phone", t.req.ComponentPhone, false})
	inner := strings.TrimSuffix(strings.TrimPrefix(string(info), "<xml>"), "</xml>")
	event := platformEvent(s.component.AppID, now, "notify_third_fasteregister",
		xmlField{"appid", appID, false}, xmlField{"status", strconv.Itoa(status), true},
		xmlField{"auth_code", code, false}, xmlField{"msg", msg, false}, xmlField{"info", inner, true})
	s.mu.Unlock()
	if err := s.pushPlatformEvent(ctx, event); err != nil {
		return appID, err
	}
	return appID, nil
}
