package wxhttp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/internal/wxhttp"
)

// net/http's Transport sends a GET again by itself when a reused connection breaks before the answer
// (it counts GET as replayable). A GET that changes something at WeChat (revertcoderelease,
// undocodeaudit, revertgrayrelease) must reach it once: its lost answer is the caller's to settle by
// reading. An idempotent GET may be sent again.
func TestNonIdempotentGetNotReplayedByTransport(t *testing.T) {
	for _, tc := range []struct {
		idempotent bool
		wantCalls  int32
	}{{false, 1}, {true, 2}} {
		var calls, bodies atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/warm" {
				_, _ = io.WriteString(w, `{"errcode":0}`)
				return
			}
			if r.ContentLength != 0 || len(r.TransferEncoding) != 0 || r.Header.Get("Content-Length") != "" {
				bodies.Add(1) // the GET must go out as a GET without a body
			}
			if calls.Add(1) == 1 { // WeChat acted, then the connection broke before the answer
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.Close()
				}
				return
			}
			_, _ = io.WriteString(w, `{"errcode":0}`)
		}))
		c, err := wxhttp.New(wxhttp.Config{BaseURL: srv.URL, HTTPClient: srv.Client(), Retry: wxhttp.RetryPolicy{MaxAttempts: 1}})
		require.NoError(t, err)
		ctx := context.Background()
		// A first call leaves an idle keep-alive connection, which the next call reuses.
		require.NoError(t, c.Do(ctx, &wxhttp.Request{Method: "GET", Path: "/warm", Idempotent: true}, nil))
		err = c.Do(ctx, &wxhttp.Request{Method: "GET", Path: "/wxa/revertcoderelease", Idempotent: tc.idempotent}, nil)
		if tc.idempotent {
			assert.NoError(t, err)
		} else {
			assert.Error(t, err, "the answer was lost: an error, settled by the caller")
		}
		assert.Equal(t, tc.wantCalls, calls.Load(), "idempotent=%v", tc.idempotent)
		assert.Zero(t, bodies.Load(), "a body or its length was sent with the GET")
		srv.Close()
	}
}
