package miniprogram_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
)

func icpPrincipal(task string) miniprogram.ICPPrincipal {
	return miniprogram.ICPPrincipal{Name: "张三", Mobile: "13800000000", Email: "zs@example.com", EmergencyContact: "13900000000",
		CertificateType: 2, CertificateNumber: "110105199001011234", CertificateValidityDateStart: "20200101",
		CertificateValidityDateEnd: "20400101", CertificatePhotoFront: "MF", CertificatePhotoBack: "MB", VerifyTaskID: task}
}

// validICPApplication is a company filing whose principal is not its legal person.
func validICPApplication() *miniprogram.ICPApplication {
	sp := icpPrincipal("")
	sp.AuthorizationLetter = "ML"
	return &miniprogram.ICPApplication{
		Subject: miniprogram.ICPSubject{
			BaseInfo: miniprogram.ICPSubjectBase{Type: 1, Name: "北京面馆有限公司", Province: "110000", City: "110100", District: "110105",
				Address: "建国路1号"},
			OrganizeInfo: miniprogram.ICPOrganizeInfo{CertificateType: 1, CertificateNumber: "91110105MA00000000",
				CertificateAddress: "北京市朝阳区建国路1号", CertificatePhoto: "MO"},
			PrincipalInfo: sp,
			LegalPerson:   &miniprogram.ICPLegalPersonInfo{Name: "李四", CertificateNumber: "110105198001011234"},
		},
		Applets: miniprogram.ICPApplets{
			BaseInfo: miniprogram.ICPAppletsBase{ServiceContentTypes: []int{11, 12},
				NrlxDetails: []miniprogram.ICPNrlxDetail{{Type: miniprogram.ICPNrlxNone}},
				Comment:     "北京面馆的点餐小程序，提供堂食扫码点餐、外卖下单和会员积分服务。"},
			PrincipalInfo: icpPrincipal("TASK"),
		},
		Materials: miniprogram.ICPMaterials{CommitmentLetter: []string{"MC"}},
	}
}

const validICPApplicationJSON = `{
 "icp_subject":{
  "base_info":{"type":1,"name":"北京面馆有限公司","province":"110000","city":"110100","district":"110105","address":"建国路1号"},
  "organize_info":{"certificate_type":1,"certificate_number":"91110105MA00000000","certificate_address":"北京市朝阳区建国路1号","certificate_photo":"MO"},
  "principal_info":{"name":"张三","mobile":"13800000000","email":"zs@example.com","emergency_contact":"13900000000","certificate_type":2,
   "certificate_number":"110105199001011234","certificate_validity_date_start":"20200101","certificate_validity_date_end":"20400101",
   "certificate_photo_front":"MF","certificate_photo_back":"MB","authorization_letter":"ML"},
  "legal_person_info":{"name":"李四","certificate_number":"110105198001011234"}},
 "icp_applets":{
  "base_info":{"appid":"wxAPP","service_content_types":[11,12],"nrlx_details":[{"type":23}],"comment":"北京面馆的点餐小程序，提供堂食扫码点餐、外卖下单和会员积分服务。"},
  "principal_info":{"name":"张三","mobile":"13800000000","email":"zs@example.com","emergency_contact":"13900000000","certificate_type":2,
   "certificate_number":"110105199001011234","certificate_validity_date_start":"20200101","certificate_validity_date_end":"20400101",
   "certificate_photo_front":"MF","certificate_photo_back":"MB","verify_task_id":"TASK"}},
 "icp_materials":{"commitment_letter":["MC"]}}`

func TestICPApplicationValidate(t *testing.T) {
	require.NoError(t, validICPApplication().Validate())
	// A personal filer: no legal person, an unlimited certificate, no materials ({} is sent).
	personal := validICPApplication()
	personal.Subject.BaseInfo.Type = miniprogram.ICPSubjectPersonal
	personal.Subject.LegalPerson = nil
	personal.Subject.PrincipalInfo.AuthorizationLetter = ""
	personal.Subject.PrincipalInfo.CertificateValidityDateEnd = miniprogram.ICPLongTerm
	personal.Materials = miniprogram.ICPMaterials{}
	require.NoError(t, personal.Validate())

	many := func(n int) []string { return strings.Split(strings.Repeat("M,", n-1)+"M", ",") }
	for _, tc := range []struct {
		name  string
		edit  func(a *miniprogram.ICPApplication)
		field string
	}{
		// subject base info
		{"subject type missing", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.Type = 0 }, "icp_subject.base_info.type"},
		{"subject type negative", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.Type = -1 }, "icp_subject.base_info.type"},
		{"subject name missing", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.Name = "" }, "icp_subject.base_info.name"},
		{"province missing", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.Province = "" }, "icp_subject.base_info.province"},
		{"province not a province", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.Province = "110100" }, "icp_subject.base_info.province"},
		{"province letters", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.Province = "11000A" }, "icp_subject.base_info.province"},
		{"city missing", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.City = "" }, "icp_subject.base_info.city"},
		{"city of another province", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.City = "120100" }, "icp_subject.base_info.city"},
		{"city is the province", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.City = "110000" }, "icp_subject.base_info.city"},
		{"district missing", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.District = "" }, "icp_subject.base_info.district"},
		{"district 5 digits", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.District = "11010" }, "icp_subject.base_info.district"},
		{"district of another province", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.District = "120105" }, "icp_subject.base_info.district"},
		{"address missing", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.Address = " " }, "icp_subject.base_info.address"},
		{"subject record number set", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.RecordNumber = "x" }, "icp_subject.base_info.record_number"},
		// organize info
		{"organize certificate type missing", func(a *miniprogram.ICPApplication) { a.Subject.OrganizeInfo.CertificateType = 0 }, "icp_subject.organize_info.certificate_type"},
		{"organize certificate number missing", func(a *miniprogram.ICPApplication) { a.Subject.OrganizeInfo.CertificateNumber = "" }, "icp_subject.organize_info.certificate_number"},
		{"organize certificate address missing", func(a *miniprogram.ICPApplication) { a.Subject.OrganizeInfo.CertificateAddress = "" }, "icp_subject.organize_info.certificate_address"},
		{"organize certificate photo missing", func(a *miniprogram.ICPApplication) { a.Subject.OrganizeInfo.CertificatePhoto = "" }, "icp_subject.organize_info.certificate_photo"},
		// subject principal
		{"principal name missing", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.Name = "" }, "icp_subject.principal_info.name"},
		{"principal mobile missing", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.Mobile = "" }, "icp_subject.principal_info.mobile"},
		{"principal mobile short", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.Mobile = "1380000000" }, "icp_subject.principal_info.mobile"},
		{"principal mobile not mobile", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.Mobile = "01012345678" }, "icp_subject.principal_info.mobile"},
		{"principal email missing", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.Email = "" }, "icp_subject.principal_info.email"},
		{"principal email bad", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.Email = "zs@example" }, "icp_subject.principal_info.email"},
		{"emergency contact missing", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.EmergencyContact = "" }, "icp_subject.principal_info.emergency_contact"},
		{"emergency contact is the mobile", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.EmergencyContact = "13800000000" }, "icp_subject.principal_info.emergency_contact"},
		{"principal certificate type missing", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.CertificateType = 0 }, "icp_subject.principal_info.certificate_type"},
		{"principal certificate number missing", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.CertificateNumber = "" }, "icp_subject.principal_info.certificate_number"},
		{"principal photo front missing", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.CertificatePhotoFront = "" }, "icp_subject.principal_info.certificate_photo_front"},
		{"principal photo back missing", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.CertificatePhotoBack = "" }, "icp_subject.principal_info.certificate_photo_back"},
		{"validity start missing", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.CertificateValidityDateStart = "" }, "icp_subject.principal_info.certificate_validity_date_start"},
		{"validity start with dashes", func(a *miniprogram.ICPApplication) {
			a.Subject.PrincipalInfo.CertificateValidityDateStart = "2020-01-01"
		}, "icp_subject.principal_info.certificate_validity_date_start"},
		{"validity start no such day", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.CertificateValidityDateStart = "20200231" }, "icp_subject.principal_info.certificate_validity_date_start"},
		{"validity end missing", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.CertificateValidityDateEnd = "" }, "icp_subject.principal_info.certificate_validity_date_end"},
		{"validity end other word", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.CertificateValidityDateEnd = "永久" }, "icp_subject.principal_info.certificate_validity_date_end"},
		{"validity end before start", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.CertificateValidityDateEnd = "20191231" }, "icp_subject.principal_info.certificate_validity_date_end"},
		// legal person
		{"legal person of a personal subject", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.Type = miniprogram.ICPSubjectPersonal }, "icp_subject.legal_person_info"},
		{"legal person name missing", func(a *miniprogram.ICPApplication) { a.Subject.LegalPerson.Name = "" }, "icp_subject.legal_person_info.name"},
		{"legal person number missing", func(a *miniprogram.ICPApplication) { a.Subject.LegalPerson.CertificateNumber = "" }, "icp_subject.legal_person_info.certificate_number"},
		{"authorisation letter missing", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.AuthorizationLetter = "" }, "icp_subject.principal_info.authorization_letter"},
		// applets base info
		{"service content types missing", func(a *miniprogram.ICPApplication) { a.Applets.BaseInfo.ServiceContentTypes = nil }, "icp_applets.base_info.service_content_types"},
		{"six service content types", func(a *miniprogram.ICPApplication) { a.Applets.BaseInfo.ServiceContentTypes = []int{1, 2, 3, 4, 5, 6} }, "icp_applets.base_info.service_content_types"},
		{"service content type zero", func(a *miniprogram.ICPApplication) { a.Applets.BaseInfo.ServiceContentTypes = []int{11, 0} }, "icp_applets.base_info.service_content_types"},
		{"service content type twice", func(a *miniprogram.ICPApplication) { a.Applets.BaseInfo.ServiceContentTypes = []int{11, 11} }, "icp_applets.base_info.service_content_types"},
		{"pre-approvals missing", func(a *miniprogram.ICPApplication) { a.Applets.BaseInfo.NrlxDetails = nil }, "icp_applets.base_info.nrlx_details"},
		{"pre-approval type zero", func(a *miniprogram.ICPApplication) {
			a.Applets.BaseInfo.NrlxDetails = []miniprogram.ICPNrlxDetail{{Type: 0}}
		}, "icp_applets.base_info.nrlx_details.type"},
		{"pre-approval twice", func(a *miniprogram.ICPApplication) {
			a.Applets.BaseInfo.NrlxDetails = []miniprogram.ICPNrlxDetail{{Type: 2, Code: "京-1号", Media: "M"}, {Type: 2, Code: "京-2号", Media: "M"}}
		}, "icp_applets.base_info.nrlx_details"},
		{"none with another", func(a *miniprogram.ICPApplication) {
			a.Applets.BaseInfo.NrlxDetails = []miniprogram.ICPNrlxDetail{{Type: 2, Code: "京-1号", Media: "M"}, {Type: miniprogram.ICPNrlxNone}}
		}, "icp_applets.base_info.nrlx_details"},
		{"approval number missing", func(a *miniprogram.ICPApplication) {
			a.Applets.BaseInfo.NrlxDetails = []miniprogram.ICPNrlxDetail{{Type: 2, Media: "M"}}
		}, "icp_applets.base_info.nrlx_details.code"},
		{"approval media missing", func(a *miniprogram.ICPApplication) {
			a.Applets.BaseInfo.NrlxDetails = []miniprogram.ICPNrlxDetail{{Type: 2, Code: "京-1号"}}
		}, "icp_applets.base_info.nrlx_details.media"},
		{"comment missing", func(a *miniprogram.ICPApplication) { a.Applets.BaseInfo.Comment = "" }, "icp_applets.base_info.comment"},
		{"comment 19 characters", func(a *miniprogram.ICPApplication) { a.Applets.BaseInfo.Comment = strings.Repeat("面", 19) }, "icp_applets.base_info.comment"},
		{"comment 201 characters", func(a *miniprogram.ICPApplication) { a.Applets.BaseInfo.Comment = strings.Repeat("面", 201) }, "icp_applets.base_info.comment"},
		{"applet record number set", func(a *miniprogram.ICPApplication) { a.Applets.BaseInfo.RecordNumber = "x" }, "icp_applets.base_info.record_number"},
		// applets principal
		{"applet principal face check missing", func(a *miniprogram.ICPApplication) { a.Applets.PrincipalInfo.VerifyTaskID = "" }, "icp_applets.principal_info.verify_task_id"},
		{"applet principal name missing", func(a *miniprogram.ICPApplication) { a.Applets.PrincipalInfo.Name = "" }, "icp_applets.principal_info.name"},
		{"applet principal mobile bad", func(a *miniprogram.ICPApplication) { a.Applets.PrincipalInfo.Mobile = "2380000000a" }, "icp_applets.principal_info.mobile"},
		{"applet principal certificate type missing", func(a *miniprogram.ICPApplication) { a.Applets.PrincipalInfo.CertificateType = 0 }, "icp_applets.principal_info.certificate_type"},
		// materials
		{"two commitment letters", func(a *miniprogram.ICPApplication) { a.Materials.CommitmentLetter = many(2) }, "icp_materials.commitment_letter"},
		{"two promise videos", func(a *miniprogram.ICPApplication) { a.Materials.PromiseVideo = many(2) }, "icp_materials.promise_video"},
		{"two name change letters", func(a *miniprogram.ICPApplication) { a.Materials.BusinessNameChangeLetter = many(2) }, "icp_materials.business_name_change_letter"},
		{"two party letters", func(a *miniprogram.ICPApplication) { a.Materials.PartyBuildingConfirmationLetter = many(2) }, "icp_materials.party_building_confirmation_letter"},
		{"two responsibility letters", func(a *miniprogram.ICPApplication) { a.Materials.AuthenticityResponsibilityLetter = many(2) }, "icp_materials.authenticity_responsibility_letter"},
		{"two authenticity letters", func(a *miniprogram.ICPApplication) { a.Materials.AuthenticityCommitmentLetter = many(2) }, "icp_materials.authenticity_commitment_letter"},
		{"two proposals", func(a *miniprogram.ICPApplication) { a.Materials.WebsiteConstructionProposal = many(2) }, "icp_materials.website_construction_proposal"},
		{"two holding photos", func(a *miniprogram.ICPApplication) { a.Materials.HoldingCertificatePhoto = many(2) }, "icp_materials.holding_certificate_photo"},
		{"eleven subject materials", func(a *miniprogram.ICPApplication) { a.Materials.SubjectOtherMaterials = many(11) }, "icp_materials.subject_other_materials"},
		{"eleven applet materials", func(a *miniprogram.ICPApplication) { a.Materials.AppletsOtherMaterials = many(11) }, "icp_materials.applets_other_materials"},
		{"empty material id", func(a *miniprogram.ICPApplication) { a.Materials.SubjectOtherMaterials = []string{""} }, "icp_materials.subject_other_materials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := validICPApplication()
			tc.edit(a)
			requireInvalid(t, a.Validate(), tc.field)
		})
	}
	// The limits themselves are accepted.
	a := validICPApplication()
	a.Applets.BaseInfo.ServiceContentTypes = []int{11, 12, 13, 14, 15}
	a.Applets.BaseInfo.Comment = strings.Repeat("面", 200)
	a.Materials.SubjectOtherMaterials = many(10)
	require.NoError(t, a.Validate())
	a.Applets.BaseInfo.Comment = strings.Repeat("面", 20)
	require.NoError(t, a.Validate())
}

// TestICPApplyChecksTables: the enums are checked against WeChat's tables before the application
// is sent (each out of range).
func TestICPApplyChecksTables(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(a *miniprogram.ICPApplication)
		field string
	}{
		{"unknown subject type", func(a *miniprogram.ICPApplication) { a.Subject.BaseInfo.Type = 9 }, "icp_subject.base_info.type"},
		{"certificate of another subject type", func(a *miniprogram.ICPApplication) { a.Subject.OrganizeInfo.CertificateType = 2 }, "icp_subject.organize_info.certificate_type"},
		{"subject principal not personal", func(a *miniprogram.ICPApplication) { a.Subject.PrincipalInfo.CertificateType = 1 }, "icp_subject.principal_info.certificate_type"},
		{"applet principal not personal", func(a *miniprogram.ICPApplication) { a.Applets.PrincipalInfo.CertificateType = 1 }, "icp_applets.principal_info.certificate_type"},
		{"unknown certificate type", func(a *miniprogram.ICPApplication) { a.Applets.PrincipalInfo.CertificateType = 77 }, "icp_applets.principal_info.certificate_type"},
		{"level-1 service content", func(a *miniprogram.ICPApplication) { a.Applets.BaseInfo.ServiceContentTypes = []int{1} }, "icp_applets.base_info.service_content_types"},
		{"unknown service content", func(a *miniprogram.ICPApplication) { a.Applets.BaseInfo.ServiceContentTypes = []int{99} }, "icp_applets.base_info.service_content_types"},
		{"unknown pre-approval", func(a *miniprogram.ICPApplication) {
			a.Applets.BaseInfo.NrlxDetails = []miniprogram.ICPNrlxDetail{{Type: 7, Code: "京-1号", Media: "M"}}
		}, "icp_applets.base_info.nrlx_details.type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			e.icpTables(t)
			a := validICPApplication()
			tc.edit(a)
			requireInvalid(t, e.c.ICP().Apply(ctx, a), tc.field)
			assert.Zero(t, e.calls("POST", "/wxa/icp/apply_icp_filing"))
		})
	}
}
