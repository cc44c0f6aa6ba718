package miniprogram

import (
	"context"
	"strconv"

	"github.com/wxopen-go/wxopen/wxerr"
)

// DomainAction says what a domain call does with the lists it sends.
type DomainAction string

// Domain actions.
const (
	DomainAdd    DomainAction = "add"    // add the domains sent
	DomainDelete DomainAction = "delete" // remove the domains sent
	DomainSet    DomainAction = "set"    // replace every list by the lists sent (empty lists clear)
	DomainGet    DomainAction = "get"    // send nothing, read the current lists
)

func (a DomainAction) valid() bool {
	switch a {
	case DomainAdd, DomainDelete, DomainSet, DomainGet:
		return true
	}
	return false
}

// ModifyDomainRequest changes the mini program's server domains. Every domain must first be
// registered as one of the platform's mini-program server domains.
type ModifyDomainRequest struct {
	// Action is DomainAdd, DomainDelete, DomainSet or DomainGet. With DomainGet the lists must be empty.
	Action          DomainAction
	RequestDomain   []string // https://… for wx.request
	WSRequestDomain []string // wss://… for sockets
	UploadDomain    []string
	DownloadDomain  []string
	UDPDomain       []string
	TCPDomain       []string
}

// Domains are the mini program's server domains after a ModifyDomain call, and the domains WeChat
// refused.
type Domains struct {
	RequestDomain   []string `json:"requestdomain"`
	WSRequestDomain []string `json:"wsrequestdomain"`
	UploadDomain    []string `json:"uploaddomain"`
	DownloadDomain  []string `json:"downloaddomain"`
	UDPDomain       []string `json:"udpdomain"`
	TCPDomain       []string `json:"tcpdomain"`

	InvalidRequestDomain   []string `json:"invalid_requestdomain"`
	InvalidWSRequestDomain []string `json:"invalid_wsrequestdomain"`
	InvalidUploadDomain    []string `json:"invalid_uploaddomain"`
	InvalidDownloadDomain  []string `json:"invalid_downloaddomain"`
	InvalidUDPDomain       []string `json:"invalid_udpdomain"`
	InvalidTCPDomain       []string `json:"invalid_tcpdomain"`
	// NoICPDomain are domains refused for lacking an ICP registration.
	NoICPDomain []string `json:"no_icp_domain"`
}

// maxDomains is WeChat's limit per list (85016 beyond).
const maxDomains = 200

func checkDomains(field string, list []string, max int) error {
	if len(list) > max {
		return wxerr.Invalid(field, "at most "+strconv.Itoa(max)+" domains")
	}
	for i, d := range list {
		if d == "" {
			return wxerr.Invalid(field, "domain "+strconv.Itoa(i+1)+" is empty")
		}
	}
	return nil
}

// ModifyDomain adds, deletes, sets or reads the mini program's server domains and returns the
// resulting lists. Add and delete need at least one domain; set replaces all six lists (so an empty
// list clears it); get sends no list. Changes are never retried automatically.
//
// WeChat: POST /wxa/modify_domain
func (c *Client) ModifyDomain(ctx context.Context, r ModifyDomainRequest) (*Domains, error) {
	body, err := r.body()
	if err != nil {
		return nil, err
	}
	var out Domains
	if err := c.call(ctx, post("/wxa/modify_domain", body, r.Action == DomainGet), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// body checks r and returns the JSON body of modify_domain (and modify_domain_directly).
func (r ModifyDomainRequest) body() (map[string]any, error) {
	if !r.Action.valid() {
		return nil, wxerr.Invalid("action", "add, delete, set or get")
	}
	lists := []struct {
		field string
		list  []string
	}{
		{"requestdomain", r.RequestDomain}, {"wsrequestdomain", r.WSRequestDomain},
		{"uploaddomain", r.UploadDomain}, {"downloaddomain", r.DownloadDomain},
		{"udpdomain", r.UDPDomain}, {"tcpdomain", r.TCPDomain},
	}
	body := map[string]any{"action": r.Action}
	total := 0
	for _, l := range lists {
		if err := checkDomains(l.field, l.list, maxDomains); err != nil {
			return nil, err
		}
		total += len(l.list)
		switch {
		case r.Action == DomainSet:
			body[l.field] = nonNil(l.list)
		case len(l.list) > 0:
			body[l.field] = l.list
		}
	}
	switch {
	case r.Action == DomainGet && total > 0:
		return nil, wxerr.Invalid("action", "get sends no domain lists")
	case (r.Action == DomainAdd || r.Action == DomainDelete) && total == 0:
		return nil, wxerr.Invalid("requestdomain", string(r.Action)+" needs at least one domain")
	}
	return body, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// maxWebviewDomains is WeChat's limit on business domains (89029 beyond).
const maxWebviewDomains = 100

// SetWebviewDomain adds, deletes, sets or reads the mini program's business (web-view) domains and
// returns the resulting list. Every domain must be one of the platform's business domains (89021).
// Add and delete need at least one domain; get sends none.
//
// WeChat: POST /wxa/setwebviewdomain
func (c *Client) SetWebviewDomain(ctx context.Context, action DomainAction, domains []string) ([]string, error) {
	body, err := webviewBody(action, domains)
	if err != nil {
		return nil, err
	}
	var out struct {
		WebviewDomain []string `json:"webviewdomain"`
	}
	if err := c.call(ctx, post("/wxa/setwebviewdomain", body, action == DomainGet), &out); err != nil {
		return nil, err
	}
	return out.WebviewDomain, nil
}

// webviewBody checks a business-domain call and returns its JSON body.
func webviewBody(action DomainAction, domains []string) (map[string]any, error) {
	if !action.valid() {
		return nil, wxerr.Invalid("action", "add, delete, set or get")
	}
	if err := checkDomains("webviewdomain", domains, maxWebviewDomains); err != nil {
		return nil, err
	}
	body := map[string]any{"action": action}
	switch action {
	case DomainGet:
		if len(domains) > 0 {
			return nil, wxerr.Invalid("webviewdomain", "get sends no domains")
		}
	case DomainSet:
		body["webviewdomain"] = nonNil(domains)
	default:
		if len(domains) == 0 {
			return nil, wxerr.Invalid("webviewdomain", string(action)+" needs at least one domain")
		}
		body["webviewdomain"] = domains
	}
	return body, nil
}
