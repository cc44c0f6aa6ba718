package component_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxcall"
)

const (
	base        = "https://api.weixin.qq.com"
	compAppID   = "wxcomponent0000001"
	compSecret  = "SECRET-APPSECRET"
	msgToken    = "SECRET-MSGTOKEN"
	aesKey      = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	ticketValue = "ticket@@@SECRET-TICKET"
	compToken   = "SECRET-COMPONENT-TOKEN"
)

func testConfig() component.Config {
	return component.Config{AppID: compAppID, AppSecret: compSecret, Token: msgToken, EncodingAESKey: aesKey}
}

type env struct {
	c      *component.Client
	mt     *httpmock.MockTransport
	tokens tokenstore.Store
	creds  tokenstore.Store
}

// setup returns a Client over httpmock with memory stores (or the given ones) and no verify ticket.
func setup(t testing.TB, stores ...tokenstore.Store) *env {
	t.Helper()
	mt := httpmock.NewMockTransport()
	caller, err := authorizer.NewCaller(wxcall.Config{HTTPClient: &http.Client{Transport: mt}, Retry: wxcall.RetryPolicy{BaseDelay: time.Millisecond}})
	require.NoError(t, err)
	var tokens, creds tokenstore.Store = tokenstore.NewMemoryStore(), tokenstore.NewMemoryStore()
	if len(stores) > 0 && stores[0] != nil {
		tokens = stores[0]
	}
	if len(stores) > 1 && stores[1] != nil {
		creds = stores[1]
	}
	c, err := component.New(testConfig(), caller, tokens, creds, component.WithTokenOptions(tokenstore.WithJitter(0)))
	require.NoError(t, err)
	return &env{c: c, mt: mt, tokens: tokens, creds: creds}
}

// withTicket stores a verify ticket.
func (e *env) withTicket(t *testing.T) *env {
	t.Helper()
	require.NoError(t, e.c.SetVerifyTicket(context.Background(), ticketValue))
	return e
}

// withComponentToken stores a valid component token, so that no api_component_token call is needed.
func (e *env) withComponentToken(t *testing.T) *env {
	t.Helper()
	require.NoError(t, e.tokens.Set(context.Background(), compAppID+":component_access_token",
		tokenstore.Token{Value: compToken, ExpiresAt: time.Now().Add(2 * time.Hour)}))
	return e
}

// call is one request seen by a responder.
type call struct {
	Method string
	Path   string
	Query  url.Values
	Body   map[string]any
}

// recorder is a responder that records every request and answers with reply.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) list() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

func (r *recorder) responder(t *testing.T, reply func(c call) (int, string)) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		c := call{Method: req.Method, Path: req.URL.Path, Query: req.URL.Query()}
		if req.Body != nil {
			b, _ := io.ReadAll(req.Body)
			if len(b) > 0 {
				if err := json.Unmarshal(b, &c.Body); err != nil {
					t.Errorf("request body is not JSON: %q", b)
				}
			}
		}
		r.mu.Lock()
		r.calls = append(r.calls, c)
		r.mu.Unlock()
		status, body := reply(c)
		resp := httpmock.NewStringResponse(status, body)
		resp.Header.Set("Content-Type", "application/json")
		return resp, nil
	}
}

// on registers a recorder for method+path answering body.
func (e *env) on(t *testing.T, method, path, body string) *recorder {
	r := &recorder{}
	e.mt.RegisterResponder(method, base+path, r.responder(t, func(call) (int, string) { return 200, body }))
	return r
}

// onFunc registers a recorder for method+path answering reply(c).
func (e *env) onFunc(t *testing.T, method, path string, reply func(c call) (int, string)) *recorder {
	r := &recorder{}
	e.mt.RegisterResponder(method, base+path, r.responder(t, reply))
	return r
}

// assertCall checks one recorded request: method, path, query and JSON body.
func assertCall(t *testing.T, c call, method, path string, query url.Values, body map[string]any) {
	t.Helper()
	assert.Equal(t, method, c.Method)
	assert.Equal(t, path, c.Path)
	if query == nil {
		query = url.Values{}
	}
	assert.Equal(t, query, c.Query)
	if body == nil {
		assert.Nil(t, c.Body)
	} else {
		want, _ := json.Marshal(body)
		got, _ := json.Marshal(c.Body)
		assert.JSONEq(t, string(want), string(got))
	}
}

func compQuery() url.Values { return url.Values{"component_access_token": {compToken}} }

// failingStore wraps a Store and fails the operations selected by failSet/failGet/failDelete for keys
// the predicate accepts, recording writes in order.
type failingStore struct {
	tokenstore.Store
	mu         sync.Mutex
	failSet    func(key string) bool
	failGet    func(key string) bool
	failDelete func(key string) bool
	beforeSet  func(key string) // runs first in every Set and CompareAndSwap (to hold a writer back)
	// lostReply makes a write to a key it accepts land and then report an error, as when a database
	// applied COMMIT and the answer was lost (the outcome is unknown to the writer).
	lostReply func(key string) bool
	log       *writeLog // shared write log: "set KEY VALUE" / "del KEY"
	reasons   map[string]string
}

// writeLog records store writes (and other events) in order, across stores.
type writeLog struct {
	mu      sync.Mutex
	entries []string
}

func (l *writeLog) add(s string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, s)
}

func (l *writeLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.entries...)
}

var (
	errStore     = errors.New("store is down")
	errLostReply = errors.New("commit: invalid connection")
)

func newFailingStore(log *writeLog) *failingStore {
	return &failingStore{Store: tokenstore.NewMemoryStore(), log: log, reasons: map[string]string{}}
}

func (s *failingStore) Get(ctx context.Context, key string) (tokenstore.Token, error) {
	if s.failGet != nil && s.failGet(key) {
		return tokenstore.Token{}, errStore
	}
	return s.Store.Get(ctx, key)
}

func (s *failingStore) Set(ctx context.Context, key string, tok tokenstore.Token) error {
	if s.beforeSet != nil {
		s.beforeSet(key)
	}
	if s.failSet != nil && s.failSet(key) {
		return errStore
	}
	if err := s.Store.Set(ctx, key, tok); err != nil {
		return err
	}
	s.log.add("set " + key + " " + tok.Value)
	s.mu.Lock()
	s.reasons[key] = tokenstore.Reason(ctx)
	s.mu.Unlock()
	if s.lostReply != nil && s.lostReply(key) {
		return errLostReply
	}
	return nil
}

func (s *failingStore) Delete(ctx context.Context, key string) error {
	if s.failDelete != nil && s.failDelete(key) {
		return errStore
	}
	s.log.add("del " + key)
	s.mu.Lock()
	s.reasons[key] = tokenstore.Reason(ctx)
	s.mu.Unlock()
	return s.Store.Delete(ctx, key)
}

func (s *failingStore) CompareAndSwap(ctx context.Context, key, old string, tok tokenstore.Token) (bool, error) {
	if s.beforeSet != nil {
		s.beforeSet(key)
	}
	if s.failSet != nil && s.failSet(key) {
		return false, errStore
	}
	ok, err := s.Store.CompareAndSwap(ctx, key, old, tok)
	if err != nil || !ok {
		return ok, err
	}
	s.log.add("set " + key + " " + tok.Value)
	s.mu.Lock()
	s.reasons[key] = tokenstore.Reason(ctx)
	s.mu.Unlock()
	if s.lostReply != nil && s.lostReply(key) {
		return false, errLostReply
	}
	return true, nil
}

func (s *failingStore) CompareAndDelete(ctx context.Context, key, value string) (bool, error) {
	if s.failDelete != nil && s.failDelete(key) {
		return false, errStore
	}
	ok, err := s.Store.CompareAndDelete(ctx, key, value)
	if err != nil || !ok {
		return ok, err
	}
	s.log.add("del " + key)
	s.mu.Lock()
	s.reasons[key] = tokenstore.Reason(ctx)
	s.mu.Unlock()
	return true, nil
}

func (s *failingStore) reason(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reasons[key]
}

func get(t *testing.T, s tokenstore.Store, key string) (tokenstore.Token, error) {
	t.Helper()
	return s.Get(context.Background(), key)
}

func authKey(appID, name string) string { return compAppID + ":authorizer:" + appID + ":" + name }

func itoa(i int) string { return strconv.Itoa(i) }

func tokenstoreToken(v string) tokenstore.Token { return tokenstore.Token{Value: v} }
