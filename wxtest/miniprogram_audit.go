package wxtest

// Audit operations (API digest part 2, section 12): the platform's audit quota, expediting, version
// info, audit media, grey release, visit status and testers.
//
// Rules the emulator enforces, and the errcodes it answers:
//   - The audit quota belongs to the platform and counts per month (China time): every accepted
//     submit_audit uses one (an undone or rejected audit does not give it back: unverified, the
//     conservative choice); with none left submit_audit answers 85085. SetAuditQuota sets the
//     monthly allocations (DefaultAuditQuota, DefaultSpeedUpQuota); AuditsSubmitted counts them.
//   - speedupaudit: the audit must be the latest and under review (89402), not yet expedited
//     (89404), with an expedite left this month (89405).
//   - getversioninfo: exp_info is the last commit, release_info the live version; a running grey
//     release already counts as live (release_info names the grey version) until it is reverted.
//     Closing the app (change_visitstatus close) leaves both as they are. The digest is silent
//     (12.3, 12.7); WeChat's own title for change_visitstatus, 修改小程序线上代码的可见状态 ("set
//     the visibility of the live code", as peer SDKs quote it), says it changes whether the live
//     code can be visited, not which code is live. So release_info still names the released
//     version while it is closed, release still answers 85052 for it, and readiness and rollouts,
//     which read release_info as "released", stay right. getvisitstatus shows the closing.
//   - uploadmedia: field "media", a PNG/JPEG/GIF/BMP image of at most 2 MB or an MP4 video of at
//     most 20 MB (40005 type, 40006 size).
//   - grayrelease: gray_percentage 1-100 (40097), only raised while running (40097); needs an
//     approved, unreleased audit (85019 none, 85020 not approved, 85052 released). release then
//     finishes the plan; revertgrayrelease deletes it (85021 when none runs); revertcoderelease
//     answers 87011 while one runs.
//   - change_visitstatus: action open|close (40097), needs a live version (85021). getvisitstatus
//     answers status 0 (open) or 1 (closed): WeChat does not document the values; these are
//     wxopen's choice (miniprogram.VisitStatusOpen, VisitStatusClosed).
//   - bind_tester: a WeChat ID (85001), not yet a tester (85004), at most maxTesters per mini program
//     (85002), and a person is a tester of at most maxTesterApps mini programs (85003). unbind_tester
//     takes wechatid or userstr (47001 neither) and succeeds for someone not bound. memberauth needs
//     action get_experiencer (40097).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"

	"github.com/wxopen-go/wxopen/wxerr"
)

const (
	pathQueryQuota    = "/wxa/queryquota"
	pathSpeedUpAudit  = "/wxa/speedupaudit"
	pathVersionInfo   = "/wxa/getversioninfo"
	pathAuditMedia    = "/wxa/uploadmedia"
	pathGrayRelease   = "/wxa/grayrelease"
	pathRevertGray    = "/wxa/revertgrayrelease"
	pathGrayPlan      = "/wxa/getgrayreleaseplan"
	pathChangeVisit   = "/wxa/change_visitstatus"
	pathGetVisit      = "/wxa/getvisitstatus"
	pathBindTester    = "/wxa/bind_tester"
	pathUnbindTester  = "/wxa/unbind_tester"
	pathMemberAuth    = "/wxa/memberauth"
	maxAuditImage     = 2 << 20
	maxAuditVideo     = 20 << 20
	maxTesters        = 15
	maxTesterApps     = 50
	grayRunning       = 1
	grayFinished      = 3
	grayDeleted       = 4
	visitOpen         = 0
	visitClosed       = 1
	auditMediaIDBytes = 24
)

// The default monthly allocations of a platform (SetAuditQuota changes them).
const (
	DefaultAuditQuota   = 20
	DefaultSpeedUpQuota = 3
)

// auditState is this file's state, kept on the Server with groupState.
type auditState struct {
	limit, speedUpLimit int
	used, speedUps      map[string]int         // China month → count, for the platform
	apps                map[string]*mpAuditOps // by authorizer appid
	testerApps          map[string]int         // userstr → number of mini programs
	media               map[string]bool        // audit media ids
}

// mpAuditOps is the audit-operations state of one mini program.
type mpAuditOps struct {
	gray     *grayPlan
	visit    int
	testers  []string // userstr
	expedite map[int64]bool
	grays    int // grey release plans started (CodeCounts)
}

type grayPlan struct {
	status, percentage              int
	created                         int64
	experiencerFirst, debugersFirst bool
	audit                           *mpAudit
}

// audits returns this file's state. Call with s.mu held.
func (s *Server) audits() *auditState {
	return groupState(s, func() *auditState {
		return &auditState{limit: DefaultAuditQuota, speedUpLimit: DefaultSpeedUpQuota, used: map[string]int{},
			speedUps: map[string]int{}, apps: map[string]*mpAuditOps{}, testerApps: map[string]int{}, media: map[string]bool{}}
	})
}

// auditOps returns the state of appID, creating it. Call with s.mu held.
func (s *Server) auditOps(appID string) *mpAuditOps {
	st := s.audits()
	o := st.apps[appID]
	if o == nil {
		o = &mpAuditOps{expedite: map[int64]bool{}}
		st.apps[appID] = o
	}
	return o
}

// SetAuditQuota sets the platform's monthly allocations: limit submissions (submit_audit) and
// speedUps expedites (speedupaudit). The counts of the current month are kept, so lowering limit
// below AuditsSubmitted leaves none.
func (s *Server) SetAuditQuota(limit, speedUps int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.audits()
	st.limit, st.speedUpLimit = max(limit, 0), max(speedUps, 0)
}

// AuditsSubmitted returns how many audits the platform submitted this month (China time, emulator
// clock), the count the audit quota is checked against.
func (s *Server) AuditsSubmitted() int {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.audits().used[chinaDate(now)[:7]]
}

// useAuditQuota counts an accepted submit_audit: 85085 when the month's quota is used. Call with
// s.mu held, as the last gate of submit_audit.
func (s *Server) useAuditQuota(c *call) error {
	st := s.audits()
	month := chinaMonth(c)
	if st.used[month] >= st.limit {
		return apiErr(wxerr.CodeAuditQuota, "the monthly audit quota is used up")
	}
	st.used[month]++
	return nil
}

func (s *Server) registerMPAudit() {
	code := func(h func(c *call) (any, error)) func(c *call) (any, error) { return needFunc(h, true, 18) }
	s.route(http.MethodGet, pathQueryQuota, authAuthorizer, code(s.mpQueryQuota))
	s.route(http.MethodPost, pathSpeedUpAudit, authAuthorizer, code(s.mpSpeedUp))
	s.route(http.MethodPost, pathVersionInfo, authAuthorizer, code(s.mpVersionInfo))
	s.route(http.MethodPost, pathAuditMedia, authAuthorizer, code(s.mpAuditMedia))
	s.route(http.MethodPost, pathGrayRelease, authAuthorizer, code(s.mpGrayRelease))
	s.route(http.MethodGet, pathRevertGray, authAuthorizer, code(s.mpRevertGray))
	s.route(http.MethodGet, pathGrayPlan, authAuthorizer, code(s.mpGrayPlan))
	s.route(http.MethodPost, pathChangeVisit, authAuthorizer, code(s.mpChangeVisit))
	s.route(http.MethodPost, pathGetVisit, authAuthorizer, code(s.mpGetVisit))
	s.route(http.MethodPost, pathBindTester, authAuthorizer, code(s.mpBindTester))
	s.route(http.MethodPost, pathUnbindTester, authAuthorizer, code(s.mpUnbindTester))
	s.route(http.MethodPost, pathMemberAuth, authAuthorizer, code(s.mpMemberAuth))
}

// mpQueryQuota: GET /wxa/queryquota.
func (s *Server) mpQueryQuota(c *call) (any, error) {
	if _, _, err := s.miniProgram(c); err != nil {
		return nil, err
	}
	st := s.audits()
	month := chinaMonth(c)
	return withOK(map[string]any{"rest": max(st.limit-st.used[month], 0), "limit": st.limit,
		"speedup_rest": max(st.speedUpLimit-st.speedUps[month], 0), "speedup_limit": st.speedUpLimit}), nil
}

// mpSpeedUp: POST /wxa/speedupaudit.
func (s *Server) mpSpeedUp(c *call) (any, error) {
	var req struct {
		AuditID *int64 `json:"auditid"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if req.AuditID == nil {
		return nil, missing("auditid")
	}
	au := app.latest
	if au == nil || au.id != *req.AuditID || (au.status != auditReviewing && au.status != auditDelayed) {
		return nil, apiErr(wxerr.CodeSpeedUpNotPending, "audit is not in the review queue")
	}
	ops := s.auditOps(a.info.AppID)
	if ops.expedite[au.id] {
		return nil, apiErr(wxerr.CodeSpeedUpAlreadyDone, "audit already expedited")
	}
	st := s.audits()
	month := chinaMonth(c)
	if st.speedUps[month] >= st.speedUpLimit {
		return nil, apiErr(wxerr.CodeSpeedUpQuotaUsedUp, "speedup quota used up")
	}
	st.speedUps[month]++
	ops.expedite[au.id] = true
	return answerOK(), nil
}

// mpVersionInfo: POST /wxa/getversioninfo with the body {}.
func (s *Server) mpVersionInfo(c *call) (any, error) {
	var req map[string]any
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if v := app.trial; v != nil {
		out["exp_info"] = map[string]any{"exp_time": v.commitTime.Unix(), "exp_version": v.userVersion, "exp_desc": v.userDesc}
	}
	live := app.released
	var liveTime int64
	if live != nil {
		liveTime = live.releaseTime.Unix()
	}
	if g := s.auditOps(a.info.AppID).gray; g != nil && g.status == grayRunning {
		live, liveTime = &g.audit.version, g.created
	}
	if live != nil {
		out["release_info"] = map[string]any{"release_time": liveTime, "release_version": live.userVersion, "release_desc": live.userDesc}
	}
	return withOK(out), nil
}

// mpAuditMedia: POST /wxa/uploadmedia, the file in "media".
func (s *Server) mpAuditMedia(c *call) (any, error) {
	if _, _, err := s.miniProgram(c); err != nil {
		return nil, err
	}
	_, data, ok := formFile(c, "media")
	if !ok || len(data) == 0 {
		return nil, apiErr(41005, "media data missing")
	}
	typ := "image"
	switch {
	case imageKind(data) != "":
		if len(data) > maxAuditImage {
			return nil, apiErr(40006, "invalid meida size")
		}
	case len(data) >= 12 && bytes.Equal(data[4:8], []byte("ftyp")):
		typ = "video"
		if len(data) > maxAuditVideo {
			return nil, apiErr(40006, "invalid meida size")
		}
	default:
		return nil, apiErr(40005, "invalid file type")
	}
	id := randAlnum(auditMediaIDBytes)
	s.audits().media[id] = true
	return withOK(map[string]any{"type": typ, "mediaid": id}), nil
}

// mpGrayRelease: POST /wxa/grayrelease.
func (s *Server) mpGrayRelease(c *call) (any, error) {
	var req struct {
		Percentage       *int `json:"gray_percentage"`
		ExperiencerFirst bool `json:"support_experiencer_first"`
		DebugerFirst     bool `json:"support_debuger_first"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if req.Percentage == nil {
		return nil, missing("gray_percentage")
	}
	if *req.Percentage < 1 || *req.Percentage > 100 {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [gray_percentage] 1 to 100")
	}
	ops := s.auditOps(a.info.AppID)
	if g := ops.gray; g != nil && g.status == grayRunning {
		if *req.Percentage < g.percentage {
			return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [gray_percentage] can only be raised")
		}
		g.percentage = *req.Percentage
		return answerOK(), nil
	}
	au := app.latest
	switch {
	case au == nil:
		return nil, apiErr(wxerr.CodeNoAuditVersion, "")
	case au.status != auditApproved:
		return nil, apiErr(wxerr.CodeNotReleasable, "")
	case au.released:
		return nil, apiErr(wxerr.CodeAlreadyReleased, "")
	}
	ops.grays++
	ops.gray = &grayPlan{status: grayRunning, percentage: *req.Percentage, created: c.now.Unix(),
		experiencerFirst: req.ExperiencerFirst, debugersFirst: req.DebugerFirst, audit: au}
	return answerOK(), nil
}

// grayRunningFor reports whether appID has a running grey release. Call with s.mu held.
func (s *Server) grayRunningFor(appID string) bool {
	g := s.auditOps(appID).gray
	return g != nil && g.status == grayRunning
}

// finishGray marks a running grey release of appID finished (on a full release). Call with s.mu held.
func (s *Server) finishGray(appID string) {
	if g := s.auditOps(appID).gray; g != nil && g.status == grayRunning {
		g.status, g.percentage = grayFinished, 100
	}
}

// mpRevertGray: GET /wxa/revertgrayrelease.
func (s *Server) mpRevertGray(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if !s.grayRunningFor(a.info.AppID) {
		return nil, apiErr(wxerr.CodeStatusNotAllowed, "no grey release running")
	}
	s.auditOps(a.info.AppID).gray.status = grayDeleted
	return answerOK(), nil
}

// mpGrayPlan: GET /wxa/getgrayreleaseplan.
func (s *Server) mpGrayPlan(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	plan := map[string]any{"status": 0, "create_timestamp": 0, "gray_percentage": 0,
		"support_experiencer_first": false, "support_debuger_first": false}
	if g := s.auditOps(a.info.AppID).gray; g != nil {
		plan = map[string]any{"status": g.status, "create_timestamp": g.created, "gray_percentage": g.percentage,
			"support_experiencer_first": g.experiencerFirst, "support_debuger_first": g.debugersFirst}
	}
	return withOK(map[string]any{"gray_release_plan": plan}), nil
}

// mpChangeVisit: POST /wxa/change_visitstatus.
func (s *Server) mpChangeVisit(c *call) (any, error) {
	var req struct {
		Action string `json:"action"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, app, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	ops := s.auditOps(a.info.AppID)
	switch {
	case req.Action != "open" && req.Action != "close":
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [action]")
	case app.released == nil:
		return nil, apiErr(wxerr.CodeStatusNotAllowed, "no released version")
	case req.Action == "close":
		ops.visit = visitClosed
	default:
		ops.visit = visitOpen
	}
	return answerOK(), nil
}

// mpGetVisit: POST /wxa/getvisitstatus.
func (s *Server) mpGetVisit(c *call) (any, error) {
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	return withOK(map[string]any{"status": s.auditOps(a.info.AppID).visit}), nil
}

// userStr is the opaque id of the person with WeChat ID wechatID.
func userStr(wechatID string) string {
	h := sha256.Sum256([]byte("tester\x00" + wechatID))
	return hex.EncodeToString(h[:16])
}

// mpBindTester: POST /wxa/bind_tester.
func (s *Server) mpBindTester(c *call) (any, error) {
	var req struct {
		WeChatID string `json:"wechatid"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if !wechatIDOK(req.WeChatID) {
		return nil, apiErr(wxerr.CodeTesterNotFound, "wechatid not found")
	}
	ops, st, u := s.auditOps(a.info.AppID), s.audits(), userStr(req.WeChatID)
	switch {
	case slices.Contains(ops.testers, u):
		return nil, apiErr(wxerr.CodeTesterAlreadyBound, "already bound")
	case len(ops.testers) >= maxTesters:
		return nil, apiErr(wxerr.CodeTesterLimit, "tester limit reached")
	case st.testerApps[u] >= maxTesterApps:
		return nil, apiErr(wxerr.CodeTesterTooManyApps, "this user is a tester of too many mini programs")
	}
	ops.testers = append(ops.testers, u)
	st.testerApps[u]++
	return withOK(map[string]any{"userstr": u}), nil
}

// mpUnbindTester: POST /wxa/unbind_tester.
func (s *Server) mpUnbindTester(c *call) (any, error) {
	var req struct {
		WeChatID string `json:"wechatid"`
		UserStr  string `json:"userstr"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	u := req.UserStr
	if req.WeChatID != "" {
		u = userStr(req.WeChatID)
	}
	if u == "" {
		return nil, missing("wechatid")
	}
	ops, st := s.auditOps(a.info.AppID), s.audits()
	if i := slices.Index(ops.testers, u); i >= 0 {
		ops.testers = slices.Delete(ops.testers, i, i+1)
		if st.testerApps[u]--; st.testerApps[u] <= 0 {
			delete(st.testerApps, u)
		}
	}
	return answerOK(), nil
}

// mpMemberAuth: POST /wxa/memberauth with action get_experiencer.
func (s *Server) mpMemberAuth(c *call) (any, error) {
	var req struct {
		Action string `json:"action"`
	}
	if err := c.bind(&req); err != nil {
		return nil, err
	}
	a, _, err := s.miniProgram(c)
	if err != nil {
		return nil, err
	}
	if req.Action != "get_experiencer" {
		return nil, apiErr(wxerr.CodeInvalidParams, "invalid args hint: [action]")
	}
	members := []map[string]string{}
	for _, u := range s.auditOps(a.info.AppID).testers {
		members = append(members, map[string]string{"userstr": u})
	}
	return withOK(map[string]any{"members": members}), nil
}
