package component

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"

	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// ServiceType is the kind of an authorised account (service_type_info.id).
type ServiceType int

// ServiceType values. A mini program is ServiceTypeSubscription (0), like a subscription account:
// tell them apart by AuthorizerInfo.IsMiniProgram.
const (
	ServiceTypeSubscription         ServiceType = 0 // subscription account (or mini program)
	ServiceTypeUpgradedSubscription ServiceType = 1 // subscription account upgraded from an old account
	ServiceTypeService              ServiceType = 2 // service account
)

// AuthorizerInfo describes an account that authorised the platform (api_get_authorizer_info's
// authorizer_info and authorization_info, flattened). Printing it never shows the refresh token.
type AuthorizerInfo struct {
	AuthorizerAppID string
	NickName        string
	HeadImg         string
	// ServiceType is service_type_info.id: for official accounts 0 subscription, 1 subscription
	// upgraded from an old account, 2 service account; 0 for mini programs.
	ServiceType ServiceType
	// VerifyType is verify_type_info.id: -1 unverified, 0 WeChat verified, others partial or pending.
	VerifyType int
	// UserName is the original id (gh_…).
	UserName      string
	PrincipalName string
	Alias         string
	BusinessInfo  BusinessInfo
	QRCodeURL     string
	Signature     string
	AccountStatus int
	RegisterType  int
	IDC           int
	// BasicConfig is nil when WeChat did not send basic_config.
	BasicConfig *BasicConfig
	// MiniProgramInfo is present only for mini programs.
	MiniProgramInfo *MiniProgramInfo
	// RefreshToken is authorization_info.authorizer_refresh_token: WeChat's current refresh token. It
	// is not stored by AuthorizerInfo; see SetRefreshToken.
	RefreshToken string
	FuncInfo     []FuncInfo
}

// IsMiniProgram reports whether the account is a mini program (WeChat sent MiniProgramInfo).
func (i *AuthorizerInfo) IsMiniProgram() bool { return i != nil && i.MiniProgramInfo != nil }

// String describes i without its refresh token.
func (i AuthorizerInfo) String() string {
	cp := i
	cp.RefreshToken = redacted(i.RefreshToken)
	type plain AuthorizerInfo // no methods: prints the fields
	return fmt.Sprintf("component.AuthorizerInfo%+v", plain(cp))
}

// GoString is String, for %#v.
func (i AuthorizerInfo) GoString() string { return i.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (i AuthorizerInfo) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, i.String()) }

// BusinessInfo says which business features the account has opened.
type BusinessInfo struct {
	OpenStore bool
	OpenScan  bool
	OpenPay   bool
	OpenCard  bool
	OpenShake bool
}

// BasicConfig says whether the account configured a phone and an email.
type BasicConfig struct {
	IsPhoneConfigured bool
	IsEmailConfigured bool
}

// MiniProgramInfo is a mini program's MiniProgramInfo.
type MiniProgramInfo struct {
	Network     MiniProgramNetwork
	Categories  []Category
	VisitStatus int
}

// MiniProgramNetwork holds a mini program's configured domains.
type MiniProgramNetwork struct {
	RequestDomain   []string `json:"RequestDomain"`
	WsRequestDomain []string `json:"WsRequestDomain"`
	UploadDomain    []string `json:"UploadDomain"`
	DownloadDomain  []string `json:"DownloadDomain"`
	BizDomain       []string `json:"BizDomain"`
	UDPDomain       []string `json:"UDPDomain"`
}

// Category is a mini program category: first and second level names.
type Category struct {
	First  string `json:"first"`
	Second string `json:"second"`
}

type authorizerInfoJSON struct {
	Info struct {
		NickName        string `json:"nick_name"`
		HeadImg         string `json:"head_img"`
		ServiceTypeInfo struct {
			ID int `json:"id"`
		} `json:"service_type_info"`
		VerifyTypeInfo struct {
			ID int `json:"id"`
		} `json:"verify_type_info"`
		UserName      string `json:"user_name"`
		PrincipalName string `json:"principal_name"`
		Alias         string `json:"alias"`
		BusinessInfo  struct {
			OpenStore int `json:"open_store"`
			OpenScan  int `json:"open_scan"`
			OpenPay   int `json:"open_pay"`
			OpenCard  int `json:"open_card"`
			OpenShake int `json:"open_shake"`
		} `json:"business_info"`
		QRCodeURL     string `json:"qrcode_url"`
		Signature     string `json:"signature"`
		AccountStatus int    `json:"account_status"`
		RegisterType  int    `json:"register_type"`
		IDC           int    `json:"idc"`
		BasicConfig   *struct {
			// Both spellings are seen in the wild (digest 1.7).
			Phone      *bool `json:"is_phone_configured"`
			Email      *bool `json:"is_email_configured"`
			PhoneCamel *bool `json:"isPhoneConfigured"`
			EmailCamel *bool `json:"isEmailConfigured"`
		} `json:"basic_config"`
		MiniProgramInfo *struct {
			Network     MiniProgramNetwork `json:"network"`
			Categories  []Category         `json:"categories"`
			VisitStatus int                `json:"visit_status"`
		} `json:"MiniProgramInfo"`
	} `json:"authorizer_info"`
	Auth struct {
		AppID        string         `json:"authorizer_appid"`
		RefreshToken string         `json:"authorizer_refresh_token"`
		FuncInfo     []funcInfoJSON `json:"func_info"`
	} `json:"authorization_info"`
}

func firstBool(a, b *bool) bool {
	if a != nil {
		return *a
	}
	return b != nil && *b
}

// AuthorizerInfo returns the details of the account appID that authorised the platform. The
// account's original id is also kept in its authorisation record, when there is one, for
// MessageHandler.
//
// WeChat: POST /cgi-bin/component/api_get_authorizer_info
func (c *Client) AuthorizerInfo(ctx context.Context, appID string) (*AuthorizerInfo, error) {
	if appID == "" {
		return nil, wxerr.Invalid("authorizer_appid", "required")
	}
	var out authorizerInfoJSON
	err := c.componentCall(ctx, &wxcall.Request{
		Method: "POST", Path: "/cgi-bin/component/api_get_authorizer_info",
		Body:       map[string]string{"component_appid": c.appID, "authorizer_appid": appID},
		Idempotent: true, AppID: appID,
	}, "", &out)
	if err != nil {
		return nil, err
	}
	in := out.Info
	info := &AuthorizerInfo{
		AuthorizerAppID: out.Auth.AppID,
		NickName:        in.NickName,
		HeadImg:         in.HeadImg,
		ServiceType:     ServiceType(in.ServiceTypeInfo.ID),
		VerifyType:      in.VerifyTypeInfo.ID,
		UserName:        in.UserName,
		PrincipalName:   in.PrincipalName,
		Alias:           in.Alias,
		BusinessInfo: BusinessInfo{
			OpenStore: in.BusinessInfo.OpenStore != 0, OpenScan: in.BusinessInfo.OpenScan != 0,
			OpenPay: in.BusinessInfo.OpenPay != 0, OpenCard: in.BusinessInfo.OpenCard != 0,
			OpenShake: in.BusinessInfo.OpenShake != 0,
		},
		QRCodeURL:     in.QRCodeURL,
		Signature:     in.Signature,
		AccountStatus: in.AccountStatus,
		RegisterType:  in.RegisterType,
		IDC:           in.IDC,
		RefreshToken:  out.Auth.RefreshToken,
		FuncInfo:      decodeFuncInfo(out.Auth.FuncInfo),
	}
	if info.AuthorizerAppID == "" {
		info.AuthorizerAppID = appID
	}
	if bc := in.BasicConfig; bc != nil {
		info.BasicConfig = &BasicConfig{
			IsPhoneConfigured: firstBool(bc.Phone, bc.PhoneCamel),
			IsEmailConfigured: firstBool(bc.Email, bc.EmailCamel),
		}
	}
	if mp := in.MiniProgramInfo; mp != nil {
		info.MiniProgramInfo = &MiniProgramInfo{Network: mp.Network, Categories: mp.Categories, VisitStatus: mp.VisitStatus}
	}
	c.keepOriginalID(ctx, appID, info.UserName) // for MessageHandler (binding.go)
	return info, nil
}

// OptionName names an authorizer option (official accounts).
type OptionName string

// Authorizer options and their values (digest 1.8).
const (
	// OptionLocationReport: "0" off, "1" report on entering a chat, "2" report every 5 seconds.
	OptionLocationReport OptionName = "location_report"
	// OptionVoiceRecognize: "0" off, "1" on.
	OptionVoiceRecognize OptionName = "voice_recognize"
	// OptionCustomerService: "0" off, "1" on.
	OptionCustomerService OptionName = "customer_service"
)

// validOptionValue reports whether value is allowed for a known option; unknown options pass.
func validOptionValue(name OptionName, value string) (bool, string) {
	switch name {
	case OptionLocationReport:
		return value == "0" || value == "1" || value == "2", `"0", "1" or "2"`
	case OptionVoiceRecognize, OptionCustomerService:
		return value == "0" || value == "1", `"0" or "1"`
	}
	return value != "", "non-empty"
}

// AuthorizerOption returns the value of option name of the account appID.
//
// WeChat: POST /cgi-bin/component/api_get_authorizer_option
func (c *Client) AuthorizerOption(ctx context.Context, appID string, name OptionName) (string, error) {
	if appID == "" {
		return "", wxerr.Invalid("authorizer_appid", "required")
	}
	if name == "" {
		return "", wxerr.Invalid("option_name", "required")
	}
	var out struct {
		AppID string `json:"authorizer_appid"`
		Name  string `json:"option_name"`
		Value string `json:"option_value"`
	}
	err := c.componentCall(ctx, &wxcall.Request{
		Method: "POST", Path: "/cgi-bin/component/api_get_authorizer_option",
		Body:       map[string]string{"component_appid": c.appID, "authorizer_appid": appID, "option_name": string(name)},
		Idempotent: true, AppID: appID,
	}, "", &out)
	if err != nil {
		return "", err
	}
	return out.Value, nil
}

// SetAuthorizerOption sets option name of the account appID to value ("0", "1"…; see the Option
// constants, whose values are checked before sending).
//
// WeChat: POST /cgi-bin/component/api_set_authorizer_option
func (c *Client) SetAuthorizerOption(ctx context.Context, appID string, name OptionName, value string) error {
	if appID == "" {
		return wxerr.Invalid("authorizer_appid", "required")
	}
	if name == "" {
		return wxerr.Invalid("option_name", "required")
	}
	if ok, rule := validOptionValue(name, value); !ok {
		return wxerr.Invalid("option_value", rule)
	}
	return c.componentCall(ctx, &wxcall.Request{
		Method: "POST", Path: "/cgi-bin/component/api_set_authorizer_option", AppID: appID,
		Body: map[string]string{
			"component_appid": c.appID, "authorizer_appid": appID,
			"option_name": string(name), "option_value": value,
		},
		Idempotent: true,
	}, "", nil)
}

// MaxListCount is the largest page api_get_authorizer_list serves.
const MaxListCount = 500

// AuthorizerList is one page of the accounts that authorised the platform.
type AuthorizerList struct {
	// TotalCount is the number of authorizers in all pages.
	TotalCount int
	List       []AuthorizerListItem
}

// AuthorizerListItem is one authorizer in a list page. Printing it never shows the refresh token.
type AuthorizerListItem struct {
	AuthorizerAppID string
	// RefreshToken is WeChat's current refresh token of the account (see RestoreRefreshTokens).
	RefreshToken string
	AuthTime     time.Time
}

// String describes it without its refresh token.
func (it AuthorizerListItem) String() string {
	return fmt.Sprintf("component.AuthorizerListItem{AuthorizerAppID: %s, RefreshToken: %s, AuthTime: %s}",
		it.AuthorizerAppID, redacted(it.RefreshToken), it.AuthTime.Format(time.RFC3339))
}

// GoString is String, for %#v.
func (it AuthorizerListItem) GoString() string { return it.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (it AuthorizerListItem) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, it.String()) }

// ListAuthorizers returns one page of the accounts that authorised the platform: count (1 to
// MaxListCount) items from offset (0 or more).
//
// WeChat: POST /cgi-bin/component/api_get_authorizer_list
func (c *Client) ListAuthorizers(ctx context.Context, offset, count int) (*AuthorizerList, error) {
	if offset < 0 {
		return nil, wxerr.Invalid("offset", "0 or more")
	}
	if count < 1 || count > MaxListCount {
		return nil, wxerr.Invalid("count", "1 to 500")
	}
	var out struct {
		TotalCount int `json:"total_count"`
		List       []struct {
			AppID        string `json:"authorizer_appid"`
			RefreshToken string `json:"refresh_token"`
			AuthTime     int64  `json:"auth_time"`
		} `json:"list"`
	}
	err := c.componentCall(ctx, &wxcall.Request{
		Method: "POST", Path: "/cgi-bin/component/api_get_authorizer_list",
		Body:       map[string]any{"component_appid": c.appID, "offset": offset, "count": count},
		Idempotent: true,
	}, "", &out)
	if err != nil {
		return nil, err
	}
	l := &AuthorizerList{TotalCount: out.TotalCount, List: make([]AuthorizerListItem, 0, len(out.List))}
	for _, it := range out.List {
		item := AuthorizerListItem{AuthorizerAppID: it.AppID, RefreshToken: it.RefreshToken}
		if it.AuthTime > 0 {
			item.AuthTime = time.Unix(it.AuthTime, 0)
		}
		l.List = append(l.List, item)
	}
	return l, nil
}

// AllAuthorizers walks every page of ListAuthorizers (MaxListCount per request) and yields each
// authorizer. An error is yielded once, with a zero item, and ends the walk.
//
// WeChat: POST /cgi-bin/component/api_get_authorizer_list
func (c *Client) AllAuthorizers(ctx context.Context) iter.Seq2[AuthorizerListItem, error] {
	return func(yield func(AuthorizerListItem, error) bool) {
		offset := 0
		for {
			page, err := c.ListAuthorizers(ctx, offset, MaxListCount)
			if err != nil {
				yield(AuthorizerListItem{}, err)
				return
			}
			for _, it := range page.List {
				if !yield(it, nil) {
					return
				}
			}
			offset += len(page.List)
			if len(page.List) == 0 || offset >= page.TotalCount {
				return
			}
		}
	}
}

// RestoreRefreshTokens walks AllAuthorizers and stores, for every account that has no refresh token
// in the credential store, the one WeChat lists: the way back after a credential store was lost. It
// returns how many refresh tokens it wrote.
//
// A stored refresh token is never replaced, even when it differs from the list: the list is a
// snapshot, and another instance may have rotated the token after WeChat answered, so the stored one
// may be the newer. An account whose stored token WeChat refuses (61023) can be set by hand with
// SetRefreshToken. Each write is a compare-and-swap over "nothing stored"; a write whose answer was
// lost is settled by reading the key.
//
// WeChat: POST /cgi-bin/component/api_get_authorizer_list
func (c *Client) RestoreRefreshTokens(ctx context.Context) (int, error) {
	ctx = withReason(ctx, "api_get_authorizer_list")
	n := 0
	for it, err := range c.AllAuthorizers(ctx) {
		if err != nil {
			return n, err
		}
		if it.AuthorizerAppID == "" || it.RefreshToken == "" {
			continue
		}
		key := c.authorizerKey(it.AuthorizerAppID, "refresh_token")
		_, err = c.creds.Get(ctx, key)
		if err == nil {
			continue // never replaced: it may be a newer rotation than the list
		}
		if !errors.Is(err, tokenstore.ErrNotFound) {
			return n, fmt.Errorf("component: read refresh token of %s: %w", it.AuthorizerAppID, err)
		}
		ok, err := c.creds.CompareAndSwap(ctx, key, "", tokenstore.Token{Value: it.RefreshToken})
		if err != nil {
			// Unknown outcome: read what the store holds now (ours, or another writer's: left alone).
			cur, rerr := c.creds.Get(ctx, key)
			if rerr != nil {
				return n, fmt.Errorf("component: store refresh token of %s: %w", it.AuthorizerAppID, err)
			}
			ok = cur.Value == it.RefreshToken
		}
		if ok {
			n++
		}
	}
	return n, nil
}
