package wxtest

// QR jump rules (API digest section 17.2): rules per mini program, the verification file, publishing
// within a monthly quota, deletion. The emulator cannot fetch the verification file from the rule's
// host, so publishing checks everything else.
//
// Rules the emulator enforces, and the errcodes it answers (the digest names no errcode for any of
// them: 40097, invalid args, with a hint, is the emulator's choice):
//   - qrcodejumpadd: prefix and path required (47001, as any missing field); prefix an absolute
//     http(s) URL; open_version "1", "2" or "3"; permit_sub_rule "1" or "2" (or absent); is_edit "0" or "1"
//     (absent: add); debug_url 1 to 5 URLs, each under the prefix. An add of a prefix that has a
//     rule, or an edit of one that has none, is refused. An added or edited rule is unpublished
//     (state 1).
//   - qrcodejumppublish: a rule of the prefix; at most qrJumpPublishQuota publishes per month (China
//     time; 45009, unverified); the rule becomes published (state 2).
//   - qrcodejumpdelete: a rule of the prefix.

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/wxopen-go/wxopen/wxerr"
)

const (
	pathQRJumpAdd      = "/cgi-bin/wxopen/qrcodejumpadd"
	pathQRJumpGet      = "/cgi-bin/wxopen/qrcodejumpget"
	pathQRJumpDownload = "/cgi-bin/wxopen/qrcodejumpdownload"
	pathQRJumpPublish  = "/cgi-bin/wxopen/qrcodejumppublish"
	pathQRJumpDelete   = "/cgi-bin/wxopen/qrcodejumpdelete"

	qrJumpPublishQuota = 20 // publishes per month (unverified)
)

func (s *Server) registerMPQRCodeJump() {
	code := func(h func(c *call) (any, error)) func(c *call) (any, error) { return needFunc(h, true, 18) }
	s.route(http.MethodPost, pathQRJumpAdd, authAuthorizer, code(s.qrJumpAdd))
	s.route(http.MethodPost, pathQRJumpGet, authAuthorizer, code(s.qrJumpGet))
	s.route(http.MethodPost, pathQRJumpDownload, authAuthorizer, code(s.qrJumpDownload))
	s.route(http.MethodPost, pathQRJumpPublish, authAuthorizer, code(s.qrJumpPublish))
	s.route(http.MethodPost, pathQRJumpDelete, authAuthorizer, code(s.qrJumpDelete))
}

type qrJumpRule struct {
	Prefix        string   `json:"prefix"`
	PermitSubRule string   `json:"permit_sub_rule"`
	Path          string   `json:"path"`
	OpenVersion   string   `json:"open_version"`
	DebugURL      []string `json:"debug_url"`
	State         int      `json:"state"`
}

type qrJumpApp struct {
	rules     []*qrJumpRule
	published map[string]int // China month → publishes
	fileName  string
	content   string
}

type qrJumpState struct{ apps map[string]*qrJumpApp }

func (s *Server) qrJumps(appID string) *qrJumpApp {
	st := groupState(s, func() *qrJumpState { return &qrJumpState{apps: map[string]*qrJumpApp{}} })
	a := st.apps[appID]
	if a == nil {
		a = &qrJumpApp{published: map[string]int{}, fileName: randHex(5) + ".txt", content: randHex(16)}
		st.apps[appID] = a
	}
	return a
}

func (a *qrJumpApp) find(prefix string) int {
	return slices.IndexFunc(a.rules, func(r *qrJumpRule) bool { return r.Prefix == prefix })
}

// qrJumpAdd: POST /cgi-bin/wxopen/qrcodejumpadd.
func (s *Server) qrJumpAdd(c *call) (any, error) {
	var req struct {
		qrJumpRule
		IsEdit string `json:"is_edit"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	r := req.qrJumpRule
	switch {
	case r.Prefix == "":
		return nil, missing("prefix")
	case r.Path == "":
		return nil, missing("path")
	case !httpURL(r.Prefix):
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: prefix is not an http(s) URL")
	case r.OpenVersion != "1" && r.OpenVersion != "2" && r.OpenVersion != "3":
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: open_version")
	case r.PermitSubRule != "" && r.PermitSubRule != "1" && r.PermitSubRule != "2":
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: permit_sub_rule")
	case req.IsEdit != "" && req.IsEdit != "0" && req.IsEdit != "1":
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: is_edit")
	case len(r.DebugURL) < 1 || len(r.DebugURL) > 5:
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: debug_url")
	}
	for _, d := range r.DebugURL {
		if !strings.HasPrefix(d, r.Prefix) {
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: debug_url not under prefix")
		}
	}
	app := s.qrJumps(a.info.AppID)
	i := app.find(r.Prefix)
	r.State = 1
	switch {
	case req.IsEdit == "1" && i < 0:
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: no rule with this prefix to edit")
	case req.IsEdit == "1":
		app.rules[i] = &r
	case i >= 0:
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: prefix already has a rule")
	default:
		app.rules = append(app.rules, &r)
	}
	return answerOK(), nil
}

// httpURL reports whether s is an absolute http or https URL with a host.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// qrJumpGet: POST /cgi-bin/wxopen/qrcodejumpget.
func (s *Server) qrJumpGet(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	app := s.qrJumps(a.info.AppID)
	list := make([]qrJumpRule, len(app.rules))
	for i, r := range app.rules {
		list[i] = *r
	}
	return withOK(map[string]any{"rule_list": list, "qrcodejump_open": 1,
		"qrcodejump_pub_quota": qrJumpPublishQuota - app.published[chinaMonth(c)], "list_size": len(list)}), nil
}

// qrJumpDownload: POST /cgi-bin/wxopen/qrcodejumpdownload.
func (s *Server) qrJumpDownload(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	app := s.qrJumps(a.info.AppID)
	return withOK(map[string]any{"file_name": app.fileName, "file_content": app.content}), nil
}

// qrJumpPublish: POST /cgi-bin/wxopen/qrcodejumppublish.
func (s *Server) qrJumpPublish(c *call) (any, error) {
	var req struct {
		Prefix string `json:"prefix"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	app := s.qrJumps(a.info.AppID)
	i := app.find(req.Prefix)
	if i < 0 {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: no rule with this prefix")
	}
	month := chinaMonth(c)
	if app.published[month] >= qrJumpPublishQuota {
		return nil, apiErr(wxerr.CodeDailyQuota, "publish quota of this month used up") // code unverified
	}
	app.published[month]++
	app.rules[i].State = 2
	return answerOK(), nil
}

// qrJumpDelete: POST /cgi-bin/wxopen/qrcodejumpdelete.
func (s *Server) qrJumpDelete(c *call) (any, error) {
	var req struct {
		Prefix string `json:"prefix"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	app := s.qrJumps(a.info.AppID)
	i := app.find(req.Prefix)
	if i < 0 {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: no rule with this prefix")
	}
	app.rules = slices.Delete(app.rules, i, i+1)
	return answerOK(), nil
}
