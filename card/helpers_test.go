package card_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/card"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxcall"
)

const (
	compAppID = "wxCOMP"
	oaAppID   = "wxOA"
	base      = "https://api.weixin.qq.com"
)

// env is a platform in miniature: one HTTP caller on an httpmock transport, authorizer access tokens
// "AT-<appid>", and one shared card.Tickets.
type env struct {
	mt      *httpmock.MockTransport
	caller  *authorizer.Caller
	store   *recordingStore
	tickets *card.Tickets

	mu     sync.Mutex
	tokens map[string]*tokenstore.Manager
}

func setup(t testing.TB, opts ...tokenstore.Option) *env {
	t.Helper()
	mt := httpmock.NewMockTransport()
	caller, err := authorizer.NewCaller(wxcall.Config{HTTPClient: &http.Client{Transport: mt},
		Retry: wxcall.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}})
	require.NoError(t, err)
	e := &env{mt: mt, caller: caller, store: &recordingStore{MemoryStore: tokenstore.NewMemoryStore()},
		tokens: map[string]*tokenstore.Manager{}}
	e.tickets = mustTickets(card.NewTickets(e.store, e.authorizer, opts...))
	return e
}

// authorizer is the platform's Authorizer(appid): a fresh cheap client over the shared caller.
func (e *env) authorizer(appID string) *authorizer.Client {
	e.mu.Lock()
	m := e.tokens[appID]
	if m == nil {
		m = mustManager(tokenstore.NewManager(tokenstore.NewMemoryStore(), func(context.Context, string) (tokenstore.Token, error) {
			return tokenstore.Token{Value: "AT-" + appID, ExpiresAt: time.Now().Add(2 * time.Hour)}, nil
		}))
		e.tokens[appID] = m
	}
	e.mu.Unlock()
	return authorizer.New(appID, e.caller, m.Source("at"), authorizer.Component{AppID: compAppID})
}

func (e *env) card(appID string) *card.Client { return card.New(e.authorizer(appID), e.tickets) }

// ticketResponder answers getticket with "TICKET-<appid>-<n>" and counts the calls per appid; the
// appid is read from the access token the request carries.
type ticketResponder struct {
	calls sync.Map // appid → *atomic.Int64
}

func (tr *ticketResponder) count(appID string) int64 {
	v, ok := tr.calls.Load(appID)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func (e *env) serveTickets(t testing.TB) *ticketResponder {
	tr := &ticketResponder{}
	e.mt.RegisterResponder("GET", base+"/cgi-bin/ticket/getticket", func(r *http.Request) (*http.Response, error) {
		q := r.URL.Query()
		assert.Equal(t, "wx_card", q.Get("type"))
		assert.Len(t, q, 2, "query: %v", q)
		at := q.Get("access_token")
		require.Regexp(t, `^AT-`, at)
		appID := at[len("AT-"):]
		v, _ := tr.calls.LoadOrStore(appID, new(atomic.Int64))
		n := v.(*atomic.Int64).Add(1)
		return httpmock.NewJsonResponse(200, map[string]any{"errcode": 0, "errmsg": "ok",
			"ticket": "TICKET-" + appID + "-" + string(rune('0'+n)), "expires_in": 7200})
	})
	return tr
}

// expectPOST registers a responder for path that checks the access token and the exact JSON body,
// and answers reply. It returns a counter of calls.
func (e *env) expectPOST(t *testing.T, path, wantBody string, reply string) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	e.mt.RegisterResponder("POST", base+path, func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		assert.Equal(t, url.Values{"access_token": {"AT-" + oaAppID}}, r.URL.Query())
		assert.Contains(t, r.Header.Get("Content-Type"), "application/json")
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		assert.JSONEq(t, wantBody, string(b))
		return httpmock.NewStringResponse(200, reply), nil
	})
	return &n
}

// recordingStore is a MemoryStore that records the reason of every Set.
type recordingStore struct {
	*tokenstore.MemoryStore
	mu      sync.Mutex
	reasons []string
}

func (s *recordingStore) Set(ctx context.Context, key string, tok tokenstore.Token) error {
	s.mu.Lock()
	s.reasons = append(s.reasons, key+"="+tokenstore.Reason(ctx))
	s.mu.Unlock()
	return s.MemoryStore.Set(ctx, key, tok)
}

func (s *recordingStore) Reasons() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reasons...)
}

// decodeExt parses a cardExt JSON string into its fields.
func decodeExt(t *testing.T, ext string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(ext), &m), ext)
	return m
}
