package wxtest

// WeChat verification of mini programs (API digest part 2, section 14), alone or combined with the
// ICP filing, on the emulator.
//
//   - uploadauthmaterial: multipart image in "media" → mediaid. authidentitytree: a small tree.
//   - wxaauth / reauth: auth_data checked as WeChat does (40097 with the field: customer_type 1/12/15,
//     contact name and email, invoice_type 1-3, account_name, account_name_type 1/2, pay_type 1/2,
//     service_appid with pay_type 1, identity for a personal subject); reauth only when the order was
//     sent back (apply_status 3). wxaauth answers codeVerificationRefused for a mini program that is
//     verified or has a verification running (a live task or a combined procedure before 19). A
//     task starts at task_status 0, apply_status 0; left there verifyTaskTTL (24 h of the emulator
//     clock) it reads task_status 1 and is over.
//   - queryauth: the task of this mini program (40097 otherwise).
//   - VerificationStep plays the administrator, the payment and the reviewers along verifyTaskNext
//     and verifyApplyNext (an error for any other move) and pushes notify_3rd_wxa_auth; apply_status
//     4 makes the app verified. The payment (1 → 2) pushes wx_verify_pay_succ and the start of the
//     review (→ 2) wx_verify_dispatch to the message URL; the order then has an orderid and
//     dispatch_info.
//   - submit_auth_and_icp: auth_data as above and the filing body as apply_icp_filing (86202 with
//     hints); the procedure starts at 17 (platform pays) or 15 (merchant pays, pay_url).
//     AdvanceAuthAndICP moves it along procedureNext (pushing notify_3rd_wxa_auth_and_icp; 15 → 16
//     also wx_verify_pay_succ); 19 verifies the app, 22-26 are the filing's states (2-6 in
//     get_icp_entrance_info), 26 files it. query_auth_and_icp answers the state.
//   - A verification made here expires verifyValidity later; PushVerifyExpiryReminders pushes the
//     due notify_3rd_wxa_wxverify reminders.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/wxopen-go/wxopen/wxerr"
)

const (
	pathUploadAuthMaterial = "/wxa/sec/uploadauthmaterial"
	pathAuthIdentityTree   = "/wxa/sec/authidentitytree"
	pathWxaAuth            = "/wxa/sec/wxaauth"
	pathQueryVerifyTask    = "/wxa/sec/queryauth"
	pathReauth             = "/wxa/sec/reauth"
	pathSubmitAuthAndICP   = "/wxa/sec/submit_auth_and_icp"
	pathQueryAuthAndICP    = "/wxa/sec/query_auth_and_icp"

	verifyTaskTTL = 24 * time.Hour // task_status 0 → 1 without the administrator's action (digest 14.1)

	// verifyValidity is how long a verification holds before the yearly re-verification (年审; the
	// digest gives no figure, a year is WeChat's stated cycle, unverified).
	verifyValidity = 365 * 24 * time.Hour

	// codeVerificationRefused answers wxaauth for a mini program already verified or with a
	// verification under way. The digest (14.2) gives no errcode; 89249 is the "a task is already
	// running" code of the registration and verification family. Unverified: the one place to
	// change it.
	codeVerificationRefused = wxerr.CodeFastRegTaskRunning
)

// The moves of a verification task (digest 14.1) VerificationStep allows: task_status from → to
// (0 → 1 happens on the clock), and apply_status from → to (3 → 2 is reauth's). A task_status not
// listed is final.
var (
	verifyTaskNext = map[int][]int{
		0:  {2, 3},       // the administrator refuses or agrees
		3:  {4, 5, 6},    // face check started, failed, passed
		4:  {5, 6},       //
		6:  {7, 8, 9},    // SMS code sent, failed, passed
		7:  {8, 9},       //
		9:  {11, 12, 15}, // order creation failed, order created, waiting for payment
		15: {12},         // paid
		12: {14},         // verification failed (apply_status 5)
	}
	verifyApplyNext = map[int][]int{0: {1, 2}, 1: {2}, 2: {3, 4, 5}}

	// procedureNext are the moves of a combined procedure (digest 14.3); 18, 20, 21, 23, 25 and 26
	// are final (a sent-back or rejected one is fixed by submitting again).
	procedureNext = map[int][]int{15: {16}, 16: {17}, 17: {18, 19, 20}, 19: {21, 22}, 22: {23, 24}, 24: {25, 26}}
)

// verifyReminders are how long before the expiry notify_3rd_wxa_wxverify is pushed (digest 14.1:
// 60 and 30 days before, and on the day).
var verifyReminders = []time.Duration{60 * 24 * time.Hour, 30 * 24 * time.Hour, 0}

// verifyApplyFits reports whether apply_status a goes with task_status t: an order (apply_status
// 1-5) exists only from task_status 12 (1 with 15, waiting for payment; 5 with 14, failed).
func verifyApplyFits(t, a int) bool {
	switch t {
	case 15:
		return a == 1
	case 12:
		return a >= 2 && a <= 4
	case 14:
		return a == 5
	}
	return a == 0
}

type verifyState struct {
	tasks      map[string]*verifyTask  // by taskid
	procedures map[string]*procedure   // by procedure_id
	verified   map[string]*verifiedApp // by appid: verified here, with the reminders of its expiry
}

// verifiedApp is a mini program verified on the emulator: its verification expires verifyValidity
// later, and notify_3rd_wxa_wxverify reminds of it verifyReminders before.
type verifiedApp struct {
	expires time.Time
	sent    int // reminders pushed, in the order of verifyReminders
}

type verifyTask struct {
	appID                   string
	created                 time.Time
	taskStatus, applyStatus int
	refill, fail            string
	orderID                 string
	dispatch                map[string]any // dispatch_info once the review started
}

// at brings the task to now: left at task_status 0 for verifyTaskTTL it is timed out (1).
func (t *verifyTask) at(now time.Time) *verifyTask {
	if t.taskStatus == 0 && !now.Before(t.created.Add(verifyTaskTTL)) {
		t.taskStatus = 1
	}
	return t
}

// running reports whether the task can still lead to a verification.
func (t *verifyTask) running() bool {
	if t.applyStatus == 4 || t.applyStatus == 5 {
		return false
	}
	_, moves := verifyTaskNext[t.taskStatus]
	return moves || t.applyStatus == 3
}

type procedure struct {
	appID        string
	status       int
	auditData    []ICPAuditReason
	refill, fail string
	orderID      string // the verification order (orderid)
}

func (s *Server) verify() *verifyState { // call with s.mu held
	return groupState(s, func() *verifyState {
		return &verifyState{tasks: map[string]*verifyTask{}, procedures: map[string]*procedure{}, verified: map[string]*verifiedApp{}}
	})
}

func (s *Server) registerMPVerify() {
	s.route(http.MethodPost, pathUploadAuthMaterial, authAuthorizer, s.uploadAuthMaterial)
	s.route(http.MethodGet, pathAuthIdentityTree, authAuthorizer, s.authIdentityTree)
	s.route(http.MethodPost, pathWxaAuth, authAuthorizer, s.wxaAuth)
	s.route(http.MethodPost, pathReauth, authAuthorizer, s.wxaAuth)
	s.route(http.MethodPost, pathQueryVerifyTask, authAuthorizer, s.queryAuthTask)
	s.route(http.MethodPost, pathSubmitAuthAndICP, authAuthorizer, s.submitAuthAndICP)
	s.route(http.MethodPost, pathQueryAuthAndICP, authAuthorizer, s.queryAuthAndICP)
}

func (s *Server) uploadAuthMaterial(c *call) (any, error) {
	if _, _, err := s.miniProgram(c); err != nil {
		return nil, err
	}
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, apiErr(41005, "media data missing")
	}
	mr := multipart.NewReader(bytes.NewReader(c.body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil, apiErr(41005, "media data missing")
		}
		if p.FormName() == "media" && p.FileName() != "" {
			var b bytes.Buffer
			_, _ = b.ReadFrom(p)
			if imageKind(b.Bytes()) == "" {
				return nil, apiErr(40005, "invalid file type")
			}
			return map[string]any{"errcode": 0, "errmsg": "ok", "mediaid": "authmedia_" + randAlnum(32)}, nil
		}
	}
}

func (s *Server) authIdentityTree(c *call) (any, error) {
	if _, _, err := s.miniProgram(c); err != nil {
		return nil, err
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "node_list": []map[string]any{{"name": "个人", "node_id": 1,
		"node_list": []map[string]any{{"name": "医生", "node_id": 11, "leaf_info": map[string]any{"requirement": "医师执业证书"}}}}}}, nil
}

// authDataBody is what the emulator reads of auth_data.
type authDataBody struct {
	CustomerType int `json:"customer_type"`
	Contact      struct {
		Name, Email string
	} `json:"contact_info"`
	Invoice struct {
		Type  int    `json:"invoice_type"`
		Title string `json:"invoice_title"`
	} `json:"invoice_info"`
	AccountName        string `json:"account_name"`
	AccountNameType    int    `json:"account_name_type"`
	PayType            int    `json:"pay_type"`
	ServiceAppID       string `json:"service_appid"`
	AuthIdentification string `json:"auth_identification"`
	AuthIdentMaterial  string `json:"auth_ident_material"`
	TaskID             string `json:"taskid"`
}

// checkAuthData applies WeChat's rules to auth_data; nil when accepted.
func checkAuthData(d *authDataBody) error {
	bad := func(f string) error { return apiErr(wxerr.CodeInvalidParams, "invalid args hint: [auth_data."+f+"]") }
	switch {
	case d == nil:
		return missing("auth_data")
	case d.CustomerType != 1 && d.CustomerType != 12 && d.CustomerType != 15:
		return bad("customer_type")
	case d.Contact.Name == "" || d.Contact.Email == "":
		return bad("contact_info")
	case d.Invoice.Type < 1 || d.Invoice.Type > 3 || (d.Invoice.Type != 1 && d.Invoice.Title == ""):
		return bad("invoice_info")
	case d.AccountName == "":
		return bad("account_name")
	case d.AccountNameType != 1 && d.AccountNameType != 2:
		return bad("account_name_type")
	case d.PayType != 1 && d.PayType != 2:
		return bad("pay_type")
	case d.PayType == 1 && d.ServiceAppID == "":
		return bad("service_appid")
	case d.CustomerType == 15 && (d.AuthIdentification == "" || d.AuthIdentMaterial == ""):
		return bad("auth_identification")
	}
	return nil
}

// wxaAuth: POST /wxa/sec/wxaauth and /wxa/sec/reauth {"auth_data": {...}}.
func (s *Server) wxaAuth(c *call) (any, error) {
	var req struct {
		AuthData *authDataBody `json:"auth_data"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if err := checkAuthData(req.AuthData); err != nil {
		return nil, err
	}
	st := s.verify()
	id := req.AuthData.TaskID
	if c.r.URL.Path != pathReauth {
		if err := s.verificationAllowed(c.now, a); err != nil {
			return nil, err
		}
	}
	if c.r.URL.Path == pathReauth {
		t := st.tasks[id]
		if t == nil || t.appID != a.info.AppID || t.applyStatus != 3 {
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [taskid] not sent back for refill")
		}
		t.applyStatus, t.refill = 2, ""
	} else {
		id = "authtask_" + randHex(16)
		st.tasks[id] = &verifyTask{appID: a.info.AppID, created: c.now}
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "taskid": id, "auth_url": "https://mp.weixin.qq.com/wxawap/waverifyauth?taskid=" + id}, nil
}

// verificationAllowed is nil when a may start a verification: it is not verified and none is
// under way.
func (s *Server) verificationAllowed(now time.Time, a *authorizer) error { // call with s.mu held
	if a.info.VerifyType == 0 {
		return apiErr(codeVerificationRefused, "mini program already verified")
	}
	st := s.verify()
	for _, t := range st.tasks {
		if t.appID == a.info.AppID && t.at(now).running() {
			return apiErr(codeVerificationRefused, "a verification of this mini program is under way")
		}
	}
	for _, p := range st.procedures {
		if p.appID == a.info.AppID && p.status >= 15 && p.status <= 17 {
			return apiErr(codeVerificationRefused, "a verification of this mini program is under way")
		}
	}
	return nil
}

func (s *Server) queryAuthTask(c *call) (any, error) {
	var req struct {
		TaskID string `json:"taskid"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	t := s.verify().tasks[req.TaskID]
	if t == nil || t.appID != a.info.AppID {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid taskid")
	}
	t.at(c.now)
	out := map[string]any{"errcode": 0, "errmsg": "ok", "appid": t.appID, "task_status": t.taskStatus, "apply_status": t.applyStatus,
		"refill_reason": t.refill, "fail_reason": t.fail, "auth_url": "https://mp.weixin.qq.com/wxawap/waverifyauth?taskid=" + req.TaskID}
	if t.orderID != "" {
		out["orderid"] = t.orderID
	}
	if t.dispatch != nil {
		out["dispatch_info"] = t.dispatch
	}
	return out, nil
}

// VerificationStep plays the administrator, the payment or the reviewers of the verification task
// taskID: it moves its task_status and apply_status (reason is the refill reason for apply_status
// 3, the failure reason for 5) and pushes notify_3rd_wxa_auth. Only the moves of verifyTaskNext and
// verifyApplyNext with a fitting pair are allowed (an error otherwise, nothing changed): 0 → 2
// refused or 3 agreed; 3 → 4/5/6 face check; 6 → 7/8/9 SMS check; 9 → 12 with apply_status 2 (the
// platform paid) or 15 with 1, then 12 with 2 (paid); 12 with 2 → 3 refill, 4 verified, or 14
// with 5 failed. A task left at 0 for 24 h is timed out (1) and moves no more. apply_status 4
// makes the mini program verified (verify_type 0). The payment pushes wx_verify_pay_succ and the
// start of the review wx_verify_dispatch to the mini program's message URL after
// notify_3rd_wxa_auth.
func (s *Server) VerificationStep(ctx context.Context, taskID string, taskStatus, applyStatus int, reason string) error {
	now := s.Now()
	s.mu.Lock()
	t := s.verify().tasks[taskID]
	if t == nil {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: VerificationStep: no task %q", taskID)
	}
	t.at(now)
	from, fromApply := t.taskStatus, t.applyStatus
	if (taskStatus == from && applyStatus == fromApply) ||
		(taskStatus != from && !slices.Contains(verifyTaskNext[from], taskStatus)) ||
		(applyStatus != fromApply && !slices.Contains(verifyApplyNext[fromApply], applyStatus)) ||
		!verifyApplyFits(taskStatus, applyStatus) {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: VerificationStep: task %q cannot move from task_status %d, apply_status %d to %d, %d",
			taskID, from, fromApply, taskStatus, applyStatus)
	}
	t.taskStatus, t.applyStatus = taskStatus, applyStatus
	if applyStatus > 0 && t.orderID == "" {
		t.orderID = "authorder_" + randDigits(16)
	}
	switch applyStatus {
	case 3:
		t.refill = reason
	case 4:
		s.markVerified(t.appID, now)
	case 5:
		t.fail = reason
	}
	ev := platformEvent(s.component.AppID, now, "notify_3rd_wxa_auth", xmlField{"appid", t.appID, false}, xmlField{"taskid", taskID, false},
		xmlField{"task_status", strconv.Itoa(taskStatus), true}, xmlField{"apply_status", strconv.Itoa(applyStatus), true},
		xmlField{"message", reason, false})
	var msgs [][]byte
	if fromApply == 1 && applyStatus == 2 {
		msgs = append(msgs, s.verifyMessage(t.appID, now, "wx_verify_pay_succ", t.orderID, nil))
	}
	if applyStatus == 2 && fromApply != 2 && t.dispatch == nil {
		t.dispatch = map[string]any{"provider": "微信认证审核服务商", "contact": "95017", "dispatch_time": now.Unix()}
		msgs = append(msgs, s.verifyMessage(t.appID, now, "wx_verify_dispatch", t.orderID, t.dispatch))
	}
	s.mu.Unlock()
	err := s.pushPlatformEvent(ctx, ev)
	for _, m := range msgs {
		if m != nil {
			err = errors.Join(err, s.PushAuthorizerEvent(ctx, t.appID, m))
		}
	}
	return err
}

// markVerified makes appID verified at now (verify_type 0), expiring verifyValidity later.
func (s *Server) markVerified(appID string, now time.Time) { // call with s.mu held
	if a := s.authorizers[appID]; a != nil {
		a.info.VerifyType = 0
		s.verify().verified[appID] = &verifiedApp{expires: now.Add(verifyValidity)}
	}
}

// PushVerifyExpiryReminders pushes notify_3rd_wxa_wxverify (appid, expired, message) for every
// reminder of a verification's expiry that is due on the emulator clock and not yet pushed (60
// and 30 days before the expiry, and on the day; a verification made here expires a year after
// it), as WeChat does on its own schedule. It returns how many were pushed.
func (s *Server) PushVerifyExpiryReminders(ctx context.Context) (int, error) {
	now := s.Now()
	s.mu.Lock()
	var evs [][]byte
	for appID, v := range s.verify().verified {
		for v.sent < len(verifyReminders) && !now.Before(v.expires.Add(-verifyReminders[v.sent])) {
			days := int(verifyReminders[v.sent] / (24 * time.Hour))
			msg := "您的小程序微信认证将于今天到期，请尽快完成年审"
			if days > 0 {
				msg = fmt.Sprintf("您的小程序微信认证将于%d天后到期，请尽快完成年审", days)
			}
			evs = append(evs, platformEvent(s.component.AppID, now, "notify_3rd_wxa_wxverify", xmlField{"appid", appID, false},
				xmlField{"expired", strconv.FormatInt(v.expires.Unix(), 10), true}, xmlField{"message", msg, false}))
			v.sent++
		}
	}
	s.mu.Unlock()
	var err error
	for _, ev := range evs {
		err = errors.Join(err, s.pushPlatformEvent(ctx, ev))
	}
	return len(evs), err
}

// verifyMessage is the account event name (wx_verify_pay_succ, wx_verify_dispatch) of appID's
// verification order, nil for an unknown account. The digest leaves their fields unverified: the
// emulator sends the order id and, for the dispatch, dispatch_info's fields as queryauth has them.
func (s *Server) verifyMessage(appID string, now time.Time, name, orderID string, dispatch map[string]any) []byte { // call with s.mu held
	a := s.authorizers[appID]
	if a == nil {
		return nil
	}
	fields := []xmlField{{"ToUserName", a.info.UserName, false}, {"FromUserName", auditSystemOpenID, false},
		{"CreateTime", strconv.FormatInt(now.Unix(), 10), true}, {"MsgType", "event", false}, {"Event", name, false},
		{"orderid", orderID, false}}
	if dispatch != nil {
		fields = append(fields, xmlField{"provider", fmt.Sprint(dispatch["provider"]), false},
			xmlField{"contact", fmt.Sprint(dispatch["contact"]), false}, xmlField{"dispatch_time", fmt.Sprint(dispatch["dispatch_time"]), true})
	}
	return xmlMessage(fields...)
}

// submitAuthAndICP: POST /wxa/sec/submit_auth_and_icp, the filing body plus auth_data.
func (s *Server) submitAuthAndICP(c *call) (any, error) {
	var req struct {
		icpApplyBody
		AuthData *authDataBody `json:"auth_data"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if err := checkAuthData(req.AuthData); err != nil {
		return nil, err
	}
	f := s.icp().apps[a.info.AppID]
	if f == nil || f.status == icpFiled {
		return nil, apiErr(wxerr.CodeICPUnfinishedOrder, "already filed")
	}
	if hints := s.icpCheck(c, a.info.AppID, &req.icpApplyBody); len(hints) > 0 {
		return icpRefusal(hints...), nil
	}
	st := s.verify()
	for _, p := range st.procedures { // a resubmission replaces the running procedure of this app
		if p.appID == a.info.AppID && p.status != 26 {
			p.status = 0
		}
	}
	id := "procedure_" + randHex(16)
	p := &procedure{appID: a.info.AppID, status: 17, orderID: "authorder_" + randDigits(16)}
	out := map[string]any{"errcode": 0, "errmsg": "ok", "procedure_id": id}
	if req.AuthData.PayType == 2 {
		p.status = 15
		out["pay_url"] = "https://mp.weixin.qq.com/wxawap/wapay?procedure_id=" + id
	}
	f.order = append(json.RawMessage(nil), c.body...)
	f.subjectName = req.Subject.BaseInfo.Name
	st.procedures[id] = p
	return out, nil
}

func (s *Server) queryAuthAndICP(c *call) (any, error) {
	var req struct {
		ProcedureID string `json:"procedure_id"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	p := s.verify().procedures[req.ProcedureID]
	if p == nil || p.appID != a.info.AppID {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid procedure_id")
	}
	audit := map[string]any{}
	if len(p.auditData) > 0 {
		audit["audit_data"] = p.auditData
	}
	if p.status == 24 {
		audit["sms_verify_status"] = 1
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "procedure_status": p.status, "icp_audit": audit,
		"refill_reason": p.refill, "fail_reason": p.fail, "orderid": p.orderID}, nil
}

// AdvanceAuthAndICP moves the combined procedure procedureID to status along procedureNext (digest
// 14.3: 15 → 16 fee paid → 17 verification review → 18 sent back, 19 verified or 20 failed; 19 →
// 21 ICP order failed or 22 platform review → 23 rejected or 24 regulator review → 25 rejected or
// 26 done; an error for any other move, nothing changed), with reasons for a refusal (the first
// one's Error is refill_reason at 18, fail_reason at 20; audit_data at 23 and 25), and pushes
// notify_3rd_wxa_auth_and_icp (15 → 16 also wx_verify_pay_succ to the message URL). 19 makes the
// mini program verified; 22-26 set its filing status (2-6), 26 files it (release is then allowed).
func (s *Server) AdvanceAuthAndICP(ctx context.Context, procedureID string, status int, reasons ...ICPAuditReason) error {
	now := s.Now()
	s.mu.Lock()
	p := s.verify().procedures[procedureID]
	if p == nil || !slices.Contains(procedureNext[p.status], status) {
		from := -1
		if p != nil {
			from = p.status
		}
		s.mu.Unlock()
		return fmt.Errorf("wxtest: AdvanceAuthAndICP: procedure %q cannot move from %d to %d", procedureID, from, status)
	}
	from := p.status
	p.status, p.auditData = status, append([]ICPAuditReason(nil), reasons...)
	reason := ""
	if len(reasons) > 0 {
		reason = reasons[0].Error
	}
	switch status {
	case 18:
		p.refill = reason
	case 20:
		p.fail = reason
	case 19:
		s.markVerified(p.appID, now)
	}
	if f := s.icp().apps[p.appID]; f != nil && status >= 22 {
		f.status, f.auditData = status-20, nil // 22-26 are the filing's 2-6
		switch status {
		case 23, 25:
			f.auditData = p.auditData
		case 24:
			f.sms = 1
		case 26:
			f.sms, f.record = 2, "京ICP备"+randDigits(8)+"号"
		}
	}
	ev := platformEvent(s.component.AppID, now, "notify_3rd_wxa_auth_and_icp",
		xmlField{"procedure_id", procedureID, false}, xmlField{"procedure_status", strconv.Itoa(status), true})
	var paid []byte
	if from == 15 {
		paid = s.verifyMessage(p.appID, now, "wx_verify_pay_succ", p.orderID, nil)
	}
	s.mu.Unlock()
	err := s.pushPlatformEvent(ctx, ev)
	if paid != nil {
		err = errors.Join(err, s.PushAuthorizerEvent(ctx, p.appID, paid))
	}
	return err
}
