package miniprogram

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// WeChat verification (微信认证, API digest part 2, section 14): since 2023-12-25 a fast-registered
// mini program starts unverified. Verification alone (SubmitVerification, then the administrator
// opens AuthURL), or together with the ICP filing (SubmitAuthAndICP). The bodies rest on one source
// ([WJ]); the paths are solid.

// CustomerType is the kind of subject being verified.
type CustomerType int

// Subject kinds (customer_type).
const (
	CustomerEnterprise CustomerType = 1
	CustomerSoleTrader CustomerType = 12
	CustomerPersonal   CustomerType = 15
)

// InvoiceType is the invoice wanted for the verification fee.
type InvoiceType int

// Invoice kinds; it must be InvoiceNone when the platform pays.
const (
	InvoiceNone       InvoiceType = 1
	InvoiceElectronic InvoiceType = 2
	InvoiceVAT        InvoiceType = 3
)

// AuthPayType says who pays the verification fee.
type AuthPayType int

// Payers (pay_type).
const (
	AuthPaidByPlatform AuthPayType = 1 // the platform's prepaid package; needs ServiceAppID
	AuthPaidByMerchant AuthPayType = 2 // the merchant pays at pay_url
)

// AuthInvoice is the invoice of the fee.
type AuthInvoice struct {
	Type InvoiceType `json:"invoice_type"`
	// Title is the subject's name; required unless Type is InvoiceNone.
	Title      string `json:"invoice_title,omitempty"`
	Electronic *struct {
		ID   string `json:"id"`
		Desc string `json:"desc,omitempty"`
	} `json:"electronic,omitempty"`
	VAT *struct {
		EnterprisePhone   string `json:"enterprise_phone"`
		EnterpriseAddress string `json:"enterprise_address"`
		BankName          string `json:"bank_name"`
		BankAccount       string `json:"bank_account"`
		MailingAddress    string `json:"mailing_address"`
	} `json:"vat,omitempty"`
}

// AuthData is a verification application (auth_data).
type AuthData struct {
	CustomerType CustomerType `json:"customer_type"`
	Contact      struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"contact_info"`
	Invoice AuthInvoice `json:"invoice_info"`
	// QualificationOther are extra subject documents (UploadAuthMaterial ids), at most 10.
	QualificationOther []string `json:"qualification_other,omitempty"`
	// AccountName is the name to verify; AccountNameType 1 chosen words, 2 trademark-based.
	AccountName     string `json:"account_name"`
	AccountNameType int    `json:"account_name_type"`
	// AccountSupplemental are documents for a name with protected keywords.
	AccountSupplemental []string    `json:"account_supplemental,omitempty"`
	PayType             AuthPayType `json:"pay_type"`
	// AuthIdentification (a leaf name of IdentityTree) and AuthIdentMaterial (its proof) are
	// required for a personal subject.
	AuthIdentification string `json:"auth_identification,omitempty"`
	AuthIdentMaterial  string `json:"auth_ident_material,omitempty"`
	// ThirdPartyPhone is the platform's contact phone.
	ThirdPartyPhone string `json:"third_party_phone"`
	// ServiceAppID is the service-market appid; required with AuthPaidByPlatform (unverified).
	ServiceAppID string `json:"service_appid,omitempty"`
	// TaskID is set by ResubmitVerification.
	TaskID string `json:"taskid,omitempty"`
}

// Validate checks the rules the digest names before anything is sent.
func (d *AuthData) Validate() error {
	switch d.CustomerType {
	case CustomerEnterprise, CustomerSoleTrader, CustomerPersonal:
	default:
		return wxerr.Invalid("auth_data.customer_type", "1 enterprise, 12 sole trader or 15 personal")
	}
	switch {
	case d.Contact.Name == "":
		return wxerr.Invalid("auth_data.contact_info.name", "required")
	case !validEmail(d.Contact.Email):
		return wxerr.Invalid("auth_data.contact_info.email", "an email address")
	}
	switch d.Invoice.Type {
	case InvoiceNone:
	case InvoiceElectronic:
		if d.Invoice.Electronic == nil || d.Invoice.Electronic.ID == "" {
			return wxerr.Invalid("auth_data.invoice_info.electronic.id", "the tax number is required for an electronic invoice")
		}
	case InvoiceVAT:
		if v := d.Invoice.VAT; v == nil || v.EnterprisePhone == "" || v.EnterpriseAddress == "" || v.BankName == "" || v.BankAccount == "" || v.MailingAddress == "" {
			return wxerr.Invalid("auth_data.invoice_info.vat", "phone, address, bank name, bank account and mailing address are required for a VAT invoice")
		}
	default:
		return wxerr.Invalid("auth_data.invoice_info.invoice_type", "1 none, 2 electronic or 3 VAT special")
	}
	switch {
	case d.Invoice.Type != InvoiceNone && d.Invoice.Title == "":
		return wxerr.Invalid("auth_data.invoice_info.invoice_title", "the subject's name, required with an invoice")
	case d.PayType == AuthPaidByPlatform && d.Invoice.Type != InvoiceNone:
		return wxerr.Invalid("auth_data.invoice_info.invoice_type", "must be 1 (none) when the platform pays")
	case len(d.QualificationOther) > 10:
		return wxerr.Invalid("auth_data.qualification_other", "at most 10 media ids")
	case d.AccountName == "":
		return wxerr.Invalid("auth_data.account_name", "required")
	case d.AccountNameType != 1 && d.AccountNameType != 2:
		return wxerr.Invalid("auth_data.account_name_type", "1 chosen words or 2 trademark-based")
	case d.PayType != AuthPaidByPlatform && d.PayType != AuthPaidByMerchant:
		return wxerr.Invalid("auth_data.pay_type", "1 platform's package or 2 merchant pays")
	case d.PayType == AuthPaidByPlatform && d.ServiceAppID == "":
		return wxerr.Invalid("auth_data.service_appid", "required when the platform pays")
	case d.CustomerType == CustomerPersonal && (d.AuthIdentification == "" || d.AuthIdentMaterial == ""):
		return wxerr.Invalid("auth_data.auth_identification", "a personal subject needs an identity (IdentityTree leaf) and its proof")
	case d.ThirdPartyPhone == "":
		return wxerr.Invalid("auth_data.third_party_phone", "required: the platform's contact phone")
	}
	return nil
}

// UploadAuthMaterial uploads a verification document (an image, by content) and returns its id.
//
// WeChat: POST /wxa/sec/uploadauthmaterial
func (c *Client) UploadAuthMaterial(ctx context.Context, filename string, image []byte) (string, error) {
	f, ok := DetectImageFormat(image)
	switch {
	case filename == "":
		return "", wxerr.Invalid("filename", "required")
	case !ok:
		return "", wxerr.Invalid("media", "an image: JPEG, PNG, GIF or BMP (checked by content)")
	}
	var out struct {
		MediaID string `json:"mediaid"`
	}
	req := &wxcall.Request{Method: "POST", Path: "/wxa/sec/uploadauthmaterial",
		Upload: &wxcall.Upload{Field: "media", FileName: filename, ContentType: f.ContentType(), Data: image}}
	if err := c.call(ctx, req, &out); err != nil {
		return "", err
	}
	if out.MediaID == "" {
		return "", errors.New("wxopen: POST /wxa/sec/uploadauthmaterial: answer has no mediaid")
	}
	return out.MediaID, nil
}

// IdentityNode is a node of the personal identity tree; leaves carry the requirement.
type IdentityNode struct {
	Name     string `json:"name"`
	NodeID   int    `json:"node_id"`
	LeafInfo *struct {
		Requirement string `json:"requirement"`
	} `json:"leaf_info,omitempty"`
	Children []IdentityNode `json:"node_list,omitempty"`
}

// IdentityTree returns the identities a personal subject may be verified as.
//
// WeChat: GET /wxa/sec/authidentitytree
func (c *Client) IdentityTree(ctx context.Context) ([]IdentityNode, error) {
	var out struct {
		Nodes []IdentityNode `json:"node_list"`
	}
	return out.Nodes, c.call(ctx, get("/wxa/sec/authidentitytree"), &out)
}

// VerificationTask is a submitted verification: the administrator opens AuthURL in WeChat to
// authorise, verify their face and confirm by SMS.
type VerificationTask struct {
	TaskID  string `json:"taskid"`
	AuthURL string `json:"auth_url"`
}

// VerifyTaskStatus is the progress of the administrator's part (task_status).
type VerifyTaskStatus int

// Task states (digest 14.1).
const (
	VerifyTaskInitial        VerifyTaskStatus = 0
	VerifyTaskTimedOut       VerifyTaskStatus = 1
	VerifyTaskRefused        VerifyTaskStatus = 2
	VerifyTaskAgreed         VerifyTaskStatus = 3
	VerifyTaskFaceStarted    VerifyTaskStatus = 4
	VerifyTaskFaceFailed     VerifyTaskStatus = 5
	VerifyTaskFaceOK         VerifyTaskStatus = 6
	VerifyTaskSMSSent        VerifyTaskStatus = 7
	VerifyTaskSMSFailed      VerifyTaskStatus = 8
	VerifyTaskSMSOK          VerifyTaskStatus = 9
	VerifyTaskOrderFailed    VerifyTaskStatus = 11
	VerifyTaskOrderCreated   VerifyTaskStatus = 12
	VerifyTaskFailed         VerifyTaskStatus = 14
	VerifyTaskWaitingPayment VerifyTaskStatus = 15
)

// VerifyApplyStatus is the state of the verification order (apply_status).
type VerifyApplyStatus int

// Order states (digest 14.1).
const (
	VerifyApplyNone           VerifyApplyStatus = 0
	VerifyApplyWaitingPayment VerifyApplyStatus = 1
	VerifyApplyReviewing      VerifyApplyStatus = 2
	VerifyApplyRefill         VerifyApplyStatus = 3
	VerifyApplyVerified       VerifyApplyStatus = 4
	VerifyApplyFailed         VerifyApplyStatus = 5
)

// Next says what the merchant or the platform must do in this order state.
func (s VerifyApplyStatus) Next() string {
	switch s {
	case VerifyApplyNone:
		return "the administrator must open auth_url and complete the authorisation, face check and SMS check"
	case VerifyApplyWaitingPayment:
		return "pay the verification fee"
	case VerifyApplyReviewing:
		return "wait for the verification review"
	case VerifyApplyRefill:
		return "fix what refill_reason names and ResubmitVerification"
	case VerifyApplyVerified:
		return "nothing: verified"
	case VerifyApplyFailed:
		return "verification failed for good: submit a new application"
	}
	return "VerifyApplyStatus(" + strconv.Itoa(int(s)) + "): read QueryVerification again later"
}

// VerificationState is what QueryVerification reports.
type VerificationState struct {
	AppID        string            `json:"appid"`
	TaskStatus   VerifyTaskStatus  `json:"task_status"`
	AuthURL      string            `json:"auth_url"`
	ApplyStatus  VerifyApplyStatus `json:"apply_status"`
	OrderID      string            `json:"orderid"`
	RefillReason string            `json:"refill_reason"`
	FailReason   string            `json:"fail_reason"`
	// DispatchInfo is set once a verification provider has been assigned.
	DispatchInfo *VerifyDispatch `json:"dispatch_info,omitempty"`
}

// VerifyDispatch is the verification provider assigned to an application.
type VerifyDispatch struct {
	Provider string `json:"provider"`
	Contact  string `json:"contact"`
	// DispatchTime is when it was assigned (dispatch_time, unix seconds on the wire); zero when
	// WeChat gave none.
	DispatchTime time.Time `json:"-"`
}

// UnmarshalJSON decodes WeChat's form, dispatch_time in unix seconds.
func (d *VerifyDispatch) UnmarshalJSON(b []byte) error {
	type plain VerifyDispatch
	var w struct {
		plain
		DispatchTime int64 `json:"dispatch_time"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*d = VerifyDispatch(w.plain)
	d.DispatchTime = unixTime(w.DispatchTime)
	return nil
}

// MarshalJSON encodes WeChat's form again.
func (d VerifyDispatch) MarshalJSON() ([]byte, error) {
	type plain VerifyDispatch
	return json.Marshal(struct {
		plain
		DispatchTime int64 `json:"dispatch_time"`
	}{plain(d), unixSeconds(d.DispatchTime)})
}

// SubmitVerification applies for WeChat verification; the result comes as notify_3rd_wxa_auth
// pushes (component.VerificationEvent). It is sent once.
//
// WeChat: POST /wxa/sec/wxaauth
func (c *Client) SubmitVerification(ctx context.Context, d AuthData) (*VerificationTask, error) {
	d.TaskID = ""
	return c.verification(ctx, "/wxa/sec/wxaauth", d)
}

// ResubmitVerification sends the application of taskID again after a refill (VerifyApplyRefill).
//
// WeChat: POST /wxa/sec/reauth
func (c *Client) ResubmitVerification(ctx context.Context, taskID string, d AuthData) (*VerificationTask, error) {
	if taskID == "" {
		return nil, wxerr.Invalid("taskid", "required")
	}
	d.TaskID = taskID
	return c.verification(ctx, "/wxa/sec/reauth", d)
}

func (c *Client) verification(ctx context.Context, path string, d AuthData) (*VerificationTask, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	var out VerificationTask
	if err := c.call(ctx, post(path, map[string]AuthData{"auth_data": d}, false), &out); err != nil {
		return nil, err
	}
	if out.TaskID == "" {
		out.TaskID = d.TaskID
	}
	if out.TaskID == "" {
		return nil, errors.New("wxopen: POST " + path + ": answer has no taskid")
	}
	return &out, nil
}

// QueryVerification reads the state of the verification task taskID.
//
// WeChat: POST /wxa/sec/queryauth
func (c *Client) QueryVerification(ctx context.Context, taskID string) (*VerificationState, error) {
	if taskID == "" {
		return nil, wxerr.Invalid("taskid", "required")
	}
	var out VerificationState
	if err := c.call(ctx, post("/wxa/sec/queryauth", map[string]string{"taskid": taskID}, true), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ProcedureStatus is the state of a combined verification-and-filing procedure.
type ProcedureStatus int

// Procedure states (digest 14.3); users have seen undocumented ones (9, 27): treat unknown values
// as in progress.
const (
	ProcedureWaitingFee           ProcedureStatus = 15
	ProcedureFeePaid              ProcedureStatus = 16
	ProcedureVerifyReview         ProcedureStatus = 17
	ProcedureVerifyRefill         ProcedureStatus = 18
	ProcedureVerified             ProcedureStatus = 19
	ProcedureVerifyFailed         ProcedureStatus = 20
	ProcedureICPOrderFailed       ProcedureStatus = 21
	ProcedureICPPlatformReview    ProcedureStatus = 22
	ProcedureICPPlatformRejected  ProcedureStatus = 23
	ProcedureICPRegulatorReview   ProcedureStatus = 24
	ProcedureICPRegulatorRejected ProcedureStatus = 25
	ProcedureDone                 ProcedureStatus = 26
)

// Done reports whether verification and filing are both done.
func (s ProcedureStatus) Done() bool { return s == ProcedureDone }

// Next says what to do in this state.
func (s ProcedureStatus) Next() string {
	switch s {
	case ProcedureWaitingFee:
		return "the merchant pays at pay_url"
	case ProcedureFeePaid, ProcedureVerifyReview, ProcedureVerified, ProcedureICPPlatformReview:
		return "wait"
	case ProcedureVerifyRefill, ProcedureICPOrderFailed, ProcedureICPPlatformRejected, ProcedureICPRegulatorRejected:
		return "fix what refill_reason or icp_audit names and SubmitAuthAndICP again"
	case ProcedureVerifyFailed:
		return "verification failed for good"
	case ProcedureICPRegulatorReview:
		return "the principal must answer the regulator's (MIIT) SMS"
	case ProcedureDone:
		return "nothing: verified and filed"
	}
	return "in progress (undocumented state " + strconv.Itoa(int(s)) + "): query again later"
}

// AuthAndICPState is what QueryAuthAndICP reports.
type AuthAndICPState struct {
	Status       ProcedureStatus `json:"procedure_status"`
	OrderID      string          `json:"orderid"`
	RefillReason string          `json:"refill_reason"`
	FailReason   string          `json:"fail_reason"`
	ICPAudit     struct {
		Hints           []ICPHint      `json:"hints"`
		AuditData       []ICPAuditItem `json:"audit_data"`
		SMSVerifyStatus int            `json:"sms_verify_status"`
	} `json:"icp_audit"`
}

// AuthAndICPProcedure is a submitted combined procedure.
type AuthAndICPProcedure struct {
	ProcedureID string `json:"procedure_id"`
	// PayURL is where the merchant pays (AuthPaidByMerchant).
	PayURL string `json:"pay_url"`
}

// SubmitAuthAndICP applies for verification and ICP filing in one procedure (the face check task
// of the application is created with CreateVerifyTask(ctx, true)). Both parts are validated first;
// field errors come back as *ICPApplyError. Rejections are fixed by submitting again. It is sent
// once; progress is pushed as notify_3rd_wxa_auth_and_icp (component.AuthAndICPEvent).
//
// WeChat: POST /wxa/sec/submit_auth_and_icp
func (s ICPService) SubmitAuthAndICP(ctx context.Context, a *ICPApplication, d AuthData) (*AuthAndICPProcedure, error) {
	if a == nil {
		return nil, wxerr.Invalid("application", "required")
	}
	if err := s.c.ready(); err != nil {
		return nil, err
	}
	app := *a
	if app.Applets.BaseInfo.AppID == "" {
		app.Applets.BaseInfo.AppID = s.c.AppID()
	}
	if err := app.Validate(); err != nil {
		return nil, err
	}
	d.TaskID = ""
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if err := s.validateTables(ctx, &app); err != nil {
		return nil, err
	}
	body := struct {
		*ICPApplication
		AuthData AuthData `json:"auth_data"`
	}{&app, d}
	req := post("/wxa/sec/submit_auth_and_icp", body, false)
	var raw []byte
	req.ErrorBody = &raw
	var out AuthAndICPProcedure
	if err := s.c.call(ctx, req, &out); err != nil {
		return nil, applyError(err, raw)
	}
	if out.ProcedureID == "" {
		return nil, errors.New("wxopen: POST /wxa/sec/submit_auth_and_icp: answer has no procedure_id")
	}
	return &out, nil
}

// QueryAuthAndICP reads the state of the combined procedure procedureID.
//
// WeChat: POST /wxa/sec/query_auth_and_icp
func (s ICPService) QueryAuthAndICP(ctx context.Context, procedureID string) (*AuthAndICPState, error) {
	if procedureID == "" {
		return nil, wxerr.Invalid("procedure_id", "required")
	}
	var out AuthAndICPState
	if err := s.c.call(ctx, post("/wxa/sec/query_auth_and_icp", map[string]string{"procedure_id": procedureID}, true), &out); err != nil {
		return nil, err
	}
	return &out, nil
}
