package wxtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/crypto"
	"github.com/wxopen-go/wxopen/wxtest"
)

// event is one push the receiver got, decrypted and verified.
type event struct {
	Path     string            // URL path it was posted to
	Query    url.Values        // its query string
	Envelope crypto.Envelope   // the outer XML
	Fields   map[string]string // the decrypted XML's elements
	Raw      string            // the decrypted XML
}

// receiver is a platform's push handler: it verifies the signatures, decrypts with crypto.MsgCrypt
// and records every event. It answers "success" unless told otherwise.
type receiver struct {
	t   testing.TB
	mc  *crypto.MsgCrypt
	tok string
	srv *httptest.Server

	mu     sync.Mutex
	events []event
	answer func(e event) (int, string) // nil: 200 "success"
}

func newReceiver(t testing.TB, app wxtest.ComponentApp) *receiver {
	t.Helper()
	mc, err := crypto.NewMsgCrypt(app.Token, app.EncodingAESKey, app.AppID)
	require.NoError(t, err)
	r := &receiver{t: t, mc: mc, tok: app.Token}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	fail := func(format string, args ...any) {
		r.t.Errorf("receiver: "+format, args...)
		http.Error(w, "bad push", http.StatusBadRequest)
	}
	if req.Method != http.MethodPost {
		fail("method %s, want POST", req.Method)
		return
	}
	q := req.URL.Query()
	if q.Get("encrypt_type") != "aes" {
		fail("encrypt_type %q, want aes", q.Get("encrypt_type"))
		return
	}
	if !r.mc.VerifyURLSignature(q.Get("signature"), q.Get("timestamp"), q.Get("nonce")) {
		fail("bad signature")
		return
	}
	if got := crypto.SortedSHA1(r.tok, q.Get("timestamp"), q.Get("nonce")); got != q.Get("signature") {
		fail("signature %s, want %s", q.Get("signature"), got)
		return
	}
	body, _ := io.ReadAll(req.Body)
	env, err := crypto.ParseEnvelope(body)
	if err != nil {
		fail("envelope: %v", err)
		return
	}
	plain, err := r.mc.DecryptMessage(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), body)
	if err != nil {
		fail("decrypt: %v", err)
		return
	}
	e := event{Path: req.URL.Path, Query: q, Envelope: env, Fields: xmlFields(r.t, plain), Raw: string(plain)}
	r.mu.Lock()
	r.events = append(r.events, e)
	answer := r.answer
	r.mu.Unlock()
	status, text := http.StatusOK, "success"
	if answer != nil {
		status, text = answer(e)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

// setAnswer changes what the receiver answers.
func (r *receiver) setAnswer(f func(e event) (int, string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = f
}

// all returns the events received so far.
func (r *receiver) all() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

// last returns the latest event; it fails the test when there is none.
func (r *receiver) last() event {
	r.t.Helper()
	ev := r.all()
	require.NotEmpty(r.t, ev, "no push received")
	return ev[len(ev)-1]
}

// xmlFields decodes the child elements of a flat <xml> message.
func xmlFields(t testing.TB, b []byte) map[string]string {
	var v struct {
		Fields []struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
		} `xml:",any"`
	}
	if err := xml.Unmarshal(b, &v); err != nil {
		t.Errorf("decrypted push is not XML: %v", err)
		return nil
	}
	m := make(map[string]string, len(v.Fields))
	for _, f := range v.Fields {
		m[f.XMLName.Local] = f.Value
	}
	return m
}

// env is an emulator with a manual clock and a receiver at both event URLs.
type env struct {
	t   *testing.T
	s   *wxtest.Server
	app wxtest.ComponentApp
	rx  *receiver
}

func newEnv(t *testing.T, opts ...wxtest.Option) *env {
	t.Helper()
	s := wxtest.NewTestServer(t, append([]wxtest.Option{wxtest.WithManualClock()}, opts...)...)
	app := s.Component()
	rx := newReceiver(t, app)
	s.SetEventURLs(rx.srv.URL+"/auth", rx.srv.URL+"/msg/$APPID$/cb")
	app = s.Component()
	return &env{t: t, s: s, app: app, rx: rx}
}

// result is a decoded JSON answer.
type result map[string]any

func (r result) code() int {
	if v, found := r["errcode"]; found {
		n, _ := v.(float64)
		return int(n)
	}
	return 0
}

func (r result) str(k string) string { s, _ := r[k].(string); return s }

func (r result) num(k string) int { n, _ := r[k].(float64); return int(n) }

func (r result) obj(k string) result { m, _ := r[k].(map[string]any); return m }

// do sends a request and decodes its JSON answer; it fails the test on a transport error or a
// status other than 200.
func (e *env) do(method, path string, q url.Values, body any) result {
	e.t.Helper()
	status, res := e.doStatus(method, path, q, body)
	require.Equal(e.t, http.StatusOK, status)
	return res
}

func (e *env) doStatus(method, path string, q url.Values, body any) (int, result) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(j)
	}
	u := e.s.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(e.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	var res result
	if resp.StatusCode == http.StatusOK {
		require.Contains(e.t, resp.Header.Get("Content-Type"), "json")
		require.NoError(e.t, json.Unmarshal(raw, &res), "body %s", raw)
	}
	return resp.StatusCode, res
}

// post sends a JSON POST with the token in component_access_token (if not "").
func (e *env) post(path, componentToken string, body any) result {
	e.t.Helper()
	return e.do(http.MethodPost, path, tokenQuery("component_access_token", componentToken), body)
}

func tokenQuery(name, tok string) url.Values {
	if tok == "" {
		return nil
	}
	return url.Values{name: {tok}}
}

// requireCode asserts the errcode of r.
func requireCode(t *testing.T, want int, r result, msg ...any) {
	t.Helper()
	require.Equal(t, want, r.code(), append([]any{"answer %v %v", map[string]any(r)}, fmt.Sprint(msg...))...)
	if want != 0 {
		require.NotEmpty(t, r.str("errmsg"))
		require.Len(t, r, 2, "an error answer carries only errcode and errmsg: %v", map[string]any(r))
	}
}

// pushTicket pushes a verify ticket and checks the receiver got it.
func (e *env) pushTicket() string {
	e.t.Helper()
	ticket, err := e.s.PushVerifyTicket(context.Background())
	require.NoError(e.t, err)
	require.Equal(e.t, ticket, e.rx.last().Fields["ComponentVerifyTicket"])
	return ticket
}

// componentToken gets a component access token the way a platform does.
func (e *env) componentToken() string {
	e.t.Helper()
	ticket := e.pushTicket()
	r := e.post("/cgi-bin/component/api_component_token", "", map[string]string{
		"component_appid": e.app.AppID, "component_appsecret": e.app.AppSecret, "component_verify_ticket": ticket,
	})
	requireCode(e.t, 0, r)
	tok := r.str("component_access_token")
	require.NotEmpty(e.t, tok)
	return tok
}

// authorize makes appID authorise the platform and exchanges the pushed code; it returns the
// authorizer access and refresh tokens.
func (e *env) authorize(ct, appID string) (access, refresh string) {
	e.t.Helper()
	code, err := e.s.Authorize(context.Background(), wxtest.AuthorizeRequest{AuthorizerAppID: appID})
	require.NoError(e.t, err)
	r := e.post("/cgi-bin/component/api_query_auth", ct, map[string]string{
		"component_appid": e.app.AppID, "authorization_code": code,
	})
	requireCode(e.t, 0, r)
	info := r.obj("authorization_info")
	return info.str("authorizer_access_token"), info.str("authorizer_refresh_token")
}

// recordTB is a testing.TB whose Errorf records instead of failing the test.
type recordTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordTB) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}
