package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/wxopen-go/wxopen/miniprogram"
)

// ICP filing of the brand-new merchant's mini program (API digest part 2, section 13): WeChat
// refuses to release a mini program that is not filed. It starts as soon as the name and category
// exist and runs while the code is committed and audited. The administrator's face check, WeChat's
// review and the regulator's are played by the emulator; in production they take days to weeks.

// icpMaterials reads the regulator's tables (cached for the platform) and uploads the documents.
func (o *onboarding) icpMaterials(ctx context.Context) (string, error) {
	icp := o.mp.ICP()
	info, err := icp.EntranceInfo(ctx)
	if err != nil {
		return "", err
	}
	if !info.CanApply() {
		return "", fmt.Errorf("filing not possible yet: %s (%s)", info.Status, info.Status.Next())
	}
	subjects, err := icp.SubjectTypes(ctx)
	if err != nil {
		return "", err
	}
	company := slices.IndexFunc(subjects, func(s miniprogram.ICPSubjectType) bool { return s.Name == "企业" })
	certs, err := icp.CertificateTypes(ctx)
	if err != nil {
		return "", err
	}
	certOf := func(subject int) int {
		i := slices.IndexFunc(certs, func(c miniprogram.ICPCertificateType) bool { return c.SubjectType == subject })
		if i < 0 {
			return 0
		}
		return certs[i].Type
	}
	contents, err := icp.ServiceContentTypes(ctx)
	if err != nil {
		return "", err
	}
	food := slices.IndexFunc(contents, func(c miniprogram.ICPServiceContentType) bool { return c.Name == "餐饮" && c.ParentType != 0 })
	if company < 0 || food < 0 {
		return "", fmt.Errorf("the look-up tables lack 企业 or 餐饮")
	}
	subject, idCard := subjects[company].Type, certOf(miniprogram.ICPSubjectPersonal)
	photo, err := avatar() // photos of the documents, in a real platform uploaded by the merchant
	if err != nil {
		return "", err
	}
	uploads := 0
	up := func(field string, cert int) (string, error) {
		uploads++
		m, err := icp.UploadMedia(ctx, miniprogram.ICPMediaUpload{Kind: miniprogram.ICPMediaImage, OrderField: field,
			CertificateType: cert, FileName: "document.png", Data: photo})
		if err != nil {
			return "", err
		}
		return m.MediaID, nil
	}
	principal := miniprogram.ICPPrincipal{Name: legalPerson, Mobile: "13800000000", Email: "boss@lamian.example",
		EmergencyContact: "13900000000", CertificateType: idCard, CertificateNumber: "440305199001011234",
		CertificateValidityDateStart: "20200101", CertificateValidityDateEnd: "20400101"}
	if principal.CertificatePhotoFront, err = up("icp_subject.principal_info.certificate_photo_front", idCard); err != nil {
		return "", err
	}
	if principal.CertificatePhotoBack, err = up("icp_subject.principal_info.certificate_photo_back", idCard); err != nil {
		return "", err
	}
	licence, err := up("icp_subject.organize_info.certificate_photo", certOf(subject))
	if err != nil {
		return "", err
	}
	o.icp = &miniprogram.ICPApplication{
		Subject: miniprogram.ICPSubject{
			BaseInfo: miniprogram.ICPSubjectBase{Type: subject, Name: newMerchantName, Province: "440000", City: "440300",
				District: "440305", Address: "科技园路1号"},
			OrganizeInfo: miniprogram.ICPOrganizeInfo{CertificateType: certOf(subject), CertificateNumber: newMerchantCode,
				CertificateAddress: "深圳市南山区科技园路1号", CertificatePhoto: licence},
			PrincipalInfo: principal, // the legal person is the principal: no authorisation letter
		},
		Applets: miniprogram.ICPApplets{
			BaseInfo: miniprogram.ICPAppletsBase{ServiceContentTypes: []int{contents[food].Type},
				NrlxDetails: []miniprogram.ICPNrlxDetail{{Type: miniprogram.ICPNrlxNone}},
				Comment:     "拉面小馆的线上点餐小程序：顾客浏览菜单、下单并到店取餐，商家接单出餐。"},
			PrincipalInfo: principal,
		},
	}
	return fmt.Sprintf("Status %s; subject 企业, service 餐饮; %d documents uploaded.", info.Status, uploads), nil
}

// icpFaceCheck starts the administrator's face check, last (its task is valid 3 days).
func (o *onboarding) icpFaceCheck(ctx context.Context) (string, error) {
	task, err := o.mp.ICP().CreateVerifyTask(ctx, false)
	if err != nil {
		return "", err
	}
	// The administrator verifies their face in WeChat (the emulator plays them).
	if err := o.w.emu.CompleteICPFaceCheck(ctx, task.TaskID, true); err != nil {
		return "", err
	}
	ev, err := await(ctx, o.w.in.icpFaces, "notify_icpfiling_verify_result")
	if err != nil {
		return "", err
	}
	if !ev.Succeeded() {
		return "", fmt.Errorf("face check result %d", ev.Result)
	}
	o.icp.Applets.PrincipalInfo.VerifyTaskID = task.TaskID
	return "notify_icpfiling_verify_result: the administrator passed.", nil
}

// icpApply sends the application, validated before sending.
func (o *onboarding) icpApply(ctx context.Context) (string, error) {
	if err := o.mp.ICP().Apply(ctx, o.icp); err != nil {
		return "", err
	}
	ev, err := await(ctx, o.w.in.icpFilings, "notify_apply_icpfiling_result")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("beian_status %d: %s.", ev.BeianStatus, miniprogram.ICPStatus(ev.BeianStatus)), nil
}

// icpFiled waits for WeChat's review and the regulator's: status 6.
func (o *onboarding) icpFiled(ctx context.Context) (string, error) {
	if err := o.w.emu.ReviewICPFiling(ctx, o.appID, true); err != nil {
		return "", err
	}
	if _, err := await(ctx, o.w.in.icpFilings, "notify_apply_icpfiling_result"); err != nil {
		return "", err
	}
	if err := o.w.emu.RegulateICPFiling(ctx, o.appID, true); err != nil {
		return "", err
	}
	ev, err := await(ctx, o.w.in.icpFilings, "notify_apply_icpfiling_result")
	if err != nil {
		return "", err
	}
	if !ev.Filed() {
		return "", fmt.Errorf("filing status %s", miniprogram.ICPStatus(ev.BeianStatus))
	}
	order, err := o.mp.ICP().OnlineOrder(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Filed: record number %s.", order.Applets.BaseInfo.RecordNumber), nil
}
