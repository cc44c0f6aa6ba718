package wxtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/wxtest"
)

func TestFaultErrCodeTimesAndCounters(t *testing.T) {
	e := newEnv(t)
	ct := e.componentToken()
	body := map[string]string{"component_appid": e.app.AppID}
	e.s.ResetCalls()

	e.s.InjectFault(pPreAuth, wxtest.Fault{ErrCode: 40001})
	e.s.InjectFault(pPreAuth, wxtest.Fault{ErrCode: -1, ErrMsg: "system busy now", Times: 2})
	r := e.post(pPreAuth, ct, body)
	requireCode(t, 40001, r)
	assert.Contains(t, r.str("errmsg"), "invalid credential")
	assert.Contains(t, r.str("errmsg"), "rid: ")
	for i := 0; i < 2; i++ {
		r = e.post(pPreAuth, ct, body)
		requireCode(t, -1, r)
		assert.True(t, strings.HasPrefix(r.str("errmsg"), "system busy now"))
	}
	requireCode(t, 0, e.post(pPreAuth, ct, body), "faults are used up")
	assert.Equal(t, 4, e.s.Calls(pPreAuth), "faulted calls are counted")
	assert.Equal(t, 0, e.s.Calls(pQueryAuth))

	// Faults apply to the path whatever the input: even a call with no token fails as injected.
	e.s.InjectFault(pQueryAuth, wxtest.Fault{ErrCode: 45009})
	requireCode(t, 45009, e.post(pQueryAuth, "", nil))
	requireCode(t, 41021, e.post(pQueryAuth, "", nil))
	assert.Equal(t, 2, e.s.Calls(pQueryAuth))

	// Unknown paths are counted and answered 404.
	status, _ := e.doStatus(http.MethodPost, "/cgi-bin/nope", nil, nil)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, 1, e.s.Calls("/cgi-bin/nope"))

	e.s.ResetCalls()
	assert.Equal(t, 0, e.s.Calls(pPreAuth))
	assert.Equal(t, 0, e.s.Calls(pQueryAuth))
}

func TestFaultHTTPStatus(t *testing.T) {
	e := newEnv(t)
	e.s.InjectFault(pComponentToken, wxtest.Fault{HTTPStatus: http.StatusBadGateway})
	e.s.InjectFault(pComponentToken, wxtest.Fault{HTTPStatus: http.StatusServiceUnavailable, ErrCode: -1})

	resp, err := http.Post(e.s.URL+pComponentToken, "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, string(b), "Bad Gateway")

	resp, err = http.Post(e.s.URL+pComponentToken, "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	var v struct{ Errcode int }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, -1, v.Errcode)

	requireCode(t, 41018, e.post(pComponentToken, "", map[string]string{}))
	assert.Equal(t, 3, e.s.Calls(pComponentToken))
}

func TestFaultDelay(t *testing.T) {
	e := newEnv(t)
	ticket := e.pushTicket()
	e.s.InjectFault(pComponentToken, wxtest.Fault{Delay: 150 * time.Millisecond})
	began := time.Now()
	r := e.post(pComponentToken, "", tokenBody(e, ticket))
	assert.GreaterOrEqual(t, time.Since(began), 150*time.Millisecond)
	requireCode(t, 0, r, "a delay alone answers normally")
	assert.True(t, e.s.ComponentAccessTokenValid(r.str("component_access_token")))

	// Delay then errcode; the client gives up first.
	e.s.InjectFault(pComponentToken, wxtest.Fault{Delay: time.Hour, ErrCode: -1})
	client := &http.Client{Timeout: 100 * time.Millisecond}
	_, err := client.Post(e.s.URL+pComponentToken, "application/json", strings.NewReader("{}"))
	require.Error(t, err)
}

func TestFaultDrop(t *testing.T) {
	e := newEnv(t)
	e.s.InjectFault(pComponentToken, wxtest.Fault{Drop: true, Times: 2})
	for i := 0; i < 2; i++ {
		resp, err := http.Post(e.s.URL+pComponentToken, "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
		}
		require.Error(t, err, "the connection is closed without an answer")
		assert.True(t, errors.Is(err, io.EOF) || strings.Contains(err.Error(), "EOF") ||
			strings.Contains(err.Error(), "connection reset"), "%v", err)
	}
	requireCode(t, 41018, e.post(pComponentToken, "", map[string]string{}))
	assert.Equal(t, 3, e.s.Calls(pComponentToken))
}

func TestCloseAbortsDelays(t *testing.T) {
	s := wxtest.NewServer()
	s.InjectFault(pComponentToken, wxtest.Fault{Delay: time.Hour})
	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(s.URL+pComponentToken, "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for s.Calls(pComponentToken) == 0 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked on an injected delay")
	}
	<-done
	s.Close() // twice is fine
}

// TestConcurrentUse runs platforms, merchants and users against one emulator at once (run with
// -race).
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	ct := e.componentToken()
	ctx := context.Background()
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, 10*n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			appID := "wx" + strings.Repeat("0", 14) + string("0123456789abcdef"[i/16]) + string("0123456789abcdef"[i%16])
			code, err := e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: appID})
			if err != nil {
				errs <- err
				return
			}
			resp, err := http.Post(e.s.URL+pQueryAuth+"?component_access_token="+ct, "application/json",
				strings.NewReader(`{"component_appid":"`+e.app.AppID+`","authorization_code":"`+code+`"}`))
			if err != nil {
				errs <- err
				return
			}
			var v struct {
				Errcode           int
				AuthorizationInfo struct {
					AuthorizerAccessToken string `json:"authorizer_access_token"`
				} `json:"authorization_info"`
			}
			err = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if err != nil || v.Errcode != 0 || !e.s.AuthorizerAccessTokenValid(appID, v.AuthorizationInfo.AuthorizerAccessToken) {
				errs <- errors.New("query_auth failed for " + appID)
			}
			if i%4 == 0 {
				if _, err := e.s.PushVerifyTicket(ctx); err != nil {
					errs <- err
				}
			}
			e.s.IssueLoginCode(appID, "o")
			e.s.Calls(pQueryAuth)
			e.s.Now()
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.Equal(t, n, e.s.Calls(pQueryAuth))
	r := e.post(pList, ct, map[string]any{"component_appid": e.app.AppID, "offset": 0, "count": 500})
	assert.Equal(t, n, r.num("total_count"))
}

// BenchmarkComponentCall measures one token-checked call (api_create_preauthcode) over loopback
// HTTP, from parallel clients.
func BenchmarkComponentCall(b *testing.B) {
	s := wxtest.NewServer()
	defer s.Close()
	app := s.Component()
	sink := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "success") })
	rx := httptest.NewServer(sink)
	defer rx.Close()
	s.SetEventURLs(rx.URL, rx.URL)
	ticket, err := s.PushVerifyTicket(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	resp, err := http.Post(s.URL+pComponentToken, "application/json", strings.NewReader(
		`{"component_appid":"`+app.AppID+`","component_appsecret":"`+app.AppSecret+`","component_verify_ticket":"`+ticket+`"}`))
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		ComponentAccessToken string `json:"component_access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	u := s.URL + pPreAuth + "?component_access_token=" + tok.ComponentAccessToken
	body := `{"component_appid":"` + app.AppID + `"}`
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := http.Post(u, "application/json", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
