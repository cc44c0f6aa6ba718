package miniprogram_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// usable checks that appID is authorised with a stored refresh token: after the access token
// expired, a call still works (the token is refreshed from the stored refresh token).
func (e *platform) usable(ctx context.Context, appID string) *miniprogram.BasicInfo {
	e.t.Helper()
	rec, err := e.p.Component().StoredAuthorization(ctx, appID)
	require.NoError(e.t, err)
	assert.Equal(e.t, appID, rec.AuthorizerAppID)
	e.later(ctx, 3*time.Hour) // the access token issued with the authorisation has expired
	bi, err := e.mini(appID).BasicInfo(ctx)
	require.NoError(e.t, err)
	assert.Equal(e.t, appID, bi.AppID)
	return bi
}

func TestEmulatorPersonalRegistration(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	_, err := e.fr.CreatePersonal(ctx, miniprogram.PersonalRegisterRequest{WxUser: "1bad"})
	assert.Equal(t, wxerr.CodeInvalidParams, wxerr.CodeOf(err))
	task, err := e.fr.CreatePersonal(ctx, miniprogram.PersonalRegisterRequest{WxUser: "noodle_lady", IDName: "张三", ComponentPhone: "13800000000"})
	require.NoError(t, err)
	assert.Contains(t, task.AuthorizeURL, task.TaskID)
	q, err := e.fr.QueryPersonal(ctx, task.TaskID)
	require.NoError(t, err)
	assert.Equal(t, 0, q.Status)
	_, err = e.fr.QueryPersonal(ctx, "nope")
	assert.Equal(t, wxerr.CodeFastRegNoTask, wxerr.CodeOf(err))

	appID, err := e.s.CompletePersonalRegistration(ctx, task.TaskID, 0)
	require.NoError(t, err)
	e.mu.Lock()
	require.Len(t, e.fastRegs, 1)
	ev := e.fastRegs[0]
	e.mu.Unlock()
	assert.Equal(t, task.TaskID, ev.TaskID)
	assert.Equal(t, "noodle_lady", ev.Info.WxUser)
	assert.Equal(t, "张三", ev.Info.IDName)
	require.NotNil(t, ev.Authorization, "the handler exchanged the code")
	assert.Equal(t, appID, ev.Authorization.AuthorizerAppID)
	assert.Equal(t, "张三", e.usable(ctx, appID).PrincipalName)
	assert.Equal(t, int(miniprogram.ICPNotFiledNoBasicInfoOrCategory), e.s.ICPStatus(appID), "a new mini program must be filed")

	// A failed task pushes the failure, no account.
	t2, err := e.fr.CreatePersonal(ctx, miniprogram.PersonalRegisterRequest{WxUser: "noodle_lady"})
	require.NoError(t, err)
	_, err = e.s.CompletePersonalRegistration(ctx, t2.TaskID, 1001)
	require.NoError(t, err)
	e.mu.Lock()
	require.Len(t, e.fastRegs, 2)
	assert.False(t, e.fastRegs[1].Succeeded())
	assert.Nil(t, e.fastRegs[1].Authorization)
	e.mu.Unlock()
	q, err = e.fr.QueryPersonal(ctx, t2.TaskID)
	require.NoError(t, err)
	assert.Equal(t, 1001, q.Status)
}

func TestEmulatorBetaRegistrationAndVerification(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	_, err := e.fr.CreateBeta(ctx, "", "oUser")
	requireInvalid(t, err, "name")
	reg, err := e.fr.CreateBeta(ctx, "拉面试用", "oUser1")
	require.NoError(t, err)
	appID, err := e.s.CompleteBetaRegistration(ctx, reg.UniqueID)
	require.NoError(t, err)
	assert.Contains(t, e.auditEvents(), fmt.Sprintf("beta %s %s 拉面试用 ok=true", reg.UniqueID, appID))
	e.usable(ctx, appID) // the authorized push that follows was exchanged by the handler

	mp := e.mini(appID)
	require.NoError(t, mp.SetBetaNickname(ctx, "拉面小馆"))
	bi, err := mp.BasicInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, "拉面小馆", bi.Nickname)
	vr := miniprogram.BetaVerifyRequest{EnterpriseName: "拉面小馆餐饮有限公司", Code: "91440300MA5G12345X", CodeType: miniprogram.CodeTypeCreditCode,
		LegalPersonaWechat: "lamian_boss", LegalPersonaName: "李四"}
	bad := vr
	bad.CodeType = 2
	requireInvalid(t, mp.VerifyBeta(ctx, bad), "code")
	require.NoError(t, mp.VerifyBeta(ctx, vr))
	assert.Equal(t, wxerr.CodeFastRegTaskRunning, wxerr.CodeOf(mp.VerifyBeta(ctx, vr)))
	require.NoError(t, e.s.CompleteBetaVerification(ctx, appID, 0))
	assert.Contains(t, e.auditEvents(), "betaverify "+appID+" 拉面小馆餐饮有限公司 ok=true")
	bi, err = mp.BasicInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, "拉面小馆餐饮有限公司", bi.PrincipalName)
}

func TestEmulatorRegistrationWithOfficialAccount(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	const oa, unverified = "wxoa0000000000f001", "wxoa0000000000f002"
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: oa, PrincipalName: "拉面小馆餐饮有限公司", VerifyType: 0})
	_, err := e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: oa, FuncInfo: []int{1, 15, 27}})
	require.NoError(t, err)
	e.s.AddAuthorizer(wxtest.Authorizer{AppID: unverified, VerifyType: -1})
	_, err = e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: unverified, FuncInfo: []int{1, 27}})
	require.NoError(t, err)

	u, err := miniprogram.FastRegisterAuthURL(oa, e.p.ComponentAppID(), true, "https://dinehub.example/wechat/fastregister")
	require.NoError(t, err)
	assert.Contains(t, u, "copy_wx_verify=1")
	assert.Contains(t, u, "redirect_uri=https%3A%2F%2Fdinehub.example%2Fwechat%2Ffastregister")
	_, err = miniprogram.FastRegisterAuthURL(oa, e.p.ComponentAppID(), true, "/relative")
	requireInvalid(t, err, "redirect_uri")

	ticket, err := e.s.ScanFastRegisterAuth(oa, true)
	require.NoError(t, err)
	reg, err := miniprogram.RegisterWithOfficialAccount(ctx, e.p.Authorizer(oa), ticket)
	require.NoError(t, err)
	assert.True(t, reg.WxVerifySucceeded)
	assert.True(t, reg.Linked)
	_, err = miniprogram.RegisterWithOfficialAccount(ctx, e.p.Authorizer(oa), ticket)
	assert.ErrorIs(t, err, &wxerr.APIError{Code: wxerr.CodeReuseTicketInvalid}, "a ticket serves once")

	// The code comes in the answer: QueryAuth exchanges it and stores the refresh token.
	a, err := e.p.Component().QueryAuth(ctx, reg.AuthorizationCode)
	require.NoError(t, err)
	assert.Equal(t, reg.AppID, a.AuthorizerAppID)
	assert.Equal(t, "拉面小馆餐饮有限公司", e.usable(ctx, reg.AppID).PrincipalName)

	t2, err := e.s.ScanFastRegisterAuth(unverified, false)
	require.NoError(t, err)
	_, err = miniprogram.RegisterWithOfficialAccount(ctx, e.p.Authorizer(unverified), t2)
	assert.Equal(t, wxerr.CodeReuseOANotVerified, wxerr.CodeOf(err))
}
