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

// verifyTask submits a verification of mp and returns its task id.
func verifyTask(ctx context.Context, t *testing.T, mp *miniprogram.Client) string {
	t.Helper()
	task, err := mp.SubmitVerification(ctx, validAuthData())
	require.NoError(t, err)
	return task.TaskID
}

// The administrator refuses, the face check fails, nobody acts for 24 h: each task is over (no
// further step), it was pushed, and a new verification may start.
func TestEmulatorVerificationTaskEnds(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	app := e.fastRegister(ctx, 520)
	mp := e.mini(app)
	state := func(task string) *miniprogram.VerificationState {
		st, err := mp.QueryVerification(ctx, task)
		require.NoError(t, err)
		return st
	}

	refused := verifyTask(ctx, t, mp)
	require.NoError(t, e.s.VerificationStep(ctx, refused, 2, 0, "管理员拒绝"))
	assert.Equal(t, miniprogram.VerifyTaskRefused, state(refused).TaskStatus)
	assert.Error(t, e.s.VerificationStep(ctx, refused, 3, 0, ""), "a refused task is over")
	assert.Contains(t, e.auditEvents(), fmt.Sprintf("verify %s task=2 apply=0", app))

	face := verifyTask(ctx, t, mp)
	require.NoError(t, e.s.VerificationStep(ctx, face, 3, 0, ""))
	require.NoError(t, e.s.VerificationStep(ctx, face, 5, 0, "人脸核验失败"))
	assert.Equal(t, miniprogram.VerifyTaskFaceFailed, state(face).TaskStatus)
	assert.Error(t, e.s.VerificationStep(ctx, face, 6, 0, ""), "a failed face check is final")
	assert.Contains(t, e.auditEvents(), fmt.Sprintf("verify %s task=5 apply=0", app))

	idle := verifyTask(ctx, t, mp)
	e.later(ctx, 23*time.Hour)
	assert.Equal(t, miniprogram.VerifyTaskInitial, state(idle).TaskStatus)
	_, err := mp.SubmitVerification(ctx, validAuthData())
	assert.Equal(t, wxerr.CodeFastRegTaskRunning, wxerr.CodeOf(err), "still waiting for the administrator")
	e.later(ctx, time.Hour)
	assert.Equal(t, miniprogram.VerifyTaskTimedOut, state(idle).TaskStatus, "24 h without action")
	assert.Error(t, e.s.VerificationStep(ctx, idle, 3, 0, ""), "a timed-out task is over")
	verifyTask(ctx, t, mp)
}

// Illegal jumps are refused; the merchant pays, the review fails for good (apply_status 5).
func TestEmulatorVerificationFinalFailure(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	app := e.fastRegister(ctx, 521)
	mp := e.mini(app)
	task := verifyTask(ctx, t, mp)
	for _, bad := range [][2]int{{12, 4}, {12, 2}, {9, 0}, {3, 2}, {0, 0}, {1, 0}} {
		assert.Error(t, e.s.VerificationStep(ctx, task, bad[0], bad[1], ""), "0/0 → %d/%d", bad[0], bad[1])
	}
	for _, step := range [][2]int{{3, 0}, {4, 0}, {6, 0}, {7, 0}, {9, 0}, {15, 1}} {
		require.NoError(t, e.s.VerificationStep(ctx, task, step[0], step[1], ""))
	}
	assert.Error(t, e.s.VerificationStep(ctx, task, 12, 4, ""), "unpaid, unreviewed")
	assert.Error(t, e.s.VerificationStep(ctx, task, 15, 2, ""), "a review needs the order created")
	require.NoError(t, e.s.VerificationStep(ctx, task, 12, 2, ""))
	st, err := mp.QueryVerification(ctx, task)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.VerifyApplyReviewing, st.ApplyStatus)
	assert.NotEmpty(t, st.OrderID)
	require.NotNil(t, st.DispatchInfo, "a provider reviews it")

	assert.Error(t, e.s.VerificationStep(ctx, task, 12, 5, "x"), "failure is task_status 14")
	require.NoError(t, e.s.VerificationStep(ctx, task, 14, 5, "主体信息与营业执照不符"))
	st, err = mp.QueryVerification(ctx, task)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.VerifyApplyFailed, st.ApplyStatus)
	assert.Equal(t, miniprogram.VerifyTaskFailed, st.TaskStatus)
	assert.Equal(t, "主体信息与营业执照不符", st.FailReason)
	assert.Error(t, e.s.VerificationStep(ctx, task, 12, 4, ""), "final")
	_, err = mp.ResubmitVerification(ctx, task, validAuthData())
	assert.Equal(t, wxerr.CodeInvalidParams, wxerr.CodeOf(err), "a final failure cannot be edited")
	info, err := e.p.Component().AuthorizerInfo(ctx, app)
	require.NoError(t, err)
	assert.Equal(t, -1, info.VerifyType, "not verified")
	assert.Contains(t, e.auditEvents(), fmt.Sprintf("verify %s task=14 apply=5", app))
	verifyTask(ctx, t, mp) // a new application may start
}

// authAndICP submits the combined procedure for a fresh fast-registered mini program.
func authAndICP(ctx context.Context, t *testing.T, e *platform, n int, d miniprogram.AuthData) (*miniprogram.Client, *miniprogram.AuthAndICPProcedure) {
	t.Helper()
	mp := e.mini(e.fastRegister(ctx, n))
	a := icpApplication(ctx, t, mp)
	task, err := mp.ICP().CreateVerifyTask(ctx, true)
	require.NoError(t, err)
	require.NoError(t, e.s.CompleteICPFaceCheck(ctx, task.TaskID, true))
	a.Applets.PrincipalInfo.VerifyTaskID = task.TaskID
	p, err := mp.ICP().SubmitAuthAndICP(ctx, a, d)
	require.NoError(t, err)
	return mp, p
}

// Procedure 20: the verification fails for good; an unpaid procedure cannot jump ahead.
func TestEmulatorAuthAndICPVerificationFailed(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	mp, p := authAndICP(ctx, t, e, 530, validAuthData())
	for _, st := range []int{26, 19, 17, 22} {
		assert.Error(t, e.s.AdvanceAuthAndICP(ctx, p.ProcedureID, st), "unpaid: 15 → %d", st)
	}
	require.NoError(t, e.s.AdvanceAuthAndICP(ctx, p.ProcedureID, 16))
	require.NoError(t, e.s.AdvanceAuthAndICP(ctx, p.ProcedureID, 17))
	_, err := mp.SubmitVerification(ctx, validAuthData())
	assert.Equal(t, wxerr.CodeFastRegTaskRunning, wxerr.CodeOf(err), "the procedure verifies it already")
	require.NoError(t, e.s.AdvanceAuthAndICP(ctx, p.ProcedureID, 20, wxtest.ICPAuditReason{Error: "主体资质不符"}))
	assert.Error(t, e.s.AdvanceAuthAndICP(ctx, p.ProcedureID, 19), "20 is final")
	q, err := mp.ICP().QueryAuthAndICP(ctx, p.ProcedureID)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.ProcedureVerifyFailed, q.Status)
	assert.Equal(t, "主体资质不符", q.FailReason)
	assert.NotEmpty(t, q.OrderID)
	assert.Contains(t, e.auditEvents(), "procedure "+p.ProcedureID+" status=20")
	info, err := e.p.Component().AuthorizerInfo(ctx, mp.AppID())
	require.NoError(t, err)
	assert.Equal(t, -1, info.VerifyType, "not verified")
	assert.Equal(t, miniprogram.ICPNotFiledNoBasicInfoOrCategory, e.icpStatus(ctx, mp), "the filing never started")
}

// Procedure 25: verified, then the regulator rejects the filing; its reasons are read on both
// endpoints and the merchant submits again.
func TestEmulatorAuthAndICPRegulatorRejected(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	d := validAuthData()
	d.PayType, d.ServiceAppID = miniprogram.AuthPaidByPlatform, "wxservice00000001"
	mp, p := authAndICP(ctx, t, e, 531, d)
	assert.Empty(t, p.PayURL, "the platform pays")
	assert.Error(t, e.s.AdvanceAuthAndICP(ctx, p.ProcedureID, 16), "nothing to pay")
	require.NoError(t, e.s.AdvanceAuthAndICP(ctx, p.ProcedureID, 19))
	assert.Error(t, e.s.AdvanceAuthAndICP(ctx, p.ProcedureID, 26), "the filing is still to review")
	require.NoError(t, e.s.AdvanceAuthAndICP(ctx, p.ProcedureID, 22))
	assert.Equal(t, miniprogram.ICPPlatformReview, e.icpStatus(ctx, mp))
	require.NoError(t, e.s.AdvanceAuthAndICP(ctx, p.ProcedureID, 24))
	assert.Equal(t, miniprogram.ICPRegulatorReview, e.icpStatus(ctx, mp))
	reason := wxtest.ICPAuditReason{KeyName: "icp_subject.principal_info.mobile", Error: "未完成短信核验", Suggest: "请负责人及时回复短信"}
	require.NoError(t, e.s.AdvanceAuthAndICP(ctx, p.ProcedureID, 25, reason))
	assert.Error(t, e.s.AdvanceAuthAndICP(ctx, p.ProcedureID, 26), "25 is final")
	q, err := mp.ICP().QueryAuthAndICP(ctx, p.ProcedureID)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.ProcedureICPRegulatorRejected, q.Status)
	require.Len(t, q.ICPAudit.AuditData, 1)
	assert.Equal(t, "未完成短信核验", q.ICPAudit.AuditData[0].Error)
	info, err := mp.ICP().EntranceInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.ICPRegulatorRejected, info.Status)
	assert.Equal(t, "icp_subject.principal_info.mobile", info.AuditData[0].KeyName)
	assert.Contains(t, e.auditEvents(), "procedure "+p.ProcedureID+" status=25")

	a := icpApplication(ctx, t, mp)
	task, err := mp.ICP().CreateVerifyTask(ctx, true)
	require.NoError(t, err)
	require.NoError(t, e.s.CompleteICPFaceCheck(ctx, task.TaskID, true))
	a.Applets.PrincipalInfo.VerifyTaskID = task.TaskID
	p2, err := mp.ICP().SubmitAuthAndICP(ctx, a, d)
	require.NoError(t, err, "a rejection is fixed by submitting again")
	assert.NotEqual(t, p.ProcedureID, p2.ProcedureID)
}
