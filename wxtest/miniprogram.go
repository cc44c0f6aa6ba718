package wxtest

// Mini program management (API digest sections 4, 5 and 6.1-6.7): the state shared by the
// mini-program files of the emulator, split by product area like the SDK's miniprogram package:
//   - miniprogram_code.go: the code pipeline commit → submit_audit → (test calls Audit) → release,
//     with revert, undo and the trial QR code;
//   - miniprogram_domain.go: server and web-view domains;
//   - miniprogram_basicinfo.go: name, avatar, introduction, temporary media, basic info;
//   - miniprogram_accounts.go: the open-platform account and fast registration.
// Code-management and basic-info calls by an official account answer 85015. Code management
// (commit ... setwebviewdomain) needs permission set 18 and open/* one of 24, 25 and 60 in the
// account's authorisation (Authorize, UpdateAuthorization): 61007 otherwise.

import (
	"slices"

	"github.com/wxopen-go/wxopen/wxerr"
)

// mpState is the state of this file, kept on the Server with groupState.
type mpState struct {
	apps        map[string]*mpApp // by authorizer appid
	nextAuditID int64
	// Platform domains (SetPlatformDomains): hosts, optionally with a port.
	serverDomains  []string
	webviewDomains []string
	open           map[string]*openAccount // by open appid
	openOf         map[string]string       // account appid → open appid
	media          map[string]*mpMedia     // by media id
	fastTasks      map[string]*fastTask    // by company name
}

// mpApp is the code and basic-info state of one account.
type mpApp struct {
	trial           *mpVersion
	audits          map[int64]*mpAudit
	latest          *mpAudit
	released        *mpVersion
	history         []*mpVersion // earlier releases, oldest first
	nextAppVersion  int64
	tcpDomain       []string // the other lists live in Authorizer.Network
	nicknameUsed    int
	nicknamePending string // a name under review, applied by ReviewNickname
	headUsed        int
	signatureUsed   int
	undos           map[string]int // China date → undocodeaudit calls
	submitCalls     int            // submit_audit calls past the token check (CodeCounts)
	releaseCalls    int            // release calls past the token check (CodeCounts)
}

// mp returns this file's state. Call with s.mu held.
func (s *Server) mp() *mpState {
	return groupState(s, func() *mpState {
		return &mpState{
			apps:        map[string]*mpApp{},
			nextAuditID: 420000000,
			open:        map[string]*openAccount{},
			openOf:      map[string]string{},
			media:       map[string]*mpMedia{},
			fastTasks:   map[string]*fastTask{},
		}
	})
}

// app returns the state of appID, creating it. Call with s.mu held.
func (m *mpState) app(appID string) *mpApp {
	a := m.apps[appID]
	if a == nil {
		a = &mpApp{audits: map[int64]*mpAudit{}, undos: map[string]int{}}
		m.apps[appID] = a
	}
	return a
}

// (h answers them 85015).
func needFunc(h func(c *call) (any, error), miniOnly bool, ids ...int) func(c *call) (any, error) {
	return func(c *call) (any, error) {
		a := c.authorizer()
		if a != nil && (a.info.MiniProgram || !miniOnly) &&
			!slices.ContainsFunc(ids, func(id int) bool { return slices.Contains(a.funcInfo, id) }) {
			return nil, apiErr(wxerr.CodeAPIUnauthorized, "")
		}
		return h(c)
	}
}

// miniProgram returns the caller's account and its state; 85015 for an official account.
func (s *Server) miniProgram(c *call) (*authorizer, *mpApp, error) {
	a := c.authorizer()
	if a == nil || !a.info.MiniProgram {
		return nil, nil, apiErr(wxerr.CodeNotMiniProgram, "")
	}
	return a, s.mp().app(a.info.AppID), nil
}

// withOK is an answer carrying errcode 0 and errmsg "ok" besides its fields.
func withOK(fields map[string]any) map[string]any {
	fields["errcode"] = 0
	fields["errmsg"] = "ok"
	return fields
}
