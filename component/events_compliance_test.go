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

func TestMessageHandlerComplianceEvents(t *testing.T) {
	h := hsetup(t)
	var nick *component.NicknameAuditEvent
	var cat *component.CategoryAuditEvent
	var priv *component.PrivacyApplyEvent
	var other []*component.Message
	mh, err := component.NewMessageHandler(h.c, component.MessageHandlerConfig{
		OnNicknameAudit: func(_ context.Context, ev *component.NicknameAuditEvent) error { nick = ev; return nil },
		OnCategoryAudit: func(_ context.Context, ev *component.CategoryAuditEvent) error { cat = ev; return nil },
		OnPrivacyApply:  func(_ context.Context, ev *component.PrivacyApplyEvent) error { priv = ev; return nil },
		OnMessage:       func(_ context.Context, m *component.Message) error { other = append(other, m); return nil },
	})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/wechat/msg/{appid}", mh)
	post := func(plain string) {
		t.Helper()
		assertSuccess(t, serve(mux, h.wx.push("/wechat/msg/wxauthorizer01", "ToUserName", plain, time.Now())))
	}
	post(msgXML("wxa_nickname_audit", "<ret>2</ret><nickname><![CDATA[面馆]]></nickname><reason><![CDATA[名称侵权]]></reason>"))
	post(msgXML("wxa_category_audit", "<first><![CDATA[1001]]></first><second><![CDATA[2002]]></second><ret>3</ret><reason><![CDATA[]]></reason>"))
	post(msgXML("wxa_privacy_apply", "<result_info><api_name><![CDATA[wx.getLocation]]></api_name><apply_time>1700000000</apply_time>"+
		"<audit_id>77</audit_id><audit_time>1700000100</audit_time><reason><![CDATA[]]></reason><status>5</status></result_info>"))

	require.NotNil(t, nick)
	assert.Equal(t, "wxauthorizer01", nick.AuthorizerAppID)
	assert.Equal(t, component.EventNicknameAudit, nick.Event)
	assert.False(t, nick.Ret.Approved())
	assert.Equal(t, "面馆", nick.Nickname)
	assert.Equal(t, "名称侵权", nick.Reason)

	require.NotNil(t, cat)
	assert.True(t, cat.Ret.Approved())
	assert.Equal(t, "1001", cat.First)
	assert.Equal(t, "2002", cat.Second)

	require.NotNil(t, priv)
	assert.True(t, priv.Approved())
	assert.Equal(t, "wx.getLocation", priv.APIName)
	assert.Equal(t, int64(77), priv.AuditID)
	assert.Equal(t, time.Unix(1700000000, 0), priv.ApplyTime)
	assert.Equal(t, time.Unix(1700000100, 0), priv.AuditTime)
	assert.Empty(t, other, "typed events do not reach OnMessage")

	// Without its callback a push goes to OnMessage, as wxa_nickname_audit did before it was typed.
	var untyped []string
	mh2, err := component.NewMessageHandler(h.c, component.MessageHandlerConfig{
		OnMessage: func(_ context.Context, m *component.Message) error {
			untyped = append(untyped, string(m.Event))
			return nil
		},
	})
	require.NoError(t, err)
	for _, ev := range []string{"wxa_nickname_audit", "wxa_category_audit", "wxa_privacy_apply"} {
		assertSuccess(t, serve(mh2, h.wx.push("/wechat/msg/wxauthorizer01", "ToUserName", msgXML(ev, "<ret>2</ret>"), time.Now())))
	}
	assert.Equal(t, []string{"wxa_nickname_audit", "wxa_category_audit", "wxa_privacy_apply"}, untyped)
	mh3, err := component.NewMessageHandler(h.c, component.MessageHandlerConfig{})
	require.NoError(t, err)
	assertSuccess(t, serve(mh3, h.wx.push("/wechat/msg/wxauthorizer01", "ToUserName", msgXML("wxa_category_audit", "<ret>2</ret>"), time.Now())))
}
