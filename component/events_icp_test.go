package component_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/component"
)

// pushJSON builds the POST of a message URL set to JSON: a JSON envelope around the encrypted JSON.
func (w *wechat) pushJSON(target, plain string, ts time.Time) *http.Request {
	w.t.Helper()
	enc, err := w.crypt.Encrypt([]byte(plain))
	require.NoError(w.t, err)
	w.n++
	r := w.signed(target, fmt.Sprintf(`{"ToUserName":"gh_fb9688c2a4b2","Encrypt":"%s"}`, enc), enc, ts, fmt.Sprint(200000+w.n))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// icpCallbacks records the typed ICP events of either handler.
type icpCallbacks struct {
	verify []*component.ICPVerifyResultEvent
	filing []*component.ICPFilingResultEvent
}

func (c *icpCallbacks) onVerify(_ context.Context, ev *component.ICPVerifyResultEvent) error {
	c.verify = append(c.verify, ev)
	return nil
}

func (c *icpCallbacks) onFiling(_ context.Context, ev *component.ICPFilingResultEvent) error {
	c.filing = append(c.filing, ev)
	return nil
}

func TestICPPushesOnTheAuthorisationURL(t *testing.T) {
	h := hsetup(t)
	var cb icpCallbacks
	var other []*component.PlatformEvent
	hd := h.handler(t, component.HandlerConfig{OnICPVerifyResult: cb.onVerify, OnICPFilingResult: cb.onFiling,
		OnOther: func(_ context.Context, ev *component.PlatformEvent) error { other = append(other, ev); return nil }})
	now := time.Now()
	assertSuccess(t, serve(hd, h.wx.push("/auth", "AppId", event(string(component.InfoTypeICPVerifyResult), now,
		"task_id", "T1", "verify_appid", "wxAPP", "result", "3", "along_with_auth_result", "9"), now)))
	assertSuccess(t, serve(hd, h.wx.push("/auth", "AppId", event(string(component.InfoTypeICPFilingResult), now,
		"authorizer_appid", "wxAPP", "beian_status", "6"), now)))
	require.Len(t, cb.verify, 1)
	v := cb.verify[0]
	assert.Equal(t, "T1", v.TaskID)
	assert.Equal(t, "wxAPP", v.VerifyAppID)
	assert.True(t, v.Succeeded())
	assert.Equal(t, 9, v.AlongWithAuthResult)
	require.NotNil(t, v.Platform)
	assert.Nil(t, v.Message)
	assert.Equal(t, component.InfoTypeICPVerifyResult, v.Platform.InfoType)
	require.Len(t, cb.filing, 1)
	assert.True(t, cb.filing[0].Filed())
	assert.Equal(t, "wxAPP", cb.filing[0].AuthorizerAppID)
	assert.Empty(t, other)

	// A verify result without its task id is refused (400), nothing reaches the callback.
	w := serve(hd, h.wx.push("/auth", "AppId", event(string(component.InfoTypeICPVerifyResult), now, "verify_appid", "wxAPP", "result", "2"), now))
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Len(t, cb.verify, 1)
}

func TestICPPushesOnTheMessageURL(t *testing.T) {
	h := hsetup(t)
	var cb icpCallbacks
	var other []*component.Message
	mh, err := component.NewMessageHandler(h.c, component.MessageHandlerConfig{OnICPVerifyResult: cb.onVerify, OnICPFilingResult: cb.onFiling,
		OnMessage: func(_ context.Context, m *component.Message) error { other = append(other, m); return nil }})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/wechat/msg/{appid}", mh)
	now := time.Now()

	// JSON with Event, as the message-push pages describe it.
	assertSuccess(t, serve(mux, h.wx.pushJSON("/wechat/msg/wxauthorizer01",
		`{"ToUserName":"gh_fb9688c2a4b2","FromUserName":"o1","CreateTime":1700000000,"MsgType":"event","Event":"notify_icpfiling_verify_result","task_id":"T2","verify_appid":"wxauthorizer01","result":2}`, now)))
	// JSON naming itself by InfoType.
	assertSuccess(t, serve(mux, h.wx.pushJSON("/wechat/msg/wxauthorizer01",
		`{"ToUserName":"gh_fb9688c2a4b2","CreateTime":1700000001,"InfoType":"notify_apply_icpfiling_result","authorizer_appid":"wxauthorizer01","beian_status":5}`, now)))
	// XML with Event.
	assertSuccess(t, serve(mux, h.wx.push("/wechat/msg/wxauthorizer01", "ToUserName",
		msgXML(string(component.InfoTypeICPFilingResult), "<authorizer_appid><![CDATA[wxauthorizer01]]></authorizer_appid><beian_status>6</beian_status>"), now)))

	require.Len(t, cb.verify, 1)
	v := cb.verify[0]
	assert.Equal(t, "T2", v.TaskID)
	assert.False(t, v.Succeeded())
	require.NotNil(t, v.Message)
	assert.Nil(t, v.Platform)
	assert.Equal(t, "wxauthorizer01", v.Message.AuthorizerAppID)
	assert.Equal(t, time.Unix(1700000000, 0), v.Message.CreateTime)
	require.Len(t, cb.filing, 2)
	assert.Equal(t, 5, cb.filing[0].BeianStatus)
	assert.False(t, cb.filing[0].Filed())
	assert.True(t, cb.filing[1].Filed())

	// Another JSON message reaches OnMessage with its header decoded; the account is still checked.
	assertSuccess(t, serve(mux, h.wx.pushJSON("/wechat/msg/wxauthorizer01",
		`{"ToUserName":"gh_fb9688c2a4b2","FromUserName":"o1","CreateTime":1700000002,"MsgType":"event","Event":"weapp_audit_success"}`, now)))
	require.Len(t, other, 1)
	assert.Equal(t, component.EventAuditSuccess, other[0].Event)
	w := serve(mux, h.wx.pushJSON("/wechat/msg/wxauthorizer01",
		`{"ToUserName":"gh_other","MsgType":"event","Event":"notify_apply_icpfiling_result","beian_status":6}`, now))
	assert.Equal(t, http.StatusForbidden, w.Code)
	w = serve(mux, h.wx.pushJSON("/wechat/msg/wxauthorizer01", `{"ToUserName":"gh_fb9688c2a4b2","MsgType":"event","Event":"notify_apply_icpfiling_result","beian_status":"x"}`, now))
	assert.Equal(t, http.StatusBadRequest, w.Code)
	w = serve(mux, h.wx.pushJSON("/wechat/msg/wxauthorizer01", `{"ToUserName":`, now))
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Len(t, cb.filing, 2)
}

func TestVerificationPushesOnBothURLs(t *testing.T) {
	h := hsetup(t)
	var vs []*component.VerificationEvent
	var ex []*component.VerifyExpiryEvent
	var ai []*component.AuthAndICPEvent
	onV := func(_ context.Context, ev *component.VerificationEvent) error { vs = append(vs, ev); return nil }
	onE := func(_ context.Context, ev *component.VerifyExpiryEvent) error { ex = append(ex, ev); return nil }
	onA := func(_ context.Context, ev *component.AuthAndICPEvent) error { ai = append(ai, ev); return nil }
	hd := h.handler(t, component.HandlerConfig{OnVerification: onV, OnVerifyExpiry: onE, OnAuthAndICP: onA})
	mh, err := component.NewMessageHandler(h.c, component.MessageHandlerConfig{OnVerification: onV, OnVerifyExpiry: onE, OnAuthAndICP: onA})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/wechat/msg/{appid}", mh)
	now := time.Now()
	assertSuccess(t, serve(hd, h.wx.push("/auth", "AppId", event(string(component.InfoTypeVerification), now,
		"appid", "wxAPP", "taskid", "TK", "task_status", "12", "apply_status", "4", "message", "ok"), now)))
	assertSuccess(t, serve(hd, h.wx.push("/auth", "AppId", event(string(component.InfoTypeVerifyExpiry), now,
		"appid", "wxAPP", "expired", "1800000000", "message", "年审"), now)))
	assertSuccess(t, serve(hd, h.wx.push("/auth", "AppId", event(string(component.InfoTypeAuthAndICP), now,
		"procedure_id", "P1", "procedure_status", "22"), now)))
	assertSuccess(t, serve(mux, h.wx.pushJSON("/wechat/msg/wxauthorizer01",
		`{"ToUserName":"gh_fb9688c2a4b2","CreateTime":1700000000,"MsgType":"event","Event":"notify_3rd_wxa_auth_and_icp","procedure_id":"P1","procedure_status":26}`, now)))
	require.Len(t, vs, 1)
	assert.True(t, vs[0].Verified())
	assert.Equal(t, "TK", vs[0].TaskID)
	assert.Equal(t, 12, vs[0].TaskStatus)
	require.Len(t, ex, 1)
	assert.Equal(t, time.Unix(1800000000, 0), ex[0].Expired)
	require.Len(t, ai, 2)
	assert.False(t, ai[0].Done())
	assert.NotNil(t, ai[0].Platform)
	assert.True(t, ai[1].Done())
	assert.NotNil(t, ai[1].Message)
	w := serve(hd, h.wx.push("/auth", "AppId", event(string(component.InfoTypeAuthAndICP), now, "procedure_status", "22"), now))
	assert.Equal(t, http.StatusBadRequest, w.Code, "no procedure_id")
}

// The verification order's account events on the message URL: XML or JSON, provider fields flat or
// in dispatch_info; without a callback they go to OnMessage.
func TestVerifyOrderEventsOnTheMessageURL(t *testing.T) {
	h := hsetup(t)
	var paid []*component.VerifyPaidEvent
	var dispatched []*component.VerifyDispatchEvent
	var other []*component.Message
	mh, err := component.NewMessageHandler(h.c, component.MessageHandlerConfig{
		OnVerifyPaid: func(_ context.Context, ev *component.VerifyPaidEvent) error { paid = append(paid, ev); return nil },
		OnVerifyDispatch: func(_ context.Context, ev *component.VerifyDispatchEvent) error {
			dispatched = append(dispatched, ev)
			return nil
		},
		OnMessage: func(_ context.Context, m *component.Message) error { other = append(other, m); return nil }})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/wechat/msg/{appid}", mh)
	now := time.Now()
	assertSuccess(t, serve(mux, h.wx.push("/wechat/msg/wxauthorizer01", "ToUserName",
		msgXML(string(component.EventVerifyPaid), "<orderid><![CDATA[O1]]></orderid>"), now)))
	assertSuccess(t, serve(mux, h.wx.push("/wechat/msg/wxauthorizer01", "ToUserName",
		msgXML(string(component.EventVerifyDispatch), "<orderid><![CDATA[O1]]></orderid><provider><![CDATA[审核公司]]></provider>"+
			"<contact><![CDATA[95017]]></contact><dispatch_time>1700000100</dispatch_time>"), now)))
	assertSuccess(t, serve(mux, h.wx.pushJSON("/wechat/msg/wxauthorizer01",
		`{"ToUserName":"gh_fb9688c2a4b2","CreateTime":1700000200,"MsgType":"event","Event":"wx_verify_dispatch","orderid":"O2",`+
			`"dispatch_info":{"provider":"另一家","contact":"400","dispatch_time":1700000200}}`, now)))
	assertSuccess(t, serve(mux, h.wx.pushJSON("/wechat/msg/wxauthorizer01",
		`{"ToUserName":"gh_fb9688c2a4b2","CreateTime":1700000300,"MsgType":"event","Event":"wx_verify_pay_succ"}`, now)))
	assertSuccess(t, serve(mux, h.wx.push("/wechat/msg/wxauthorizer01", "ToUserName",
		msgXML(string(component.EventVerifyDispatch), "<dispatch_info><provider><![CDATA[第三家]]></provider><dispatch_time>1700000400</dispatch_time></dispatch_info>"), now)))

	require.Len(t, paid, 2)
	assert.Equal(t, "O1", paid[0].OrderID)
	assert.Equal(t, "wxauthorizer01", paid[0].AuthorizerAppID)
	assert.Equal(t, component.EventVerifyPaid, paid[0].Event)
	assert.Empty(t, paid[1].OrderID, "fields are optional")
	require.Len(t, dispatched, 3)
	assert.Equal(t, component.VerifyDispatchEvent{Message: dispatched[0].Message, OrderID: "O1", Provider: "审核公司", Contact: "95017",
		DispatchTime: time.Unix(1700000100, 0)}, *dispatched[0])
	assert.Equal(t, "另一家", dispatched[1].Provider)
	assert.Equal(t, time.Unix(1700000200, 0), dispatched[1].DispatchTime)
	assert.Equal(t, "第三家", dispatched[2].Provider, "XML with dispatch_info")
	assert.Equal(t, time.Unix(1700000400, 0), dispatched[2].DispatchTime)
	assert.Empty(t, other)

	w := serve(mux, h.wx.pushJSON("/wechat/msg/wxauthorizer01",
		`{"ToUserName":"gh_fb9688c2a4b2","MsgType":"event","Event":"wx_verify_dispatch","dispatch_time":"x"}`, now))
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Len(t, dispatched, 3)

	bare, err := component.NewMessageHandler(h.c, component.MessageHandlerConfig{
		OnMessage: func(_ context.Context, m *component.Message) error { other = append(other, m); return nil }})
	require.NoError(t, err)
	assertSuccess(t, serve(bare, h.wx.push("/wechat/msg/wxauthorizer01", "ToUserName", msgXML(string(component.EventVerifyPaid), ""), now)))
	require.Len(t, other, 1)
	assert.Equal(t, component.EventVerifyPaid, other[0].Event)
}
