package session_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/session"
	"github.com/wxopen-go/wxopen/tokenstore"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// The whole flow against the emulator: login through component jscode2session, a second login that
// rotates WeChat's key, up_user_info decrypted with the stored key, and codes the emulator refuses.
func TestEmulatorFlow(t *testing.T) {
	const shop, other = "wx5555555555555555", "wx6666666666666666"
	p, emu, stop := emulatedPlatform(wxtest.Authorizer{AppID: shop, MiniProgram: true}, wxtest.Authorizer{AppID: other, MiniProgram: true})
	defer stop()
	ctx := context.Background()
	m, err := session.New(tokenstore.NewMemoryStore(), session.PlatformLogin(p))
	require.NoError(t, err)
	mux := http.NewServeMux()
	m.Mount(mux, "/wx", nil)

	code, out := do(t, mux, "POST", "/wx/login/"+emu.IssueLoginCode(shop, "oUSER1"), shop, "", "")
	require.Equal(t, http.StatusOK, code, out)
	first := out["token"].(string)
	key1, _ := emu.Session(shop, "oUSER1")
	code, out = do(t, mux, "POST", "/wx/login/"+emu.IssueLoginCode(shop, "oUSER1"), shop, "", "")
	require.Equal(t, http.StatusOK, code, out)
	second := out["token"].(string)
	key2, _ := emu.Session(shop, "oUSER1")
	require.NotEqual(t, key1, key2, "the emulator rotates the key on each login")
	assert.NotContains(t, first+second, key1)

	emu.SetUnionID(shop, "oUSER1", "uUNION1")
	data, iv := encrypt(t, key2, shop, map[string]any{"openId": "oUSER1", "unionId": "uUNION1", "nickName": "Band"})
	body, _ := json.Marshal(session.UpUserInfoRequest{EncryptedData: data, IV: iv})
	code, out = do(t, mux, "POST", "/wx/up_user_info", shop, second, string(body))
	require.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, "uUNION1", out["unionid"])
	code, _ = do(t, mux, "POST", "/wx/up_user_info", shop, first, string(body))
	assert.Equal(t, http.StatusBadRequest, code, "the first session holds the rotated-out key")
	code, _ = do(t, mux, "POST", "/wx/up_user_info", other, second, string(body))
	assert.Equal(t, http.StatusUnauthorized, code, "the token of one merchant at another")

	// A new login after SetUnionID gets the unionid from jscode2session.
	s, err := m.Login(ctx, shop, emu.IssueLoginCode(shop, "oUSER1"))
	require.NoError(t, err)
	assert.Equal(t, "uUNION1", s.UnionID)

	// WeChat's refusals: a used code, a code of another mini program.
	used := emu.IssueLoginCode(shop, "oUSER2")
	_, err = m.Login(ctx, shop, used)
	require.NoError(t, err)
	_, err = m.Login(ctx, shop, used)
	assert.Equal(t, wxerr.CodeCodeUsed, wxerr.CodeOf(err))
	_, err = m.Login(ctx, other, emu.IssueLoginCode(shop, "oUSER3"))
	assert.Equal(t, wxerr.CodeInvalidCode, wxerr.CodeOf(err))
}

func TestEmulatorCheckSession(t *testing.T) {
	const shop = "wx5555555555555555"
	p, emu, stop := emulatedPlatform(wxtest.Authorizer{AppID: shop, MiniProgram: true})
	defer stop()
	ctx := context.Background()
	m, err := session.New(tokenstore.NewMemoryStore(), session.PlatformLogin(p))
	require.NoError(t, err)
	first, err := m.Login(ctx, shop, emu.IssueLoginCode(shop, "oUSER1"))
	require.NoError(t, err)
	require.NoError(t, m.CheckSession(ctx, first))
	second, err := m.Login(ctx, shop, emu.IssueLoginCode(shop, "oUSER1"))
	require.NoError(t, err)
	assert.Equal(t, wxerr.Code(87009), wxerr.CodeOf(m.CheckSession(ctx, first)), "the first key was rotated out")
	require.NoError(t, m.CheckSession(ctx, second))
	require.ErrorIs(t, m.CheckSession(ctx, &session.Session{AppID: shop, OpenID: "oUSER1"}), session.ErrInvalid)

	plain, err := session.New(tokenstore.NewMemoryStore(), session.LoginFunc(func(ctx context.Context, appID, code string) (*miniprogram.Session, error) {
		return p.MiniProgram(appID).Login(ctx, code)
	}))
	require.NoError(t, err)
	s, err := plain.Login(ctx, shop, emu.IssueLoginCode(shop, "oUSER2"))
	require.NoError(t, err)
	require.ErrorIs(t, plain.CheckSession(ctx, s), session.ErrNoChecker)
}

// checkingLoginer is a Loginer and SessionChecker that records what CheckSession was given.
type checkingLoginer struct {
	appID string
	got   miniprogram.CheckSessionRequest
}

func (l *checkingLoginer) Login(_ context.Context, _, code string) (*miniprogram.Session, error) {
	return &miniprogram.Session{OpenID: "o-" + code, SessionKey: "key-" + code}, nil
}

func (l *checkingLoginer) CheckSession(_ context.Context, appID string, r miniprogram.CheckSessionRequest) error {
	l.appID, l.got = appID, r
	return nil
}

// Manager.CheckSession hands a custom SessionChecker the session's mini program, user and stored key,
// each in its named place.
func TestCheckSessionGivesTheCheckerTheSession(t *testing.T) {
	ctx := context.Background()
	l := &checkingLoginer{}
	m, err := session.New(tokenstore.NewMemoryStore(), l)
	require.NoError(t, err)
	s, err := m.Login(ctx, "wxSHOP", "c1")
	require.NoError(t, err)
	require.NoError(t, m.CheckSession(ctx, s))
	assert.Equal(t, "wxSHOP", l.appID)
	assert.Equal(t, miniprogram.CheckSessionRequest{OpenID: "o-c1", SessionKey: "key-c1"}, l.got)
}
