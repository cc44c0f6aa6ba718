package miniprogram

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxopen-go/wxopen/wxerr"
)

// The filing application (apply_icp_filing body, API digest part 2, section 13.4). Validate checks
// every rule the digest names before anything is sent; Apply also checks the enums against the
// look-up tables (cached).

// ICPSubjectPersonal is the subject type of an individual filer. UNVERIFIED: the digest gives no
// value; 5 ("个人") is the MIIT unit-type table's value as this SDK reads it. It decides whether the
// legal-person rules apply.
const ICPSubjectPersonal = 5

// ICPNrlxNone is the pre-approval type "以上都不涉及" (none of the above), which needs no approval
// number. UNVERIFIED: the digest gives no value (read NrlxTypes); this SDK's single choice.
const ICPNrlxNone = 23

// ICPLongTerm is the certificate end date of a certificate valid without limit.
const ICPLongTerm = "长期"

// Limits of the application (digest 13.4).
const (
	MaxICPServiceContentTypes = 5
	MinICPCommentRunes        = 20
	MaxICPCommentRunes        = 200
	MaxICPOtherMaterials      = 10
)

// ICPApplication is the whole filing application.
type ICPApplication struct {
	Subject   ICPSubject   `json:"icp_subject"`
	Applets   ICPApplets   `json:"icp_applets"`
	Materials ICPMaterials `json:"icp_materials"`
}

// ICPSubject is the filing subject (the organiser).
type ICPSubject struct {
	BaseInfo      ICPSubjectBase      `json:"base_info"`
	PersonalInfo  *ICPPersonalInfo    `json:"personal_info,omitempty"`
	OrganizeInfo  ICPOrganizeInfo     `json:"organize_info"`
	PrincipalInfo ICPPrincipal        `json:"principal_info"`
	LegalPerson   *ICPLegalPersonInfo `json:"legal_person_info,omitempty"`
}

// ICPSubjectBase is the subject's type, name and address.
type ICPSubjectBase struct {
	// Type is a subject type of SubjectTypes.
	Type int    `json:"type"`
	Name string `json:"name"`
	// Province, City and District are 6-digit codes of Districts ("110000", "110100", "110105").
	Province string `json:"province"`
	City     string `json:"city"`
	District string `json:"district"`
	// Address is the street part only, without the province, city and district.
	Address string `json:"address"`
	Comment string `json:"comment,omitempty"`
	// RecordNumber is filled by WeChat once filed (output only).
	RecordNumber string `json:"record_number,omitempty"`
}

// ICPPersonalInfo holds the residence permit of a personal filer not local to the province.
type ICPPersonalInfo struct {
	ResidencePermit string `json:"residence_permit,omitempty"`
}

// ICPOrganizeInfo is the subject's certificate (a personal filer repeats the principal's).
type ICPOrganizeInfo struct {
	CertificateType    int    `json:"certificate_type"`
	CertificateNumber  string `json:"certificate_number"`
	CertificateAddress string `json:"certificate_address"`
	CertificatePhoto   string `json:"certificate_photo"`
}

// ICPPrincipal is a person responsible (of the subject, or of the mini program). Media fields are
// ICPMedia ids.
type ICPPrincipal struct {
	Name             string `json:"name"`
	Mobile           string `json:"mobile"`
	Email            string `json:"email"`
	EmergencyContact string `json:"emergency_contact"`
	CertificateType  int    `json:"certificate_type"`
	// CertificateNumber is the certificate's number.
	CertificateNumber string `json:"certificate_number"`
	// CertificateValidityDateStart is "YYYYMMDD"; CertificateValidityDateEnd "YYYYMMDD" or ICPLongTerm.
	CertificateValidityDateStart string `json:"certificate_validity_date_start"`
	CertificateValidityDateEnd   string `json:"certificate_validity_date_end"`
	CertificatePhotoFront        string `json:"certificate_photo_front"`
	CertificatePhotoBack         string `json:"certificate_photo_back"`
	// AuthorizationLetter is required when the subject's principal is not its legal person.
	AuthorizationLetter string `json:"authorization_letter,omitempty"`
	// VerifyTaskID is the face check (ICPService.CreateVerifyTask); required for the mini program's
	// principal, not for the subject's.
	VerifyTaskID string `json:"verify_task_id,omitempty"`
}

// ICPLegalPersonInfo is the legal person, set when the subject is not personal and its principal
// is not the legal person (the principal then needs an AuthorizationLetter).
type ICPLegalPersonInfo struct {
	Name              string `json:"name"`
	CertificateNumber string `json:"certificate_number"`
}

// ICPApplets is the mini program being filed.
type ICPApplets struct {
	BaseInfo      ICPAppletsBase `json:"base_info"`
	PrincipalInfo ICPPrincipal   `json:"principal_info"`
}

// ICPAppletsBase describes the mini program.
type ICPAppletsBase struct {
	// AppID is the mini program's; Apply fills it when empty.
	AppID string `json:"appid"`
	// ServiceContentTypes are 1 to 5 level-2 service content types.
	ServiceContentTypes []int `json:"service_content_types"`
	// NrlxDetails are the pre-approvals; at least one ({Type: ICPNrlxNone} when none applies), no
	// type twice.
	NrlxDetails []ICPNrlxDetail `json:"nrlx_details"`
	// Comment describes the real business in 20 to 200 characters; the regulator reads it.
	Comment      string `json:"comment"`
	RecordNumber string `json:"record_number,omitempty"`
}

// ICPNrlxDetail is one pre-approval: Code (the approval number) and Media are required unless
// Type is ICPNrlxNone.
type ICPNrlxDetail struct {
	Type  int    `json:"type"`
	Code  string `json:"code,omitempty"`
	Media string `json:"media,omitempty"`
}

// ICPMaterials are the extra materials (media ids); which are needed depends on the province.
type ICPMaterials struct {
	CommitmentLetter                 []string `json:"commitment_letter,omitempty"`
	BusinessNameChangeLetter         []string `json:"business_name_change_letter,omitempty"`
	PartyBuildingConfirmationLetter  []string `json:"party_building_confirmation_letter,omitempty"`
	PromiseVideo                     []string `json:"promise_video,omitempty"`
	AuthenticityResponsibilityLetter []string `json:"authenticity_responsibility_letter,omitempty"`
	AuthenticityCommitmentLetter     []string `json:"authenticity_commitment_letter,omitempty"`
	WebsiteConstructionProposal      []string `json:"website_construction_proposal,omitempty"`
	SubjectOtherMaterials            []string `json:"subject_other_materials,omitempty"`
	AppletsOtherMaterials            []string `json:"applets_other_materials,omitempty"`
	HoldingCertificatePhoto          []string `json:"holding_certificate_photo,omitempty"`
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func icpDate(s string) (time.Time, bool) {
	if !isDigits(s, 8) {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102", s)
	return t, err == nil
}

func validMobile(s string) bool { return isDigits(s, 11) && s[0] == '1' }

func validEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Contains(s[at+1:], ".") && !strings.ContainsAny(s, " \t")
}

func (p *ICPPrincipal) validate(field string, applet bool) error {
	switch {
	case p.Name == "":
		return wxerr.Invalid(field+".name", "required")
	case !validMobile(p.Mobile):
		return wxerr.Invalid(field+".mobile", "an 11-digit mainland mobile number starting with 1")
	case !validEmail(p.Email):
		return wxerr.Invalid(field+".email", "an email address")
	case !validMobile(p.EmergencyContact):
		return wxerr.Invalid(field+".emergency_contact", "an 11-digit mainland mobile number starting with 1")
	case p.EmergencyContact == p.Mobile:
		return wxerr.Invalid(field+".emergency_contact", "another number than mobile")
	case p.CertificateType <= 0:
		return wxerr.Invalid(field+".certificate_type", "a certificate type of CertificateTypes")
	case p.CertificateNumber == "":
		return wxerr.Invalid(field+".certificate_number", "required")
	case p.CertificatePhotoFront == "":
		return wxerr.Invalid(field+".certificate_photo_front", "required (an uploaded media id)")
	case p.CertificatePhotoBack == "":
		return wxerr.Invalid(field+".certificate_photo_back", "required (an uploaded media id)")
	case applet && p.VerifyTaskID == "":
		return wxerr.Invalid(field+".verify_task_id", "required: the administrator's face check (CreateVerifyTask)")
	}
	start, ok := icpDate(p.CertificateValidityDateStart)
	if !ok {
		return wxerr.Invalid(field+".certificate_validity_date_start", `a date "YYYYMMDD"`)
	}
	if p.CertificateValidityDateEnd != ICPLongTerm {
		end, ok := icpDate(p.CertificateValidityDateEnd)
		if !ok {
			return wxerr.Invalid(field+".certificate_validity_date_end", `a date "YYYYMMDD" or "长期"`)
		}
		if !end.After(start) {
			return wxerr.Invalid(field+".certificate_validity_date_end", "after certificate_validity_date_start")
		}
	}
	return nil
}

func materialCount(field string, ids []string, most int) error {
	if len(ids) > most {
		return wxerr.Invalid("icp_materials."+field, "at most "+itoaICP(most)+" media ids")
	}
	for _, id := range ids {
		if id == "" {
			return wxerr.Invalid("icp_materials."+field, "empty media id")
		}
	}
	return nil
}

// Validate checks every rule of the digest that holds without the look-up tables: required
// fields, code and date formats, area codes nested, the legal person and authorisation letter of a
// non-personal subject whose principal is not its legal person, 1 to 5 distinct service content
// types, pre-approvals present and distinct with their numbers, the comment's length, and the
// number of each material. The error names the field by its JSON path.
func (a *ICPApplication) Validate() error {
	b := &a.Subject.BaseInfo
	switch {
	case b.Type <= 0:
		return wxerr.Invalid("icp_subject.base_info.type", "a subject type of SubjectTypes")
	case b.Name == "":
		return wxerr.Invalid("icp_subject.base_info.name", "required")
	case !isDigits(b.Province, 6) || !strings.HasSuffix(b.Province, "0000"):
		return wxerr.Invalid("icp_subject.base_info.province", `a 6-digit province code ending in 0000 ("110000")`)
	case !isDigits(b.City, 6) || b.City[:2] != b.Province[:2] || b.City == b.Province:
		return wxerr.Invalid("icp_subject.base_info.city", "a 6-digit city code of the province")
	case !isDigits(b.District, 6) || b.District[:2] != b.Province[:2] || b.District == b.City:
		return wxerr.Invalid("icp_subject.base_info.district", "a 6-digit district code of the city")
	case strings.TrimSpace(b.Address) == "":
		return wxerr.Invalid("icp_subject.base_info.address", "required (street part only)")
	case b.RecordNumber != "":
		return wxerr.Invalid("icp_subject.base_info.record_number", "output only; leave empty")
	}
	o := &a.Subject.OrganizeInfo
	switch {
	case o.CertificateType <= 0:
		return wxerr.Invalid("icp_subject.organize_info.certificate_type", "a certificate type of CertificateTypes")
	case o.CertificateNumber == "":
		return wxerr.Invalid("icp_subject.organize_info.certificate_number", "required")
	case o.CertificateAddress == "":
		return wxerr.Invalid("icp_subject.organize_info.certificate_address", "required")
	case o.CertificatePhoto == "":
		return wxerr.Invalid("icp_subject.organize_info.certificate_photo", "required (an uploaded media id)")
	}
	if err := a.Subject.PrincipalInfo.validate("icp_subject.principal_info", false); err != nil {
		return err
	}
	if lp := a.Subject.LegalPerson; lp != nil {
		switch {
		case b.Type == ICPSubjectPersonal:
			return wxerr.Invalid("icp_subject.legal_person_info", "a personal subject has no legal person")
		case lp.Name == "":
			return wxerr.Invalid("icp_subject.legal_person_info.name", "required when the principal is not the legal person")
		case lp.CertificateNumber == "":
			return wxerr.Invalid("icp_subject.legal_person_info.certificate_number", "required when the principal is not the legal person")
		case a.Subject.PrincipalInfo.AuthorizationLetter == "":
			return wxerr.Invalid("icp_subject.principal_info.authorization_letter", "required when the principal is not the legal person")
		}
	}
	ab := &a.Applets.BaseInfo
	switch n := len(ab.ServiceContentTypes); {
	case n == 0:
		return wxerr.Invalid("icp_applets.base_info.service_content_types", "at least one level-2 service content type")
	case n > MaxICPServiceContentTypes:
		return wxerr.Invalid("icp_applets.base_info.service_content_types", "at most 5")
	}
	for i, t := range ab.ServiceContentTypes {
		if t <= 0 {
			return wxerr.Invalid("icp_applets.base_info.service_content_types", "a level-2 service content type of ServiceContentTypes")
		}
		if slices.Contains(ab.ServiceContentTypes[:i], t) {
			return wxerr.Invalid("icp_applets.base_info.service_content_types", "type "+itoaICP(t)+" appears twice")
		}
	}
	if len(ab.NrlxDetails) == 0 {
		return wxerr.Invalid("icp_applets.base_info.nrlx_details", `at least one; {Type: ICPNrlxNone} ("以上都不涉及") when none applies`)
	}
	for i, d := range ab.NrlxDetails {
		f := "icp_applets.base_info.nrlx_details"
		switch {
		case d.Type <= 0:
			return wxerr.Invalid(f+".type", "a pre-approval type of NrlxTypes")
		case slices.ContainsFunc(ab.NrlxDetails[:i], func(x ICPNrlxDetail) bool { return x.Type == d.Type }):
			return wxerr.Invalid(f, "type "+itoaICP(d.Type)+" appears twice")
		case d.Type == ICPNrlxNone && len(ab.NrlxDetails) > 1:
			return wxerr.Invalid(f, `"none of the above" cannot be combined with other pre-approvals`)
		case d.Type != ICPNrlxNone && d.Code == "":
			return wxerr.Invalid(f+".code", "the approval number is required for type "+itoaICP(d.Type))
		case d.Type != ICPNrlxNone && d.Media == "":
			return wxerr.Invalid(f+".media", "the approval document is required for type "+itoaICP(d.Type))
		}
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(ab.Comment)); n < MinICPCommentRunes || n > MaxICPCommentRunes {
		return wxerr.Invalid("icp_applets.base_info.comment", "20 to 200 characters describing the real business; got "+itoaICP(n))
	}
	if ab.RecordNumber != "" {
		return wxerr.Invalid("icp_applets.base_info.record_number", "output only; leave empty")
	}
	if err := a.Applets.PrincipalInfo.validate("icp_applets.principal_info", true); err != nil {
		return err
	}
	m := &a.Materials
	for _, c := range []struct {
		f    string
		ids  []string
		most int
	}{
		{"commitment_letter", m.CommitmentLetter, 1}, {"business_name_change_letter", m.BusinessNameChangeLetter, 1},
		{"party_building_confirmation_letter", m.PartyBuildingConfirmationLetter, 1}, {"promise_video", m.PromiseVideo, 1},
		{"authenticity_responsibility_letter", m.AuthenticityResponsibilityLetter, 1},
		{"authenticity_commitment_letter", m.AuthenticityCommitmentLetter, 1},
		{"website_construction_proposal", m.WebsiteConstructionProposal, 1},
		{"subject_other_materials", m.SubjectOtherMaterials, MaxICPOtherMaterials},
		{"applets_other_materials", m.AppletsOtherMaterials, MaxICPOtherMaterials},
		{"holding_certificate_photo", m.HoldingCertificatePhoto, 1},
	} {
		if err := materialCount(c.f, c.ids, c.most); err != nil {
			return err
		}
	}
	return nil
}

// validateTables checks the enums of a against WeChat's look-up tables: the subject type, the
// certificate types (the subject's of its subject type, the mini program principal's a personal
// one), level-2 service content types and known pre-approval types.
func (s ICPService) validateTables(ctx context.Context, a *ICPApplication) error {
	subjects, err := s.SubjectTypes(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(subjects, func(t ICPSubjectType) bool { return t.Type == a.Subject.BaseInfo.Type }) {
		return wxerr.Invalid("icp_subject.base_info.type", "not a subject type of query_icp_subject_types")
	}
	certs, err := s.CertificateTypes(ctx)
	if err != nil {
		return err
	}
	certOf := func(typ, subject int) bool {
		return slices.ContainsFunc(certs, func(c ICPCertificateType) bool { return c.Type == typ && c.SubjectType == subject })
	}
	if !certOf(a.Subject.OrganizeInfo.CertificateType, a.Subject.BaseInfo.Type) {
		return wxerr.Invalid("icp_subject.organize_info.certificate_type", "not a certificate type of the subject type")
	}
	if !certOf(a.Subject.PrincipalInfo.CertificateType, ICPSubjectPersonal) {
		return wxerr.Invalid("icp_subject.principal_info.certificate_type", "a personal certificate type")
	}
	if !certOf(a.Applets.PrincipalInfo.CertificateType, ICPSubjectPersonal) {
		return wxerr.Invalid("icp_applets.principal_info.certificate_type", "only personal certificate types are allowed here")
	}
	contents, err := s.ServiceContentTypes(ctx)
	if err != nil {
		return err
	}
	for _, t := range a.Applets.BaseInfo.ServiceContentTypes {
		if !slices.ContainsFunc(contents, func(c ICPServiceContentType) bool { return c.Type == t && c.ParentType != 0 }) {
			return wxerr.Invalid("icp_applets.base_info.service_content_types", "type "+itoaICP(t)+" is not a level-2 service content type")
		}
	}
	nrlx, err := s.NrlxTypes(ctx)
	if err != nil {
		return err
	}
	for _, d := range a.Applets.BaseInfo.NrlxDetails {
		if !slices.ContainsFunc(nrlx, func(n ICPNrlxType) bool { return n.Type == d.Type }) {
			return wxerr.Invalid("icp_applets.base_info.nrlx_details.type", "type "+itoaICP(d.Type)+" is not a pre-approval type of query_icp_nrlx_types")
		}
	}
	return nil
}

// ICPHint is one field error of a refused application (86202).
type ICPHint struct {
	ErrCode wxerr.Code `json:"errcode"`
	ErrMsg  string     `json:"errmsg"`
	// ErrField is the dotted path of the field ("icp_subject.organize_info.certificate_photo").
	ErrField string `json:"err_field"`
}

// ICPApplyError is a refused application with the fields to fix. It unwraps to the
// *wxerr.APIError (86202, wxerr.ErrICPApplyFailed).
type ICPApplyError struct {
	*wxerr.APIError
	Hints []ICPHint
}

// Error lists the fields to fix after WeChat's error.
func (e *ICPApplyError) Error() string {
	var b strings.Builder
	b.WriteString(e.APIError.Error())
	for _, h := range e.Hints {
		b.WriteString("; ")
		b.WriteString(h.ErrField)
		b.WriteString(": ")
		b.WriteString(itoaICP(int(h.ErrCode)))
		b.WriteString(" ")
		b.WriteString(h.ErrMsg)
	}
	return b.String()
}

// Unwrap returns the APIError.
func (e *ICPApplyError) Unwrap() error { return e.APIError }

// applyError turns a refusal that carries hints into an *ICPApplyError.
func applyError(err error, body []byte) error {
	var ae *wxerr.APIError
	if !errors.As(err, &ae) || len(body) == 0 {
		return err
	}
	var h struct {
		Hints []ICPHint `json:"hints"`
	}
	if json.Unmarshal(body, &h) != nil || len(h.Hints) == 0 {
		return err
	}
	return &ICPApplyError{APIError: ae, Hints: h.Hints}
}

// Apply sends the filing application after Validate and the checks against the look-up tables
// (cached). The face check of Applets.PrincipalInfo.VerifyTaskID must have passed. A refusal with
// field errors is an *ICPApplyError (86202 with hints): fix the fields and apply again. It is sent
// once; the result is pushed as notify_apply_icpfiling_result (component.ICPFilingResultEvent).
//
// WeChat: POST /wxa/icp/apply_icp_filing
func (s ICPService) Apply(ctx context.Context, a *ICPApplication) error {
	if a == nil {
		return wxerr.Invalid("application", "required")
	}
	if err := s.c.ready(); err != nil {
		return err
	}
	app := *a
	if app.Applets.BaseInfo.AppID == "" {
		app.Applets.BaseInfo.AppID = s.c.AppID()
	} else if app.Applets.BaseInfo.AppID != s.c.AppID() {
		return wxerr.Invalid("icp_applets.base_info.appid", "the mini program's own appid (or empty)")
	}
	if err := app.Validate(); err != nil {
		return err
	}
	if err := s.validateTables(ctx, &app); err != nil {
		return err
	}
	req := post(pathICPApply, &app, false)
	var body []byte
	req.ErrorBody = &body
	if err := s.c.call(ctx, req, nil); err != nil {
		return applyError(err, body)
	}
	return nil
}
