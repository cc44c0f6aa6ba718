package wxtest

// The platform's own domain registration and the per-app "direct" domain calls (API digest part 2,
// section 16).
//
// Rules the emulator enforces, and the errcodes it answers:
//   - modify_wxa_server_domain / modify_wxa_jump_domain (component token as access_token): action
//     add|delete|set|get (40097); domains joined by ";", host names only: an entry with a scheme,
//     port, path or an IP address is answered in invalid_* and not applied; more than 1000 (server)
//     or 300 (jump) characters 40097. The testing configuration is what modify_domain and
//     setwebviewdomain check app domains against (SetPlatformDomains sets it too);
//     is_modify_published_together changes the published one as well. Deleting an absent domain
//     succeeds.
//   - get_domain_confirmfile: the platform's confirm file (the emulator cannot fetch it from the
//     domains, so it does not check that it is served).
//   - modify_domain_directly: the rules of modify_domain without the platform check; the lists are
//     the app's direct lists. get_effective_domain answers mp_domain (always empty here),
//     third_domain (modify_domain), direct_domain and effective_domain (third and direct, merged).
//   - get_webviewdomain_confirmfile needs the body {} (44002). setwebviewdomain_directly answers
//     86103 unless the app fetched its confirm file first (the emulator's stand-in for WeChat
//     fetching it from each domain); https:// hosts without port (89021 otherwise).
//     get_effective_webviewdomain merges third (setwebviewdomain) and direct.

import (
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/wxopen-go/wxopen/wxerr"
)

const (
	pathPlatformServerDomain = "/cgi-bin/component/modify_wxa_server_domain"
	pathPlatformJumpDomain   = "/cgi-bin/component/modify_wxa_jump_domain"
	pathPlatformConfirmFile  = "/cgi-bin/component/get_domain_confirmfile"
	pathModifyDomainDirectly = "/wxa/modify_domain_directly"
	pathEffectiveDomain      = "/wxa/get_effective_domain"
	pathWebviewDirectly      = "/wxa/setwebviewdomain_directly"
	pathWebviewConfirmFile   = "/wxa/get_webviewdomain_confirmfile"
	pathEffectiveWebview     = "/wxa/get_effective_webviewdomain"
)

// directState is this file's state, kept on the Server with groupState.
type directState struct {
	publishedServer, publishedJump []string
	apps                           map[string]*mpDirect // by authorizer appid
}

// mpDirect are the direct domains of one mini program.
type mpDirect struct {
	request, ws, upload, download, udp, tcp []string
	webview                                 []string
	confirmFile                             bool // get_webviewdomain_confirmfile was called
}

// direct returns this file's state. Call with s.mu held.
func (s *Server) direct() *directState {
	return groupState(s, func() *directState { return &directState{apps: map[string]*mpDirect{}} })
}

// directOf returns the direct domains of appID, creating them. Call with s.mu held.
func (s *Server) directOf(appID string) *mpDirect {
	st := s.direct()
	d := st.apps[appID]
	if d == nil {
		d = &mpDirect{}
		st.apps[appID] = d
	}
	return d
}

func (s *Server) registerMPDomainDirect() {
	code := func(h func(c *call) (any, error)) func(c *call) (any, error) { return needFunc(h, true, 18) }
	s.route(http.MethodPost, pathPlatformServerDomain, authComponentAsAccessToken, s.platformServerDomain)
	s.route(http.MethodPost, pathPlatformJumpDomain, authComponentAsAccessToken, s.platformJumpDomain)
	s.route(http.MethodPost, pathPlatformConfirmFile, authComponentAsAccessToken, s.platformConfirmFile)
	s.route(http.MethodPost, pathModifyDomainDirectly, authAuthorizer, code(s.mpModifyDomainDirectly))
	s.route(http.MethodPost, pathEffectiveDomain, authAuthorizer, code(s.mpEffectiveDomain))
	s.route(http.MethodPost, pathWebviewDirectly, authAuthorizer, code(s.mpWebviewDirectly))
	s.route(http.MethodPost, pathWebviewConfirmFile, authAuthorizer, code(s.mpWebviewConfirmFile))
	s.route(http.MethodPost, pathEffectiveWebview, authAuthorizer, code(s.mpEffectiveWebview))
}

// platformDomains applies a platform domain call to testing (and published).
func platformDomains(c *call, field string, maxChars int, testing, published *[]string) (map[string]any, error) {
	var req map[string]json.RawMessage
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	var action, joined string
	var together bool
	_ = json.Unmarshal(req["action"], &action)
	_ = json.Unmarshal(req[field], &joined)
	_ = json.Unmarshal(req["is_modify_published_together"], &together)
	switch action {
	case "add", "delete", "set", "get":
	case "":
		return nil, missing("action")
	default:
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [action]")
	}
	if len(joined) > maxChars {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: ["+field+"] too long")
	}
	var good, invalid []string
	for _, d := range strings.Split(joined, ";") {
		if d = strings.TrimSpace(d); d == "" {
			continue
		}
		if strings.ContainsAny(d, "/: ") || net.ParseIP(d) != nil || !strings.Contains(d, ".") {
			invalid = append(invalid, d)
			continue
		}
		good = append(good, strings.ToLower(d))
	}
	apply := func(cur []string) []string {
		switch action {
		case "set":
			return slices.Clone(good)
		case "add":
			for _, d := range good {
				if !slices.Contains(cur, d) {
					cur = append(cur, d)
				}
			}
		case "delete":
			cur = slices.DeleteFunc(cur, func(d string) bool { return slices.Contains(good, d) })
		}
		return cur
	}
	if action != "get" {
		*testing = apply(slices.Clone(*testing))
		if together {
			*published = apply(slices.Clone(*published))
		}
	}
	return map[string]any{"testing": strings.Join(*testing, ";"), "published": strings.Join(*published, ";"),
		"invalid": strings.Join(invalid, ";")}, nil
}

// platformServerDomain: POST /cgi-bin/component/modify_wxa_server_domain.
func (s *Server) platformServerDomain(c *call) (any, error) {
	m, st := s.mp(), s.direct()
	out, err := platformDomains(c, "wxa_server_domain", 1000, &m.serverDomains, &st.publishedServer)
	if err != nil {
		return nil, err
	}
	return withOK(map[string]any{"testing_wxa_server_domain": out["testing"], "published_wxa_server_domain": out["published"],
		"invalid_wxa_server_domain": out["invalid"]}), nil
}

// platformJumpDomain: POST /cgi-bin/component/modify_wxa_jump_domain.
func (s *Server) platformJumpDomain(c *call) (any, error) {
	m, st := s.mp(), s.direct()
	out, err := platformDomains(c, "wxa_jump_h5_domain", 300, &m.webviewDomains, &st.publishedJump)
	if err != nil {
		return nil, err
	}
	return withOK(map[string]any{"testing_wxa_jump_h5_domain": out["testing"], "published_wxa_jump_h5_domain": out["published"],
		"invalid_wxa_jump_h5_domain": out["invalid"]}), nil
}

// confirmFile is the confirm file of key: a stable name and content.
func confirmFile(key string) map[string]any {
	sum := userStr("confirm\x00" + key)
	return withOK(map[string]any{"file_name": sum[:10] + ".txt", "file_content": sum})
}

// platformConfirmFile: POST /cgi-bin/component/get_domain_confirmfile (no body).
func (s *Server) platformConfirmFile(c *call) (any, error) {
	return confirmFile(s.component.AppID), nil
}

// mpModifyDomainDirectly: POST /wxa/modify_domain_directly.
func (s *Server) mpModifyDomainDirectly(c *call) (any, error) {
	var req struct {
		Action string `json:"action"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	var lists map[string]json.RawMessage
	_ = json.Unmarshal(c.body, &lists)
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	d := s.directOf(a.info.AppID)
	return modifyDomainLists(req.Action, lists, d.lists(), nil)
}

func (d *mpDirect) lists() []domainList {
	return []domainList{
		{"requestdomain", []string{"https"}, &d.request}, {"wsrequestdomain", []string{"wss"}, &d.ws},
		{"uploaddomain", []string{"https"}, &d.upload}, {"downloaddomain", []string{"https"}, &d.download},
		{"udpdomain", []string{"udp"}, &d.udp}, {"tcpdomain", []string{"tcp"}, &d.tcp},
	}
}

// merged returns a followed by the entries of b it lacks.
func merged(a, b []string) []string {
	out := slices.Clone(nonNilList(a))
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// mpEffectiveDomain: POST /wxa/get_effective_domain.
func (s *Server) mpEffectiveDomain(c *call) (any, error) {
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	n := a.info.Network
	third := [][]string{n.RequestDomain, n.WsRequestDomain, n.UploadDomain, n.DownloadDomain, n.UDPDomain, app.tcpDomain}
	d := s.directOf(a.info.AppID)
	mp, thirdOut, directOut, effective := map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{}
	for i, l := range d.lists() {
		mp[l.key] = []string{}
		thirdOut[l.key] = nonNilList(third[i])
		directOut[l.key] = nonNilList(*l.cur)
		effective[l.key] = merged(third[i], *l.cur)
	}
	return withOK(map[string]any{"mp_domain": mp, "third_domain": thirdOut, "direct_domain": directOut, "effective_domain": effective}), nil
}

// mpWebviewConfirmFile: POST /wxa/get_webviewdomain_confirmfile with the body {}.
func (s *Server) mpWebviewConfirmFile(c *call) (any, error) {
	var req map[string]any
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	s.directOf(a.info.AppID).confirmFile = true
	return confirmFile(a.info.AppID), nil
}

// mpWebviewDirectly: POST /wxa/setwebviewdomain_directly.
func (s *Server) mpWebviewDirectly(c *call) (any, error) {
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
	d := s.directOf(a.info.AppID)
	answer := func() any { return withOK(map[string]any{"webviewdomain": nonNilList(d.webview)}) }
	switch req.Action {
	case "get":
		return answer(), nil
	case "add", "delete", "set":
	case "":
		return nil, missing("action")
	default:
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [action]")
	}
	var entries []string
	for _, e := range req.WebviewDomain {
		host, valid := domainHost(e, "https")
		if !valid || strings.Contains(host, ":") {
			return nil, apiErr(wxerr.CodeWebviewNotAllowed, "invalid business domain: "+e)
		}
		entries = append(entries, strings.ToLower(e))
	}
	if req.Action != "delete" && !d.confirmFile {
		return nil, apiErr(wxerr.CodeWebviewConfirmFailed, "check confirmfile fail")
	}
	switch req.Action {
	case "set":
		d.webview = entries
	case "add":
		d.webview = merged(d.webview, entries)
	case "delete":
		d.webview = slices.DeleteFunc(d.webview, func(x string) bool { return slices.Contains(entries, x) })
	}
	return answer(), nil
}

// mpEffectiveWebview: POST /wxa/get_effective_webviewdomain.
func (s *Server) mpEffectiveWebview(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	d := s.directOf(a.info.AppID)
	third := a.info.Network.BizDomain
	return withOK(map[string]any{"mp_webviewdomain": []string{}, "third_webviewdomain": nonNilList(third),
		"direct_webviewdomain": nonNilList(d.webview), "effective_webviewdomain": merged(third, d.webview)}), nil
}
