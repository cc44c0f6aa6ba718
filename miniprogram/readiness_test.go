package miniprogram_test

import (
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

// Readiness reads only: every request it sends is a GET or one of the read POSTs, and a refused
// read ends it with that error.
func TestReadinessReadsOnlyAndFailsOnAnError(t *testing.T) {
	e := setup(t)
	ok := func(body string) httpmock.Responder { return httpmock.NewStringResponder(200, body) }
	e.mt.RegisterResponder("GET", base+"/cgi-bin/account/getaccountbasicinfo", ok(`{"errcode":0,"nickname":"店","head_image_info":{"head_image_url":"u"},"signature_info":{"signature":"s"}}`))
	e.mt.RegisterResponder("GET", base+"/wxa/get_category", ok(`{"errcode":0,"category_list":[{"first_class":"餐饮","second_class":"中餐","first_id":1,"second_id":2}]}`))
	e.mt.RegisterResponder("GET", base+"/wxa/get_latest_auditstatus", ok(`{"errcode":85012,"errmsg":"no audit"}`))
	e.mt.RegisterResponder("GET", base+"/wxa/get_page", ok(`{"errcode":0,"page_list":["pages/index/index"]}`))
	e.mt.RegisterResponder("GET", base+"/wxa/security/get_code_privacy_info", ok(`{"errcode":0,"without_auth_list":[],"without_conf_list":[]}`))
	e.mt.RegisterResponder("POST", base+"/cgi-bin/component/getprivacysetting", ok(`{"errcode":0,"privacy_list":["Album"],"setting_list":[{"privacy_key":"Album","privacy_text":"x"}]}`))
	e.mt.RegisterResponder("GET", base+"/wxa/queryquota", ok(`{"errcode":0,"rest":0,"limit":20}`))
	e.mt.RegisterResponder("POST", base+"/wxa/get_effective_domain", ok(`{"errcode":0,"effective_domain":{"requestdomain":["https://a.cn"]}}`))
	e.mt.RegisterResponder("GET", base+"/wxa/icp/get_icp_entrance_info", ok(`{"errcode":0,"info":{"status":6,"available":1}}`))
	r, err := e.c.Readiness(ctx)
	require.NoError(t, err)
	assert.Equal(t, 9, r.Calls)
	assert.Equal(t, 9, e.mt.GetTotalCallCount())
	require.Len(t, r.Closed, 2)
	assert.Equal(t, miniprogram.GateApprovedAudit, r.Closed[0].Gate)
	assert.Equal(t, wxerr.CodeNoAuditVersion, r.Closed[0].Code)
	assert.Equal(t, miniprogram.ClosedGate{Gate: miniprogram.GateAuditQuota, Stage: miniprogram.StageSubmit, Code: wxerr.CodeAuditQuota,
		Detail: r.Closed[1].Detail, Fix: r.Closed[1].Fix}, r.Closed[1])
	assert.Contains(t, r.Closed[1].Detail, "20 a month")
	assert.False(t, r.CanSubmit())

	// A rejected filing closes the release with its reasons and what to do next.
	e.mt.RegisterResponder("GET", base+"/wxa/icp/get_icp_entrance_info",
		ok(`{"errcode":0,"info":{"status":3,"available":1,"audit_data":[{"key_name":"icp_subject.base_info.address","error":"地址不详"}]}}`))
	r, err = e.c.Readiness(ctx)
	require.NoError(t, err)
	icp, closed := r.Gate(miniprogram.GateICPFiling)
	require.True(t, closed)
	assert.Equal(t, miniprogram.StageRelease, icp.Stage)
	assert.Equal(t, wxerr.CodeReleaseNotICPFiled, icp.Code)
	assert.Contains(t, icp.Detail, "icp_subject.base_info.address: 地址不详")
	assert.Equal(t, miniprogram.ICPPlatformRejected.Next(), icp.Fix)

	e.mt.RegisterResponder("GET", base+"/wxa/queryquota", ok(`{"errcode":61007,"errmsg":"api unauthorized"}`))
	_, err = e.c.Readiness(ctx)
	assert.Equal(t, wxerr.CodeAPIUnauthorized, wxerr.CodeOf(err))

	_, err = miniprogram.New(nil).Readiness(ctx)
	requireInvalid(t, err, "authorizer")
}
