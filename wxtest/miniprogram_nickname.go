package wxtest

// Name checks (API digest part 1, 5.2; part 2, 15.4): checkwxverifynickname answers hit_condition
// for a name another account uses or one with a protected word (微信, 腾讯); api_wxa_querynickname
// answers the state of a name review setnickname started (audit_stat 1 reviewing, then 2 or 3 once
// ReviewNickname decided; 40097 for an audit id this app does not have).

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wxopen-go/wxopen/wxerr"
)

type nicknameAudit struct {
	name, reason      string
	stat              int
	created, reviewed time.Time
}

type nicknameState struct {
	audits map[string]*nicknameAudit // by appid + ":" + audit id
}

func (s *Server) nicknames() *nicknameState { // call with s.mu held
	return groupState(s, func() *nicknameState { return &nicknameState{audits: map[string]*nicknameAudit{}} })
}

func nicknameAuditKey(appID string, id int) string { return appID + ":" + strconv.Itoa(id) }

// noteNicknameAudit records a name review: started (stat 1) or decided (2, 3).
func (s *Server) noteNicknameAudit(appID string, id int, name string, stat int, reason string, now time.Time) { // call with s.mu held
	st := s.nicknames()
	k := nicknameAuditKey(appID, id)
	a := st.audits[k]
	if a == nil {
		a = &nicknameAudit{name: name, created: now}
		st.audits[k] = a
	}
	a.stat, a.reason = stat, reason
	if stat != 1 {
		a.reviewed = now
	}
}

func (s *Server) registerMPNickname() {
	s.route(http.MethodPost, "/cgi-bin/wxverify/checkwxverifynickname", authAuthorizer, s.checkNickname)
	s.route(http.MethodPost, "/wxa/api_wxa_querynickname", authAuthorizer, s.queryNickname)
}

func (s *Server) checkNickname(c *call) (any, error) {
	var req struct {
		NickName string `json:"nick_name"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	if req.NickName == "" {
		return nil, missing("nick_name")
	}
	me := c.authorizer()
	hit, wording := false, ""
	for id, other := range s.authorizers {
		if id != me.info.AppID && other.info.NickName == req.NickName {
			hit, wording = true, "该名称已被占用，如有商标可提交材料申请"
		}
	}
	if strings.Contains(req.NickName, "微信") || strings.Contains(req.NickName, "腾讯") {
		hit, wording = true, "名称包含受保护的关键词"
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "hit_condition": hit, "wording": wording}, nil
}

func (s *Server) queryNickname(c *call) (any, error) {
	var req struct {
		AuditID *int `json:"audit_id"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if req.AuditID == nil {
		return nil, missing("audit_id")
	}
	r := s.nicknames().audits[nicknameAuditKey(a.info.AppID, *req.AuditID)]
	if r == nil {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid audit_id")
	}
	out := map[string]any{"errcode": 0, "errmsg": "ok", "nickname": r.name, "audit_stat": r.stat, "fail_reason": r.reason,
		"create_time": r.created.Unix()}
	if !r.reviewed.IsZero() {
		out["audit_time"] = r.reviewed.Unix()
	}
	return out, nil
}
