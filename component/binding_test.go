package component_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wxopen-go/wxopen/component"
	"github.com/wxopen-go/wxopen/tokenstore"
)

// textTo is a user's text message to the account whose original id is gh.
func textTo(gh, content string) string {
	return "<xml><ToUserName><![CDATA[" + gh + "]]></ToUserName><FromUserName><![CDATA[oUSER]]></FromUserName>" +
		"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" + content + "]]></Content></xml>"
}

func TestMessagePushForOneMerchantReplayedToAnotherIsRefused(t *testing.T) {
	h := hsetup(t)
	ctx := context.Background()
	// Both merchants authorised the platform; their records name their original ids.
	for appID, gh := range map[string]string{"wxA": "gh_1", "wxB": "gh_2"} {
		rec, _ := json.Marshal(component.AuthorizationRecord{AuthorizerAppID: appID, UserName: gh, UpdatedAt: time.Now()})
		require.NoError(t, h.creds.Set(ctx, authKey(appID, "authorization"), tokenstore.Token{Value: string(rec)}))
	}
	var logs bytes.Buffer
	var got []string
	mh, err := component.NewMessageHandler(h.c, component.MessageHandlerConfig{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		OnMessage: func(_ context.Context, m *component.Message) error {
			got = append(got, m.AuthorizerAppID+" "+m.ToUserName)
			return nil
		},
	})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/wechat/msg/{appid}", mh)
	now := time.Now()

	// Merchant A's push, signed with the platform's token like every push, posted to B's URL.
	assert.Equal(t, http.StatusForbidden, serve(mux, h.wx.push("/wechat/msg/wxB", "ToUserName", textTo("gh_1", "for A"), now)).Code)
	assert.Empty(t, got, "the callback never saw it")
	assert.Contains(t, logs.String(), "gh_1")
	assert.Contains(t, logs.String(), "wxB")
	assert.Contains(t, logs.String(), "status=403")

	// At its own URL the same push is accepted; B's own pushes too.
	assertSuccess(t, serve(mux, h.wx.push("/wechat/msg/wxA", "ToUserName", textTo("gh_1", "for A"), now)))
	assertSuccess(t, serve(mux, h.wx.push("/wechat/msg/wxB", "ToUserName", textTo("gh_2", "for B"), now)))
	assert.Equal(t, []string{"wxA gh_1", "wxB gh_2"}, got)
	assert.Empty(t, h.info.list(), "the stored records answered: no call to WeChat")

	// A push without ToUserName cannot be bound either.
	noTo := "<xml><MsgType><![CDATA[text]]></MsgType><Content>x</Content></xml>"
	assert.Equal(t, http.StatusBadRequest, serve(mux, h.wx.push("/wechat/msg/wxA", "ToUserName", noTo, now)).Code)
}

func TestMessageHandlerLearnsTheOriginalIDOnce(t *testing.T) {
	h := hsetup(t)
	ctx := context.Background()
	// A record written before wxopen kept the original id, with a field of a newer version.
	old := `{"authorizer_appid":"wxA","func_scopes":[18],"updated_at":"2026-11-22T07:00:00Z","future_field":{"x":1}}`
	require.NoError(t, h.creds.Set(ctx, authKey("wxA", "authorization"), tokenstore.Token{Value: old}))
	var n atomic.Int32
	mh, err := component.NewMessageHandler(h.c, component.MessageHandlerConfig{
		OnMessage: func(context.Context, *component.Message) error { n.Add(1); return nil },
	})
	require.NoError(t, err)
	now := time.Now()
	assertSuccess(t, serve(mh, h.wx.push("/msg/wxA", "ToUserName", textTo("gh_1", "1"), now)))
	assertSuccess(t, serve(mh, h.wx.push("/msg/wxA", "ToUserName", textTo("gh_1", "2"), now)))
	assert.Equal(t, http.StatusForbidden, serve(mh, h.wx.push("/msg/wxA", "ToUserName", textTo("gh_2", "3"), now)).Code)
	assert.Equal(t, int32(2), n.Load())
	require.Len(t, h.info.list(), 1, "api_get_authorizer_info asked once, then the record answers")
	assert.Equal(t, "wxA", h.info.list()[0].Body["authorizer_appid"])

	rec, err := h.c.StoredAuthorization(ctx, "wxA")
	require.NoError(t, err)
	assert.Equal(t, "gh_1", rec.UserName)
	assert.Equal(t, []int{18}, rec.FuncScopes)
	tok, err := get(t, h.creds, authKey("wxA", "authorization"))
	require.NoError(t, err)
	assert.Contains(t, tok.Value, `"future_field":{"x":1}`, "fields this version does not know are kept")

	// No record (refresh token set by hand): WeChat is asked at each push; nothing is written.
	assertSuccess(t, serve(mh, h.wx.push("/msg/wxB", "ToUserName", textTo("gh_2", "4"), now)))
	_, err = h.c.StoredAuthorization(ctx, "wxB")
	require.Error(t, err)

	// An account that revoked its authorisation: refused, without asking WeChat.
	revoked, _ := json.Marshal(component.AuthorizationRecord{AuthorizerAppID: "wxC", UserName: "gh_3", Revoked: true})
	require.NoError(t, h.creds.Set(ctx, authKey("wxC", "authorization"), tokenstore.Token{Value: string(revoked)}))
	calls := len(h.info.list())
	assert.Equal(t, http.StatusForbidden, serve(mh, h.wx.push("/msg/wxC", "ToUserName", textTo("gh_3", "r"), now)).Code)
	assert.Len(t, h.info.list(), calls)

	// An account WeChat does not know as this platform's: refused. A store that fails: 500, retried.
	assert.Equal(t, http.StatusForbidden, serve(mh, h.wx.push("/msg/wxNOBODY", "ToUserName", textTo("gh_9", "5"), now)).Code)
	h.creds.failGet = func(string) bool { return true }
	w := serve(mh, h.wx.push("/msg/wxA", "ToUserName", textTo("gh_1", "6"), now))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.False(t, strings.Contains(w.Body.String(), "store is down"), "internals are not told to the caller")
}
