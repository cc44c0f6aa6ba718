package miniprogram_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxtest"
)

// verifyPushes records the verification pushes the SDK's two handlers typed.
type verifyPushes struct {
	mu         sync.Mutex
	steps      []*component.VerificationEvent
	expiries   []*component.VerifyExpiryEvent
	paid       []*component.VerifyPaidEvent
	dispatched []*component.VerifyDispatchEvent
}

func keep[E any](mu *sync.Mutex, list *[]*E) func(context.Context, *E) error {
	return func(_ context.Context, ev *E) error {
		mu.Lock()
		defer mu.Unlock()
		*list = append(*list, ev)
		return nil
	}
}

// A verification on the emulator, end to end through the SDK's handlers: every step typed on the
// authorisation URL, the payment and the review's provider on the message URL, then the yearly
// expiry reminders.
func TestEmulatorVerificationPushesTyped(t *testing.T) {
	ctx := context.Background()
	s := wxtest.NewTestServer(t, wxtest.WithManualClock())
	app := s.Component()
	p, err := wxopen.New(wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token,
		EncodingAESKey: app.EncodingAESKey}, wxopen.WithBaseURL(s.URL))
	require.NoError(t, err)
	var got verifyPushes
	auth, err := p.Handler(component.HandlerConfig{Now: s.Now, OnVerification: keep(&got.mu, &got.steps), OnVerifyExpiry: keep(&got.mu, &got.expiries)})
	require.NoError(t, err)
	msg, err := p.MessageHandler(component.MessageHandlerConfig{Now: s.Now, OnVerifyPaid: keep(&got.mu, &got.paid),
		OnVerifyDispatch: keep(&got.mu, &got.dispatched)})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/auth", auth)
	mux.Handle("/msg/{appid}", msg)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.SetEventURLs(srv.URL+"/auth", srv.URL+"/msg/$APPID$")
	_, err = s.PushVerifyTicket(ctx)
	require.NoError(t, err)
	const appID = "wx7777777777777701"
	s.AddAuthorizer(wxtest.Authorizer{AppID: appID, MiniProgram: true, VerifyType: -1})
	_, err = s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: appID})
	require.NoError(t, err)
	mp := p.MiniProgram(appID)

	task, err := mp.SubmitVerification(ctx, validAuthData())
	require.NoError(t, err)
	for _, step := range [][2]int{{3, 0}, {6, 0}, {9, 0}, {15, 1}, {12, 2}, {12, 4}} {
		require.NoError(t, s.VerificationStep(ctx, task.TaskID, step[0], step[1], ""))
	}
	st, err := mp.QueryVerification(ctx, task.TaskID)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.VerifyApplyVerified, st.ApplyStatus)
	require.NotNil(t, st.DispatchInfo)

	got.mu.Lock()
	require.Len(t, got.steps, 6)
	last := got.steps[5]
	assert.Equal(t, appID, last.AppID)
	assert.Equal(t, task.TaskID, last.TaskID)
	assert.True(t, last.Verified())
	assert.NotNil(t, last.Platform)
	require.Len(t, got.paid, 1)
	assert.Equal(t, appID, got.paid[0].AuthorizerAppID)
	assert.Equal(t, st.OrderID, got.paid[0].OrderID)
	require.Len(t, got.dispatched, 1)
	d := got.dispatched[0]
	assert.Equal(t, st.OrderID, d.OrderID)
	assert.Equal(t, st.DispatchInfo.Provider, d.Provider)
	assert.Equal(t, st.DispatchInfo.Contact, d.Contact)
	assert.Equal(t, s.Now().Unix(), d.DispatchTime.Unix(), "the emulator's clock stands still")
	got.mu.Unlock()
	verifiedAt := s.Now()

	// The yearly expiry: reminders 60 and 30 days before and on the day, each once.
	n, err := s.PushVerifyExpiryReminders(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing due yet")
	for i, days := range []int{305, 335, 365} {
		s.Advance(verifiedAt.Add(time.Duration(days) * 24 * time.Hour).Sub(s.Now()))
		_, err = s.PushVerifyTicket(ctx)
		require.NoError(t, err)
		n, err = s.PushVerifyExpiryReminders(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "day %d", days)
		n, err = s.PushVerifyExpiryReminders(ctx)
		require.NoError(t, err)
		assert.Zero(t, n, "each reminder once")
		got.mu.Lock()
		require.Len(t, got.expiries, i+1)
		ev := got.expiries[i]
		assert.Equal(t, appID, ev.AppID)
		assert.Equal(t, verifiedAt.Add(365*24*time.Hour).Unix(), ev.Expired.Unix())
		assert.NotEmpty(t, ev.Message)
		got.mu.Unlock()
	}
}
