package miniprogram_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/miniprogram"
	"github.com/wxopen-go/wxopen/wxerr"
)

func TestNicknameCheckRequests(t *testing.T) {
	e := setup(t)
	e.expect(t, call{method: "POST", path: "/cgi-bin/wxverify/checkwxverifynickname", body: `{"nick_name":"微信面馆"}`,
		reply: `{"errcode":0,"hit_condition":true,"wording":"protected"}`})
	c, err := e.c.CheckNickname(ctx, "微信面馆")
	require.NoError(t, err)
	assert.Equal(t, miniprogram.NicknameCheck{Hit: true, Wording: "protected"}, *c)
	e.expect(t, call{method: "POST", path: "/wxa/api_wxa_querynickname", body: `{"audit_id":7}`,
		reply: `{"errcode":0,"nickname":"面馆","audit_stat":2,"fail_reason":"侵权","create_time":1700000000,"audit_time":1700000100}`})
	a, err := e.c.NicknameAudit(ctx, 7)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.NicknameAudit{Nickname: "面馆", Status: miniprogram.CategoryRejected, FailReason: "侵权",
		CreateTime: time.Unix(1700000000, 0), AuditTime: time.Unix(1700000100, 0)}, *a)
	n := e.mt.GetTotalCallCount()
	_, err = e.c.CheckNickname(ctx, "")
	requireInvalid(t, err, "nick_name")
	_, err = e.c.NicknameAudit(ctx, 0)
	requireInvalid(t, err, "audit_id")
	assert.Equal(t, n, e.mt.GetTotalCallCount())
}

func TestEmulatorNicknameChecks(t *testing.T) {
	ctx := context.Background()
	e := newPlatform(t)
	app := e.fastRegister(ctx, 600)
	mp := e.mini(app)
	c, err := mp.CheckNickname(ctx, "小店初始名")
	require.NoError(t, err)
	assert.True(t, c.Hit, "another account's name")
	c, err = mp.CheckNickname(ctx, "微信面馆")
	require.NoError(t, err)
	assert.True(t, c.Hit, "a protected word")
	c, err = mp.CheckNickname(ctx, "拉面小馆")
	require.NoError(t, err)
	assert.False(t, c.Hit)

	m, err := mp.UploadTempMedia(ctx, miniprogram.MediaImage, "licence.png", pngImage(t))
	require.NoError(t, err)
	res, err := mp.SetNickname(ctx, miniprogram.SetNicknameRequest{NickName: "拉面小馆", License: m.MediaID})
	require.NoError(t, err)
	require.NotZero(t, res.AuditID)
	a, err := mp.NicknameAudit(ctx, res.AuditID)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.CategoryReviewing, a.Status)
	assert.Equal(t, "拉面小馆", a.Nickname)
	require.NoError(t, e.s.ReviewNickname(ctx, app, false, "与商标冲突"))
	a, err = mp.NicknameAudit(ctx, res.AuditID)
	require.NoError(t, err)
	assert.Equal(t, miniprogram.CategoryRejected, a.Status)
	assert.Equal(t, "与商标冲突", a.FailReason)
	_, err = mp.NicknameAudit(ctx, res.AuditID+1)
	assert.Equal(t, wxerr.CodeInvalidParams, wxerr.CodeOf(err))
}
