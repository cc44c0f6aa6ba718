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
	assert.Equal(t, int(miniprogram.ICPNotFiledNothingNotVerified), e.s.ICPStatus(appID), "a new mini program must be verified and filed")

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
	assert.Equal(t, int(miniprogram.ICPNotFiledNoCategoryNotVerified), e.s.ICPStatus(appID), "a trial app has no subject to file")
	formal := e.mini(shopApp) // a mini program that is not a trial one
	assert.Equal(t, wxerr.CodeAPIUnauthorizedForAccount, wxerr.CodeOf(formal.SetBetaNickname(ctx, "拉面小馆")))
	require.NoError(t, mp.SetBetaNickname(ctx, "拉面小馆"))
	bi, err := mp.BasicInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, "拉面小馆", bi.Nickname)
	vr := miniprogram.BetaVerifyRequest{EnterpriseName: "拉面小馆餐饮有限公司", Code: "91440300MA5G12345X", CodeType: miniprogram.CodeTypeCreditCode,
		LegalPersonaWechat: "lamian_boss", LegalPersonaName: "李四"}
	bad := vr
	bad.CodeType = 2
	requireInvalid(t, mp.VerifyBeta(ctx, bad), "code")
	assert.Equal(t, wxerr.CodeAPIUnauthorizedForAccount, wxerr.CodeOf(formal.VerifyBeta(ctx, vr)), "only a trial app verifies this way")
	require.NoError(t, mp.VerifyBeta(ctx, vr))
	assert.Equal(t, wxerr.CodeFastRegTaskRunning, wxerr.CodeOf(mp.VerifyBeta(ctx, vr)))
	require.NoError(t, e.s.CompleteBetaVerification(ctx, appID, 0))
	assert.Contains(t, e.auditEvents(), "betaverify "+appID+" 拉面小馆餐饮有限公司 ok=true")
	bi, err = mp.BasicInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, "拉面小馆餐饮有限公司", bi.PrincipalName)
	assert.Equal(t, int(miniprogram.ICPNotFiledNoCategory), e.s.ICPStatus(appID), "verified: only the category is missing")
	_, err = mp.SubmitVerification(ctx, validAuthData())
	assert.Equal(t, wxerr.CodeFastRegTaskRunning, wxerr.CodeOf(err), "verified by the legal person")
	assert.Equal(t, wxerr.CodeAPIUnauthorizedForAccount, wxerr.CodeOf(mp.SetBetaNickname(ctx, "新名字")), "a formal mini program now")
	assert.Equal(t, wxerr.CodeAPIUnauthorizedForAccount, wxerr.CodeOf(mp.VerifyBeta(ctx, vr)))
}

// A failed verification leaves the trial app a trial one: it may rename and try again.
func TestEmulatorBetaVerificationFailed(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	reg, err := e.fr.CreateBeta(ctx, "拉面试用", "oUser1")
	require.NoError(t, err)
	appID, err := e.s.CompleteBetaRegistration(ctx, reg.UniqueID)
	require.NoError(t, err)
	mp := e.mini(appID)
	vr := miniprogram.BetaVerifyRequest{EnterpriseName: "拉面小馆餐饮有限公司", Code: "91440300MA5G12345X", CodeType: miniprogram.CodeTypeCreditCode,
		LegalPersonaWechat: "lamian_boss", LegalPersonaName: "李四"}
	require.NoError(t, mp.VerifyBeta(ctx, vr))
	require.NoError(t, e.s.CompleteBetaVerification(ctx, appID, 103))
	assert.Contains(t, e.auditEvents(), "betaverify "+appID+" 拉面小馆餐饮有限公司 ok=false")
	require.NoError(t, mp.SetBetaNickname(ctx, "拉面小馆"))
	require.NoError(t, mp.VerifyBeta(ctx, vr))
	assert.Equal(t, int(miniprogram.ICPNotFiledNoCategoryNotVerified), e.s.ICPStatus(appID))

	// Filing alone is refused while not verified (the combined flow stays open).
	a := icpApplication(ctx, t, mp)
	a.Applets.PrincipalInfo.VerifyTaskID = e.faceCheck(ctx, mp)
	var ae *miniprogram.ICPApplyError
	require.ErrorAs(t, mp.ICP().Apply(ctx, a), &ae)
	assert.Equal(t, "icp_applets.base_info.appid", ae.Hints[0].ErrField)
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

	assert.Equal(t, int(miniprogram.ICPNotFiledNoBasicInfoOrCategory), e.s.ICPStatus(reg.AppID), "the verification was copied")

	t2, err := e.s.ScanFastRegisterAuth(unverified, false)
	require.NoError(t, err)
	_, err = miniprogram.RegisterWithOfficialAccount(ctx, e.p.Authorizer(unverified), t2)
	assert.Equal(t, wxerr.CodeReuseOANotVerified, wxerr.CodeOf(err))
}

// reuse scans the official account oa's page and redeems the ticket.
func (e *platform) reuse(ctx context.Context, oa string, copyVerify bool) (*miniprogram.ReuseRegistration, error) {
	e.t.Helper()
	ticket, err := e.s.ScanFastRegisterAuth(oa, copyVerify)
	require.NoError(e.t, err)
	return miniprogram.RegisterWithOfficialAccount(ctx, e.p.Authorizer(oa), ticket)
}

// The limits of account/fastregister (digest 15.3): subject kind, copied verification, one
// registration at a time, 5 a month, the subject's mini program limit.
func TestEmulatorRegistrationWithOfficialAccountLimits(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	const oa, gov, personal, group = "wxoa0000000000f011", "wxoa0000000000f012", "wxoa0000000000f013", "wxoa0000000000f014"
	for _, a := range []wxtest.Authorizer{{AppID: oa, PrincipalName: "拉面小馆餐饮有限公司"}, {AppID: gov, PrincipalName: "某市市场监督管理局"},
		{AppID: personal, PrincipalName: "张三"}, {AppID: group, PrincipalName: "大集团有限公司"}} {
		e.s.AddAuthorizer(a)
		_, err := e.s.Authorize(ctx, wxtest.AuthorizeRequest{AuthorizerAppID: a.AppID, FuncInfo: []int{1, 27}})
		require.NoError(t, err)
	}
	require.NoError(t, e.s.SetOASubject(gov, wxtest.OASubjectGovernment))
	require.NoError(t, e.s.SetOASubject(personal, wxtest.OASubjectPersonal))
	assert.Error(t, e.s.SetOASubject(shopApp, wxtest.OASubjectMedia), "a mini program is no official account")

	_, err := e.reuse(ctx, personal, true)
	assert.Equal(t, wxerr.CodeReuseSubjectType, wxerr.CodeOf(err))
	_, err = e.reuse(ctx, gov, false)
	assert.Equal(t, wxerr.CodeReuseMustCopyVerify, wxerr.CodeOf(err))
	_, err = e.reuse(ctx, gov, true)
	require.NoError(t, err)

	// Without the copied verification the new mini program must be verified before filing.
	reg, err := e.reuse(ctx, oa, false)
	require.NoError(t, err)
	assert.False(t, reg.WxVerifySucceeded)
	assert.Equal(t, int(miniprogram.ICPNotFiledNothingNotVerified), e.s.ICPStatus(reg.AppID))
	_, err = e.reuse(ctx, oa, false)
	assert.Equal(t, wxerr.CodeReuseInProgress, wxerr.CodeOf(err), "the first registration still runs")
	for range 4 {
		e.s.Advance(6 * time.Second)
		_, err = e.reuse(ctx, oa, true)
		require.NoError(t, err)
	}
	e.s.Advance(6 * time.Second)
	_, err = e.reuse(ctx, oa, true)
	assert.Equal(t, wxerr.CodeReuseMonthlyQuota, wxerr.CodeOf(err), "5 a month")
	e.s.Advance(32 * 24 * time.Hour)
	_, err = e.s.PushVerifyTicket(ctx) // WeChat pushes one every 10 minutes
	require.NoError(t, err)
	_, err = e.reuse(ctx, oa, true)
	require.NoError(t, err, "a new month")

	for range 50 {
		e.s.AddAuthorizer(wxtest.Authorizer{MiniProgram: true, PrincipalName: "大集团有限公司"})
	}
	_, err = e.reuse(ctx, group, true)
	assert.Equal(t, wxerr.CodeReuseSubjectLimit, wxerr.CodeOf(err))
}
