package component_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/component"
)

func TestBetaRegistrationPushes(t *testing.T) {
	h := hsetup(t)
	var reg []*component.BetaRegisterEvent
	var ver []*component.BetaVerifyEvent
	hd := h.handler(t, component.HandlerConfig{
		OnBetaRegister: func(_ context.Context, ev *component.BetaRegisterEvent) error { reg = append(reg, ev); return nil },
		OnBetaVerify:   func(_ context.Context, ev *component.BetaVerifyEvent) error { ver = append(ver, ev); return nil },
	})
	now := time.Now()
	plain := "<xml><AppId><![CDATA[" + compAppID + "]]></AppId><CreateTime>" + itoa(int(now.Unix())) + "</CreateTime>" +
		"<InfoType><![CDATA[notify_third_fastregisterbetaapp]]></InfoType><appid><![CDATA[wxBETA]]></appid><status>0</status>" +
		"<msg><![CDATA[OK]]></msg><info><unique_id><![CDATA[U1]]></unique_id><name><![CDATA[拉面试用]]></name></info></xml>"
	assertSuccess(t, serve(hd, h.wx.push("/auth", "AppId", plain, now)))
	plain = "<xml><AppId><![CDATA[" + compAppID + "]]></AppId><CreateTime>" + itoa(int(now.Unix())) + "</CreateTime>" +
		"<InfoType><![CDATA[notify_third_fastverifybetaapp]]></InfoType><appid><![CDATA[wxBETA]]></appid><status>100001</status>" +
		"<msg><![CDATA[timeout]]></msg><info><name><![CDATA[拉面小馆餐饮有限公司]]></name><code><![CDATA[91440300MA5G12345X]]></code>" +
		"<code_type>1</code_type><legal_persona_wechat><![CDATA[lamian_boss]]></legal_persona_wechat><legal_persona_name><![CDATA[李四]]></legal_persona_name></info></xml>"
	assertSuccess(t, serve(hd, h.wx.push("/auth", "AppId", plain, now)))
	require.Len(t, reg, 1)
	assert.True(t, reg[0].Succeeded())
	assert.Equal(t, "wxBETA", reg[0].MiniProgramAppID)
	assert.Equal(t, "U1", reg[0].UniqueID)
	assert.Equal(t, "拉面试用", reg[0].Name)
	assert.Equal(t, component.InfoTypeBetaRegister, reg[0].InfoType)
	require.Len(t, ver, 1)
	assert.False(t, ver[0].Succeeded())
	assert.Equal(t, "拉面小馆餐饮有限公司", ver[0].Info.Name)
	assert.Equal(t, 1, ver[0].Info.CodeType)
	assert.Equal(t, "李四", ver[0].Info.LegalPersonaName)

	bad := "<xml><AppId><![CDATA[" + compAppID + "]]></AppId><InfoType><![CDATA[notify_third_fastregisterbetaapp]]></InfoType><status>x</status></xml>"
	assert.Equal(t, http.StatusBadRequest, serve(hd, h.wx.push("/auth", "AppId", bad, now)).Code)
	assert.Len(t, reg, 1)
}
