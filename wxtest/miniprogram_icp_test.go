package wxtest_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The emulator's ICP endpoints validate their input as WeChat does; a mini program added with
// AddAuthorizer counts as filed (it existed before filing was required).
func TestICPEndpointsValidateInput(t *testing.T) {
	m := newMPEnv(t)
	// Look-up tables answer GET and POST alike.
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		r := m.call(method, "/wxa/icp/query_icp_subject_types", nil)
		requireCode(t, 0, r)
		assert.NotEmpty(t, r["items"])
	}
	r := m.call(http.MethodGet, "/wxa/icp/get_icp_entrance_info", nil)
	requireCode(t, 0, r)
	assert.Equal(t, 6, r.obj("info").num("status"))
	assert.Equal(t, 6, m.s.ICPStatus(mpAppID))
	assert.Equal(t, 0, m.s.ICPStatus("wxunknown"))
	requireCode(t, 0, m.call(http.MethodGet, "/wxa/icp/get_online_icp_order", nil))
	requireCode(t, 86358, m.call(http.MethodPost, "/wxa/icp/apply_icp_filing", map[string]any{"icp_subject": map[string]any{}}), "already filed")

	requireCode(t, 44002, m.call(http.MethodPost, "/wxa/icp/create_icp_verifytask", nil))
	task := m.call(http.MethodPost, "/wxa/icp/create_icp_verifytask", map[string]any{"along_with_auth": true})
	requireCode(t, 0, task)
	assert.NotEmpty(t, task.str("verify_url"), "along with verification: a verify_url")
	requireCode(t, 47001, m.call(http.MethodPost, "/wxa/icp/query_icp_verifytask", map[string]any{}))
	requireCode(t, 40097, m.call(http.MethodPost, "/wxa/icp/query_icp_verifytask", map[string]any{"task_id": "nope"}))
	q := m.call(http.MethodPost, "/wxa/icp/query_icp_verifytask", map[string]any{"task_id": task.str("task_id")})
	requireCode(t, 0, q)
	assert.Equal(t, false, q["is_finish"])
	assert.Equal(t, 1, q.num("face_status"))
	require.NoError(t, m.s.CompleteICPFaceCheck(context.Background(), task.str("task_id"), true))
	q = m.call(http.MethodPost, "/wxa/icp/query_icp_verifytask", map[string]any{"task_id": task.str("task_id")})
	assert.Equal(t, 3, q.num("face_status"))
	assert.Equal(t, 9, q.num("along_with_auth_result"))
	assert.Error(t, m.s.CompleteICPFaceCheck(context.Background(), task.str("task_id"), true), "finished")
	assert.Error(t, m.s.CompleteICPFaceCheck(context.Background(), "nope", true))

	// Uploads: a multipart form with type and icp_order_field; a JPEG or PNG image.
	requireCode(t, 41005, m.call(http.MethodPost, "/wxa/icp/upload_icp_media", map[string]any{}))
	requireCode(t, 40097, m.uploadTo("/wxa/icp/upload_icp_media", "media", "a.png", []byte("\x89PNG\r\n\x1a\n0000")), "no type")

	requireCode(t, 47001, m.call(http.MethodPost, "/wxa/icp/cancel_icp_filing", map[string]any{}))
	requireCode(t, 40097, m.call(http.MethodPost, "/wxa/icp/cancel_icp_filing", map[string]any{"cancel_type": 4}))
	requireCode(t, 0, m.call(http.MethodPost, "/wxa/icp/cancel_icp_filing", map[string]any{"cancel_type": 2, "reason_type": 1}))
	requireCode(t, 86324, m.call(http.MethodPost, "/wxa/icp/cancel_icp_filing", map[string]any{"cancel_type": 2}))
	requireCode(t, 86368, m.call(http.MethodPost, "/wxa/icp/cancel_apply_icp_filing", map[string]any{}))
	assert.Error(t, m.s.ReviewICPFiling(context.Background(), mpAppID, true), "nothing under review")
	requireCode(t, 85015, m.do(http.MethodGet, "/wxa/icp/get_icp_entrance_info", url.Values{"access_token": {m.offTok}}, nil),
		"an official account is no mini program")
}
