package wxtest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/wxtest"
)

func TestHandleServesAnEndpointTheEmulatorDoesNotEmulate(t *testing.T) {
	e := newEnv(t)
	ct := e.componentToken()
	at, _ := e.authorize(ct, miniApp)
	const path = "/datacube/getweanalysisappidvisitdistribution"
	var gotAppID, gotBody string
	e.s.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAppID = wxtest.AuthorizerAppID(r)
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ref_date":"20240101","list":[]}`)
	}))

	r := e.do(http.MethodPost, path, url.Values{"access_token": {at}}, map[string]string{"begin_date": "20240101", "end_date": "20240101"})
	requireCode(t, 0, r)
	assert.Equal(t, "20240101", r.str("ref_date"))
	assert.Equal(t, miniApp, gotAppID, "the handler learns the token's account")
	assert.JSONEq(t, `{"begin_date":"20240101","end_date":"20240101"}`, gotBody)

	// The token is checked as WeChat checks it, before the handler runs.
	gotAppID = ""
	requireCode(t, 41001, e.do(http.MethodPost, path, nil, "{}"))
	requireCode(t, 40001, e.do(http.MethodPost, path, url.Values{"access_token": {ct}}, "{}"), "the component token is not an account's")
	assert.Empty(t, gotAppID, "refused calls never reach the handler")

	// Faults and counters apply as to any endpoint.
	e.s.InjectFault(path, wxtest.Fault{ErrCode: -1})
	requireCode(t, -1, e.do(http.MethodPost, path, url.Values{"access_token": {at}}, "{}"))
	assert.Equal(t, 4, e.s.Calls(path))

	// A revoked account's token is refused.
	require.NoError(t, e.s.Unauthorize(context.Background(), miniApp))
	requireCode(t, 40001, e.do(http.MethodPost, path, url.Values{"access_token": {at}}, "{}"))

	// Emulated paths cannot be replaced; others 404 until handled.
	assert.Panics(t, func() { e.s.Handle("/wxa/commit", http.NotFoundHandler()) })
	assert.Panics(t, func() { e.s.Handle("no-slash", http.NotFoundHandler()) })
	status, _ := e.doStatus(http.MethodGet, "/wxa/not-handled", nil, nil)
	assert.Equal(t, http.StatusNotFound, status)
}

func TestAllowPushFailure(t *testing.T) {
	tb := &recordTB{TB: t}
	s := wxtest.NewTestServer(tb, wxtest.WithManualClock())
	rx := newReceiver(t, s.Component())
	s.SetEventURLs(rx.srv.URL, rx.srv.URL+"/$APPID$")
	s.AddAuthorizer(wxtest.Authorizer{AppID: miniApp, UserName: "gh_0123456789ab", MiniProgram: true})
	ctx := context.Background()

	// The handler fails (its database is down): WeChat will retry. The test expects it.
	rx.setAnswer(func(event) (int, string) { return http.StatusInternalServerError, "try later" })
	_, err := s.PushVerifyTicket(wxtest.AllowPushFailure(ctx))
	var pe *wxtest.PushError
	require.True(t, errors.As(err, &pe), "%v", err)
	assert.Equal(t, http.StatusInternalServerError, pe.StatusCode)
	assert.Equal(t, "try later", pe.Body)
	assert.Equal(t, "AuthEventURL", pe.Target)
	err = s.PushAuthorizerEvent(wxtest.AllowPushFailure(ctx), miniApp, []byte("<xml/>"))
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, "MessageEventURL", pe.Target)
	assert.Empty(t, tb.errors(), "an allowed failure does not fail the test")

	// WeChat's retry, once the handler recovered.
	rx.setAnswer(nil)
	require.NoError(t, s.PushAuthorizerEvent(ctx, miniApp, []byte("<xml/>")))
	assert.Len(t, rx.all(), 3)

	// Without the context the failure is reported; a mistake of the test's own setup always is.
	rx.setAnswer(func(event) (int, string) { return http.StatusInternalServerError, "" })
	_, err = s.PushVerifyTicket(ctx)
	require.Error(t, err)
	require.Len(t, tb.errors(), 1)
	require.Error(t, s.PushAuthorizerEvent(wxtest.AllowPushFailure(ctx), "wxunknown0000000", []byte("<xml/>")))
	assert.Len(t, tb.errors(), 2, "an unknown account is the test's mistake, reported even when failures are allowed")
}
