package miniprogram

import (
	"context"
	"net/url"
	"strconv"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// FastRegistration registers new enterprise mini programs for merchants (快速注册企业小程序) with the
// platform's component access token: no mini program, and so no authorizer, exists yet. The outcome
// is pushed to the platform's authorization event URL as notify_third_fasteregister (parsed by the
// component package) with the new appid and an authorization code for api_query_auth.
type FastRegistration struct {
	caller *authorizer.Caller
	comp   authorizer.Component
}

// NewFastRegistration returns a FastRegistration sending through caller with the component token of
// comp (authorizer.NewCaller). It is wired by wxopen.Platform; calls on one built without a caller or a token source return
// a *wxerr.ValidationError.
func NewFastRegistration(caller *authorizer.Caller, comp authorizer.Component) *FastRegistration {
	return &FastRegistration{caller: caller, comp: comp}
}

// CodeType is the kind of company code given to fast registration.
type CodeType int

// Company code types and the length of their codes.
const (
	CodeTypeCreditCode    CodeType = 1 // unified social credit code, 18 characters
	CodeTypeOrgCode       CodeType = 2 // organisation code, 9 characters (also accepted as "xxxxxxxx-x")
	CodeTypeLicenceNumber CodeType = 3 // business-licence number, 15 characters
)

// FastRegisterRequest is a company whose new mini program the platform registers.
type FastRegisterRequest struct {
	// Name is the company name as registered (sole traders without one: "个体户" + the legal person's name).
	Name string
	// Code is the company code of type CodeType.
	Code     string
	CodeType CodeType
	// LegalPersonaWechat is the legal person's WeChat ID; WeChat sends them a confirmation message.
	LegalPersonaWechat string
	// LegalPersonaName is the legal person's name, as on that WeChat account's bank card.
	LegalPersonaName string
	// ComponentPhone is the platform's contact phone, optional.
	ComponentPhone string
}

type fastRegisterBody struct {
	Name               string   `json:"name"`
	Code               string   `json:"code,omitempty"`
	CodeType           CodeType `json:"code_type,omitempty"`
	LegalPersonaWechat string   `json:"legal_persona_wechat"`
	LegalPersonaName   string   `json:"legal_persona_name"`
	ComponentPhone     string   `json:"component_phone,omitempty"`
}

func validateCompanyCode(t CodeType, code string) error {
	var want int
	switch t {
	case CodeTypeCreditCode:
		want = 18
	case CodeTypeOrgCode:
		want = 9
		if len(code) == 10 && code[8] == '-' {
			code = code[:8] + code[9:]
		}
	case CodeTypeLicenceNumber:
		want = 15
	default:
		return wxerr.Invalid("code_type", "1 (unified social credit code), 2 (organisation code) or 3 (business-licence number)")
	}
	for i := 0; i < len(code); i++ {
		ch := code[i]
		if !('0' <= ch && ch <= '9' || 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z') {
			return wxerr.Invalid("code", "letters and digits only")
		}
	}
	if len(code) != want {
		return wxerr.Invalid("code", strconv.Itoa(want)+" characters for code_type "+strconv.Itoa(int(t))+"; got "+strconv.Itoa(len(code)))
	}
	return nil
}

func (f *FastRegistration) call(ctx context.Context, action string, body any, idempotent bool) error {
	if f == nil || f.caller == nil || f.comp.Token == nil {
		return wxerr.Invalid("component", "FastRegistration needs the HTTP caller and the component token (use NewFastRegistration)")
	}
	return f.caller.Do(ctx, &wxcall.Request{
		Method:     "POST",
		Path:       "/cgi-bin/component/fastregisterweapp",
		Query:      url.Values{"action": {action}},
		Body:       body,
		Token:      f.comp.Token,
		TokenParam: "component_access_token",
		Idempotent: idempotent,
	}, nil)
}

// Create starts the registration of a mini program for the company in r. WeChat answers at once;
// the legal person confirms on their phone and the result is pushed as notify_third_fasteregister.
// 89249 means a task for this company is already running. It is never retried automatically.
//
// WeChat: POST /cgi-bin/component/fastregisterweapp?action=create
func (f *FastRegistration) Create(ctx context.Context, r FastRegisterRequest) error {
	switch {
	case r.Name == "":
		return wxerr.Invalid("name", "required")
	case r.Code == "":
		return wxerr.Invalid("code", "required")
	case r.LegalPersonaWechat == "":
		return wxerr.Invalid("legal_persona_wechat", "required")
	case r.LegalPersonaName == "":
		return wxerr.Invalid("legal_persona_name", "required")
	}
	if err := validateCompanyCode(r.CodeType, r.Code); err != nil {
		return err
	}
	return f.call(ctx, "create", fastRegisterBody{
		Name: r.Name, Code: r.Code, CodeType: r.CodeType,
		LegalPersonaWechat: r.LegalPersonaWechat, LegalPersonaName: r.LegalPersonaName,
		ComponentPhone: r.ComponentPhone,
	}, false)
}

// FastRegisterStatus is the progress of a registration task, as Search reports it. WeChat reports
// progress through the errcode, so these are WeChat's codes.
type FastRegisterStatus int

// Fast registration progress.
const (
	// FastRegisterNoError: WeChat reported no pending step (errcode 0); the result comes as a push.
	FastRegisterNoError FastRegisterStatus = 0
	// FastRegisterNoTask: no task for these details (89250).
	FastRegisterNoTask FastRegisterStatus = 89250
	// FastRegisterWaitingFaceCheck: the legal person was messaged and has not confirmed yet (89251).
	FastRegisterWaitingFaceCheck FastRegisterStatus = 89251
	// FastRegisterChecking: the legal person and company details are being checked (89252).
	FastRegisterChecking FastRegisterStatus = 89252
)

// String describes the status.
func (s FastRegisterStatus) String() string {
	switch s {
	case FastRegisterNoError:
		return "no pending step reported"
	case FastRegisterNoTask:
		return "no task"
	case FastRegisterWaitingFaceCheck:
		return "waiting for the legal person's face verification"
	case FastRegisterChecking:
		return "checking legal person and company details"
	}
	return "FastRegisterStatus(" + strconv.Itoa(int(s)) + ")"
}

// Search reports the progress of the registration task for a company name and its legal person.
// The progress codes 89250, 89251 and 89252 are returned as a FastRegisterStatus with a nil error;
// any other errcode is a *wxerr.APIError.
//
// WeChat: POST /cgi-bin/component/fastregisterweapp?action=search
func (f *FastRegistration) Search(ctx context.Context, name, legalPersonaWechat, legalPersonaName string) (FastRegisterStatus, error) {
	switch {
	case name == "":
		return 0, wxerr.Invalid("name", "required")
	case legalPersonaWechat == "":
		return 0, wxerr.Invalid("legal_persona_wechat", "required")
	case legalPersonaName == "":
		return 0, wxerr.Invalid("legal_persona_name", "required")
	}
	err := f.call(ctx, "search", fastRegisterBody{Name: name, LegalPersonaWechat: legalPersonaWechat, LegalPersonaName: legalPersonaName}, true)
	switch code := wxerr.CodeOf(err); code {
	case wxerr.CodeFastRegNoTask, wxerr.CodeFastRegWaitingFace, wxerr.CodeFastRegChecking:
		return FastRegisterStatus(code), nil
	}
	if err != nil {
		return 0, err
	}
	return FastRegisterNoError, nil
}
