package wxerr

// Named errcodes of ICP filing (小程序备案), WeChat verification and the other fast-registration
// routes (API digest part 2, sections 13-15 and 23).
const (
	// ICP filing (digest 13).
	CodeICPMediaUploadFailed   Code = 86201 // upload_icp_media failed (often certificate_type vs icp_order_field)
	CodeICPApplyFailed         Code = 86202 // apply_icp_filing refused; the answer's hints name the fields
	CodeICPSystemError         Code = 86301 // hint: ICP system error, retry later
	CodeICPUnderReview         Code = 86324 // cancel_icp_filing: a request is already under review
	CodeICPImageUnreadable     Code = 86328 // hint: image unreadable or wrong certificate_type
	CodeICPNotWithdrawable     Code = 86330 // cancel_apply_icp_filing: the order cannot be withdrawn now
	CodeICPNotFiled            Code = 86353 // cancel_icp_filing: the mini program is not filed
	CodeICPUnfinishedOrder     Code = 86358 // hint: an unfinished order exists
	CodeICPNoWithdrawableOrder Code = 86368 // cancel_apply_icp_filing: no order to withdraw

	// CodeReleaseNotICPFiled is what wxa/release answers for a mini program that is not ICP-filed.
	// UNVERIFIED: digest part 2, sections 13 and 22 say only "86xxx/85xxx, unverified which"; 86362
	// is this SDK's single choice (the emulator answers it too). Test with errors.Is(err,
	// ErrReleaseNotICPFiled), never with the number.
	CodeReleaseNotICPFiled Code = 86362

	// Fast registration by reusing an official account's subject (digest 15.3).
	CodeReuseSubjectType      Code = 61051
	CodeReuseOANotVerified    Code = 61052
	CodeReuseSubjectLimit     Code = 61053
	CodeReuseBlacklisted      Code = 61054
	CodeReuseMonthlyQuota     Code = 61055
	CodeReuseMustCopyVerify   Code = 61056
	CodeReuseInProgress       Code = 61057
	CodeReuseTicketInvalid    Code = 61058
	CodePlatformNotPublished  Code = 61028
	CodePlatformLacksPermSets Code = 61029
	CodeReuseRedirectInvalid  Code = 61060
	CodeReuseOverseas         Code = 61061
)

// icpHints are the operator hints of the codes above (digest part 2, section 23).
var icpHints = map[Code]string{
	CodeICPMediaUploadFailed:   "the ICP material upload failed: check certificate_type against icp_order_field and re-upload",
	CodeICPApplyFailed:         "the ICP filing was refused: fix the fields its hints name (err_field) and apply again",
	CodeICPSystemError:         "WeChat's ICP system failed; retry later",
	CodeICPUnderReview:         "an ICP request is already under review; wait for its result",
	CodeICPImageUnreadable:     "an ICP image cannot be read or has the wrong certificate_type; re-upload it with the right type",
	CodeICPNotWithdrawable:     "the ICP order cannot be withdrawn in its current state; wait for the review outcome",
	CodeICPNotFiled:            "the mini program is not ICP-filed; there is no filing to cancel",
	CodeICPUnfinishedOrder:     "an unfinished ICP order exists; wait for it or withdraw it first",
	CodeICPNoWithdrawableOrder: "there is no ICP order to withdraw",
	CodeReleaseNotICPFiled:     "the mini program is not ICP-filed: file it (ICP) and wait for status 6 before releasing",
	CodeReuseSubjectType:       "this official account's subject type cannot fast-register; use enterprise fast registration",
	CodeReuseOANotVerified:     "the official account is not verified; verify it first",
	CodeReuseSubjectLimit:      "the subject has reached its mini-program limit",
	CodeReuseBlacklisted:       "the subject is blacklisted",
	CodeReuseMonthlyQuota:      "the official account's monthly quota of 5 fast registrations is used up; wait for next month",
	CodeReuseMustCopyVerify:    "government, media and other organisations must copy the verification: copy_wx_verify=1",
	CodeReuseInProgress:        "another fast registration of this official account is in progress; wait for it",
	CodeReuseTicketInvalid:     "the ticket is invalid or was used (also after a retry within 5 s): restart the scan; never retry automatically",
	CodePlatformNotPublished:   "the platform is not published; publish it",
	CodePlatformLacksPermSets:  "the platform lacks the required permission sets; request them",
	CodeReuseRedirectInvalid:   "the redirect URI is invalid; fix it or its domain",
	CodeReuseOverseas:          "overseas accounts cannot fast-register",
}

// Sentinels of filing, for errors.Is.
var (
	ErrReleaseNotICPFiled = &APIError{Code: CodeReleaseNotICPFiled}
	ErrICPApplyFailed     = &APIError{Code: CodeICPApplyFailed}
)
