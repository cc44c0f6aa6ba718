package miniprogram

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// The other fast-registration routes (API digest part 2, section 15): a personal mini program, a
// trial ("beta") mini program and its later verification, and a mini program registered with the
// verified subject of an official account. Enterprise registration is FastRegistration.Create.

// Query key of the component token on the personal and trial registration calls. [WJ] and [SN] send
// component_access_token on the personal call and access_token on the trial call; the new doc
// writes access_token for both. UNVERIFIED: these are this SDK's single choice (the emulator
// accepts both).
const (
	personalRegisterTokenParam = "component_access_token"
	betaRegisterTokenParam     = "access_token"
)

// PersonalRegisterRequest is a person whose mini program the platform registers.
type PersonalRegisterRequest struct {
	// WxUser is the person's WeChat ID; WeChat sends them the authorisation page.
	WxUser string
	// IDName is their real name (optional in the new flow).
	IDName string
	// ComponentPhone is the platform's contact phone, optional.
	ComponentPhone string
}

// PersonalRegisterTask is a personal registration task.
type PersonalRegisterTask struct {
	TaskID string `json:"taskid"`
	// AuthorizeURL is the page the person opens in WeChat to authorise and verify their face
	// within 24 hours.
	AuthorizeURL string `json:"authorize_url"`
	// Status is 0 when the task was created; 1001-1008 are subject or administrator limits.
	Status int `json:"status"`
}

func (f *FastRegistration) ready() error {
	if f == nil || f.caller == nil || f.comp.Token == nil {
		return wxerr.Invalid("component", "FastRegistration needs the HTTP caller and the component token (use NewFastRegistration)")
	}
	return nil
}

func (f *FastRegistration) do(ctx context.Context, path, action, tokenParam string, body any, idempotent bool, out any) error {
	if err := f.ready(); err != nil {
		return err
	}
	req := &wxcall.Request{Method: "POST", Path: path, Body: body, Token: f.comp.Token, TokenParam: tokenParam, Idempotent: idempotent}
	if action != "" {
		req.Query = url.Values{"action": {action}}
	}
	return f.caller.Do(ctx, req, out)
}

// CreatePersonal starts the registration of a personal mini program: the person opens the
// returned AuthorizeURL in WeChat. The result is pushed as notify_third_fasteregister with the task
// id (component.FastRegisterEvent, whose code the Handler exchanges). It is sent once.
//
// WeChat: POST /wxa/component/fastregisterpersonalweapp?action=create
func (f *FastRegistration) CreatePersonal(ctx context.Context, r PersonalRegisterRequest) (*PersonalRegisterTask, error) {
	if r.WxUser == "" {
		return nil, wxerr.Invalid("wxuser", "required: the person's WeChat ID")
	}
	body := map[string]any{"wxuser": r.WxUser, "new_version": true}
	if r.IDName != "" {
		body["idname"] = r.IDName
	}
	if r.ComponentPhone != "" {
		body["component_phone"] = r.ComponentPhone
	}
	var out PersonalRegisterTask
	if err := f.do(ctx, "/wxa/component/fastregisterpersonalweapp", "create", personalRegisterTokenParam, body, false, &out); err != nil {
		return nil, err
	}
	if out.TaskID == "" {
		return nil, errors.New("wxopen: POST /wxa/component/fastregisterpersonalweapp: answer has no taskid")
	}
	return &out, nil
}

// QueryPersonal reads the state of a personal registration task.
//
// WeChat: POST /wxa/component/fastregisterpersonalweapp?action=query
func (f *FastRegistration) QueryPersonal(ctx context.Context, taskID string) (*PersonalRegisterTask, error) {
	if taskID == "" {
		return nil, wxerr.Invalid("taskid", "required")
	}
	var out PersonalRegisterTask
	if err := f.do(ctx, "/wxa/component/fastregisterpersonalweapp", "query", personalRegisterTokenParam,
		map[string]string{"taskid": taskID}, true, &out); err != nil {
		return nil, err
	}
	out.TaskID = taskID
	return &out, nil
}

// BetaRegistration is a started trial registration.
type BetaRegistration struct {
	// UniqueID matches the notify_third_fastregisterbetaapp push.
	UniqueID string `json:"unique_id"`
	// AuthorizeURL is the page the user opens in WeChat to confirm.
	AuthorizeURL string `json:"authorize_url"`
}

// CreateBeta starts the registration of a trial ("beta") mini program named name for the user
// openID (their openid under the platform's account): they confirm at AuthorizeURL, and the app
// is created unverified, without payment. notify_third_fastregisterbetaapp reports it
// (component.BetaRegisterEvent), and an authorized push with the new appid follows. It is sent once.
//
// WeChat: POST /wxa/component/fastregisterbetaweapp
func (f *FastRegistration) CreateBeta(ctx context.Context, name, openID string) (*BetaRegistration, error) {
	switch {
	case name == "":
		return nil, wxerr.Invalid("name", "required: the mini program's name")
	case utf8.RuneCountInString(name) > 30:
		return nil, wxerr.Invalid("name", "at most 30 characters")
	case openID == "":
		return nil, wxerr.Invalid("openid", "required: the user's openid under the platform's account")
	}
	var out BetaRegistration
	if err := f.do(ctx, "/wxa/component/fastregisterbetaweapp", "", betaRegisterTokenParam,
		map[string]string{"name": name, "openid": openID}, false, &out); err != nil {
		return nil, err
	}
	if out.UniqueID == "" {
		return nil, errors.New("wxopen: POST /wxa/component/fastregisterbetaweapp: answer has no unique_id")
	}
	return &out, nil
}

// BetaVerifyRequest is the company that turns a trial mini program into a formal one; the fields
// are those of FastRegisterRequest.
type BetaVerifyRequest struct {
	EnterpriseName     string   `json:"enterprise_name"`
	Code               string   `json:"code"`
	CodeType           CodeType `json:"code_type"`
	LegalPersonaWechat string   `json:"legal_persona_wechat"`
	LegalPersonaName   string   `json:"legal_persona_name"`
	LegalPersonaIDCard string   `json:"legal_persona_idcard,omitempty"`
	ComponentPhone     string   `json:"component_phone,omitempty"`
}

// VerifyBeta turns this trial mini program into a formal one of the company in r: the legal
// person verifies their face, and the result is pushed as notify_third_fastverifybetaapp
// (component.BetaVerifyEvent). It is sent once.
//
// WeChat: POST /wxa/verifybetaweapp
func (c *Client) VerifyBeta(ctx context.Context, r BetaVerifyRequest) error {
	switch {
	case r.EnterpriseName == "":
		return wxerr.Invalid("enterprise_name", "required")
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
	return c.call(ctx, post("/wxa/verifybetaweapp", map[string]BetaVerifyRequest{"verify_info": r}, false), nil)
}

// SetBetaNickname renames this trial mini program.
//
// WeChat: POST /wxa/setbetaweappnickname
func (c *Client) SetBetaNickname(ctx context.Context, name string) error {
	if name == "" || utf8.RuneCountInString(name) > 30 {
		return wxerr.Invalid("name", "1 to 30 characters")
	}
	return c.call(ctx, post("/wxa/setbetaweappnickname", map[string]string{"name": name}, false), nil)
}

// FastRegisterAuthURL is the page the administrator of the verified official account oaAppID
// opens to let the platform componentAppID register a mini program with the account's subject
// (and, with copyVerify, its verification; government, media and other organisations must copy).
// WeChat then redirects to redirectURI with ?ticket=…, for RegisterWithOfficialAccount.
func FastRegisterAuthURL(oaAppID, componentAppID string, copyVerify bool, redirectURI string) (string, error) {
	switch {
	case oaAppID == "":
		return "", wxerr.Invalid("appid", "required: the official account's appid")
	case componentAppID == "":
		return "", wxerr.Invalid("component_appid", "required")
	}
	if u, err := url.Parse(redirectURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", wxerr.Invalid("redirect_uri", "an absolute http(s) URL on the platform's domain")
	}
	cv := "0"
	if copyVerify {
		cv = "1"
	}
	q := url.Values{"appid": {oaAppID}, "component_appid": {componentAppID}, "copy_wx_verify": {cv}, "redirect_uri": {redirectURI}}
	return "https://mp.weixin.qq.com/cgi-bin/fastregisterauth?" + q.Encode(), nil
}

// flexBool decodes a boolean WeChat sends as true/false or as "true"/"false" (digest 15.3).
type flexBool bool

func (b *flexBool) UnmarshalJSON(p []byte) error {
	s := string(p)
	if len(p) > 1 && p[0] == '"' {
		if err := json.Unmarshal(p, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*b = flexBool(v)
	return nil
}

// ReuseRegistration is the answer of RegisterWithOfficialAccount.
type ReuseRegistration struct {
	// AppID is the new mini program's.
	AppID string
	// AuthorizationCode is its authorisation code; exchange it with the component client's
	// QueryAuth at once (it stores the refresh token conditionally).
	AuthorizationCode string
	// WxVerifySucceeded says the official account's verification was copied; Linked that the mini
	// program was linked to the official account.
	WxVerifySucceeded bool
	Linked            bool
}

// RegisterWithOfficialAccount registers a mini program with the verified subject of the official
// account oa (an authorizer client of the official account, permission set 27), using the ticket
// its administrator's scan of FastRegisterAuthURL produced. The ticket serves once: the call is
// never retried (a retry within 5 s gets 61058), so set the HTTP timeout above 5 s.
//
// WeChat: POST /cgi-bin/account/fastregister
func RegisterWithOfficialAccount(ctx context.Context, oa *authorizer.Client, ticket string) (*ReuseRegistration, error) {
	if oa == nil {
		return nil, wxerr.Invalid("authorizer", "the official account's authorizer client is required")
	}
	if ticket == "" {
		return nil, wxerr.Invalid("ticket", "required: the ticket of the redirect")
	}
	var out struct {
		AppID             string   `json:"appid"`
		AuthorizationCode string   `json:"authorization_code"`
		IsWxVerifySucc    flexBool `json:"is_wx_verify_succ"`
		IsLinkSucc        flexBool `json:"is_link_succ"`
	}
	if err := oa.Call(ctx, post("/cgi-bin/account/fastregister", map[string]string{"ticket": ticket}, false), &out); err != nil {
		return nil, err
	}
	if out.AppID == "" || out.AuthorizationCode == "" {
		return nil, errors.New("wxopen: POST /cgi-bin/account/fastregister: answer has no appid or authorization_code")
	}
	return &ReuseRegistration{AppID: out.AppID, AuthorizationCode: out.AuthorizationCode,
		WxVerifySucceeded: bool(out.IsWxVerifySucc), Linked: bool(out.IsLinkSucc)}, nil
}
