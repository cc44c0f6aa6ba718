package component

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Authorisation page addresses (digest 1.4). The mobile host is the one WxJava uses since 2025; an
// older form is https://mp.weixin.qq.com/safe/bindcomponent. Should WeChat move it, change it here.
const (
	pcAuthPage     = "https://mp.weixin.qq.com/cgi-bin/componentloginpage"
	mobileAuthPage = "https://open.weixin.qq.com/wxaopen/safe/bindcomponent"
)

// AuthType restricts which kinds of account the authorisation page lists (auth_type).
type AuthType int

// Values of auth_type. WeChat's later documentation adds values 4 to 6 (unverified); they are passed
// through as given.
const (
	AuthTypeOfficialAccount AuthType = 1 // only official accounts
	AuthTypeMiniProgram     AuthType = 2 // only mini programs
	AuthTypeBoth            AuthType = 3 // both (WeChat's default when auth_type is omitted)
)

// AuthURLOptions are the optional parameters of the authorisation page URLs.
type AuthURLOptions struct {
	// AuthType restricts the accounts listed; 0 omits auth_type (WeChat lists both kinds).
	AuthType AuthType
	// BizAppID restricts the authorisation to one account; "" omits biz_appid. It wins over AuthType.
	BizAppID string
}

// PreAuthCode is a pre-authorisation code, the ticket for one visit of the authorisation page.
type PreAuthCode struct {
	Code      string
	ExpiresAt time.Time
}

// PreAuthCode obtains a pre-authorisation code for AuthURL or MobileAuthURL.
//
// WeChat: POST /cgi-bin/component/api_create_preauthcode
func (c *Client) PreAuthCode(ctx context.Context) (*PreAuthCode, error) {
	var out struct {
		Code      string `json:"pre_auth_code"`
		ExpiresIn int64  `json:"expires_in"`
	}
	err := c.componentCall(ctx, &wxcall.Request{
		Method: "POST", Path: "/cgi-bin/component/api_create_preauthcode",
		Body: map[string]string{"component_appid": c.appID},
	}, "", &out)
	if err != nil {
		return nil, err
	}
	if out.Code == "" {
		return nil, fmt.Errorf("wxopen: POST /cgi-bin/component/api_create_preauthcode: answer has no pre_auth_code")
	}
	expiresIn := out.ExpiresIn
	if expiresIn <= 0 {
		expiresIn = 600
	}
	return &PreAuthCode{Code: out.Code, ExpiresAt: c.now().Add(time.Duration(expiresIn) * time.Second)}, nil
}

// AuthURL builds the PC authorisation page URL (the merchant administrator scans a QR code there).
// redirectURI must be an absolute http(s) URL on the platform's configured "authorisation initiation
// page domain"; after consent WeChat redirects there with auth_code and expires_in. It sends nothing.
// The redirect page need not call QueryAuth: WeChat also pushes the code as "authorized", and the
// Handler exchanges it and stores the tokens (unless HandlerConfig.ManualQueryAuth).
//
// https://mp.weixin.qq.com/cgi-bin/componentloginpage?component_appid=…&pre_auth_code=…&redirect_uri=…[&auth_type=…][&biz_appid=…]
func (c *Client) AuthURL(preAuthCode, redirectURI string, opts AuthURLOptions) (string, error) {
	q, err := c.authQuery(preAuthCode, redirectURI, opts)
	if err != nil {
		return "", err
	}
	return pcAuthPage + "?" + q, nil
}

// MobileAuthURL builds the mobile authorisation link (bindcomponent), which must be opened inside
// WeChat from a page on the platform's authorisation initiation domain. Parameters are as for AuthURL.
// It sends nothing.
//
// https://open.weixin.qq.com/wxaopen/safe/bindcomponent?action=bindcomponent&no_scan=1&component_appid=…&pre_auth_code=…&redirect_uri=…[&auth_type=…][&biz_appid=…]#wechat_redirect
func (c *Client) MobileAuthURL(preAuthCode, redirectURI string, opts AuthURLOptions) (string, error) {
	q, err := c.authQuery(preAuthCode, redirectURI, opts)
	if err != nil {
		return "", err
	}
	return mobileAuthPage + "?action=bindcomponent&no_scan=1&" + q + "#wechat_redirect", nil
}

func (c *Client) authQuery(preAuthCode, redirectURI string, opts AuthURLOptions) (string, error) {
	if preAuthCode == "" {
		return "", wxerr.Invalid("pre_auth_code", "required")
	}
	u, err := url.Parse(redirectURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", wxerr.Invalid("redirect_uri", "an absolute http(s) URL")
	}
	if opts.AuthType != 0 && (opts.AuthType < 1 || opts.AuthType > 6) {
		return "", wxerr.Invalid("auth_type", "0 (omitted) or 1 to 6")
	}
	var b strings.Builder
	b.WriteString("component_appid=")
	b.WriteString(url.QueryEscape(c.appID))
	b.WriteString("&pre_auth_code=")
	b.WriteString(url.QueryEscape(preAuthCode))
	b.WriteString("&redirect_uri=")
	b.WriteString(url.QueryEscape(redirectURI))
	if opts.AuthType != 0 {
		b.WriteString("&auth_type=")
		b.WriteString(strconv.Itoa(int(opts.AuthType)))
	}
	if opts.BizAppID != "" {
		b.WriteString("&biz_appid=")
		b.WriteString(url.QueryEscape(opts.BizAppID))
	}
	return b.String(), nil
}

// FuncInfo is one permission set (funcscope category) an account granted the platform.
type FuncInfo struct {
	// ID is funcscope_category.id.
	ID int
	// Confirm is confirm_info, present only for permission sets that need the merchant's confirmation.
	Confirm *ConfirmInfo
}

// ConfirmInfo says whether a permission set needs, has or can get the merchant's confirmation.
type ConfirmInfo struct {
	NeedConfirm    bool
	AlreadyConfirm bool
	CanConfirm     bool
}

type funcInfoJSON struct {
	Category struct {
		ID int `json:"id"`
	} `json:"funcscope_category"`
	Confirm *struct {
		Need    int `json:"need_confirm"`
		Already int `json:"already_confirm"`
		Can     int `json:"can_confirm"`
	} `json:"confirm_info"`
}

func decodeFuncInfo(in []funcInfoJSON) []FuncInfo {
	out := make([]FuncInfo, 0, len(in))
	for _, f := range in {
		fi := FuncInfo{ID: f.Category.ID}
		if f.Confirm != nil {
			fi.Confirm = &ConfirmInfo{NeedConfirm: f.Confirm.Need != 0, AlreadyConfirm: f.Confirm.Already != 0, CanConfirm: f.Confirm.Can != 0}
		}
		out = append(out, fi)
	}
	return out
}

// Authorization is what api_query_auth returns for an authorisation code: the account, the
// permission sets it granted, and its first access token and its refresh token. Printing it with
// any fmt verb never shows the tokens.
type Authorization struct {
	AuthorizerAppID string
	// AccessToken is the authorizer access token, valid until ExpiresAt.
	AccessToken string
	ExpiresAt   time.Time
	// RefreshToken is the authorizer refresh token: the only way to get new access tokens. QueryAuth
	// has already stored it in the credential store.
	RefreshToken string
	FuncInfo     []FuncInfo
}

// String describes a without its tokens.
func (a Authorization) String() string {
	return fmt.Sprintf("component.Authorization{AuthorizerAppID: %s, AccessToken: %s, ExpiresAt: %s, RefreshToken: %s, FuncInfo: %v}",
		a.AuthorizerAppID, redacted(a.AccessToken), a.ExpiresAt.Format(time.RFC3339), redacted(a.RefreshToken), a.FuncScopes())
}

// GoString is String, for %#v.
func (a Authorization) GoString() string { return a.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (a Authorization) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, a.String()) }

// FuncScopes returns the ids of the granted permission sets.
func (a Authorization) FuncScopes() []int { return funcScopes(a.FuncInfo) }

func funcScopes(fi []FuncInfo) []int {
	ids := make([]int, len(fi))
	for i, f := range fi {
		ids[i] = f.ID
	}
	return ids
}

// QueryAuth exchanges an authorisation code (the auth_code of the redirect, or of the authorized push)
// for the account's tokens. Before returning it stores the refresh token and the authorisation record
// in the credential store and the access token in the token store, as an authorisation event at the
// time of the call: unless the store holds a newer one (an authorized push handled meanwhile whose
// CreateTime by WeChat's clock is later), which then stands. On a storage error it returns the error
// together with the Authorization, so that the caller can still keep the refresh token elsewhere
// (WeChat has already consumed the code). A code that the authorized push of the same authorisation
// exchanged first, at any instance sharing the credential store (WeChat then refuses it, 61009), is
// not an error: the authorisation that push exchanged (and stores) is returned.
//
// WeChat: POST /cgi-bin/component/api_query_auth
func (c *Client) QueryAuth(ctx context.Context, code string) (*Authorization, error) {
	a, err := c.queryAuth(ctx, code)
	if err != nil {
		if wxerr.CodeOf(err) == wxerr.CodeAuthCodeInvalid {
			// The redirect page usually arrives after the push, which Handler exchanges at once.
			if m, rerr := c.recallExchange(ctx, c.exchangeMemoKey(code)); rerr == nil && m != nil {
				return m.authorization(), nil
			}
		}
		return nil, err
	}
	ctx = withReason(ctx, "api_query_auth")
	old, err := c.readCred(ctx, c.authorizerKey(a.AuthorizerAppID, "refresh_token"))
	if err != nil {
		return a, fmt.Errorf("component: read refresh token of %s: %w", a.AuthorizerAppID, err)
	}
	// The event time is in seconds, like a push's CreateTime: a push of the same second wins the tie.
	if err := c.storeAuthorization(ctx, a, old, c.now().Truncate(time.Second), true); err != nil && !errors.Is(err, errSuperseded) {
		return a, err
	}
	return a, nil
}

// queryAuth is api_query_auth without storing anything.
func (c *Client) queryAuth(ctx context.Context, code string) (*Authorization, error) {
	if code == "" {
		return nil, wxerr.Invalid("authorization_code", "required")
	}
	var out struct {
		Info struct {
			AppID        string         `json:"authorizer_appid"`
			AccessToken  string         `json:"authorizer_access_token"`
			ExpiresIn    int64          `json:"expires_in"`
			RefreshToken string         `json:"authorizer_refresh_token"`
			FuncInfo     []funcInfoJSON `json:"func_info"`
		} `json:"authorization_info"`
	}
	err := c.componentCall(ctx, &wxcall.Request{
		Method: "POST", Path: "/cgi-bin/component/api_query_auth",
		Body: map[string]string{"component_appid": c.appID, "authorization_code": code},
	}, "", &out)
	if err != nil {
		return nil, err
	}
	in := out.Info
	if in.AppID == "" || in.RefreshToken == "" || in.AccessToken == "" {
		return nil, fmt.Errorf("wxopen: POST /cgi-bin/component/api_query_auth: answer lacks authorizer_appid, authorizer_access_token or authorizer_refresh_token")
	}
	return &Authorization{
		AuthorizerAppID: in.AppID,
		AccessToken:     in.AccessToken,
		ExpiresAt:       c.expiresAt(in.ExpiresIn),
		RefreshToken:    in.RefreshToken,
		FuncInfo:        decodeFuncInfo(in.FuncInfo),
	}, nil
}
