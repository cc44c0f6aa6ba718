package miniprogram

import "strconv"

// ICPStatus is the filing state of a mini program (get_icp_entrance_info info.status, and the
// beian_status of the notify_apply_icpfiling_result push; API digest part 2, section 13.6).
type ICPStatus int

// Filing states. The 1025-1031 values come from one source ([SN]'s enum, the official page is cut
// off after 1025): UNVERIFIED, kept here only.
const (
	ICPNotFiled                      ICPStatus = 1024
	ICPNotFiledNoBasicInfo           ICPStatus = 1025
	ICPNotFiledNoCategory            ICPStatus = 1026
	ICPNotFiledNoBasicInfoOrCategory ICPStatus = 1027
	ICPNotFiledNotVerified           ICPStatus = 1028
	ICPNotFiledNoInfoNotVerified     ICPStatus = 1029
	ICPNotFiledNoCategoryNotVerified ICPStatus = 1030
	ICPNotFiledNothingNotVerified    ICPStatus = 1031
	ICPPlatformReview                ICPStatus = 2
	ICPPlatformRejected              ICPStatus = 3
	ICPRegulatorReview               ICPStatus = 4
	ICPRegulatorRejected             ICPStatus = 5
	ICPFiled                         ICPStatus = 6
)

// Filed reports whether the mini program is filed: it may be released.
func (s ICPStatus) Filed() bool { return s == ICPFiled }

// CanApply reports whether the state allows an application (not filed and complete, or rejected).
// The entrance must also be open (ICPEntranceInfo.Available).
func (s ICPStatus) CanApply() bool {
	return s == ICPNotFiled || s == ICPPlatformRejected || s == ICPRegulatorRejected
}

// InReview reports whether the platform or the regulator is reviewing an application.
func (s ICPStatus) InReview() bool { return s == ICPPlatformReview || s == ICPRegulatorReview }

// Withdrawable reports whether WithdrawApplication is possible (platform review only).
func (s ICPStatus) Withdrawable() bool { return s == ICPPlatformReview }

// String names the state.
func (s ICPStatus) String() string {
	switch s {
	case ICPNotFiled:
		return "not filed"
	case ICPNotFiledNoBasicInfo:
		return "not filed; basic info missing"
	case ICPNotFiledNoCategory:
		return "not filed; category missing"
	case ICPNotFiledNoBasicInfoOrCategory:
		return "not filed; basic info and category missing"
	case ICPNotFiledNotVerified:
		return "not filed; not verified"
	case ICPNotFiledNoInfoNotVerified:
		return "not filed; basic info missing; not verified"
	case ICPNotFiledNoCategoryNotVerified:
		return "not filed; category missing; not verified"
	case ICPNotFiledNothingNotVerified:
		return "not filed; basic info and category missing; not verified"
	case ICPPlatformReview:
		return "platform review"
	case ICPPlatformRejected:
		return "rejected by the platform review"
	case ICPRegulatorReview:
		return "regulator review"
	case ICPRegulatorRejected:
		return "rejected by the regulator"
	case ICPFiled:
		return "filed"
	}
	return "ICPStatus(" + strconv.Itoa(int(s)) + ")"
}

// Next says what the merchant or the platform must do in this state.
func (s ICPStatus) Next() string {
	const info, cat, verify = "set the name, avatar and introduction", "add a service category and wait for its approval", "complete WeChat verification (or file with the combined verification-and-filing flow)"
	switch s {
	case ICPNotFiled:
		return "prepare the materials, run the administrator's face check, then apply (when the entrance is available)"
	case ICPNotFiledNoBasicInfo:
		return info + ", then apply"
	case ICPNotFiledNoCategory:
		return cat + ", then apply"
	case ICPNotFiledNoBasicInfoOrCategory:
		return info + "; " + cat + "; then apply"
	case ICPNotFiledNotVerified:
		return verify + ", then apply"
	case ICPNotFiledNoInfoNotVerified:
		return info + "; " + verify
	case ICPNotFiledNoCategoryNotVerified:
		return cat + "; " + verify
	case ICPNotFiledNothingNotVerified:
		return info + "; " + cat + "; " + verify
	case ICPPlatformReview:
		return "wait for WeChat's platform review (the application may still be withdrawn)"
	case ICPPlatformRejected:
		return "fix the fields named in audit_data and apply again"
	case ICPRegulatorReview:
		return "the principal must answer the regulator's (MIIT) SMS within 24 hours; then wait for the regulator"
	case ICPRegulatorRejected:
		return "fix the fields named in audit_data, run a new face check and apply again"
	case ICPFiled:
		return "nothing: the mini program may be released"
	}
	return "unknown state: read get_icp_entrance_info again later"
}
