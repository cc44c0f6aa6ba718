package miniprogram_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// Verification alone: submitted, sent back for refill, resubmitted, verified; each step pushed.
func TestEmulatorVerification(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	app := e.fastRegister(ctx, 500)
	mp := e.mini(app)
	doc, err := mp.UploadAuthMaterial(ctx, "licence.png", pngImage(t))
	require.NoError(t, err)
	tree, err := mp.IdentityTree(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, tree)

	d := validAuthData()
	d.QualificationOther = []string{doc}
	task, err := mp.SubmitVerification(ctx, d)
	require.NoError(t, err)
	assert.Contains(t, task.AuthURL, task.TaskID)
	_, err = mp.SubmitVerification(ctx, d)
	assert.Equal(t, wxerr.CodeFastRegTaskRunning, wxerr.CodeOf(err), "one verification at a time")
	st, err := mp.QueryVerification(ctx, task.TaskID)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.VerifyApplyNone, st.ApplyStatus)
	_, err = mp.ResubmitVerification(ctx, task.TaskID, d)
	assert.Equal(t, wxerr.CodeInvalidParams, wxerr.CodeOf(err), "nothing to refill yet")

	for _, step := range [][2]int{{3, 0}, {6, 0}, {9, 0}, {12, 2}} {
		require.NoError(t, e.s.VerificationStep(ctx, task.TaskID, step[0], step[1], ""))
	}
	require.NoError(t, e.s.VerificationStep(ctx, task.TaskID, 12, 3, "名称与主体不符"))
	st, err = mp.QueryVerification(ctx, task.TaskID)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.VerifyApplyRefill, st.ApplyStatus)
	assert.Equal(t, "名称与主体不符", st.RefillReason)
	d.AccountName = "拉面小馆餐饮"
	_, err = mp.ResubmitVerification(ctx, task.TaskID, d)
	require.NoError(t, err)
	require.NoError(t, e.s.VerificationStep(ctx, task.TaskID, 12, 4, ""))
	info, err := e.p.Component().AuthorizerInfo(ctx, app)
	require.NoError(t, err)
	assert.Equal(t, 0, info.VerifyType, "verified")
	assert.Contains(t, e.auditEvents(), fmt.Sprintf("verify %s task=12 apply=3", app))
	assert.Contains(t, e.auditEvents(), fmt.Sprintf("verify %s task=12 apply=4", app))

	_, err = mp.SubmitVerification(ctx, d)
	assert.Equal(t, wxerr.CodeFastRegTaskRunning, wxerr.CodeOf(err), "already verified")

	personal := e.mini(e.fastRegister(ctx, 501))
	pd := validAuthData()
	pd.CustomerType = 15
	pd.AuthIdentification, pd.AuthIdentMaterial = "医生", doc
	pd.AccountNameType = 1
	_, err = personal.SubmitVerification(ctx, pd)
	require.NoError(t, err, "a personal subject with its identity")
}

// Verification and filing in one procedure: rejected by the platform's ICP review, submitted
// again, then verified and filed; release works only at the end.
func TestEmulatorAuthAndICP(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	e.s.SetPlatformDomains([]string{"api.dinehub.example"}, nil)
	tpl := e.privacyTemplate(ctx)
	g := e.onboard(ctx, 510, tpl, "")
	_, err := g.mp.SubmitAudit(ctx, g.request())
	require.NoError(t, err)
	require.NoError(t, e.s.Audit(ctx, g.app, true, ""))

	a := icpApplication(ctx, t, g.mp)
	task, err := g.mp.ICP().CreateVerifyTask(ctx, true)
	require.NoError(t, err)
	assert.NotEmpty(t, task.VerifyURL)
	require.NoError(t, e.s.CompleteICPFaceCheck(ctx, task.TaskID, true))
	a.Applets.PrincipalInfo.VerifyTaskID = task.TaskID
	p, err := g.mp.ICP().SubmitAuthAndICP(ctx, a, validAuthData())
	require.NoError(t, err)
	assert.NotEmpty(t, p.PayURL, "the merchant pays")
	for _, st := range []int{16, 17, 19, 22} {
		require.NoError(t, e.s.AdvanceAuthAndICP(ctx, p.ProcedureID, st))
	}
	require.NoError(t, e.s.AdvanceAuthAndICP(ctx, p.ProcedureID, 23, wxtest.ICPAuditReason{KeyName: "icp_applets.base_info.comment", Error: "过短"}))
	q, err := g.mp.ICP().QueryAuthAndICP(ctx, p.ProcedureID)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.ProcedureICPPlatformRejected, q.Status)
	assert.Equal(t, "过短", q.ICPAudit.AuditData[0].Error)
	assert.ErrorIs(t, g.mp.Release(ctx), wxerr.ErrReleaseNotICPFiled)

	// Fixed and submitted again (a new face check), then through both reviews.
	task, err = g.mp.ICP().CreateVerifyTask(ctx, true)
	require.NoError(t, err)
	require.NoError(t, e.s.CompleteICPFaceCheck(ctx, task.TaskID, true))
	a.Applets.PrincipalInfo.VerifyTaskID = task.TaskID
	p2, err := g.mp.ICP().SubmitAuthAndICP(ctx, a, validAuthData())
	require.NoError(t, err)
	assert.Error(t, e.s.AdvanceAuthAndICP(ctx, p.ProcedureID, 22), "the first procedure was replaced")
	for _, st := range []int{16, 17, 19, 22, 24, 26} {
		require.NoError(t, e.s.AdvanceAuthAndICP(ctx, p2.ProcedureID, st))
	}
	q, err = g.mp.ICP().QueryAuthAndICP(ctx, p2.ProcedureID)
	require.NoError(t, err)
	assert.True(t, q.Status.Done())
	assert.Equal(t, miniprogram.ICPFiled, e.icpStatus(ctx, g.mp))
	require.NoError(t, g.mp.Release(ctx))
	assert.Contains(t, e.auditEvents(), "procedure "+p.ProcedureID+" status=23")
	assert.Contains(t, e.auditEvents(), "procedure "+p2.ProcedureID+" status=26")
	_, err = g.mp.ICP().SubmitAuthAndICP(ctx, a, validAuthData())
	assert.Equal(t, wxerr.CodeICPUnfinishedOrder, wxerr.CodeOf(err), "already filed")
}
