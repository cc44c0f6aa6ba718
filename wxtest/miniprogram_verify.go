package wxtest

// WeChat verification of mini programs (API digest part 2, section 14), alone or combined with the
// ICP filing, on the emulator.
//
//   - uploadauthmaterial: multipart image in "media" → mediaid. authidentitytree: a small tree.
//   - wxaauth / reauth: auth_data checked as WeChat does (40097 with the field: customer_type 1/12/15,
//     contact name and email, invoice_type 1-3, account_name, account_name_type 1/2, pay_type 1/2,
//     service_appid with pay_type 1, identity for a personal subject); reauth only when the order was
//     sent back (apply_status 3). A task starts at task_status 0, apply_status 0.
//   - queryauth: the task of this mini program (40097 otherwise).
//   - VerificationStep plays the administrator, the payment and the reviewers: it sets the task and
//     order states and pushes notify_3rd_wxa_auth; apply_status 4 makes the app verified.
//   - submit_auth_and_icp: auth_data as above and the filing body as apply_icp_filing (86202 with
//     hints); the procedure starts at 17 (platform pays) or 15 (merchant pays, pay_url).
//     AdvanceAuthAndICP moves it (pushing notify_3rd_wxa_auth_and_icp); 19 and later verify the app,
//     26 also files it. query_auth_and_icp answers the state.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"

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
)

type verifyState struct {
	tasks      map[string]*verifyTask // by taskid
	procedures map[string]*procedure  // by procedure_id
}

type verifyTask struct {
	appID                   string
	taskStatus, applyStatus int
	refill, fail            string
}

type procedure struct {
	appID     string
	status    int
	auditData []ICPAuditReason
}

func (s *Server) verify() *verifyState { // call with s.mu held
	return groupState(s, func() *verifyState {
		return &verifyState{tasks: map[string]*verifyTask{}, procedures: map[string]*procedure{}}
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
	if c.r.URL.Path == pathReauth {
		t := st.tasks[id]
		if t == nil || t.appID != a.info.AppID || t.applyStatus != 3 {
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [taskid] not sent back for refill")
		}
		t.applyStatus, t.refill = 2, ""
	} else {
		id = "authtask_" + randHex(16)
		st.tasks[id] = &verifyTask{appID: a.info.AppID}
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "taskid": id, "auth_url": "https://mp.weixin.qq.com/wxawap/waverifyauth?taskid=" + id}, nil
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
	return map[string]any{"errcode": 0, "errmsg": "ok", "appid": t.appID, "task_status": t.taskStatus, "apply_status": t.applyStatus,
		"refill_reason": t.refill, "fail_reason": t.fail, "auth_url": "https://mp.weixin.qq.com/wxawap/waverifyauth?taskid=" + req.TaskID}, nil
}

// VerificationStep plays the administrator, the payment or the reviewers of the verification task
// taskID: it sets its task_status and apply_status (reason is the refill reason for apply_status 3,
// the failure reason for 5) and pushes notify_3rd_wxa_auth. apply_status 4 makes the mini program
// verified (verify_type 0).
func (s *Server) VerificationStep(ctx context.Context, taskID string, taskStatus, applyStatus int, reason string) error {
	now := s.Now()
	s.mu.Lock()
	t := s.verify().tasks[taskID]
	if t == nil {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: VerificationStep: no task %q", taskID)
	}
	t.taskStatus, t.applyStatus = taskStatus, applyStatus
	switch applyStatus {
	case 3:
		t.refill = reason
	case 4:
		if a := s.authorizers[t.appID]; a != nil {
			a.info.VerifyType = 0
		}
	case 5:
		t.fail = reason
	}
	ev := platformEvent(s.component.AppID, now, "notify_3rd_wxa_auth", xmlField{"appid", t.appID, false}, xmlField{"taskid", taskID, false},
		xmlField{"task_status", strconv.Itoa(taskStatus), true}, xmlField{"apply_status", strconv.Itoa(applyStatus), true},
		xmlField{"message", reason, false})
	s.mu.Unlock()
	return s.pushPlatformEvent(ctx, ev)
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
	p := &procedure{appID: a.info.AppID, status: 17}
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
	return map[string]any{"errcode": 0, "errmsg": "ok", "procedure_status": p.status, "icp_audit": audit}, nil
}

// AdvanceAuthAndICP moves the combined procedure procedureID to status (digest 14.3: 16 fee paid,
// 17 verification review, 18 sent back, 19 verified, 20 failed, 22-25 the filing's reviews, 26
// done), with reasons for a rejection, and pushes notify_3rd_wxa_auth_and_icp. 19 and later make
// the mini program verified; 26 also files it (release is then allowed).
func (s *Server) AdvanceAuthAndICP(ctx context.Context, procedureID string, status int, reasons ...ICPAuditReason) error {
	now := s.Now()
	s.mu.Lock()
	p := s.verify().procedures[procedureID]
	if p == nil || p.status == 0 || p.status == 26 {
		s.mu.Unlock()
		return fmt.Errorf("wxtest: AdvanceAuthAndICP: no running procedure %q", procedureID)
	}
	p.status, p.auditData = status, append([]ICPAuditReason(nil), reasons...)
	a := s.authorizers[p.appID]
	if a != nil && status >= 19 && status != 20 {
		a.info.VerifyType = 0
	}
	if f := s.icp().apps[p.appID]; f != nil && status == 26 {
		f.status, f.auditData, f.record = icpFiled, nil, "京ICP备"+randDigits(8)+"号"
	}
	ev := platformEvent(s.component.AppID, now, "notify_3rd_wxa_auth_and_icp",
		xmlField{"procedure_id", procedureID, false}, xmlField{"procedure_status", strconv.Itoa(status), true})
	s.mu.Unlock()
	return s.pushPlatformEvent(ctx, ev)
}
