package wxerr

// Named errcodes of the compliance gates a mini program passes before its code is audited and
// released (API digest part 2, sections 10-12, 16, 22 and 23): privacy guide and privacy
// interfaces, categories, audit quota and operations, testers, domains. Each has an operator hint.
const (
	// Privacy guide and privacy interfaces (digest 10).
	CodeFileInvalid              Code = 40006 // file type or size invalid (privacy text file, images)
	CodePrivacyFileTooLarge      Code = 40126 // privacy text file larger than 100 KB
	CodeEmptyPostBody            Code = 44002 // empty POST body where WeChat wants {}
	CodePrivacyApplyPending      Code = 61031
	CodePrivacyApplyVideoFormat  Code = 61032
	CodePrivacyApplyMediaFailed  Code = 61033
	CodePrivacyApplyArgsMissing  Code = 61034
	CodePrivacyApplyNotNeeded    Code = 61035
	CodePrivacyOwnerSetting      Code = 86069
	CodePrivacyVersionInvalid    Code = 86071
	CodePrivacyNoLiveGuide       Code = 86074
	CodePrivacyStoreExpireFormat Code = 87072

	// Categories (digest 11).
	CodeCategoryNotApproved     Code = 85008 // submit_audit: no approved category, or not one of the app's
	CodeCategoryMonthlyLimit    Code = 53300
	CodeCategoryCountLimit      Code = 53301
	CodeCategorySubjectType     Code = 53302
	CodeCategoryInvalidParams   Code = 53303
	CodeCategoryDuplicate       Code = 53304
	CodeCategoryICPCheck        Code = 53305
	CodeCategoryModifyIDs       Code = 53306
	CodeCategoryModifyNotFailed Code = 53307
	CodeCategoryUnderReview     Code = 53308
	CodeCategoryRedPacket       Code = 53309
	CodeCategoryOverLimit       Code = 53310
	CodeCategoryNeedsMaterials  Code = 53311
	CodeCategoryRevoked         Code = 85077

	// Audit operations and testers (digest 12).
	CodeTesterNotFound       Code = 85001
	CodeTesterLimit          Code = 85002
	CodeTesterTooManyApps    Code = 85003
	CodeTesterAlreadyBound   Code = 85004
	CodeSpeedUpUnstable      Code = 89401
	CodeSpeedUpNotPending    Code = 89402
	CodeSpeedUpNotAllowed    Code = 89403
	CodeSpeedUpAlreadyDone   Code = 89404
	CodeSpeedUpQuotaUsedUp   Code = 89405
	CodeWebviewConfirmFailed Code = 86103
)

// complianceHints are the operator hints of the compliance codes (digest part 2, section 23), and of
// the submit_audit gates of part 1 that a brand-new merchant meets.
var complianceHints = map[Code]string{
	CodeFileInvalid:              "the file type or size is not accepted; fix the file",
	CodePrivacyFileTooLarge:      "the privacy guide text file is larger than 100 KB; shorten it",
	CodeEmptyPostBody:            "WeChat wants a JSON body here; send {}",
	CodePrivacyScanPending:       "WeChat is still scanning the last commit for privacy APIs; retry in about a minute",
	CodePrivacyConfigMissing:     "a privacy API is used without approval or declaration: apply for the interface, declare it in ext_json requiredPrivateInfos and in the privacy guide, or submit with privacy_api_not_use",
	CodePrivacyApplyPending:      "an application for this privacy interface is already under review; wait for the wxa_privacy_apply result",
	CodePrivacyApplyVideoFormat:  "the application video must be an mp4; re-encode it",
	CodePrivacyApplyMediaFailed:  "WeChat could not download the application media; retry or host it elsewhere",
	CodePrivacyApplyArgsMissing:  "the application needs a reason (content) and at least one of url_list, pic_list, video_list",
	CodePrivacyApplyNotNeeded:    "this API needs no application",
	CodePrivacyOwnerSetting:      "the privacy guide's owner_setting lacks a required field: set notice_method and at least one contact",
	CodePrivacyVersionInvalid:    "privacy_ver must be 1 (live) or 2 (development)",
	CodePrivacyNoLiveGuide:       "no live privacy guide yet: write the development version (privacy_ver 2) until the first release",
	CodePrivacyStoreExpireFormat: `store_expire_timestamp must read "<number>天", e.g. "30天"`,
	CodeBasicInfoMissing:         "the mini program's name, avatar or introduction is not set; set them (setnickname, modifyheadimage, modifysignature)",
	CodeCategoryNotApproved:      "the mini program has no approved service category (or the item_list names another): add one (addcategory) and wait for its approval",
	CodeCategoryRevoked:          "the category was revoked or is invalid; pick one again from wxa/get_category",
	CodeCategoryMonthlyLimit:     "the monthly category change limit is reached; wait for next month",
	CodeCategoryCountLimit:       "the account has the maximum number of categories; delete one first",
	CodeCategorySubjectType:      "the account's subject type may not set this category; pick another",
	CodeCategoryDuplicate:        "the category is already on the account",
	CodeCategoryModifyIDs:        "modifycategory changes qualifications only; delete the category and add the new one",
	CodeCategoryModifyNotFailed:  "only a rejected category may be modified",
	CodeCategoryUnderReview:      "a category under review cannot be deleted; wait for its result",
	CodeCategoryNeedsMaterials:   "this category needs qualification documents (certicates)",
	CodeAuditQuota:               "the platform's monthly audit quota is used up (shared by all its mini programs); wait for next month or request a raise",
	CodeCommitFirst:              "no code is committed; commit a template first",
	CodeTesterNotFound:           "the WeChat ID does not exist or cannot be searched; the person must allow search by WeChat ID",
	CodeTesterLimit:              "the mini program's tester limit is reached; unbind someone first",
	CodeTesterTooManyApps:        "this person is a tester of too many mini programs; they must leave another one",
	CodeTesterAlreadyBound:       "already a tester; nothing to do",
	CodeSpeedUpUnstable:          "WeChat's expedite service is unstable; retry later",
	CodeSpeedUpNotPending:        "the audit is not waiting in the review queue; check its state",
	CodeSpeedUpNotAllowed:        "this audit cannot be expedited; wait for the normal review",
	CodeSpeedUpAlreadyDone:       "the audit is already expedited; nothing to do",
	CodeSpeedUpQuotaUsedUp:       "the monthly expedite quota is used up; wait for next month",
	CodeWebviewConfirmFailed:     "the web-view confirm file check failed: serve the exact file_content at https://DOMAIN/file_name",
}

// Sentinels of the compliance gates, for errors.Is.
var (
	ErrPrivacyScanPending   = &APIError{Code: CodePrivacyScanPending}
	ErrPrivacyConfigMissing = &APIError{Code: CodePrivacyConfigMissing}
	ErrAuditQuota           = &APIError{Code: CodeAuditQuota}
	ErrAuditPending         = &APIError{Code: CodeAuditPending}
	ErrCategoryNotApproved  = &APIError{Code: CodeCategoryNotApproved}
	ErrBasicInfoMissing     = &APIError{Code: CodeBasicInfoMissing}
)

// IsRetryLater reports whether err is a WeChat answer after which the same call may succeed later
// without any change (digest part 2, section 23): system busy (-1), the privacy scan still running
// (61039), the expedite service unstable (89401), an ICP system error (86301). Rate limits (45009, 45011) are IsQuota.
func IsRetryLater(err error) bool {
	switch CodeOf(err) {
	case CodeSystemBusy, CodePrivacyScanPending, CodeSpeedUpUnstable, CodeICPSystemError:
		return true
	}
	return false
}
