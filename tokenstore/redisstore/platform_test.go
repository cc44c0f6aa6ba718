package redisstore_test

// Two instances of a platform behind a load balancer share one Redis as their credential store
// (issue 14): a push that WeChat delivers to one instance and then again to the other (its retry, or
// a replay) is handled once, and an authorisation code is exchanged once.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/tokenstore/redisstore"
	"github.com/wxopen-go/wxopen/wxtest"
)

// fleetCallbacks counts the callbacks of every instance.
type fleetCallbacks struct {
	mu     sync.Mutex
	events []string
}

func (f *fleetCallbacks) add(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, s)
	return nil
}

func (f *fleetCallbacks) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.events...)
}

// fleetInstance is one process: its own Redis client, Platform and in-memory token cache; the
// credential store is the shared Redis under prefix.
func fleetInstance(t *testing.T, emu *wxtest.Server, prefix, name string, seen *fleetCallbacks) http.Handler {
	t.Helper()
	c, _ := newClient(t)
	creds, err := redisstore.New(c, redisstore.WithKeyPrefix(prefix))
	require.NoError(t, err)
	app := emu.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token, EncodingAESKey: app.EncodingAESKey},
		wxopen.WithBaseURL(emu.URL), wxopen.WithCredentialStore(creds), wxopen.WithTokenStore(tokenstore.NewMemoryStore()))
	require.NoError(t, err)
	h, err := p.Handler(component.HandlerConfig{
		Now:            emu.Now,
		OnVerifyTicket: func(context.Context, *component.VerifyTicketEvent) error { return seen.add(name + " ticket") },
		OnAuthorized: func(_ context.Context, ev *component.AuthorizedEvent) error {
			if ev.Authorization == nil {
				return seen.add(name + " authorized without exchange")
			}
			return seen.add(name + " authorized " + ev.AuthorizerAppID)
		},
	})
	require.NoError(t, err)
	return h
}

func TestSamePushAtTwoInstancesIsHandledOnce(t *testing.T) {
	c, _ := newClient(t)
	prefix := newPrefix(t, c)
	emu := wxtest.NewTestServer(t)
	seen := &fleetCallbacks{}
	instances := []http.Handler{
		fleetInstance(t, emu, prefix, "A", seen),
		fleetInstance(t, emu, prefix, "B", seen),
	}
	// The balancer hands WeChat's push to A, and the same push again to B (WeChat's retry, or a
	// replay); both must answer success.
	var mu sync.Mutex
	var answers []string
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		for _, h := range instances {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(r.Method, r.URL.String(), bytes.NewReader(body)))
			mu.Lock()
			answers = append(answers, rec.Body.String())
			mu.Unlock()
		}
		_, _ = io.WriteString(w, "success")
	}))
	t.Cleanup(lb.Close)
	emu.SetEventURLs(lb.URL, "")

	ctx := context.Background()
	_, err := emu.PushVerifyTicket(ctx)
	require.NoError(t, err)
	_, err = emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: "wx5a5a5a5a5a5a5a5a"})
	require.NoError(t, err)

	assert.Equal(t, []string{"success", "success", "success", "success"}, answers)
	assert.Equal(t, []string{"A ticket", "A authorized wx5a5a5a5a5a5a5a5a"}, seen.list(), "each push is handled once, by the first instance")
	assert.Equal(t, 1, emu.Calls("/cgi-bin/component/api_query_auth"), "the code is exchanged once")
}
