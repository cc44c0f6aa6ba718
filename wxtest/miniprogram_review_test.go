package wxtest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/wxtest"
)

// auditPushes counts the audit result pushes m's receiver got.
func auditPushes(m *mpEnv) int {
	n := 0
	for _, e := range m.rx.all() {
		if ev := e.Fields["Event"]; ev == "weapp_audit_success" || ev == "weapp_audit_fail" {
			n++
		}
	}
	return n
}

func TestAuditReview(t *testing.T) {
	ctx := context.Background()
	m := newMPEnv(t)
	n, err := m.s.ReviewDue(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "review is off by default")

	requireCode(t, 0, m.commit("1.0.0", ""))
	m.advance(2 * time.Minute) // the privacy scan
	id := m.submit()
	m.s.SetAuditReview(wxtest.AuditReview{After: 10 * time.Minute, RejectShare: 1, Reasons: []string{"blurry"}, DropPushShare: 0})
	m.advance(9 * time.Minute)
	n, err = m.s.ReviewDue(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "decided before After")
	m.advance(time.Minute)
	n, err = m.s.ReviewDue(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	st := m.call(http.MethodPost, "/wxa/get_auditstatus", map[string]any{"auditid": id})
	requireCode(t, 0, st)
	assert.Equal(t, 1, st.num("status"), "RejectShare 1 rejects")
	assert.Equal(t, "blurry", st.str("reason"))
	assert.NotEmpty(t, st.str("screenshot"))
	require.Equal(t, 1, auditPushes(m), "the result was pushed")
	assert.Equal(t, "weapp_audit_fail", m.rx.last().Fields["Event"])
	n, _ = m.s.ReviewDue(ctx)
	assert.Zero(t, n, "an audit is decided once")

	// Approved, push dropped; counters.
	m.s.SetAuditReview(wxtest.AuditReview{After: time.Minute, DropPushShare: 1})
	id2 := m.submit()
	m.advance(time.Minute)
	n, err = m.s.ReviewDue(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, 1, auditPushes(m), "the push was dropped")
	assert.Equal(t, 1, m.s.DroppedPushes())
	st = m.call(http.MethodPost, "/wxa/get_auditstatus", map[string]any{"auditid": id2})
	assert.Equal(t, 0, st.num("status"))
	requireCode(t, 0, m.call(http.MethodPost, "/wxa/release", map[string]any{}))
	requireCode(t, 85052, m.call(http.MethodPost, "/wxa/release", map[string]any{}))
	assert.Equal(t, wxtest.CodeCounts{Audits: 2, Releases: 1, SubmitCalls: 2, ReleaseCalls: 2}, m.s.Counts(m.appID))
	assert.Equal(t, wxtest.CodeCounts{}, m.s.Counts("wxunknown"))
}
