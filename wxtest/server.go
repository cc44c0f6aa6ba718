package wxtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxopen-go/wxopen/crypto"
)

// Server is a running WeChat emulator on a loopback port. Point an SDK (or plain net/http) at URL
// instead of https://api.weixin.qq.com. All methods are safe for concurrent use.
type Server struct {
	// URL is the emulator's base URL, http://127.0.0.1:PORT, without a trailing slash.
	URL string

	srv       *httptest.Server
	tb        testing.TB // nil for NewServer
	client    *http.Client
	done      chan struct{} // closed by Close: aborts injected delays
	closeOnce sync.Once

	// Clock: now = start + advanced (+ real time elapsed since created, unless manualClock).
	start       time.Time
	created     time.Time
	manualClock bool
	advanced    atomic.Int64 // nanoseconds added by Advance

	// routes is written only while the server is constructed, then read without locking.
	routes map[string]map[string]*route // path → method → route

	// mu guards everything below and every piece of state that endpoint files keep
	// (see route.go for the extension recipe).
	mu sync.Mutex

	component ComponentApp
	crypt     *crypto.MsgCrypt

	calls  map[string]int     // path → calls, counted before faults
	faults map[string][]Fault // path → pending faults, first applies next
	quotas map[string]*quota  // path → daily quota (SetDailyQuota)

	// Verify ticket: only the latest pushed one is accepted.
	ticket         string
	ticketIssuedAt time.Time

	tokens map[string]*accessToken // component and authorizer access tokens by value
	// tokensOf lists, by kind and appid, the values in tokens that are not yet past their grace
	// cutoff, so that issuing a token costs the same for 1 account as for 100,000.
	tokensOf     map[tokenOwner][]string
	preAuthCodes map[string]*preAuthCode
	authCodes    map[string]*authCode
	authorizers  map[string]*authorizer // by authorizer appid
	rotate       bool                   // RotateRefreshTokens

	loginCodes map[string]*loginCode // js_code → issued code
	// loginSweepAt: IssueLoginCode drops expired codes once loginCodes grows past it (amortised O(1)).
	loginSweepAt int
	sessions     map[userKey]string // session_key last issued
	unionIDs     map[userKey]string

	drafts        map[int]*TemplateDraft
	nextDraftID   int
	templates     map[int]*codeTemplate
	nextTemplate  int
	templateLimit int

	// groups holds the state of endpoint groups defined in other files, keyed by a typed nil
	// pointer; see groupState.
	groups map[any]any
}

// ComponentApp is the third-party platform ("component") the emulator serves: its credentials and
// the two URLs WeChat pushes to.
type ComponentApp struct {
	// AppID is the component appid ("wx" + 16 hex digits).
	AppID string
	// AppSecret is the component secret api_component_token checks.
	AppSecret string
	// Token is the message-check token pushes are signed with.
	Token string
	// EncodingAESKey is the 43-character key pushes are encrypted with.
	EncodingAESKey string
	// AuthEventURL receives platform events: component_verify_ticket, authorized, updateauthorized,
	// unauthorized.
	AuthEventURL string
	// MessageEventURL receives the events of authorised accounts (audit results, messages). The
	// segment "$APPID$", if present, is replaced by the authorizer appid, as WeChat does.
	MessageEventURL string
}

// String describes the app without its secret, token or key.
func (a ComponentApp) String() string {
	return "wxtest.ComponentApp{AppID: " + a.AppID + ", AuthEventURL: " + a.AuthEventURL +
		", MessageEventURL: " + a.MessageEventURL + "}"
}

// GoString is String, so that %#v does not print the secrets either.
func (a ComponentApp) GoString() string { return a.String() }

type options struct {
	component   *ComponentApp
	start       time.Time
	manualClock bool
	// register, when set, registers extra routes before the server starts (white-box tests).
	register func(*Server)
}

// Option configures NewServer and NewTestServer.
type Option func(*options)

// WithComponent sets the component app the emulator serves. Empty fields are generated as for the
// default app; AuthEventURL and MessageEventURL may also be set later with SetEventURLs.
func WithComponent(app ComponentApp) Option {
	return func(o *options) { o.component = &app }
}

// WithStartTime sets the emulator clock's start (default time.Now()). Every expiry and every
// CreateTime uses the emulator clock.
func WithStartTime(t time.Time) Option {
	return func(o *options) { o.start = t }
}

// WithManualClock stops the emulator clock from following real time: it then moves only with
// Advance, so times and expiries are exact in tests.
func WithManualClock() Option {
	return func(o *options) { o.manualClock = true }
}

// NewServer starts an emulator on a loopback port. Close it when done. Push failures are only
// returned to the caller of the push method; NewTestServer also reports them on the test.
func NewServer(opts ...Option) *Server {
	return newServer(nil, opts)
}

// NewTestServer is NewServer for a test: the server is closed by tb.Cleanup, and every failed push
// (a handler that does not answer HTTP 200 "success") is also reported with tb.Errorf.
func NewTestServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := newServer(tb, opts)
	tb.Cleanup(s.Close)
	return s
}

func newServer(tb testing.TB, opts []Option) *Server {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	app := ComponentApp{}
	if o.component != nil {
		app = *o.component
	}
	if app.AppID == "" {
		app.AppID = "wx" + randHex(8)
	}
	if app.AppSecret == "" {
		app.AppSecret = randHex(16)
	}
	if app.Token == "" {
		app.Token = "wxtest" + randHex(8)
	}
	if app.EncodingAESKey == "" {
		app.EncodingAESKey = randAlnum(43)
	}
	now := time.Now()
	if o.start.IsZero() {
		o.start = now
	}
	s := &Server{
		tb:            tb,
		client:        &http.Client{Timeout: 30 * time.Second},
		done:          make(chan struct{}),
		start:         o.start,
		created:       now,
		manualClock:   o.manualClock,
		routes:        make(map[string]map[string]*route),
		component:     app,
		calls:         make(map[string]int),
		faults:        make(map[string][]Fault),
		quotas:        make(map[string]*quota),
		tokens:        make(map[string]*accessToken),
		tokensOf:      make(map[tokenOwner][]string),
		preAuthCodes:  make(map[string]*preAuthCode),
		authCodes:     make(map[string]*authCode),
		authorizers:   make(map[string]*authorizer),
		loginCodes:    make(map[string]*loginCode),
		sessions:      make(map[userKey]string),
		unionIDs:      make(map[userKey]string),
		drafts:        make(map[int]*TemplateDraft),
		nextDraftID:   1,
		templates:     make(map[int]*codeTemplate),
		nextTemplate:  1,
		templateLimit: defaultTemplateLimit,
		groups:        make(map[any]any),
	}
	// A bad EncodingAESKey given with WithComponent leaves crypt nil; pushes then fail with an error.
	s.crypt, _ = crypto.NewMsgCrypt(app.Token, app.EncodingAESKey, app.AppID)
	s.registerRoutes()
	if o.register != nil {
		o.register(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	return s
}

// Close shuts the emulator down, aborting injected delays. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// Component returns the component app the emulator serves, secrets included (the test needs them
// to configure the SDK).
func (s *Server) Component() ComponentApp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.component
}

// SetEventURLs sets where pushes go: authEventURL for platform events, messageEventURL (with an
// optional "$APPID$" segment) for the events of authorised accounts. An empty string leaves that
// URL unchanged.
func (s *Server) SetEventURLs(authEventURL, messageEventURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if authEventURL != "" {
		s.component.AuthEventURL = authEventURL
	}
	if messageEventURL != "" {
		s.component.MessageEventURL = messageEventURL
	}
}

// Now returns the emulator clock's time: the start time, plus the real time elapsed since the
// server started (unless WithManualClock), plus every Advance.
func (s *Server) Now() time.Time {
	t := s.start.Add(time.Duration(s.advanced.Load()))
	if !s.manualClock {
		t = t.Add(time.Since(s.created))
	}
	return t
}

// Advance moves the emulator clock forward by d: tokens, tickets and codes whose lifetime ends
// before the new time are expired from then on. A negative d is ignored.
func (s *Server) Advance(d time.Duration) {
	if d > 0 {
		s.advanced.Add(int64(d))
	}
}

// messageURL returns MessageEventURL for appID. Call with s.mu held.
func (s *Server) messageURL(appID string) string {
	return strings.ReplaceAll(s.component.MessageEventURL, "$APPID$", appID)
}
