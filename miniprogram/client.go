// Package miniprogram runs an authorised mini program on the merchant's behalf: its basic info
// (name, avatar, introduction, validated before anything is sent), its code (commit a template, the
// trial QR code, submit for audit, release, revert, withdraw), its server and web-view domains, user
// login through the platform (component jscode2session) and the decryption of the data the mini program
// hands back (user info, phone number). FastRegistration creates new mini programs for a merchant with
// the platform's own token.
//
// Its users and what the platform hands out (API digest part 2, 17, 18, 20): the phone number by code
// (PhoneNumber), the session check (CheckSession), the paid unionid (PaidUnionID), mini-program codes
// (Code, UnlimitedCode for per-table codes, CreateQRCode) as images, QR jump rules (AddQRCodeJump…),
// and subscribe messages (Subscribe, a service of its own). The session package keeps users' login
// sessions on top of Login.
//
// Today's gates before an audit (API digest part 2): the privacy guide, the code's privacy scan and
// privacy interfaces (Privacy, a service of its own), service categories (AllCategories,
// AddCategories…), audit operations (AuditQuota, SpeedUpAudit, VersionInfo, UploadAuditMedia,
// GrayRelease, SetVisitStatus), testers, the direct domain calls, and Readiness, which reads every
// gate still closed before a submit_audit or a release, with the errcode each would cause.
//
// Filing and verification (API digest part 2, 13-15): ICP, a service of its own, files the mini
// program (release is refused until it is filed); SubmitVerification verifies it, and
// ICP().SubmitAuthAndICP does both at once; FastRegistration also registers personal and trial mini
// programs, and RegisterWithOfficialAccount one with a verified official account's subject.
//
// Reads are marked idempotent and retried after network errors; writes (commit, submit_audit, release,
// revert, undo, domain changes, name, avatar, introduction, media upload) are sent once.
package miniprogram

import (
	"context"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Client calls WeChat for one authorised mini program. It is a cheap value over the authorizer
// client; get one from wxopen.Platform.MiniProgram or build it with New. It is safe for concurrent use.
type Client struct {
	a   *authorizer.Client
	icp *ICPLookups // platform-wide cache of the ICP look-up tables, or nil
}

// New returns a Client for the authorizer a (which must not be nil; calls on a Client built from nil
// return a *wxerr.ValidationError).
func New(a *authorizer.Client) *Client { return &Client{a: a} }

// AppID returns the mini program's appid.
func (c *Client) AppID() string {
	if c == nil || c.a == nil {
		return ""
	}
	return c.a.AppID()
}

func (c *Client) ready() error {
	if c == nil || c.a == nil {
		return wxerr.Invalid("authorizer", "miniprogram.Client needs an authorizer client (use miniprogram.New)")
	}
	return nil
}

// call sends a request with the authorizer's access token.
func (c *Client) call(ctx context.Context, req *wxcall.Request, out any) error {
	if err := c.ready(); err != nil {
		return err
	}
	return c.a.Call(ctx, req, out)
}

func get(path string) *wxcall.Request {
	return &wxcall.Request{Method: "GET", Path: path, Idempotent: true}
}

func post(path string, body any, idempotent bool) *wxcall.Request {
	return &wxcall.Request{Method: "POST", Path: path, Body: body, Idempotent: idempotent}
}
