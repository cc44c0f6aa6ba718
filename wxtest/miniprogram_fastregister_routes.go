package wxtest

// The other fast-registration routes (API digest part 2, section 15), each ending in an authorised
// mini program whose authorization code api_query_auth accepts:
//   - fastregisterpersonalweapp (component token as component_access_token or access_token):
//     action=create needs a valid wxuser (89253 missing, 40094-like 86004 for a bad WeChat ID is
//     answered as 40097); answers taskid, authorize_url, status 0; action=query answers the status
//     (0 waiting, then the pushed status). CompletePersonalRegistration plays the person: the app is
//     created and notify_third_fasteregister (taskid, appid, auth_code, info wxuser/idname) pushed.
//   - fastregisterbetaweapp (component token): name and openid required (89253); answers unique_id
//     and authorize_url. CompleteBetaRegistration plays the user confirming: a trial app (unverified)
//     is created, notify_third_fastregisterbetaapp pushed, then "authorized" with its code.
//   - verifybetaweapp (trial app's token): verify_info as fastregisterweapp's company fields (89253,
//     89248, 89249 a verification is running). CompleteBetaVerification pushes
//     notify_third_fastverifybetaapp; on success the app is verified (verify_type 0) and formal.
//   - setbetaweappnickname (trial app's token): name 1-30 characters (40097).
//   - Both answer codeNotTrialApp with the token of a mini program that is not (or no longer) a trial.
//   - account/fastregister (official account's token): the ticket from ScanFastRegisterAuth, once
//     (61058 unknown or used); the platform must hold the account's permission set 27 (61029), the
//     subject may not be personal (61051, SetOASubject), the account must be verified (61052),
//     government, media and other organisations must copy the verification (61056), one
//     registration of the account runs at a time (61057, reuseRunTime), at most reuseMonthlyQuota
//     a calendar month (61055, Beijing time) and reuseSubjectLimit mini programs a subject (61053).
//     Answers appid, authorization_code, is_wx_verify_succ, is_link_succ.

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/wxerr"
)

const (
	pathFastRegisterPersonal = "/wxa/component/fastregisterpersonalweapp"
	pathFastRegisterBeta     = "/wxa/component/fastregisterbetaweapp"
	pathVerifyBeta           = "/wxa/verifybetaweapp"
	pathSetBetaNickname      = "/wxa/setbetaweappnickname"
	pathReuseFastRegister    = "/cgi-bin/account/fastregister"
	permFastRegister         = 27 // the OA's permission set for registering with its subject

	// codeNotTrialApp answers verifybetaweapp and setbetaweappnickname called with the token of a
	// mini program that is not a trial one. The digest (15.2) names no errcode for it; 48001 (api
	// unauthorized) is what WeChat answers an account calling an API its kind may not use.
	// Unverified: the one place to change it.
	codeNotTrialApp = wxerr.CodeAPIUnauthorizedForAccount

	// account/fastregister limits (digest 15.3). reuseMonthlyQuota is documented (61055);
	// reuseSubjectLimit (61053) is not — 50 is the commonly quoted limit of mini programs per
	// enterprise subject (unverified). reuseRunTime is how long one registration of an official
	// account runs, during which another ticket of it gets 61057: WeChat documents only that a retry
	// within 5 s fails (61058), so 5 s of the emulator clock (unverified).
	reuseMonthlyQuota = 5
	reuseSubjectLimit = 50
	reuseRunTime      = 5 * time.Second
)

// OASubjectKind is the kind of an official account's subject as account/fastregister checks it.
type OASubjectKind int

// Subject kinds of SetOASubject.
const (
	OASubjectEnterprise OASubjectKind = iota // the default
	OASubjectGovernment
	OASubjectMedia
	OASubjectOtherOrg
	OASubjectPersonal
)

// routesState is this file's state.
type routesState struct {
	personal map[string]*personalTask  // by taskid
	beta     map[string]*betaTask      // by unique_id
	verify   map[string]*betaVerifying // by trial appid
	tickets  map[string]*reuseTicket   // by ticket
	trial    map[string]bool           // trial mini programs not (yet) made formal, by appid
	oas      map[string]*reuseOA       // official accounts registering with their subject, by appid
}

// reuseOA is what account/fastregister keeps of an official account.
type reuseOA struct {
	kind OASubjectKind
	regs []time.Time // accepted registrations
}

type personalTask struct {
	wxuser, idname, phone string
	status                int // 0 waiting; then the pushed status
	done                  bool
}

type betaTask struct {
	name, openid string
	done         bool
}

type betaVerifying struct {
	req  fastRegisterBody
	done bool
}

type reuseTicket struct {
	oaAppID    string
	copyVerify bool
}

func (s *Server) regRoutes() *routesState { // call with s.mu held
	return groupState(s, func() *routesState {
		return &routesState{personal: map[string]*personalTask{}, beta: map[string]*betaTask{},
			verify: map[string]*betaVerifying{}, tickets: map[string]*reuseTicket{}, trial: map[string]bool{},
			oas: map[string]*reuseOA{}}
	})
}

// registerMPFastRegisterRoutes registers the endpoints of the other registration routes.
func (s *Server) registerMPFastRegisterRoutes() {
	s.route(http.MethodPost, pathFastRegisterPersonal, authComponent, s.fastRegisterPersonal)
	s.route(http.MethodPost, pathFastRegisterBeta, authComponent, s.fastRegisterBeta)
	s.route(http.MethodPost, pathVerifyBeta, authAuthorizer, s.verifyBeta)
	s.route(http.MethodPost, pathSetBetaNickname, authAuthorizer, s.setBetaNickname)
	s.route(http.MethodPost, pathReuseFastRegister, authAuthorizer, s.reuseFastRegister)
}

// fastRegisterPersonal: POST /wxa/component/fastregisterpersonalweapp?action=create|query.
func (s *Server) fastRegisterPersonal(c *call) (any, error) {
	var req struct {
		WxUser         string `json:"wxuser"`
		IDName         string `json:"idname"`
		ComponentPhone string `json:"component_phone"`
		TaskID         string `json:"taskid"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	st := s.regRoutes()
	switch c.query("action") {
	case "create":
		switch {
		case req.WxUser == "":
			return nil, apiErr(wxerr.CodeFastRegMissingParam, "missing parameter")
		case !wechatIDOK(req.WxUser):
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid wxuser")
		}
		id := randHex(16)
		st.personal[id] = &personalTask{wxuser: req.WxUser, idname: req.IDName, phone: req.ComponentPhone}
		return map[string]any{"errcode": 0, "errmsg": "ok", "taskid": id, "status": 0,
			"authorize_url": "https://mp.weixin.qq.com/wxopen/fastregisterpersonal?taskid=" + id}, nil
	case "query":
		t := st.personal[req.TaskID]
		if req.TaskID == "" || t == nil {
			return nil, apiErr(wxerr.CodeFastRegNoTask, "task not found")
		}
		return map[string]any{"errcode": 0, "errmsg": "ok", "status": t.status,
			"authorize_url": "https://mp.weixin.qq.com/wxopen/fastregisterpersonal?taskid=" + req.TaskID}, nil
	}
	return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [action]")
}

// newRegisteredApp creates an authorised mini program registered by the platform and its code.
func (s *Server) newRegisteredApp(principal string, verified bool) (*authorizer, string, []byte) { // call with s.mu held
	now := s.Now()
	vt := -1
	if verified {
		vt = 0
	}
	a := s.addAuthorizer(Authorizer{MiniProgram: true, PrincipalName: principal, VerifyType: vt})
	a.authorized, a.everAuthorized = true, true
	a.refreshToken = newRefreshToken()
	a.authTime = now
	a.funcInfo = defaultFuncInfo(true)
	a.info.NickName, a.info.HeadImg, a.info.Signature, a.info.Categories = "", "", "", nil
	s.markICPUnfiled(a.info.AppID)
	if !verified {
		s.markICPMustVerify(a.info.AppID)
	}
	code, ev := s.newAuthCode(a, now, "authorized", "")
	return a, code, ev
}

// CompletePersonalRegistration plays the person of task taskID: status 0 creates their mini
// program, authorises it and pushes notify_third_fasteregister with its appid, auth_code and the
// task id; another status (a failure code) pushes only the failure. The new appid is returned.
func (s *Server) CompletePersonalRegistration(ctx context.Context, taskID string, status int) (appID string, err error) {
	now := s.Now()
	s.mu.Lock()
	t := s.regRoutes().personal[taskID]
	if t == nil || t.done {
		s.mu.Unlock()
		return "", fmt.Errorf("wxtest: CompletePersonalRegistration: no running task %q", taskID)
	}
	t.done, t.status = true, status
	code, msg := "", "OK"
	if status == 0 {
		var a *authorizer
		a, code, _ = s.newRegisteredApp(t.idname, false)
		appID = a.info.AppID
	} else {
		msg = "fast registration failed"
	}
	info := xmlMessage(xmlField{"wxuser", t.wxuser, false}, xmlField{"idname", t.idname, false}, xmlField{"component_phone", t.phone, false})
	inner := strings.TrimSuffix(strings.TrimPrefix(string(info), "<xml>"), "</xml>")
	event := platformEvent(s.component.AppID, now, "notify_third_fasteregister",
		xmlField{"appid", appID, false}, xmlField{"status", strconv.Itoa(status), true}, xmlField{"taskid", taskID, false},
		xmlField{"auth_code", code, false}, xmlField{"msg", msg, false}, xmlField{"info", inner, true})
	s.mu.Unlock()
	return appID, s.pushPlatformEvent(ctx, event)
}

// fastRegisterBeta: POST /wxa/component/fastregisterbetaweapp {"name", "openid"}.
func (s *Server) fastRegisterBeta(c *call) (any, error) {
	var req struct {
		Name   string `json:"name"`
		OpenID string `json:"openid"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	switch {
	case req.Name == "" || req.OpenID == "":
		return nil, apiErr(wxerr.CodeFastRegMissingParam, "missing parameter")
	case utf8.RuneCountInString(req.Name) > 30:
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid name")
	}
	id := randHex(16)
	s.regRoutes().beta[id] = &betaTask{name: req.Name, openid: req.OpenID}
	return map[string]any{"errcode": 0, "errmsg": "ok", "unique_id": id,
		"authorize_url": "https://mp.weixin.qq.com/wxopen/fastregisterbeta?unique_id=" + id}, nil
}

// CompleteBetaRegistration plays the user confirming the trial registration uniqueID: a trial
// mini program (unverified) named as requested is created, notify_third_fastregisterbetaapp is
// pushed, then "authorized" with its authorization code. The new appid is returned.
func (s *Server) CompleteBetaRegistration(ctx context.Context, uniqueID string) (appID string, err error) {
	now := s.Now()
	s.mu.Lock()
	t := s.regRoutes().beta[uniqueID]
	if t == nil || t.done {
		s.mu.Unlock()
		return "", fmt.Errorf("wxtest: CompleteBetaRegistration: no running registration %q", uniqueID)
	}
	t.done = true
	a, _, authEv := s.newRegisteredApp("", false)
	a.info.NickName = t.name
	appID = a.info.AppID
	s.regRoutes().trial[appID] = true
	info := xmlMessage(xmlField{"unique_id", uniqueID, false}, xmlField{"name", t.name, false})
	inner := strings.TrimSuffix(strings.TrimPrefix(string(info), "<xml>"), "</xml>")
	event := platformEvent(s.component.AppID, now, "notify_third_fastregisterbetaapp",
		xmlField{"appid", appID, false}, xmlField{"status", "0", true}, xmlField{"msg", "OK", false}, xmlField{"info", inner, true})
	s.mu.Unlock()
	if err := s.pushPlatformEvent(ctx, event); err != nil {
		return appID, err
	}
	return appID, s.pushPlatformEvent(ctx, authEv)
}

// verifyBeta: POST /wxa/verifybetaweapp {"verify_info": {...}} with the trial app's token.
func (s *Server) verifyBeta(c *call) (any, error) {
	var req struct {
		VerifyInfo *struct {
			EnterpriseName     string `json:"enterprise_name"`
			Code               string `json:"code"`
			CodeType           *int   `json:"code_type"`
			LegalPersonaWechat string `json:"legal_persona_wechat"`
			LegalPersonaName   string `json:"legal_persona_name"`
			ComponentPhone     string `json:"component_phone"`
		} `json:"verify_info"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if !s.regRoutes().trial[a.info.AppID] {
		return nil, apiErr(codeNotTrialApp, "api unauthorized: not a trial mini program")
	}
	v := req.VerifyInfo
	switch {
	case v == nil || v.EnterpriseName == "" || v.Code == "" || v.CodeType == nil || v.LegalPersonaWechat == "" || v.LegalPersonaName == "":
		return nil, apiErr(wxerr.CodeFastRegMissingParam, "missing parameter")
	case *v.CodeType < 1 || *v.CodeType > 3:
		return nil, apiErr(wxerr.CodeFastRegBadCodeType, "invalid code_type")
	case !companyCodeOK(*v.CodeType, v.Code):
		return nil, apiErr(wxerr.CodeFastRegBadCode, "invalid code for its code_type")
	case !wechatIDOK(v.LegalPersonaWechat):
		return nil, apiErr(wxerr.CodeInvalidWeChatID, "invalid wechat id")
	}
	st := s.regRoutes()
	if cur := st.verify[a.info.AppID]; cur != nil && !cur.done {
		return nil, apiErr(wxerr.CodeFastRegTaskRunning, "a verification is running")
	}
	st.verify[a.info.AppID] = &betaVerifying{req: fastRegisterBody{Name: v.EnterpriseName, Code: v.Code, CodeType: v.CodeType,
		LegalPersonaWechat: v.LegalPersonaWechat, LegalPersonaName: v.LegalPersonaName, ComponentPhone: v.ComponentPhone}}
	return answerOK(), nil
}

// CompleteBetaVerification plays the legal person verifying the trial app appID: status 0 makes it
// a verified mini program of the company (principal name, verify_type 0); another status is a
// failure. notify_third_fastverifybetaapp is pushed either way.
func (s *Server) CompleteBetaVerification(ctx context.Context, appID string, status int) error {
	now := s.Now()
	s.mu.Lock()
	v := s.regRoutes().verify[appID]
	a := s.authorizers[appID]
	if v == nil || v.done || a == nil {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: CompleteBetaVerification: no running verification of %s", appID)
	}
	v.done = true
	msg := "OK"
	if status == 0 {
		a.info.PrincipalName = v.req.Name
		s.markVerified(appID, now)         // verify_type 0, expiring like any verification (miniprogram_verify.go)
		delete(s.regRoutes().trial, appID) // a formal mini program now
	} else {
		msg = "verification failed"
	}
	ct := 0
	if v.req.CodeType != nil {
		ct = *v.req.CodeType
	}
	info := xmlMessage(xmlField{"name", v.req.Name, false}, xmlField{"code", v.req.Code, false}, xmlField{"code_type", strconv.Itoa(ct), true},
		xmlField{"legal_persona_wechat", v.req.LegalPersonaWechat, false}, xmlField{"legal_persona_name", v.req.LegalPersonaName, false})
	inner := strings.TrimSuffix(strings.TrimPrefix(string(info), "<xml>"), "</xml>")
	event := platformEvent(s.component.AppID, now, "notify_third_fastverifybetaapp",
		xmlField{"appid", appID, false}, xmlField{"status", strconv.Itoa(status), true}, xmlField{"msg", msg, false}, xmlField{"info", inner, true})
	s.mu.Unlock()
	return s.pushPlatformEvent(ctx, event)
}

// setBetaNickname: POST /wxa/setbetaweappnickname {"name"} with the trial app's token.
func (s *Server) setBetaNickname(c *call) (any, error) {
	var req struct {
		Name string `json:"name"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if !s.regRoutes().trial[a.info.AppID] {
		return nil, apiErr(codeNotTrialApp, "api unauthorized: not a trial mini program")
	}
	if req.Name == "" || utf8.RuneCountInString(req.Name) > 30 {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid name")
	}
	a.info.NickName = req.Name
	return answerOK(), nil
}

// ScanFastRegisterAuth plays the administrator of the official account oaAppID scanning the
// fastregisterauth page: it returns the ticket WeChat appends to the redirect URI.
func (s *Server) ScanFastRegisterAuth(oaAppID string, copyVerify bool) (ticket string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.authorizers[oaAppID]
	if a == nil || a.info.MiniProgram {
		return "", fmt.Errorf("wxtest: ScanFastRegisterAuth: %s is not an official account", oaAppID)
	}
	ticket = "fastregticket_" + randAlnum(32)
	s.regRoutes().tickets[ticket] = &reuseTicket{oaAppID: oaAppID, copyVerify: copyVerify}
	return ticket, nil
}

// reuseFastRegister: POST /cgi-bin/account/fastregister {"ticket"} with the official account's token.
func (s *Server) reuseFastRegister(c *call) (any, error) {
	var req struct {
		Ticket string `json:"ticket"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if req.Ticket == "" {
		return nil, missing("ticket")
	}
	oa := c.authorizer()
	st := s.regRoutes()
	t := st.tickets[req.Ticket]
	if t == nil || t.oaAppID != oa.info.AppID {
		return nil, apiErr(wxerr.CodeReuseTicketInvalid, "invalid ticket")
	}
	if err := s.reuseAllowed(c.now, oa, t); err != nil {
		return nil, err
	}
	delete(st.tickets, req.Ticket) // a ticket serves once: a retry gets 61058
	o := st.oa(oa.info.AppID)
	o.regs = append(o.regs, c.now)
	a, code, _ := s.newRegisteredApp(oa.info.PrincipalName, t.copyVerify)
	return map[string]any{"errcode": 0, "errmsg": "ok", "appid": a.info.AppID, "authorization_code": code,
		"is_wx_verify_succ": strconv.FormatBool(t.copyVerify), "is_link_succ": "true"}, nil
}

// oa is the record of the official account appID.
func (st *routesState) oa(appID string) *reuseOA {
	o := st.oas[appID]
	if o == nil {
		o = &reuseOA{}
		st.oas[appID] = o
	}
	return o
}

// reuseAllowed applies account/fastregister's rules (digest 15.3) to the official account oa
// redeeming ticket t at now; nil when WeChat would register.
func (s *Server) reuseAllowed(now time.Time, oa *authorizer, t *reuseTicket) error { // call with s.mu held
	o := s.regRoutes().oa(oa.info.AppID)
	switch {
	case !containsInt(oa.funcInfo, permFastRegister):
		return apiErr(wxerr.CodePlatformLacksPermSets, "component lacks permission")
	case o.kind == OASubjectPersonal:
		return apiErr(wxerr.CodeReuseSubjectType, "subject type not allowed")
	case oa.info.VerifyType != 0:
		return apiErr(wxerr.CodeReuseOANotVerified, "official account not verified")
	case !t.copyVerify && (o.kind == OASubjectGovernment || o.kind == OASubjectMedia || o.kind == OASubjectOtherOrg):
		return apiErr(wxerr.CodeReuseMustCopyVerify, "government, media and other organisations must copy the verification")
	case len(o.regs) > 0 && now.Before(o.regs[len(o.regs)-1].Add(reuseRunTime)):
		return apiErr(wxerr.CodeReuseInProgress, "another fast registration of this official account is in progress")
	}
	cst := time.FixedZone("CST", 8*3600)
	y, m, _ := now.In(cst).Date()
	month := 0
	for _, r := range o.regs {
		if ry, rm, _ := r.In(cst).Date(); ry == y && rm == m {
			month++
		}
	}
	if month >= reuseMonthlyQuota {
		return apiErr(wxerr.CodeReuseMonthlyQuota, "monthly fast registration quota reached")
	}
	subject := 0
	for _, a := range s.authorizers {
		if a.info.MiniProgram && a.info.PrincipalName == oa.info.PrincipalName {
			subject++
		}
	}
	if subject >= reuseSubjectLimit {
		return apiErr(wxerr.CodeReuseSubjectLimit, "the subject reached its mini program limit")
	}
	return nil
}

// SetOASubject sets the kind of the official account oaAppID's subject, which account/fastregister
// checks (enterprise until set).
func (s *Server) SetOASubject(oaAppID string, kind OASubjectKind) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.authorizers[oaAppID]
	if a == nil || a.info.MiniProgram {
		return fmt.Errorf("wxtest: SetOASubject: %s is not an official account", oaAppID)
	}
	s.regRoutes().oa(oaAppID).kind = kind
	return nil
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
