package miniprogram_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
	"github.com/wxopen-go/wxopen/wxtest"
)

// icpApplication uploads the materials of a company filing for mp through the SDK and returns the
// application (without its face-check task id).
func icpApplication(ctx context.Context, t testing.TB, mp *miniprogram.Client) *miniprogram.ICPApplication {
	t.Helper()
	up := func(field string, cert int) string {
		m, err := mp.ICP().UploadMedia(ctx, miniprogram.ICPMediaUpload{Kind: miniprogram.ICPMediaImage, OrderField: field,
			CertificateType: cert, FileName: "doc.png", Data: pngImage(t)})
		require.NoError(t, err)
		return m.MediaID
	}
	a := validICPApplication()
	a.Subject.OrganizeInfo.CertificatePhoto = up("icp_subject.organize_info.certificate_photo", 1)
	for _, p := range []*miniprogram.ICPPrincipal{&a.Subject.PrincipalInfo, &a.Applets.PrincipalInfo} {
		p.CertificatePhotoFront = up("icp_subject.principal_info.certificate_photo_front", 2)
		p.CertificatePhotoBack = up("icp_subject.principal_info.certificate_photo_back", 2)
	}
	a.Subject.PrincipalInfo.AuthorizationLetter = up("icp_subject.principal_info.authorization_letter", 0)
	a.Materials.CommitmentLetter = []string{up("icp_materials.commitment_letter", 0)}
	a.Applets.PrincipalInfo.VerifyTaskID = ""
	return a
}

// faceCheck starts a face check and plays the administrator passing it.
func (e *platform) faceCheck(ctx context.Context, mp *miniprogram.Client) string {
	e.t.Helper()
	task, err := mp.ICP().CreateVerifyTask(ctx, false)
	require.NoError(e.t, err)
	require.NoError(e.t, e.s.CompleteICPFaceCheck(ctx, task.TaskID, true))
	require.NoError(e.t, mp.ICP().CheckVerifyTask(ctx, task.TaskID))
	return task.TaskID
}

// fileICP files the merchant's mini program as a platform does, the emulator playing the
// administrator, WeChat's review and the regulator, and waits for status 6.
func (g *gated) fileICP(ctx context.Context) {
	t := g.t
	t.Helper()
	a := icpApplication(ctx, t, g.mp)
	a.Applets.PrincipalInfo.VerifyTaskID = g.e.faceCheck(ctx, g.mp)
	require.NoError(t, g.mp.ICP().Apply(ctx, a))
	require.NoError(t, g.e.s.ReviewICPFiling(ctx, g.app, true))
	require.NoError(t, g.e.s.RegulateICPFiling(ctx, g.app, true))
	info, err := g.mp.ICP().EntranceInfo(ctx)
	require.NoError(t, err)
	require.True(t, info.Status.Filed(), "%s", info.Status)
}

func (e *platform) icpStatus(ctx context.Context, mp *miniprogram.Client) miniprogram.ICPStatus {
	e.t.Helper()
	info, err := mp.ICP().EntranceInfo(ctx)
	require.NoError(e.t, err)
	return info.Status
}

// The approved path: a bare fast-registered app reports what is missing, files after name and
// category, and is released only once filed; every transition is pushed and typed.
func TestEmulatorICPApproved(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	e.s.SetPlatformDomains([]string{"api.dinehub.example"}, nil)
	tpl := e.privacyTemplate(ctx)
	g := e.onboard(ctx, 400, tpl, "")
	bare := e.mini(e.fastRegister(ctx, 401))
	assert.Equal(t, miniprogram.ICPNotFiledNoBasicInfoOrCategory, e.icpStatus(ctx, bare))
	assert.Equal(t, miniprogram.ICPNotFiled, e.icpStatus(ctx, g.mp))

	// An application before the name and category is refused with a hint.
	a := icpApplication(ctx, t, bare)
	a.Applets.PrincipalInfo.VerifyTaskID = e.faceCheck(ctx, bare)
	var ae *miniprogram.ICPApplyError
	require.ErrorAs(t, bare.ICP().Apply(ctx, a), &ae)
	assert.Equal(t, "icp_applets.base_info", ae.Hints[0].ErrField)

	_, err := g.mp.SubmitAudit(ctx, g.request())
	require.NoError(t, err)
	require.NoError(t, e.s.Audit(ctx, g.app, true, ""))
	assert.ErrorIs(t, g.mp.Release(ctx), wxerr.ErrReleaseNotICPFiled)
	r, err := g.mp.Readiness(ctx)
	require.NoError(t, err)
	assert.Equal(t, []miniprogram.Gate{miniprogram.GateICPFiling}, gatesOf(r))
	assert.False(t, r.CanRelease())

	a = icpApplication(ctx, t, g.mp)
	task, err := g.mp.ICP().CreateVerifyTask(ctx, false)
	require.NoError(t, err)
	st, err := g.mp.ICP().QueryVerifyTask(ctx, task.TaskID)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.ICPFaceWaiting, st.FaceStatus)
	require.NoError(t, e.s.CompleteICPFaceCheck(ctx, task.TaskID, true))
	a.Applets.PrincipalInfo.VerifyTaskID = task.TaskID
	require.NoError(t, g.mp.ICP().Apply(ctx, a))
	assert.Equal(t, miniprogram.ICPPlatformReview, e.icpStatus(ctx, g.mp))
	assert.Equal(t, wxerr.CodeICPUnfinishedOrder, wxerr.CodeOf(g.mp.ICP().Apply(ctx, a)), "an order is open")
	require.NoError(t, e.s.ReviewICPFiling(ctx, g.app, true))
	info, err := g.mp.ICP().EntranceInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.ICPRegulatorReview, info.Status)
	assert.Equal(t, 1, info.SMSVerifyStatus, "the principal's MIIT SMS is awaited")
	assert.ErrorIs(t, g.mp.Release(ctx), wxerr.ErrReleaseNotICPFiled)
	require.NoError(t, e.s.RegulateICPFiling(ctx, g.app, true))
	assert.Equal(t, miniprogram.ICPFiled, e.icpStatus(ctx, g.mp))
	order, err := g.mp.ICP().OnlineOrder(ctx)
	require.NoError(t, err)
	assert.Regexp(t, `^京ICP备\d{8}号-1X$`, order.Applets.BaseInfo.RecordNumber)
	assert.Equal(t, "北京面馆有限公司", order.Subject.BaseInfo.Name)

	r, err = g.mp.Readiness(ctx)
	require.NoError(t, err)
	assert.Empty(t, r.Closed)
	require.NoError(t, g.mp.Release(ctx))
	assert.Equal(t, []string{"icp face " + g.app + " result=3", "icp " + g.app + " status=2", "icp " + g.app + " status=4",
		"icp " + g.app + " status=6"}, icpOf(e, g.app))
}

// icpOf are the typed ICP pushes the platform received for app, in order.
func icpOf(e *platform, app string) []string {
	var out []string
	for _, ev := range e.auditEvents() {
		if ev == "icp face "+app+" result=3" || ev == "icp face "+app+" result=2" || (len(ev) > len("icp "+app) && ev[:len("icp "+app)] == "icp "+app) {
			out = append(out, ev)
		}
	}
	return out
}

// Rejected by the platform, fixed and resubmitted; rejected by the regulator, resubmitted with a new
// face check; filed.
func TestEmulatorICPRejectedAndResubmitted(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	e.s.SetPlatformDomains([]string{"api.dinehub.example"}, nil)
	tpl := e.privacyTemplate(ctx)
	g := e.onboard(ctx, 410, tpl, "")
	a := icpApplication(ctx, t, g.mp)
	a.Applets.PrincipalInfo.VerifyTaskID = e.faceCheck(ctx, g.mp)
	require.NoError(t, g.mp.ICP().Apply(ctx, a))
	reason := wxtest.ICPAuditReason{KeyName: "icp_subject.base_info.address", Error: "地址不详", Suggest: "写到门牌号"}
	require.NoError(t, e.s.ReviewICPFiling(ctx, g.app, false, reason))
	info, err := g.mp.ICP().EntranceInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.ICPPlatformRejected, info.Status)
	assert.True(t, info.CanApply())
	assert.Equal(t, []miniprogram.ICPAuditItem{{KeyName: reason.KeyName, Error: reason.Error, Suggest: reason.Suggest}}, info.AuditData)
	r, err := g.mp.Readiness(ctx)
	require.NoError(t, err)
	icp, _ := r.Gate(miniprogram.GateICPFiling)
	assert.Contains(t, icp.Detail, "地址不详")

	// The used task cannot serve the new application: WeChat names the field.
	a.Subject.BaseInfo.Address = "建国路1号院2号楼301室"
	var ae *miniprogram.ICPApplyError
	require.ErrorAs(t, g.mp.ICP().Apply(ctx, a), &ae)
	assert.Equal(t, "icp_applets.principal_info.verify_task_id", ae.Hints[0].ErrField)
	e.s.Advance(time.Hour) // the merchant fixes the address (identical pushes within one second are one push)
	a.Applets.PrincipalInfo.VerifyTaskID = e.faceCheck(ctx, g.mp)
	require.NoError(t, g.mp.ICP().Apply(ctx, a))
	require.NoError(t, e.s.ReviewICPFiling(ctx, g.app, true))
	require.NoError(t, e.s.RegulateICPFiling(ctx, g.app, false))
	info, err = g.mp.ICP().EntranceInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.ICPRegulatorRejected, info.Status)
	require.NotEmpty(t, info.AuditData)
	assert.Contains(t, info.Status.Next(), "new face check")

	e.s.Advance(time.Hour)
	a.Applets.PrincipalInfo.VerifyTaskID = e.faceCheck(ctx, g.mp)
	require.NoError(t, g.mp.ICP().Apply(ctx, a))
	require.NoError(t, e.s.ReviewICPFiling(ctx, g.app, true))
	require.NoError(t, e.s.RegulateICPFiling(ctx, g.app, true))
	assert.Equal(t, miniprogram.ICPFiled, e.icpStatus(ctx, g.mp))
	assert.Equal(t, []string{"icp face " + g.app + " result=3", "icp " + g.app + " status=2", "icp " + g.app + " status=3",
		"icp face " + g.app + " result=3", "icp " + g.app + " status=2", "icp " + g.app + " status=4", "icp " + g.app + " status=5",
		"icp face " + g.app + " result=3", "icp " + g.app + " status=2", "icp " + g.app + " status=4", "icp " + g.app + " status=6"}, icpOf(e, g.app))
	assert.Error(t, e.s.RegulateICPFiling(ctx, g.app, true), "nothing under review")
}

// later moves the emulator clock by d, as days pass: WeChat keeps pushing verify tickets.
func (e *platform) later(ctx context.Context, d time.Duration) {
	e.t.Helper()
	e.s.Advance(d)
	_, err := e.s.PushVerifyTicket(ctx)
	require.NoError(e.t, err)
}

// The administrator does not answer within 24 hours, or fails, or the passed task is older than
// 3 days at apply: each time WeChat refuses and a new task is needed.
func TestEmulatorICPFaceCheckExpired(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	e.s.SetPlatformDomains([]string{"api.dinehub.example"}, nil)
	tpl := e.privacyTemplate(ctx)
	g := e.onboard(ctx, 420, tpl, "")
	icp := g.mp.ICP()
	a := icpApplication(ctx, t, g.mp)

	task, err := icp.CreateVerifyTask(ctx, false)
	require.NoError(t, err)
	e.later(ctx, 24*time.Hour+time.Minute)
	st, err := icp.QueryVerifyTask(ctx, task.TaskID)
	require.NoError(t, err)
	assert.True(t, st.Failed())
	assert.Error(t, e.s.CompleteICPFaceCheck(ctx, task.TaskID, true), "the notice expired")
	a.Applets.PrincipalInfo.VerifyTaskID = task.TaskID
	var ae *miniprogram.ICPApplyError
	require.ErrorAs(t, icp.Apply(ctx, a), &ae)
	assert.Equal(t, "icp_applets.principal_info.verify_task_id", ae.Hints[0].ErrField)

	failed, err := icp.CreateVerifyTask(ctx, false)
	require.NoError(t, err)
	require.NoError(t, e.s.CompleteICPFaceCheck(ctx, failed.TaskID, false))
	var fe *miniprogram.ICPFaceCheckError
	require.ErrorAs(t, icp.CheckVerifyTask(ctx, failed.TaskID), &fe)
	assert.True(t, fe.Status.Failed())

	old := e.faceCheck(ctx, g.mp)
	e.later(ctx, 72*time.Hour+time.Minute)
	a.Applets.PrincipalInfo.VerifyTaskID = old
	require.ErrorAs(t, icp.Apply(ctx, a), &ae)
	assert.Equal(t, "icp_applets.principal_info.verify_task_id", ae.Hints[0].ErrField)
	assert.Equal(t, miniprogram.ICPNotFiled, e.icpStatus(ctx, g.mp))
	assert.Equal(t, []string{"icp face " + g.app + " result=2", "icp face " + g.app + " result=3"}, icpOf(e, g.app))

	// A certificate photo uploaded for another certificate type is refused at apply (86328 hint).
	a = icpApplication(ctx, t, g.mp)
	m, err := icp.UploadMedia(ctx, miniprogram.ICPMediaUpload{Kind: miniprogram.ICPMediaImage,
		OrderField: "icp_subject.organize_info.certificate_photo", CertificateType: 2, FileName: "licence.png", Data: pngImage(t)})
	require.NoError(t, err)
	a.Subject.OrganizeInfo.CertificatePhoto = m.MediaID
	a.Applets.PrincipalInfo.VerifyTaskID = e.faceCheck(ctx, g.mp)
	require.ErrorAs(t, icp.Apply(ctx, a), &ae)
	assert.Equal(t, wxerr.CodeICPImageUnreadable, ae.Hints[0].ErrCode)
	assert.Equal(t, "icp_subject.organize_info.certificate_photo", ae.Hints[0].ErrField)
	data, ctype, err := icp.Media(ctx, m.MediaID)
	require.NoError(t, err)
	assert.Equal(t, pngImage(t), data)
	assert.Equal(t, "image/png", ctype)
}

// Withdrawn during the platform review; not withdrawable under the regulator; cancelled once filed.
func TestEmulatorICPWithdrawnAndCancelled(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	e.s.SetPlatformDomains([]string{"api.dinehub.example"}, nil)
	tpl := e.privacyTemplate(ctx)
	g := e.onboard(ctx, 430, tpl, "")
	icp := g.mp.ICP()
	assert.Equal(t, wxerr.CodeICPNoWithdrawableOrder, wxerr.CodeOf(icp.WithdrawApplication(ctx)))
	assert.Equal(t, wxerr.CodeICPNotFiled, wxerr.CodeOf(icp.CancelFiling(ctx, miniprogram.ICPCancelMiniProgram, 0)))

	a := icpApplication(ctx, t, g.mp)
	a.Applets.PrincipalInfo.VerifyTaskID = e.faceCheck(ctx, g.mp)
	require.NoError(t, icp.Apply(ctx, a))
	require.NoError(t, icp.WithdrawApplication(ctx))
	assert.Equal(t, miniprogram.ICPNotFiled, e.icpStatus(ctx, g.mp))
	assert.Error(t, e.s.ReviewICPFiling(ctx, g.app, true), "nothing to review")
	e.s.Advance(time.Hour)

	a.Applets.PrincipalInfo.VerifyTaskID = e.faceCheck(ctx, g.mp)
	require.NoError(t, icp.Apply(ctx, a))
	require.NoError(t, e.s.ReviewICPFiling(ctx, g.app, true))
	assert.Equal(t, wxerr.CodeICPNotWithdrawable, wxerr.CodeOf(icp.WithdrawApplication(ctx)))
	require.NoError(t, e.s.RegulateICPFiling(ctx, g.app, true))
	assert.Equal(t, wxerr.CodeICPNoWithdrawableOrder, wxerr.CodeOf(icp.WithdrawApplication(ctx)))

	require.NoError(t, icp.CancelFiling(ctx, miniprogram.ICPCancelMiniProgram, miniprogram.ICPCancelNoLongerOperated))
	info, err := icp.EntranceInfo(ctx)
	require.NoError(t, err)
	assert.True(t, info.IsCanceling)
	assert.Equal(t, wxerr.CodeICPUnderReview, wxerr.CodeOf(icp.CancelFiling(ctx, miniprogram.ICPCancelMiniProgram, 0)))
	assert.Equal(t, []string{"icp face " + g.app + " result=3", "icp " + g.app + " status=2", "icp " + g.app + " status=1024",
		"icp face " + g.app + " result=3", "icp " + g.app + " status=2", "icp " + g.app + " status=4", "icp " + g.app + " status=6"}, icpOf(e, g.app))

	// Lookups through the emulator, cached for the platform: one request per table.
	l1, err := g.mp.ICP().Districts(ctx)
	require.NoError(t, err)
	l2, err := e.mini(g.app).ICP().Districts(ctx)
	require.NoError(t, err)
	assert.Equal(t, l1, l2)
	assert.Equal(t, 1, e.s.Calls("/wxa/icp/query_icp_district_code"))
	assert.Equal(t, miniprogram.ICPAreaCode("110105"), l1[0].SubList[0].SubList[0].Code)
}
