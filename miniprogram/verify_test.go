package miniprogram_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
)

func validAuthData() miniprogram.AuthData {
	d := miniprogram.AuthData{CustomerType: miniprogram.CustomerEnterprise, AccountName: "拉面小馆", AccountNameType: 1,
		PayType: miniprogram.AuthPaidByMerchant, ThirdPartyPhone: "13800000000"}
	d.Contact.Name, d.Contact.Email = "李四", "boss@lamian.example"
	d.Invoice.Type = miniprogram.InvoiceNone
	return d
}

const validAuthDataJSON = `{"customer_type":1,"contact_info":{"name":"李四","email":"boss@lamian.example"},"invoice_info":{"invoice_type":1},
 "account_name":"拉面小馆","account_name_type":1,"pay_type":2,"third_party_phone":"13800000000"}`

func TestAuthDataValidate(t *testing.T) {
	d := validAuthData()
	require.NoError(t, d.Validate())
	for _, tc := range []struct {
		name  string
		edit  func(d *miniprogram.AuthData)
		field string
	}{
		{"customer type missing", func(d *miniprogram.AuthData) { d.CustomerType = 0 }, "auth_data.customer_type"},
		{"customer type out of range", func(d *miniprogram.AuthData) { d.CustomerType = 2 }, "auth_data.customer_type"},
		{"contact name missing", func(d *miniprogram.AuthData) { d.Contact.Name = "" }, "auth_data.contact_info.name"},
		{"contact email bad", func(d *miniprogram.AuthData) { d.Contact.Email = "boss" }, "auth_data.contact_info.email"},
		{"invoice type out of range", func(d *miniprogram.AuthData) { d.Invoice.Type = 4 }, "auth_data.invoice_info.invoice_type"},
		{"electronic without tax number", func(d *miniprogram.AuthData) { d.Invoice.Type = miniprogram.InvoiceElectronic; d.Invoice.Title = "x" }, "auth_data.invoice_info.electronic.id"},
		{"VAT without details", func(d *miniprogram.AuthData) { d.Invoice.Type = miniprogram.InvoiceVAT; d.Invoice.Title = "x" }, "auth_data.invoice_info.vat"},
		{"invoice without title", func(d *miniprogram.AuthData) {
			d.Invoice.Type = miniprogram.InvoiceElectronic
			d.Invoice.Electronic = &struct {
				ID   string `json:"id"`
				Desc string `json:"desc,omitempty"`
			}{ID: "9144"}
		}, "auth_data.invoice_info.invoice_title"},
		{"platform pays with an invoice", func(d *miniprogram.AuthData) {
			d.PayType, d.ServiceAppID, d.Invoice.Type, d.Invoice.Title = miniprogram.AuthPaidByPlatform, "wxSVC", miniprogram.InvoiceElectronic, "x"
			d.Invoice.Electronic = &struct {
				ID   string `json:"id"`
				Desc string `json:"desc,omitempty"`
			}{ID: "9144"}
		}, "auth_data.invoice_info.invoice_type"},
		{"eleven documents", func(d *miniprogram.AuthData) { d.QualificationOther = strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",") }, "auth_data.qualification_other"},
		{"account name missing", func(d *miniprogram.AuthData) { d.AccountName = "" }, "auth_data.account_name"},
		{"account name type out of range", func(d *miniprogram.AuthData) { d.AccountNameType = 3 }, "auth_data.account_name_type"},
		{"pay type out of range", func(d *miniprogram.AuthData) { d.PayType = 0 }, "auth_data.pay_type"},
		{"platform pays without service appid", func(d *miniprogram.AuthData) { d.PayType = miniprogram.AuthPaidByPlatform }, "auth_data.service_appid"},
		{"personal without identity", func(d *miniprogram.AuthData) { d.CustomerType = miniprogram.CustomerPersonal }, "auth_data.auth_identification"},
		{"phone missing", func(d *miniprogram.AuthData) { d.ThirdPartyPhone = "" }, "auth_data.third_party_phone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := validAuthData()
			tc.edit(&d)
			requireInvalid(t, d.Validate(), tc.field)
		})
	}
}

func TestVerificationRequests(t *testing.T) {
	e := setup(t)
	e.mt.RegisterResponder("POST", base+"/wxa/sec/uploadauthmaterial", func(r *http.Request) (*http.Response, error) {
		data, h, err := formFile(r)
		require.NoError(t, err)
		assert.Equal(t, "licence.png", h.Filename)
		assert.Equal(t, pngImage(t), data)
		return httpmock.NewStringResponse(200, `{"errcode":0,"mediaid":"AM1"}`), nil
	})
	id, err := e.c.UploadAuthMaterial(ctx, "licence.png", pngImage(t))
	require.NoError(t, err)
	assert.Equal(t, "AM1", id)
	e.expect(t, call{method: "GET", path: "/wxa/sec/authidentitytree",
		reply: `{"errcode":0,"node_list":[{"name":"个人","node_id":1,"node_list":[{"name":"医生","node_id":2,"leaf_info":{"requirement":"执业证"}}]}]}`})
	tree, err := e.c.IdentityTree(ctx)
	require.NoError(t, err)
	assert.Equal(t, "执业证", tree[0].Children[0].LeafInfo.Requirement)

	e.expect(t, call{method: "POST", path: "/wxa/sec/wxaauth", body: `{"auth_data":` + validAuthDataJSON + `}`,
		reply: `{"errcode":0,"taskid":"TK","auth_url":"https://x/auth"}`})
	task, err := e.c.SubmitVerification(ctx, validAuthData())
	require.NoError(t, err)
	assert.Equal(t, miniprogram.VerificationTask{TaskID: "TK", AuthURL: "https://x/auth"}, *task)
	e.expect(t, call{method: "POST", path: "/wxa/sec/queryauth", body: `{"taskid":"TK"}`,
		reply: `{"errcode":0,"appid":"wxAPP","task_status":12,"apply_status":3,"refill_reason":"名称不符","dispatch_info":{"provider":"P","contact":"C","dispatch_time":1700000000}}`})
	st, err := e.c.QueryVerification(ctx, "TK")
	require.NoError(t, err)
	assert.Equal(t, miniprogram.VerifyApplyRefill, st.ApplyStatus)
	assert.Equal(t, miniprogram.VerifyTaskOrderCreated, st.TaskStatus)
	assert.Contains(t, st.ApplyStatus.Next(), "ResubmitVerification")
	assert.Equal(t, miniprogram.VerifyDispatch{Provider: "P", Contact: "C", DispatchTime: time.Unix(1700000000, 0)}, *st.DispatchInfo)
	e.expect(t, call{method: "POST", path: "/wxa/sec/reauth", body: `{"auth_data":` + strings.TrimSuffix(validAuthDataJSON, "}") + `,"taskid":"TK"}}`,
		reply: `{"errcode":0,"auth_url":"https://x/auth2"}`})
	task, err = e.c.ResubmitVerification(ctx, "TK", validAuthData())
	require.NoError(t, err)
	assert.Equal(t, "TK", task.TaskID)

	// Combined verification and filing: the filing body plus auth_data; hints on field errors.
	e.icpTables(t)
	wantBody := strings.TrimSuffix(validICPApplicationJSON, "}") + `,"auth_data":` + validAuthDataJSON + `}`
	e.expect(t, call{method: "POST", path: "/wxa/sec/submit_auth_and_icp", body: wantBody, reply: `{"errcode":0,"procedure_id":"P1","pay_url":"https://x/pay"}`})
	p, err := e.c.ICP().SubmitAuthAndICP(ctx, validICPApplication(), validAuthData())
	require.NoError(t, err)
	assert.Equal(t, miniprogram.AuthAndICPProcedure{ProcedureID: "P1", PayURL: "https://x/pay"}, *p)
	e.expect(t, call{method: "POST", path: "/wxa/sec/submit_auth_and_icp", body: wantBody,
		reply: `{"errcode":86202,"errmsg":"fail","hints":[{"errcode":86302,"errmsg":"differs","err_field":"icp_subject.base_info.name"}]}`})
	_, err = e.c.ICP().SubmitAuthAndICP(ctx, validICPApplication(), validAuthData())
	var ae *miniprogram.ICPApplyError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "icp_subject.base_info.name", ae.Hints[0].ErrField)
	e.expect(t, call{method: "POST", path: "/wxa/sec/query_auth_and_icp", body: `{"procedure_id":"P1"}`,
		reply: `{"errcode":0,"procedure_status":25,"icp_audit":{"audit_data":[{"key_name":"k","error":"e","suggest":"s"}],"sms_verify_status":3}}`})
	q, err := e.c.ICP().QueryAuthAndICP(ctx, "P1")
	require.NoError(t, err)
	assert.Equal(t, miniprogram.ProcedureICPRegulatorRejected, q.Status)
	assert.Equal(t, 3, q.ICPAudit.SMSVerifyStatus)
	assert.Contains(t, miniprogram.ProcedureStatus(27).Next(), "in progress")
	assert.True(t, miniprogram.ProcedureDone.Done())

	n := e.mt.GetTotalCallCount()
	_, err = e.c.UploadAuthMaterial(ctx, "a.txt", []byte("text"))
	requireInvalid(t, err, "media")
	_, err = e.c.QueryVerification(ctx, "")
	requireInvalid(t, err, "taskid")
	_, err = e.c.ResubmitVerification(ctx, "", validAuthData())
	requireInvalid(t, err, "taskid")
	bad := validAuthData()
	bad.PayType = 3
	_, err = e.c.SubmitVerification(ctx, bad)
	requireInvalid(t, err, "auth_data.pay_type")
	_, err = e.c.ICP().SubmitAuthAndICP(ctx, validICPApplication(), bad)
	requireInvalid(t, err, "auth_data.pay_type")
	_, err = e.c.ICP().QueryAuthAndICP(ctx, "")
	requireInvalid(t, err, "procedure_id")
	assert.Equal(t, n, e.mt.GetTotalCallCount())
}
