package miniprogram

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// ICPService files the mini program with the regulator (小程序备案, API digest part 2, section 13).
// Since 2023-09 a mini program that is not filed cannot be released (wxa/release answers
// wxerr.ErrReleaseNotICPFiled). The order is: read the look-up tables (cached for the whole
// platform), upload the materials (UploadMedia), start the administrator's face check
// (CreateVerifyTask) and wait for it (QueryVerifyTask or the notify_icpfiling_verify_result push),
// then Apply; the platform and then the regulator review it (EntranceInfo, or the
// notify_apply_icpfiling_result push) until ICPFiled. Get one with Client.ICP; it is a cheap value.
// Every call needs permission set 18 or 156.
type ICPService struct {
	c *Client
}

// ICP returns the mini program's ICP filing service. Its look-up tables are cached in the
// ICPLookups the Client was built with (NewWithICPLookups; wxopen.Platform shares one for all its
// mini programs); without one they are read from WeChat every time.
func (c *Client) ICP() ICPService { return ICPService{c: c} }

// NewWithICPLookups is New with a cache of the ICP look-up tables (nil: no cache). The tables are
// the same for every mini program, so one ICPLookups serves a whole platform.
func NewWithICPLookups(a *authorizer.Client, l *ICPLookups) *Client { return &Client{a: a, icp: l} }

// ICP call paths (digest 13.1).
const (
	pathICPEntranceInfo   = "/wxa/icp/get_icp_entrance_info"
	pathICPOnlineOrder    = "/wxa/icp/get_online_icp_order"
	pathICPCreateTask     = "/wxa/icp/create_icp_verifytask"
	pathICPQueryTask      = "/wxa/icp/query_icp_verifytask"
	pathICPUploadMedia    = "/wxa/icp/upload_icp_media"
	pathICPGetMedia       = "/wxa/icp/get_icp_media"
	pathICPApply          = "/wxa/icp/apply_icp_filing"
	pathICPCancelApply    = "/wxa/icp/cancel_apply_icp_filing"
	pathICPCancelFiling   = "/wxa/icp/cancel_icp_filing"
	pathICPSubjectTypes   = "/wxa/icp/query_icp_subject_types"
	pathICPCertTypes      = "/wxa/icp/query_icp_certificate_types"
	pathICPDistricts      = "/wxa/icp/query_icp_district_code"
	pathICPNrlxTypes      = "/wxa/icp/query_icp_nrlx_types"
	pathICPServiceContent = "/wxa/icp/query_icp_service_content_types"
)

// ICPFaceStatus is the state of the administrator's face check (face_status).
type ICPFaceStatus int

// Face check states (digest 13.2); final only when the task reports IsFinish.
const (
	ICPFaceNotStarted ICPFaceStatus = 0
	ICPFaceWaiting    ICPFaceStatus = 1
	ICPFaceFailed     ICPFaceStatus = 2
	ICPFaceSucceeded  ICPFaceStatus = 3
)

// String names the state.
func (s ICPFaceStatus) String() string {
	switch s {
	case ICPFaceNotStarted:
		return "not started"
	case ICPFaceWaiting:
		return "waiting for the administrator"
	case ICPFaceFailed:
		return "failed"
	case ICPFaceSucceeded:
		return "succeeded"
	}
	return "ICPFaceStatus(" + strconv.Itoa(int(s)) + ")"
}

// ICPVerifyTask is a started face check: TaskID goes into the applet principal's VerifyTaskID.
type ICPVerifyTask struct {
	TaskID string `json:"task_id"`
	// VerifyURL is the page the administrator opens in WeChat; only for a task created along with
	// WeChat verification (the combined flow, digest 14.3).
	VerifyURL string `json:"verify_url"`
}

// ICP face-check task lifetimes (digest 13.2): how long a task id may be used by Apply.
const (
	ICPVerifyTaskTTL         = 72 * time.Hour
	ICPVerifyTaskWithAuthTTL = 24 * time.Hour
)

// CreateVerifyTask starts the administrator's face check: WeChat sends them a notice, valid 24 h.
// Prepare every other material first (the task id is usable for 3 days, 1 day along with
// verification) and check the daily apply limit: a task wasted by a refused apply must be recreated.
// alongWithAuth starts the combined verification-and-filing check. It is sent once.
//
// WeChat: POST /wxa/icp/create_icp_verifytask
func (s ICPService) CreateVerifyTask(ctx context.Context, alongWithAuth bool) (*ICPVerifyTask, error) {
	var out ICPVerifyTask
	if err := s.c.call(ctx, post(pathICPCreateTask, map[string]bool{"along_with_auth": alongWithAuth}, false), &out); err != nil {
		return nil, err
	}
	if out.TaskID == "" {
		return nil, errors.New("wxopen: POST " + pathICPCreateTask + ": answer has no task_id")
	}
	return &out, nil
}

// ICPVerifyTaskStatus is the state of a face check.
type ICPVerifyTaskStatus struct {
	// IsFinish says FaceStatus is final.
	IsFinish   bool          `json:"is_finish"`
	FaceStatus ICPFaceStatus `json:"face_status"`
	// AlongWithAuthResult is 9 once the verification flow's SMS check passed (combined flow only).
	AlongWithAuthResult int `json:"along_with_auth_result"`
}

// Passed reports whether the face check finished successfully: the task id may go into Apply.
func (t *ICPVerifyTaskStatus) Passed() bool { return t.IsFinish && t.FaceStatus == ICPFaceSucceeded }

// Failed reports whether the face check finished without success: create a new task.
func (t *ICPVerifyTaskStatus) Failed() bool { return t.IsFinish && t.FaceStatus != ICPFaceSucceeded }

// QueryVerifyTask reads the state of the face check taskID.
//
// WeChat: POST /wxa/icp/query_icp_verifytask
func (s ICPService) QueryVerifyTask(ctx context.Context, taskID string) (*ICPVerifyTaskStatus, error) {
	if taskID == "" {
		return nil, wxerr.Invalid("task_id", "required")
	}
	var out ICPVerifyTaskStatus
	if err := s.c.call(ctx, post(pathICPQueryTask, map[string]string{"task_id": taskID}, true), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CheckVerifyTask reads the face check taskID and returns nil when it passed, an error naming the
// state otherwise (*ICPFaceCheckError): the last check before Apply.
func (s ICPService) CheckVerifyTask(ctx context.Context, taskID string) error {
	st, err := s.QueryVerifyTask(ctx, taskID)
	if err != nil {
		return err
	}
	if st.Passed() {
		return nil
	}
	return &ICPFaceCheckError{TaskID: taskID, Status: *st}
}

// ICPFaceCheckError is CheckVerifyTask's answer for a face check that has not passed.
type ICPFaceCheckError struct {
	TaskID string
	Status ICPVerifyTaskStatus
}

// Error describes the state and what to do.
func (e *ICPFaceCheckError) Error() string {
	if e.Status.IsFinish {
		return "wxopen: ICP face check " + e.TaskID + " finished without success (" + e.Status.FaceStatus.String() + "): create a new task"
	}
	return "wxopen: ICP face check " + e.TaskID + " not finished (" + e.Status.FaceStatus.String() + "): the administrator must complete it"
}

// ICPMediaKind is the kind of a filing material.
type ICPMediaKind string

// Material kinds.
const (
	ICPMediaImage ICPMediaKind = "image"
	ICPMediaVideo ICPMediaKind = "video"
)

// Limits of filing materials. UNVERIFIED (digest 13.3: the commonly quoted values): images JPEG or
// PNG up to 5 MB, the promise video MP4 up to 100 MB.
const (
	MaxICPImageSize = 5 << 20
	MaxICPVideoSize = 100 << 20
)

// ICPMediaUpload is one filing material to upload.
type ICPMediaUpload struct {
	Kind ICPMediaKind
	// OrderField is the path of the application field the file is for, such as
	// "icp_subject.principal_info.certificate_photo_front" (one path even if the file is reused).
	OrderField string
	// CertificateType is the certificate type of a certificate photo (a wrong one is accepted here
	// and fails only at Apply, with hint 86328); 0 for other files.
	CertificateType int
	FileName        string
	Data            []byte
}

// ICPMedia is an uploaded filing material.
type ICPMedia struct {
	Type      ICPMediaKind `json:"type"`
	MediaID   string       `json:"media_id"`
	CreatedAt time.Time    `json:"-"`
}

func validOrderField(f string) bool {
	for _, p := range []string{"icp_subject.", "icp_applets.", "icp_materials."} {
		if strings.HasPrefix(f, p) && len(f) > len(p) {
			return true
		}
	}
	return false
}

// UploadMedia uploads a filing material and returns its media id. Images must be JPEG or PNG (by
// content) and at most MaxICPImageSize; videos MP4 and at most MaxICPVideoSize. It is sent once.
//
// WeChat: POST /wxa/icp/upload_icp_media
func (s ICPService) UploadMedia(ctx context.Context, u ICPMediaUpload) (*ICPMedia, error) {
	if !validOrderField(u.OrderField) {
		return nil, wxerr.Invalid("icp_order_field", "the path of the application field the file is for, e.g. icp_subject.principal_info.certificate_photo_front")
	}
	if u.CertificateType < 0 {
		return nil, wxerr.Invalid("certificate_type", "a certificate type of CertificateTypes, or 0")
	}
	if u.FileName == "" {
		return nil, wxerr.Invalid("filename", "required")
	}
	if len(u.Data) == 0 {
		return nil, wxerr.Invalid("media", "the file is empty")
	}
	ctype := ""
	switch u.Kind {
	case ICPMediaImage:
		f, ok := DetectImageFormat(u.Data)
		if !ok || (f != ImageJPEG && f != ImagePNG) {
			return nil, wxerr.Invalid("media", "a filing image must be JPEG or PNG (checked by content)")
		}
		if len(u.Data) > MaxICPImageSize {
			return nil, wxerr.Invalid("media", "a filing image is at most 5 MB")
		}
		ctype = f.ContentType()
	case ICPMediaVideo:
		if len(u.Data) < 12 || string(u.Data[4:8]) != "ftyp" {
			return nil, wxerr.Invalid("media", "a filing video must be an MP4")
		}
		if len(u.Data) > MaxICPVideoSize {
			return nil, wxerr.Invalid("media", "a filing video is at most 100 MB")
		}
		ctype = "video/mp4"
	default:
		return nil, wxerr.Invalid("type", "image or video")
	}
	fields := map[string]string{"type": string(u.Kind), "icp_order_field": u.OrderField}
	if u.CertificateType > 0 {
		fields["certificate_type"] = strconv.Itoa(u.CertificateType)
	}
	req := &wxcall.Request{Method: "POST", Path: pathICPUploadMedia,
		Upload: &wxcall.Upload{Field: "media", FileName: u.FileName, ContentType: ctype, Data: u.Data, Fields: fields}}
	var out struct {
		ICPMedia
		CreatedAt int64 `json:"created_at"`
	}
	if err := s.c.call(ctx, req, &out); err != nil {
		return nil, err
	}
	if out.MediaID == "" {
		return nil, errors.New("wxopen: POST " + pathICPUploadMedia + ": answer has no media_id")
	}
	m := out.ICPMedia
	if out.CreatedAt > 0 {
		m.CreatedAt = time.Unix(out.CreatedAt, 0)
	}
	return &m, nil
}

// Media downloads an uploaded filing material and returns its bytes and content type.
//
// WeChat: GET /wxa/icp/get_icp_media
func (s ICPService) Media(ctx context.Context, mediaID string) ([]byte, string, error) {
	if mediaID == "" {
		return nil, "", wxerr.Invalid("media_id", "required")
	}
	if err := s.c.ready(); err != nil {
		return nil, "", err
	}
	req := get(pathICPGetMedia)
	req.Query = map[string][]string{"media_id": {mediaID}}
	return s.c.a.CallBytes(ctx, req)
}

// ICPAuditItem is one reason of a rejection (audit_data).
type ICPAuditItem struct {
	KeyName string `json:"key_name"`
	Error   string `json:"error"`
	Suggest string `json:"suggest"`
}

// ICPEntranceInfo is the filing state of the mini program.
type ICPEntranceInfo struct {
	Status ICPStatus `json:"status"`
	// IsCanceling says a cancellation of the filing is running.
	IsCanceling bool `json:"is_canceling"`
	// Available is 1 when the filing entrance is open for this app (apply only then).
	Available int `json:"available"`
	// SMSVerifyStatus is, under regulator review, the principal's MIIT SMS check: 1 waiting, 2 done,
	// 3 timed out.
	SMSVerifyStatus int `json:"sms_verify_status"`
	// AuditData are the reasons of a rejection (statuses 3 and 5).
	AuditData []ICPAuditItem `json:"audit_data"`
}

// CanApply reports whether Apply may be sent now: the entrance is open and the status allows it.
func (e *ICPEntranceInfo) CanApply() bool { return e.Available == 1 && e.Status.CanApply() }

// EntranceInfo reads the filing state, the rejection reasons and whether the entrance is open.
//
// WeChat: GET /wxa/icp/get_icp_entrance_info
func (s ICPService) EntranceInfo(ctx context.Context) (*ICPEntranceInfo, error) {
	var out struct {
		Info ICPEntranceInfo `json:"info"`
	}
	if err := s.c.call(ctx, get(pathICPEntranceInfo), &out); err != nil {
		return nil, err
	}
	return &out.Info, nil
}

// ICPOnlineOrder is the filing as the regulator recorded it (after ICPFiled): the application
// without media, with the record numbers filled.
type ICPOnlineOrder struct {
	Subject ICPSubject `json:"icp_subject"`
	Applets ICPApplets `json:"icp_applets"`
}

// OnlineOrder reads the filed details, with the record numbers.
//
// WeChat: GET /wxa/icp/get_online_icp_order
func (s ICPService) OnlineOrder(ctx context.Context) (*ICPOnlineOrder, error) {
	var out ICPOnlineOrder
	if err := s.c.call(ctx, get(pathICPOnlineOrder), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// WithdrawApplication withdraws the filing application; only possible before the platform review
// finished (86330 otherwise, 86368 when there is none). It is sent once.
//
// WeChat: POST /wxa/icp/cancel_apply_icp_filing
func (s ICPService) WithdrawApplication(ctx context.Context) error {
	return s.c.call(ctx, post(pathICPCancelApply, json.RawMessage("{}"), false), nil)
}

// ICPCancelType is what a cancellation removes.
type ICPCancelType int

// Cancellation kinds (cancel_type).
const (
	ICPCancelSubject           ICPCancelType = 1 // the subject's filing
	ICPCancelMiniProgram       ICPCancelType = 2 // the mini program's filing
	ICPCancelWeChatMiniProgram ICPCancelType = 3 // the WeChat mini program's filing
)

// ICPCancelReason says why (reason_type, optional).
type ICPCancelReason int

// Cancellation reasons.
const (
	ICPCancelNoLongerOperated ICPCancelReason = 1
	ICPCancelSubjectChanged   ICPCancelReason = 2
)

// CancelFiling cancels an existing filing. It is irreversible once the principal answers MIIT's
// confirmation SMS (ignoring it aborts the cancellation). reason may be 0 (none given). 86324:
// already under review; 86353: not filed. It is sent once.
//
// WeChat: POST /wxa/icp/cancel_icp_filing
func (s ICPService) CancelFiling(ctx context.Context, kind ICPCancelType, reason ICPCancelReason) error {
	if kind < ICPCancelSubject || kind > ICPCancelWeChatMiniProgram {
		return wxerr.Invalid("cancel_type", "1 subject, 2 mini program or 3 WeChat mini program")
	}
	if reason != 0 && reason != ICPCancelNoLongerOperated && reason != ICPCancelSubjectChanged {
		return wxerr.Invalid("reason_type", "0 (none), 1 no longer operated or 2 subject information changed")
	}
	body := struct {
		CancelType ICPCancelType   `json:"cancel_type"`
		ReasonType ICPCancelReason `json:"reason_type,omitempty"`
	}{kind, reason}
	return s.c.call(ctx, post(pathICPCancelFiling, body, false), nil)
}

// checkICP is Readiness's filing gate: release is refused until the filing is done.
func (c *Client) checkICP(ctx context.Context, o *gateReads) error {
	info, err := c.ICP().EntranceInfo(ctx)
	if o.count(err) != nil {
		return err
	}
	if info.Status.Filed() {
		return nil
	}
	detail := "ICP filing: " + info.Status.String()
	for _, a := range info.AuditData {
		detail += "; " + a.KeyName + ": " + a.Error
	}
	if info.Available != 1 && info.Status.CanApply() {
		detail += "; the filing entrance is closed for this mini program"
	}
	o.add(GateICPFiling, StageRelease, wxerr.CodeReleaseNotICPFiled, detail, info.Status.Next())
	return nil
}
