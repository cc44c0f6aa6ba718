// Package openplatform manages the open-platform account (开放平台账号) of an authorised official
// account or mini program: creating one, binding and unbinding the account, and asking which one it is
// bound to. Accounts bound to the same open-platform account share users' UnionIDs.
//
// Every call uses the authorizer's access token and sends the authorizer's own appid in the body, as
// WeChat's SDKs do (digest section 4).
package openplatform

import (
	"context"
	"errors"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Client manages the open-platform account binding of one authorizer. It is a cheap value over the
// authorizer client; get one from wxopen.Platform.OpenPlatform or build it with New.
type Client struct {
	a *authorizer.Client
}

// New returns a Client for the authorizer a (which must not be nil; calls on a Client built from nil
// return a *wxerr.ValidationError).
func New(a *authorizer.Client) *Client { return &Client{a: a} }

// AppID returns the authorizer appid this client acts for.
func (c *Client) AppID() string {
	if c == nil || c.a == nil {
		return ""
	}
	return c.a.AppID()
}

type appIDBody struct {
	AppID     string `json:"appid"`
	OpenAppID string `json:"open_appid,omitempty"`
}

type openAppIDResp struct {
	OpenAppID string `json:"open_appid"`
}

func (c *Client) call(ctx context.Context, path, openAppID string, idempotent bool, out any) error {
	if c == nil || c.a == nil {
		return wxerr.Invalid("authorizer", "openplatform.Client needs an authorizer client (use openplatform.New)")
	}
	return c.a.Call(ctx, &wxcall.Request{
		Method:     "POST",
		Path:       path,
		Body:       appIDBody{AppID: c.a.AppID(), OpenAppID: openAppID},
		Idempotent: idempotent,
	}, out)
}

// Create creates an (unverified) open-platform account with the authorizer's subject, binds the
// authorizer to it and returns its appid. WeChat answers 89000 when the authorizer is already bound.
//
// WeChat: POST /cgi-bin/open/create
func (c *Client) Create(ctx context.Context) (openAppID string, err error) {
	var out openAppIDResp
	if err := c.call(ctx, "/cgi-bin/open/create", "", false, &out); err != nil {
		return "", err
	}
	if out.OpenAppID == "" {
		return "", errors.New("wxopen: POST /cgi-bin/open/create: answer has no open_appid")
	}
	return out.OpenAppID, nil
}

// Bind binds the authorizer to the open-platform account openAppID. The subjects must match (89001);
// an account already bound answers 89000; a full open account 89004.
//
// WeChat: POST /cgi-bin/open/bind
func (c *Client) Bind(ctx context.Context, openAppID string) error {
	if openAppID == "" {
		return wxerr.Invalid("open_appid", "required")
	}
	return c.call(ctx, "/cgi-bin/open/bind", openAppID, false, nil)
}

// Unbind unbinds the authorizer from the open-platform account openAppID.
//
// WeChat: POST /cgi-bin/open/unbind
func (c *Client) Unbind(ctx context.Context, openAppID string) error {
	if openAppID == "" {
		return wxerr.Invalid("open_appid", "required")
	}
	return c.call(ctx, "/cgi-bin/open/unbind", openAppID, false, nil)
}

// Get returns the open-platform account the authorizer is bound to. When it is bound to none (WeChat's
// 89002) Get returns "", false and a nil error; every other errcode is a *wxerr.APIError.
//
// WeChat: POST /cgi-bin/open/get
func (c *Client) Get(ctx context.Context) (openAppID string, bound bool, err error) {
	var out openAppIDResp
	if err := c.call(ctx, "/cgi-bin/open/get", "", true, &out); err != nil {
		if wxerr.CodeOf(err) == wxerr.CodeOpenAccountNotBound {
			return "", false, nil
		}
		return "", false, err
	}
	if out.OpenAppID == "" {
		return "", false, errors.New("wxopen: POST /cgi-bin/open/get: answer has no open_appid")
	}
	return out.OpenAppID, true, nil
}
