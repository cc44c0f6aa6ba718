package component

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/wxopen-go/wxopen/wxcall"
	"github.com/wxopen-go/wxopen/wxerr"
)

// The platform's own mini-program domains (API digest part 2, section 16.2). A mini program
// authorised to the platform may only use domains registered here: when the platform releases its
// code, the app's own server and business domains are replaced by the platform's. Register them
// first, then push them to each app (miniprogram ModifyDomain, SetWebviewDomain), or use the
// per-app "direct" calls instead (miniprogram ModifyDomainDirectly, SetWebviewDomainDirectly).

// DomainAction says what a platform domain call does with the domains it sends.
type DomainAction string

// Platform domain actions.
const (
	DomainAdd    DomainAction = "add"
	DomainDelete DomainAction = "delete"
	DomainSet    DomainAction = "set"
	DomainGet    DomainAction = "get"
)

// PlatformDomainRequest changes the platform's server or business (jump) domains.
type PlatformDomainRequest struct {
	// Action is DomainAdd, DomainDelete, DomainSet or DomainGet (which sends no domains).
	Action DomainAction
	// Domains are host names without scheme or path ("api.dinehub.example"), sent joined by ";".
	Domains []string
	// PublishedToo changes the published configuration as well as the testing one.
	PublishedToo bool
}

// PlatformDomains are the platform's domains after a call: the testing and the published
// configuration, and the domains WeChat refused.
type PlatformDomains struct {
	Testing   []string
	Published []string
	Invalid   []string
}

// Limits of the platform domain lists (joined length, digest 16.2).
const (
	maxServerDomainChars = 1000
	maxJumpDomainChars   = 300
)

func (r PlatformDomainRequest) body(field string, maxChars int) (map[string]any, error) {
	switch r.Action {
	case DomainAdd, DomainDelete, DomainSet, DomainGet:
	default:
		return nil, wxerr.Invalid("action", "add, delete, set or get")
	}
	if r.Action == DomainGet && len(r.Domains) > 0 {
		return nil, wxerr.Invalid(field, "get sends no domains")
	}
	if (r.Action == DomainAdd || r.Action == DomainDelete) && len(r.Domains) == 0 {
		return nil, wxerr.Invalid(field, string(r.Action)+" needs at least one domain")
	}
	for i, d := range r.Domains {
		if d == "" || strings.ContainsAny(d, ";/: ") || net.ParseIP(d) != nil || !strings.Contains(d, ".") {
			return nil, wxerr.Invalid(field, "domain "+strconv.Itoa(i+1)+" must be a host name without scheme, port or path")
		}
	}
	joined := strings.Join(r.Domains, ";")
	if len(joined) > maxChars {
		return nil, wxerr.Invalid(field, "at most "+strconv.Itoa(maxChars)+" characters joined")
	}
	body := map[string]any{"action": r.Action, "is_modify_published_together": r.PublishedToo}
	if r.Action != DomainGet {
		body[field] = joined
	}
	return body, nil
}

func splitDomains(s string) []string {
	var out []string
	for _, d := range strings.Split(s, ";") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

// ModifyServerDomain adds, deletes, sets or reads the platform's mini-program server domains.
//
// WeChat: POST /cgi-bin/component/modify_wxa_server_domain
func (c *Client) ModifyServerDomain(ctx context.Context, r PlatformDomainRequest) (*PlatformDomains, error) {
	body, err := r.body("wxa_server_domain", maxServerDomainChars)
	if err != nil {
		return nil, err
	}
	var out struct {
		Testing   string `json:"testing_wxa_server_domain"`
		Published string `json:"published_wxa_server_domain"`
		Invalid   string `json:"invalid_wxa_server_domain"`
	}
	req := &wxcall.Request{Method: "POST", Path: "/cgi-bin/component/modify_wxa_server_domain", Body: body, Idempotent: r.Action == DomainGet}
	if err := c.componentCall(ctx, req, "access_token", &out); err != nil {
		return nil, err
	}
	return &PlatformDomains{Testing: splitDomains(out.Testing), Published: splitDomains(out.Published), Invalid: splitDomains(out.Invalid)}, nil
}

// ModifyJumpDomain adds, deletes, sets or reads the platform's business (web-view) domains. Each
// domain must serve the confirm file (DomainConfirmFile) at its root first.
//
// WeChat: POST /cgi-bin/component/modify_wxa_jump_domain
func (c *Client) ModifyJumpDomain(ctx context.Context, r PlatformDomainRequest) (*PlatformDomains, error) {
	body, err := r.body("wxa_jump_h5_domain", maxJumpDomainChars)
	if err != nil {
		return nil, err
	}
	var out struct {
		Testing   string `json:"testing_wxa_jump_h5_domain"`
		Published string `json:"published_wxa_jump_h5_domain"`
		Invalid   string `json:"invalid_wxa_jump_h5_domain"`
	}
	req := &wxcall.Request{Method: "POST", Path: "/cgi-bin/component/modify_wxa_jump_domain", Body: body, Idempotent: r.Action == DomainGet}
	if err := c.componentCall(ctx, req, "access_token", &out); err != nil {
		return nil, err
	}
	return &PlatformDomains{Testing: splitDomains(out.Testing), Published: splitDomains(out.Published), Invalid: splitDomains(out.Invalid)}, nil
}

// ConfirmFile is a domain confirm file: serve FileContent, exactly (no BOM, no trailing newline),
// at https://DOMAIN/FileName.
type ConfirmFile struct {
	FileName    string `json:"file_name"`
	FileContent string `json:"file_content"`
}

// DomainConfirmFile returns the confirm file the platform's business domains must serve.
//
// WeChat: POST /cgi-bin/component/get_domain_confirmfile
func (c *Client) DomainConfirmFile(ctx context.Context) (*ConfirmFile, error) {
	var out ConfirmFile
	// The digest (16.2) documents no body for this call, unlike the app-level confirm file.
	req := &wxcall.Request{Method: "POST", Path: "/cgi-bin/component/get_domain_confirmfile", Idempotent: true}
	if err := c.componentCall(ctx, req, "access_token", &out); err != nil {
		return nil, err
	}
	if out.FileName == "" {
		return nil, errors.New("wxopen: POST /cgi-bin/component/get_domain_confirmfile: answer has no file_name")
	}
	return &out, nil
}
