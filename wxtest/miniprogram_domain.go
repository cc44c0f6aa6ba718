package wxtest

// Server and web-view domains (API digest 6.7).
//
// Rules the emulator enforces, and the errcodes it answers:
//   - modify_domain / setwebviewdomain: the platform's domains are set with SetPlatformDomains; with
//     none configured the calls answer 85017 / 89020. A domain whose host is not a platform domain
//     (or a subdomain of one) is refused with 85018 / 89021; a malformed one (wrong scheme for its
//     list, an IP address, api.weixin.qq.com) is returned in invalid_* and not applied. add with
//     nothing new answers 85017 / 89019; more than 200 per list 85016, more than 100 web-view
//     domains 89029.

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/wxopen-go/wxopen/wxerr"
)

// Paths of this file's endpoints.
const (
	pathModifyDomain  = "/wxa/modify_domain"
	pathWebviewDomain = "/wxa/setwebviewdomain"
)

// Limits of this file's rules.
const (
	maxDomainsPerList = 200
	maxWebviewDomains = 100
)

// registerMPDomain registers the domain endpoints.
func (s *Server) registerMPDomain() {
	code := func(h func(c *call) (any, error)) func(c *call) (any, error) { return needFunc(h, true, 18) }
	s.route(http.MethodPost, pathModifyDomain, authAuthorizer, code(s.mpModifyDomain))
	s.route(http.MethodPost, pathWebviewDomain, authAuthorizer, code(s.mpWebviewDomain))
}

// SetPlatformDomains registers the platform's mini-program server domains and business (web-view)
// domains, as hosts with an optional port ("api.shop.example", "ws.shop.example:8443"); a scheme
// is ignored. Mini programs may then use these hosts and their subdomains. It sets the testing and
// the published configuration, as the platform's modify_wxa_server_domain and
// modify_wxa_jump_domain calls do with is_modify_published_together. nil leaves a list
// unchanged; an empty non-nil slice clears it.
func (s *Server) SetPlatformDomains(server, webview []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, st := s.mp(), s.direct()
	if server != nil {
		m.serverDomains = hostsOf(server)
		st.publishedServer = slices.Clone(m.serverDomains)
	}
	if webview != nil {
		m.webviewDomains = hostsOf(webview)
		st.publishedJump = slices.Clone(m.webviewDomains)
	}
}

func hostsOf(list []string) []string {
	out := make([]string, 0, len(list))
	for _, d := range list {
		if i := strings.Index(d, "://"); i >= 0 {
			d = d[i+3:]
		}
		out = append(out, strings.ToLower(strings.TrimRight(d, "/")))
	}
	return out
}

// domainHost returns the host[:port] of a mini-program domain entry and whether its scheme is one
// of schemes and its host a name (not an IP, not api.weixin.qq.com).
func domainHost(entry string, schemes ...string) (string, bool) {
	u, err := url.Parse(entry)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", false
	}
	if !slices.Contains(schemes, strings.ToLower(u.Scheme)) {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if net.ParseIP(host) != nil || host == "localhost" || host == "api.weixin.qq.com" || !strings.Contains(host, ".") {
		return "", false
	}
	return strings.ToLower(u.Host), true
}

// hostAllowed reports whether host (with an optional port) is a platform domain or under one.
func hostAllowed(platform []string, host string) bool {
	for _, p := range platform {
		if host == p {
			return true
		}
		ph, pp, _ := strings.Cut(p, ":")
		h, hp, _ := strings.Cut(host, ":")
		if pp == hp && (h == ph || strings.HasSuffix(h, "."+ph)) {
			return true
		}
	}
	return false
}

// domainList is one of the six lists of modify_domain.
type domainList struct {
	key     string
	schemes []string
	cur     *[]string
}

// mpModifyDomain: POST /wxa/modify_domain.
func (s *Server) mpModifyDomain(c *call) (any, error) {
	var req struct {
		Action string `json:"action"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	var lists map[string]json.RawMessage
	_ = json.Unmarshal(c.body, &lists)
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	n := &a.info.Network
	all := []domainList{
		{"requestdomain", []string{"https"}, &n.RequestDomain},
		{"wsrequestdomain", []string{"wss"}, &n.WsRequestDomain},
		{"uploaddomain", []string{"https"}, &n.UploadDomain},
		{"downloaddomain", []string{"https"}, &n.DownloadDomain},
		{"udpdomain", []string{"udp"}, &n.UDPDomain},
		{"tcpdomain", []string{"tcp"}, &app.tcpDomain},
	}
	platform := s.mp().serverDomains
	if len(platform) == 0 && (req.Action == "add" || req.Action == "delete" || req.Action == "set") {
		return nil, apiErr(wxerr.CodeDomainNoChange, "no server domain configured on the platform")
	}
	return modifyDomainLists(req.Action, lists, all, platform)
}

// modifyDomainLists applies a modify_domain action to the lists all, checking each host against the
// platform's domains when platform is not nil, and answers with the resulting lists.
func modifyDomainLists(action string, lists map[string]json.RawMessage, all []domainList, platform []string) (any, error) {
	answer := func(invalid map[string][]string) any {
		out := map[string]any{"no_icp_domain": []string{}}
		for _, l := range all {
			out[l.key] = nonNilList(*l.cur)
			out["invalid_"+l.key] = nonNilList(invalid[l.key])
		}
		return withOK(out)
	}
	switch action {
	case "get":
		return answer(nil), nil
	case "add", "delete", "set":
	case "":
		return nil, missing("action")
	default:
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [action]")
	}
	// Check every list before changing any.
	sent := map[string][]string{}
	invalid := map[string][]string{}
	for _, l := range all {
		raw, found := lists[l.key]
		if !found {
			continue
		}
		var entries []string
		if json.Unmarshal(raw, &entries) != nil {
			return nil, apiErr(wxerr.CodeInvalidJSON, "")
		}
		if len(entries) > maxDomainsPerList {
			return nil, apiErr(wxerr.CodeTooManyDomains, "")
		}
		var good []string
		for _, e := range entries {
			host, valid := domainHost(e, l.schemes...)
			switch {
			case !valid:
				invalid[l.key] = append(invalid[l.key], e)
			case platform != nil && !hostAllowed(platform, host):
				return nil, apiErr(wxerr.CodeDomainNotRegistered, "domain not registered on the platform: "+e)
			default:
				good = append(good, strings.ToLower(e))
			}
		}
		sent[l.key] = good
	}
	// Compute every new list first: a refused call changes none.
	changed := false
	next := make([][]string, len(all))
	for i, l := range all {
		entries := sent[l.key]
		cur := slices.Clone(*l.cur)
		switch action {
		case "set":
			cur = slices.Clone(entries)
		case "add":
			for _, e := range entries {
				if !slices.Contains(cur, e) {
					cur = append(cur, e)
					changed = true
				}
			}
			if len(cur) > maxDomainsPerList {
				return nil, apiErr(wxerr.CodeTooManyDomains, "")
			}
		case "delete":
			before := len(cur)
			cur = slices.DeleteFunc(cur, func(d string) bool { return slices.Contains(entries, d) })
			changed = changed || len(cur) != before
		}
		next[i] = cur
	}
	if !changed && action != "set" && len(invalid) == 0 {
		return nil, apiErr(wxerr.CodeDomainNoChange, "nothing to change")
	}
	for i, l := range all {
		*l.cur = next[i]
	}
	return answer(invalid), nil
}

func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// mpWebviewDomain: POST /wxa/setwebviewdomain.
func (s *Server) mpWebviewDomain(c *call) (any, error) {
	var req struct {
		Action        string   `json:"action"`
		WebviewDomain []string `json:"webviewdomain"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	cur := &a.info.Network.BizDomain
	answer := func() any { return withOK(map[string]any{"webviewdomain": nonNilList(*cur)}) }
	switch req.Action {
	case "get":
		return answer(), nil
	case "add", "delete", "set":
	case "":
		return nil, missing("action")
	default:
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [action]")
	}
	platform := s.mp().webviewDomains
	if len(platform) == 0 {
		return nil, apiErr(wxerr.CodeWebviewNotConfigured, "no business domain configured on the platform")
	}
	var entries []string
	for _, e := range req.WebviewDomain {
		host, valid := domainHost(e, "https", "http")
		if !valid || !hostAllowed(platform, host) {
			return nil, apiErr(wxerr.CodeWebviewNotAllowed, "not a business domain of the platform: "+e)
		}
		entries = append(entries, strings.ToLower(e))
	}
	next := slices.Clone(*cur)
	switch req.Action {
	case "set":
		next = entries
	case "add":
		for _, e := range entries {
			if !slices.Contains(next, e) {
				next = append(next, e)
			}
		}
	case "delete":
		next = slices.DeleteFunc(next, func(d string) bool { return slices.Contains(entries, d) })
	}
	if len(next) > maxWebviewDomains {
		return nil, apiErr(89029, "too many business domains")
	}
	if req.Action != "set" && slices.Equal(next, *cur) {
		return nil, apiErr(wxerr.CodeWebviewNoChange, "nothing to change")
	}
	*cur = next
	return answer(), nil
}
