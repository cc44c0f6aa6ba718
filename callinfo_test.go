package wxopen_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	wxopen "github.com/wxopen-go/wxopen"
	"github.com/wxopen-go/wxopen/authorizer"
	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// hookRecorder keeps every CallInfo a Platform reports.
type hookRecorder struct {
	mu    sync.Mutex
	infos []wxopen.CallInfo
}

func (h *hookRecorder) hook(_ context.Context, ci wxopen.CallInfo) {
	h.mu.Lock()
	h.infos = append(h.infos, ci)
	h.mu.Unlock()
}

// last returns the last CallInfo for path.
func (h *hookRecorder) last(t *testing.T, path string) wxopen.CallInfo {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.infos) - 1; i >= 0; i-- {
		if h.infos[i].Path == path {
			return h.infos[i]
		}
	}
	t.Fatalf("no call of %s reported", path)
	return wxopen.CallInfo{}
}

// A refusal by the emulator, which shapes errmsg as WeChat does ("… rid: 6571a4cd-2e5a7b1f-6c3f2d1a"),
// reaches the caller with its request id, and the hook names the merchant the call was for.
func TestCallMetadataRequestIDAndAuthorizerAppID(t *testing.T) {
	var rec hookRecorder
	e := newEnv(t, wxopen.WithHook(rec.hook))
	ctx := context.Background()
	e.authorised(t)
	ridShape := regexp.MustCompile(`^[0-9a-f]+(-[0-9a-f]+)+$`)

	// A typed mini program call WeChat refuses (nothing to release).
	err := e.p.MiniProgram(merchantApp).Release(ctx)
	var apiErr *wxerr.APIError
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Regexp(t, ridShape, apiErr.RequestID)
	assert.NotContains(t, apiErr.Msg, "rid:", "the request id is taken out of Msg")
	assert.Contains(t, err.Error(), "rid: "+apiErr.RequestID, "and shown in the message")
	ci := rec.last(t, "/wxa/release")
	assert.Equal(t, merchantApp, ci.AppID)
	assert.Equal(t, apiErr.RequestID, ci.RequestID)
	assert.Equal(t, apiErr.Code, ci.ErrCode)

	// The escape hatch, a successful call: the hook names the merchant, and there is no request id.
	require.NoError(t, e.p.Authorizer(merchantApp).Do(ctx, authorizer.Request{Method: "GET", Path: "/wxa/get_category"}, nil))
	ci = rec.last(t, "/wxa/get_category")
	assert.Equal(t, merchantApp, ci.AppID)
	assert.Empty(t, ci.RequestID)
	assert.NoError(t, ci.Err)

	// The platform's calls on the merchant's behalf name it too; its own calls name nobody.
	_, err = e.p.Component().AuthorizerInfo(ctx, merchantApp)
	require.NoError(t, err)
	assert.Equal(t, merchantApp, rec.last(t, "/cgi-bin/component/api_get_authorizer_info").AppID)
	assert.Empty(t, rec.last(t, "/cgi-bin/component/api_component_token").AppID)

	// A card call of an official account.
	const official = "wx2222333344445555"
	e.emu.AddAuthorizer(wxtest.Authorizer{AppID: official})
	_, err = e.emu.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: official})
	require.NoError(t, err)
	_, err = e.p.Card(official).Get(ctx, "no-such-card")
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Regexp(t, ridShape, apiErr.RequestID)
	assert.Equal(t, official, rec.last(t, "/card/get").AppID)
}

// Each layer of an error says itself once: no package prefix, operation or cause twice.
func TestErrorsSayEachLayerOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	app := e.emu.Component()
	cfg := wxopen.Config{ComponentAppID: app.AppID, AppSecret: app.AppSecret, Token: app.Token, EncodingAESKey: app.EncodingAESKey}

	var errs []error
	add := func(err error) {
		t.Helper()
		require.Error(t, err)
		errs = append(errs, err)
	}
	_, err := e.p.Component().AuthorizerInfo(ctx, merchantApp) // no verify ticket yet
	require.ErrorIs(t, err, wxerr.ErrNoVerifyTicket)
	add(err)
	_, err = e.p.MiniProgram(merchantApp).Categories(ctx) // not authorised
	require.ErrorIs(t, err, wxerr.ErrNotAuthorized)
	add(err)
	bad := cfg
	bad.EncodingAESKey = strings.Repeat("!", 43)
	_, err = wxopen.New(bad)
	add(err)
	dead, err := wxopen.New(cfg, wxopen.WithBaseURL("http://127.0.0.1:1"))
	require.NoError(t, err)
	add(dead.Component().StartPushTicket(ctx))
	_, err = e.p.MiniProgram(merchantApp).DecryptUserInfo(miniprogram.UserData{SessionKey: "AAAAAAAAAAAAAAAAAAAAAA==", EncryptedData: "bm90IGRhdGE=", IV: "AAAAAAAAAAAAAAAAAAAAAA=="})
	add(err)
	broken, err := wxopen.New(cfg, wxopen.WithBaseURL(e.emu.URL), wxopen.WithCredentialStore(failingStore{tokenstore.NewMemoryStore()}))
	require.NoError(t, err)
	_, err = broken.MiniProgram(merchantApp).Categories(ctx)
	add(err)

	for _, err := range errs {
		msg := err.Error()
		for _, layer := range []string{"wxopen:", "component:", "crypto", "tokenstore:", "POST /", "GET /", "http://"} {
			assert.LessOrEqual(t, strings.Count(msg, layer), 1, "%q said twice in %q", layer, msg)
		}
	}
}

// failingStore fails every read.
type failingStore struct{ tokenstore.Store }

func (failingStore) Get(context.Context, string) (tokenstore.Token, error) {
	return tokenstore.Token{}, errors.New("disk on fire")
}
