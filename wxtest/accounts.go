package wxtest

import (
	"slices"
	"strings"
)

// Authorizer is an official account or mini program the emulator knows: the data
// api_get_authorizer_info returns for it. Register one with AddAuthorizer (or let Authorize create
// a mini program with defaults).
type Authorizer struct {
	// AppID is the account's appid; "" generates one ("wx" + 16 hex digits).
	AppID string
	// UserName is the original id; "" generates "gh_" + 12 hex digits.
	UserName string
	// NickName, HeadImg, PrincipalName, Alias, Signature and QRCodeURL are returned as nick_name,
	// head_img, principal_name, alias, signature and qrcode_url. Empty ones (but Alias) get defaults.
	NickName, HeadImg, PrincipalName, Alias, Signature, QRCodeURL string
	// MiniProgram marks a mini program: api_get_authorizer_info then carries MiniProgramInfo.
	MiniProgram bool
	// ServiceType is service_type_info.id (official accounts: 0 subscription, 1 upgraded
	// subscription, 2 service account; mini programs: 0).
	ServiceType int
	// VerifyType is verify_type_info.id (-1 unverified, 0 WeChat verified, ...).
	VerifyType int
	// AccountStatus is account_status; 0 means 1 (normal).
	AccountStatus int
	// RegisterType is register_type.
	RegisterType int
	// Business is business_info.
	Business BusinessInfo
	// Categories are the mini program's categories (MiniProgramInfo.categories); a mini program
	// without any gets one default category.
	Categories []Category
	// Network holds the mini program's server domains (MiniProgramInfo.network).
	Network Network
	// VisitStatus is MiniProgramInfo.visit_status.
	VisitStatus int
}

// BusinessInfo is business_info: 1 when the feature is open.
type BusinessInfo struct {
	OpenStore, OpenScan, OpenPay, OpenCard, OpenShake int
}

// Category is a mini program category.
type Category struct {
	First, Second string
}

// Network is a mini program's configured server domains.
type Network struct {
	RequestDomain, WsRequestDomain, UploadDomain, DownloadDomain, BizDomain, UDPDomain []string
}

func (n Network) clone() Network {
	return Network{
		RequestDomain:   slices.Clone(n.RequestDomain),
		WsRequestDomain: slices.Clone(n.WsRequestDomain),
		UploadDomain:    slices.Clone(n.UploadDomain),
		DownloadDomain:  slices.Clone(n.DownloadDomain),
		BizDomain:       slices.Clone(n.BizDomain),
		UDPDomain:       slices.Clone(n.UDPDomain),
	}
}

func (a Authorizer) clone() Authorizer {
	a.Categories = slices.Clone(a.Categories)
	a.Network = a.Network.clone()
	return a
}

// withDefaults fills the empty fields of a.
func (a Authorizer) withDefaults() Authorizer {
	if a.AppID == "" {
		a.AppID = "wx" + randHex(8)
	}
	if a.UserName == "" {
		a.UserName = "gh_" + randHex(6)
	}
	kind := "official account"
	if a.MiniProgram {
		kind = "mini program"
	}
	if a.NickName == "" {
		a.NickName = "wxtest " + kind + " " + a.AppID
	}
	if a.HeadImg == "" {
		a.HeadImg = "http://wx.qlogo.cn/mmopen/" + a.AppID + "/0"
	}
	if a.PrincipalName == "" {
		a.PrincipalName = "wxtest Co., Ltd."
	}
	if a.Signature == "" {
		a.Signature = "A " + kind + " of the wxtest emulator"
	}
	if a.QRCodeURL == "" {
		a.QRCodeURL = "http://mmbiz.qpic.cn/mmbiz_jpg/" + a.AppID + "/0"
	}
	if a.AccountStatus == 0 {
		a.AccountStatus = 1
	}
	if a.MiniProgram && len(a.Categories) == 0 {
		a.Categories = []Category{{First: "工具", Second: "效率"}}
	}
	return a.clone()
}

// defaultFuncInfo is the permission sets an account grants when Authorize names none.
func defaultFuncInfo(mini bool) []int {
	if mini {
		return []int{17, 18, 19, 25, 30, 31, 36, 37, 40, 41, 45, 48, 49, 51, 52, 57, 65}
	}
	return []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 22, 23, 24, 26, 27, 33, 35}
}

// AddAuthorizer registers (or, for a known AppID, replaces the data of) an account that can then
// authorise the platform with Authorize. Empty fields get defaults; the completed record is
// returned by Authorizer.
func (s *Server) AddAuthorizer(a Authorizer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addAuthorizer(a)
}

// addAuthorizer registers a and returns its record. Call with s.mu held.
func (s *Server) addAuthorizer(a Authorizer) *authorizer {
	a = a.withDefaults()
	if r := s.authorizers[a.AppID]; r != nil {
		r.info = a
		return r
	}
	r := &authorizer{info: a, options: defaultOptions()}
	s.authorizers[a.AppID] = r
	return r
}

// Authorizer returns the data of the account appID, defaults filled, and whether it is known.
func (s *Server) Authorizer(appID string) (Authorizer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.authorizers[appID]
	if a == nil {
		return Authorizer{}, false
	}
	return a.info.clone(), true
}

// Authorized reports whether the account appID currently authorises the platform.
func (s *Server) Authorized(appID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.authorizers[appID]
	return a != nil && a.authorized
}

// AuthorizerRefreshToken returns the refresh token the emulator currently honours for appID, and
// false when the account has not authorised the platform.
func (s *Server) AuthorizerRefreshToken(appID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.authorizers[appID]
	if a == nil || !a.authorized {
		return "", false
	}
	return a.refreshToken, true
}

// RotateRefreshTokens makes api_authorizer_token return a new refresh token on every call, the old
// one failing with 61023 from then on (on = true), or keep the refresh token, as WeChat normally
// does (on = false, the default).
func (s *Server) RotateRefreshTokens(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotate = on
}

// newRefreshToken returns a new authorizer refresh token, shaped like WeChat's.
func newRefreshToken() string { return "refreshtoken@@@" + randAlnum(43) }

// authorizer options and their allowed values (API digest 1.8).
var optionValues = map[string][]string{
	"location_report":  {"0", "1", "2"},
	"voice_recognize":  {"0", "1"},
	"customer_service": {"0", "1"},
}

func defaultOptions() map[string]string {
	return map[string]string{"location_report": "0", "voice_recognize": "0", "customer_service": "0"}
}

// validOption reports whether name is an option and, when value is not nil, whether *value is
// allowed for it.
func validOption(name string, value *string) bool {
	vals, found := optionValues[name]
	if !found {
		return false
	}
	return value == nil || slices.Contains(vals, strings.TrimSpace(*value))
}

// AuthorizeAccounts plays many merchants' consent at once, for fleet-scale tests: each appid (added
// as a mini program with defaults when unknown) authorises the platform with the default permission
// sets and gets a new refresh token, as with Authorize, but no authorization code is issued and
// nothing is pushed. The refresh tokens are returned in the order of appIDs; an account that had
// already authorised the platform keeps its refresh token. Hand them to the SDK as a migration would
// (component.Client.SetRefreshToken).
func (s *Server) AuthorizeAccounts(appIDs []string) (refreshTokens []string) {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	refreshTokens = make([]string, len(appIDs))
	for i, id := range appIDs {
		a := s.authorizers[id]
		if a == nil {
			a = s.addAuthorizer(Authorizer{AppID: id, MiniProgram: true})
		}
		if !a.authorized {
			a.authorized = true
			a.everAuthorized = true
			a.refreshToken = newRefreshToken()
			a.authTime = now
			a.funcInfo = defaultFuncInfo(a.info.MiniProgram)
		}
		refreshTokens[i] = a.refreshToken
	}
	return refreshTokens
}
