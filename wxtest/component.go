package wxtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Component endpoints (API digest, section 1).
const (
	pathComponentToken     = "/cgi-bin/component/api_component_token"
	pathStartPushTicket    = "/cgi-bin/component/api_start_push_ticket"
	pathCreatePreAuthCode  = "/cgi-bin/component/api_create_preauthcode"
	pathQueryAuth          = "/cgi-bin/component/api_query_auth"
	pathAuthorizerToken    = "/cgi-bin/component/api_authorizer_token"
	pathGetAuthorizerInfo  = "/cgi-bin/component/api_get_authorizer_info"
	pathGetAuthorizerOpt   = "/cgi-bin/component/api_get_authorizer_option"
	pathSetAuthorizerOpt   = "/cgi-bin/component/api_set_authorizer_option"
	pathGetOption          = "/cgi-bin/component/get_authorizer_option"
	pathSetOption          = "/cgi-bin/component/set_authorizer_option"
	pathGetAuthorizerList  = "/cgi-bin/component/api_get_authorizer_list"
	pathClearQuota         = "/cgi-bin/component/clear_quota"
	pathComponentJSCode2Se = "/sns/component/jscode2session"
)

// maxAuthorizerListCount is the largest count api_get_authorizer_list accepts.
const maxAuthorizerListCount = 500

func (s *Server) registerComponent() {
	s.route(http.MethodPost, pathComponentToken, authNone, s.componentToken)
	s.route(http.MethodPost, pathStartPushTicket, authNone, s.startPushTicket)
	s.route(http.MethodPost, pathCreatePreAuthCode, authComponent, s.createPreAuthCode)
	s.route(http.MethodPost, pathQueryAuth, authComponent, s.queryAuth)
	s.route(http.MethodPost, pathAuthorizerToken, authComponent, s.authorizerToken)
	s.route(http.MethodPost, pathGetAuthorizerInfo, authComponent, s.getAuthorizerInfo)
	s.route(http.MethodPost, pathGetAuthorizerOpt, authComponent, s.getAuthorizerOptionOld)
	s.route(http.MethodPost, pathSetAuthorizerOpt, authComponent, s.setAuthorizerOptionOld)
	s.route(http.MethodPost, pathGetOption, authAuthorizer, s.getAuthorizerOption)
	s.route(http.MethodPost, pathSetOption, authAuthorizer, s.setAuthorizerOption)
	s.route(http.MethodPost, pathGetAuthorizerList, authComponent, s.getAuthorizerList)
	s.route(http.MethodPost, pathClearQuota, authComponent, s.clearQuota)
	s.route(http.MethodGet, pathComponentJSCode2Se, authComponent, s.componentJSCode2Session)
}

// isAppIDFormat reports whether id looks like an appid: "wx" and 16 hex digits.
func isAppIDFormat(id string) bool {
	if len(id) != 18 || id[:2] != "wx" {
		return false
	}
	for i := 2; i < len(id); i++ {
		ch := id[i]
		if !('0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f' || 'A' <= ch && ch <= 'F') {
			return false
		}
	}
	return true
}

// checkComponentAppID checks a component_appid field: missing 41018, malformed 40013, not this
// platform 61011. Call with s.mu held.
func (s *Server) checkComponentAppID(id string) error {
	switch {
	case id == "":
		return apiErr(wxerr.CodeComponentAppIDMiss, "")
	case id == s.component.AppID:
		return nil
	case !isAppIDFormat(id):
		return apiErr(wxerr.CodeInvalidAppID, "")
	default:
		return apiErr(wxerr.CodeInvalidComponent, "")
	}
}

// missing is the 47001 answer for a required field that is absent.
func missing(field string) error {
	return apiErr(wxerr.CodeInvalidJSON, "data format error hint: ["+field+"] missing")
}

// componentCredentials checks the appid and secret of api_component_token and
// api_start_push_ticket.
func (s *Server) componentCredentials(appID, secret string) error {
	if err := s.checkComponentAppID(appID); err != nil {
		return err
	}
	if secret == "" {
		return apiErr(wxerr.CodeAppSecretMissing, "")
	}
	if secret != s.component.AppSecret {
		return apiErr(wxerr.CodeInvalidAppSecret, "")
	}
	return nil
}

type componentTokenAnswer struct {
	ComponentAccessToken string `json:"component_access_token"`
	ExpiresIn            int    `json:"expires_in"`
}

// componentToken: POST /cgi-bin/component/api_component_token.
func (s *Server) componentToken(c *call) (any, error) {
	var req struct {
		ComponentAppID        string `json:"component_appid"`
		ComponentAppSecret    string `json:"component_appsecret"`
		ComponentVerifyTicket string `json:"component_verify_ticket"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if err := s.componentCredentials(req.ComponentAppID, req.ComponentAppSecret); err != nil {
		return nil, err
	}
	switch {
	case req.ComponentVerifyTicket == "":
		return nil, missing("component_verify_ticket")
	case s.ticket == "" || req.ComponentVerifyTicket != s.ticket:
		return nil, apiErr(wxerr.CodeVerifyTicketInvalid, "")
	case !c.now.Before(s.ticketIssuedAt.Add(ticketTTL)):
		return nil, apiErr(wxerr.CodeVerifyTicketExpired, "")
	}
	tok := s.issueToken(componentToken, s.component.AppID, c.now)
	return componentTokenAnswer{ComponentAccessToken: tok, ExpiresIn: int(accessTokenTTL.Seconds())}, nil
}

// startPushTicket: POST /cgi-bin/component/api_start_push_ticket. The new ticket is pushed before
// the answer is written.
func (s *Server) startPushTicket(c *call) (any, error) {
	var req struct {
		ComponentAppID  string `json:"component_appid"`
		ComponentSecret string `json:"component_secret"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if err := s.componentCredentials(req.ComponentAppID, req.ComponentSecret); err != nil {
		return nil, err
	}
	ticket := s.newTicket(c.now)
	msg := platformEvent(s.component.AppID, c.now, "component_verify_ticket",
		xmlField{"ComponentVerifyTicket", ticket, false})
	ctx := c.r.Context()
	c.after(func() { _ = s.pushPlatformEvent(ctx, msg) })
	return answerOK(), nil
}

// componentAppIDBody is the body of the component calls that carry only component_appid.
type componentAppIDBody struct {
	ComponentAppID string `json:"component_appid"`
}

// createPreAuthCode: POST /cgi-bin/component/api_create_preauthcode.
func (s *Server) createPreAuthCode(c *call) (any, error) {
	var req componentAppIDBody
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if err := s.checkComponentAppID(req.ComponentAppID); err != nil {
		return nil, err
	}
	code := "preauthcode@@@" + randAlnum(86)
	s.preAuthCodes[code] = &preAuthCode{expires: c.now.Add(preAuthCodeTTL)}
	return struct {
		PreAuthCode string `json:"pre_auth_code"`
		ExpiresIn   int    `json:"expires_in"`
	}{code, int(preAuthCodeTTL.Seconds())}, nil
}

type funcScope struct {
	FuncscopeCategory struct {
		ID int `json:"id"`
	} `json:"funcscope_category"`
}

func funcInfoJSON(ids []int) []funcScope {
	out := make([]funcScope, len(ids))
	for i, id := range ids {
		out[i].FuncscopeCategory.ID = id
	}
	return out
}

// queryAuth: POST /cgi-bin/component/api_query_auth.
func (s *Server) queryAuth(c *call) (any, error) {
	var req struct {
		ComponentAppID    string `json:"component_appid"`
		AuthorizationCode string `json:"authorization_code"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if err := s.checkComponentAppID(req.ComponentAppID); err != nil {
		return nil, err
	}
	if req.AuthorizationCode == "" {
		return nil, missing("authorization_code")
	}
	ac := s.authCodes[req.AuthorizationCode]
	if ac == nil {
		return nil, apiErr(wxerr.CodeAuthCodeInvalid, "")
	}
	if !c.now.Before(ac.expires) {
		return nil, apiErr(wxerr.CodeAuthCodeExpired, "")
	}
	a, err := s.authorizerFor(ac.appID)
	if err != nil {
		return nil, apiErr(wxerr.CodeAuthCodeInvalid, "")
	}
	delete(s.authCodes, req.AuthorizationCode)
	tok := s.issueAuthorizerToken(a.info.AppID, c.now)
	type info struct {
		AuthorizerAppID        string      `json:"authorizer_appid"`
		AuthorizerAccessToken  string      `json:"authorizer_access_token"`
		ExpiresIn              int         `json:"expires_in"`
		AuthorizerRefreshToken string      `json:"authorizer_refresh_token"`
		FuncInfo               []funcScope `json:"func_info"`
	}
	return struct {
		AuthorizationInfo info `json:"authorization_info"`
	}{info{
		AuthorizerAppID:        a.info.AppID,
		AuthorizerAccessToken:  tok,
		ExpiresIn:              int(accessTokenTTL.Seconds()),
		AuthorizerRefreshToken: a.refreshToken,
		FuncInfo:               funcInfoJSON(ac.funcInfo),
	}}, nil
}

// authorizerToken: POST /cgi-bin/component/api_authorizer_token.
func (s *Server) authorizerToken(c *call) (any, error) {
	var req struct {
		ComponentAppID         string `json:"component_appid"`
		AuthorizerAppID        string `json:"authorizer_appid"`
		AuthorizerRefreshToken string `json:"authorizer_refresh_token"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if err := s.checkComponentAppID(req.ComponentAppID); err != nil {
		return nil, err
	}
	if req.AuthorizerAppID == "" {
		return nil, missing("authorizer_appid")
	}
	if req.AuthorizerRefreshToken == "" {
		return nil, missing("authorizer_refresh_token")
	}
	a := s.authorizers[req.AuthorizerAppID]
	if a == nil || !a.everAuthorized {
		return nil, apiErr(wxerr.CodeComponentUnauthorized, "")
	}
	if !a.authorized || req.AuthorizerRefreshToken != a.refreshToken {
		return nil, apiErr(wxerr.CodeRefreshTokenInvalid, "")
	}
	if s.rotate {
		a.refreshToken = newRefreshToken()
	}
	tok := s.issueAuthorizerToken(a.info.AppID, c.now)
	return struct {
		AuthorizerAccessToken  string `json:"authorizer_access_token"`
		ExpiresIn              int    `json:"expires_in"`
		AuthorizerRefreshToken string `json:"authorizer_refresh_token"`
	}{tok, int(accessTokenTTL.Seconds()), a.refreshToken}, nil
}

// authorizerBody is the body of the component calls about one authorizer.
type authorizerBody struct {
	ComponentAppID  string `json:"component_appid"`
	AuthorizerAppID string `json:"authorizer_appid"`
}

// bindAuthorizer decodes an authorizerBody-shaped request into v, checks component_appid and
// returns the authorised account named by authorizer_appid.
func (s *Server) bindAuthorizer(c *call, v any) (*authorizer, error) {
	if err := c.bind(v); err != nil {
		return nil, err
	}
	var req authorizerBody
	_ = json.Unmarshal(c.body, &req) // v decoded, so this cannot fail
	if err := s.checkComponentAppID(req.ComponentAppID); err != nil {
		return nil, err
	}
	if req.AuthorizerAppID == "" {
		return nil, missing("authorizer_appid")
	}
	return s.authorizerFor(req.AuthorizerAppID)
}

// getAuthorizerInfo: POST /cgi-bin/component/api_get_authorizer_info.
func (s *Server) getAuthorizerInfo(c *call) (any, error) {
	var req authorizerBody
	a, err := s.bindAuthorizer(c, &req)
	if err != nil {
		return nil, err
	}
	in := a.info
	type idJSON struct {
		ID int `json:"id"`
	}
	type businessJSON struct {
		OpenStore int `json:"open_store"`
		OpenScan  int `json:"open_scan"`
		OpenPay   int `json:"open_pay"`
		OpenCard  int `json:"open_card"`
		OpenShake int `json:"open_shake"`
	}
	type categoryJSON struct {
		First  string `json:"first"`
		Second string `json:"second"`
	}
	type networkJSON struct {
		RequestDomain   []string `json:"RequestDomain"`
		WsRequestDomain []string `json:"WsRequestDomain"`
		UploadDomain    []string `json:"UploadDomain"`
		DownloadDomain  []string `json:"DownloadDomain"`
		BizDomain       []string `json:"BizDomain"`
		UDPDomain       []string `json:"UDPDomain"`
	}
	type miniJSON struct {
		Network     networkJSON    `json:"network"`
		Categories  []categoryJSON `json:"categories"`
		VisitStatus int            `json:"visit_status"`
	}
	type basicConfigJSON struct {
		IsPhoneConfigured bool `json:"is_phone_configured"`
		IsEmailConfigured bool `json:"is_email_configured"`
	}
	type infoJSON struct {
		NickName        string          `json:"nick_name"`
		HeadImg         string          `json:"head_img"`
		ServiceTypeInfo idJSON          `json:"service_type_info"`
		VerifyTypeInfo  idJSON          `json:"verify_type_info"`
		UserName        string          `json:"user_name"`
		PrincipalName   string          `json:"principal_name"`
		Alias           string          `json:"alias"`
		BusinessInfo    businessJSON    `json:"business_info"`
		QRCodeURL       string          `json:"qrcode_url"`
		Signature       string          `json:"signature"`
		AccountStatus   int             `json:"account_status"`
		RegisterType    int             `json:"register_type"`
		BasicConfig     basicConfigJSON `json:"basic_config"`
		MiniProgramInfo *miniJSON       `json:"MiniProgramInfo,omitempty"`
	}
	type authJSON struct {
		AuthorizerAppID        string      `json:"authorizer_appid"`
		AuthorizerRefreshToken string      `json:"authorizer_refresh_token"`
		FuncInfo               []funcScope `json:"func_info"`
	}
	out := infoJSON{
		NickName:        in.NickName,
		HeadImg:         in.HeadImg,
		ServiceTypeInfo: idJSON{in.ServiceType},
		VerifyTypeInfo:  idJSON{in.VerifyType},
		UserName:        in.UserName,
		PrincipalName:   in.PrincipalName,
		Alias:           in.Alias,
		BusinessInfo: businessJSON{in.Business.OpenStore, in.Business.OpenScan, in.Business.OpenPay,
			in.Business.OpenCard, in.Business.OpenShake},
		QRCodeURL:     in.QRCodeURL,
		Signature:     in.Signature,
		AccountStatus: in.AccountStatus,
		RegisterType:  in.RegisterType,
		BasicConfig:   basicConfigJSON{IsPhoneConfigured: true, IsEmailConfigured: true},
	}
	if in.MiniProgram {
		nonNil := func(v []string) []string {
			if v == nil {
				return []string{}
			}
			return v
		}
		m := &miniJSON{
			Network: networkJSON{
				RequestDomain:   nonNil(in.Network.RequestDomain),
				WsRequestDomain: nonNil(in.Network.WsRequestDomain),
				UploadDomain:    nonNil(in.Network.UploadDomain),
				DownloadDomain:  nonNil(in.Network.DownloadDomain),
				BizDomain:       nonNil(in.Network.BizDomain),
				UDPDomain:       nonNil(in.Network.UDPDomain),
			},
			Categories:  make([]categoryJSON, len(in.Categories)),
			VisitStatus: in.VisitStatus,
		}
		for i, cat := range in.Categories {
			m.Categories[i] = categoryJSON(cat)
		}
		out.MiniProgramInfo = m
	}
	return struct {
		AuthorizerInfo    infoJSON `json:"authorizer_info"`
		AuthorizationInfo authJSON `json:"authorization_info"`
	}{out, authJSON{in.AppID, a.refreshToken, funcInfoJSON(a.funcInfo)}}, nil
}

// optionValue is an option_value: a string, or a number WeChat also accepts.
type optionValue struct {
	set   bool
	value string
}

func (v *optionValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &v.value); err != nil {
			return err
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		v.value = n.String()
	}
	v.set = true
	return nil
}

// checkOption validates an option name (and value, when set): missing 47001, unknown 40097.
func checkOption(name string, value *optionValue) error {
	if name == "" {
		return missing("option_name")
	}
	if value != nil && !value.set {
		return missing("option_value")
	}
	var v *string
	if value != nil {
		v = &value.value
	}
	if !validOption(name, v) {
		return apiErr(wxerr.CodeInvalidParams, "invalid option_name or option_value")
	}
	return nil
}

// getAuthorizerOptionOld: POST /cgi-bin/component/api_get_authorizer_option.
func (s *Server) getAuthorizerOptionOld(c *call) (any, error) {
	var req struct {
		authorizerBody
		OptionName string `json:"option_name"`
	}
	a, err := s.bindAuthorizer(c, &req)
	if err != nil {
		return nil, err
	}
	if err := checkOption(req.OptionName, nil); err != nil {
		return nil, err
	}
	return struct {
		AuthorizerAppID string `json:"authorizer_appid"`
		OptionName      string `json:"option_name"`
		OptionValue     string `json:"option_value"`
	}{a.info.AppID, req.OptionName, a.options[req.OptionName]}, nil
}

// setAuthorizerOptionOld: POST /cgi-bin/component/api_set_authorizer_option.
func (s *Server) setAuthorizerOptionOld(c *call) (any, error) {
	var req struct {
		authorizerBody
		OptionName  string      `json:"option_name"`
		OptionValue optionValue `json:"option_value"`
	}
	a, err := s.bindAuthorizer(c, &req)
	if err != nil {
		return nil, err
	}
	if err := checkOption(req.OptionName, &req.OptionValue); err != nil {
		return nil, err
	}
	a.options[req.OptionName] = req.OptionValue.value
	return answerOK(), nil
}

// getAuthorizerOption: POST /cgi-bin/component/get_authorizer_option (authorizer token).
func (s *Server) getAuthorizerOption(c *call) (any, error) {
	var req struct {
		OptionName string `json:"option_name"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if err := checkOption(req.OptionName, nil); err != nil {
		return nil, err
	}
	return struct {
		Errcode     int    `json:"errcode"`
		Errmsg      string `json:"errmsg"`
		OptionName  string `json:"option_name"`
		OptionValue string `json:"option_value"`
	}{0, "ok", req.OptionName, c.authorizer().options[req.OptionName]}, nil
}

// setAuthorizerOption: POST /cgi-bin/component/set_authorizer_option (authorizer token).
func (s *Server) setAuthorizerOption(c *call) (any, error) {
	var req struct {
		OptionName  string      `json:"option_name"`
		OptionValue optionValue `json:"option_value"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if err := checkOption(req.OptionName, &req.OptionValue); err != nil {
		return nil, err
	}
	c.authorizer().options[req.OptionName] = req.OptionValue.value
	return answerOK(), nil
}

// getAuthorizerList: POST /cgi-bin/component/api_get_authorizer_list.
func (s *Server) getAuthorizerList(c *call) (any, error) {
	var req struct {
		ComponentAppID string `json:"component_appid"`
		Offset         *int   `json:"offset"`
		Count          *int   `json:"count"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if err := s.checkComponentAppID(req.ComponentAppID); err != nil {
		return nil, err
	}
	switch {
	case req.Offset == nil:
		return nil, missing("offset")
	case req.Count == nil:
		return nil, missing("count")
	case *req.Count > maxAuthorizerListCount:
		return nil, apiErr(wxerr.CodeListCountTooLarge, "")
	case *req.Count <= 0 || *req.Offset < 0:
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid offset or count")
	}
	var all []*authorizer
	for _, a := range s.authorizers {
		if a.authorized {
			all = append(all, a)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].authTime.Equal(all[j].authTime) {
			return all[i].authTime.Before(all[j].authTime)
		}
		return all[i].info.AppID < all[j].info.AppID
	})
	type entry struct {
		AuthorizerAppID string `json:"authorizer_appid"`
		RefreshToken    string `json:"refresh_token"`
		AuthTime        int64  `json:"auth_time"`
	}
	list := []entry{}
	for i := *req.Offset; i < len(all) && len(list) < *req.Count; i++ {
		a := all[i]
		list = append(list, entry{a.info.AppID, a.refreshToken, a.authTime.Unix()})
	}
	return struct {
		TotalCount int     `json:"total_count"`
		List       []entry `json:"list"`
	}{len(all), list}, nil
}

// clearQuota: POST /cgi-bin/component/clear_quota.
func (s *Server) clearQuota(c *call) (any, error) {
	var req componentAppIDBody
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if err := s.checkComponentAppID(req.ComponentAppID); err != nil {
		return nil, err
	}
	s.clearQuotas()
	return answerOK(), nil
}

// componentJSCode2Session: GET /sns/component/jscode2session.
func (s *Server) componentJSCode2Session(c *call) (any, error) {
	q := c.r.URL.Query()
	appID, code := q.Get("appid"), q.Get("js_code")
	switch {
	case appID == "":
		return nil, apiErr(41002, "")
	case code == "":
		return nil, apiErr(41008, "")
	case q.Get("grant_type") == "":
		return nil, missing("grant_type")
	case q.Get("grant_type") != "authorization_code":
		return nil, apiErr(40002, "")
	}
	if err := s.checkComponentAppID(q.Get("component_appid")); err != nil {
		return nil, err
	}
	if _, err := s.authorizerFor(appID); err != nil {
		return nil, err
	}
	lc := s.loginCodes[code]
	switch {
	case lc == nil || lc.user.appID != appID || !c.now.Before(lc.expires):
		return nil, apiErr(wxerr.CodeInvalidCode, "")
	case lc.used:
		return nil, apiErr(wxerr.CodeCodeUsed, "")
	}
	lc.used = true
	key := newSessionKey()
	s.sessions[lc.user] = key
	return struct {
		OpenID     string `json:"openid"`
		SessionKey string `json:"session_key"`
		UnionID    string `json:"unionid,omitempty"`
	}{lc.user.openID, key, s.unionIDs[lc.user]}, nil
}
