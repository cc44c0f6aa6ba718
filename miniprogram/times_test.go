package miniprogram_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
)

func TestTimesAreTimeTime(t *testing.T) {
	var w miniprogram.Watermark
	require.NoError(t, json.Unmarshal([]byte(`{"appid":"wxA","timestamp":1477314187}`), &w))
	assert.Equal(t, miniprogram.Watermark{AppID: "wxA", Timestamp: time.Unix(1477314187, 0)}, w)
	b, err := json.Marshal(w)
	require.NoError(t, err)
	assert.JSONEq(t, `{"appid":"wxA","timestamp":1477314187}`, string(b), "WeChat's form again")
	require.NoError(t, json.Unmarshal([]byte(`{"appid":"wxA"}`), &w))
	assert.True(t, w.Timestamp.IsZero(), "no timestamp is the zero time, not 1970")

	var v miniprogram.ReleaseVersion
	require.NoError(t, json.Unmarshal([]byte(`{"app_version":3,"user_version":"v1","user_desc":"a","commit_time":0}`), &v))
	assert.True(t, v.CommitTime.IsZero())
	var s miniprogram.AuditStatus
	require.NoError(t, json.Unmarshal([]byte(`{"auditid":1,"status":2}`), &s))
	assert.True(t, s.SubmitAuditTime.IsZero())
}

// Every result type whose time WeChat sends in unix seconds reads it as a time.Time (0 or absent is
// the zero time, not 1970) and marshals back to WeChat's form, so a cached copy reads the same.
func TestResultTimesKeepWeChatsForm(t *testing.T) {
	at := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		wire, zero string
		into       func() any
		want       any
	}{
		{`{"type":"image","media_id":"M","created_at":1700000000}`, `{"type":"image","media_id":"M","created_at":0}`,
			func() any { return new(miniprogram.Media) },
			&miniprogram.Media{Type: miniprogram.MediaImage, MediaID: "M", CreatedAt: at}},
		{`{"status":1,"create_timestamp":1700000000,"gray_percentage":5,"support_experiencer_first":false,"support_debuger_first":true}`,
			`{"status":1,"create_timestamp":0,"gray_percentage":5,"support_experiencer_first":false,"support_debuger_first":true}`,
			func() any { return new(miniprogram.GrayReleasePlan) },
			&miniprogram.GrayReleasePlan{Status: miniprogram.GrayRunning, CreateTimestamp: at, Percentage: 5, SupportDebugerFirst: true}},
		{`{"qualification_verify":true,"naming_verify":false,"annual_review":true,"annual_review_begin_time":1700000000,"annual_review_end_time":1700000001}`,
			`{"qualification_verify":true,"naming_verify":false,"annual_review":true,"annual_review_begin_time":0,"annual_review_end_time":0}`,
			func() any { return new(miniprogram.WxVerifyInfo) },
			&miniprogram.WxVerifyInfo{QualificationVerify: true, AnnualReview: true, AnnualReviewBeginTime: at, AnnualReviewEndTime: at.Add(time.Second)}},
		{`{"api_name":"wx.getLocation","api_ch_name":"","api_desc":"","api_link":"","group_name":"","status":4,"audit_id":9,"apply_time":1700000000,"fail_reason":"r"}`,
			`{"api_name":"wx.getLocation","api_ch_name":"","api_desc":"","api_link":"","group_name":"","status":4,"audit_id":9,"apply_time":0,"fail_reason":"r"}`,
			func() any { return new(miniprogram.PrivacyInterface) },
			&miniprogram.PrivacyInterface{APIName: "wx.getLocation", Status: miniprogram.InterfaceRejected, AuditID: 9, ApplyTime: at, FailReason: "r"}},
		{`{"provider":"P","contact":"C","dispatch_time":1700000000}`, `{"provider":"P","contact":"C","dispatch_time":0}`,
			func() any { return new(miniprogram.VerifyDispatch) },
			&miniprogram.VerifyDispatch{Provider: "P", Contact: "C", DispatchTime: at}},
	} {
		got := tc.into()
		require.NoError(t, json.Unmarshal([]byte(tc.wire), got))
		assert.Equal(t, tc.want, got)
		b, err := json.Marshal(got)
		require.NoError(t, err)
		assert.JSONEq(t, tc.wire, string(b), "WeChat's form again")

		zero := tc.into()
		require.NoError(t, json.Unmarshal([]byte(tc.zero), zero))
		b, err = json.Marshal(zero)
		require.NoError(t, err)
		assert.JSONEq(t, tc.zero, string(b), "0 reads as the zero time and is sent as 0")
	}
	var m miniprogram.Media
	require.NoError(t, json.Unmarshal([]byte(`{"media_id":"M"}`), &m))
	assert.True(t, m.CreatedAt.IsZero(), "absent is the zero time")
	require.Error(t, json.Unmarshal([]byte(`{"created_at":"soon"}`), &m), "a malformed time is an error, as before")
}
