package wxerr

// Named WeChat errcodes (API digest, section 9 and the per-endpoint lists). The names say what WeChat
// means; Hint says what the operator should do where that is known.
const (
	CodeOK         Code = 0
	CodeSystemBusy Code = -1

	// Tokens and credentials.
	CodeInvalidCredential          Code = 40001 // bad secret, or access token invalid / not the latest
	CodeInvalidAppID               Code = 40013
	CodeInvalidAccessToken         Code = 40014
	CodeInvalidCode                Code = 40029 // invalid js_code
	CodeCodeUsed                   Code = 40163 // the js_code or OAuth code was already used (not in the API digest; WeChat's OAuth code)
	CodeInvalidAppSecret           Code = 40125
	CodeIPNotWhitelisted           Code = 40164
	CodeAccessTokenMissing         Code = 41001
	CodeAppSecretMissing           Code = 41004
	CodeComponentAppIDMiss         Code = 41018
	CodeComponentTokenMiss         Code = 41021
	CodeAccessTokenExpired         Code = 42001
	CodeRefreshTokenExpired        Code = 42002
	CodeInvalidJSON                Code = 47001
	CodeInvalidComponentTicket     Code = 40091
	CodeInvalidComponentCredential Code = 40094
	CodeListCountTooLarge          Code = 40170

	// Component (third-party platform).
	CodeComponentUnauthorized    Code = 61003 // the account has not authorised this platform
	CodeComponentIPNotRegistered Code = 61004
	CodeVerifyTicketExpired      Code = 61005
	CodeVerifyTicketInvalid      Code = 61006
	CodeAPIUnauthorized          Code = 61007 // permission set not granted to the platform
	CodeAuthCodeInvalid          Code = 61009
	CodeAuthCodeExpired          Code = 61010
	CodeInvalidComponent         Code = 61011
	CodeMustUseComponentToken    Code = 61014
	CodeFuncNeedsConfirm         Code = 61016
	CodeRefreshTokenInvalid      Code = 61023
	CodeMustUseAPIComponentToken Code = 61024
	CodePrivacyScanPending       Code = 61039
	CodePrivacyConfigMissing     Code = 61040
	CodeLegalNameMismatch        Code = 61070

	// Quota and permission.
	CodeDailyQuota                Code = 45009
	CodeMinuteQuota               Code = 45011
	CodeCallTooFrequent           Code = 45047
	CodeQuotaResetLimit           Code = 48006
	CodeAPIUnauthorizedForAccount Code = 48001
	CodeAPIBanned                 Code = 48004
	CodeUserUnauthorized          Code = 50001
	CodeUserRestricted            Code = 50002

	// Open platform account.
	CodeOpenAccountAlreadyBound Code = 89000
	CodeOpenAccountSubjectDiff  Code = 89001
	CodeOpenAccountNotBound     Code = 89002
	CodeOpenAccountNotByAPI     Code = 89003
	CodeOpenAccountLimit        Code = 89004

	// Fast registration.
	CodeFastRegInternal     Code = 89247
	CodeFastRegBadCodeType  Code = 89248
	CodeFastRegTaskRunning  Code = 89249
	CodeFastRegNoTask       Code = 89250
	CodeFastRegWaitingFace  Code = 89251
	CodeFastRegChecking     Code = 89252
	CodeFastRegMissingParam Code = 89253
	CodeFastRegNoPermission Code = 89254
	CodeFastRegBadCode      Code = 89255
	CodeInvalidWeChatID     Code = 86004

	// Basic info.
	CodeNicknameUsed       Code = 85029
	CodeNicknameLength     Code = 85030
	CodeNicknameForbidden  Code = 85031
	CodeSignatureIllegal   Code = 85036
	CodeModifyQuotaReached Code = 85049
	CodeInvalidParams      Code = 40097

	// Code management.
	CodeAuditPending         Code = 85009
	CodeInvalidAuditID       Code = 85012
	CodeInvalidExtJSON       Code = 85013
	CodeInvalidTemplateID    Code = 85014
	CodeNotMiniProgram       Code = 85015
	CodeTooManyDomains       Code = 85016
	CodeDomainNoChange       Code = 85017
	CodeDomainNotRegistered  Code = 85018
	CodeNoAuditVersion       Code = 85019
	CodeNotReleasable        Code = 85020
	CodeStatusNotAllowed     Code = 85021
	CodeItemListSize         Code = 85023
	CodeAlreadyReleased      Code = 85052
	CodeTemplateNotFound     Code = 85064
	CodeTemplateLibFull      Code = 85065
	CodeAuditQuota           Code = 85085
	CodeCommitFirst          Code = 85086
	CodeNotThirdParty        Code = 86000
	CodeNoCommittedCode      Code = 86001
	CodeBasicInfoMissing     Code = 86002
	CodeGrayReleaseBlocks    Code = 87011
	CodeCannotRevert         Code = 87012
	CodeWithdrawLimit        Code = 87013
	CodeWebviewNoChange      Code = 89019
	CodeWebviewNotConfigured Code = 89020
	CodeWebviewNotAllowed    Code = 89021

	// Cards.
	CodeImageTooLarge      Code = 40009 // media/uploadimg: the image is over 1 MB
	CodeInvalidSerialCode  Code = 40056 // unknown card code, or a code of another card
	CodeInvalidCardID      Code = 40073
	CodeInvalidEncryptCode Code = 40075
	CodeCardNotApproved    Code = 40078 // the card has not passed review: it cannot be issued yet
	CodeInvalidCardTime    Code = 40079 // validity (date_info) invalid, or the code is out of it
	CodeCodeConsumed       Code = 40099 // the code was already consumed
	CodeInvalidQuantity    Code = 40122
	CodeUserCardStatus     Code = 40127 // the card or code is deleted, expired or unavailable
	CodeCardIDMissing      Code = 41011 // card_id is required (custom-code cards)
)

// hints says what the operator must do for the codes where WeChat's errmsg does not.
var hints = map[Code]string{
	CodeSystemBusy:               "WeChat is busy; retry later with backoff",
	CodeInvalidCredential:        "the access token is invalid or not the latest, or the AppSecret is wrong",
	CodeAccessTokenExpired:       "the access token expired; fetch a new one",
	CodeInvalidAppSecret:         "the AppSecret is wrong; check the platform's configuration",
	CodeComponentUnauthorized:    "this account has not authorised the platform, or revoked its authorisation; the merchant must authorise again",
	CodeComponentIPNotRegistered: "add this server's outbound IP to the platform's API IP whitelist on open.weixin.qq.com",
	CodeVerifyTicketExpired:      "the component_verify_ticket expired; make sure the authorization event URL receives WeChat's pushes, or call StartPushTicket",
	CodeVerifyTicketInvalid:      "the component_verify_ticket is invalid; wait for the next push (every 10 minutes) or call StartPushTicket",
	CodeRefreshTokenInvalid:      "the authorizer refresh token is invalid (lost, replaced or revoked); the merchant must authorise the platform again",
	CodeAPIUnauthorized:          "the platform has not been granted the permission set this API needs",
	CodeDailyQuota:               "the daily API quota is used up; clear it (component ClearQuota) or wait for the reset",
	CodeMinuteQuota:              "the per-minute rate limit was hit; slow down",
	CodeAuditPending:             "a version is already under review; wait for the audit result or undo the audit",
	CodeNoAuditVersion:           "no approved version to release; submit for audit and wait for approval",
	CodeNotReleasable:            "the audit state does not allow a release; wait for approval",
	CodeOpenAccountNotBound:      "the account is not bound to any open platform account",
	CodeCodeConsumed:             "the card code was already consumed; do not redeem it again (card.Client.Consume reports it as AlreadyConsumed)",
	CodeUserCardStatus:           "the card or code is deleted, expired or unavailable; read its state with card code/get",
	CodeCardNotApproved:          "the card has not passed WeChat's review yet; wait for the card_pass_check push",
	CodeImageTooLarge:            "the image is over 1 MB; shrink it before uploading",
	CodeCardIDMissing:            "send card_id with the code (required for custom-code cards)",
}

// Hint returns what the operator should do about code, or "" when there is nothing specific to say.
func Hint(c Code) string {
	if h, ok := hints[c]; ok {
		return h
	}
	if h, ok := complianceHints[c]; ok {
		return h
	}
	return icpHints[c]
}
