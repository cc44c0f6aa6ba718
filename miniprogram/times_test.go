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
