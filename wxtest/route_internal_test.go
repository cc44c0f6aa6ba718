package wxtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/wxerr"
)

// counterState is the state of a test endpoint group, kept with groupState.
type counterState struct{ hits map[string]int }

func (s *Server) counters() *counterState {
	return groupState(s, func() *counterState { return &counterState{hits: map[string]int{}} })
}

// TestExtensionRecipe follows the recipe of route.go: a route of another file with its own state,
// the caller's account, a JSON body, refusals, an after-hook, and a raw answer.
func TestExtensionRecipe(t *testing.T) {
	var afterRan []string
	reg := func(s *Server) {
		s.route(http.MethodPost, "/wxa/test_hit", authAuthorizer, func(c *call) (any, error) {
			var req struct {
				N *int `json:"n"`
			}
			if err := c.bind(&req); err != nil {
				return nil, err
			}
			if req.N == nil {
				return nil, missing("n")
			}
			if *req.N < 0 {
				return nil, apiErr(wxerr.CodeInvalidParams, "")
			}
			a := c.authorizer()
			require.NotNil(t, a)
			require.Same(t, a, s.authorizers[c.authorizerAppID])
			s.counters().hits[a.info.AppID] += *req.N
			appID := a.info.AppID
			c.after(func() {
				// s.mu is free here: public methods work.
				_, ok := s.Authorizer(appID)
				require.True(t, ok)
				afterRan = append(afterRan, appID)
			})
			return struct {
				okBody
				Total int `json:"total"`
			}{okBody{Errmsg: "ok"}, s.counters().hits[a.info.AppID]}, nil
		})
		s.route(http.MethodGet, "/wxa/test_raw", authNone, func(c *call) (any, error) {
			return rawAnswer{ContentType: "image/jpeg", Body: []byte{0xff, 0xd8, 0xff}}, nil
		})
		s.route(http.MethodGet, "/wxa/test_broken", authNone, func(c *call) (any, error) {
			return nil, errors.New("handler bug")
		})
	}
	s := NewTestServer(t, func(o *options) { o.register = reg })
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "success")
	}))
	defer sink.Close()
	s.SetEventURLs(sink.URL, sink.URL)

	// Make an authorised account and a token for it, the way other files' tests can.
	_, err := s.Authorize(context.Background(), AuthorizeRequest{AuthorizerAppID: "wx1234567890abcdef"})
	require.NoError(t, err)
	s.mu.Lock()
	tok := s.issueAuthorizerToken("wx1234567890abcdef", s.Now())
	s.mu.Unlock()

	post := func(body string) map[string]any {
		resp, err := http.Post(s.URL+"/wxa/test_hit?access_token="+url.QueryEscape(tok), "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		var v map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
		return v
	}
	assert.Equal(t, float64(2), post(`{"n":2}`)["total"])
	assert.Equal(t, float64(5), post(`{"n":3}`)["total"])
	assert.Equal(t, float64(47001), post(`{}`)["errcode"])
	assert.Equal(t, float64(40097), post(`{"n":-1}`)["errcode"])
	assert.Equal(t, float64(44002), post(``)["errcode"])
	assert.Equal(t, []string{"wx1234567890abcdef", "wx1234567890abcdef"}, afterRan)
	assert.Equal(t, 5, s.Calls("/wxa/test_hit"))

	resp, err := http.Get(s.URL + "/wxa/test_raw")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
	assert.Equal(t, []byte{0xff, 0xd8, 0xff}, b)

	resp, err = http.Get(s.URL + "/wxa/test_broken")
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(b), `"errcode":-1`)
}

func TestTokenFormat(t *testing.T) {
	for i := 0; i < 50; i++ {
		assert.True(t, isAccessTokenFormat(randToken()))
	}
	for _, bad := range []string{"", "88_", "x8_" + strings.Repeat("a", 86), "88-" + strings.Repeat("a", 86),
		"88_" + strings.Repeat("a", 85) + "=", "88_" + strings.Repeat("a", 87), newRefreshToken()} {
		assert.False(t, isAccessTokenFormat(bad), bad)
	}
	assert.True(t, isAppIDFormat("wx0123456789abcdef"))
	for _, bad := range []string{"", "wx0123456789abcde", "wy0123456789abcdef", "wx0123456789abcdeg"} {
		assert.False(t, isAppIDFormat(bad), bad)
	}
}

func TestAPIErrDefaults(t *testing.T) {
	e := apiErr(wxerr.CodeInvalidCredential, "").(*apiError)
	assert.Equal(t, "invalid credential, access_token is invalid or not latest", e.Msg)
	assert.Equal(t, "errcode 40001: invalid credential, access_token is invalid or not latest", e.Error())
	assert.Equal(t, "error", apiErr(12345, "").(*apiError).Msg)
	assert.Equal(t, "mine", apiErr(40001, "mine").(*apiError).Msg)
}

func TestAddAuthorizerKeepsAuthorisation(t *testing.T) {
	s := NewTestServer(t)
	s.AddAuthorizer(Authorizer{AppID: "wx1234567890abcdef", NickName: "one"})
	s.mu.Lock()
	s.authorizers["wx1234567890abcdef"].authorized = true
	s.authorizers["wx1234567890abcdef"].refreshToken = "refreshtoken@@@x"
	s.mu.Unlock()
	s.AddAuthorizer(Authorizer{AppID: "wx1234567890abcdef", NickName: "two"})
	a, ok := s.Authorizer("wx1234567890abcdef")
	require.True(t, ok)
	assert.Equal(t, "two", a.NickName)
	rt, ok := s.AuthorizerRefreshToken("wx1234567890abcdef")
	assert.True(t, ok)
	assert.Equal(t, "refreshtoken@@@x", rt)
	_, ok = s.Authorizer("wx0000000000000000")
	assert.False(t, ok)

	// Generated appid, and the returned copy does not alias the emulator's state.
	s.AddAuthorizer(Authorizer{MiniProgram: true, Categories: []Category{{"a", "b"}}})
	s.mu.Lock()
	var gen string
	for id := range s.authorizers {
		if id != "wx1234567890abcdef" {
			gen = id
		}
	}
	s.mu.Unlock()
	require.True(t, isAppIDFormat(gen))
	a, _ = s.Authorizer(gen)
	a.Categories[0].First = "changed"
	b, _ := s.Authorizer(gen)
	assert.Equal(t, "a", b.Categories[0].First)

	s.SetUnionID("wx1", "o1", "u1")
	s.SetUnionID("wx1", "o1", "")
	s.mu.Lock()
	assert.Empty(t, s.unionIDs)
	s.mu.Unlock()
}
