package miniprogram

import (
	"context"
	"encoding/json"
	"errors"
)

// The per-app "direct" domain calls (API digest part 2, section 16.3): they configure the mini
// program's domains without registering them on the platform first, and take effect with the next
// release. Pick one route per app (ModifyDomain with platform domains, or these) and do not mix.

// ModifyDomainDirectly adds, deletes, sets or reads the mini program's server domains without
// platform registration. The request and the answer are those of ModifyDomain.
//
// WeChat: POST /wxa/modify_domain_directly
func (c *Client) ModifyDomainDirectly(ctx context.Context, r ModifyDomainRequest) (*Domains, error) {
	body, err := r.body()
	if err != nil {
		return nil, err
	}
	var out Domains
	if err := c.call(ctx, post("/wxa/modify_domain_directly", body, r.Action == DomainGet), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DomainLists are the six server domain lists of a mini program.
type DomainLists struct {
	RequestDomain   []string `json:"requestdomain"`
	WSRequestDomain []string `json:"wsrequestdomain"`
	UploadDomain    []string `json:"uploaddomain"`
	DownloadDomain  []string `json:"downloaddomain"`
	UDPDomain       []string `json:"udpdomain"`
	TCPDomain       []string `json:"tcpdomain"`
}

// EffectiveDomains are the server domains by where they were configured, and those in force.
type EffectiveDomains struct {
	// MP are configured in the mini program's own console.
	MP DomainLists `json:"mp_domain"`
	// Third are configured by the platform (ModifyDomain).
	Third DomainLists `json:"third_domain"`
	// Direct are configured by ModifyDomainDirectly.
	Direct DomainLists `json:"direct_domain"`
	// Effective are in force (or will be after the next release).
	Effective DomainLists `json:"effective_domain"`
}

// EffectiveDomain returns the mini program's server domains by origin, and those in force.
//
// WeChat: POST /wxa/get_effective_domain
func (c *Client) EffectiveDomain(ctx context.Context) (*EffectiveDomains, error) {
	var out EffectiveDomains
	if err := c.call(ctx, post("/wxa/get_effective_domain", json.RawMessage(`{}`), true), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetWebviewDomainDirectly adds, deletes, sets or reads the mini program's business (web-view)
// domains without platform registration; each domain must serve the app's confirm file
// (WebviewDomainConfirmFile) at its root first (86103 otherwise). Prefer DomainAdd after a DomainGet:
// a DomainSet that re-sets domains already live forces a new release.
//
// WeChat: POST /wxa/setwebviewdomain_directly
func (c *Client) SetWebviewDomainDirectly(ctx context.Context, action DomainAction, domains []string) ([]string, error) {
	body, err := webviewBody(action, domains)
	if err != nil {
		return nil, err
	}
	var out struct {
		WebviewDomain []string `json:"webviewdomain"`
	}
	if err := c.call(ctx, post("/wxa/setwebviewdomain_directly", body, action == DomainGet), &out); err != nil {
		return nil, err
	}
	return out.WebviewDomain, nil
}

// WebviewConfirmFile is the confirm file business domains must serve: FileContent, exactly, at
// https://DOMAIN/FileName.
type WebviewConfirmFile struct {
	FileName    string `json:"file_name"`
	FileContent string `json:"file_content"`
}

// WebviewDomainConfirmFile returns the mini program's business-domain confirm file.
//
// WeChat: POST /wxa/get_webviewdomain_confirmfile
func (c *Client) WebviewDomainConfirmFile(ctx context.Context) (*WebviewConfirmFile, error) {
	var out WebviewConfirmFile
	if err := c.call(ctx, post("/wxa/get_webviewdomain_confirmfile", json.RawMessage(`{}`), true), &out); err != nil {
		return nil, err
	}
	if out.FileName == "" {
		return nil, errors.New("wxopen: POST /wxa/get_webviewdomain_confirmfile: answer has no file_name")
	}
	return &out, nil
}

// EffectiveWebviewDomains are the business domains by where they were configured, and those in force.
type EffectiveWebviewDomains struct {
	MP        []string `json:"mp_webviewdomain"`
	Third     []string `json:"third_webviewdomain"`
	Direct    []string `json:"direct_webviewdomain"`
	Effective []string `json:"effective_webviewdomain"`
}

// EffectiveWebviewDomain returns the mini program's business domains by origin, and those in force.
//
// WeChat: POST /wxa/get_effective_webviewdomain
func (c *Client) EffectiveWebviewDomain(ctx context.Context) (*EffectiveWebviewDomains, error) {
	var out EffectiveWebviewDomains
	if err := c.call(ctx, post("/wxa/get_effective_webviewdomain", json.RawMessage(`{}`), true), &out); err != nil {
		return nil, err
	}
	return &out, nil
}
